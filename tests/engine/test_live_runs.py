"""Acceptance tests of live runs: real processes, real sqlite (docs/design.md §5, §7, §8).

Nothing here sleeps to wait for something: a pmtui subprocess is followed through its `--json`
lines, an in-process run through `run_plan`'s `emit` callback and anyio events.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import psutil
import pytest

from pmtui.engine.events import Event, RunFinished
from pmtui.engine.runner import RunControl, run_plan
from pmtui.project import load_project
from pmtui.store.db import Store
from tests.cli_support import JsonEvent, finished, json_events, run, task, write
from tests.processes import group_stopped

REPO = Path(__file__).resolve().parents[2]
FAST_RETRY = '[conflicts]\nretry_delay = "0.05s"\n'
DEMO = f"{sys.executable} -m pmtui.agents.demo"
WATCHDOG_S = 30.0
"""A pmtui subprocess still alive after this is killed (the test then fails, never hangs)."""


def starts(events: list[JsonEvent], task_id: str) -> list[int]:
    return [e["attempt"] for e in events if e["event"] == "task_started" and e["task"] == task_id]


def dead(pid: int) -> bool:
    """Gone, or a zombie (it no longer runs; only its parent has not reaped it)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_dead(pid: int, timeout_s: float = 5.0) -> bool:
    """A bounded wait on a condition: a group killed by SIGKILL goes within moments."""
    deadline = time.monotonic() + timeout_s
    while not dead(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def pids_in(text: str, word: str) -> list[int]:
    return [int(match) for match in re.findall(rf"{word} (\d+)", text)]


def only_log(workdir: Path, task_id: str) -> str:
    (log,) = (workdir / ".pmtui" / "logs").glob(f"*/{task_id}.log")
    return log.read_text()


class Pmtui:
    """A `pmtui run ... --json` subprocess whose JSON lines are read as needed."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.stderr_path = cwd / "pmtui-stderr.txt"
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pmtui", *args],
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
            )
        self.events: list[JsonEvent] = []
        self.watchdog = threading.Timer(WATCHDOG_S, self.process.kill)
        self.watchdog.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def until(self, wanted: Callable[[JsonEvent], bool]) -> JsonEvent:
        """The first event read so far that is `wanted`, else read JSON lines until one is."""
        assert self.process.stdout is not None
        for seen in self.events:
            if wanted(seen):
                return seen
        for line in self.process.stdout:
            event: JsonEvent = json.loads(line)
            self.events.append(event)
            if wanted(event):
                return event
        names = [(e["event"], e.get("task")) for e in self.events]
        raise AssertionError(f"pmtui ended without the event; saw {names}")

    def finish(self) -> int:
        """Read the rest of stdout and wait for the exit code."""
        assert self.process.stdout is not None
        self.events.extend(json.loads(line) for line in self.process.stdout)
        return self.process.wait(timeout=WATCHDOG_S)

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def close(self) -> None:
        self.watchdog.cancel()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@contextlib.contextmanager
def pmtui(args: list[str], cwd: Path) -> Iterator[Pmtui]:
    started = Pmtui(args, cwd)
    try:
        yield started
    finally:
        started.close()


def is_event(name: str, task_id: str | None = None) -> Callable[[JsonEvent], bool]:
    return lambda e: e["event"] == name and (task_id is None or e.get("task") == task_id)


# ---------------------------------------------------------------------- attempts and limits


def test_a_task_failing_twice_passes_on_its_third_attempt(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", FAST_RETRY)
    script = 'echo "try $PMTUI_ATTEMPT"; test "$PMTUI_ATTEMPT" -ge 3 || exit 1'
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "Flaky", script, " (retries: 2)"))
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 0
    events = json_events(out)
    assert starts(events, "1.1") == [1, 2, 3]
    result = finished(events)["1.1"]
    assert result["status"] == "done" and result["attempt"] == 3
    log = only_log(workdir, "1.1")
    assert [line for line in log.splitlines() if line.startswith("try ")] == [
        "try 1",
        "try 2",
        "try 3",
    ]
    headers = [line for line in log.splitlines() if line.startswith("==== pmtui: attempt")]
    assert len(headers) == 2
    assert headers[0].startswith("==== pmtui: attempt 2 ")
    assert headers[1].startswith("==== pmtui: attempt 3 ")
    assert log.index("try 1") < log.index(headers[0]) < log.index("try 2")
    assert log.index("try 2") < log.index(headers[1]) < log.index("try 3")


def test_a_hanging_task_is_killed_by_its_timeout_with_its_children(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", "[conflicts]\nmax_retries = 0\n")
    script = 'sleep 60 & echo "kid $!"; echo "me $$"; wait'
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "Hangs", script, " (timeout: 1s)"))
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 1
    result = finished(json_events(out))["1.1"]
    assert result["status"] == "failed"
    assert result["reason"].startswith("timeout after ")
    log = only_log(workdir, "1.1")
    pids = pids_in(log, "kid") + pids_in(log, "me")
    assert len(pids) == 2
    assert all(dead(pid) for pid in pids)


def test_a_task_over_its_memory_limit_is_killed(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "pmtui.toml",
        '[pool]\nmemory_per_agent = "256MB"\n[conflicts]\nmax_retries = 0\n',
    )
    script = f'echo "me $$"; PMTUI_DEMO_MEMORY=400MB PMTUI_DEMO_SECONDS=30 exec {DEMO}'
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "Greedy", script))
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 1
    result = finished(json_events(out))["1.1"]
    assert result["status"] == "failed"
    assert result["reason"].startswith("memory ")
    assert "over 256MB" in result["reason"]
    assert result["duration_s"] < 15
    (pid,) = pids_in(only_log(workdir, "1.1"), "me")
    assert dead(pid)


@pytest.mark.parametrize("how", ["shell", "demo"])
def test_grandchildren_of_a_finished_task_do_not_outlive_pmtui(
    workdir: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    if how == "shell":
        script = 'sleep 300 & echo "kid $!"; sleep 300 & echo "kid $!"; exit 0'
        word = "kid"
    else:
        script = f"PMTUI_DEMO_SPAWN=2 PMTUI_DEMO_SECONDS=0.3 {DEMO}"
        word = r"sleep \(pid"
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "Spawns", script))
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 0
    assert finished(json_events(out))["1.1"]["status"] == "done"
    pids = pids_in(only_log(workdir, "1.1"), word)
    assert len(pids) == 2
    alive = [pid for pid in pids if not dead(pid)]
    assert alive == [], f"processes of the task outlived pmtui: {alive}"


# ---------------------------------------------------------------------- signals and the store


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_aborts_with_130_and_saves_a_resumable_run(
    workdir: Path, signum: signal.Signals
) -> None:
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        + task("1.1", "Waits", 'sleep 60 & echo "::progress::10 pid $$ kid $!"; wait')
        + task("1.2", "After", "exit 0", " (depends: 1.1)"),
    )
    with pmtui(["run", "plan.md", "--json"], workdir) as child:
        progress = child.until(is_event("task_progress", "1.1"))
        pids = [int(word) for word in progress["message"].split() if word.isdigit()]
        assert len(pids) == 2 and not any(dead(pid) for pid in pids)
        child.process.send_signal(signum)
        code = child.finish()
        events = child.events
    assert code == 130
    assert events[-1]["event"] == "run_finished" and events[-1]["status"] == "aborted"
    done = finished(events)
    assert done["1.1"]["status"] == "cancelled"
    assert set(done) == {"1.1", "1.2"}
    assert [pid for pid in pids if not dead(pid)] == []
    with Store.open(workdir) as store:
        (saved,) = store.runs()
        assert saved.status == "aborted"
        assert saved.finished_at is None
        assert store.task_states(saved.id)["1.1"].state == "cancelled"
        assert store.last_unfinished_run(str((workdir / "plan.md").resolve())) == saved
        # Every attempt's end is saved before pmtui exits (not left for a resume to guess).
        (attempt,) = store.attempts(saved.id)
        assert attempt.ended_at is not None and attempt.reason == "aborted"


def test_a_signal_as_soon_as_the_first_task_started_still_aborts_cleanly(workdir: Path) -> None:
    """`task_started` is on stdout: from then on SIGTERM must abort the run (exit 130, state
    saved), not kill pmtui before it handles signals."""
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "Waits", "exec sleep 60"))
    with pmtui(["run", "plan.md", "--json"], workdir) as child:
        child.until(is_event("task_started", "1.1"))
        child.process.send_signal(signal.SIGTERM)
        code = child.finish()
    assert code == 130
    assert child.events[-1]["event"] == "run_finished"
    assert finished(child.events)["1.1"]["status"] == "cancelled"
    with Store.open(workdir) as store:
        (saved,) = store.runs()
        assert saved.status == "aborted"


def wait_store(workdir: Path, ready: Callable[[Store, str], bool]) -> None:
    """Poll the store (a bounded wait) until `ready` holds for the only run in it."""
    deadline = time.monotonic() + 10
    while True:
        with Store.open(workdir) as store:
            runs = store.runs()
            if runs and ready(store, runs[0].id):
                return
        assert time.monotonic() < deadline, "the store never showed the expected state"
        time.sleep(0.02)


def test_kill_9_then_resume_kills_the_leftovers_and_runs_what_is_left(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = workdir / "plan.md"
    long = 'sleep 60 & echo "::progress::10 pid $$ kid $!"; wait'
    write(
        plan,
        "## Phase 1\n"
        + task("1.1", "Quick", "echo one")
        + task("1.2", "Long", long)
        + task("1.3", "Then", "exit 0", " (depends: 1.2)")
        + task("1.9", "Planted", "exit 0", " (depends: 1.2)"),
    )
    with pmtui(["run", "plan.md", "--json"], workdir) as child:
        assert child.until(is_event("task_finished", "1.1"))["status"] == "done"
        progress = child.until(is_event("task_progress", "1.2"))
        pids = [int(word) for word in progress["message"].split() if word.isdigit()]

        def recorded(store: Store, run_id: str) -> bool:
            states = store.task_states(run_id)
            ongoing = store.attempts(run_id, unended_only=True)
            return states["1.1"].state == "done" and any(
                a.task_id == "1.2" and a.pgid is not None for a in ongoing
            )

        wait_store(workdir, recorded)
        child.process.send_signal(signal.SIGKILL)
        assert child.process.wait(timeout=10) == -signal.SIGKILL
    assert len(pids) == 2 and not any(dead(pid) for pid in pids), "orphans live on"
    assert {os.getpgid(pid) for pid in pids} == {pids[0]}  # in the task's own group

    write(
        plan,
        "## Phase 1\n"
        + task("1.1", "Quick", "echo one, edited")
        + task("1.2", "Long", "echo resumed")
        + task("1.3", "Then", "exit 0", " (depends: 1.2)")
        + task("1.4", "New", "exit 0"),
    )
    code, out, err = run(["run", "plan.md", "--resume", "--json"], capsys)
    assert code == 0, err
    events = json_events(out)
    assert events[-1]["event"] == "run_finished" and events[-1]["status"] == "ok"
    done = finished(events)
    assert set(done) == {"1.1", "1.2", "1.3", "1.4"}
    assert {event["status"] for event in done.values()} == {"done"}
    assert starts(events, "1.1") == []
    assert done["1.1"]["attempt"] >= 1
    assert done["1.1"]["reason"] == "done before the resume"
    assert starts(events, "1.2") == [2]
    assert starts(events, "1.4") == [1]
    assert [pid for pid in pids if not wait_dead(pid)] == []
    assert "killed the leftover processes of task 1.2" in err
    assert "task 1.4 is new in the plan" in err
    assert "task 1.1 changed since it was done" in err
    assert "1.9" in err and "dropped" in err
    with Store.open(workdir) as store:
        (saved,) = store.runs()
        assert saved.status == "ok" and saved.finished_at is not None
        assert set(store.task_states(saved.id)) == {"1.1", "1.2", "1.3", "1.4"}
        attempts = store.attempts(saved.id)
        assert sorted((a.task_id, a.number) for a in attempts if a.task_id in ("1.1", "1.2")) == [
            ("1.1", 1),
            ("1.2", 1),
            ("1.2", 2),
        ]
        assert all(a.ended_at is not None for a in attempts)
        (killed,) = [a for a in attempts if (a.task_id, a.number) == ("1.2", 1)]
        assert killed.reason == "aborted: pmtui died"


def test_rerun_forces_a_done_task_of_a_resumed_run(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        + task("1.1", "Quick", "echo one")
        + task("1.2", "Long", 'echo "::progress::10 pid $$"; exec sleep 60'),
    )
    with pmtui(["run", "plan.md", "--json"], workdir) as child:
        child.until(is_event("task_finished", "1.1"))
        child.until(is_event("task_progress", "1.2"))
        child.process.send_signal(signal.SIGTERM)
        assert child.finish() == 130
    write(
        workdir / "plan.md",
        "## Phase 1\n" + task("1.1", "Quick", "echo one") + task("1.2", "Long", "exit 0"),
    )
    code, out, err = run(["run", "plan.md", "--resume", "--rerun", "1.1", "--json"], capsys)
    assert code == 0, err
    events = json_events(out)
    assert starts(events, "1.1") == [2]
    assert starts(events, "1.2") == [2]
    assert {e["status"] for e in finished(events).values()} == {"done"}
    assert "task 1.1 was done; it runs again (--rerun)" in err


def test_a_second_pmtui_in_the_same_folder_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = 'echo "::progress::1 $$"; exec sleep 60'
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "Long", script))
    with pmtui(["run", "plan.md", "--json"], workdir) as first:
        first.until(is_event("task_started", "1.1"))
        pid = int(first.until(is_event("task_progress", "1.1"))["message"])
        code, out, err = run(["run", "plan.md", "--json"], capsys)
        assert code == 2
        assert out == ""
        assert f"pid {first.pid}" in err
        first.process.send_signal(signal.SIGTERM)
        assert first.finish() == 130
    assert wait_dead(pid)


def test_resume_and_rerun_misuse_exit_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "Quick", "exit 0"))
    code, out, err = run(["run", "plan.md", "--resume"], capsys)
    assert code == 2
    assert "no unfinished run" in err and "hint: start a new one: pmtui run plan.md" in err
    assert run(["run", "plan.md"], capsys)[0] == 0
    code, _, err = run(["run", "plan.md", "--resume"], capsys)
    assert code == 2 and "hint:" in err
    code, _, err = run(["run", "plan.md", "--rerun", "1.1"], capsys)
    assert code == 2 and "--rerun only applies to a resumed run" in err
    code, _, err = run(["run", "plan.md", "--resume", "--rerun", "9.9"], capsys)
    assert code == 2 and "no task 9.9" in err and "hint:" in err


# ---------------------------------------------------------------------- JSON lines


def test_json_lines_and_per_task_resources(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", "[pool]\ncpu_per_agent = 20\n[conflicts]\nmax_retries = 0\n")
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        + task("1.1", "Busy", "while :; do :; done", " (timeout: 3s)")
        + task("1.2", "Quick", "echo hi")
        + task("1.3", "Skipped", "exit 0", " (depends: 1.1)"),
    )
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 1
    events = json_events(out)
    assert out.endswith("\n") and len(out.splitlines()) == len(events)
    done = finished(events)
    assert set(done) == {"1.1", "1.2", "1.3"}
    assert done["1.1"]["reason"].startswith("timeout after ")
    assert done["1.3"]["status"] == "skipped" and done["1.3"]["attempt"] == 0
    usage = [u for e in events if e["event"] == "resources" for u in e["tasks"]]
    busy = [u for u in usage if u["task"] == "1.1"]
    assert len(busy) >= 2
    assert all(u["rss"] > 0 for u in busy)
    assert any(u["over_cpu"] is True and u["cpu_percent"] > 20 for u in busy)


def test_a_silent_task_gets_an_estimated_bar(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "plan.md", "## Phase 1\n" + task("1.1", "Silent", "sleep 3", " (estimate: 1.5s)")
    )
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 0
    progress = [e for e in json_events(out) if e["event"] == "task_progress"]
    assert progress, "no estimated bar"
    assert all(e["estimated"] is True and e["task"] == "1.1" for e in progress)
    percents = [e["percent"] for e in progress]
    assert percents == sorted(percents)
    assert max(percents) <= 99
    assert percents[-1] == 99  # past its estimate the bar stops short of 100


# ---------------------------------------------------------------------- RunControl in-process


class Live:
    """`run_plan` in a task group, its events collected and awaited."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.events: list[Event] = []
        self.changed = anyio.Event()
        self.control = RunControl()
        self.result: RunFinished | None = None

    def emit(self, event: Event) -> None:
        self.events.append(event)
        self.changed.set()
        self.changed = anyio.Event()

    def named(self, name: str, task_id: str | None = None) -> list[Any]:
        return [
            e
            for e in self.events
            if e.name == name and (task_id is None or getattr(e, "task", None) == task_id)
        ]

    async def until(self, wanted: Callable[[], Any]) -> Any:
        while not (found := wanted()):
            await self.changed.wait()
        return found

    async def start(self, tasks: anyio.abc.TaskGroup) -> None:
        project = load_project(self.workdir / "plan.md")
        assert project.ok

        async def go() -> None:
            self.result = await run_plan(
                project,
                emit=self.emit,
                workdir=self.workdir,
                run_id="r1",
                log_dir=self.workdir / "logs",
                tick_s=0.2,
                control=self.control,
            )
            self.changed.set()

        tasks.start_soon(go)
        await self.until(lambda: self.named("run_started"))

    async def finish(self) -> RunFinished:
        await self.until(lambda: self.result)
        assert self.result is not None
        return self.result

    def pid_of(self, task_id: str) -> int:
        (first, *_) = self.named("task_progress", task_id)
        return int(first.message.split()[0])


GATE = "while [ ! -e gate ]; do sleep 0.05; done"
"""A task script that runs until the test creates the file `gate`."""


async def wait_stopped(pgid: int, stopped: bool) -> None:
    """Poll psutil (a bounded wait) until the process group is stopped, or is not."""
    with anyio.fail_after(5):
        while group_stopped(pgid) != stopped:
            await anyio.sleep(0.02)


@pytest.mark.anyio
async def test_soft_pause_starts_nothing_until_resumed(workdir: Path) -> None:
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        + task("1.1", "First", f'echo "::progress::1 $$"; {GATE}')
        + task("1.2", "Second", "exit 0", " (depends: 1.1)"),
    )
    live = Live(workdir)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tasks:
            await live.start(tasks)
            await live.until(lambda: live.named("task_progress", "1.1"))
            live.control.pause(hard=False)
            assert live.control.paused
            pid = live.pid_of("1.1")
            assert psutil.Process(pid).status() != psutil.STATUS_STOPPED  # soft: keeps running
            (workdir / "gate").touch()
            await live.until(lambda: live.named("task_finished", "1.1"))
            ticks = len(live.named("resources"))
            await live.until(lambda: len(live.named("resources")) >= ticks + 3)
            assert live.named("task_started", "1.2") == []
            live.control.resume()
            result = await live.finish()
    names = [e.name for e in live.events]
    assert names.index("paused") < names.index("resumed")
    started = live.named("task_started", "1.2")[0]
    assert live.events.index(live.named("resumed")[0]) < live.events.index(started)
    assert result.status == "ok"


@pytest.mark.anyio
async def test_hard_pause_stops_the_process_and_holds_its_timeout(workdir: Path) -> None:
    write(workdir / "pmtui.toml", "[conflicts]\nmax_retries = 0\n")
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        + task("1.1", "Held", f'echo "::progress::1 $$"; {GATE}; echo woke', " (timeout: 2s)"),
    )
    live = Live(workdir)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tasks:
            await live.start(tasks)
            await live.until(lambda: live.named("task_progress", "1.1"))
            pid = live.pid_of("1.1")
            live.control.pause(hard=True)
            await wait_stopped(pid, True)
            paused_at = live.named("paused")[0].time
            (workdir / "gate").touch()  # the stopped loop cannot see it before the resume
            # Stay paused longer than the whole timeout, by the run's own clock.
            await live.until(
                lambda: [e for e in live.named("resources") if e.time > paused_at + 2.5]
            )
            assert group_stopped(pid)
            assert live.named("task_finished", "1.1") == []
            live.control.resume()
            await wait_stopped(pid, False)
            result = await live.finish()
    (done,) = live.named("task_finished", "1.1")
    assert done.status == "done", done.reason
    assert result.status == "ok"
    assert "woke" in (workdir / "logs" / "1.1.log").read_text()


@pytest.mark.anyio
async def test_skipping_a_running_task_skips_its_dependents(workdir: Path) -> None:
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        + task("1.1", "Long", 'echo "::progress::1 $$"; exec sleep 60')
        + task("1.2", "After", "exit 0", " (depends: 1.1)"),
    )
    live = Live(workdir)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tasks:
            await live.start(tasks)
            await live.until(lambda: live.named("task_progress", "1.1"))
            pid = live.pid_of("1.1")
            live.control.skip("1.1")
            await live.finish()
    (skipped,) = live.named("task_finished", "1.1")
    assert skipped.status == "skipped" and skipped.reason == "skipped by user"
    (after,) = live.named("task_finished", "1.2")
    assert after.status == "skipped" and after.attempt == 0
    assert live.named("task_started", "1.2") == []
    assert dead(pid)


@pytest.mark.anyio
async def test_retrying_a_failed_task_starts_it_again(workdir: Path) -> None:
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        + task("1.1", "Flaky", 'echo "try $PMTUI_ATTEMPT"; test -e fixed', " (retries: 0)")
        + task("1.2", "Open", GATE),
    )
    live = Live(workdir)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tasks:
            await live.start(tasks)
            (failed,) = await live.until(lambda: live.named("task_finished", "1.1"))
            assert failed.status == "failed"
            (workdir / "fixed").touch()
            live.control.retry("1.1")
            await live.until(lambda: len(live.named("task_started", "1.1")) == 2)
            await live.until(lambda: len(live.named("task_finished", "1.1")) == 2)
            (workdir / "gate").touch()
            result = await live.finish()
    # A retry by the user gets a fresh budget; its attempt numbers go on.
    assert [e.attempt for e in live.named("task_started", "1.1")] == [1, 2]
    assert [e.attempt for e in live.named("task_retrying", "1.1")] == [2]
    assert [e.reason for e in live.named("task_retrying", "1.1")] == ["retried by user"]
    log = (workdir / "logs" / "1.1.log").read_text()
    assert log.startswith("try 1\n") and "\n==== pmtui: attempt 2 " in log
    assert log.endswith("try 2\n")
    assert live.named("task_finished", "1.1")[-1].status == "done"
    assert result.status == "ok"


@pytest.mark.anyio
async def test_boost_opens_the_emergency_slots(workdir: Path) -> None:
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "Open", GATE))
    live = Live(workdir)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tasks:
            await live.start(tasks)
            await live.until(lambda: live.named("task_started", "1.1"))
            live.control.boost(True)
            (boost,) = await live.until(lambda: live.named("boost_changed"))
            assert boost.slots == 8
            assert live.control.boosted
            (workdir / "gate").touch()
            result = await live.finish()
    assert result.status == "ok"


@pytest.mark.anyio
async def test_abort_cancels_everything_and_kills_every_process(workdir: Path) -> None:
    long = 'sleep 60 & echo "::progress::1 $$ $!"; wait'
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        + task("1.1", "A", long)
        + task("1.2", "B", long)
        + task("1.3", "C", "exit 0", " (depends: 1.1)"),
    )
    live = Live(workdir)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tasks:
            await live.start(tasks)
            await live.until(
                lambda: live.named("task_progress", "1.1") and live.named("task_progress", "1.2")
            )
            pids = [
                int(word)
                for e in live.named("task_progress")
                for word in e.message.split()
                if word.isdigit()
            ]
            assert len(pids) == 4
            live.control.abort()
            result = await live.finish()
    assert result.status == "aborted"
    statuses = {e.task: e.status for e in live.named("task_finished")}
    assert statuses["1.1"] == statuses["1.2"] == "cancelled"
    assert set(statuses) == {"1.1", "1.2", "1.3"}
    assert [pid for pid in pids if not dead(pid)] == []


# ---------------------------------------------------------------------- the store


def test_the_store_records_attempts_and_feeds_the_estimates(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        + task("1.1", "Sleeps", "sleep 1.3")
        + task("1.2", "Quick", "exit 0", " (depends: 1.1)"),
    )
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 0
    first_run = json_events(out)[0]["run_id"]
    plan_path = str((workdir / "plan.md").resolve())
    with Store.open(workdir) as store:
        (saved,) = store.runs()
        assert saved.id == first_run and saved.status == "ok"
        assert saved.finished_at is not None and saved.plan_path == plan_path
        assert {t.task_id: t.state for t in store.task_states(saved.id).values()} == {
            "1.1": "done",
            "1.2": "done",
        }
        attempts = store.attempts(saved.id)
        assert [a.task_id for a in attempts] == ["1.1", "1.2"]
        for attempt in attempts:
            assert attempt.number == 1 and attempt.exit_code == 0
            assert attempt.pgid is not None and attempt.pgid > 0
            assert attempt.ended_at is not None and attempt.ended_at >= attempt.started_at
        # The creation time that identifies a leftover after a crash: read at the first
        # resource tick, so recorded for an attempt that outlives one.
        (sleeps, _) = attempts
        assert sleeps.create_time is not None
        assert abs(sleeps.create_time - sleeps.started_at) < 1
        assert sleeps.peak_rss is not None and sleeps.peak_rss > 0
        (first,) = store.successful_durations(plan_path, "1.1", 5)
        assert 1.25 <= first < 5
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 0
    with Store.open(workdir) as store:
        assert [r.id for r in store.runs()][1] == first_run
        durations = store.successful_durations(plan_path, "1.1", 5)
        assert len(durations) == 2 and durations[1] == first
