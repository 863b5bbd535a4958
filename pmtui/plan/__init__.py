"""The Markdown plan: its model, parser, validation and dependency graph.

Pure: no I/O beyond parsing text handed to it, no clock, no textual.
"""
