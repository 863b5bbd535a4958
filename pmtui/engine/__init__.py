"""The engine: runs the scheduler's decisions as real processes, in one anyio loop
(docs/design.md §5).

The only layer that starts processes. It never imports textual: front ends hear from it
through Events only.
"""
