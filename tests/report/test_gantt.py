"""The dry run's text Gantt chart, its numbers and its JSON object, from hand-built forecasts."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmtui.plan.graph import CriticalPath
from pmtui.report.gantt import MARK, dry_run_json, render_dry_run, render_gantt
from pmtui.scheduling.decisions import Outcome, RunFinished, RunStatus
from pmtui.scheduling.forecast import Forecast
from pmtui.scheduling.simulator import PredictedWait, ScheduledAttempt, SimulationResult
from pmtui.scheduling.states import TaskState

WIDTHS = (40, 80, 120, 200)


def attempt(
    task: str,
    slot: int,
    start: float,
    end: float,
    *,
    number: int = 1,
    outcome: Outcome | None = Outcome.SUCCEEDED,
) -> ScheduledAttempt:
    return ScheduledAttempt(task, "demo", slot, number, start, end, outcome)


def make_forecast(
    attempts: list[ScheduledAttempt],
    *,
    waits: tuple[PredictedWait, ...] = (),
    slots: int = 5,
    boost_slots: int = 8,
    path: tuple[tuple[str, ...], float] | None = None,
    states: dict[str, TaskState] | None = None,
    status: RunStatus = RunStatus.OK,
) -> Forecast:
    makespan = max((a.end_s for a in attempts), default=0.0)
    final = states if states is not None else {a.task: TaskState.DONE for a in attempts}
    done = sum(state is TaskState.DONE for state in final.values())
    failed = sum(state is TaskState.FAILED for state in final.values())
    skipped = sum(state is TaskState.SKIPPED for state in final.values())
    run = RunFinished(makespan, status, done, failed, skipped, 0, 0, makespan)
    sequential = sum(a.end_s - a.start_s for a in attempts if a.outcome is Outcome.SUCCEEDED)
    tasks, seconds = path if path is not None else ((), 0.0)
    return Forecast(
        simulation=SimulationResult(tuple(attempts), (), final, waits, run),
        slots=slots,
        boost_slots=boost_slots,
        sequential_s=sequential,
        critical_path=CriticalPath(tasks, seconds),
    )


FEATURE = make_forecast(
    [
        attempt("1.1", 1, 0, 30),
        attempt("1.2", 2, 0, 45),
        attempt("2.1", 1, 30, 150, outcome=Outcome.FAILED),
        attempt("3.1", 2, 45, 90),
        attempt("2.1", 1, 152, 300, number=2),
        attempt("4.1", 6, 300, 420),
        attempt("4.2", 1, 420, 480),
    ],
    path=(("1.1", "2.1", "4.1", "4.2"), 390.0),
)


def chart_rows(chart: str) -> list[str]:
    """The slot rows: every line above the axis."""
    rows = []
    for line in chart.splitlines():
        if "└" in line:
            break
        rows.append(line)
    return rows


def long_forecast() -> Forecast:
    """300 tasks on 5 slots over about 200 hours, ids of every length."""
    attempts = []
    for index in range(300):
        slot = index % 5 + 1
        start = (index // 5) * 12_000.0
        attempts.append(attempt(f"t-{index}-{'x' * (index % 13)}", slot, start, start + 11_000))
    return make_forecast(attempts, path=((), 100_000.0))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["feature", "long"])
def test_no_line_of_the_chart_is_wider_than_asked(name: str, width: int) -> None:
    forecast = FEATURE if name == "feature" else long_forecast()
    chart = render_gantt(forecast, width)
    assert max(len(line) for line in chart.splitlines()) <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_one_row_per_slot_used_boost_slots_included(width: int) -> None:
    rows = chart_rows(render_gantt(FEATURE, width))
    assert [row.split("│")[0].strip() for row in rows] == ["slot 1", "slot 2", "boost 6"]


def test_unused_slots_get_no_row_and_used_ones_keep_their_number() -> None:
    forecast = make_forecast([attempt("a1", 3, 0, 10), attempt("b1", 1, 0, 5)])
    rows = chart_rows(render_gantt(forecast, 80))
    assert [row.split("│")[0].strip() for row in rows] == ["slot 1", "slot 3"]


@pytest.mark.parametrize("width", (80, 120, 200))
def test_every_task_id_is_on_its_slots_row(width: int) -> None:
    rows = chart_rows(render_gantt(FEATURE, width))
    assert "1.1" in rows[0] and "2.1" in rows[0] and "4.2" in rows[0]
    assert "1.2" in rows[1] and "3.1" in rows[1]
    assert "4.1" in rows[2]


def test_bars_sit_at_their_times_on_the_axis() -> None:
    forecast = make_forecast([attempt("a1", 1, 0, 50), attempt("b1", 1, 50, 100)])
    chart = render_gantt(forecast, 8 + 100)  # "slot 1 │" + 100 columns: one per second
    row = chart_rows(chart)[0]
    assert row.index("a1") == 8
    assert row.index("b1") == 8 + 50


def test_the_axis_has_ticks_labelled_as_durations() -> None:
    chart = render_gantt(FEATURE, 120)
    lines = chart.splitlines()
    axis = next(index for index, line in enumerate(lines) if "└" in line)
    assert "┬" in lines[axis]
    labels = lines[axis + 1].split()
    assert labels[0] == "0s"
    assert "1m" in labels and "2m" in labels
    # Each label starts under its tick.
    for label in labels:
        assert lines[axis][lines[axis + 1].index(label)] == "┬"


def test_a_long_makespan_gets_hour_ticks_and_fits() -> None:
    chart = render_gantt(long_forecast(), 80)
    labels = chart.splitlines()[len(chart_rows(chart)) + 1].split()
    assert labels[0] == "0s"
    assert all(label.endswith("h") or label == "0s" for label in labels)
    assert len(labels) >= 3


def test_a_zero_length_task_still_shows_as_one_column() -> None:
    forecast = make_forecast(
        [attempt("a1", 1, 0, 100), attempt("zero", 2, 40, 40), attempt("b1", 2, 40, 100)]
    )
    row = chart_rows(render_gantt(forecast, 60))[1]
    assert MARK in row or "z" in row
    assert "b1" in row


def test_zero_length_tasks_back_to_back_each_keep_a_column() -> None:
    forecast = make_forecast(
        [attempt("a1", 1, 0, 100)] + [attempt(f"z{n}", 2, 50, 50) for n in range(3)]
    )
    row = chart_rows(render_gantt(forecast, 60))[1]
    assert row.count(MARK) == 3


def test_a_bar_too_short_for_its_id_is_cut_with_an_ellipsis() -> None:
    forecast = make_forecast([attempt("long-task-id", 1, 0, 10), attempt("b1", 1, 10, 100)])
    row = chart_rows(render_gantt(forecast, 48))[0]
    assert "│lon…b1━" in row
    assert "long-task-id" not in row


def test_failed_attempts_are_marked_and_retries_numbered() -> None:
    chart = render_gantt(FEATURE, 120)
    assert "2.1xxx" in chart
    assert "2.1#2━" in chart
    assert "x failed or stopped" in chart
    assert "#n the n-th attempt" in chart


def test_a_stopped_attempt_is_marked_like_a_failed_one() -> None:
    forecast = make_forecast([attempt("a1", 1, 0, 100, outcome=None)])
    assert "a1xxx" in render_gantt(forecast, 60)


def test_the_chart_is_the_same_every_time() -> None:
    assert render_gantt(long_forecast(), 100) == render_gantt(long_forecast(), 100)


def test_a_plan_with_nothing_left_to_run_says_so() -> None:
    forecast = make_forecast([])
    assert "no task to run" in render_gantt(forecast, 80)
    assert "makespan      0s" in render_dry_run(forecast, 80, "plan.md")


@given(
    width=st.integers(40, 250),
    spans=st.lists(
        st.tuples(
            st.integers(1, 12),
            st.floats(0, 1e6),
            st.floats(0, 1e5),
            st.text("ab.-1", min_size=1, max_size=20),
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_any_schedule_fits_any_width_with_a_row_per_slot(
    width: int, spans: list[tuple[int, float, float, str]]
) -> None:
    attempts = [attempt(task, slot, start, start + length) for slot, start, length, task in spans]
    chart = render_gantt(make_forecast(attempts), width)
    assert max(len(line) for line in chart.splitlines()) <= width
    assert len(chart_rows(chart)) == len({slot for slot, *_ in spans})


def test_the_dry_run_text_names_the_bound_that_binds() -> None:
    text = render_dry_run(FEATURE, 100, "feature.md")
    assert text.startswith("feature.md: dry run")
    assert "makespan      8m" in text
    assert "lower bound   6m30s = the critical path, above work / slots (" in text
    assert "vs bound      1.23× the lower bound" in text
    assert "speedup" in text and "× over sequential" in text
    assert "slots         5 (at most 2 busy at once)" in text
    assert "boost slots   6 of 8, used by 4.1" in text

    wide = make_forecast([attempt(f"t{n}", n % 2 + 1, 0, 100) for n in range(2)], slots=1)
    text = render_dry_run(wide, 100, "p.md")
    assert "lower bound   3m20s = work / slots (3m20s / 1), above the critical path = 0s" in text
    assert "slots         1 (at most 2 busy at once, boost included)" in text


def test_no_predicted_waits_is_said_plainly() -> None:
    text = render_dry_run(make_forecast([attempt("a1", 1, 0, 10)]), 80, "p.md")
    assert "no predicted waits" in text


def test_predicted_waits_are_grouped_by_kind_longest_first() -> None:
    waits = (
        PredictedWait("2.3", "file lock: src/a.py is held by 2.1", 30, 150),
        PredictedWait("2.4", "file lock: src/b.py is held by 2.2", 0, 10),
        PredictedWait("4.2", "compatibility: release-agent never runs beside code", 300, 330),
    )
    forecast = make_forecast([attempt("a1", 1, 0, 400)], waits=waits)
    lines = render_dry_run(forecast, 100, "p.md").splitlines()
    kinds = [line.split()[0:2] for line in lines if line.startswith("    ") and "task" in line]
    assert kinds[0][:2] == ["file", "lock"]
    file_lock = next(line for line in lines if line.startswith("    file lock"))
    assert "2m10s" in file_lock and "2 tasks" in file_lock
    assert any("2.3  2m from 30s: src/a.py is held by 2.1" in line for line in lines)
    assert any(line.startswith("    compatibility") and "30s" in line for line in lines)


def test_tasks_that_did_not_end_done_are_listed() -> None:
    forecast = make_forecast(
        [attempt("a1", 1, 0, 10, outcome=Outcome.FAILED)],
        states={"a1": TaskState.FAILED, "b1": TaskState.SKIPPED, "c1": TaskState.DONE},
        status=RunStatus.FAILED,
    )
    text = render_dry_run(forecast, 80, "p.md")
    assert "outcome       failed (1 done of 3)" in text
    assert "failed     a1" in text and "skipped    b1" in text
    assert "outcome" not in render_dry_run(FEATURE, 80, "p.md")


def test_dry_run_json_has_exactly_the_design_keys() -> None:
    data = dry_run_json(FEATURE)
    assert list(data) == ["makespan_s", "lower_bound_s", "sequential_s", "slots", "schedule"]
    assert data["slots"] == 5
    assert data["makespan_s"] == 480.0
    assert data["lower_bound_s"] == 390.0
    assert all(list(entry) == ["task", "slot", "start_s", "end_s"] for entry in data["schedule"])
    assert json.loads(json.dumps(data)) == data


def test_dry_run_json_lists_every_attempt_in_start_order_with_its_slot() -> None:
    schedule = dry_run_json(FEATURE)["schedule"]
    assert [entry["task"] for entry in schedule] == [
        "1.1",
        "1.2",
        "2.1",
        "3.1",
        "2.1",
        "4.1",
        "4.2",
    ]
    assert [entry["start_s"] for entry in schedule] == sorted(e["start_s"] for e in schedule)
    assert schedule[5] == {"task": "4.1", "slot": 6, "start_s": 300.0, "end_s": 420.0}


def test_dry_run_json_rounds_seconds_but_keeps_numbers() -> None:
    forecast = make_forecast([attempt("a1", 1, 0.0001, 1 / 3)])
    entry = dry_run_json(forecast)["schedule"][0]
    assert entry["start_s"] == 0.0 and entry["end_s"] == 0.333
    assert isinstance(entry["end_s"], float)
