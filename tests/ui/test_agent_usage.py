"""Real agents in the monitor: their cost and tokens, the comparison's usage columns, and a
task log read as a transcript (`v` shows the raw log and back).

The scripted run of `tests.ui.scripted`, with tasks 1.1, 3.2 and 3.3 on Claude and 5.1 on
Codex (no price for its model: its cost is unknown), and `task_usage` events for them.
Update the SVGs only after reading the diff: `pytest tests/ui --snapshot-update`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable, Input, Log, Static

from pmtui.config.model import ParserKind
from pmtui.engine import events as ev
from pmtui.report.transcript import display_lines, transcript_lines
from pmtui.report.view import RunView
from pmtui.ui.app import PmtuiApp
from pmtui.ui.screens.compare import UNKNOWN, USAGE_COLUMNS, CompareScreen, agent_cells
from pmtui.ui.screens.task_log import SearchHighlighter, TaskLogScreen, TranscriptHighlighter
from pmtui.ui.themes import ASCII_GLYPHS, Glyphs, load_themes, resolve_theme
from pmtui.ui.widgets.monitor import render_monitor
from tests.ui.scripted import NOW, PHASES, TASKS, Host, script_events, scripted_view

SIZES = [(80, 24), (120, 40)]
size_ids = pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
RUN = "20261125-101500-ab12"
SAMPLES = Path(__file__).parent.parent / "data" / "agents"
AGENTS = {"1.1": "claude", "3.2": "claude", "3.3": "claude", "5.1": "codex"}
PARSERS = {"claude": ParserKind.CLAUDE, "codex": ParserKind.CODEX}
HEADER = "==== pmtui: attempt 2 of task 1.1, 2026-11-25 10:15:03 ===="

USAGE: list[ev.Event] = [
    ev.TaskUsage(5.5, "1.1", 1, 2_400, 80, 0, 0.014, 2, "claude-opus-4-8"),
    ev.TaskUsage(40.0, "3.2", 1, 30_500, 2_100, 18_000, 0.31, 9, "claude-sonnet-4-5"),
    ev.TaskUsage(41.0, "3.3", 1, 9_000, 700, 2_000, 0.08, 3, "claude-sonnet-4-5"),
    ev.TaskUsage(41.8, "5.1", 1, 8_000, 600, 0, None, None, "gpt-5.5"),
]


def usage_events() -> list[ev.Event]:
    """The scripted run on Claude and Codex, with what they reported using."""
    events = [
        replace(event, agent=AGENTS.get(event.task, event.agent))
        if isinstance(event, ev.TaskStarted)
        else event
        for event in script_events()
    ]
    return events + USAGE


def usage_view(events: list[ev.Event] | None = None) -> RunView:
    tasks = [replace(task, agent=AGENTS.get(task.id, task.agent)) for task in TASKS]
    return RunView(tasks).apply_all(usage_events() if events is None else events)


def glyphs_of(ascii: bool = False) -> Glyphs:  # noqa: A002
    themes, _ = load_themes()
    return ASCII_GLYPHS if ascii else resolve_theme("pmtui-dark", themes, ascii=False)[1]


def claude_log(tmp_path: Path) -> Path:
    """Task 1.1's log: a first attempt refused a tool, the second wrote the file."""
    log_dir = tmp_path / RUN
    log_dir.mkdir(exist_ok=True)
    path = log_dir / "1.1.log"
    denied = (SAMPLES / "claude-denied.stdout").read_text(encoding="utf-8")
    ok = (SAMPLES / "claude-ok.stdout").read_text(encoding="utf-8")
    path.write_text(denied + HEADER + "\n" + ok, encoding="utf-8")
    return path


def usage_app(log_dir: Path | None = None, *, ascii: bool = False) -> PmtuiApp:  # noqa: A002
    themes, _ = load_themes()
    spec, glyphs, _ = resolve_theme("pmtui-dark", themes, ascii=ascii)
    return PmtuiApp(
        usage_view(),
        glyphs=ASCII_GLYPHS if ascii else glyphs,
        phases=PHASES,
        clock=lambda: NOW,
        ascii=ascii,
        theme=spec.theme,
        log_dir=log_dir,
        parsers=PARSERS,
    )


def transcript_screen(
    path: Path, *, parser: ParserKind | None = ParserKind.CLAUDE
) -> TaskLogScreen:
    task = usage_view().task("1.1")
    return TaskLogScreen(task, path, [], poll_interval=None, parser=parser)


def status_of(screen: TaskLogScreen) -> str:
    return str(screen.query_one("#status", Static).render())


def expected_transcript(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    entries = transcript_lines(ParserKind.CLAUDE, lines)
    return [shown for entry in entries for shown in display_lines(entry)]


# ---------------------------------------------------------------------- look


@size_ids
def test_monitor_with_usage(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(usage_app(), terminal_size=size)


@size_ids
def test_compare_screen_with_usage(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(usage_app(), press=["c"], terminal_size=size)


@size_ids
def test_task_log_as_a_transcript(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    path = claude_log(tmp_path)
    assert snap_compare(usage_app(path.parent), press=["enter"], terminal_size=size)


@size_ids
def test_task_log_as_an_ascii_transcript(
    snap_compare: Any, tmp_path: Path, size: tuple[int, int]
) -> None:
    path = claude_log(tmp_path)
    assert snap_compare(usage_app(path.parent, ascii=True), press=["enter"], terminal_size=size)


# ---------------------------------------------------------------------- the monitor's line


def overall_line(view: RunView, width: int, *, ascii: bool = False) -> str:  # noqa: A002
    text = render_monitor(view, NOW, glyphs_of(ascii), width, ascii=ascii)
    return text.plain.splitlines()[1]


def test_the_overall_line_shows_the_runs_cost_and_tokens() -> None:
    line = overall_line(usage_view(), 116)
    assert line.endswith("| Elapsed: 42s | Cost: $0.404 · 73k tok")
    assert line.startswith("Overall Progress: " + "█" * 10)


def test_the_cost_is_unknown_when_no_agent_priced_it() -> None:
    codex_only = usage_view(usage_events()[: -len(USAGE)] + USAGE[-1:])
    assert overall_line(codex_only, 116).endswith("| Cost: — · 8.6k tok")
    assert overall_line(codex_only, 116, ascii=True).endswith("| Cost: - / 8.6k tok")


def test_a_run_without_usage_keeps_its_overall_line() -> None:
    no_usage = usage_view(usage_events()[: -len(USAGE)])
    for width in (76, 116):
        assert overall_line(no_usage, width) == overall_line(scripted_view(), width)
        assert "Cost" not in overall_line(no_usage, width)


@pytest.mark.parametrize(
    ("width", "tail"),
    [
        (76, "| Elapsed: 42s | Cost: $0.404 · 73k tok"),
        (66, "| Elapsed: 42s | Cost: $0.404"),
        (50, "| Elapsed: 42s"),
    ],
)
def test_a_narrow_monitor_leaves_out_the_tokens_then_the_cost(width: int, tail: str) -> None:
    line = overall_line(usage_view(), width)
    assert line.endswith(tail)
    assert cell_len(line) <= width


# ---------------------------------------------------------------------- the comparison


@pytest.mark.anyio
async def test_c_shows_the_usage_columns_from_agent_stats() -> None:
    app = usage_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        table: DataTable[Any] = screen.query_one(DataTable)
        labels = [str(column.label) for column in table.columns.values()]
        assert labels[-4:] == ["Tokens", "Cost", "Turns", "$/1K"]
        stats = {agent.agent: agent for agent in app.view.agent_stats()}
        claude = [str(cell) for cell in table.get_row("claude")]
        assert claude[-4:] == ["65k", "$0.404", "14", "$0.0062"]
        assert stats["claude"].turns == 14
        codex = [str(cell) for cell in table.get_row("codex")]
        assert codex[-4:] == ["8.6k", UNKNOWN, UNKNOWN, UNKNOWN]
        pm = [str(cell) for cell in table.get_row("babok-agent")]
        assert pm[-4:] == [UNKNOWN] * 4
        summary = str(screen.query_one("#summary", Static).render())
        assert summary.endswith("| Cost: $0.404 · 73k tok")


def test_agent_cells_add_usage_only_when_asked() -> None:
    stats = {agent.agent: agent for agent in usage_view().agent_stats()}
    assert len(agent_cells(stats["claude"], Glyphs())) == 8
    cells = agent_cells(stats["claude"], Glyphs(), usage=True)
    assert len(cells) == 8 + len(USAGE_COLUMNS)
    assert cells[8:] == ("65k", "$0.404", "14", "$0.0062")


@pytest.mark.anyio
async def test_the_usage_columns_join_when_the_first_usage_arrives() -> None:
    view = usage_view(usage_events()[: -len(USAGE)])
    screen = CompareScreen(view, Glyphs())
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table: DataTable[Any] = screen.query_one(DataTable)
        assert len(table.columns) == 8
        assert "Cost" not in str(screen.query_one("#summary", Static).render())
        view.apply(USAGE[0])
        screen.refresh_from(view)
        await pilot.pause()
        assert [str(column.label) for column in table.columns.values()][-1] == "$/1K"
        assert [str(cell) for cell in table.get_row("claude")][8] == "2.5k"
        assert table.row_count == len(view.agent_stats())


# ---------------------------------------------------------------------- the transcript


@pytest.mark.anyio
async def test_enter_on_a_claude_task_opens_its_transcript(tmp_path: Path) -> None:
    path = claude_log(tmp_path)
    app = usage_app(path.parent)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TaskLogScreen)
        assert not screen.showing_raw
        assert list(screen.lines) == expected_transcript(path)
        assert "⏺ Write hello.txt" in screen.lines
        assert HEADER in screen.lines


@pytest.mark.anyio
async def test_v_switches_between_the_transcript_and_the_raw_log(tmp_path: Path) -> None:
    path = claude_log(tmp_path)
    screen = transcript_screen(path)
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        transcript = screen.query_one("#transcript", Log)
        raw = screen.query_one("#log", Log)
        assert transcript.display and not raw.display
        assert list(transcript.lines) == expected_transcript(path)
        assert "· transcript" in status_of(screen)
        await pilot.press("v")
        assert screen.showing_raw
        assert raw.display and not transcript.display
        assert list(screen.lines[:-1]) == path.read_text(encoding="utf-8").splitlines()
        assert screen.focused is raw
        assert "· raw log" in status_of(screen)
        await pilot.press("v")
        assert not screen.showing_raw
        assert transcript.display and not raw.display
        assert list(screen.lines) == expected_transcript(path)
        assert screen.focused is transcript


@pytest.mark.anyio
async def test_the_footer_names_what_v_shows(tmp_path: Path) -> None:
    screen = transcript_screen(claude_log(tmp_path))
    app = Host(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        assert screen.active_bindings["v"].binding.description == "Raw log"
        await pilot.press("v")
        assert screen.active_bindings["v"].binding.description == "Transcript"


@pytest.mark.anyio
async def test_a_progress_agent_has_only_the_raw_log(tmp_path: Path) -> None:
    path = claude_log(tmp_path)
    for parser in (None, ParserKind.PROGRESS):
        screen = transcript_screen(path, parser=parser)
        app = Host(screen)
        async with app.run_test(size=(80, 24)) as pilot:
            assert screen.showing_raw
            assert not screen.query("#transcript")
            assert "v" not in screen.active_bindings
            await pilot.press("v")
            assert screen.showing_raw
            assert "transcript" not in status_of(screen)


@pytest.mark.anyio
async def test_appended_lines_join_the_transcript_once_whole(tmp_path: Path) -> None:
    path = claude_log(tmp_path)
    screen = transcript_screen(path)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        before = list(screen.lines)
        line = (
            '{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t9",'
            '"name":"Bash","input":{"command":"pytest -q"}}]}}\n'
        )
        with path.open("a", encoding="utf-8") as file:
            file.write(line[:30])
        screen.poll()
        await pilot.pause()
        assert list(screen.lines) == before  # half a line: nothing yet
        with path.open("a", encoding="utf-8") as file:
            file.write(line[30:] + "not json at all\n")
        screen.poll()
        await pilot.pause()
        assert list(screen.lines) == [*before, "⏺ Bash: pytest -q"]


@pytest.mark.anyio
async def test_a_rewritten_log_starts_its_transcript_afresh(tmp_path: Path) -> None:
    path = claude_log(tmp_path)
    screen = transcript_screen(path)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        before = list(screen.lines)
        path.write_text(HEADER + "\n", encoding="utf-8")  # shorter: read from its top
        screen.poll()
        await pilot.pause()
        assert list(screen.lines) == [*before, HEADER]
        ok = (SAMPLES / "claude-ok.stdout").read_text(encoding="utf-8")
        with path.open("a", encoding="utf-8") as file:
            file.write(ok)
        screen.poll()
        await pilot.pause()
        assert list(screen.lines)[len(before) + 1 :] == [
            "I'll create /repo/hello.txt.",
            "⏺ Write hello.txt",
            "  ⎿ File created successfully at: /repo/hello.txt (file state is current in your "
            "context — no need to Read it back)",
            "DONE wrote /repo/hello.txt",
        ]


@pytest.mark.anyio
async def test_search_finds_lines_of_what_is_shown(tmp_path: Path) -> None:
    path = claude_log(tmp_path)
    screen = transcript_screen(path)
    app = Host(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"Write hello", "enter")
        shown = expected_transcript(path)
        assert screen.match == shown.index("⏺ Write hello.txt")
        assert screen.focused is screen.query_one("#transcript", Log)
        await pilot.press("v")
        assert screen.match is None
        await pilot.press("n")  # the same term, not in the raw log (it is JSON there)
        assert screen.match is None
        assert "not found" in status_of(screen)
        await pilot.press("slash", *"hello.txt", "enter")
        raw = path.read_text(encoding="utf-8").splitlines()
        assert screen.match is not None
        assert "hello.txt" in raw[screen.match]
        assert "hello.txt" not in raw[screen.match - 1]


def test_transcript_lines_are_styled_by_their_marks() -> None:
    search = SearchHighlighter()
    marker = TranscriptHighlighter(search)
    styled = {}
    for line in ["⏺ Write a.txt", "  ⎿ done", "✗ API Error", HEADER, "plain text"]:
        text = Text(line)
        marker.highlight(text)
        styled[line] = [str(span.style) for span in text.spans]
    assert styled == {
        "⏺ Write a.txt": ["bold"],
        "  ⎿ done": ["dim"],
        "✗ API Error": ["bold red"],
        HEADER: ["dim"],
        "plain text": [],
    }
    search.term = "text"
    text = Text("plain text")
    marker.highlight(text)
    assert [(span.start, span.end) for span in text.spans] == [(6, 10)]
