"""One task's log, followed live (docs/design.md §8 `enter`): its header, dependencies and output.

The log file is written by pmtui (`.pmtui/logs/<run>/<task>.log`) while the agent runs; this
screen reads its tail once, then only the bytes appended since (a 0.5 s timer calls `poll`),
so a long log is never read again. At most `KEEP_LINES` lines are kept in memory.

A real agent's log is JSON (Claude's stream-json, Codex's events…): for those tasks the
screen shows the readable transcript (`pmtui.report.transcript`) by default, fed the same
appended lines through one parser kept for the screen's life, and `v` switches to the raw
log (what the file holds) and back. Search works on whichever is shown.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.highlighter import Highlighter
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, Log, Static

from pmtui.agents.signals import TranscriptKind
from pmtui.config.model import ParserKind
from pmtui.report.transcript import (
    ASCII_MARKS,
    MARKS,
    TranscriptReader,
    display_lines,
    is_pmtui_line,
)
from pmtui.report.view import TaskView

KEEP_LINES = 2_000
"""Lines shown and kept: the tail of the file at first, then the newest."""
TAIL_BYTES = 1_048_576
"""At most this much is read at once: the first tail, or a flood appended between polls
(its start is then skipped, and the log says how much)."""
POLL_S = 0.5
"""How often the screen reads what was appended."""
LONGEST_LINE = 4 * TAIL_BYTES
"""A line still unfinished at this length is dropped from the transcript (the raw log
keeps it), so one runaway line cannot grow without end."""
NO_OUTPUT = "no output yet"
TRANSCRIPT = "transcript"
RAW = "raw log"


class SearchHighlighter(Highlighter):
    """Marks every occurrence of the search term, whatever its case."""

    def __init__(self) -> None:
        self.term = ""
        """The text searched for; empty marks nothing."""

    def highlight(self, text: Text) -> None:
        """Style each occurrence of `term` in one line."""
        if not self.term:
            return
        plain, term, start = text.plain.lower(), self.term.lower(), 0
        while (found := plain.find(term, start)) >= 0:
            text.stylize("bold reverse", found, found + len(term))
            start = found + len(term)


class TranscriptHighlighter(Highlighter):
    """Marks a transcript's kinds by their marks (tool calls bold, results dim, errors red,
    pmtui's own lines dim), then the search term.

    Args:
        search: The screen's search highlighter (its term is shared with the raw log).
        ascii: The marks are the ASCII ones.
    """

    def __init__(self, search: SearchHighlighter, *, ascii: bool = False) -> None:  # noqa: A002
        self.search = search
        marks = ASCII_MARKS if ascii else MARKS
        self.styles = [
            (marks[TranscriptKind.TOOL_CALL][0], "bold"),
            (marks[TranscriptKind.TOOL_RESULT][0], "dim"),
            (marks[TranscriptKind.ERROR][0], "bold red"),
        ]
        """Each kind's first-line mark and the style of that line."""

    def highlight(self, text: Text) -> None:
        """Style one shown line by its mark, then mark the search term in it."""
        plain = text.plain
        if is_pmtui_line(plain):
            text.stylize("dim")
        else:
            for mark, style in self.styles:
                if plain.startswith(mark):
                    text.stylize(style)
                    break
        self.search.highlight(text)


class LogReader:
    """Reads a growing file from where it left off: whole lines, decoded UTF-8.

    Args:
        path: The file; it may not exist yet.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        """Bytes read so far (the next read starts here)."""
        self.started = False
        """Whether the file was seen (its tail read) at all."""
        self.rewinds = 0
        """How often the file shrank (was rewritten) and was read again from its start."""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._held_cr = False

    def read(self) -> tuple[str, int]:
        """What was appended since the last read, and how many bytes were skipped.

        The first read returns the file's last `TAIL_BYTES` at most, starting at a line; a
        multi-byte character or a `\\r\\n` cut by a read is completed by the next one. A
        file that shrank (rewritten) is read again from its tail.

        Returns:
            The new text (line ends as `\\n`; a last line without one is a partial line),
            and the bytes skipped because they were more than `TAIL_BYTES`.
        """
        try:
            with self.path.open("rb") as file:
                size = os.fstat(file.fileno()).st_size
                if size < self.offset:
                    self.offset, self.started = 0, False
                    self.rewinds += 1
                    self._decoder.reset()
                    self._held_cr = False
                skipped = max(size - self.offset - TAIL_BYTES, 0)
                start = self.offset + skipped
                file.seek(start)
                data = file.read(size - start)
        except FileNotFoundError:
            return "", 0
        self.started = True
        self.offset = start + len(data)
        if skipped:
            # Read from mid-file: its first line is partial, and what came before is gone.
            cut = data.find(b"\n")
            data = data[cut + 1 :] if cut >= 0 else b""
            self._decoder.reset()
            self._held_cr = False
        return self._decode(data), skipped

    def _decode(self, data: bytes) -> str:
        text = ("\r" if self._held_cr else "") + self._decoder.decode(data)
        self._held_cr = text.endswith("\r")
        if self._held_cr:
            text = text[:-1]
        return text.replace("\r\n", "\n")


class TaskLogScreen(Screen[None]):
    """A task's header, its dependencies and its log, followed live, with search.

    Args:
        task: The task's view (shown as it was when the screen opened).
        log_path: Its log file.
        dependencies: Each dependency's id and status.
        poll_interval: Seconds between reads of the file; `None`: only when `poll` is called.
        parser: How the task's agent prints its output; a real agent's (not `progress`)
            gets the transcript, shown first.
        ascii: Plain ASCII marks in the transcript.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="task_log.back"),
        Binding("q", "back", "Back", id="task_log.quit", show=False),
        Binding("slash", "search", "Search", id="task_log.search"),
        Binding("n", "next_match", "Next", id="task_log.next"),
        Binding("N", "previous_match", "Previous", id="task_log.previous", show=False),
        Binding("v", "show_raw", "Raw log", id="task_log.raw"),
        Binding("v", "show_transcript", "Transcript", id="task_log.transcript"),
    ]
    DEFAULT_CSS = """
    TaskLogScreen {
        layout: vertical;
    }
    TaskLogScreen #header {
        background: $boost;
        padding: 0 1;
    }
    TaskLogScreen #status {
        color: $text-muted;
        padding: 0 1;
    }
    TaskLogScreen Log {
        height: 1fr;
    }
    TaskLogScreen Log.hidden {
        display: none;
    }
    TaskLogScreen #search {
        display: none;
    }
    TaskLogScreen #search.open {
        display: block;
    }
    """

    def __init__(
        self,
        task: TaskView,
        log_path: Path,
        dependencies: Sequence[tuple[str, str]],
        *,
        poll_interval: float | None = POLL_S,
        parser: ParserKind | None = None,
        ascii: bool = False,  # noqa: A002
    ) -> None:
        super().__init__()
        self.task_view = task
        self.log_path = log_path
        self.dependencies = list(dependencies)
        self.poll_interval = poll_interval
        self.reader = LogReader(log_path)
        self.highlighter = SearchHighlighter()
        self.match: int | None = None
        """The line the last search found (an index into the shown lines)."""
        self.ascii = ascii
        self.transcript: TranscriptReader | None = None
        """Reads the agent's JSON into the transcript; None for a `progress` agent."""
        if parser is not None and parser is not ParserKind.PROGRESS:
            self.transcript = TranscriptReader(parser)
        self.showing_raw = self.transcript is None
        """Whether the raw log is shown (else the transcript)."""
        self._partial = ""
        """The last line read without its line end (the transcript waits for the rest)."""
        self._rewinds = 0

    def compose(self) -> ComposeResult:
        yield Static(self._header(), id="header")
        yield Static(self._status(), id="status")
        log = Log(max_lines=KEEP_LINES, highlight=True, id="log")
        log.highlighter = self.highlighter
        yield log
        if self.transcript is not None:
            log.add_class("hidden")
            transcript = Log(max_lines=KEEP_LINES, highlight=True, id="transcript")
            transcript.highlighter = TranscriptHighlighter(self.highlighter, ascii=self.ascii)
            yield transcript
        yield Input(placeholder="search the log: enter finds the next line", id="search")
        yield Footer()

    def on_mount(self) -> None:
        self.poll()
        if self.poll_interval is not None:
            self.set_interval(self.poll_interval, self.poll)
        self.shown_log.focus()

    @property
    def shown_log(self) -> Log:
        """The log widget on screen: the raw log's or the transcript's."""
        return self.query_one("#log" if self.showing_raw else "#transcript", Log)

    def _header(self) -> Text:
        task = self.task_view
        text = Text()
        text.append(task.id, style="bold")
        text.append(f"  {task.title}\n")
        text.append(f"agent {task.agent or '—'} · {task.status} · attempt {task.attempt}")
        if task.reason:
            text.append(f" · {task.reason}")
        text.append("\ndepends on: ")
        if not self.dependencies:
            text.append("nothing")
        for index, (dep, status) in enumerate(self.dependencies):
            text.append(", " if index else "")
            text.append(dep, style="bold")
            text.append(f" ({status})")
        return text

    def _status(self, note: str = "") -> str:
        where = f"{self.log_path.parent.name}/{self.log_path.name}"
        if self.transcript is not None:
            where += f" · {RAW if self.showing_raw else TRANSCRIPT}"
        if not self.reader.started:
            return f"{where} · {NO_OUTPUT}"
        return f"{where}" + (f" · {note}" if note else "")

    def update_task(
        self, task: TaskView, dependencies: Sequence[tuple[str, str]] | None = None
    ) -> None:
        """Show the task's (and its dependencies') current status in the header."""
        self.task_view = task
        if dependencies is not None:
            self.dependencies = list(dependencies)
        self.query_one("#header", Static).update(self._header())

    # ------------------------------------------------------------------ following

    def poll(self) -> None:
        """Show what the agent wrote since the last poll (nothing read twice)."""
        was_started = self.reader.started
        text, skipped = self.reader.read()
        log = self.query_one("#log", Log)
        note = ""
        if skipped:
            note = (
                f"… the first {skipped} bytes are not shown"
                if not was_started
                else f"… {skipped} bytes written since are not shown (too many at once)"
            )
            # A note never joins a partial line: it gets its own.
            log.write(("\n" if log.lines and log.lines[-1] else "") + note + "\n")
        if text:
            log.write(text, scroll_end=log.is_vertical_scroll_end)
        if self.transcript is not None:
            self._follow_transcript(text, note)
        if self.reader.started != was_started or skipped:
            self.query_one("#status", Static).update(self._status())

    def _follow_transcript(self, text: str, note: str) -> None:
        """Feed the whole lines just read to the transcript's parser (each line once)."""
        assert self.transcript is not None
        if self.reader.rewinds != self._rewinds:  # the file was rewritten: read from its top
            self._rewinds = self.reader.rewinds
            self.transcript.reset()
            self._partial = ""
        shown: list[str] = []
        if note:
            self._partial = ""  # the bytes that would complete it are gone
            shown.append(note)
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        if len(self._partial) > LONGEST_LINE:
            self._partial = ""
        for line in lines:
            for entry in self.transcript.feed(line):
                shown += display_lines(entry, ascii=self.ascii)
        if shown:
            log = self.query_one("#transcript", Log)
            log.write_lines(shown, scroll_end=log.is_vertical_scroll_end)

    @property
    def lines(self) -> Sequence[str]:
        """The lines shown and kept (in the raw log the last one may be partial, or empty
        after a line end)."""
        return self.shown_log.lines

    # ------------------------------------------------------------------ raw or transcript

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`v` shows the one of the raw log and the transcript that is not on screen."""
        if action == "show_raw":
            return self.transcript is not None and not self.showing_raw
        if action == "show_transcript":
            return self.transcript is not None and self.showing_raw
        return True

    def action_show_raw(self) -> None:
        """Show the raw log: the agent's output as the file holds it."""
        self._show(raw=True)

    def action_show_transcript(self) -> None:
        """Show the readable transcript of the agent's output."""
        self._show(raw=False)

    def _show(self, *, raw: bool) -> None:
        if self.transcript is None or raw == self.showing_raw:
            return
        self.shown_log.add_class("hidden")
        self.showing_raw = raw
        log = self.shown_log
        log.remove_class("hidden")
        log.focus()
        log.scroll_end(animate=False, immediate=False)
        self.match = None
        self._redraw_log()
        self._set_status("")
        self.refresh_bindings()

    # ------------------------------------------------------------------ search

    def action_search(self) -> None:
        """Open the search box."""
        search = self.query_one("#search", Input)
        search.add_class("open")
        search.focus()

    @on(Input.Submitted, "#search")
    def _searched(self, event: Input.Submitted) -> None:
        self.highlighter.term = event.value
        self.match = None
        self._redraw_log()
        self.shown_log.focus()
        self.find(1)

    def action_next_match(self) -> None:
        """Jump to the next line with the search term."""
        self.find(1)

    def action_previous_match(self) -> None:
        """Jump to the previous line with the search term."""
        self.find(-1)

    def find(self, step: int) -> int | None:
        """Jump to the next (`step` 1) or previous (-1) line holding the term, wrapping.

        Returns:
            The line's index, or None when no line holds it.
        """
        term = self.highlighter.term.lower()
        if not term:
            return None
        lines = self.lines
        count = len(lines)
        start = self.match if self.match is not None and self.match < count else -step
        for moved in range(1, count + 1):
            index = (start + step * moved) % count
            if term in lines[index].lower():
                self.match = index
                log = self.shown_log
                log.scroll_to(y=max(index - log.size.height // 2, 0), animate=False)
                self._set_status(f"“{self.highlighter.term}”: line {index + 1} of {count}")
                return index
        self.match = None
        self._set_status(f"“{self.highlighter.term}”: not found")
        return None

    def _set_status(self, note: str) -> None:
        self.query_one("#status", Static).update(self._status(note))

    def _redraw_log(self) -> None:
        log = self.shown_log
        log.refresh_lines(0, len(log.lines))

    def action_back(self) -> None:
        """Close the search if it is open, else go back to the monitor."""
        search = self.query_one("#search", Input)
        if search.has_class("open"):
            search.remove_class("open")
            self.highlighter.term = ""
            self.match = None
            self._redraw_log()
            self._set_status("")
            self.shown_log.focus()
        else:
            self.app.pop_screen()
