"""The disk side: reading source files, bundled data, the run history (sqlite) and the run lock."""
