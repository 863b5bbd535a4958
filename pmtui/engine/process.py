"""One attempt of a task as a real process: spawn it, stream its output, end its whole group.

The process runs in its own session (`start_new_session=True`), so its process group holds
every descendant, orphans included: ending an attempt — timeout, stop request, the caller's
cancellation, or simply the agent's exit — kills the group (SIGTERM, a grace, SIGKILL), and
nothing the agent started outlives it. stdout and stderr share one pipe, so lines keep their
order; they go to the log file byte for byte and, decoded, to a bounded tail and `on_line`.

Never a shell string: argv lists only. No scheduling decisions here: the scheduler makes them.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import anyio
import anyio.lowlevel
from anyio.abc import ByteReceiveStream, ByteSendStream
from anyio.streams.buffered import BufferedByteReceiveStream

from pmtui.config.units import format_duration
from pmtui.engine.child import Child
from pmtui.engine.groups import GRACE_S, KILL_WAIT_S, kill_group

MAX_LINE = 1 << 20
"""Output lines longer than 1 MiB are delivered in pieces of at most this many bytes."""
TAIL_LINES = 200
"""Lines kept in memory per attempt (the log file has them all)."""
YIELD_EVERY_LINES = 64
"""Lines handled in one go before the reader lets the rest of the loop run."""
TAIL_LINE_CHARS = 4096
"""Longer lines are cut in the tail (not in the log), so the tail stays small."""
MAX_ARG_BYTES = 128 * 1024 - 1
"""Linux's MAX_ARG_STRLEN is 128 KiB per argument, its terminating NUL included."""
LOG_HEADER = "==== pmtui:"
"""How pmtui's own lines in a task's log start (each attempt, `[isolation] setup`,
`[merge] check`): the log screen's transcript keeps them, and starts afresh at an attempt."""
ATTEMPT_HEADER = f"{LOG_HEADER} attempt "
"""How the log line before each attempt after the first starts."""
PLACEHOLDERS = ("prompt", "prompt_file", "script", "task_id", "workdir", "plan")
"""The placeholders of an agent's `command` (docs/design.md §3)."""

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_PROGRESS = re.compile(r"::progress::\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+))%?(?:\s+(.*?))?\s*")
_LOG_BUFFER = 1 << 16


def log_header(text: str) -> str:
    """One of pmtui's own log lines: `==== pmtui: TEXT ====`."""
    return f"{LOG_HEADER} {text} ===="


def attempt_header(number: int, task_id: str, stamp: str) -> str:
    """The log line before an attempt after the first."""
    return f"{ATTEMPT_HEADER}{number} of task {task_id}, {stamp} ===="


def render_argv(command: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """Fill the placeholders (`{prompt}`, `{task_id}`, …) inside each argument of a command.

    One pass per argument, so a value that itself contains `{plan}` is kept as written.
    A `{name}` with no value, and every other brace, is left as is.

    Args:
        command: The agent's command, an argv list.
        values: The value of each placeholder, by name without braces.

    Returns:
        The argv to run.

    Raises:
        ValueError: An argument is over Linux's 128 KiB limit per argument.
    """
    argv = []
    for number, item in enumerate(command, start=1):
        text = _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), item)
        size = len(os.fsencode(text))
        if size > MAX_ARG_BYTES:
            raise ValueError(
                f"argument {number} of the command is {size:,} bytes, over the 128 KiB limit of "
                'one argument: pass a long prompt with {prompt_file} or stdin = "prompt"'
            )
        argv.append(text)
    return argv


def parse_progress(line: str) -> tuple[float, str] | None:
    """Read a progress line, `::progress::75 Implementing features`, as (75.0, "Implementing…").

    The percent may have decimals and a `%`; it is clamped to 0–100. The message may be empty.

    Returns:
        The percent and message, or None when the line is not a progress line.
    """
    if not line.startswith("::progress::"):
        return None
    match = _PROGRESS.fullmatch(line)
    if match is None:
        return None
    percent = min(100.0, max(0.0, float(match.group(1))))
    return percent, match.group(2) or ""


@dataclass(frozen=True, slots=True)
class AttemptSpec:
    """What to run for one attempt."""

    argv: Sequence[str]
    """The command, placeholders already filled (`render_argv`)."""
    cwd: Path
    log_path: Path
    """Receives the output byte for byte, appended, from the first byte on (no output, no
    file); its folders are created then."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Added to (or replacing entries of) pmtui's own environment."""
    stdin: str | None = None
    """Text written to the process's stdin, which is then closed; None: stdin is /dev/null."""
    timeout_s: float | None = None
    log_header: str | None = None
    """A line written to the log before the output (e.g. which attempt starts here)."""


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """How an attempt ended."""

    exit_code: int | None
    """None when the process was not started or died of a signal."""
    signal_name: str | None
    """The signal the process died of (`SIGKILL`), if it did."""
    reason: str
    """docs/design.md §5's fixed words: `exit 1`, `signal SIGSEGV`, `timeout after 30s`, `stopped`
    (or the reason given to `StopRequest.set`), `exit 127: command not found: foo`; `exit 0`
    for a success."""
    killed: bool
    """The attempt was ended by its timeout or a stop request."""
    duration_s: float
    tail: tuple[str, ...]
    """The last output lines (at most `TAIL_LINES`)."""
    lines: int
    """How many output lines there were."""
    pid: int | None
    """Also the process group id; None when the process was not started."""
    started_at: float
    """Wall-clock time (`time.time()`) just before the spawn."""

    @property
    def ok(self) -> bool:
        """The process exited 0 on its own."""
        return self.exit_code == 0 and not self.killed

    @property
    def pgid(self) -> int | None:
        """The process group of the attempt: its own session, so the same as `pid`."""
        return self.pid


class StopRequest:
    """Asks a running attempt to end; the first reason given is the result's reason.

    Also holds the attempt's timeout clock, so a hard pause can stop it (`hold_clock`) and
    start it again (`release_clock`): time spent SIGSTOPped does not count. Create it inside
    the event loop.
    """

    def __init__(self) -> None:
        self._event = anyio.Event()
        self.reason = ""
        """Empty until `set`."""
        self._scope: anyio.CancelScope | None = None
        self._held_s: float | None = None

    def set(self, reason: str = "stopped") -> None:
        """Request the stop (e.g. `aborted`, `memory 312MB over 256MB`); later calls do nothing."""
        if not self._event.is_set():
            self.reason = reason
            self._event.set()
            if self._scope is not None:
                self._scope.cancel()

    def is_set(self) -> bool:
        """Whether a stop was requested."""
        return self._event.is_set()

    async def wait(self) -> None:
        """Return once a stop is requested."""
        await self._event.wait()

    def hold_clock(self) -> None:
        """Stop the timeout clock (the attempt's processes were SIGSTOPped)."""
        if self._held_s is None:
            self._held_s = math.inf
            if self._scope is not None:
                self._held_s = self._scope.deadline - anyio.current_time()
                self._scope.deadline = math.inf

    def release_clock(self) -> None:
        """Start the timeout clock again with the time that was left."""
        held, self._held_s = self._held_s, None
        if held is not None and self._scope is not None and math.isfinite(held):
            self._scope.deadline = anyio.current_time() + held

    def _watch(self, scope: anyio.CancelScope) -> None:
        """Let `set` (and the clock methods) act on the scope the attempt waits in."""
        self._scope = scope
        if self.is_set():
            scope.cancel()
        elif self._held_s is not None:
            self._held_s = scope.deadline - anyio.current_time()
            scope.deadline = math.inf


LineHandler = Callable[[str], None]


async def run_attempt(
    spec: AttemptSpec,
    *,
    on_line: LineHandler | None = None,
    on_start: Callable[[int], None] | None = None,
    stop: StopRequest | None = None,
    grace_s: float = GRACE_S,
) -> AttemptResult:
    """Run one attempt to its end; its whole process group is gone when this returns.

    A command that cannot start gives a result (exit code None, reason `exit 127: …` or
    `exit 126: …`), never an exception. Cancelling the caller kills the group before the
    cancellation goes on (shielded, at most `grace_s` plus a second).

    Args:
        spec: What to run.
        on_line: Called with each output line (stdout and stderr merged, in order), decoded
            as UTF-8 with replacement characters, without its line end. A line over
            `MAX_LINE` bytes comes in several calls.
        on_start: Called with the pid (also the process group id) right after the spawn.
        stop: Ends the attempt when set: the group is killed and the reason is the stop's.
        grace_s: Seconds between SIGTERM and SIGKILL.
    """
    started_at = time.time()
    clock = time.monotonic()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    with _Log(spec.log_path, spec.log_header) as log:
        if stop is not None and stop.is_set():
            return _not_started(stop.reason, started_at, clock, killed=True)
        if not spec.argv:
            return _not_started("exit 127: empty command", started_at, clock, killed=False)
        try:
            process = Child.spawn(spec)
        except (OSError, ValueError, subprocess.SubprocessError) as error:
            reason = _spawn_failure(error, spec.argv, spec.cwd)
            return _not_started(reason, started_at, clock, killed=False)
        output = _Output(log, tail, on_line)
        group_ended = False
        try:
            if on_start is not None:
                on_start(process.pid)
            returncode, ended_by = await _supervise(process, spec, output, stop, grace_s)
            group_ended = True
        finally:
            if group_ended and process.reaped:
                process.close()
            else:
                with anyio.CancelScope(shield=True):
                    if not group_ended:
                        await kill_group(process.pid, grace_s)
                    with anyio.move_on_after(grace_s + KILL_WAIT_S):
                        await process.aclose()
    signal_name = _signal_name(-returncode) if returncode < 0 else None
    if ended_by is not None:
        reason = ended_by
    elif signal_name is not None:
        reason = f"signal {signal_name}"
    else:
        reason = f"exit {returncode}"
    return AttemptResult(
        exit_code=returncode if returncode >= 0 else None,
        signal_name=signal_name,
        reason=reason,
        killed=ended_by is not None,
        duration_s=time.monotonic() - clock,
        tail=tuple(tail),
        lines=output.count,
        pid=process.pid,
        started_at=started_at,
    )


async def _supervise(
    process: Child,
    spec: AttemptSpec,
    output: _Output,
    stop: StopRequest | None,
    grace_s: float,
) -> tuple[int, str | None]:
    """Feed stdin, read output, end the group; return the exit status and why it was ended."""
    assert process.stdout is not None
    read_all = anyio.Event()
    ended_by: str | None = None
    async with anyio.create_task_group() as tasks:
        if spec.stdin is not None:
            assert process.stdin is not None
            tasks.start_soon(_feed, process.stdin, spec.stdin.encode("utf-8"))
        tasks.start_soon(output.read, process.stdout, read_all)
        timeout = math.inf if spec.timeout_s is None else spec.timeout_s
        exited = False
        with anyio.move_on_after(timeout) as waiting:
            if stop is not None:
                stop._watch(waiting)
            await process.wait()
            exited = True
        if stop is not None:
            stop._scope = None
        if not exited:
            if stop is not None and stop.is_set():
                ended_by = stop.reason
            else:
                ended_by = f"timeout after {format_duration(timeout)}"
        # The whole group when ended early; what the agent left behind when it exited.
        await kill_group(process.pid, grace_s)
        returncode = await process.wait()
        # The pipe closes once the group is gone, unless something left the session.
        if not read_all.is_set():
            with anyio.move_on_after(grace_s):
                await read_all.wait()
        tasks.cancel_scope.cancel()
    return returncode, ended_by


async def _feed(stdin: ByteSendStream, data: bytes) -> None:
    """Write the prompt and close stdin; an agent that does not read it is no error."""
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        if data:
            await stdin.send(data)
    with contextlib.suppress(OSError):
        await stdin.aclose()


class _Log:
    """The task's log, opened for appending at the first byte of output: creating a file
    costs as much as a short task's whole spawn, and most short tasks print nothing."""

    def __init__(self, path: Path, header: str | None) -> None:
        self.path = path
        self.header = header
        self._file: BinaryIO | None = None
        self.error: OSError | None = None
        """Why the log stopped being written (the output still reaches the tail)."""

    def write(self, data: bytes) -> None:
        if self.error is not None:
            return
        try:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("ab", buffering=_LOG_BUFFER)
                if self.header is not None:
                    self._file.write(self.header.encode("utf-8") + b"\n")
            self._file.write(data)
        except OSError as error:  # disk full, folder gone: the attempt goes on, unlogged
            self.error = error

    def flush(self) -> None:
        if self._file is not None and self.error is None:
            try:
                self._file.flush()
            except OSError as error:
                self.error = error

    def __enter__(self) -> _Log:
        return self

    def __exit__(self, *_: object) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()


class _Output:
    """The output of one attempt: to the log file, the tail and the line handler."""

    def __init__(self, log: _Log, tail: deque[str], on_line: LineHandler | None) -> None:
        self.log = log
        self.tail = tail
        self.on_line = on_line
        self.count = 0

    async def read(self, stdout: ByteReceiveStream, done: anyio.Event) -> None:
        """Read lines until the end of the output, then set `done`."""
        reader = BufferedByteReceiveStream(_FlushingReceive(stdout, self.log))
        continued = False  # the previous piece was cut from a line longer than MAX_LINE
        try:
            while True:
                ended = True
                try:
                    raw = await reader.receive_until(b"\n", MAX_LINE)
                except anyio.DelimiterNotFound:
                    raw = await reader.receive(MAX_LINE)
                    ended = False
                except anyio.IncompleteRead:
                    raw = reader.buffer  # a last line without a newline, or nothing
                    if raw:
                        self.log.write(raw)
                        self.deliver(raw)
                    return
                self.log.write(raw)
                if ended:
                    self.log.write(b"\n")
                if raw or not continued:  # not the bare newline ending a cut line
                    self.deliver(raw)
                continued = not ended
                if self.count % YIELD_EVERY_LINES == 0:
                    # Lines already buffered come without a wait: let the loop breathe
                    # (keys, redraws, the tick) while an agent floods its output.
                    await anyio.lowlevel.checkpoint()
        finally:
            self.log.flush()
            done.set()

    def deliver(self, raw: bytes) -> None:
        """Hand one line on, in pieces of at most MAX_LINE bytes."""
        for start in range(0, max(len(raw), 1), MAX_LINE):
            line = raw[start : start + MAX_LINE].decode("utf-8", "replace")
            if line.endswith("\r"):
                line = line[:-1]
            self.count += 1
            cut = len(line) > TAIL_LINE_CHARS
            self.tail.append(line[:TAIL_LINE_CHARS] + "…" if cut else line)
            if self.on_line is not None:
                self.on_line(line)


class _FlushingReceive(ByteReceiveStream):
    """Flushes the log before each wait for more output: the log is current, writes batched."""

    def __init__(self, stream: ByteReceiveStream, log: _Log) -> None:
        self._stream = stream
        self._log = log

    async def receive(self, max_bytes: int = 65536) -> bytes:
        self._log.flush()
        return await self._stream.receive(max_bytes)

    async def aclose(self) -> None:
        await self._stream.aclose()


def _signal_name(number: int) -> str:
    """`SIGSEGV` for 11; the number itself for a signal without a name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _spawn_failure(error: Exception, argv: Sequence[str], cwd: Path) -> str:
    """The reason of an attempt whose process could not start, in a shell's words."""
    name = _short(argv[0])
    if not isinstance(error, OSError):
        return f"exit 126: cannot run {name}: {error}"
    why = error.strerror or str(error)
    where = error.filename
    if where is not None and os.fspath(where) == os.fspath(cwd) and where != argv[0]:
        return f"exit 126: cannot use working directory {cwd}: {why}"
    if isinstance(error, FileNotFoundError):
        return f"exit 127: command not found: {name}"
    if isinstance(error, PermissionError):
        return f"exit 126: permission denied: {name}"
    return f"exit 126: cannot run {name}: {why}"


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _not_started(reason: str, started_at: float, clock: float, *, killed: bool) -> AttemptResult:
    return AttemptResult(
        exit_code=None,
        signal_name=None,
        reason=reason,
        killed=killed,
        duration_s=time.monotonic() - clock,
        tail=(),
        lines=0,
        pid=None,
        started_at=started_at,
    )
