"""A spawned agent driven from the event loop by file descriptors (Linux: a pidfd).

Spawning is the hot path of short tasks (bench/overhead.py): asyncio's subprocess
transports, its child watcher and anyio's stream wrappers cost as much again as the spawn
itself. Here the output pipe is read when the loop says it is readable and the exit is seen
through a pidfd.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from subprocess import DEVNULL, PIPE, STDOUT
from typing import IO, TYPE_CHECKING

import anyio
import anyio.lowlevel
from anyio.abc import ByteReceiveStream, ByteSendStream

from pmtui.engine.groups import POLL_FIRST_S, POLL_MAX_S

if TYPE_CHECKING:
    from pmtui.engine.process import AttemptSpec


class FdReceive(ByteReceiveStream):
    """Reads a non-blocking pipe fd straight from the event loop (no transport, no thread)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        os.set_blocking(fd, False)

    async def receive(self, max_bytes: int = 65536) -> bytes:
        while True:
            try:
                data = os.read(self.fd, max_bytes)
            except BlockingIOError:
                await anyio.wait_readable(self.fd)
                continue
            if not data:
                raise anyio.EndOfStream
            # An agent that prints without pause keeps the pipe always readable: without a
            # checkpoint here its reader would never yield, and it would starve the loop (the
            # resource tick, the monitor, the keys).
            await anyio.lowlevel.checkpoint()
            return data

    async def aclose(self) -> None:
        return None


class FdSend(ByteSendStream):
    """Writes a non-blocking pipe (the prompt on an agent's stdin); `aclose` closes it, so
    the agent sees the end of its input."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.pipe = pipe
        self.fd = pipe.fileno()
        os.set_blocking(self.fd, False)

    async def send(self, item: bytes) -> None:
        view = memoryview(item)
        while view:
            try:
                written = os.write(self.fd, view)
            except BlockingIOError:
                await anyio.wait_writable(self.fd)
                continue
            except BrokenPipeError:
                raise anyio.BrokenResourceError from None
            view = view[written:]

    async def aclose(self) -> None:
        with contextlib.suppress(OSError):
            self.pipe.close()


class Child:
    """One spawned agent: `subprocess.Popen` driven from the loop by file descriptors.

    Spawning is the hot path of short tasks (bench/overhead.py): asyncio's subprocess
    transports, its child watcher and anyio's stream wrappers cost as much again as the spawn
    itself. Here the output pipe is read when the loop says it is readable and the exit is
    seen through a pidfd, so a short task costs little more than its `fork_exec`.
    """

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        assert popen.stdout is not None
        self.popen = popen
        self.pid = popen.pid
        self.stdout = FdReceive(popen.stdout.fileno())
        self.stdin = FdSend(popen.stdin) if popen.stdin is not None else None
        self._pidfd: int | None = None
        with contextlib.suppress(OSError, AttributeError):
            self._pidfd = os.pidfd_open(popen.pid)

    @classmethod
    def spawn(cls, spec: AttemptSpec) -> Child:
        popen = subprocess.Popen(
            list(spec.argv),
            stdin=DEVNULL if spec.stdin is None else PIPE,
            stdout=PIPE,
            stderr=STDOUT,
            cwd=spec.cwd,
            env={**os.environ, **spec.env},
            start_new_session=True,
        )
        return cls(popen)

    async def wait(self) -> int:
        """Wait for the exit (without reaping others' children); the return code."""
        if self.popen.returncode is not None:
            return self.popen.returncode
        if self._pidfd is not None:
            await anyio.wait_readable(self._pidfd)
            return self.popen.wait()
        delay = POLL_FIRST_S  # no pidfd (old kernel): poll without blocking the loop
        while (code := self.popen.poll()) is None:
            await anyio.sleep(delay)
            delay = min(delay * 2, POLL_MAX_S)
        return code

    @property
    def reaped(self) -> bool:
        """Whether its exit status was collected."""
        return self.popen.returncode is not None

    async def aclose(self) -> None:
        """Reap the process and close its pipes and pidfd."""
        try:
            await self.wait()
        finally:
            self.close()

    def close(self) -> None:
        """Close its pipes and pidfd."""
        for stream in (self.popen.stdout, self.popen.stdin):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if self._pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
            self._pidfd = None
