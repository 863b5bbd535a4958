"""Live runs with real processes: `run_plan` through `pmtui run PLAN` (headless)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from pmtui.config.defaults import ROLE_TEXTS
from pmtui.engine.events import Event, RunFinished
from pmtui.engine.runner import run_plan
from pmtui.project import load_project
from tests.cli_support import finished, json_events, run, task, write

FAST_RETRY = '[conflicts]\nretry_delay = "0.05s"\n'


def test_a_plan_with_a_dependency_runs_to_exit_0(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        + task("1.1", "First", "echo ::progress::50 half; echo 'log line'; exit 0")
        + task("1.2", "Second", 'test -n "$PMTUI_RUN_ID"', " (depends: 1.1)")
        + task("1.3", "Third", 'test "$PMTUI_TASK_ID" = 1.3', " (depends: 1.1)"),
    )
    code, out, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 0
    events = json_events(out)
    assert events[0]["event"] == "run_started" and events[0]["tasks"] == 3
    assert events[-1]["event"] == "run_finished" and events[-1]["status"] == "ok"
    done = finished(events)
    assert set(done) == {"1.1", "1.2", "1.3"}
    assert {event["status"] for event in done.values()} == {"done"}
    names = [event["event"] + event.get("task", "") for event in events]
    assert names.index("task_finished1.1") < names.index("task_started1.2")
    progress = [event for event in events if event["event"] == "task_progress"]
    assert progress == [
        {
            "event": "task_progress",
            "time": progress[0]["time"],
            "task": "1.1",
            "percent": 50.0,
            "message": "half",
            "estimated": False,
        }
    ]
    assert "done    1.1" in err and "run ok: 3 done" in err
    logs = list((workdir / ".pmtui" / "logs").glob("*/1.1.log"))
    assert len(logs) == 1 and "log line" in logs[0].read_text()


def test_readable_lines_without_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "Only", "exit 0"))
    code, out, _ = run(["run", "plan.md"], capsys)
    assert code == 0
    assert "start   1.1  shell  slot 1  attempt 1" in out
    assert "run ok: 1 done, 0 failed" in out
    assert not out.lstrip().startswith("{")


def test_a_failing_task_is_retried_then_fails_and_skips_its_dependents(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", FAST_RETRY)
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        + task("1.1", "Breaks", 'echo "attempt $PMTUI_ATTEMPT"; exit 3', " (retries: 1)")
        + task("1.2", "After", "exit 0", " (depends: 1.1)"),
    )
    code, out, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 1
    events = json_events(out)
    starts = [event["attempt"] for event in events if event["event"] == "task_started"]
    assert starts == [1, 2]
    retrying = [event for event in events if event["event"] == "task_retrying"]
    assert [(event["attempt"], event["reason"]) for event in retrying] == [(2, "exit 3")]
    done = finished(events)
    assert done["1.1"]["status"] == "failed" and done["1.1"]["exit_code"] == 3
    assert done["1.1"]["attempt"] == 2
    assert done["1.2"]["status"] == "skipped" and done["1.2"]["attempt"] == 0
    assert events[-1]["status"] == "failed"
    assert "FAILED  1.1" in err


def test_a_task_past_its_timeout_is_killed(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", "[conflicts]\nmax_retries = 0\n")
    write(
        workdir / "plan.md", "## Phase 1\n" + task("1.1", "Hangs", "sleep 30", " (timeout: 0.5s)")
    )
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 1
    result = finished(json_events(out))["1.1"]
    assert result["status"] == "failed"
    assert result["reason"].startswith("timeout after ")
    assert result["duration_s"] < 5


def test_the_demo_agent_runs_for_its_estimate(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Pretend (agent: demo) (estimate: 0.3s)\n")
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 0
    events = json_events(out)
    assert finished(events)["1.1"]["status"] == "done"
    assert any(event["event"] == "task_progress" for event in events)


@pytest.mark.anyio
async def test_run_plan_returns_the_run_finished_event(workdir: Path) -> None:
    write(
        workdir / "plan.md",
        "## Phase 1\n" + task("1.1", "Only", "echo hi") + task("1.2", "Quiet", "exit 0"),
    )
    project = load_project(workdir / "plan.md")
    seen: list[Event] = []
    result = await run_plan(
        project, emit=seen.append, workdir=workdir, run_id="r1", log_dir=workdir / "logs"
    )
    assert isinstance(result, RunFinished) and result.status == "ok"
    assert seen[-1] is result
    assert (workdir / "logs" / "1.1.log").read_text() == "hi\n"
    assert not (workdir / "logs" / "1.2.log").exists()  # no output, no log file
    assert not (workdir / "logs" / "1.1.prompt").exists()  # the shell agent does not use it


def test_an_agent_reading_prompt_file_gets_the_prompt(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", '[agents.reader]\ncommand = ["cat", "{prompt_file}"]\n')
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Read me (agent: reader)\n  Body line.\n")
    code, _, _ = run(["run", "plan.md"], capsys)
    assert code == 0
    (log,) = (workdir / ".pmtui" / "logs").glob("*/1.1.log")
    assert log.read_text() == "Read me\n\nBody line."


def test_a_role_runs_as_the_default_agent_with_its_text_before_the_prompt(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "pmtui.toml",
        '[pool]\ndefault_agent = "reader"\n[agents.reader]\ncommand = ["cat", "{prompt_file}"]\n',
    )
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Read me (agent: qa-engineer)\n  Body line.\n")
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 0
    events = json_events(out)
    started = next(event for event in events if event["event"] == "task_started")
    assert started["agent"] == "qa-engineer"
    (log,) = (workdir / ".pmtui" / "logs").glob("*/1.1.log")
    text = log.read_text()
    assert text.startswith(ROLE_TEXTS["qa-engineer"])
    assert text.endswith("Read me\n\nBody line.")


def test_the_demo_agent_never_runs_unless_named(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Pretend (estimate: 0.3s)\n")
    code, out, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 2
    assert out == ""
    assert "task 1.1 has no agent to run it" in err
    assert not (workdir / ".pmtui").exists()


def test_sigint_aborts_with_130_and_leaves_no_process(workdir: Path) -> None:
    write(
        workdir / "plan.md",
        "## Phase 1\n" + task("1.1", "Waits", "echo ::progress::10 pid $$; sleep 30"),
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    with subprocess.Popen(
        [sys.executable, "-m", "pmtui", "run", "plan.md", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as pmtui:
        assert pmtui.stdout is not None
        pid = None
        for line in pmtui.stdout:
            event = json.loads(line)
            if event["event"] == "task_progress":
                pid = int(event["message"].split()[1])
                break
        assert pid is not None and psutil.pid_exists(pid)
        pmtui.send_signal(signal.SIGINT)
        rest = pmtui.stdout.read()
        code = pmtui.wait(timeout=10)
    assert code == 130
    events = [json.loads(line) for line in rest.splitlines()]
    assert events[-1]["event"] == "run_finished" and events[-1]["status"] == "aborted"
    assert finished(events)["1.1"]["status"] == "cancelled"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
