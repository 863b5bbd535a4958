"""The task log screen: its look, following a growing log file, search, going back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import Input, Static

from pmtui.report.view import TaskView
from pmtui.scheduling.states import TaskState
from pmtui.ui.screens.task_log import KEEP_LINES, NO_OUTPUT, SearchHighlighter, TaskLogScreen
from tests.ui.scripted import Host, scripted_view

SIZES = [(80, 24), (120, 40)]
RUN = "20261125-101500-ab12"
OUTPUT = [
    "Reading the authorization-code flow design",
    "::progress:: 25 Reading the design",
    "Writing pmtui_oauth/client.py",
    "::progress:: 50 Implementing features",
    "Running the unit tests: 12 passed",
    "::progress:: 75 Implementing features",
]


def task() -> TaskView:
    return scripted_view().task("3.2")


def log_file(tmp_path: Path, lines: list[str] | None = None) -> Path:
    path = tmp_path / "logs" / RUN / "3.2.log"
    path.parent.mkdir(parents=True)
    if lines is not None:
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as file:
        file.write(data)


def screen_of(path: Path) -> TaskLogScreen:
    return TaskLogScreen(task(), path, [("2.1", "done")], poll_interval=None)


def status_of(screen: TaskLogScreen) -> str:
    return str(screen.query_one("#status", Static).render())


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_task_log_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(Host(screen_of(log_file(tmp_path, OUTPUT))), terminal_size=size)


@pytest.mark.anyio
async def test_escape_and_q_go_back(tmp_path: Path) -> None:
    path = log_file(tmp_path, OUTPUT)
    for key in ("escape", "q"):
        app = Host(screen_of(path))
        async with app.run_test(size=(80, 24)) as pilot:
            assert isinstance(app.screen, TaskLogScreen)
            await pilot.press(key)
            assert not isinstance(app.screen, TaskLogScreen)


@pytest.mark.anyio
async def test_the_tail_is_shown_then_poll_shows_appended_lines(tmp_path: Path) -> None:
    path = log_file(tmp_path, OUTPUT)
    screen = screen_of(path)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        assert list(screen.lines[:-1]) == OUTPUT
        append(path, "All 14 tests pass ✓\n".encode())
        screen.poll()
        await pilot.pause()
        assert screen.lines[-2] == "All 14 tests pass ✓"
        assert screen.reader.offset == path.stat().st_size


@pytest.mark.anyio
async def test_a_partial_line_is_completed_on_the_next_poll(tmp_path: Path) -> None:
    path = log_file(tmp_path, ["first"])
    screen = screen_of(path)
    async with Host(screen).run_test(size=(80, 24)):
        append(path, b"half of a li")
        screen.poll()
        assert list(screen.lines) == ["first", "half of a li"]
        append(path, "ne, caf\xc3".encode("latin-1"))  # a character cut between two reads
        screen.poll()
        append(path, b"\xa9\r")
        screen.poll()
        append(path, b"\nnext\n")
        screen.poll()
        assert list(screen.lines) == ["first", "half of a line, café", "next", ""]


@pytest.mark.anyio
async def test_invalid_utf8_is_replaced_not_fatal(tmp_path: Path) -> None:
    path = log_file(tmp_path, [])
    screen = screen_of(path)
    async with Host(screen).run_test(size=(80, 24)):
        append(path, b"bad \xff byte\n")
        screen.poll()
        assert screen.lines[0] == "bad \ufffd byte"


@pytest.mark.anyio
async def test_a_missing_log_says_no_output_yet_until_it_appears(tmp_path: Path) -> None:
    path = log_file(tmp_path)
    screen = screen_of(path)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        assert NO_OUTPUT in status_of(screen)
        assert list(screen.lines) == []
        screen.poll()
        assert NO_OUTPUT in status_of(screen)
        path.write_text("hello\n", encoding="utf-8")
        screen.poll()
        await pilot.pause()
        assert list(screen.lines) == ["hello", ""]
        assert NO_OUTPUT not in status_of(screen)
        assert f"{RUN}/3.2.log" in status_of(screen)


@pytest.mark.anyio
async def test_the_lines_kept_are_capped(tmp_path: Path) -> None:
    path = log_file(tmp_path, [f"line {n}" for n in range(KEEP_LINES + 500)])
    screen = screen_of(path)
    async with Host(screen).run_test(size=(80, 24)):
        assert len(screen.lines) <= KEEP_LINES
        append(path, "".join(f"more {n}\n" for n in range(KEEP_LINES)).encode())
        screen.poll()
        assert len(screen.lines) <= KEEP_LINES
        assert screen.lines[-2] == f"more {KEEP_LINES - 1}"


@pytest.mark.anyio
async def test_search_finds_the_next_line_and_n_goes_on(tmp_path: Path) -> None:
    path = log_file(tmp_path, OUTPUT)
    screen = screen_of(path)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"Implementing", "enter")
        assert screen.match == 3
        assert "line 4 of" in status_of(screen)
        await pilot.press("n")
        assert screen.match == 5
        await pilot.press("n")  # wraps to the first match
        assert screen.match == 3
        await pilot.press("escape")  # closes the search, stays on the log
        assert isinstance(app.screen, TaskLogScreen)
        assert screen.highlighter.term == ""
        await pilot.press("escape")
        assert not isinstance(app.screen, TaskLogScreen)


@pytest.mark.anyio
async def test_search_says_when_nothing_matches(tmp_path: Path) -> None:
    screen = screen_of(log_file(tmp_path, OUTPUT))
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", *"zebra", "enter")
        assert screen.match is None
        assert "not found" in status_of(screen)


@pytest.mark.anyio
async def test_a_rewritten_log_is_read_again(tmp_path: Path) -> None:
    path = log_file(tmp_path, OUTPUT)
    screen = screen_of(path)
    async with Host(screen).run_test(size=(80, 24)):
        path.write_text("attempt 2\n", encoding="utf-8")
        screen.poll()
        assert screen.lines[-2] == "attempt 2"


@pytest.mark.anyio
async def test_the_header_follows_the_task(tmp_path: Path) -> None:
    screen = screen_of(log_file(tmp_path, OUTPUT))
    async with Host(screen).run_test(size=(80, 24)):
        header = str(screen.query_one("#header", Static).render())
        assert "running · attempt 1" in header
        assert "2.1 (done)" in header
        done = task()
        done.status, done.attempt = TaskState.FAILED, 2
        screen.update_task(done, [("2.1", "done"), ("1.1", "done")])
        header = str(screen.query_one("#header", Static).render())
        assert "failed · attempt 2" in header
        assert "1.1 (done)" in header


@pytest.mark.anyio
async def test_the_screen_polls_by_itself(tmp_path: Path) -> None:
    path = log_file(tmp_path, ["first"])
    screen = TaskLogScreen(task(), path, [], poll_interval=0.05)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        append(path, b"second\n")
        await pilot.pause(0.3)
        assert list(screen.lines) == ["first", "second", ""]


def test_the_search_term_is_marked_whatever_its_case() -> None:
    marker = SearchHighlighter()
    marker.term = "oauth"
    text = Text("OAuth client, oauth tests")
    marker.highlight(text)
    assert [(span.start, span.end) for span in text.spans] == [(0, 5), (14, 19)]
