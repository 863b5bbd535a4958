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

import stat
import time
from dataclasses import dataclass
from pathlib import Path

from dulwich import porcelain
from dulwich.objects import Commit, ObjectID, Tree
from dulwich.refs import Ref
from dulwich.repo import Repo

from pmtui.vcs.worktrees import AUTHOR


@dataclass(frozen=True, slots=True)
class Conflict:
    """A path both sides changed in ways that do not merge, and how (seed 004's types)."""

    path: str
    kind: str
    """`modify/modify`, `delete/modify`, `add/add` or `file/directory`."""


@dataclass(frozen=True, slots=True)
class MergeResult:
    """How a merge went: `merged` (the new commit), `conflict` or `moved`."""

    result: str
    """`merged`, `up-to-date` (nothing new on the task's branch), `conflict`, or `moved` (the
    integration branch moved during the merge: try again)."""
    commit: bytes | None = None
    conflicts: tuple[Conflict, ...] = ()
    """The paths both sides changed in ways that do not merge cleanly, by path."""


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
        base_tree = base_commit.tree if isinstance(base_commit, Commit) else None
        tree, conflicts = porcelain.merge_tree(repo, base_tree, ours, theirs)
        if conflicts:
            trees = (base_tree, _tree_of(repo, ours), _tree_of(repo, theirs))
            found = {
                path: Conflict(path.decode("utf-8", "replace"), _kind(repo, trees, path))
                for path in conflicts
            }
            return MergeResult("conflict", None, tuple(found[path] for path in sorted(found)))
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


def _tree_of(repo: Repo, commit: bytes) -> bytes:
    found = repo[ObjectID(commit)]
    assert isinstance(found, Commit)
    return bytes(found.tree)


def _entry(repo: Repo, tree: bytes | None, path: bytes) -> tuple[int, bytes] | None:
    """`(mode, sha)` of `path` in `tree`, or None when it is not there."""
    if tree is None:
        return None
    root = repo[ObjectID(tree)]
    assert isinstance(root, Tree)
    try:
        mode, sha = root.lookup_path(repo.object_store.__getitem__, path)
    except KeyError:
        return None
    return mode, bytes(sha)


def _kind(repo: Repo, trees: tuple[bytes | None, bytes, bytes], path: bytes) -> str:
    """The type of conflict at `path`, from its base, our and their entries."""
    base, ours, theirs = (_entry(repo, tree, path) for tree in trees)
    sides = [entry for entry in (ours, theirs) if entry is not None]
    if any(stat.S_ISDIR(mode) for mode, _ in sides) and any(
        not stat.S_ISDIR(mode) for mode, _ in sides
    ):
        return "file/directory"
    if base is None:
        return "add/add"
    if ours is None or theirs is None:
        return "delete/modify"
    return "modify/modify"


def _move(repo: Repo, target: Ref, old: bytes, new: bytes) -> MergeResult:
    if repo.refs.set_if_equals(target, ObjectID(old), ObjectID(new)):
        return MergeResult("merged", new)
    return MergeResult("moved")
