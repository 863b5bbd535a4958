"""Scheduling: which task runs where and when — pure, no I/O, no clock (DESIGN.md §4)."""
