"""A checkout's files and index: write a tree out, switch it to another, find what changed.

dulwich's own checkout (`build_index_from_tree`) checks every file against filters and
writes a worktree twice when one is added; a task's worktree is made and scanned on every
attempt, so this module does the same work once, with plain system calls, on dulwich's
object store and index format. The `git` CLI must read what is written here as its own
(the tests check `git status` and `git fsck`).

The index is always written whole and without the cached-tree extension: a stale cached tree
would make the next `git commit` record the wrong content.

Status follows git's racy-entry rule: an entry whose stat matches is unchanged only when its
file was last written before the index was, else the file is hashed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dulwich.diff_tree import tree_changes
from dulwich.ignore import IgnoreFilter, IgnoreFilterManager, default_user_ignore_filter_path
from dulwich.index import IndexEntry, commit_tree, index_entry_from_stat
from dulwich.object_store import BaseObjectStore, iter_tree_contents
from dulwich.objects import Blob, ObjectID
from dulwich.repo import Repo

from pmtui.vcs.gitindex import encode_index, read_index, write_index

__all__ = [
    "Checkout",
    "CheckoutBlocked",
    "FileState",
    "blocked_paths",
    "file_entry",
    "finish_index",
    "materialize",
    "read_index",
    "scan",
    "stage",
    "switch",
    "tree_diff",
    "tree_entries",
    "tree_from_entries",
    "untracked_files",
    "write_index",
]

FILE_MODE = 0o100644
EXEC_MODE = 0o100755
LINK_MODE = 0o120000
GITLINK_MODE = 0o160000

Entry = tuple[int, bytes]
"""`(mode, sha)` of a path in a tree or an index."""


class CheckoutBlocked(Exception):  # noqa: N818 - reads as what happened
    """Files in the way of a switch were changed by hand: nothing was written."""

    def __init__(self, root: Path, paths: list[str]) -> None:
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        super().__init__(f"{shown} in {root} changed by hand")
        self.root = root
        self.paths = paths


@dataclass(frozen=True, slots=True)
class Checkout:
    """A working folder with its index file (the main checkout's, or a worktree's)."""

    root: Path
    index_path: Path


def tree_entries(store: BaseObjectStore, tree: bytes | None) -> dict[bytes, Entry]:
    """Every file of a tree by path: `{path: (mode, sha)}` (empty for None)."""
    if tree is None:
        return {}
    return {
        bytes(item.path): (int(item.mode), bytes(item.sha))
        for item in iter_tree_contents(store, ObjectID(tree))
        if item.path is not None and item.mode is not None and item.sha is not None
    }


def tree_diff(
    store: BaseObjectStore, old: bytes | None, new: bytes | None
) -> tuple[dict[bytes, Entry], dict[bytes, Entry]]:
    """The files that differ between two trees: `(old entries, new entries)` of those paths
    only (a path absent from one side is missing from its map). Walks only the subtrees that
    differ."""
    before: dict[bytes, Entry] = {}
    after: dict[bytes, Entry] = {}
    for change in tree_changes(
        store, None if old is None else ObjectID(old), None if new is None else ObjectID(new)
    ):
        if change.old is not None and change.old.path is not None and change.old.sha is not None:
            assert change.old.mode is not None
            before[bytes(change.old.path)] = (int(change.old.mode), bytes(change.old.sha))
        if change.new is not None and change.new.path is not None and change.new.sha is not None:
            assert change.new.mode is not None
            after[bytes(change.new.path)] = (int(change.new.mode), bytes(change.new.sha))
    return before, after


def fs_path(root: Path, path: bytes) -> bytes:
    """The file system path of a tree path under `root`."""
    return os.fsencode(root) + b"/" + path


def _mode_of(st: os.stat_result) -> int:
    if stat.S_ISLNK(st.st_mode):
        return LINK_MODE
    return EXEC_MODE if st.st_mode & 0o100 else FILE_MODE


def _write_file(full: bytes, mode: int, data: bytes) -> os.stat_result:
    """Write one file (or symlink) where nothing is; return its stat."""
    if mode == LINK_MODE:
        os.symlink(data, full)
        return os.lstat(full)
    fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o755 if mode == EXEC_MODE else 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        return os.fstat(fd)
    finally:
        os.close(fd)


def _ensure_parent(full: bytes, made: set[bytes]) -> None:
    parent = os.path.dirname(full)
    if parent in made:
        return
    try:
        os.makedirs(parent, exist_ok=True)
    except FileExistsError:
        # A file where a folder must be: the caller removed what the tree removes, so this
        # is a path the tree makes a folder of.
        os.unlink(parent)
        os.makedirs(parent, exist_ok=True)
    made.add(parent)


def materialize(
    store: BaseObjectStore, checkout: Checkout, files: Mapping[bytes, Entry]
) -> dict[bytes, IndexEntry]:
    """Write `files` into an empty folder and return their index entries (not yet saved).

    One thread, in path order: a dulwich pack is one file handle (its reads are not safe
    from several threads), and threads only contend for the interpreter here.
    """
    made: set[bytes] = set()
    entries: dict[bytes, IndexEntry] = {}
    get_raw = store.get_raw
    for path, (mode, sha) in sorted(files.items()):
        full = fs_path(checkout.root, path)
        _ensure_parent(full, made)
        if mode == GITLINK_MODE:  # a submodule: recorded, not checked out
            os.makedirs(full, exist_ok=True)
            st = os.lstat(full)
        else:
            st = _write_file(full, mode, get_raw(ObjectID(sha))[1])
        entries[path] = index_entry_from_stat(st, ObjectID(sha), mode)
    return entries


def _stat_matches(entry: IndexEntry, st: os.stat_result) -> bool:
    mtime = entry.mtime if isinstance(entry.mtime, tuple) else (int(entry.mtime), 0)
    return (
        mtime == (st.st_mtime_ns // 1_000_000_000, st.st_mtime_ns % 1_000_000_000)
        and entry.size == (st.st_size & 0xFFFFFFFF)
        and entry.ino == (st.st_ino & 0xFFFFFFFF)
        and entry.mode == _mode_of(st)
    )


def _hash_file(full: bytes, st: os.stat_result) -> bytes:
    if stat.S_ISLNK(st.st_mode):
        return bytes(Blob.from_string(os.readlink(full)).id)
    with open(full, "rb") as handle:
        return bytes(Blob.from_string(handle.read()).id)


@dataclass(frozen=True, slots=True)
class FileState:
    """How one path of a checkout differs from its index entry."""

    path: bytes
    entry: Entry | None
    """What the file is now (`None`: gone, or a folder)."""


def scan(
    checkout: Checkout,
    repo: Repo,
    *,
    untracked: bool = True,
    only: Iterable[bytes] | None = None,
) -> tuple[dict[bytes, IndexEntry], list[FileState]]:
    """Compare a checkout's files with its index.

    Args:
        checkout: The folder and its index.
        repo: Reads the ignore rules (`.gitignore`, `info/exclude`).
        untracked: Also list files the index does not know (ignored ones never).
        only: Look at these paths only (and no untracked files).

    Returns:
        The index entries, and each path whose file differs from its entry (content, mode,
        gone) or is new, with what it is now.
    """
    entries = read_index(checkout.index_path)
    try:
        index_mtime = os.stat(checkout.index_path).st_mtime_ns
    except FileNotFoundError:
        index_mtime = 0
    changed: list[FileState] = []
    paths = entries.keys() if only is None else [path for path in only if path in entries]
    for path in paths:
        entry = entries[path]
        if entry.mode == GITLINK_MODE:
            continue
        full = fs_path(checkout.root, path)
        try:
            st = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            changed.append(FileState(path, None))
            continue
        if stat.S_ISDIR(st.st_mode):
            changed.append(FileState(path, None))
            continue
        if _stat_matches(entry, st) and st.st_mtime_ns < index_mtime:
            continue
        now = (_mode_of(st), _hash_file(full, st))
        if now != (entry.mode, bytes(entry.sha)):
            changed.append(FileState(path, now))
    if only is not None:
        for path in only:
            if path not in entries:
                found = file_entry(checkout.root, path)
                if found is not None:
                    changed.append(FileState(path, found))
    elif untracked:
        for path in untracked_files(checkout.root, repo, entries):
            found = file_entry(checkout.root, path)
            if found is not None:
                changed.append(FileState(path, found))
    return entries, changed


def file_entry(root: Path, path: bytes) -> Entry | None:
    """What a path of a checkout holds now: `(mode, sha)`, or None (nothing, or a folder)."""
    full = fs_path(root, path)
    try:
        st = os.lstat(full)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISDIR(st.st_mode):
        return None
    return _mode_of(st), _hash_file(full, st)


def untracked_files(root: Path, repo: Repo, entries: Mapping[bytes, object]) -> Iterator[bytes]:
    """Files under `root` the index does not know and no ignore rule hides, in path order.

    A folder with nothing tracked in it is looked into only if it is not ignored, so a
    `node_modules/` costs one check; nested repositories and worktrees (a `.git` inside) are
    not entered.
    """
    tracked_dirs: set[bytes] = set()
    for path in entries:
        parts = path.split(b"/")
        for end in range(1, len(parts)):
            tracked_dirs.add(b"/".join(parts[:end]))
    ignore: IgnoreFilterManager | None = None

    def ignored(rel: bytes, is_dir: bool) -> bool:
        nonlocal ignore
        if ignore is None:
            ignore = ignore_rules(root, repo)
        text = os.fsdecode(rel) + ("/" if is_dir else "")
        return bool(ignore.is_ignored(text))

    stack: list[bytes] = [b""]
    base = os.fsencode(root)
    while stack:
        folder = stack.pop()
        try:
            items = sorted(os.scandir(base + b"/" + folder if folder else base), key=_name)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        subfolders: list[bytes] = []
        for item in items:
            name = item.name
            if name == b".git":
                continue
            rel = folder + b"/" + name if folder else name
            if item.is_dir(follow_symlinks=False):
                nested = os.path.lexists(item.path + b"/.git")
                if rel in tracked_dirs or not (nested or ignored(rel, True)):
                    subfolders.append(rel)
            elif rel not in entries and not ignored(rel, False):
                yield rel
        stack.extend(reversed(subfolders))


def ignore_rules(root: Path, repo: Repo) -> IgnoreFilterManager:
    """git's ignore rules for the checkout at `root`: its own `.gitignore` files, the
    `info/exclude` of the common git dir (shared by every worktree), `core.excludesFile`."""
    config = repo.get_config_stack()
    shared = []
    for path in (
        os.path.join(repo.commondir(), "info", "exclude"),
        default_user_ignore_filter_path(config),
    ):
        with suppress(OSError):
            shared.append(IgnoreFilter.from_path(os.path.expanduser(path)))
    ignorecase = config.get_boolean(b"core", b"ignorecase", False)
    return IgnoreFilterManager(str(root), shared, ignorecase)


def _name(item: os.DirEntry[bytes]) -> bytes:
    return item.name


def switch(
    store: BaseObjectStore,
    checkout: Checkout,
    repo: Repo,
    old: Mapping[bytes, Entry],
    new: Mapping[bytes, Entry],
    *,
    force: bool = False,
    entries: dict[bytes, IndexEntry] | None = None,
    keep: Collection[bytes] = (),
    save: bool = True,
) -> list[bytes]:
    """Move a checkout's files and index from tree `old` to tree `new`, touching only the
    paths that differ; returns them.

    Args:
        store: Where the new files' blobs are.
        checkout: The files and index to move.
        repo: Reads the ignore rules.
        old: The tree the checkout shows now (at least the paths that differ).
        new: The tree to show.
        force: Overwrite what was changed by hand (only for pmtui's own worktrees).
        entries: The checkout's index as just read and checked by the caller (then no
            second check is made); updated in place.
        keep: Paths whose files stay as they are (changed by hand): only their index entries
            follow `new`, so the hand edit shows as a change on top of it.
        save: Write the index (else the caller writes `entries`, e.g. through a lock it
            holds: see `finish_index`).

    Raises:
        CheckoutBlocked: (unless `force`, `entries` or `keep`) a path to change was changed
            by hand: it differs from `old` in the index or on disk, or an untracked file is
            where `new` puts one. Nothing is written then.
    """
    paths = sorted(path for path in old.keys() | new.keys() if old.get(path) != new.get(path))
    if not paths:
        return []
    checked = entries is not None
    if entries is None:
        entries = read_index(checkout.index_path)
    if not (force or checked or keep):
        blocked = blocked_paths(checkout, repo, old, new, paths, entries)
        if blocked:
            raise CheckoutBlocked(checkout.root, [os.fsdecode(path) for path in blocked])
    root = os.fsencode(checkout.root)
    for path in paths:
        if path in old and path not in new:
            entries.pop(path, None)
            if path not in keep:
                full = root + b"/" + path
                _remove(full)
                _prune_empty(root, os.path.dirname(full))
    made: set[bytes] = set()
    for path in paths:
        if path not in new:
            continue
        mode, sha = new[path]
        if path in keep:
            entries[path] = _unknown_stat_entry(ObjectID(sha), mode)
            continue
        full = root + b"/" + path
        _ensure_parent(full, made)
        _remove(full)
        if mode == GITLINK_MODE:
            os.makedirs(full, exist_ok=True)
            entries[path] = index_entry_from_stat(os.lstat(full), ObjectID(sha), mode)
            continue
        _, data = store.get_raw(ObjectID(sha))
        entries[path] = index_entry_from_stat(_write_file(full, mode, data), ObjectID(sha), mode)
    if save:
        finish_index(checkout, entries, paths)
    return paths


def finish_index(
    checkout: Checkout,
    entries: dict[bytes, IndexEntry],
    written: Collection[bytes],
    handle: IO[bytes] | None = None,
) -> None:
    """Write the index after a `switch` (to `handle`, a lock on it the caller holds, when
    given), its racy entries smudged as git does."""
    _smudge_racy(checkout, entries, set(written))
    if handle is None:
        write_index(checkout.index_path, entries)
    else:
        handle.write(encode_index(entries))
        handle.close()


def _unknown_stat_entry(sha: ObjectID, mode: int) -> IndexEntry:
    """An index entry that git (and `scan`) must compare by content: its stat matches no
    file."""
    return IndexEntry((0, 0), (0, 0), 0, 0, mode, 0, 0, 0, sha)


def _smudge_racy(checkout: Checkout, entries: dict[bytes, IndexEntry], skip: set[bytes]) -> None:
    """git's racy-clean rule when an index is rewritten: an entry whose file was written in
    the second of the index's last write (or later) and no longer matches gets size 0, so git
    and `scan` hash it again instead of trusting its stat against the newer index."""
    try:
        index_second = os.stat(checkout.index_path).st_mtime_ns // 1_000_000_000
    except FileNotFoundError:
        return
    for path, entry in entries.items():
        if path in skip or entry.mode == GITLINK_MODE or entry.size == 0:
            continue
        mtime = entry.mtime if isinstance(entry.mtime, tuple) else (int(entry.mtime), 0)
        if mtime[0] < index_second:
            continue
        if file_entry(checkout.root, path) != (entry.mode, bytes(entry.sha)):
            entry.size = 0


def blocked_paths(
    checkout: Checkout,
    repo: Repo,
    old: Mapping[bytes, Entry],
    new: Mapping[bytes, Entry],
    paths: Iterable[bytes],
    entries: Mapping[bytes, IndexEntry] | None = None,
) -> list[bytes]:
    """The paths among `paths` that a switch from `old` to `new` would overwrite though they
    were changed by hand (index or file differs from `old`, or an untracked file is there)."""
    if entries is None:
        entries = read_index(checkout.index_path)
    blocked: list[bytes] = []
    for path in paths:
        before = old.get(path)
        entry = entries.get(path)
        staged = None if entry is None else (int(entry.mode), bytes(entry.sha))
        if staged != before:
            blocked.append(path)
            continue
        now = file_entry(checkout.root, path)
        if now != before and now != new.get(path):
            blocked.append(path)
    for path in paths:
        # A folder where a file goes, holding what the switch does not remove.
        entry_new = new.get(path)
        full = fs_path(checkout.root, path)
        if (
            entry_new is not None
            and entry_new[0] != GITLINK_MODE
            and os.path.isdir(full)
            and not os.path.islink(full)
            and _holds_more_than(full, path, old)
        ):
            blocked.append(path)
    for path in paths:
        # A new file inside what is a file on disk now (not one the switch removes).
        parts = path.split(b"/")
        for end in range(1, len(parts)):
            parent = b"/".join(parts[:end])
            if parent in old:
                continue
            full = fs_path(checkout.root, parent)
            if os.path.lexists(full) and not os.path.isdir(full):
                blocked.append(path)
                break
    return sorted(set(blocked))


def _holds_more_than(full: bytes, path: bytes, old: Mapping[bytes, Entry]) -> bool:
    """Whether folder `full` (tree path `path`) holds anything but files `old` tracks (which
    the switch removes), or a folder that would stay behind."""
    for folder, dirs, names in os.walk(full):
        rel = path + folder[len(full) :]
        if folder != full and not dirs and not names:
            return True
        links = [name for name in dirs if os.path.islink(os.path.join(folder, name))]
        if any(rel + b"/" + name not in old for name in [*names, *links]):
            return True
    return False


def _remove(full: bytes) -> None:
    try:
        st = os.lstat(full)
    except (FileNotFoundError, NotADirectoryError):
        return
    if stat.S_ISDIR(st.st_mode):
        try:
            os.rmdir(full)  # an empty submodule folder; anything else stays
        except OSError:
            return
    else:
        os.unlink(full)


def _prune_empty(root: bytes, folder: bytes) -> None:
    """Remove folders left empty, up to (not including) `root`."""
    while folder and folder != root and folder.startswith(root):
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = os.path.dirname(folder)


def tree_from_entries(store: BaseObjectStore, entries: Mapping[bytes, IndexEntry]) -> bytes:
    """Write the trees of an index's entries into the store; returns the root tree."""
    return bytes(
        commit_tree(
            store,
            [(path, ObjectID(entry.sha), entry.mode) for path, entry in sorted(entries.items())],
        )
    )


def stage(
    store: BaseObjectStore,
    checkout: Checkout,
    entries: dict[bytes, IndexEntry],
    changed: Iterable[FileState],
) -> None:
    """Put the changed files into `entries` (their blobs into the store), as `git add -A`."""
    for state in changed:
        full = fs_path(checkout.root, state.path)
        if state.entry is None:
            entries.pop(state.path, None)
            continue
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            blob = Blob.from_string(os.readlink(full))
        else:
            with open(full, "rb") as handle:
                blob = Blob.from_string(handle.read())
        store.add_object(blob)
        entries[state.path] = index_entry_from_stat(st, blob.id, _mode_of(st))
