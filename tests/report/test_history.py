"""`pmtui history` and `pmtui status` text and JSON, from hand-built store records."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import pytest

from pmtui.report.history import (
    REASON_WIDTH,
    Alive,
    history_json,
    render_history,
    render_status,
    run_phase,
    state_counts,
    status_json,
)
from pmtui.store.db import AttemptRecord, RunRecord, Store, TaskRow

T0 = 1_704_189_600.0
"""2024-01-02 10:00:00 UTC."""

DIRTY = "line one\nline two\x1b[31m red\x1b[0m\ttab\x00nul \x1b]0;title\x07end"


def run(
    run_id: str,
    *,
    plan: str = "plans/oauth.md",
    started: float = T0,
    finished: float | None = None,
    status: str = "ok",
    pid: int = 4242,
    slots: int = 4,
) -> RunRecord:
    return RunRecord(run_id, plan, started, finished, status, slots, pid, "host")


def task(run_id: str, task_id: str, state: str, *, reason: str = "", attempts: int = 1) -> TaskRow:
    return TaskRow(run_id, task_id, f"Task {task_id}", state, reason, attempts, "hash")


def attempt(
    run_id: str,
    task_id: str,
    number: int,
    started: float,
    ended: float | None,
    *,
    peak_rss: int | None = None,
    exit_code: int | None = 0,
    reason: str = "",
) -> AttemptRecord:
    return AttemptRecord(
        run_id, task_id, number, started, ended, exit_code, reason, peak_rss, 100, started
    )


def tasks_of(*rows: TaskRow) -> dict[str, TaskRow]:
    return {row.task_id: row for row in rows}


def alive_for(*run_ids: str) -> Alive:
    return lambda record: record.id in run_ids


def never_alive(_: RunRecord) -> bool:
    return False


def test_empty_history_for_a_plan_says_how_to_start_one() -> None:
    text = render_history([], {}, now=T0, plan="plans/oauth.md", alive=never_alive)
    assert text == "no runs yet for plans/oauth.md; start one with: pmtui run plans/oauth.md"


def test_empty_history_of_all_plans_is_one_line() -> None:
    text = render_history([], {}, now=T0, plan=None, alive=never_alive)
    assert text == "no runs yet; start one with: pmtui run PLAN"


def test_empty_history_quotes_a_plan_path_with_spaces() -> None:
    text = render_history([], {}, now=T0, plan="my plans/x.md", alive=never_alive)
    assert text.endswith("pmtui run 'my plans/x.md'")


def test_finished_run_shows_start_duration_status_and_counts() -> None:
    record = run("r1", finished=T0 + 303, status="failed")
    tasks = {
        "r1": tasks_of(
            task("r1", "1.1", "done"),
            task("r1", "1.2", "done"),
            task("r1", "2.1", "failed"),
            task("r1", "3.1", "skipped", attempts=0),
        )
    }
    text = render_history(
        [record], tasks, now=T0 + 999, plan="plans/oauth.md", alive=never_alive, tz=UTC
    )
    assert " ".join(text.split()) == (
        "r1 2024-01-02 10:00 5m3s failed 4 tasks: 2 done, 1 failed, 1 skipped"
    )


def test_running_run_names_its_pid_and_time_so_far() -> None:
    record = run("r1", pid=777)
    text = render_history([record], {}, now=T0 + 62, plan="p.md", alive=alive_for("r1"), tz=UTC)
    assert "running (pid 777)" in text
    assert "1m2s so far" in text
    assert "resume" not in text


def test_interrupted_run_says_how_to_resume() -> None:
    record = run("r1")
    tasks = {"r1": tasks_of(task("r1", "1.1", "done"), task("r1", "1.2", "running"))}
    text = render_history([record], tasks, now=T0 + 62, plan="plans/oauth.md", alive=never_alive)
    assert "unfinished" in text
    assert "interrupted" in text
    assert text.endswith("— resume with: pmtui run plans/oauth.md --resume")
    assert "\n" not in text


def test_only_the_newest_unfinished_run_of_a_plan_gets_the_resume_hint() -> None:
    runs = [
        run("old", started=T0),
        run("new", started=T0 + 100),
        run("other", plan="b.md", started=T0 + 50),
    ]
    lines = render_history(runs, {}, now=T0 + 200, plan=None, alive=never_alive).splitlines()
    assert [line.split()[0] for line in lines] == ["new", "other", "old"]
    assert "--resume" in lines[0]
    assert "pmtui run b.md --resume" in lines[1]
    assert "--resume" not in lines[2]
    assert "interrupted" in lines[2]


def test_newest_run_first_whatever_order_they_come_in() -> None:
    runs = [run("a", started=T0), run("c", started=T0 + 20), run("b", started=T0 + 10)]
    finished = [run(r.id, started=r.started_at, finished=r.started_at + 1) for r in runs]
    lines = render_history(finished, {}, now=T0, plan="plans/oauth.md", alive=never_alive)
    assert [line.split()[0] for line in lines.splitlines()] == ["c", "b", "a"]


def test_history_of_one_plan_leaves_the_plan_out_and_of_all_plans_names_it() -> None:
    runs = [run("r1", plan="alpha.md", finished=T0 + 1), run("r2", plan="beta.md", finished=T0 + 2)]
    one = render_history(runs[:1], {}, now=T0, plan="alpha.md", alive=never_alive)
    assert "alpha.md" not in one
    both = render_history(runs, {}, now=T0, plan=None, alive=never_alive)
    assert "alpha.md" in both and "beta.md" in both


def test_history_columns_line_up() -> None:
    runs = [
        run("r1", finished=T0 + 5, status="ok"),
        run("r2-longer-id", started=T0 - 10, finished=T0 + 5000, status="aborted"),
    ]
    lines = render_history(runs, {}, now=T0, plan=None, alive=never_alive, tz=UTC).splitlines()
    assert lines[0].index("2024-") == lines[1].index("2024-")


def test_alive_is_not_asked_about_a_finished_run() -> None:
    def alive(_: RunRecord) -> bool:
        raise AssertionError("asked")

    render_history([run("r1", finished=T0 + 1)], {}, now=T0, plan=None, alive=alive)
    status_json(run("r1", finished=T0 + 1), {}, [], now=T0, alive=alive)


def test_run_phase() -> None:
    assert run_phase(run("r", finished=T0), never_alive) == "finished"
    assert run_phase(run("r"), alive_for("r")) == "running"
    assert run_phase(run("r"), never_alive) == "interrupted"


def test_state_counts_list_outcomes_first_and_unknown_states_last() -> None:
    rows = [
        task("r", "a", "pending"),
        task("r", "b", "mystery"),
        task("r", "c", "done"),
        task("r", "d", "pending"),
    ]
    assert list(state_counts(rows).items()) == [("done", 1), ("pending", 2), ("mystery", 1)]


def status_fixture() -> tuple[RunRecord, dict[str, TaskRow], list[AttemptRecord]]:
    record = run("r1", slots=3)
    tasks = tasks_of(
        task("r1", "1.1", "done"),
        task("r1", "2.1", "running", attempts=2),
        task("r1", "3.1", "pending", attempts=0),
        task("r1", "2.2", "failed", reason=DIRTY + " " + "x" * 200, attempts=1),
    )
    attempts = [
        attempt("r1", "1.1", 1, T0, T0 + 27.7, peak_rss=123_400_000),
        attempt("r1", "2.1", 1, T0 + 30, T0 + 40, exit_code=1, peak_rss=5_500_000),
        attempt("r1", "2.1", 2, T0 + 50, None),
        attempt("r1", "2.2", 1, T0 + 30, T0 + 35, exit_code=2),
    ]
    return record, tasks, attempts


def test_status_of_a_running_run_shows_header_rows_and_counts() -> None:
    record, tasks, attempts = status_fixture()
    text = render_status(record, tasks, attempts, now=T0 + 112, alive=alive_for("r1"), tz=UTC)
    lines = text.splitlines()
    assert lines[0].split() == ["run", "r1"]
    assert lines[1].split() == ["plan", "plans/oauth.md"]
    assert lines[2].split() == ["started", "2024-01-02", "10:00"]
    assert lines[3].split() == ["status", "running", "(pid", "4242)", "for", "1m52s"]
    assert lines[4].split() == ["slots", "3"]
    rows = {line.split()[0]: line for line in lines[7:11]}
    assert rows["1.1"].split() == ["1.1", "done", "1", "27.7s", "123MB"]
    assert "running for 1m2s" in rows["2.1"]
    assert rows["2.1"].split()[:3] == ["2.1", "running", "2"]
    assert rows["3.1"].split() == ["3.1", "pending", "0", "—", "—"]
    assert lines[-1] == "4 tasks: 1 done, 1 failed, 1 running, 1 pending"
    assert "resume" not in text


def test_status_of_an_interrupted_run_says_how_to_resume() -> None:
    record, tasks, attempts = status_fixture()
    text = render_status(record, tasks, attempts, now=T0 + 112, alive=never_alive)
    assert "interrupted (pid 4242 is gone)" in text
    assert "running for" not in text
    assert "cut off" in text
    assert text.splitlines()[-1] == "resume with: pmtui run plans/oauth.md --resume"


def test_status_of_a_finished_run() -> None:
    record = run("r1", finished=T0 + 90, status="conflict")
    tasks = tasks_of(task("r1", "1.1", "conflict", reason="merge conflict in a.py"))
    attempts = [attempt("r1", "1.1", 1, T0, T0 + 80)]
    text = render_status(record, tasks, attempts, now=T0 + 500, alive=never_alive)
    assert "conflict, took 1m30s" in text
    assert "merge conflict in a.py" in text
    assert "resume" not in text


def test_status_without_tasks() -> None:
    text = render_status(run("r1", finished=T0), {}, [], now=T0, alive=never_alive)
    assert text.splitlines()[-1] == "no tasks"


def test_long_reasons_with_breaks_and_escapes_are_one_clean_shortened_cell() -> None:
    record, tasks, attempts = status_fixture()
    text = render_status(record, tasks, attempts, now=T0 + 112, alive=alive_for("r1"))
    assert "\x1b" not in text and "\x00" not in text and "\t" not in text
    row = next(line for line in text.splitlines() if line.startswith("2.2"))
    reason = row[row.index("line one") :]
    assert reason.startswith("line one line two red tab nul end")
    assert len(reason) == REASON_WIDTH
    assert reason.endswith("…")
    # The JSON keeps the whole reason, as written.
    obj = status_json(record, tasks, attempts, now=T0 + 112, alive=alive_for("r1"))
    assert obj["task_list"][3]["reason"] == tasks["2.2"].reason


def test_dirty_ids_and_plan_paths_cannot_break_lines() -> None:
    record = run("r\n1", plan="a\x1b[2Jb\n.md")
    tasks = {"r\n1": tasks_of(task("r\n1", "t\r\n1", "fa\niled", reason=DIRTY))}
    history = render_history([record], tasks, now=T0, plan=None, alive=never_alive)
    assert len(history.splitlines()) == 1
    assert "\x1b" not in history
    status = render_status(record, tasks["r\n1"], [], now=T0, alive=never_alive)
    assert "\x1b" not in status and "\r" not in status
    assert any(line.split()[:4] == ["t", "1", "fa", "iled"] for line in status.splitlines())


@pytest.mark.parametrize("alive", [never_alive, alive_for("r1")])
def test_ascii_mode_is_pure_ascii(alive: Alive) -> None:
    record, tasks, attempts = status_fixture()
    unicode_task = task("r1", "4.1", "failed", reason="naïve café → ✗ — " + "é" * 100)
    tasks["4.1"] = unicode_task
    texts = [
        render_status(record, tasks, attempts, now=T0 + 5, alive=alive, ascii=True),
        render_history([record], {"r1": tasks}, now=T0 + 5, plan=None, alive=alive, ascii=True),
        render_history([], {}, now=T0, plan="plän.md", alive=alive, ascii=True),
    ]
    for text in texts:
        assert text.isascii()
    assert "..." in texts[0] and "->" in texts[0]


def test_unicode_mode_keeps_glyphs() -> None:
    text = render_history([run("r1")], {}, now=T0, plan="p.md", alive=never_alive)
    assert "— resume with" in text


def test_history_json_is_plain_data() -> None:
    runs = [
        run("done", finished=T0 + 10.12345, status="ok"),
        run("live", started=T0 + 20),
        run("dead", started=T0 + 30, plan="b.md"),
        run("older-dead", started=T0 + 1, plan="b.md"),
    ]
    tasks = {"done": tasks_of(task("done", "1", "done"), task("done", "2", "skipped"))}
    alive = alive_for("live")
    objs = history_json(runs, tasks, now=T0 + 100, alive=alive)
    json.loads(json.dumps(objs))
    by_id = {obj["run_id"]: obj for obj in objs}
    assert [obj["run_id"] for obj in objs] == ["dead", "live", "older-dead", "done"]
    assert by_id["done"]["duration_s"] == 10.123
    assert by_id["done"]["phase"] == "finished"
    assert by_id["done"]["counts"] == {"done": 1, "skipped": 1}
    assert by_id["done"]["tasks"] == 2
    assert by_id["live"]["phase"] == "running"
    assert by_id["live"]["duration_s"] == 80.0
    assert by_id["live"]["resumable"] is False
    assert by_id["dead"]["phase"] == "interrupted"
    assert by_id["dead"]["duration_s"] is None
    assert by_id["dead"]["resumable"] is True
    assert by_id["older-dead"]["resumable"] is False


def test_status_json_is_plain_data() -> None:
    record, tasks, attempts = status_fixture()
    obj = status_json(record, tasks, attempts, now=T0 + 112, alive=alive_for("r1"))
    assert json.loads(json.dumps(obj)) == obj
    assert obj["phase"] == "running"
    assert [item["task"] for item in obj["task_list"]] == ["1.1", "2.1", "3.1", "2.2"]
    first, second, third, _ = obj["task_list"]
    assert first["last_attempt"]["duration_s"] == 27.7
    assert first["last_attempt"]["peak_rss"] == 123_400_000
    assert second["last_attempt"]["number"] == 2
    assert second["last_attempt"]["ended_at"] is None
    assert second["last_attempt"]["duration_s"] == 62.0
    assert third["last_attempt"] is None
    dead = status_json(record, tasks, attempts, now=T0 + 112, alive=never_alive)
    assert dead["task_list"][1]["last_attempt"]["duration_s"] is None
    assert dead["resumable"] is True


def test_non_finite_times_do_not_break_text_or_json() -> None:
    record = run("r1", started=float("nan"), finished=float("inf"))
    text = render_history([record], {}, now=T0, plan=None, alive=never_alive)
    assert "?" in text
    json.dumps(history_json([record], {}, now=T0, alive=never_alive), allow_nan=False)


def test_renderers_agree_with_a_real_store(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        specs = [("1.1", "First", "h1"), ("1.2", "Second", "h2"), ("2.1", "Third", "h3")]
        finished_id = store.new_run("plan.md", specs, 2, T0)
        store.attempt_started(finished_id, "1.1", 1, T0 + 1, 10, T0 + 1)
        store.attempt_ended(finished_id, "1.1", 1, T0 + 31, 0, "", 50_000_000)
        store.set_task_state(finished_id, "1.1", "done", "", 1)
        store.set_task_state(finished_id, "1.2", "failed", "exit 1\nboom", 1)
        store.set_task_state(finished_id, "2.1", "skipped", "dependency 1.2 failed", 0)
        store.finish_run(finished_id, "failed", T0 + 60)
        open_id = store.new_run("plan.md", specs, 2, T0 + 100)
        store.attempt_started(open_id, "1.1", 1, T0 + 101, 11, T0 + 101)
        store.set_task_state(open_id, "1.1", "running", "", 1)

        runs = store.runs("plan.md", 20)
        tasks_by_run = {record.id: store.task_states(record.id) for record in runs}
        last = store.last_unfinished_run("plan.md")
        assert last is not None
        attempts = store.attempts(last.id)

    history = render_history(runs, tasks_by_run, now=T0 + 200, plan="plan.md", alive=never_alive)
    lines = history.splitlines()
    assert lines[0].startswith(open_id)
    assert lines[0].endswith("resume with: pmtui run plan.md --resume")
    assert lines[1].startswith(finished_id)
    assert "1m" in lines[1] and "3 tasks: 1 done, 1 failed, 1 skipped" in lines[1]

    status = render_status(
        last, tasks_by_run[last.id], attempts, now=T0 + 200, alive=lambda _: True
    )
    assert "running for 1m39s" in status
    assert "3 tasks: 1 running, 2 pending" in status
    json.dumps(status_json(last, tasks_by_run[last.id], attempts, now=T0 + 200, alive=never_alive))
    json.dumps(history_json(runs, tasks_by_run, now=T0 + 200, alive=never_alive))
