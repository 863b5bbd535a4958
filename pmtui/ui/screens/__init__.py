"""The screens and dialogs of the monitor."""
