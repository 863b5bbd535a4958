"""The output of `pmtui clean`: what was removed (or, with `--dry-run`, would be) and what
is kept, with how to finish it. Pure: the caller writes the text."""

from __future__ import annotations

from pathlib import Path

from pmtui.vcs.clean import Cleanup


def render_cleanup(done: Cleanup, root: Path, *, dry_run: bool) -> str:
    """One line per worktree, branch or ref removed, then each one kept with its hint."""
    verbs = (
        ("would remove", "would delete", "would prune")
        if dry_run
        else (
            "removed",
            "deleted",
            "pruned",
        )
    )
    remove, delete, prune = verbs
    lines = [f"{remove} worktree {path}" for path in done.removed_worktrees]
    lines += [f"{delete} branch {branch} (merged)" for branch in done.deleted_branches]
    lines += [f"{delete} {ref} (merged)" for ref in done.deleted_refs]
    lines += [f"{prune} git's record of the missing worktree {name}" for name in done.pruned]
    for kept in done.kept:
        lines.append(f"kept {kept.what}: {kept.why}")
        if kept.hint:
            lines.append(f"    {kept.hint}")
    if done.empty:
        lines.append(f"nothing to clean in {root}")
    return "\n".join(lines) + "\n"
