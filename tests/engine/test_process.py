"""One attempt as a real process: argv, output lines, log and tail, exit reasons, killing groups.

Every test runs real processes for a short time; timeouts are safety nets only, no test sleeps
to wait for something. Each test kills whatever process group it started when it ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import psutil
import pytest

from pmtui.engine.groups import group_alive, kill_group
from pmtui.engine.process import (
    MAX_LINE,
    TAIL_LINES,
    AttemptResult,
    AttemptSpec,
    StopRequest,
    parse_progress,
    render_argv,
    run_attempt,
)

SAFETY = 20.0  # seconds before a stuck test fails
MiB = 1 << 20


def live_members(pgid: int) -> list[int]:
    """The processes of a group that are not zombies (checked without the code under test)."""
    members = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
        except (OSError, psutil.Error):
            continue
    return members


@pytest.fixture
def groups() -> Iterator[list[int]]:
    """Process groups started by the test; any still there at its end are killed."""
    started: list[int] = []
    yield started
    for pgid in started:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


@pytest.fixture
def spec(tmp_path: Path) -> Any:
    """Builds an AttemptSpec running in `tmp_path`, logging to a not yet existing folder."""

    def build(*argv: str, **fields: Any) -> AttemptSpec:
        log = tmp_path / "logs" / "run-1" / "1.1.log"
        return AttemptSpec(argv=argv, cwd=tmp_path, log_path=log, **fields)

    return build


async def run(spec: AttemptSpec, groups: list[int], **options: Any) -> AttemptResult:
    """Run the attempt under a safety timeout, recording its group for clean-up."""
    with anyio.fail_after(SAFETY):
        return await run_attempt(spec, on_start=groups.append, **options)


def sh(script: str) -> tuple[str, ...]:
    return ("sh", "-c", script)


def python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


# --- argv placeholders ------------------------------------------------------------------


def test_placeholders_are_filled_inside_each_argument() -> None:
    values = {"prompt": "Fix the bug", "task_id": "2.1", "plan": "plan.md", "workdir": "/repo"}
    command = ["agent", "--task={task_id}", "-p", "{prompt}", "{plan}:{task_id}", "-C{workdir}"]
    assert render_argv(command, values) == [
        "agent",
        "--task=2.1",
        "-p",
        "Fix the bug",
        "plan.md:2.1",
        "-C/repo",
    ]


def test_other_braces_and_unknown_placeholders_are_kept() -> None:
    values = {"prompt": "x", "script": "echo hi"}
    command = ['{"model": "big"}', "{unknown}", "${HOME}", "{ prompt }", "{{prompt}}", "{script}"]
    assert render_argv(command, values) == [
        '{"model": "big"}',
        "{unknown}",
        "${HOME}",
        "{ prompt }",
        "{x}",
        "echo hi",
    ]


def test_a_value_holding_a_placeholder_is_not_filled_again() -> None:
    values = {"prompt": "mention {plan} and {task_id}", "plan": "plan.md", "task_id": "1.1"}
    assert render_argv(["{prompt}", "{plan}"], values) == [
        "mention {plan} and {task_id}",
        "plan.md",
    ]


def test_an_argument_over_128_kib_is_refused_with_the_way_out() -> None:
    assert render_argv(["{prompt}"], {"prompt": "x" * (128 * 1024 - 1)})  # the largest that fits
    with pytest.raises(ValueError, match=r"argument 2 .*128 KiB.*\{prompt_file\}.*stdin"):
        render_argv(["agent", "{prompt}"], {"prompt": "é" * (64 * 1024)})  # 128 KiB in UTF-8


# --- progress lines ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("::progress::75 Implementing features", (75.0, "Implementing features")),
        ("::progress::0 Reading the code", (0.0, "Reading the code")),
        ("::progress::100", (100.0, "")),
        ("::progress::12.5 half a step", (12.5, "half a step")),
        ("::progress::.5 a little", (0.5, "a little")),
        ("::progress::40% with a percent sign", (40.0, "with a percent sign")),
        ("::progress:: 30   spaced out  ", (30.0, "spaced out")),
        ("::progress::60 Windows line\r", (60.0, "Windows line")),
        ("::progress::250 over", (100.0, "over")),
        ("::progress::-5 under", (0.0, "under")),
        ("::progress::" + "9" * 400 + " huge", (100.0, "huge")),
    ],
)
def test_progress_lines_are_read(line: str, expected: tuple[float, str]) -> None:
    assert parse_progress(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "",
        "progress 75",
        " ::progress::75 indented",
        "::progress::",
        "::progress::abc",
        "::progress::75abc",
        "::progress::nan",
        "::progress::1e3 exponent",
        "::progress::7.5.3 two dots",
        "::PROGRESS::75 shouting",
        "[1.1] ::progress::75 not at the start",
    ],
)
def test_other_lines_are_not_progress(line: str) -> None:
    assert parse_progress(line) is None


# --- output, exit codes and reasons ------------------------------------------------------


@pytest.mark.anyio
async def test_stdout_and_stderr_lines_arrive_in_order_with_the_exit_code(
    spec: Any, groups: list[int]
) -> None:
    seen: list[str] = []
    attempt = spec(*sh("echo a; echo b >&2; echo c; exit 3"), env={"PMTUI_TASK_ID": "1.1"})
    result = await run(attempt, groups, on_line=seen.append)
    assert seen == ["a", "b", "c"]
    assert result.tail == ("a", "b", "c")
    assert attempt.log_path.read_bytes() == b"a\nb\nc\n"
    assert (result.exit_code, result.signal_name, result.reason) == (3, None, "exit 3")
    assert not result.ok and not result.killed
    assert result.lines == 3
    assert result.pid == result.pgid == groups[0]
    assert abs(result.started_at - time.time()) < SAFETY
    assert 0 < result.duration_s < SAFETY


@pytest.mark.anyio
async def test_a_clean_exit_is_ok_and_sees_the_environment_and_working_directory(
    spec: Any, groups: list[int], tmp_path: Path
) -> None:
    result = await run(
        spec(*sh('echo "$PMTUI_TASK_ID in $(pwd)"'), env={"PMTUI_TASK_ID": "2.3"}), groups
    )
    assert result.ok
    assert (result.exit_code, result.reason) == (0, "exit 0")
    assert result.tail == (f"2.3 in {tmp_path}",)


@pytest.mark.anyio
async def test_a_last_line_without_a_newline_is_delivered(spec: Any, groups: list[int]) -> None:
    seen: list[str] = []
    attempt = spec(*sh("printf 'first\\r\\nlast'"))
    result = await run(attempt, groups, on_line=seen.append)
    assert seen == ["first", "last"]
    assert result.tail == ("first", "last")
    assert attempt.log_path.read_bytes() == b"first\r\nlast"  # the log keeps every byte


@pytest.mark.anyio
async def test_invalid_utf8_is_replaced_in_lines_and_kept_in_the_log(
    spec: Any, groups: list[int]
) -> None:
    attempt = spec(*sh("printf 'caf\\351\\n'"))
    result = await run(attempt, groups)
    assert result.tail == ("caf\ufffd",)
    assert attempt.log_path.read_bytes() == b"caf\xe9\n"


@pytest.mark.anyio
@pytest.mark.parametrize("size", [3 * MiB, 3 * MiB - 7, 2 * MiB + 123])
async def test_a_line_over_1_mib_comes_in_pieces_and_the_log_keeps_it_whole(
    spec: Any, groups: list[int], size: int
) -> None:
    seen: list[str] = []
    code = f"import sys; sys.stdout.write('x' * {size} + '\\nafter\\n')"
    attempt = spec(*python(code))
    result = await run(attempt, groups, on_line=seen.append)
    assert result.ok
    pieces, after = seen[:-1], seen[-1]
    assert after == "after"
    assert all(len(piece) <= MAX_LINE for piece in pieces)
    assert sum(len(piece) for piece in pieces) == size
    assert len(pieces) == -(-size // MAX_LINE)  # no empty piece when the cut meets the newline
    assert attempt.log_path.stat().st_size == size + len("\nafter\n")
    assert all(len(line) <= 4097 for line in result.tail)  # cut in the tail


@pytest.mark.anyio
async def test_memory_stays_bounded_while_a_huge_line_streams_through(
    spec: Any, groups: list[int]
) -> None:
    size = 32 * MiB
    lengths: list[int] = []
    code = f"import sys\nfor _ in range({size // MiB}): sys.stdout.write('y' * {MiB})"
    tracemalloc.start()
    try:
        result = await run(
            spec(*python(code)), groups, on_line=lambda line: lengths.append(len(line))
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.ok
    assert sum(lengths) == size and max(lengths) <= MAX_LINE
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB while reading a {size // MiB} MiB line"


@pytest.mark.anyio
async def test_50000_lines_keep_a_bounded_tail_and_all_reach_the_log(
    spec: Any, groups: list[int]
) -> None:
    count = 50_000
    seen = 0

    def on_line(line: str) -> None:
        nonlocal seen
        seen += 1

    attempt = spec(*python(f"for i in range({count}): print(f'line {{i}}')"))
    result = await run(attempt, groups, on_line=on_line)
    assert seen == result.lines == count
    assert len(result.tail) == TAIL_LINES
    assert result.tail[-1] == f"line {count - 1}"
    assert result.tail[0] == f"line {count - TAIL_LINES}"
    lines = attempt.log_path.read_text().splitlines()
    assert lines == [f"line {i}" for i in range(count)]


@pytest.mark.anyio
async def test_a_death_by_signal_is_named(spec: Any, groups: list[int]) -> None:
    result = await run(spec(*sh("echo before; kill -SEGV $$")), groups)
    assert (result.exit_code, result.signal_name, result.reason) == (
        None,
        "SIGSEGV",
        "signal SIGSEGV",
    )
    assert result.tail == ("before",)
    assert not result.ok and not result.killed


# --- timeouts, stops and killing the group -----------------------------------------------


@pytest.mark.anyio
async def test_a_timeout_kills_the_group_quickly(spec: Any, groups: list[int]) -> None:
    started = time.monotonic()
    result = await run(spec(*sh("sleep 30 & sleep 30"), timeout_s=0.3), groups)
    elapsed = time.monotonic() - started
    assert result.reason == "timeout after 0.3s"
    assert result.killed and not result.ok
    assert result.signal_name == "SIGTERM"
    assert 0.3 <= elapsed < 3
    assert live_members(groups[0]) == []


@pytest.mark.anyio
async def test_a_group_ignoring_sigterm_gets_sigkill_after_the_grace(
    spec: Any, groups: list[int]
) -> None:
    ready = anyio.Event()
    stop = StopRequest()

    def on_line(line: str) -> None:
        if line == "ready":
            stop.set()
            ready.set()

    started = time.monotonic()
    attempt = spec(*sh("trap '' TERM; sleep 30 & echo ready; wait"))
    result = await run(attempt, groups, on_line=on_line, stop=stop, grace_s=0.2)
    elapsed = time.monotonic() - started
    assert ready.is_set()
    assert (result.reason, result.signal_name) == ("stopped", "SIGKILL")
    assert 0.2 <= elapsed < 3
    assert live_members(groups[0]) == []


@pytest.mark.anyio
async def test_a_stop_request_ends_the_attempt_with_its_reason(
    spec: Any, groups: list[int]
) -> None:
    stop = StopRequest()

    def on_line(line: str) -> None:
        if line == "working":
            stop.set("memory 312MB over 256MB")
            stop.set("aborted")  # the first reason wins

    result = await run(spec(*sh("echo working; exec sleep 30")), groups, on_line=on_line, stop=stop)
    assert result.reason == "memory 312MB over 256MB"
    assert result.killed and result.signal_name == "SIGTERM"
    assert result.tail == ("working",)
    assert live_members(groups[0]) == []


@pytest.mark.anyio
async def test_a_stop_requested_before_the_start_starts_nothing(
    spec: Any, groups: list[int]
) -> None:
    stop = StopRequest()
    stop.set()
    result = await run(spec("sleep", "30"), groups, stop=stop)
    assert groups == []
    assert (result.pid, result.exit_code, result.reason, result.killed) == (
        None,
        None,
        "stopped",
        True,
    )


@pytest.mark.anyio
async def test_the_demo_agent_leaves_no_process_of_its_group(spec: Any, groups: list[int]) -> None:
    env = {"PMTUI_DEMO_SPAWN": "2", "PMTUI_DEMO_SECONDS": "0.2", "PMTUI_TASK_ID": "1.1"}
    result = await run(spec(sys.executable, "-m", "pmtui.agents.demo", env=env), groups)
    assert result.ok, result.tail
    helpers = [line for line in result.tail if "started helper process sleep" in line]
    assert len(helpers) == 2
    assert parse_progress(next(line for line in result.tail if line.startswith("::progress::100")))
    assert live_members(groups[0]) == []
    assert not group_alive(groups[0])


@pytest.mark.anyio
async def test_a_process_left_holding_the_output_is_killed_when_the_agent_exits(
    spec: Any, groups: list[int]
) -> None:
    started = time.monotonic()
    result = await run(spec(*sh("sleep 30 & echo bye")), groups)
    assert (result.reason, result.tail) == ("exit 0", ("bye",))
    assert time.monotonic() - started < 3
    assert live_members(groups[0]) == []


@pytest.mark.anyio
async def test_a_process_that_left_the_session_cannot_hold_the_attempt_open(
    spec: Any, groups: list[int]
) -> None:
    code = (
        "import subprocess\n"
        "p = subprocess.Popen(['sleep', '30'], start_new_session=True)\n"
        "print(p.pid, flush=True)\n"
    )
    started = time.monotonic()
    result = await run(spec(*python(code)), groups, grace_s=0.2)
    escaped = int(result.tail[0])
    groups.append(escaped)  # its own group: the fixture kills it
    assert result.reason == "exit 0"
    assert time.monotonic() - started < 3


@pytest.mark.anyio
async def test_a_large_prompt_on_stdin_reaches_the_agent_without_a_deadlock(
    spec: Any, groups: list[int]
) -> None:
    prompt = "".join(f"prompt line {i:05d} " + "z" * 80 + "\n" for i in range(2200))
    assert len(prompt) > 200 * 1024
    attempt = spec("cat", stdin=prompt)
    result = await run(attempt, groups)
    assert result.ok
    assert attempt.log_path.read_text() == prompt
    assert result.tail[-1] == prompt.splitlines()[-1]


@pytest.mark.anyio
async def test_an_agent_that_does_not_read_its_prompt_is_no_error(
    spec: Any, groups: list[int]
) -> None:
    result = await run(spec(*sh("echo ignored"), stdin="p" * (1 << 20)), groups)
    assert (result.reason, result.tail) == ("exit 0", ("ignored",))


@pytest.mark.anyio
async def test_stdin_is_closed_when_there_is_no_prompt(spec: Any, groups: list[int]) -> None:
    result = await run(spec("cat"), groups)  # would wait forever on an open stdin
    assert (result.reason, result.tail) == ("exit 0", ())


@pytest.mark.anyio
async def test_cancelling_the_caller_kills_the_group(spec: Any, groups: list[int]) -> None:
    ready = anyio.Event()
    results: list[AttemptResult] = []

    def on_line(line: str) -> None:
        if line == "ready":
            ready.set()

    async def attempt() -> None:
        results.append(
            await run(spec(*sh("sleep 30 & sleep 30 & echo ready; wait")), groups, on_line=on_line)
        )

    with anyio.fail_after(SAFETY):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(attempt)
            await ready.wait()
            assert len(live_members(groups[0])) == 3
            tasks.cancel_scope.cancel()
    assert results == []
    assert live_members(groups[0]) == []


# --- commands that cannot start -----------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("argv", "cwd", "reason"),
    [
        (("no-such-agent-xyz", "-p", "x"), None, "exit 127: command not found: no-such-agent-xyz"),
        (("./not-executable.sh",), None, "exit 126: permission denied: ./not-executable.sh"),
        (("true",), "missing", "exit 126: cannot use working directory {tmp}/missing: "),
        ((), None, "exit 127: empty command"),
        (("echo", "nul\0byte"), None, "exit 126: cannot run echo: embedded null byte"),
    ],
)
async def test_a_command_that_cannot_start_gives_a_reason_not_an_exception(
    tmp_path: Path,
    groups: list[int],
    argv: tuple[str, ...],
    cwd: str | None,
    reason: str,
) -> None:
    (tmp_path / "not-executable.sh").write_text("echo hi\n")
    attempt = AttemptSpec(
        argv=argv,
        cwd=tmp_path / cwd if cwd else tmp_path,
        log_path=tmp_path / "logs" / "1.1.log",
    )
    result = await run(attempt, groups)
    assert result.reason.startswith(reason.format(tmp=tmp_path)), result.reason
    assert (result.exit_code, result.pid, result.tail, result.killed) == (None, None, (), False)
    assert groups == []


# --- kill_group on its own ----------------------------------------------------------------


@pytest.mark.anyio
async def test_kill_group_ends_a_stopped_group_and_tolerates_a_gone_one(
    groups: list[int],
) -> None:
    child = subprocess.Popen(["sleep", "30"], start_new_session=True)
    groups.append(child.pid)
    os.killpg(child.pid, signal.SIGSTOP)  # as a hard pause does
    with anyio.fail_after(SAFETY):
        assert await kill_group(child.pid, grace_s=SAFETY) == "SIGTERM"
    assert child.wait(timeout=SAFETY) == -signal.SIGTERM
    assert not group_alive(child.pid)
    assert await kill_group(child.pid) is None


@pytest.mark.anyio
async def test_a_flooding_agent_does_not_starve_the_rest_of_the_loop(tmp_path: Path) -> None:
    """Output that is always ready to read must still let keys, redraws and the tick run."""
    turns = 0
    flooded = anyio.Event()

    async def other_work() -> None:
        nonlocal turns
        while not flooded.is_set():
            turns += 1
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(other_work)
        result = await run_attempt(
            AttemptSpec(
                argv=["sh", "-c", "yes a-line-of-output | head -n 200000"],
                cwd=tmp_path,
                log_path=tmp_path / "flood.log",
            )
        )
        flooded.set()
    assert result.ok and result.lines == 200_000
    assert turns > 1_000  # one turn per 64 lines at least; without it, a handful
