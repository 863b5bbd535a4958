"""Live runs when things around them go wrong: a crash leaving agents behind, a closed
output, a log that cannot be written, a working folder that is not there."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from pmtui.store.db import Store
from tests.cli_support import run, write
from tests.engine.test_live_runs import (
    FAST_RETRY,
    dead,
    finished,
    is_event,
    json_events,
    pmtui,
    task,
    wait_dead,
)

LONG = 'sleep 60 & echo "::progress::10 pid $$ kid $!"; wait'
DAEMON = (
    "setsid sleep 300 >/dev/null 2>&1 & "
    # Wait until it is in its own session (field 6 of /proc/PID/stat), so it really left.
    'while [ "$(cut -d" " -f6 /proc/$!/stat)" = $$ ]; do sleep 0.01; done; '
    'echo "::progress::10 kid $!"'
)


def crash_with_two_agents_running(workdir: Path) -> list[int]:
    """Run a plan whose 1.1 and 1.2 never end, kill -9 pmtui; the pids left running."""
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "One", LONG) + task("1.2", "Two", LONG))
    pids: list[int] = []
    with pmtui(["run", "plan.md", "--json"], workdir) as child:
        for task_id in ("1.1", "1.2"):
            progress = child.until(is_event("task_progress", task_id))
            pids += [int(word) for word in progress["message"].split() if word.isdigit()]
        child.process.send_signal(signal.SIGKILL)
        assert child.process.wait(timeout=10) == -signal.SIGKILL
    assert len(pids) == 4 and not any(dead(pid) for pid in pids), "orphans live on"
    return pids


def test_resume_kills_the_leftovers_of_a_task_removed_from_the_plan(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pids = crash_with_two_agents_running(workdir)
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "One", "exit 0"))
    code, out, err = run(["run", "plan.md", "--resume", "--json"], capsys)
    assert code == 0, err
    assert set(finished(json_events(out))) == {"1.1"}
    assert [pid for pid in pids if not wait_dead(pid)] == []
    assert "killed the leftover processes of task 1.2" in err


def test_a_new_run_after_a_crash_kills_the_dead_runs_agents_first(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pids = crash_with_two_agents_running(workdir)
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "One", "exit 0"))
    code, _, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 0, err
    assert [pid for pid in pids if not wait_dead(pid)] == []
    assert "killed the leftover processes of task 1.1" in err
    with Store.open(workdir) as store:
        dead_run = store.runs()[-1]
        assert all(a.ended_at is not None for a in store.attempts(dead_run.id))


def test_a_closed_output_aborts_the_run_with_its_state_saved(workdir: Path) -> None:
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "Talks", "echo hi; exec sleep 60"))
    with pmtui(["run", "plan.md", "--json"], workdir) as child:
        child.until(is_event("task_started", "1.1"))
        assert child.process.stdout is not None
        child.process.stdout.close()  # `pmtui run --json | head -2`
        code = child.process.wait(timeout=15)
        stderr = child.stderr()
    assert code == 130
    assert "the output was closed" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    with Store.open(workdir) as store:
        (saved,) = store.runs()
        assert saved.status == "aborted"


def test_a_log_that_cannot_be_written_does_not_stop_the_run(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The task puts a file where its run's log folder should be, then prints.
    script = 'rm -rf ".pmtui/logs/$PMTUI_RUN_ID" && touch ".pmtui/logs/$PMTUI_RUN_ID" && echo hi'
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "Spoils", script))
    code, out, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 0, err
    assert finished(json_events(out))["1.1"]["status"] == "done"


def test_a_log_folder_in_the_way_is_refused_before_the_run(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / ".pmtui").mkdir()
    write(workdir / ".pmtui" / "logs", "a file\n")
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "A", "exit 0"))
    code, out, err = run(["run", "plan.md"], capsys)
    assert code == 2
    assert "logs: error: cannot be created" in err and "hint:" in err
    assert out == ""
    with Store.open(workdir) as store:
        assert store.runs() == []


def test_a_missing_working_folder_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", '[pool]\nworkdir = "no/such/folder"\n')
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "A", "exit 0"))
    code, _, err = run(["run", "plan.md"], capsys)
    assert code == 2
    assert f"{workdir}/no/such/folder ([pool] workdir) does not exist" in err
    assert not (workdir / "no").exists()


def test_a_relative_working_folder_starts_at_the_plans_folder(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "plans" / "area").mkdir(parents=True)
    write(workdir / "plans" / "pmtui.toml", '[pool]\nworkdir = "area"\n')
    write(workdir / "plans" / "plan.md", "## Phase 1\n" + task("1.1", "Where", "pwd > here.txt"))
    code, _, err = run(["run", "plans/plan.md"], capsys)
    assert code == 0, err
    assert (workdir / "plans" / "area" / "here.txt").read_text().strip() == str(
        (workdir / "plans" / "area").resolve()
    )


def test_the_store_counts_every_attempt_of_a_task(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A resume numbers attempts on from the saved count.
    write(workdir / "pmtui.toml", FAST_RETRY + "max_retries = 1\n")
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "Flaky", "exit 1"))
    code, _, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 1
    with Store.open(workdir) as store:
        (saved,) = store.runs()
        assert store.task_states(saved.id)["1.1"].attempts == 2


def test_demo_dry_run_json_is_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["demo", "--dry-run", "--json"], capsys)
    assert code == 0
    assert set(json.loads(out)) >= {"makespan_s", "lower_bound_s", "schedule"}


def test_a_descendant_in_a_session_of_its_own_does_not_outlive_its_attempt(
    workdir: Path,
) -> None:
    # `setsid` leaves the attempt's process group, so killing the group misses it: pmtui
    # adopts it (child subreaper) and ends it once its attempt is over, within a tick.
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        + task("1.1", "Daemon", DAEMON)
        + task("1.2", "Later", 'echo "::progress::10 up"; sleep 2.5', " (depends: 1.1)"),
    )
    with pmtui(["run", "plan.md", "--json"], workdir) as child:
        progress = child.until(is_event("task_progress", "1.1"))
        (kid,) = [int(word) for word in progress["message"].split() if word.isdigit()]
        child.until(is_event("task_progress", "1.2"))
        assert wait_dead(kid), "the daemon outlived its attempt while the run went on"
        assert child.finish() == 0
    assert dead(kid)


def test_a_run_ends_every_descendant_that_left_its_group(workdir: Path) -> None:
    write(
        workdir / "plan.md",
        "## Phase 1\n" + task("1.1", "Daemon", DAEMON),
    )
    with pmtui(["run", "plan.md", "--json"], workdir) as child:
        progress = child.until(is_event("task_progress", "1.1"))
        (kid,) = [int(word) for word in progress["message"].split() if word.isdigit()]
        assert child.finish() == 0
    assert dead(kid)
