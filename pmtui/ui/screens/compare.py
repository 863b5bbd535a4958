"""The `c` screen: seed 004's agent comparison, one row per agent, from `RunView.agent_stats`.

```
Agent              Tasks  Done  Fail  Success         Mean  Peak RSS  CPU
swebok-engineer        2     1     0  ████████ 100%  12.5s     212MB  24%
```

Once real agents report usage, seed 004's Tokens, Cost, Turns and $/1K (dollars per thousand
tokens) columns follow, and the summary line ends with the run's cost and tokens. Unknown
values (nothing ended yet, no samples, no price) show as "—". Shows; never acts on the run.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from pmtui.config.units import format_cost, format_duration, format_size, format_tokens
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

USAGE_COLUMNS = (
    ("tokens", "Tokens"),
    ("cost", "Cost"),
    ("turns", "Turns"),
    ("per_1k", "$/1K"),
)
"""Added after `COLUMNS` once any agent reported usage (tokens or a cost)."""


def has_usage(view: RunView) -> bool:
    """Whether any agent of the run reported tokens or a cost (real agents, not the demo)."""
    return bool(view.tokens) or view.cost_usd is not None


def columns(view: RunView) -> tuple[tuple[str, str], ...]:
    """The table's columns for `view`: the usage ones only when there is usage."""
    return COLUMNS + USAGE_COLUMNS if has_usage(view) else COLUMNS


def agent_cells(stats: AgentStats, glyphs: Glyphs, *, usage: bool = False) -> tuple[str, ...]:
    """One agent's row as plain strings, in `COLUMNS` order (then `USAGE_COLUMNS`).

    Args:
        stats: The agent's numbers.
        glyphs: For the success-rate bar.
        usage: Add the usage cells: tokens, cost, turns, dollars per thousand tokens.
    """
    if stats.success_rate is None:
        success = f"{glyphs.bar_empty * BAR_CELLS} {UNKNOWN:>4}"
    else:
        rate = stats.success_rate
        success = f"{bar(rate, BAR_CELLS, glyphs)} {rate:3.0f}%"
    duration = stats.mean_duration_s
    cells = (
        stats.agent,
        str(stats.tasks),
        str(stats.done),
        str(stats.failed),
        success,
        UNKNOWN if duration is None else format_duration(duration),
        UNKNOWN if stats.peak_rss is None else format_size(stats.peak_rss),
        UNKNOWN if stats.mean_cpu is None else f"{stats.mean_cpu:.0f}%",
    )
    if not usage:
        return cells
    per_1k = stats.cost_per_1k_tokens
    return cells + (
        format_tokens(stats.tokens) if stats.tokens else UNKNOWN,
        UNKNOWN if stats.cost_usd is None else format_cost(stats.cost_usd),
        UNKNOWN if stats.turns is None else str(stats.turns),
        UNKNOWN if per_1k is None else f"${per_1k:.4f}",
    )


def summary_line(view: RunView, width: int | None = None) -> str:
    """The line above the table: agents, tasks, and how many are done, failed and running,
    then the run's cost and tokens once agents report them (on a line of their own when the
    whole does not fit in `width` cells)."""
    stats = view.agent_stats()
    done = sum(agent.done for agent in stats)
    failed = sum(agent.failed for agent in stats)
    ended = done + failed
    rate = f"{100.0 * done / ended:.0f}%" if ended else UNKNOWN
    running = sum(task.status is TaskState.RUNNING for task in view.tasks)
    line = (
        f"Agents: {len(stats)} | Tasks: {len(view.tasks)} | Done: {done} | "
        f"Failed: {failed} | Running: {running} | Success: {rate}"
    )
    if has_usage(view):
        cost = UNKNOWN if view.cost_usd is None else format_cost(view.cost_usd)
        usage = f"Cost: {cost} · {format_tokens(view.tokens)} tok"
        joined = f"{line} | {usage}"
        line = joined if width is None or cell_len(joined) <= width else f"{line}\n{usage}"
    return line


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
        for key, label in columns(self.run_view):
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

    def on_resize(self, event: events.Resize) -> None:
        self._show_summary()

    def _show_summary(self) -> None:
        width = self.app.size.width - 2  # the padding
        self.query_one("#summary", Static).update(summary_line(self.run_view, width))

    def _fill(self) -> None:
        self._show_summary()
        table: DataTable[str | Text] = self.query_one(DataTable)
        wanted = columns(self.run_view)
        usage = wanted != COLUMNS
        rows = [
            agent_cells(stats, self.glyphs, usage=usage) for stats in self.run_view.agent_stats()
        ]
        same_columns = [key.value for key in table.columns] == [key for key, _ in wanted]
        shown = [key.value for key in table.rows]
        if same_columns and shown == [row[0] for row in rows]:
            # Same agents: update in place, so the cursor and scroll stay where they are.
            for row in rows:
                for (column, _), value in zip(wanted[1:], row[1:], strict=True):
                    table.update_cell(row[0], column, _cell(column, value))
            return
        cursor = table.cursor_row
        table.clear(columns=not same_columns)
        if not same_columns:  # the first usage arrived: the usage columns join
            for key, label in wanted:
                table.add_column(label, key=key)
        for row in rows:
            cells = [_cell(column, value) for (column, _), value in zip(wanted, row, strict=True)]
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
