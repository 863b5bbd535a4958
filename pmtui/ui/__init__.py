"""The Textual front end: app, screens, widgets and themes (the only layer that imports textual)."""
