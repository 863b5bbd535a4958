"""The run store: durable per-change commits, resume lookups, history (docs/design.md §7)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmtui.plan.parser import parse_plan
from pmtui.scheduling.estimates import estimate_task
from pmtui.store.db import DB_NAME, SCHEMA_VERSION, Store, StoreError, new_run_id
from tests.scheduling.helpers import CONFIG

PLAN_PATH = "plans/feature.md"
TASKS = [("1.1", "Write the parser", "h11"), ("1.2", "Test it", "h12")]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path)
    yield opened
    opened.close()


def run_once(
    store: Store,
    start: float,
    seconds: float,
    *,
    task: str = "1.1",
    state: str = "done",
    exit_code: int = 0,
    plan: str = PLAN_PATH,
) -> str:
    """A finished run in which `task` took `seconds` in its one attempt."""
    run_id = store.new_run(plan, TASKS, 5, start)
    store.attempt_started(run_id, task, 1, start, 4242, start - 0.5)
    store.attempt_ended(run_id, task, 1, start + seconds, exit_code, "", 1 << 20)
    store.set_task_state(run_id, task, state, "", 1)
    store.finish_run(run_id, "done" if state == "done" else "failed", start + seconds)
    return run_id


def test_open_creates_the_database_in_wal_mode_with_normal_sync(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        assert store.path == tmp_path / ".pmtui" / DB_NAME
        db = store.connection
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_reopening_keeps_the_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        run_id = store.new_run(PLAN_PATH, TASKS, 5, 1_700_000_000.0)
    with Store.open(tmp_path) as store:
        assert [run.id for run in store.runs()] == [run_id]


def test_a_commit_survives_sigkill_of_the_writer(tmp_path: Path) -> None:
    child = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from pmtui.store.db import Store
        store = Store.open(Path({str(tmp_path)!r}))
        run_id = store.new_run("plan.md", [("1.1", "t", "h")], 5, 1_700_000_000.0)
        store.attempt_started(run_id, "1.1", 1, 1_700_000_001.0, 99, 1.0)
        store.set_task_state(run_id, "1.1", "running", "", 1)
        print(run_id, flush=True)
        os.kill(os.getpid(), 9)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == -9, result.stderr
    run_id = result.stdout.strip()
    with Store.open(tmp_path) as store:
        assert store.task_states(run_id)["1.1"].state == "running"
        unfinished = store.last_unfinished_run("plan.md")
        assert unfinished is not None and unfinished.id == run_id
        [attempt] = store.attempts(run_id, unended_only=True)
        assert (attempt.pgid, attempt.create_time) == (99, 1.0)


def test_new_run_records_pending_tasks_and_the_run(store: Store) -> None:
    run_id = store.new_run(PLAN_PATH, TASKS, 5, 1_700_000_000.0)
    assert run_id.startswith("20231114-221320-")
    run = store.run(run_id)
    assert run is not None
    assert (run.plan_path, run.slots, run.status, run.finished_at) == (
        PLAN_PATH,
        5,
        "running",
        None,
    )
    assert run.pid == os.getpid()
    states = store.task_states(run_id)
    assert list(states) == ["1.1", "1.2"]
    assert states["1.2"].title == "Test it"
    assert (states["1.1"].state, states["1.1"].attempts, states["1.1"].text_hash) == (
        "pending",
        0,
        "h11",
    )


def test_run_ids_sort_by_start_time() -> None:
    times = [1_700_000_000.0, 1_700_000_001.0, 1_700_086_400.0, 1_800_000_000.0]
    ids = [new_run_id(t) for t in times]
    assert ids == sorted(ids)
    assert len({new_run_id(times[0]) for _ in range(50)}) > 1


def test_task_state_and_attempts_are_saved(store: Store) -> None:
    run_id = store.new_run(PLAN_PATH, TASKS, 5, 100.0)
    store.attempt_started(run_id, "1.1", 1, 101.0, 500, 100.5)
    store.set_task_state(run_id, "1.1", "running", "", 1)
    store.attempt_ended(run_id, "1.1", 1, 103.0, None, "timeout after 2s", 123)
    store.set_task_state(run_id, "1.1", "failed", "timeout after 2s", 1)
    row = store.task_states(run_id)["1.1"]
    assert (row.state, row.reason, row.attempts) == ("failed", "timeout after 2s", 1)
    [attempt] = store.attempts(run_id)
    assert (attempt.ended_at, attempt.exit_code, attempt.reason, attempt.peak_rss) == (
        103.0,
        None,
        "timeout after 2s",
        123,
    )
    assert store.attempts(run_id, unended_only=True) == []


def test_unknown_tasks_and_attempts_are_caller_bugs(store: Store) -> None:
    run_id = store.new_run(PLAN_PATH, TASKS, 5, 100.0)
    with pytest.raises(KeyError):
        store.set_task_state(run_id, "9.9", "done", "", 1)
    with pytest.raises(KeyError):
        store.attempt_ended(run_id, "1.1", 1, 1.0, 0, "", None)
    with pytest.raises(sqlite3.IntegrityError):
        store.attempt_started(run_id, "9.9", 1, 1.0, None, None)


def test_resume_bookkeeping_adds_updates_and_drops_tasks(store: Store) -> None:
    run_id = store.new_run(PLAN_PATH, TASKS, 5, 100.0)
    store.attempt_started(run_id, "1.2", 1, 101.0, None, None)
    store.set_task_state(run_id, "1.1", "done", "", 1)
    store.add_tasks(run_id, [("1.1", "Write the parser", "changed"), ("1.3", "New", "h13")])
    store.drop_tasks(run_id, ["1.2"])
    states = store.task_states(run_id)
    assert list(states) == ["1.1", "1.3"]
    assert (states["1.1"].state, states["1.1"].text_hash) == ("done", "changed")
    assert states["1.3"].state == "pending"
    assert store.attempts(run_id) == []  # the dropped task's attempt went with it


def test_last_unfinished_run_is_the_newest_unfinished_of_that_plan(store: Store) -> None:
    assert store.last_unfinished_run(PLAN_PATH) is None
    first = store.new_run(PLAN_PATH, TASKS, 5, 100.0)
    second = store.new_run(PLAN_PATH, TASKS, 5, 200.0)
    store.new_run("other.md", TASKS, 5, 300.0)
    found = store.last_unfinished_run(PLAN_PATH)
    assert found is not None and found.id == second
    store.finish_run(second, "done", 250.0)
    found = store.last_unfinished_run(PLAN_PATH)
    assert found is not None and found.id == first
    store.finish_run(first, "aborted", 260.0)
    assert store.last_unfinished_run(PLAN_PATH) is None
    finished = store.run(first)
    assert finished is not None and (finished.status, finished.finished_at) == ("aborted", 260.0)


def test_history_lists_newest_first_per_plan_or_all(store: Store) -> None:
    a = store.new_run(PLAN_PATH, TASKS, 5, 100.0)
    b = store.new_run("other.md", TASKS, 3, 200.0)
    c = store.new_run(PLAN_PATH, TASKS, 5, 300.0)
    assert [run.id for run in store.runs()] == [c, b, a]
    assert [run.id for run in store.runs(PLAN_PATH)] == [c, a]
    assert [run.id for run in store.runs(None, limit=1)] == [c]
    assert store.runs("missing.md") == []


def test_successful_durations_newest_first_only_done_tasks_of_that_plan(store: Store) -> None:
    for i, seconds in enumerate([10.0, 20.0, 30.0]):
        run_once(store, 1000.0 * (i + 1), seconds)
    run_once(store, 5000.0, 99.0, state="failed", exit_code=1)
    run_once(store, 6000.0, 98.0, plan="other.md")
    run_once(store, 7000.0, 97.0, task="1.2")
    assert list(store.successful_durations(PLAN_PATH, "1.1", 5)) == [30.0, 20.0, 10.0]
    assert list(store.successful_durations(PLAN_PATH, "1.1", 2)) == [30.0, 20.0]


def test_only_the_successful_attempt_of_a_retried_task_counts(store: Store) -> None:
    run_id = store.new_run(PLAN_PATH, TASKS, 5, 0.0)
    store.attempt_started(run_id, "1.1", 1, 0.0, None, None)
    store.attempt_ended(run_id, "1.1", 1, 50.0, 1, "exit 1", None)
    store.attempt_started(run_id, "1.1", 2, 60.0, None, None)
    store.attempt_ended(run_id, "1.1", 2, 64.0, 0, "", None)
    store.set_task_state(run_id, "1.1", "done", "", 2)
    assert list(store.successful_durations(PLAN_PATH, "1.1", 5)) == [4.0]


def test_estimate_is_the_median_of_the_last_five_successful_runs(store: Store) -> None:
    plan, problems = parse_plan(
        "# Plan: E\n\n## Phase 1: W\n- [ ] 1.1 Work (estimate: 90s)\n", PLAN_PATH
    )
    assert problems == []
    task = plan.tasks[0]
    assert estimate_task(task, PLAN_PATH, CONFIG, store) == 90.0  # no history yet
    # Oldest first: the two oldest (1000 s) fall out of the window of 5.
    for i, seconds in enumerate([1000.0, 1000.0, 5.0, 1.0, 4.0, 2.0, 3.0]):
        run_once(store, 10_000.0 * (i + 1), seconds)
    assert estimate_task(task, PLAN_PATH, CONFIG, store) == 3.0
    assert estimate_task(task, "elsewhere.md", CONFIG, store) == 90.0


def test_a_corrupt_database_is_a_store_error_naming_the_file_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / ".pmtui").mkdir()
    db = tmp_path / ".pmtui" / DB_NAME
    db.write_bytes(b"this is not sqlite at all\n" * 200)
    with pytest.raises(StoreError) as caught:
        Store.open(tmp_path)
    message = str(caught.value)
    assert str(db) in message
    assert "move it away" in message
    assert "Traceback" not in message


def test_a_database_from_a_newer_pmtui_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".pmtui").mkdir()
    db = tmp_path / ".pmtui" / DB_NAME
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(StoreError, match="newer pmtui"):
        Store.open(tmp_path)


def test_a_file_where_the_store_folder_goes_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / ".pmtui").write_text("x")
    with pytest.raises(StoreError, match="move it away"):
        Store.open(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_folder_is_a_store_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(StoreError, match="write"):
            Store.open(folder)
    finally:
        folder.chmod(0o755)


def test_a_read_only_database_file_is_a_store_error(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    db = tmp_path / ".pmtui" / DB_NAME
    uri = f"file:{db}?mode=ro"
    raw = sqlite3.connect(uri, uri=True)
    store = Store(raw, db)
    with pytest.raises(StoreError, match=str(db)):
        store.new_run(PLAN_PATH, TASKS, 5, 1.0)
    store.close()


def test_the_store_is_excluded_from_git_exactly_once(tmp_path: Path) -> None:
    info = tmp_path / ".git" / "info"
    info.mkdir(parents=True)
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (info / "exclude").write_text("# git ls-files --others --exclude-from=.git/info/exclude\n*.o")
    sub = tmp_path / "docs"
    sub.mkdir()
    Store.open(tmp_path).close()
    Store.open(tmp_path).close()
    Store.open(sub).close()
    lines = (info / "exclude").read_text().splitlines()
    assert lines.count(".pmtui/") == 1
    assert lines[1] == "*.o"


def test_a_missing_info_folder_is_created(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    Store.open(tmp_path).close()
    assert (tmp_path / ".git" / "info" / "exclude").read_text() == ".pmtui/\n"


def test_a_worktree_git_file_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / ".git").write_text("gitdir: /elsewhere/.git/worktrees/x\n")
    Store.open(tmp_path).close()
    assert (tmp_path / ".git").read_text() == "gitdir: /elsewhere/.git/worktrees/x\n"


def test_outside_a_repository_nothing_is_written_but_the_store(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".pmtui"]
