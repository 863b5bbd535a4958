"""One pmtui at a time per repository (else per plan), docs/design.md §7.

Two pmtuis on one working tree would edit the same files and race on the store. The lock
is `flock` on `.pmtui/lock-<key>`: the kernel drops it when the holder dies, even by
`kill -9`, so a crash never leaves a stale lock to clean up by hand. The file holds the
holder's pid only to name it in the refusal.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
from pathlib import Path

from pmtui.store.db import StoreError, store_dir

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_KEY = 60


class LockHeld(StoreError):
    """Another live pmtui holds the lock; `pid` is None if it had not written it yet."""

    def __init__(self, pid: int | None, path: Path) -> None:
        who = f"another pmtui (pid {pid})" if pid is not None else "another pmtui"
        super().__init__(str(path), f"{who} is running here", "wait for it or stop it")
        self.pid = pid
        self.lock_path = path

    def __str__(self) -> str:
        return f"{self.message}; {self.hint} (lock {self.path})"


def lock_name(key: str) -> str:
    """`lock-<key>` made safe as one file name; a hash keeps distinct keys distinct."""
    safe = _UNSAFE.sub("_", key).strip("._") or "default"
    if safe != key or len(safe) > _MAX_KEY:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        safe = f"{safe[:_MAX_KEY]}-{digest}"
    return f"lock-{safe}"


class RunLock:
    """A held lock; release it with `release()` or by leaving the `with` block."""

    def __init__(self, fd: int, path: Path) -> None:
        """Wrap a locked descriptor; use `RunLock.acquire`."""
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, root: Path, *, key: str) -> RunLock:
        """Take the lock `<root>/.pmtui/lock-<key>` without waiting.

        Raises:
            LockHeld: Another process holds it (its pid is in the message).
            StoreError: The lock file cannot be created (read-only folder).
        """
        path = store_dir(root) / lock_name(key)
        try:
            # Not inherited by agents (os.open's default), or a leftover child would keep it.
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise StoreError(
                str(path),
                f"cannot be created: {error.strerror or error}",
                "run pmtui in a folder you can write to",
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid = _read_pid(fd)
            os.close(fd)
            raise LockHeld(pid, path) from None
        with contextlib.suppress(OSError):  # the pid is only for the message
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd, path)

    @property
    def held(self) -> bool:
        """Whether this object still holds the lock."""
        return self._fd is not None

    def release(self) -> None:
        """Let the next pmtui in; the file stays (unlinking it would race a new holder)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    """The holder's pid as written in the file, or None (not yet written, garbage)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
