"""The integration branch a run merges into, and the main checkout that shows it.

`[isolation] base` names the branch ("" = the branch checked out at the repository root).
When the main checkout has that branch checked out, each merge also updates its files and
index — but never a file changed by hand there: `blocked` names those, and the merge waits
(docs/design.md §6).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from dulwich.errors import NotGitRepository
from dulwich.file import FileLocked, GitFile
from dulwich.object_store import iter_tree_contents
from dulwich.objects import ObjectID
from dulwich.refs import HEADREF
from dulwich.repo import Repo

from pmtui.vcs.gitindex import conflicted_paths
from pmtui.vcs.merge import MergePlan, branch_ref, publish, store_objects
from pmtui.vcs.workfiles import (
    Checkout,
    blocked_paths,
    finish_index,
    read_index,
    switch,
    tree_diff,
)
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
        conversion = _conversion(repo, branch)
        if conversion:
            raise IsolationUnavailable(
                f"{repo_root} has git convert files on checkout ({conversion}), which pmtui's "
                "worktrees do not do: its merges would read converted files as hand edits",
                'set isolation = "none" (tasks then share the checkout and take file locks)',
            )
        return Integration(repo_root, branch, head_target == branch)


_CONVERTING = re.compile(
    r"(?:^|\s)(filter=\S+|eol=crlf|working-tree-encoding=\S+|ident)(?=\s|$)", re.MULTILINE
)
"""`.gitattributes` settings that make a file on disk differ from its blob."""


def _conversion(repo: Repo, branch: str) -> str:
    """What makes git write files other than their blobs in this repository, or ""."""
    config = repo.get_config_stack()
    try:
        autocrlf = config.get((b"core",), b"autocrlf")
    except KeyError:
        autocrlf = b""
    if autocrlf.lower() in (b"true", b"input"):
        return f"core.autocrlf = {autocrlf.decode()}"
    texts: list[tuple[str, bytes]] = []
    info = Path(repo.controldir()) / "info" / "attributes"
    if info.is_file():
        texts.append(("info/attributes", info.read_bytes()))
    tree = tree_of(repo, bytes(repo.refs[branch_ref(branch)]))
    for item in iter_tree_contents(repo.object_store, ObjectID(tree)):
        if item.path is not None and item.sha is not None:
            path = bytes(item.path)
            if path == b".gitattributes" or path.endswith(b"/.gitattributes"):
                blob = repo.object_store[item.sha]
                texts.append((path.decode("utf-8", "replace"), blob.as_raw_string()))
    for name, data in texts:
        lines = [
            line
            for line in data.decode("utf-8", "replace").splitlines()
            if not line.lstrip().startswith("#")
        ]
        found = _CONVERTING.search("\n".join(lines))
        if found:
            return f"{found.group(1)} in {name}"
    return ""


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


IN_PROGRESS = (
    ("MERGE_HEAD", "a merge"),
    ("CHERRY_PICK_HEAD", "a cherry-pick"),
    ("REVERT_HEAD", "a revert"),
    ("rebase-merge", "a rebase"),
    ("rebase-apply", "a rebase"),
)
"""What a git command leaves in `.git/` while the user is in the middle of it."""


@dataclass(frozen=True, slots=True)
class Publication:
    """How landing a merge went."""

    landed: bool
    waiting_on: tuple[str, ...] = ()
    """The main checkout's files in the way (changed by hand), when that stopped it."""
    reason: str = ""
    """Why it waits, for the user ("" when it landed, or when the branch moved meanwhile:
    then the caller plans again)."""


def _checked_out_now(repo: Repo, branch: str) -> bool:
    """Whether the main checkout has `branch` checked out at this moment (the user may
    switch it during a run)."""
    return _symbolic_head(repo) == branch


def _busy(integration: Integration, repo: Repo) -> Publication | None:
    """Why the main checkout cannot take a merge now, though no file is in the way: a git
    operation the user is in the middle of."""
    control = Path(repo.controldir())
    for name, what in IN_PROGRESS:
        if (control / name).exists():
            return Publication(
                False,
                (),
                f"{what} is in progress in {integration.repo_root}: the merge goes on once you "
                "finish it (or abort it)",
            )
    unmerged = conflicted_paths(integration.checkout.index_path)
    if unmerged:
        shown = ", ".join(os.fsdecode(path) for path in unmerged[:3])
        return Publication(
            False,
            tuple(os.fsdecode(path) for path in unmerged),
            f"{shown} in {integration.repo_root} are in conflict (a merge you are resolving): "
            "the merge goes on once you resolve and commit it",
        )
    return None


def _hand_edits(integration: Integration, paths: list[str]) -> Publication:
    listed = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    return Publication(
        False,
        tuple(paths),
        f"{listed} changed by hand in {integration.repo_root}: the merge would overwrite it; "
        "commit or revert it and the merge goes on",
    )


def publish_checked_out(integration: Integration, plan: MergePlan) -> Publication:
    """Land a merge: move the integration branch (compare-and-swap) and, when the main
    checkout has it checked out, the checkout's files and index with it.

    The checkout's index is locked first (as git does), so no git command of the user's
    changes it in between; a file there changed by hand, a merge or rebase the user is in
    the middle of, or the lock held by a git command at work stops it, and it waits.

    Returns:
        Whether it landed, or why it waits; nothing is changed when it did not land.
    """
    root = integration.repo_root
    store_objects(root, plan)  # first: the new tree is read before the branch moves
    with Repo(str(root)) as repo:
        if not _checked_out_now(repo, integration.branch):
            return Publication(_cas(root, plan))
        checkout = integration.checkout
        try:
            lock = GitFile(str(checkout.index_path), "wb")
        except FileLocked:
            return Publication(
                False,
                (),
                f"the index of {root} is locked ({checkout.index_path}.lock): a git command is "
                "at work there; the merge goes on once it ends (if none runs, delete that file)",
            )
        try:
            busy = _busy(integration, repo)
            if busy is not None:
                lock.abort()
                return busy
            before, after = _trees(repo, plan.old, plan.new)
            entries = read_index(checkout.index_path)
            found = blocked_paths(
                checkout, repo, before, after, before.keys() | after.keys(), entries
            )
            if found:
                lock.abort()
                return _hand_edits(integration, [os.fsdecode(path) for path in found])
            if not _cas(root, plan):
                lock.abort()
                return Publication(False)
            written = switch(
                repo.object_store, checkout, repo, before, after, entries=entries, save=False
            )
            finish_index(checkout, entries, written, lock)
        except BaseException:
            lock.abort()
            raise
    return Publication(True)


def _cas(root: Path, plan: MergePlan) -> bool:
    """Publish; a ref locked by a git command at work counts as moved (try again)."""
    try:
        return publish(root, plan)
    except FileLocked:
        return False


def update_checkout(
    integration: Integration, old: bytes, new: bytes, *, keep_hand_edits: bool = False
) -> list[str]:
    """Move the main checkout's files and index from commit `old` to `new`; returns the
    paths written (nothing when it does not have the branch checked out now).

    Args:
        integration: The branch and its main checkout.
        old: The commit the checkout shows.
        new: The commit to show.
        keep_hand_edits: Leave files changed by hand as they are and move only their index
            entries (after a crash: the branch has moved already, the checkout must follow
            without losing anything).

    Raises:
        CheckoutBlocked: (without `keep_hand_edits`) a file to write was changed by hand;
            nothing was written.
    """
    with Repo(str(integration.repo_root)) as repo:
        if not _checked_out_now(repo, integration.branch):
            return []
        before, after = _trees(repo, old, new)
        keep: list[bytes] = []
        if keep_hand_edits:
            keep = blocked_paths(
                integration.checkout, repo, before, after, before.keys() | after.keys()
            )
        written = switch(repo.object_store, integration.checkout, repo, before, after, keep=keep)
    return [os.fsdecode(path) for path in written if path not in keep]
