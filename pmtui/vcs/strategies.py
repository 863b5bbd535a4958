"""The ways out of a conflict left by the merge queue (seed 004's resolution strategies).

Apart from the git work so that the engine and the front ends can name them without loading
dulwich (a run outside a repository never does).
"""

from __future__ import annotations

from enum import StrEnum


class Strategy(StrEnum):
    """What to do with a conflict left (seed 004's resolution strategies)."""

    USE_FIRST = "use_first"
    """Keep what was merged first (the integration branch) where the two clash."""
    USE_LAST = "use_last"
    """Take the conflicting task's version where the two clash."""
    USE_PRIORITY = "use_priority"
    """The task of higher priority wins (the first merged on a tie, or against a commit made
    by hand)."""
    AUTO_MERGE = "auto_merge"
    """Merge only if the three-way merge is clean (with `auto_resolve` off, overlapping but
    separate changes); a real conflict is refused."""
    RERUN = "rerun"
    """Run the task again on the integration branch as it is now."""
    MANUAL = "manual"
    """Keep the branch and print the git commands to finish by hand."""
