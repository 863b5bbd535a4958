"""The timeline screen: the run so far as a Gantt chart, and the forecast below it."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Static

from pmtui.engine import events as ev
from pmtui.report.view import RunView
from pmtui.ui.screens.timeline import (
    NOTHING_YET,
    RUNNING_END,
    RunChart,
    TimelineScreen,
    render_timeline,
    run_bars,
)
from tests.ui.scripted import NOW, TASKS, Host, scripted_view

SIZES = [(80, 24), (120, 40)]
FORECAST = [
    "about 25s more for 4 tasks on 5 slots (at best 24s); times from now",
    "slot 1 │3.2━━━━━━━━━━━━━━5.1━━━━━━━━━━━━━━━━━━━6.2━━━━━━━━━━━",
    "slot 2 │3.3━━━━━━━━━━━",
    "       └┬────────┬────────┬────────┬────────┬────────┬──",
    "        0s       5s       10s      15s      20s      25s",
]


def chart_rows(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith(("slot", "boost"))]


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_timeline_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    screen = TimelineScreen(scripted_view(), FORECAST, now=NOW)
    assert snap_compare(Host(screen), terminal_size=size)


def test_one_row_per_slot_used_with_each_task_on_its_slot() -> None:
    lines = render_timeline(scripted_view(), NOW, 80)
    rows = chart_rows(lines)
    assert [row.split(" │")[0] for row in rows] == ["slot 1", "slot 2", "slot 3"]
    assert rows[0].index("1.1") < rows[0].index("2.1") < rows[0].index("3.2")
    assert rows[1].index("1.2") < rows[1].index("3.3")
    assert rows[0].endswith(RUNNING_END)
    assert all(len(line) <= 80 for line in lines)
    assert "40s" in lines[len(rows) + 1]  # the axis' labels


def test_finished_tasks_keep_the_slot_they_were_seen_on() -> None:
    view = RunView(TASKS)
    view.apply_all(
        [
            ev.RunStarted(0.0, "run", "feature.md", len(TASKS), 5),
            ev.TaskStarted(0.0, "1.1", "product-manager", 4, 1, "/repo"),
            ev.TaskFinished(3.0, "1.1", "failed", 1, "exit 1", 1, 3.0),
            ev.TaskStarted(3.0, "1.2", "babok-agent", 4, 1, "/repo"),
        ]
    )
    # Every attempt keeps the slot it ran on, even once another task took that slot.
    bars = {bar.task: bar for bar in run_bars(view, 5.0)}
    assert (bars["1.1"].slot, bars["1.1"].start_s, bars["1.1"].end_s) == (4, 0.0, 3.0)
    assert (bars["1.2"].slot, bars["1.2"].start_s, bars["1.2"].end_s) == (4, 3.0, 5.0)
    assert bars["1.1"].outcome is not None and bars["1.1"].outcome.value == "failed"


def test_tasks_never_seen_running_go_to_the_lowest_free_slot() -> None:
    view = RunView(TASKS)
    view.apply_all(
        [
            ev.RunStarted(0.0, "run", "feature.md", len(TASKS), 2),
            ev.TaskStarted(0.0, "1.1", "product-manager", 1, 1, "/repo"),
            ev.TaskStarted(0.0, "1.2", "babok-agent", 2, 1, "/repo"),
            ev.TaskFinished(4.0, "1.1", "done", 0, "", 1, 4.0),
            ev.TaskStarted(4.0, "3.3", "swebok-engineer", 1, 1, "/repo"),
            ev.TaskFinished(5.0, "1.2", "done", 0, "", 1, 5.0),
            ev.TaskFinished(6.0, "3.3", "done", 0, "", 1, 2.0),
        ]
    )
    # Only the last task of each slot is known: 1.1 and 1.2 are placed without overlap.
    slots = {bar.task: bar.slot for bar in run_bars(view, 6.0)}
    assert slots == {"3.3": 1, "1.2": 2, "1.1": 1}


def test_a_run_with_nothing_started_says_so() -> None:
    assert render_timeline(RunView(TASKS), 0.0, 80) == [NOTHING_YET]


@pytest.mark.anyio
async def test_the_screen_shows_the_chart_and_the_forecast_and_escape_goes_back() -> None:
    screen = TimelineScreen(scripted_view(), FORECAST, now=NOW)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        chart = screen.query_one(RunChart)
        assert len(chart_rows(chart.lines(chart.size.width))) == 3
        assert "slot 2 │3.3" in str(screen.query_one("#forecast", Static).render())
        await pilot.press("escape")
        assert not isinstance(app.screen, TimelineScreen)


@pytest.mark.anyio
async def test_refresh_from_redraws_at_the_new_time_and_remembers_slots() -> None:
    view = scripted_view()
    screen = TimelineScreen(view, None, now=NOW)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        assert "(no forecast)" in str(screen.query_one("#forecast", Static).render())
        view.apply(ev.TaskFinished(50.0, "5.1", "done", 0, "", 1, 8.5))
        view.apply(ev.TaskStarted(50.0, "6.2", "release-agent", 3, 1, "/repo"))
        screen.refresh_from(view, 60.0)
        await pilot.pause()
        view.apply(ev.TaskFinished(55.0, "6.2", "done", 0, "", 1, 5.0))
        view.apply(ev.TaskStarted(56.0, "5.6", "performance-agent", 3, 2, "/repo"))
        screen.refresh_from(view, 60.0)
        await pilot.pause()
        bars = {
            bar.task: bar.slot
            for bar in run_bars(view, 60.0, screen.query_one(RunChart).known_slots)
        }
        assert bars["5.1"] == 3 and bars["6.2"] == 3 and bars["5.6"] == 3
        assert "1m" in str(screen.query_one("#title", Static).render())
        screen.set_forecast(["nothing remains"])
        assert "nothing remains" in str(screen.query_one("#forecast", Static).render())
