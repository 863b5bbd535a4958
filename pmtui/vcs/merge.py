"""One task's branch merged into the integration branch, or its conflicts named (docs/design.md §6).

A merge is worked out first (`plan_merge`) as trees, touching no checkout and writing no
object, so conflicts are found before anything is written. Publishing it (`publish`) stores
the new objects and moves the integration branch by compare-and-swap: if the branch moved
meanwhile, nothing is overwritten and the caller plans again on the new base. One merge at a
time is the merge queue's job (the engine's); this module never waits.

History stays one commit per task where it can: a task's branch that starts where the
integration branch is fast-forwards it; a single commit made beside other merges is replayed
on top (its author and message kept); several commits of an agent's own are merged with a
merge commit, so none is lost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from dulwich.graph import find_merge_base
from dulwich.objects import Commit, ObjectID, ShaFile
from dulwich.refs import Ref
from dulwich.repo import Repo

from pmtui.vcs.threeway import PathConflict, Side, merge_trees
from pmtui.vcs.worktrees import AUTHOR, tree_of

Conflict = PathConflict
"""A path both sides changed in ways that do not merge, and its type."""


@dataclass(frozen=True, slots=True)
class MergePlan:
    """A merge worked out but not yet written."""

    result: str
    """`merged` (ready to publish), `up-to-date` (nothing new on the task's branch) or
    `conflict`."""
    integration: str
    """The branch merged into."""
    old: bytes
    """The integration branch's commit the merge starts from."""
    new: bytes
    """The commit the branch moves to (`old` when nothing moves)."""
    task_tip: bytes
    """The task branch's commit that was merged."""
    base: bytes | None
    """The merge base of the two."""
    conflicts: tuple[Conflict, ...] = ()
    merged_by_line: tuple[str, ...] = ()
    """Paths both sides changed whose lines merged cleanly."""
    how: str = ""
    """`fast-forward`, `replay` or `merge-commit`."""
    objects: tuple[ShaFile, ...] = field(default=(), repr=False)

    @property
    def moves(self) -> bool:
        """Whether publishing moves the integration branch."""
        return self.result == "merged" and self.new != self.old


def branch_ref(branch: str) -> Ref:
    """`refs/heads/<branch>`."""
    return Ref(b"refs/heads/" + branch.encode())


def plan_merge(
    repo_root: Path,
    integration: str,
    task_branch: str,
    message: str,
    *,
    auto_resolve: bool = True,
    favor: Side | None = None,
) -> MergePlan:
    """Work out the merge of `task_branch` into `integration`; nothing is written.

    Args:
        repo_root: The repository.
        integration: The branch merged into.
        task_branch: The task's branch.
        message: The message of a merge commit (when one is needed).
        auto_resolve: Merge files both sides changed when their lines do not conflict.
        favor: Resolve each conflict to this side (`use_first`, `use_last`).

    Raises:
        KeyError: A branch does not exist.
    """
    with Repo(str(repo_root)) as repo:
        ours = bytes(repo.refs[branch_ref(integration)])
        theirs = bytes(repo.refs[branch_ref(task_branch)])
        bases = find_merge_base(repo, [ObjectID(ours), ObjectID(theirs)])
        base = bytes(bases[0]) if bases else None
        if base == theirs:
            return MergePlan("up-to-date", integration, ours, ours, theirs, base)
        if base == ours:
            return MergePlan("merged", integration, ours, theirs, theirs, base, how="fast-forward")
        base_tree = tree_of(repo, base) if base is not None else None
        merged = merge_trees(
            repo.object_store.__getitem__,
            base_tree,
            tree_of(repo, ours),
            tree_of(repo, theirs),
            auto_resolve=auto_resolve,
            favor=favor,
        )
        if merged.conflicts:
            conflicts = tuple(sorted(merged.conflicts, key=lambda item: item.path))
            return MergePlan("conflict", integration, ours, ours, theirs, base, conflicts)
        tip = repo[ObjectID(theirs)]
        assert isinstance(tip, Commit)
        commit = Commit()
        commit.tree = ObjectID(merged.tree)
        commit.committer = AUTHOR
        commit.commit_time = int(time.time())
        commit.commit_timezone = 0
        commit.encoding = b"UTF-8"
        if base is not None and list(tip.parents) == [ObjectID(base)]:
            how = "replay"
            commit.parents = [ObjectID(ours)]
            commit.author = tip.author
            commit.author_time, commit.author_timezone = tip.author_time, tip.author_timezone
            commit.message = tip.message
        else:
            how = "merge-commit"
            commit.parents = [ObjectID(ours), ObjectID(theirs)]
            commit.author = AUTHOR
            commit.author_time, commit.author_timezone = commit.commit_time, 0
            commit.message = message.encode("utf-8") + b"\n"
        return MergePlan(
            "merged",
            integration,
            ours,
            bytes(commit.id),
            theirs,
            base,
            merged_by_line=tuple(merged.merged_by_line),
            how=how,
            objects=(*merged.objects, commit),
        )


def store_objects(repo_root: Path, plan: MergePlan) -> None:
    """Write the merge's new blobs, trees and commit into the object store (no ref moves:
    until `publish`, they are loose objects nothing points to)."""
    with Repo(str(repo_root)) as repo:
        for obj in plan.objects:
            repo.object_store.add_object(obj)


def publish(repo_root: Path, plan: MergePlan) -> bool:
    """Store the merge's objects and move the integration branch to it (compare-and-swap).

    Returns:
        False when the branch moved since the plan was made: nothing was changed.
    """
    if not plan.moves:
        return True
    store_objects(repo_root, plan)
    with Repo(str(repo_root)) as repo:
        return bool(
            repo.refs.set_if_equals(
                branch_ref(plan.integration), ObjectID(plan.old), ObjectID(plan.new)
            )
        )


def move_branch(repo_root: Path, branch: str, old: bytes, new: bytes) -> bool:
    """Move a branch from `old` to `new` (compare-and-swap); False if it was not at `old`."""
    with Repo(str(repo_root)) as repo:
        return bool(repo.refs.set_if_equals(branch_ref(branch), ObjectID(old), ObjectID(new)))
