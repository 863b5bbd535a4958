"""Shared test set-up: hypothesis runs the same examples every time (deterministic CI)."""

from hypothesis import settings

settings.register_profile("pmtui", derandomize=True, database=None, deadline=None)
settings.load_profile("pmtui")
