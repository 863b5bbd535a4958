"""The disk side: reading source files, bundled data, and (later) run history."""
