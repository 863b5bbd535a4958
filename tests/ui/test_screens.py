"""The help, agent comparison and event log screens: how they look, and how they behave.

Each screen is pushed by a tiny host app on mount, with the scripted view, so the SVGs are
stable. Update them only after reading the diff: `pytest tests/ui --snapshot-update`.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets import DataTable, Log

from pmtui.config.units import format_duration, format_size
from pmtui.engine import events as ev
from pmtui.report.lines import event_line
from pmtui.report.view import RunView
from pmtui.ui.screens.compare import UNKNOWN, CompareScreen, agent_cells
from pmtui.ui.screens.events import EventLogScreen
from pmtui.ui.screens.help import HelpScreen, binding_rows
from pmtui.ui.themes import Glyphs, load_themes, resolve_theme
from tests.ui.scripted import TASKS, Host, scripted_view
from tests.ui.test_snapshots import monitor

SIZES = [(80, 24), (120, 40)]
size_ids = pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")

KEYS = [
    ("p", "pause", "Pause/resume"),
    ("P", "hard_pause", "Hard pause"),
    ("r", "retry", "Retry"),
    ("s", "skip", "Skip"),
    ("a", "abort", "Abort"),
    ("b", "boost", "Boost"),
    ("enter", "logs", "Logs"),
    ("g", "gantt", "Gantt"),
    ("c", "compare", "Compare agents"),
    ("e", "events", "Event log"),
    ("t", "theme", "Theme"),
    ("?", "help", "Help"),
    ("q", "quit", "Quit"),
    ("^c", "quit.ctrl_c", "Quit"),
]
"""docs/design.md §8's keys, fixed here so the help snapshot does not follow app.py's changes."""

EVENTS: list[ev.Event] = [
    ev.RunStarted(0.0, "20261125-101500-ab12", "feature.md", len(TASKS), 5),
    ev.TaskStarted(0.0, "1.1", "product-manager", 1, 1, "/repo"),
    ev.TaskStarted(0.0, "1.2", "babok-agent", 2, 1, "/repo"),
    ev.TaskFinished(6.0, "1.1", "done", 0, "", 1, 6.0),
    ev.TaskStarted(6.0, "2.1", "architect-agent", 1, 1, "/repo"),
    ev.TaskFinished(7.5, "1.2", "done", 0, "", 1, 7.5),
    ev.TaskStarted(16.0, "5.6", "performance-agent", 3, 1, "/repo"),
    ev.TaskRetrying(30.0, "5.6", 2, "retry", 5.0, "exit 1"),
    ev.TaskWaiting(31.0, "6.2", "compatibility: release-agent waits for swebok-engineer"),
]


def event_lines() -> list[str]:
    """The readable lines of `EVENTS`, as the app keeps them."""
    return [line for event in EVENTS if (line := event_line(event)) is not None]


def glyphs() -> Glyphs:
    themes, _ = load_themes()
    return resolve_theme("pmtui-dark", themes, ascii=False)[1]


# ---------------------------------------------------------------------- look


@size_ids
def test_help_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(Host(HelpScreen(KEYS, glyphs())), terminal_size=size)


@size_ids
def test_compare_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(Host(CompareScreen(scripted_view(), glyphs())), terminal_size=size)


@size_ids
def test_event_log_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(Host(EventLogScreen(event_lines())), terminal_size=size)


# ---------------------------------------------------------------------- behaviour


@pytest.mark.anyio
@pytest.mark.parametrize("key", ["escape", "q"])
@pytest.mark.parametrize("kind", ["help", "compare", "events"])
async def test_escape_and_q_go_back_to_the_monitor(kind: str, key: str) -> None:
    app = monitor()
    # Nothing running, so the app's redraw timer stays idle: while it redraws, a tick during
    # shutdown can find the default screen already emptied (NoMatches: Monitor).
    app.view = RunView(TASKS)
    async with app.run_test(size=(80, 24)) as pilot:
        main = app.screen
        screens: dict[str, Screen[Any]] = {
            "help": HelpScreen(binding_rows(app), app.glyphs),
            "compare": CompareScreen(app.view, app.glyphs),
            "events": EventLogScreen(event_lines()),
        }
        await app.push_screen(screens[kind])
        await pilot.pause()
        assert app.screen is screens[kind]
        await pilot.press(key)
        await pilot.pause()
        assert app.screen is main
        assert app.is_running  # `q` went back; it did not ask to quit


@pytest.mark.anyio
async def test_help_lists_remapped_keys() -> None:
    app = monitor()
    app.keymap = {"pause": "space"}
    async with app.run_test(size=(80, 24)):
        rows = binding_rows(app)
    assert ("space", "pause", "Pause/resume") in rows
    assert ("a", "abort", "Abort") in rows
    assert not any(action == "pause" and key == "p" for key, action, _ in rows)


def test_legend_names_every_state_glyph() -> None:
    from pmtui.ui.screens.help import LEGEND, legend_table

    named = {field for field, _, _ in LEGEND}
    assert {"running", "done", "starting", "waiting", "failed", "retrying"} <= named
    assert {"skipped", "cancelled", "conflict"} <= named
    assert legend_table(Glyphs()).row_count == len(LEGEND)


@pytest.mark.anyio
async def test_compare_numbers_match_agent_stats() -> None:
    view = scripted_view()
    screen = CompareScreen(view, Glyphs())
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table: DataTable[Any] = screen.query_one(DataTable)
        stats = view.agent_stats()
        assert table.row_count == len(stats) == 7
        for index, agent in enumerate(stats):
            cells = [str(cell) for cell in table.get_row_at(index)]
            assert cells[:4] == [agent.agent, str(agent.tasks), str(agent.done), str(agent.failed)]
            if agent.success_rate is None:
                assert UNKNOWN in cells[4]
            else:
                assert cells[4].endswith(f"{agent.success_rate:.0f}%")
            duration = agent.mean_duration_s
            assert cells[5] == (UNKNOWN if duration is None else format_duration(duration))
            rss = agent.peak_rss
            assert cells[6] == (UNKNOWN if rss is None else format_size(rss))
            cpu = agent.mean_cpu
            assert cells[7] == (UNKNOWN if cpu is None else f"{cpu:.0f}%")


def test_compare_cells_for_the_scripted_agents() -> None:
    stats = {agent.agent: agent for agent in scripted_view().agent_stats()}
    assert agent_cells(stats["product-manager"], Glyphs()) == (
        "product-manager", "1", "1", "0", "████████ 100%", "6s", UNKNOWN, UNKNOWN,
    )  # fmt: skip
    swebok = agent_cells(stats["swebok-engineer"], Glyphs())
    assert swebok[:5] == ("swebok-engineer", "2", "0", "0", f"{'░' * 8}    {UNKNOWN}")
    assert swebok[6] == "212MB"


@pytest.mark.anyio
async def test_compare_refresh_from_shows_new_events_and_keeps_the_cursor() -> None:
    view = scripted_view()
    screen = CompareScreen(view, Glyphs())
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table: DataTable[Any] = screen.query_one(DataTable)
        await pilot.press("down", "down", "down")
        row = table.cursor_row
        index = [agent.agent for agent in view.agent_stats()].index("swebok-engineer")
        view.apply(ev.TaskFinished(43.0, "3.3", "failed", 1, "exit 1", 1, 29.0))
        screen.refresh_from(view)
        await pilot.pause()
        assert [str(cell) for cell in table.get_row_at(index)][3] == "1"
        assert table.cursor_row == row


@pytest.mark.anyio
async def test_compare_of_a_run_not_started_shows_unknowns() -> None:
    screen = CompareScreen(RunView(TASKS[:1]), Glyphs())
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        cells = [str(cell) for cell in screen.query_one(DataTable).get_row_at(0)]
    assert cells[1:4] == ["1", "0", "0"]
    assert cells[5:] == [UNKNOWN, UNKNOWN, UNKNOWN]


@pytest.mark.anyio
async def test_event_log_shows_the_lines_and_appended_ones() -> None:
    lines = event_lines()
    screen = EventLogScreen(lines)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        log = screen.query_one(Log)
        assert list(log.lines) == lines
        new = event_line(ev.TaskFinished(42.5, "3.2", "done", 0, "", 1, 27.5))
        assert new is not None
        screen.append(new)
        await pilot.pause()
        assert list(log.lines) == [*lines, new]
        assert log.scroll_y == log.max_scroll_y  # it follows the newest line


@pytest.mark.anyio
async def test_event_log_keeps_at_most_max_lines() -> None:
    screen = EventLogScreen([f"line {n}" for n in range(5)], max_lines=3)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen.append("line 5")
        await pilot.pause()
        assert list(screen.query_one(Log).lines) == ["line 3", "line 4", "line 5"]
    assert list(screen.event_lines) == ["line 3", "line 4", "line 5"]
