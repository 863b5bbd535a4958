"""Configuration: `pmtui.toml` defaults, merging, validation and the agent registry.

Pure: no I/O beyond parsing text handed to it, no clock.
"""
