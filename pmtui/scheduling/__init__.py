"""Scheduling: which task runs where and when — pure, no I/O, no clock (docs/design.md §4)."""
