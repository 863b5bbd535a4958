"""A worktree per task (DESIGN.md §6): create it, commit what the task changed, remove it.

Each task of a code-modifying agent works in `.pmtui/worktrees/<run>/<task>` on its own
branch `pmtui/<run>/<task-id>`, so parallel agents never write into each other's files. All
of it through dulwich — the `git` CLI must agree with what is written (the tests check with
it). Removing never loses work: dulwich's `worktree_remove` deletes a worktree with
uncommitted changes even without `force` (NOTES.md), so the check comes first, here.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from dulwich import porcelain
from dulwich.objects import ObjectID
from dulwich.refs import Ref
from dulwich.repo import Repo

WORKTREES = Path(".pmtui") / "worktrees"
"""Where worktrees live, relative to the repository root."""

AUTHOR = b"pmtui <pmtui@localhost>"
"""The author and committer of the commits pmtui makes for a task."""

_ILLEGAL = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")
"""What git refuses in a ref name (`git check-ref-format`), run by run."""


class WorktreeDirty(Exception):  # noqa: N818 - reads as what it is
    """A worktree still holds uncommitted changes: it is kept, never removed."""

    def __init__(self, path: Path, changes: list[str]) -> None:
        shown = ", ".join(changes[:5]) + (
            f" and {len(changes) - 5} more" if len(changes) > 5 else ""
        )
        super().__init__(f"{path} has uncommitted changes ({shown}); it is kept")
        self.path = path
        self.changes = changes


@dataclass(frozen=True, slots=True)
class Worktree:
    """A task's worktree and its branch."""

    path: Path
    branch: str
    """The short branch name, e.g. `pmtui/20261125-101500-ab12/2.1`."""
    base: bytes
    """The commit it was created from (hex)."""


def ref_component(text: str) -> str:
    """`text` made legal as one component of a git ref name (verbatim when it already is)."""
    safe = _ILLEGAL.sub("-", text.replace("/", "-"))
    safe = safe.strip(".") or "-"
    if safe.endswith(".lock"):
        safe = safe[: -len(".lock")] + "-lock"
    return "-" if safe == "@" else safe


def branch_name(run_id: str, task_id: str) -> str:
    """`pmtui/<run>/<task-id>`, each part made legal in a ref."""
    return f"pmtui/{ref_component(run_id)}/{ref_component(task_id)}"


def worktree_path(repo_root: Path, run_id: str, task_id: str) -> Path:
    """`<repo>/.pmtui/worktrees/<run>/<task>`."""
    return repo_root / WORKTREES / ref_component(run_id) / ref_component(task_id)


def create_worktree(repo_root: Path, run_id: str, task_id: str, base: str | bytes) -> Worktree:
    """A new worktree for the task on its own branch, from `base` (a branch or a commit).

    Raises:
        KeyError: `base` names no branch or commit.
        ValueError: The branch already exists, or is checked out elsewhere.
    """
    branch = branch_name(run_id, task_id)
    with Repo(str(repo_root)) as repo:
        commit = _resolve(repo, base)
        # The branch first, then a worktree on it: given a commit too, dulwich's worktree_add
        # leaves the worktree detached. add_if_new refuses to move an existing branch.
        if not repo.refs.add_if_new(Ref(b"refs/heads/" + branch.encode()), ObjectID(commit)):
            raise ValueError(f"branch {branch} already exists")
    path = worktree_path(repo_root, run_id, task_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    porcelain.worktree_add(str(repo_root), path=str(path), branch=branch)
    return Worktree(path, branch, commit)


def _resolve(repo: Repo, base: str | bytes) -> bytes:
    name = base.encode() if isinstance(base, str) else base
    for candidate in (b"refs/heads/" + name, name):
        ref = Ref(candidate)
        if ref in repo.refs:
            return bytes(repo.refs[ref])
    if len(name) == 40 and ObjectID(name) in repo.object_store:
        return name
    raise KeyError(f"no branch or commit {name.decode(errors='replace')}")


def changes(path: Path) -> list[str]:
    """Paths changed in the worktree and not committed: staged, unstaged and untracked."""
    status = porcelain.status(str(path), untracked_files="all")
    found: set[str] = set()
    for kind in ("add", "delete", "modify"):
        found.update(_text(item) for item in status.staged.get(kind, []))
    found.update(_text(item) for item in status.unstaged)
    found.update(_text(item) for item in status.untracked)
    return sorted(found)


def _text(path: str | bytes) -> str:
    return path.decode("utf-8", "replace") if isinstance(path, bytes) else path


def commit_task(worktree: Worktree, task_id: str, title: str) -> bytes | None:
    """Commit everything the task changed (message `<task-id>: <title>`, author pmtui).

    Returns:
        The new commit, or None when there was nothing to commit (the agent committed
        itself, or changed nothing).
    """
    changed = changes(worktree.path)
    if not changed:
        return None
    with Repo(str(worktree.path)) as repo:
        porcelain.add(repo, paths=[str(worktree.path / name) for name in changed])
        now = time.time()
        return porcelain.commit(
            repo,
            message=f"{task_id}: {title}".encode(),
            author=AUTHOR,
            committer=AUTHOR,
            author_timestamp=now,
            commit_timestamp=now,
            author_timezone=0,
            commit_timezone=0,
        )


def remove_worktree(repo_root: Path, worktree: Worktree) -> None:
    """Remove a worktree whose work is committed (its branch stays).

    Raises:
        WorktreeDirty: It holds uncommitted changes; nothing is removed.
    """
    left = changes(worktree.path)
    if left:
        raise WorktreeDirty(worktree.path, left)
    porcelain.worktree_remove(str(repo_root), path=str(worktree.path))
