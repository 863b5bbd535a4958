"""The demo agent as the engine runs it: a real process, its progress lines and misbehaviours.

Every test starts `python -m pmtui.agents.demo` for real, in its own process group, and kills
that group when it ends. Timeouts here are safety nets only; no test sleeps to wait.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import psutil
import pytest

from pmtui.agents.demo import Settings, read_settings

AGENT = [sys.executable, "-m", "pmtui.agents.demo"]
PROGRESS = re.compile(r"^::progress::(\d+) (\S.*)$")
SAFETY = 20.0  # seconds before a stuck test kills its agent and fails
MB = 1000**2


def agent_env(**values: str) -> dict[str, str]:
    """The test's environment without any PMTUI_ variable, then a short task 1.2 and `values`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PMTUI_")}
    env.update(PMTUI_TASK_ID="1.2", PMTUI_DEMO_SECONDS="0.2")
    env.update(values)
    return env


def run_agent(*args: str, **values: str) -> subprocess.CompletedProcess[str]:
    """Run the agent to its end; its output must never hold a traceback."""
    result = subprocess.run(
        [*AGENT, *args],
        env=agent_env(**values),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=SAFETY,
        start_new_session=True,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def percents(stdout: str) -> list[int]:
    """The percentages of the progress lines, in order."""
    return [int(m.group(1)) for line in stdout.splitlines() if (m := PROGRESS.match(line))]


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


@contextlib.contextmanager
def started(**values: str) -> Iterator[subprocess.Popen[str]]:
    """The agent started in its own process group; the whole group is killed afterwards."""
    proc = subprocess.Popen(
        AGENT,
        env=agent_env(**values),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        kill_group(proc.pid)
        proc.communicate(timeout=SAFETY)


def read_until(proc: subprocess.Popen[str], done: Callable[[list[str]], bool]) -> list[str]:
    """Read stdout lines until `done(lines)`; a watchdog kills the group if it never comes."""
    assert proc.stdout is not None
    lines: list[str] = []
    watchdog = threading.Timer(SAFETY, kill_group, [proc.pid])
    watchdog.start()
    try:
        for line in proc.stdout:
            lines.append(line)
            if done(lines):
                return lines
    finally:
        watchdog.cancel()
    raise AssertionError(f"the agent ended (or was stuck) before the awaited line: {lines}")


def has(text: str, count: int = 1) -> Callable[[list[str]], bool]:
    return lambda lines: sum(text in line for line in lines) >= count


def stop(proc: subprocess.Popen[str], signum: int) -> tuple[int, float, str, str]:
    """Send `signum` to the agent; return its exit code, seconds to exit and remaining output."""
    sent = time.monotonic()
    proc.send_signal(signum)
    rest, err = proc.communicate(timeout=SAFETY)
    return proc.returncode, time.monotonic() - sent, rest, err


# --- a normal run -------------------------------------------------------------------------


def test_progress_runs_from_0_to_100_and_the_agent_exits_0() -> None:
    result = run_agent("Implement the login page\nwith OAuth", PMTUI_WORKDIR="/srv/repo")
    assert result.returncode == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "task: Implement the login page"
    assert "[1.2] starting attempt 1 in /srv/repo" in lines
    seen = percents(result.stdout)
    assert seen[0] == 0
    assert seen[-1] == 100
    assert seen == sorted(seen)
    assert len(seen) >= 10
    logs = [line for line in lines[1:] if not PROGRESS.match(line)]
    assert logs
    assert all(line.startswith("[1.2] ") for line in logs)
    assert lines[-1].startswith("[1.2] done")


def test_progress_messages_follow_the_phases_of_work() -> None:
    messages = {
        int(m.group(1)): m.group(2)
        for line in run_agent().stdout.splitlines()
        if (m := PROGRESS.match(line))
    }
    assert messages[0] == "Reading the code"
    assert messages[100] == "Done"
    tests_phase = [text for percent, text in messages.items() if 70 <= percent < 90]
    assert all(re.match(r"Running|Checking", text) for text in tests_phase)


def test_the_agent_works_for_about_its_seconds() -> None:
    began = time.monotonic()
    assert run_agent(PMTUI_DEMO_SECONDS="0.6").returncode == 0
    assert 0.6 <= time.monotonic() - began < 0.6 + 5


def test_the_same_task_id_gives_the_same_output_whatever_the_duration() -> None:
    first = run_agent(PMTUI_DEMO_SECONDS="0")
    second = run_agent(PMTUI_DEMO_SECONDS="0.3")
    other = run_agent(PMTUI_DEMO_SECONDS="0", PMTUI_TASK_ID="2.1")
    assert first.stdout == second.stdout
    assert other.stdout.replace("[2.1]", "[1.2]") != first.stdout


# --- told to misbehave --------------------------------------------------------------------


def test_fail_first_fails_attempt_1_on_stderr_and_passes_attempt_2() -> None:
    failed = run_agent(PMTUI_DEMO_FAIL="first", PMTUI_ATTEMPT="1")
    assert failed.returncode == 1
    assert re.fullmatch(r"\[1\.2\] error: .*\(attempt 1\)\n", failed.stderr)
    assert 70 <= max(percents(failed.stdout)) < 100
    passed = run_agent(PMTUI_DEMO_FAIL="first", PMTUI_ATTEMPT="2")
    assert (passed.returncode, passed.stderr) == (0, "")
    assert percents(passed.stdout)[-1] == 100


@pytest.mark.parametrize(("attempt", "code"), [("1", 1), ("2", 1), ("3", 0), ("4", 0)])
def test_fail_until_n_fails_while_the_attempt_is_at_most_n(attempt: str, code: int) -> None:
    assert run_agent(PMTUI_DEMO_FAIL="until:2", PMTUI_ATTEMPT=attempt).returncode == code


@pytest.mark.parametrize("attempt", ["1", "7"])
def test_fail_always_exits_with_the_chosen_code(attempt: str) -> None:
    result = run_agent(PMTUI_DEMO_FAIL="always", PMTUI_DEMO_EXIT="3", PMTUI_ATTEMPT=attempt)
    assert result.returncode == 3
    assert "error:" in result.stderr


def test_rate_limit_first_prints_429_on_attempt_1_only() -> None:
    limited = run_agent(PMTUI_DEMO_RATE_LIMIT="first", PMTUI_DEMO_SECONDS="30")
    assert limited.returncode == 1
    assert "HTTP 429 rate limit exceeded" in limited.stderr
    passed = run_agent(PMTUI_DEMO_RATE_LIMIT="first", PMTUI_ATTEMPT="2")
    assert passed.returncode == 0
    assert "429" not in passed.stdout + passed.stderr


def test_hang_never_finishes_and_sigterm_stops_it_promptly_with_143() -> None:
    with started(PMTUI_DEMO_HANG="1") as proc:
        lines = read_until(proc, has("waiting for"))
        assert 50 <= max(percents("".join(lines))) < 100
        code, seconds, rest, _ = stop(proc, signal.SIGTERM)
    assert code == 143
    assert seconds < 2
    assert rest.splitlines()[-1] == "[1.2] stopped"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_work_prints_stopped_and_exits_128_plus_its_number(
    signum: int, code: int
) -> None:
    with started(PMTUI_DEMO_SECONDS="60") as proc:
        read_until(proc, has("::progress::0"))
        returncode, seconds, rest, err = stop(proc, signum)
    assert "Traceback" not in err
    assert returncode == code
    assert seconds < 2
    assert "[1.2] stopped" in rest


def test_memory_is_allocated_and_really_resident() -> None:
    with started(PMTUI_DEMO_MEMORY="50MB", PMTUI_DEMO_SECONDS="60") as proc:
        read_until(proc, has("allocated 50MB"))
        resident = psutil.Process(proc.pid).memory_info().rss
        assert resident >= 50 * MB
        assert stop(proc, signal.SIGTERM)[0] == 143


def alive(pids: list[int]) -> list[int]:
    """The pids that are running (not gone, not a zombie)."""
    running = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.append(pid)
    return running


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="waits on pidfds (Linux)")
def test_spawned_grandchildren_outlive_the_agent_until_its_group_is_killed() -> None:
    with started(PMTUI_DEMO_SPAWN="2", PMTUI_DEMO_SECONDS="0") as proc:
        out, _ = proc.communicate(timeout=SAFETY)
        assert proc.returncode == 0
        pids = [int(pid) for pid in re.findall(r"started helper process sleep \(pid (\d+)\)", out)]
        assert len(pids) == 2
        assert alive(pids) == pids
        assert {os.getpgid(pid) for pid in pids} == {proc.pid}
        exits = select.poll()
        fds = [os.pidfd_open(pid) for pid in pids]
        try:
            for fd in fds:
                exits.register(fd, select.POLLIN)
            os.killpg(proc.pid, signal.SIGKILL)
            ready: set[int] = set()
            while len(ready) < len(fds):
                events = exits.poll(SAFETY * 1000)
                assert events, "a grandchild survived the group kill"
                for fd, _ in events:
                    ready.add(fd)
                    exits.unregister(fd)
        finally:
            for fd in fds:
                os.close(fd)
        assert alive(pids) == []


def test_an_output_flood_prints_every_line_and_still_finishes() -> None:
    result = run_agent(PMTUI_DEMO_LINES="10000", PMTUI_DEMO_SECONDS="0")
    assert result.returncode == 0
    flood = [line for line in result.stdout.splitlines() if "::test_case_" in line]
    assert len(flood) == 10000
    assert len(set(flood)) == 10000
    assert percents(result.stdout)[-1] == 100


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PMTUI_DEMO_SECONDS", "abc"),
        ("PMTUI_DEMO_SECONDS", "-1"),
        ("PMTUI_DEMO_SPEED", "0"),
        ("PMTUI_DEMO_SPEED", "fast"),
        ("PMTUI_DEMO_SPEED", "inf"),
        ("PMTUI_DEMO_FAIL", "sometimes"),
        ("PMTUI_DEMO_FAIL", "until:x"),
        ("PMTUI_DEMO_EXIT", "0"),
        ("PMTUI_DEMO_EXIT", "256"),
        ("PMTUI_DEMO_HANG", "maybe"),
        ("PMTUI_DEMO_MEMORY", "lots"),
        ("PMTUI_DEMO_RATE_LIMIT", "until:2"),
        ("PMTUI_DEMO_SPAWN", "-1"),
        ("PMTUI_DEMO_LINES", "1e3"),
        ("PMTUI_DEMO_LINES", "²"),
        ("PMTUI_ATTEMPT", "0"),
    ],
)
def test_a_bad_value_exits_2_with_one_line_naming_the_variable(name: str, value: str) -> None:
    result = run_agent(**{name: value})
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"pmtui.agents.demo: error: {name}=")
    assert f"(e.g. {name}=" in result.stderr


def test_settings_defaults_and_accepted_spellings() -> None:
    assert read_settings({}, []) == Settings()
    assert Settings().seconds == 2.0
    settings = read_settings(
        {
            "PMTUI_TASK_ID": " 3.1 ",
            "PMTUI_ATTEMPT": "2",
            "PMTUI_DEMO_SECONDS": "1.5m",
            "PMTUI_DEMO_FAIL": "until:3",
            "PMTUI_DEMO_HANG": "0",
            "PMTUI_DEMO_MEMORY": "1GiB",
            "PMTUI_DEMO_RATE_LIMIT": "FIRST",
            "PMTUI_DEMO_SPAWN": "",
        },
        ["", "  Write the docs  \nand more"],
    )
    assert (settings.task_id, settings.attempt, settings.seconds) == ("3.1", 2, 90.0)
    assert (settings.fail_until, settings.rate_limit_until) == (3, 1)
    assert (settings.hang, settings.memory, settings.spawn) == (False, 1024**3, 0)
    assert settings.prompt == "Write the docs"


def test_the_agent_imports_neither_textual_nor_anyio_nor_psutil() -> None:
    script = "import sys, pmtui.agents.demo; print(' '.join(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert not {"textual", "anyio", "psutil"} & set(loaded)


def test_speed_divides_the_seconds() -> None:
    settings = read_settings({"PMTUI_DEMO_SECONDS": "30s", "PMTUI_DEMO_SPEED": "10"}, [])
    assert settings.seconds == pytest.approx(3.0)
