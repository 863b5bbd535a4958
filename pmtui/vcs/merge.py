"""One task's branch merged into the integration branch, or its conflicts named (DESIGN.md §6).

The merge is computed as trees (dulwich's three-way `merge_tree`), without touching any
checkout, so conflicts are found before anything is written. A clean result becomes a merge
commit, and the integration branch moves to it by compare-and-swap: if the branch moved
meanwhile, nothing is written and the caller merges again on the new base. One merge at a
time is the merge queue's job (the caller's); this module never waits.

Not here yet: updating the main checkout when it has the integration branch checked out,
and `[merge] check`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from dulwich import porcelain
from dulwich.objects import Commit, ObjectID
from dulwich.refs import Ref
from dulwich.repo import Repo

from pmtui.vcs.worktrees import AUTHOR


@dataclass(frozen=True, slots=True)
class MergeResult:
    """How a merge went: `merged` (the new commit), `conflict` or `moved`."""

    result: str
    """`merged`, `up-to-date` (nothing new on the task's branch), `conflict`, or `moved` (the
    integration branch moved during the merge: try again)."""
    commit: bytes | None = None
    conflicts: tuple[str, ...] = ()
    """The paths both sides changed in ways that do not merge cleanly."""


def merge_task(repo_root: Path, integration: str, task_branch: str, message: str) -> MergeResult:
    """Merge `task_branch` into the branch `integration` (no checkout touched).

    Raises:
        KeyError: A branch does not exist.
    """
    with Repo(str(repo_root)) as repo:
        target = Ref(b"refs/heads/" + integration.encode())
        source = Ref(b"refs/heads/" + task_branch.encode())
        ours = bytes(repo.refs[target])
        theirs = bytes(repo.refs[source])
        bases = porcelain.merge_base(repo, [ours, theirs])
        base = bytes(bases[0]) if bases else None
        if base == theirs:
            return MergeResult("up-to-date", ours)
        if base == ours:  # fast-forward: the task's branch starts where the integration is
            return _move(repo, target, ours, theirs)
        base_commit = repo[ObjectID(base)] if base is not None else None
        tree, conflicts = porcelain.merge_tree(
            repo, base_commit.tree if isinstance(base_commit, Commit) else None, ours, theirs
        )
        if conflicts:
            paths = tuple(sorted(path.decode("utf-8", "replace") for path in conflicts))
            return MergeResult("conflict", None, paths)
        commit = Commit()
        commit.tree = tree
        commit.parents = [ObjectID(ours), ObjectID(theirs)]
        commit.author = commit.committer = AUTHOR
        commit.author_time = commit.commit_time = int(time.time())
        commit.author_timezone = commit.commit_timezone = 0
        commit.encoding = b"UTF-8"
        commit.message = message.encode("utf-8") + b"\n"
        repo.object_store.add_object(commit)
        return _move(repo, target, ours, bytes(commit.id))


def _move(repo: Repo, target: Ref, old: bytes, new: bytes) -> MergeResult:
    if repo.refs.set_if_equals(target, ObjectID(old), ObjectID(new)):
        return MergeResult("merged", new)
    return MergeResult("moved")
