"""The widgets of the monitor."""
