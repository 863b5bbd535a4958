"""The event log screen: the run's readable lines (`report.lines.event_line`), newest last.

The app keeps the lines (a bounded deque) and hands them over; `append` adds live ones.
The lines are plain text, already one line each and free of escapes: no markup is parsed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Log, Static

MAX_LINES = 5000
"""Lines kept on the screen; older ones scroll away for good."""


class EventLogScreen(Screen[None]):
    """The event lines in a scrollable log that follows new lines; `escape` or `q` goes back."""

    BINDINGS = [Binding("escape,q", "back", "Back", id="events.back")]
    DEFAULT_CSS = """
    EventLogScreen #title {
        padding: 0 1;
    }
    EventLogScreen Log {
        height: 1fr;
    }
    """

    def __init__(self, lines: Sequence[str], *, max_lines: int = MAX_LINES) -> None:
        """A log of `lines`.

        Args:
            lines: The lines so far, oldest first.
            max_lines: Lines kept; the oldest go first.
        """
        super().__init__()
        self.max_lines = max_lines
        self.event_lines: deque[str] = deque(lines, maxlen=max_lines)
        """The lines shown, oldest first."""

    def compose(self) -> ComposeResult:
        yield Static(Text("EVENT LOG", style="bold"), id="title")
        yield Log(max_lines=self.max_lines, auto_scroll=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Log).write_lines(self.event_lines)

    def append(self, line: str) -> None:
        """Add a line at the bottom (the log follows it unless scrolled up)."""
        self.event_lines.append(line)
        if self.is_mounted:
            self.query_one(Log).write_line(line)

    def action_back(self) -> None:
        """Back to the screen underneath."""
        self.app.pop_screen()
