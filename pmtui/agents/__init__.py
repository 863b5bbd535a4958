"""Built-in agents that run as real processes (`python -m pmtui.agents.demo`)."""
