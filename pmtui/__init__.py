"""pmtui: run a Markdown plan of tasks through a pool of parallel agents, live in the terminal."""

__version__ = "0.1.0"
