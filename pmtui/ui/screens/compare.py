"""The `c` screen: seed 004's agent comparison, one row per agent, from `RunView.agent_stats`.

```
Agent              Tasks  Done  Fail  Success         Mean  Peak RSS  CPU
swebok-engineer        2     1     0  ████████ 100%  12.5s     212MB  24%
```

Unknown values (nothing ended yet, no samples) show as "—". Shows; never acts on the run.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from pmtui.config.units import format_duration, format_size
from pmtui.report.view import AgentStats, RunView
from pmtui.scheduling.states import TaskState
from pmtui.ui.themes import Glyphs
from pmtui.ui.widgets.monitor import bar

UNKNOWN = "—"
"""Shown for a value not known yet."""

BAR_CELLS = 8
"""Cells of the success-rate bar."""

COLUMNS = (
    ("agent", "Agent"),
    ("tasks", "Tasks"),
    ("done", "Done"),
    ("failed", "Fail"),
    ("success", "Success"),
    ("duration", "Mean"),
    ("rss", "Peak RSS"),
    ("cpu", "CPU"),
)
"""Column key and label, in order."""


def agent_cells(stats: AgentStats, glyphs: Glyphs) -> tuple[str, ...]:
    """One agent's row as plain strings, in `COLUMNS` order.

    Args:
        stats: The agent's numbers.
        glyphs: For the success-rate bar.
    """
    if stats.success_rate is None:
        success = f"{glyphs.bar_empty * BAR_CELLS} {UNKNOWN:>4}"
    else:
        rate = stats.success_rate
        success = f"{bar(rate, BAR_CELLS, glyphs)} {rate:3.0f}%"
    duration = stats.mean_duration_s
    return (
        stats.agent,
        str(stats.tasks),
        str(stats.done),
        str(stats.failed),
        success,
        UNKNOWN if duration is None else format_duration(duration),
        UNKNOWN if stats.peak_rss is None else format_size(stats.peak_rss),
        UNKNOWN if stats.mean_cpu is None else f"{stats.mean_cpu:.0f}%",
    )


def summary_line(view: RunView) -> str:
    """The line above the table: agents, tasks, and how many are done, failed and running."""
    stats = view.agent_stats()
    done = sum(agent.done for agent in stats)
    failed = sum(agent.failed for agent in stats)
    ended = done + failed
    rate = f"{100.0 * done / ended:.0f}%" if ended else UNKNOWN
    running = sum(task.status is TaskState.RUNNING for task in view.tasks)
    return (
        f"Agents: {len(stats)} | Tasks: {len(view.tasks)} | Done: {done} | "
        f"Failed: {failed} | Running: {running} | Success: {rate}"
    )


class CompareScreen(Screen[None]):
    """The agent comparison; `refresh_from(view)` redraws it, `escape` or `q` goes back."""

    BINDINGS = [Binding("escape,q", "back", "Back", id="compare.back")]
    DEFAULT_CSS = """
    CompareScreen #title, CompareScreen #summary {
        padding: 0 1;
    }
    CompareScreen #summary {
        margin-bottom: 1;
    }
    CompareScreen DataTable {
        height: 1fr;
    }
    """

    def __init__(self, view: RunView, glyphs: Glyphs) -> None:
        """A comparison of the agents of `view`.

        Args:
            view: The run's facts.
            glyphs: The theme's glyph set, for the bars.
        """
        super().__init__()
        self.run_view = view
        self.glyphs = glyphs

    def compose(self) -> ComposeResult:
        yield Static(Text("AGENT COMPARISON", style="bold"), id="title")
        yield Static(id="summary")
        table: DataTable[str | Text] = DataTable(cursor_type="row", zebra_stripes=True)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self._fill()

    def refresh_from(self, view: RunView) -> None:
        """Show `view`'s numbers now (the app calls this as events arrive)."""
        self.run_view = view
        if self.is_mounted:
            self._fill()

    def _fill(self) -> None:
        self.query_one("#summary", Static).update(summary_line(self.run_view))
        table: DataTable[str | Text] = self.query_one(DataTable)
        rows = [agent_cells(stats, self.glyphs) for stats in self.run_view.agent_stats()]
        shown = [key.value for key in table.rows]
        if shown == [row[0] for row in rows]:
            # Same agents: update in place, so the cursor and scroll stay where they are.
            for row in rows:
                for (column, _), value in zip(COLUMNS[1:], row[1:], strict=True):
                    table.update_cell(row[0], column, _cell(column, value))
            return
        cursor = table.cursor_row
        table.clear()
        for row in rows:
            cells = [_cell(column, value) for (column, _), value in zip(COLUMNS, row, strict=True)]
            table.add_row(*cells, key=row[0])
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))

    def action_back(self) -> None:
        """Back to the screen underneath."""
        self.app.pop_screen()


def _cell(column: str, value: str) -> str | Text:
    """Numbers are right-aligned; the agent's name and the bar are not."""
    if column in ("agent", "success"):
        return value
    return Text(value, justify="right")
