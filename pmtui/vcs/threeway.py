"""The three-way merge of two trees from their common base, path by path (docs/design.md §6).

Nothing is written: the merged blobs and trees come back as objects for the caller to store
once it decides to use them, so a conflicting merge leaves no trace. Each conflict is named
with seed 004's types — `modify/modify`, `delete/modify`, `add/add`, `file/directory`.

- `auto_resolve` (`[conflicts] auto_resolve`): a file both sides changed is merged line by
  line when the changes do not touch (a clean three-way merge); off, every file both sides
  changed differently is a conflict. A real conflict is never merged by itself.
- `favor` (`use_first` / `use_last`, chosen by the user for a conflict left): conflicting
  lines, or whole conflicting paths, take that side; the rest merges as usual.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import cast

import merge3
from dulwich.objects import Blob, ObjectID, ShaFile, Tree

BINARY_SNIFF = 8000
"""Bytes looked at for a NUL, as git does, to tell binary content (never merged by line)."""


class Side(StrEnum):
    """The side a conflict is resolved to."""

    OURS = "ours"
    """The integration branch: what was merged first."""
    THEIRS = "theirs"
    """The task's branch: what comes last."""


@dataclass(frozen=True, slots=True)
class PathConflict:
    """A path both sides changed in ways that do not merge, and how."""

    path: str
    kind: str
    """`modify/modify`, `delete/modify`, `add/add` or `file/directory`."""


@dataclass
class TreeMerge:
    """The outcome of merging two trees."""

    tree: bytes
    """The merged root tree (its new objects are in `objects`; with conflicts, ours is kept
    at each conflicting path)."""
    conflicts: list[PathConflict] = field(default_factory=list)
    objects: list[ShaFile] = field(default_factory=list)
    """Blobs and trees the merge made, not yet in any store."""
    merged_by_line: list[str] = field(default_factory=list)
    """Paths both sides changed whose lines merged cleanly."""


Entry = tuple[int, bytes]
Loader = Callable[[ObjectID], ShaFile]


def merge_trees(
    load: Loader,
    base: bytes | None,
    ours: bytes,
    theirs: bytes,
    *,
    auto_resolve: bool = True,
    favor: Side | None = None,
) -> TreeMerge:
    """Merge tree `theirs` into tree `ours`, both from tree `base` (None: no common base).

    Args:
        load: Reads an object by its hex id (`object_store.__getitem__`).
        base: The merge base's tree.
        ours: The integration branch's tree.
        theirs: The task's tree.
        auto_resolve: Merge files both sides changed when their lines do not conflict.
        favor: Resolve every conflict to this side instead of reporting it.
    """
    result = TreeMerge(b"")
    tree = _merge(load, base, ours, theirs, b"", result, auto_resolve, favor)
    assert tree is not None  # the root is never dropped
    result.tree = tree
    return result


def _entries(load: Loader, tree: bytes | None) -> dict[bytes, Entry]:
    if tree is None:
        return {}
    found = load(ObjectID(tree))
    assert isinstance(found, Tree)
    return {bytes(item.path): (int(item.mode), bytes(item.sha)) for item in found.items()}


def _is_dir(entry: Entry | None) -> bool:
    return entry is not None and stat.S_ISDIR(entry[0])


def _merge(
    load: Loader,
    base: bytes | None,
    ours: bytes | None,
    theirs: bytes | None,
    prefix: bytes,
    result: TreeMerge,
    auto_resolve: bool,
    favor: Side | None,
) -> bytes | None:
    """The merged tree (None: a folder left with nothing, which git never records)."""
    base_items, our_items, their_items = (_entries(load, t) for t in (base, ours, theirs))
    merged: dict[bytes, Entry] = {}
    for name in sorted(base_items.keys() | our_items.keys() | their_items.keys()):
        path = prefix + b"/" + name if prefix else name
        entry = _merge_entry(
            load,
            path,
            base_items.get(name),
            our_items.get(name),
            their_items.get(name),
            result,
            auto_resolve,
            favor,
        )
        if entry is not None:
            merged[name] = entry
    if prefix and not merged:
        return None
    if ours is not None and merged == our_items:
        return ours
    if theirs is not None and merged == their_items:
        return theirs
    tree = Tree()
    for name, (mode, sha) in merged.items():
        tree.add(name, mode, ObjectID(sha))
    result.objects.append(tree)
    return bytes(tree.id)


def _merge_entry(
    load: Loader,
    path: bytes,
    base: Entry | None,
    ours: Entry | None,
    theirs: Entry | None,
    result: TreeMerge,
    auto_resolve: bool,
    favor: Side | None,
) -> Entry | None:
    """The merged entry at `path` (None: absent), recording a conflict if there is one."""
    if ours == theirs:
        return ours
    if base == ours:
        return theirs
    if base == theirs:
        return ours
    # Both sides changed the path, differently.
    both_folders = _is_dir(ours) and _is_dir(theirs)
    folder_deleted = _is_dir(base) and (
        (ours is None and _is_dir(theirs)) or (theirs is None and _is_dir(ours))
    )
    if both_folders or folder_deleted:
        base_tree = base[1] if base is not None and _is_dir(base) else None
        tree = _merge(
            load,
            base_tree,
            None if ours is None else ours[1],
            None if theirs is None else theirs[1],
            path,
            result,
            auto_resolve,
            favor,
        )
        return None if tree is None else (0o040000, tree)
    if _is_dir(ours) or _is_dir(theirs):
        kind = "file/directory" if ours is not None and theirs is not None else "delete/modify"
        return _conflict(path, kind, ours, theirs, result, favor)
    if ours is None or theirs is None:
        return _conflict(path, "delete/modify", ours, theirs, result, favor)
    kind = "add/add" if base is None or _is_dir(base) else "modify/modify"
    text_base = None if base is None or _is_dir(base) else base
    mode = _merged_mode(text_base, ours, theirs)
    if mode is None or ours[0] == 0o160000 or theirs[0] == 0o160000:
        return _conflict(path, kind, ours, theirs, result, favor)
    if ours[1] == theirs[1]:
        return (mode, ours[1])
    if not auto_resolve and favor is None:
        return _conflict(path, kind, ours, theirs, result, favor)
    base_data = b"" if text_base is None else _data(load, text_base[1])
    our_data, their_data = _data(load, ours[1]), _data(load, theirs[1])
    if text_base is None or mode == 0o120000 or _binary(base_data, our_data, their_data):
        return _conflict(path, kind, ours, theirs, result, favor)
    merged, clean = merge_lines(base_data, our_data, their_data, favor)
    if not clean:
        return _conflict(path, kind, ours, theirs, result, favor)
    blob = Blob.from_string(merged)
    result.objects.append(blob)
    result.merged_by_line.append(path.decode("utf-8", "replace"))
    return (mode, bytes(blob.id))


def _merged_mode(base: Entry | None, ours: Entry, theirs: Entry) -> int | None:
    """The mode both sides agree on (one side's change wins), or None when they clash."""
    if ours[0] == theirs[0]:
        return ours[0]
    if base is not None and base[0] == ours[0]:
        return theirs[0]
    if base is not None and base[0] == theirs[0]:
        return ours[0]
    return None


def _conflict(
    path: bytes,
    kind: str,
    ours: Entry | None,
    theirs: Entry | None,
    result: TreeMerge,
    favor: Side | None,
) -> Entry | None:
    if favor is Side.THEIRS:
        return theirs
    if favor is None:
        result.conflicts.append(PathConflict(path.decode("utf-8", "replace"), kind))
    return ours


def _data(load: Loader, sha: bytes) -> bytes:
    found = load(ObjectID(sha))
    assert isinstance(found, Blob)
    return bytes(found.data)


def _binary(*contents: bytes) -> bool:
    return any(b"\0" in content[:BINARY_SNIFF] for content in contents)


def merge_lines(
    base: bytes, ours: bytes, theirs: bytes, favor: Side | None = None
) -> tuple[bytes, bool]:
    """Merge two versions of a text line by line from their base.

    Returns:
        The merged text and whether it merged cleanly; conflicting regions take `favor`'s
        side when given (and then count as clean), else ours.
    """
    merger = merge3.Merge3(base.splitlines(True), ours.splitlines(True), theirs.splitlines(True))
    out: list[bytes] = []
    clean = True
    for group in merger.merge_groups():
        if group[0] == "conflict":
            _, _, mine, other = cast(tuple[str, list[bytes], list[bytes], list[bytes]], group)
            if favor is None:
                clean = False
            out.extend(other if favor is Side.THEIRS else mine)
        else:
            out.extend(cast(tuple[str, list[bytes]], group)[1])
    return b"".join(out), clean
