"""git's index file, read and written in one pass (formats 2 and 3, what git writes unless
told otherwise).

dulwich's reader and writer go field by field in Python; a task's worktree index is read and
written several times per task (scan, commit, merge, removal), so for a 2,000-file checkout
they cost more than all the git work around them. Here each entry is one `struct` call. Any
index this does not know (format 4's compressed paths, a split or sparse index, an entry
with extended flags) goes through dulwich instead, so nothing is ever misread.

The entries are dulwich's own `IndexEntry`s, without conflicted stages (pmtui never writes
them: a merge with conflicts is not checked out).
"""

from __future__ import annotations

import hashlib
import io
import struct
from binascii import hexlify, unhexlify
from collections.abc import Mapping
from pathlib import Path

from dulwich.file import GitFile
from dulwich.index import Index, IndexEntry, write_index_dict
from dulwich.objects import ObjectID

_HEADER = struct.Struct(">4sLL")
_ENTRY = struct.Struct(">LLLLLLLLLL20sH")
"""ctime s/ns, mtime s/ns, dev, ino, mode, uid, gid, size, sha, flags: 62 bytes."""
_U32 = 0xFFFFFFFF
_NAME_MASK = 0x0FFF
_STAGE_MASK = 0x3000
_EXTENDED = 0x4000
_ASSUME_VALID = 0x8000
_FOREIGN_EXTENSIONS = (b"link", b"sdir")
"""Extensions that change what the entries mean (split index, sparse directories)."""


class _Unknown(Exception):
    """An index this module does not read: dulwich does."""


def read_index(path: Path) -> dict[bytes, IndexEntry]:
    """The entries of an index file by path (empty when there is none); conflicted entries
    (stages 1–3) are left out: see `conflicted_paths`."""
    return _read(path)[0]


def conflicted_paths(path: Path) -> list[bytes]:
    """The paths an index holds in conflict (a merge or rebase the user is resolving)."""
    return _read(path)[1]


def _read(path: Path) -> tuple[dict[bytes, IndexEntry], list[bytes]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}, []
    try:
        return _parse(data)
    except (_Unknown, struct.error, ValueError, IndexError):
        index = Index(str(path))
        entries = {
            bytes(name): entry for name, entry in index.items() if isinstance(entry, IndexEntry)
        }
        conflicted = [
            bytes(name) for name, entry in index.items() if not isinstance(entry, IndexEntry)
        ]
        return entries, conflicted


def _parse(data: bytes) -> tuple[dict[bytes, IndexEntry], list[bytes]]:
    signature, version, count = _HEADER.unpack_from(data, 0)
    if signature != b"DIRC" or version not in (2, 3):
        raise _Unknown(version)
    if hashlib.sha1(data[:-20]).digest() != data[-20:]:
        raise _Unknown("checksum")
    entries: dict[bytes, IndexEntry] = {}
    conflicted: list[bytes] = []
    position = 12
    unpack = _ENTRY.unpack_from
    for _ in range(count):
        start = position
        (ct, ctn, mt, mtn, dev, ino, mode, uid, gid, size, sha, flags) = unpack(data, position)
        position += 62
        if flags & _EXTENDED:
            raise _Unknown("extended flags")
        length = flags & _NAME_MASK
        if length == _NAME_MASK:
            length = data.index(b"\0", position) - position
        name = data[position : position + length]
        position = start + ((62 + length + 8) & ~7)
        if flags & _STAGE_MASK:
            if not conflicted or conflicted[-1] != name:
                conflicted.append(name)
            continue
        entries[name] = IndexEntry(
            (ct, ctn),
            (mt, mtn),
            dev,
            ino,
            mode,
            uid,
            gid,
            size,
            ObjectID(hexlify(sha)),
            flags & ~_NAME_MASK,
        )
    end = len(data) - 20
    while position + 8 <= end:
        signature = data[position : position + 4]
        if signature in _FOREIGN_EXTENSIONS:
            raise _Unknown(signature)
        (length,) = struct.unpack_from(">L", data, position + 4)
        position += 8 + length
    return entries, conflicted


def write_index(path: Path, entries: Mapping[bytes, IndexEntry]) -> None:
    """Replace an index file atomically (a `.lock` file renamed over it, as git does), in
    format 2, without the cached-tree extension (a stale one would make the next `git
    commit` record the wrong content).

    Raises:
        FileLocked: A git command holds the index (`index.lock` exists).
    """
    handle = GitFile(str(path), "wb")
    try:
        handle.write(encode_index(entries))
        handle.close()
    except BaseException:
        handle.abort()
        raise


def encode_index(entries: Mapping[bytes, IndexEntry]) -> bytes:
    """The bytes of an index file holding `entries` (see `write_index`)."""
    if any(entry.extended_flags for entry in entries.values()):
        return _encode_with_dulwich(entries)
    parts = [_HEADER.pack(b"DIRC", 2, len(entries))]
    pack = _ENTRY.pack
    for name in sorted(entries):
        entry = entries[name]
        ctime, mtime = _time(entry.ctime), _time(entry.mtime)
        length = len(name)
        flags = min(length, _NAME_MASK) | (entry.flags & _ASSUME_VALID)
        parts.append(
            pack(
                ctime[0] & _U32,
                ctime[1] & _U32,
                mtime[0] & _U32,
                mtime[1] & _U32,
                entry.dev & _U32,
                entry.ino & _U32,
                entry.mode,
                entry.uid & _U32,
                entry.gid & _U32,
                entry.size & _U32,
                unhexlify(entry.sha),
                flags,
            )
        )
        parts.append(name + b"\0" * (((62 + length + 8) & ~7) - 62 - length))
    body = b"".join(parts)
    return body + hashlib.sha1(body).digest()


def _time(value: int | float | tuple[int, int]) -> tuple[int, int]:
    if isinstance(value, tuple):
        return value
    seconds = int(value)
    return seconds, int((value - seconds) * 1_000_000_000)


def _encode_with_dulwich(entries: Mapping[bytes, IndexEntry]) -> bytes:
    buffer = io.BytesIO()
    write_index_dict(buffer, dict(entries), version=3)
    body = buffer.getvalue()
    return body + hashlib.sha1(body).digest()
