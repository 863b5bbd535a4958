"""A worktree per task (docs/design.md §6): create or reuse it, commit what the task changed,
remove it.

Each task of a code-modifying agent works in `.pmtui/worktrees/<run>/<task>` on its own
branch `pmtui/<run>/<task-id>`, so parallel agents never write into each other's files. Every
attempt starts from the integration branch as it is then (its dependencies merged); whatever
an earlier attempt left — committed or not — is first committed and kept under
`refs/pmtui/<run>/<task>/attempt-<n>`, so a rerun never loses work.

The worktree's git files are the same git writes (`.git/worktrees/<id>/` and a `.git` file);
the `git` CLI must agree with everything here (the tests check with it). Removing never loses
work: dulwich's `worktree_remove` deletes a worktree with uncommitted changes even without
`force` (dulwich 1.2; its source has a TODO there), so removal here checks first and refuses.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dulwich.graph import find_merge_base
from dulwich.objects import Commit, ObjectID
from dulwich.refs import Ref
from dulwich.repo import Repo

from pmtui.vcs.workfiles import (
    Checkout,
    CheckoutBlocked,
    materialize,
    scan,
    stage,
    switch,
    tree_diff,
    tree_entries,
    tree_from_entries,
    write_index,
)

WORKTREES = Path(".pmtui") / "worktrees"
"""Where worktrees live, relative to the repository root."""

SPARES = WORKTREES / ".spare"
"""Where the worktrees of merged tasks wait to be reused by the next task of the run."""

SPARE_PREFIX = "pmtui-spare-"
"""The start of a spare worktree's folder name under `.git/worktrees/`."""

_SPARES_LOCK = threading.Lock()
"""Spares are taken and given back by the worker threads of one run: one at a time."""

AUTHOR = b"pmtui <pmtui@localhost>"
"""The author and committer of the commits pmtui makes for a task."""

KEPT_REFS = b"refs/pmtui/"
"""Where the work of earlier attempts is kept (outside `refs/heads/`: not a branch)."""

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


class WorktreeError(Exception):
    """A worktree cannot be made where it must be; the message says what is in the way."""


@dataclass(frozen=True, slots=True)
class Worktree:
    """A task's worktree and its branch."""

    path: Path
    branch: str
    """The short branch name, e.g. `pmtui/20261125-101500-ab12/2.1`."""
    base: bytes
    """The commit it was (re)started from (hex)."""
    admin: Path
    """Its folder in the repository: `.git/worktrees/<id>` (HEAD, index)."""

    @property
    def checkout(self) -> Checkout:
        """Its files and index."""
        return Checkout(self.path, self.admin / "index")

    @property
    def ref(self) -> Ref:
        """`refs/heads/<branch>`."""
        return Ref(b"refs/heads/" + self.branch.encode())


@dataclass(frozen=True, slots=True)
class Prepared:
    """A worktree made ready for an attempt."""

    worktree: Worktree
    kept: str = ""
    """The ref now holding an earlier attempt's work ("" when there was none to keep)."""
    created: bool = True
    """Whether it was made now (else an earlier attempt's was reset, or continued)."""
    continued: bool = False
    """The earlier attempt's worktree was kept as it was (its session goes on)."""


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


def kept_ref(run_id: str, task_id: str, attempt: int) -> Ref:
    """Where the work of one attempt is kept: `refs/pmtui/<run>/<task>/attempt-<n>`."""
    return Ref(
        KEPT_REFS + f"{ref_component(run_id)}/{ref_component(task_id)}/attempt-{attempt}".encode()
    )


def worktree_path(repo_root: Path, run_id: str, task_id: str) -> Path:
    """`<repo>/.pmtui/worktrees/<run>/<task>`."""
    return repo_root / WORKTREES / ref_component(run_id) / ref_component(task_id)


def admin_name(run_id: str, task_id: str) -> str:
    """The worktree's folder under `.git/worktrees/`: unique per run and task."""
    return f"pmtui-{ref_component(run_id)}-{ref_component(task_id)}"


def _worktree(repo_root: Path, run_id: str, task_id: str, base: bytes) -> Worktree:
    return Worktree(
        worktree_path(repo_root, run_id, task_id),
        branch_name(run_id, task_id),
        base,
        repo_root / ".git" / "worktrees" / admin_name(run_id, task_id),
    )


def commit_of(repo: Repo, base: str | bytes) -> bytes:
    """The commit a branch name or hex id names.

    Raises:
        KeyError: `base` names no branch or commit.
    """
    name = base.encode() if isinstance(base, str) else base
    for candidate in (b"refs/heads/" + name, name):
        ref = Ref(candidate)
        if ref in repo.refs:
            return bytes(repo.refs[ref])
    if len(name) == 40 and ObjectID(name) in repo.object_store:
        return name
    raise KeyError(f"no branch or commit {name.decode(errors='replace')}")


def is_ancestor(repo: Repo, older: bytes, newer: bytes) -> bool:
    """Whether commit `older` is `newer` or one of its ancestors."""
    if older == newer:
        return True
    bases = find_merge_base(repo, [ObjectID(older), ObjectID(newer)])
    return bool(bases) and bytes(bases[0]) == older


def tree_of(repo: Repo, commit: bytes) -> bytes:
    """The root tree of a commit."""
    found = repo[ObjectID(commit)]
    if not isinstance(found, Commit):
        raise KeyError(f"{commit.decode()} is not a commit")
    return bytes(found.tree)


def create_worktree(repo_root: Path, run_id: str, task_id: str, base: str | bytes) -> Worktree:
    """A new worktree for the task on its own new branch, from `base` (a branch or commit).

    Raises:
        KeyError: `base` names no branch or commit.
        ValueError: The branch already exists.
        WorktreeError: Something is in the way of the worktree's folder.
    """
    branch = branch_name(run_id, task_id)
    with Repo(str(repo_root)) as repo:
        commit = commit_of(repo, base)
        tree = _worktree(repo_root, run_id, task_id, commit)
        if tree.path.exists():
            raise WorktreeError(f"{tree.path} already exists; move it away")
        # add_if_new refuses to move an existing branch.
        if not repo.refs.add_if_new(tree.ref, ObjectID(commit)):
            raise ValueError(f"branch {branch} already exists")
        _materialize(repo, tree)
    return tree


def prepare_worktree(
    repo_root: Path,
    run_id: str,
    task_id: str,
    base: str | bytes,
    *,
    attempt: int,
    title: str,
    keep: bool = False,
) -> Prepared:
    """The task's worktree, on its branch at `base`, ready for attempt number `attempt`.

    A worktree or branch an earlier attempt left is reset to `base`; its work (uncommitted
    changes are committed first) is kept under `kept_ref(run, task, attempt - 1)` unless
    `base` already holds it. With `keep`, an earlier attempt's complete worktree is left as
    it is (`continued`): the attempt continues that attempt's agent session, which remembers
    the files it wrote there.

    Raises:
        KeyError: `base` names no branch or commit.
        WorktreeError: Something that is not this task's worktree is in the way.
    """
    with Repo(str(repo_root)) as repo:
        commit = commit_of(repo, base)
        tree = _worktree(repo_root, run_id, task_id, commit)
        tip = bytes(repo.refs[tree.ref]) if tree.ref in repo.refs else None
        existing = _is_worktree(tree)
        if keep and existing and tip is not None:
            return Prepared(tree, "", created=False, continued=True)
        if existing and tip is not None:
            left = f"{title} (left by attempt {attempt - 1})"
            tip = _commit_leftovers(repo, tree, tip, task_id, left) or tip
        kept = ""
        if tip is not None and tip != commit and not is_ancestor(repo, tip, commit):
            ref = _free_kept_ref(repo, run_id, task_id, attempt - 1)
            repo.refs[ref] = ObjectID(tip)
            kept = ref.decode()
        if existing and tip is not None:
            old, new = tree_diff(repo.object_store, tree_of(repo, tip), tree_of(repo, commit))
            switch(repo.object_store, tree.checkout, repo, old, new, force=True)
            repo.refs.set_if_equals(tree.ref, ObjectID(tip), ObjectID(commit))
            return Prepared(tree, kept, created=False)
        _clear_partial(tree)  # before any ref moves: refuses what is not ours
        if tip is None:
            repo.refs.add_if_new(tree.ref, ObjectID(commit))
        else:
            repo.refs.set_if_equals(tree.ref, ObjectID(tip), ObjectID(commit))
        if not _from_spare(repo, repo_root, tree):
            _materialize(repo, tree)
    return Prepared(tree, kept, created=True)


def _is_worktree(tree: Worktree) -> bool:
    """Whether the task's worktree is complete (its index is written last)."""
    return (tree.admin / "index").is_file() and (tree.path / ".git").is_file()


def _clear_partial(tree: Worktree) -> None:
    """Remove what a creation cut short left (only pmtui's checkout of a tree: no work).

    Raises:
        WorktreeError: The folder holds something else.
    """
    if tree.path.exists() or tree.path.is_symlink():
        marker = tree.path / ".git"
        if not marker.is_file() or _gitdir_of(marker) != tree.admin:
            raise WorktreeError(
                f"{tree.path} is in the way of task worktrees and is not one; move it away"
            )
        shutil.rmtree(tree.path)
    if tree.admin.exists():
        shutil.rmtree(tree.admin)


def _gitdir_of(marker: Path) -> Path | None:
    try:
        text = marker.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return Path(text[len("gitdir: ") :]) if text.startswith("gitdir: ") else None


def _materialize(repo: Repo, tree: Worktree) -> None:
    """Write the worktree's git files, then its files, then its index (last: it marks it done)."""
    if tree.path.exists():
        raise WorktreeError(f"{tree.path} already exists; move it away")
    common = Path(repo.controldir()).resolve()
    tree.path.mkdir(parents=True)
    tree.admin.mkdir(parents=True)
    (tree.admin / "commondir").write_bytes(b"../..\n")
    _link(tree.path, common / "worktrees" / tree.admin.name, b"ref: " + tree.ref)
    files = tree_entries(repo.object_store, tree_of(repo, tree.base))
    entries = materialize(repo.object_store, tree.checkout, files)
    write_index(tree.checkout.index_path, entries)


def _link(tree_path: Path, admin: Path, head: bytes) -> None:
    """Point a worktree folder and its record in `.git/worktrees/` at each other; `head` is
    what its HEAD file holds (`ref: refs/heads/…` or a commit)."""
    (admin / "gitdir").write_bytes(os.fsencode(tree_path.resolve() / ".git") + b"\n")
    (tree_path / ".git").write_bytes(b"gitdir: " + os.fsencode(admin.resolve()) + b"\n")
    (admin / "HEAD").write_bytes(head + b"\n")


def _from_spare(repo: Repo, repo_root: Path, tree: Worktree) -> bool:
    """Make the task's worktree out of a spare one: moved into place and switched to its
    base, writing only the files that differ. False when there is no usable spare."""
    while True:
        with _SPARES_LOCK:  # tasks are prepared in several worker threads at once
            spares = _spares(repo_root)
            if not spares:
                return False
            folder, admin = spares[0]
            try:
                head = (admin / "HEAD").read_bytes().strip()
                tree.path.parent.mkdir(parents=True, exist_ok=True)
                os.rename(folder, tree.path)
                os.rename(admin, tree.admin)
            except OSError:
                if tree.path.exists() and not tree.admin.exists():
                    os.rename(tree.path, folder)
                _drop(folder, admin)  # half a spare (a run died retiring it): not reused
                continue
        _link(tree.path, tree.admin, b"ref: " + tree.ref)
        try:
            old, new = tree_diff(repo.object_store, tree_of(repo, head), tree_of(repo, tree.base))
            switch(repo.object_store, tree.checkout, repo, old, new)
        except (CheckoutBlocked, OSError, KeyError):
            _drop(tree.path, tree.admin)  # a spare someone touched: not worth keeping
            continue
        return True


def retire_worktree(repo_root: Path, worktree: Worktree) -> None:
    """Take a merged task's worktree out of `.pmtui/worktrees/<run>/<task>`: kept as a spare
    for the next task when it holds exactly its committed files (nothing untracked, ignored
    files included), else removed.

    Raises:
        WorktreeDirty: It holds uncommitted changes; nothing is removed.
    """
    with Repo(str(repo_root)) as repo:
        if not _pristine(repo, worktree):
            remove_worktree(repo_root, worktree)
            return
        head = bytes(repo.refs[worktree.ref])
    name = secrets.token_hex(6)
    folder = repo_root / SPARES / name
    admin = worktree.admin.with_name(SPARE_PREFIX + name)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _SPARES_LOCK:
        # The folder first and its record last: a spare is listed by its record, so one
        # listed is whole (a run that dies between the two leaves the task's own worktree).
        os.rename(worktree.path, folder)
        _link(folder, worktree.admin, head)
        os.rename(worktree.admin, admin)
        (folder / ".git").write_bytes(b"gitdir: " + os.fsencode(admin.resolve()) + b"\n")
    _prune_empty_parent(worktree.path.parent, repo_root / WORKTREES)


def _pristine(repo: Repo, worktree: Worktree) -> bool:
    """Whether the worktree holds its index's files as they are and nothing else."""
    entries, changed = scan(worktree.checkout, repo, untracked=False)
    if changed:
        return False
    root = os.fsencode(worktree.path)
    for folder, dirs, names in os.walk(root):
        relative = folder[len(root) + 1 :]
        for name in names:
            path = relative + b"/" + name if relative else name
            if path not in entries and path != b".git":
                return False
        for name in dirs:
            if os.path.islink(os.path.join(folder, name)):
                path = relative + b"/" + name if relative else name
                if path not in entries:
                    return False
    return True


def _spares(repo_root: Path) -> list[tuple[Path, Path]]:
    """The spare worktrees: `(folder, its record in .git/worktrees/)`."""
    found = []
    folder = repo_root / ".git" / "worktrees"
    for admin in sorted(folder.glob(SPARE_PREFIX + "*")) if folder.is_dir() else []:
        spare = repo_root / SPARES / admin.name[len(SPARE_PREFIX) :]
        found.append((spare, admin))
    return found


def _drop(folder: Path, admin: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(admin, ignore_errors=True)


def drop_spares(repo_root: Path) -> int:
    """Remove every spare worktree (at the end of a run, or left by one that died); returns
    how many there were."""
    spares = _spares(repo_root)
    for folder, admin in spares:
        _drop(folder, admin)
    leftover = repo_root / SPARES
    if leftover.is_dir():
        for folder in leftover.iterdir():  # a spare whose record went first
            shutil.rmtree(folder, ignore_errors=True)
        _prune_empty_parent(leftover, repo_root / WORKTREES)
    return len(spares)


def _free_kept_ref(repo: Repo, run_id: str, task_id: str, attempt: int) -> Ref:
    ref = kept_ref(run_id, task_id, max(attempt, 1))
    suffix = 1
    while ref in repo.refs:
        suffix += 1
        ref = Ref(kept_ref(run_id, task_id, max(attempt, 1)) + f"-{suffix}".encode())
    return ref


def changes(target: Worktree | Path) -> list[str]:
    """Paths changed in a worktree and not committed: staged, unstaged and untracked."""
    path = target.path if isinstance(target, Worktree) else target
    with Repo(str(path)) as repo:
        checkout = Checkout(path, Path(repo.index_path()))
        entries, changed = scan(checkout, repo)
        head = bytes(repo.head())
        found = {os.fsdecode(state.path) for state in changed}
        staged = {path: (entry.mode, bytes(entry.sha)) for path, entry in entries.items()}
        committed = tree_entries(repo.object_store, tree_of(repo, head))
        found.update(
            os.fsdecode(name)
            for name in staged.keys() | committed.keys()
            if staged.get(name) != committed.get(name)
        )
    return sorted(found)


def commit_task(worktree: Worktree, task_id: str, title: str) -> bytes | None:
    """Commit everything the task changed (message `<task-id>: <title>`, author pmtui).

    Returns:
        The new commit, or None when there was nothing to commit (the agent committed
        itself, or changed nothing).
    """
    with Repo(str(worktree.path)) as repo:
        tip = bytes(repo.refs[worktree.ref])
        return _commit_leftovers(repo, worktree, tip, task_id, title)


def _commit_leftovers(
    repo: Repo, worktree: Worktree, tip: bytes, task_id: str, title: str
) -> bytes | None:
    """Commit what the worktree holds beyond `tip` on its branch; None when nothing."""
    checkout = worktree.checkout
    entries, changed = scan(checkout, repo)
    if not changed:  # then only what the agent staged without committing is left
        committed = tree_entries(repo.object_store, tree_of(repo, tip))
        staged = {path: (entry.mode, bytes(entry.sha)) for path, entry in entries.items()}
        if staged == committed:
            return None
    stage(repo.object_store, checkout, entries, changed)
    tree = tree_from_entries(repo.object_store, entries)
    if tree == tree_of(repo, tip):
        write_index(checkout.index_path, entries)
        return None
    commit = Commit()
    commit.tree = ObjectID(tree)
    commit.parents = [ObjectID(tip)]
    commit.author = commit.committer = AUTHOR
    commit.author_time = commit.commit_time = int(time.time())
    commit.author_timezone = commit.commit_timezone = 0
    commit.encoding = b"UTF-8"
    commit.message = f"{task_id}: {title}\n".encode()
    repo.object_store.add_object(commit)
    if not repo.refs.set_if_equals(worktree.ref, ObjectID(tip), commit.id):
        raise WorktreeError(f"branch {worktree.branch} moved while its work was committed")
    write_index(checkout.index_path, entries)
    return bytes(commit.id)


def remove_worktree(repo_root: Path, worktree: Worktree) -> None:
    """Remove a worktree whose work is committed (its branch stays).

    Raises:
        WorktreeDirty: It holds uncommitted changes; nothing is removed.
    """
    left = changes(worktree.path)
    if left:
        raise WorktreeDirty(worktree.path, left)
    shutil.rmtree(worktree.path)
    if worktree.admin.exists():
        shutil.rmtree(worktree.admin)
    _prune_empty_parent(worktree.path.parent, repo_root / WORKTREES)


def _prune_empty_parent(folder: Path, stop: Path) -> None:
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def open_worktree(repo_root: Path, run_id: str, task_id: str) -> Worktree | None:
    """The task's worktree if it exists (its `base` is then its branch's tip)."""
    tree = _worktree(repo_root, run_id, task_id, b"")
    if not _is_worktree(tree):
        return None
    with Repo(str(repo_root)) as repo:
        if tree.ref not in repo.refs:
            return None
        tip = bytes(repo.refs[tree.ref])
    return Worktree(tree.path, tree.branch, tip, tree.admin)
