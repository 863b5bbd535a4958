"""Explaining a conflict left by the merge queue, and the ways out of it (docs/design.md §6).

A conflict is between the task being merged and whatever changed the same path on the
integration branch since the task started: `find_culprits` walks the branch back to the
merge base and names, per path, the commit that changed it last — and the task that commit
merged, when it was one of pmtui's. `manual_steps` are the git commands to finish a merge by
hand (the `manual` strategy keeps the branch for that).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dulwich.objects import Commit, ObjectID, Tree
from dulwich.repo import Repo

from pmtui.vcs.strategies import Strategy

__all__ = ["Culprit", "Strategy", "find_culprits", "manual_steps"]

MAX_WALK = 2000
"""Commits looked at, at most, to find who changed a path (a long-lived base is rare)."""


@dataclass(frozen=True, slots=True)
class Culprit:
    """The commit that last changed a conflicting path on the integration branch."""

    commit: bytes
    task: str
    """The task whose merge made it ("" when pmtui did not make it)."""
    subject: str
    """Its message's first line."""


def find_culprits(
    repo_root: Path,
    head: bytes,
    stop: bytes | None,
    paths: Iterable[str],
    landed: Mapping[bytes, tuple[bytes, str]],
) -> dict[str, Culprit]:
    """Who changed each of `paths` last on the branch, walking first parents from `head`
    back to `stop` (the merge base).

    Args:
        repo_root: The repository.
        head: The integration branch's commit.
        stop: Where the task's branch left it.
        paths: The conflicting paths.
        landed: Each merge pmtui landed: the commit it moved the branch to → (the commit
            before, the task).
    """
    wanted = {path.encode("utf-8", "surrogateescape"): path for path in paths}
    found: dict[str, Culprit] = {}
    owner: tuple[bytes, str] | None = None
    with Repo(str(repo_root)) as repo:
        current = head
        for _ in range(MAX_WALK):
            if not wanted or current == stop:
                break
            if owner is not None and current == owner[0]:
                owner = None
            owner = landed.get(current, owner)
            commit = repo[ObjectID(current)]
            assert isinstance(commit, Commit)
            parent = bytes(commit.parents[0]) if commit.parents else None
            parent_tree = None
            if parent is not None:
                parent_commit = repo[ObjectID(parent)]
                assert isinstance(parent_commit, Commit)
                parent_tree = bytes(parent_commit.tree)
            for raw in list(wanted):
                if _entry(repo, bytes(commit.tree), raw) != _entry(repo, parent_tree, raw):
                    subject = commit.message.decode("utf-8", "replace").split("\n", 1)[0]
                    found[wanted.pop(raw)] = Culprit(
                        current, owner[1] if owner is not None else "", subject
                    )
            if parent is None:
                break
            current = parent
    return found


def _entry(repo: Repo, tree: bytes | None, path: bytes) -> tuple[int, bytes] | None:
    if tree is None:
        return None
    root = repo[ObjectID(tree)]
    assert isinstance(root, Tree)
    try:
        mode, sha = root.lookup_path(repo.object_store.__getitem__, path)
    except (KeyError, NotADirectoryError):
        return None
    return int(mode), bytes(sha)


def manual_steps(
    repo_root: Path,
    integration: str,
    task_branch: str,
    paths: Iterable[str],
    worktree: Path | None,
    *,
    checked_out: bool,
) -> list[str]:
    """The git commands to finish the merge of a task's branch by hand."""
    quoted = " ".join(shlex.quote(path) for path in paths)
    steps = [f"cd {shlex.quote(str(repo_root))}"]
    if not checked_out:
        steps.append(f"git switch {shlex.quote(integration)}")
    steps += [
        f"git merge {shlex.quote(task_branch)}",
        f"# edit {quoted} to resolve the conflict, then:",
        f"git add {quoted} && git commit --no-edit",
    ]
    if worktree is not None:
        steps.append(
            f"git worktree remove {shlex.quote(str(worktree))} && git branch -d "
            f"{shlex.quote(task_branch)}   # or: pmtui clean"
        )
    return steps
