"""The integration branch a run merges into, and the main checkout that shows it.

`[isolation] base` names the branch ("" = the branch checked out at the repository root).
When the main checkout has that branch checked out, each merge also updates its files and
index — but never a file changed by hand there: `blocked` names those, and the merge waits
(DESIGN.md §6).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dulwich.errors import NotGitRepository
from dulwich.refs import HEADREF
from dulwich.repo import Repo

from pmtui.vcs.merge import MergePlan, branch_ref, publish
from pmtui.vcs.workfiles import Checkout, blocked_paths, read_index, switch, tree_diff
from pmtui.vcs.worktrees import tree_of


class IsolationUnavailable(Exception):  # noqa: N818 - reads as what it is
    """Worktrees cannot be used in this repository as it is; `hint` says what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(f"{message}; {hint}")
        self.message = message
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Integration:
    """Where a run's merges go."""

    repo_root: Path
    branch: str
    """The short branch name, e.g. `main`."""
    checked_out: bool
    """Whether the main checkout (at `repo_root`) has it checked out: then merges update it."""

    @property
    def checkout(self) -> Checkout:
        """The main checkout's files and index."""
        return Checkout(self.repo_root, self.repo_root / ".git" / "index")

    def head(self) -> bytes:
        """The branch's commit now."""
        with Repo(str(self.repo_root)) as repo:
            return bytes(repo.refs[branch_ref(self.branch)])


def find_integration(repo_root: Path, base: str) -> Integration:
    """The integration branch of a run in `repo_root`.

    Raises:
        IsolationUnavailable: The repository has no commit yet, HEAD is detached (with
            `base` empty), `base` names no branch, or `repo_root` is itself a linked worktree.
    """
    if not (repo_root / ".git").exists():
        raise IsolationUnavailable(
            f"{repo_root} is not a git repository",
            'run `git init` there, or set isolation = "none"',
        )
    if not (repo_root / ".git").is_dir():
        raise IsolationUnavailable(
            f"{repo_root} is a linked worktree of another repository",
            'run pmtui in the repository\'s main checkout, or set isolation = "none"',
        )
    try:
        repo = Repo(str(repo_root))
    except (NotGitRepository, OSError, ValueError) as error:
        raise IsolationUnavailable(
            f"{repo_root}/.git cannot be read as a git repository ({error})",
            'repair it (git status tells more), or set isolation = "none"',
        ) from None
    with repo:
        head_target = _symbolic_head(repo)
        if base:
            if branch_ref(base) not in repo.refs:
                raise IsolationUnavailable(
                    f"[isolation] base = {base!r} names no branch of {repo_root}",
                    'name an existing branch, or set base = "" to use the current one',
                )
            branch = base
        elif head_target is None:
            raise IsolationUnavailable(
                f"HEAD is detached in {repo_root}: there is no branch to merge tasks into",
                "check out a branch (git switch -c NAME), or set [isolation] base",
            )
        else:
            branch = head_target
            if branch_ref(branch) not in repo.refs:
                raise IsolationUnavailable(
                    f"the repository {repo_root} has no commit yet: worktrees start from one",
                    "make a first commit (git commit --allow-empty -m start), or set "
                    'isolation = "none"',
                )
        return Integration(repo_root, branch, head_target == branch)


def _symbolic_head(repo: Repo) -> str | None:
    """The branch HEAD points to, or None when it is detached."""
    chain, _ = repo.refs.follow(HEADREF)
    if len(chain) < 2 or not chain[1].startswith(b"refs/heads/"):
        return None
    return chain[1][len(b"refs/heads/") :].decode("utf-8", "replace")


def _trees(
    repo: Repo, old: bytes, new: bytes
) -> tuple[dict[bytes, tuple[int, bytes]], dict[bytes, tuple[int, bytes]]]:
    return tree_diff(repo.object_store, tree_of(repo, old), tree_of(repo, new))


def blocked(integration: Integration, old: bytes, new: bytes) -> list[str]:
    """The files of the main checkout that moving it from `old` to `new` would overwrite
    though they were changed by hand (none when it does not have the branch checked out)."""
    if not integration.checked_out:
        return []
    with Repo(str(integration.repo_root)) as repo:
        before, after = _trees(repo, old, new)
        found = blocked_paths(
            integration.checkout, repo, before, after, before.keys() | after.keys()
        )
    return [os.fsdecode(path) for path in found]


def publish_checked_out(integration: Integration, plan: MergePlan) -> tuple[bool, list[str]]:
    """Land a merge: unless a file of the main checkout it would write was changed by hand,
    move the integration branch (compare-and-swap) and the main checkout with it, reading
    the checkout's index once.

    Returns:
        Whether it landed, and (when it did not for that reason) the files changed by hand.
        Not landed with no files: the branch moved meanwhile. Nothing is changed then.
    """
    if not integration.checked_out:
        return publish(integration.repo_root, plan), []
    with Repo(str(integration.repo_root)) as repo:
        before, after = _trees(repo, plan.old, plan.new)
        checkout = integration.checkout
        entries = read_index(checkout.index_path)
        paths = before.keys() | after.keys()
        found = blocked_paths(checkout, repo, before, after, paths, entries)
        if found:
            return False, [os.fsdecode(path) for path in found]
        if not publish(integration.repo_root, plan):
            return False, []
        switch(repo.object_store, checkout, repo, before, after, entries=entries)
    return True, []


def update_checkout(integration: Integration, old: bytes, new: bytes) -> list[str]:
    """Move the main checkout's files and index from commit `old` to `new`; returns the
    paths written (nothing when it does not have the branch checked out).

    Raises:
        CheckoutBlocked: A file to write was changed by hand; nothing was written.
    """
    if not integration.checked_out:
        return []
    with Repo(str(integration.repo_root)) as repo:
        before, after = _trees(repo, old, new)
        written = switch(repo.object_store, integration.checkout, repo, before, after)
    return [os.fsdecode(path) for path in written]
