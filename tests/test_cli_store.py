"""Acceptance tests of the commands that read or write what a run leaves behind:
`pmtui history`, `pmtui status`, `run --update-plan`, `run --junit` and `pmtui demo`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import psutil
import pytest

from tests.cli_support import finished, json_events, run, task, write

REPO = Path(__file__).resolve().parents[1]


def run_id_of(out: str) -> str:
    first = json_events(out)[0]
    assert first["event"] == "run_started"
    return str(first["run_id"])


def aborted_run(workdir: Path) -> tuple[str, int]:
    """Start `pmtui run plan.md --json` in a subprocess, SIGTERM it once its long task runs.

    Returns the run id and the pid of the dead pmtui.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, "-m", "pmtui", "run", "plan.md", "--json"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as child:
        watchdog = threading.Timer(30, child.kill)
        watchdog.start()
        try:
            assert child.stdout is not None
            run_id = None
            for line in child.stdout:
                event = json.loads(line)
                if event["event"] == "run_started":
                    run_id = event["run_id"]
                if event["event"] == "task_started" and event["task"] == "1.2":
                    break
            child.send_signal(signal.SIGTERM)
            child.stdout.read()
            assert child.wait(timeout=30) == 130
        finally:
            watchdog.cancel()
    assert run_id is not None
    return run_id, child.pid


# ---------------------------------------------------------------------- history


def test_history_of_an_empty_folder(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["history"], capsys)
    assert code == 0 and "no runs yet" in out
    code, out, _ = run(["history", "--json"], capsys)
    assert code == 0 and json.loads(out) == []
    assert not (workdir / ".pmtui").exists()  # reading never creates the store


def test_history_lists_runs_newest_first_and_filters_by_plan(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "a.md", "## Phase 1\n" + task("1.1", "A", "exit 0"))
    write(workdir / "b.md", "## Phase 1\n" + task("1.1", "B", "exit 3", " (retries: 0)"))
    code, out, _ = run(["run", "a.md", "--json"], capsys)
    assert code == 0
    first = run_id_of(out)
    code, out, _ = run(["run", "b.md", "--json"], capsys)
    assert code == 1
    second = run_id_of(out)

    code, out, _ = run(["history"], capsys)
    assert code == 0
    assert first in out and second in out
    assert out.index(second) < out.index(first)

    code, out, _ = run(["history", "--json"], capsys)
    assert code == 0
    runs = json.loads(out)
    assert [entry["run_id"] for entry in runs] == [second, first]
    assert [entry["status"] for entry in runs] == ["failed", "ok"]
    assert all(entry["phase"] == "finished" for entry in runs)

    code, out, _ = run(["history", "a.md"], capsys)
    assert code == 0 and first in out and second not in out
    code, out, _ = run(["history", "b.md", "--json"], capsys)
    assert code == 0 and [entry["run_id"] for entry in json.loads(out)] == [second]


# ---------------------------------------------------------------------- status


def test_status_of_an_aborted_run_says_interrupted_and_how_to_resume(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        + task("1.1", "Quick", "exit 0")
        + task("1.2", "Long", "exec sleep 60", " (depends: 1.1)")
        + task("1.3", "Last", "exit 0", " (depends: 1.2)"),
    )
    run_id, pid = aborted_run(workdir)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE

    code, out, _ = run(["status"], capsys)
    assert code == 0
    assert run_id in out
    assert "interrupted" in out
    assert "resume with: pmtui run" in out and "--resume" in out
    assert "plan.md" in out

    code, out, _ = run(["status", "plan.md", "--json"], capsys)
    assert code == 0
    status = json.loads(out)
    assert status["run_id"] == run_id
    assert status["phase"] == "interrupted" and status["resumable"] is True
    assert status["status"] == "aborted" and status["finished_at"] is None
    states = {entry["task"]: entry["state"] for entry in status["task_list"]}
    assert states == {"1.1": "done", "1.2": "cancelled", "1.3": "cancelled"}

    code, out, _ = run(["history"], capsys)
    assert code == 0 and "interrupted" in out and "--resume" in out


def test_status_of_a_finished_run_shows_each_task(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", "[conflicts]\nmax_retries = 0\n")
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        + task("1.1", "Works", "echo fine")
        + task("1.2", "Breaks", "exit 4")
        + task("1.3", "Never", "exit 0", " (depends: 1.2)"),
    )
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 1
    run_id = run_id_of(out)

    code, out, _ = run(["status", "plan.md"], capsys)
    assert code == 0
    assert run_id in out and "interrupted" not in out and "--resume" not in out
    cells = [line.split() for line in out.splitlines()]
    rows = {row[0]: row[1] for row in cells if row and row[0] in ("1.1", "1.2", "1.3")}
    assert rows == {"1.1": "done", "1.2": "failed", "1.3": "skipped"}
    assert "exit 4" in out

    code, out, _ = run(["status", "--json"], capsys)
    assert code == 0
    status = json.loads(out)
    assert status["phase"] == "finished" and status["status"] == "failed"
    assert status["resumable"] is False
    by_task = {entry["task"]: entry for entry in status["task_list"]}
    assert {t: e["state"] for t, e in by_task.items()} == {
        "1.1": "done",
        "1.2": "failed",
        "1.3": "skipped",
    }
    assert by_task["1.2"]["last_attempt"]["exit_code"] == 4
    assert by_task["1.3"]["last_attempt"] is None


# ---------------------------------------------------------------------- --update-plan, --junit


def test_update_plan_ticks_done_tasks_and_keeps_every_other_byte(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", "[conflicts]\nmax_retries = 0\n")
    original = (
        "# Plan: Ünïcode  \n"
        "\n"
        "Some prose with trailing spaces   \n"
        "<!-- a comment - [ ] 9.9 not a task -->\n"
        "## Phase 1\n"
        "- [ ] 1.1 First\t(estimate: 1s)\n"
        "  ```sh\n"
        "  echo '- [ ] 1.1 inside the script'\n"
        "  ```\n"
        "- [x] 1.2 Already done\n"
        "- [ ] 1.3 Breaks\n"
        "  ```sh\n"
        "  exit 1\n"
        "  ```\n"
        "- [ ] 1.4 Skipped (depends: 1.3)\n"
        "  ```sh\n"
        "  exit 0\n"
        "  ```\n"
        "- [ ] 1.5 Last one, no newline at the end\n"
        "  ```sh\n"
        "  true\n"
        "  ```"
    )
    plan = workdir / "plan.md"
    plan.write_bytes(original.encode("utf-8"))
    code, out, err = run(["run", "plan.md", "--update-plan", "--json"], capsys)
    assert code == 1
    done = finished(json_events(out))
    assert done["1.1"]["status"] == "done" and done["1.5"]["status"] == "done"
    expected = original.replace("- [ ] 1.1 First", "- [x] 1.1 First").replace(
        "- [ ] 1.5 Last", "- [x] 1.5 Last"
    )
    assert plan.read_bytes() == expected.encode("utf-8")
    assert "ticked [x] on 2 tasks" in err


def test_junit_report_matches_the_run(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir / "pmtui.toml", "[conflicts]\nmax_retries = 0\n")
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        + task("1.1", "Works", "echo fine")
        + task("1.2", "Breaks", "echo 'the error line'; exit 2")
        + task("1.3", "Never", "exit 0", " (depends: 1.2)")
        + task("1.4", "Also works", "exit 0"),
    )
    report = workdir / "out" / "junit.xml"
    report.parent.mkdir()
    code, out, _ = run(["run", "plan.md", "--json", "--junit", str(report)], capsys)
    assert code == 1
    run_finished = json_events(out)[-1]
    assert run_finished["event"] == "run_finished"
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    cases = suite.findall("testcase")
    assert len(cases) == 4
    assert int(suite.get("tests", "-1")) == 4
    assert int(suite.get("failures", "-1")) == run_finished["failed"] == 1
    assert int(suite.get("skipped", "-1")) == run_finished["skipped"] == 1
    assert int(suite.get("errors", "-1")) == 0
    if root.tag == "testsuites":
        assert root.get("tests") == "4" and root.get("failures") == "1"
    failing = [case for case in cases if case.find("failure") is not None]
    assert len(failing) == 1
    assert "1.2" in (failing[0].get("name", "") + failing[0].get("classname", ""))
    assert "the error line" in ET.tostring(failing[0], encoding="unicode")
    assert len([case for case in cases if case.find("skipped") is not None]) == 1


# ---------------------------------------------------------------------- pmtui demo


def test_demo_runs_the_bundled_plan_live_and_cleans_up(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private_tmp = tmp_path_factory.mktemp("demo-tmp")
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    code, out, err = run(["demo", "--speed", "50", "--json"], capsys)
    assert code == 0, err
    not_json = [line for line in out.splitlines() if not line.startswith("{")]
    events = json_events("\n".join(line for line in out.splitlines() if line.startswith("{")))
    assert events[0]["event"] == "run_started"
    assert events[-1]["event"] == "run_finished" and events[-1]["status"] == "ok"
    done = finished(events)
    assert len(done) == events[0]["tasks"] > 5
    assert {event["status"] for event in done.values()} == {"done"}
    assert list(private_tmp.glob("pmtui-demo-*")) == []
    # docs/design.md §8: with --json, stdout carries only JSON lines (the banner belongs on stderr).
    assert not_json == [], "stdout of `pmtui demo --json` has lines that are not JSON"
