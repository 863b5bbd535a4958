"""The run so far as a Gantt chart (docs/design.md §8 `g`), and the forecast of what remains.

One row per slot, a bar per task from its start to its end (or to now while it runs), drawn
with the dry run's bar helpers (`report/gantt.py`) so both charts read alike. The view keeps
no slot for a task once it ended, so the screen remembers every slot it saw a task run on;
a task it never saw running is put on the lowest slot free for its whole span.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from pmtui.config.units import format_duration
from pmtui.report.gantt import MIN_WIDTH, RAN, Scale, axis_lines, draw_bar, slot_label
from pmtui.report.view import RunView
from pmtui.scheduling.decisions import Outcome
from pmtui.scheduling.simulator import ScheduledAttempt
from pmtui.scheduling.states import TaskState

RUNNING_END = "▸"
"""Ends the bar of a task still running (its bar reaches now)."""
NOTHING_YET = "(no task has started yet)"

_OUTCOMES = {
    TaskState.DONE: Outcome.SUCCEEDED,
    TaskState.RUNNING: Outcome.SUCCEEDED,
    TaskState.FAILED: Outcome.FAILED,
    TaskState.CONFLICT: Outcome.CONFLICT,
}
"""How a task's state draws (any other ended state: stopped, drawn as failed)."""


def run_bars(
    view: RunView, now: float, known_slots: Mapping[str, int] | None = None
) -> list[ScheduledAttempt]:
    """Every attempt so far as a bar (`RunView.spans`): running ones end at `now`.

    Args:
        view: The run so far.
        now: Seconds since the run started.
        known_slots: Unused (kept for callers of the earlier reconstruction).
    """
    del known_slots
    bars = []
    for span in view.spans:
        end = span.end if span.end is not None else max(view.elapsed(now), span.start)
        if span.end is None or span.ended == "done":
            outcome: Outcome | None = Outcome.SUCCEEDED
        elif span.ended == "conflict":
            outcome = Outcome.CONFLICT
        elif span.ended in ("failed", "retrying"):
            outcome = Outcome.FAILED
        else:
            outcome = None  # stopped: skipped, cancelled, or held back by a rate limit
        bars.append(
            ScheduledAttempt(
                span.task, span.agent, span.slot, span.attempt, span.start, end, outcome
            )
        )
    return sorted(bars, key=lambda bar: (bar.start_s, bar.slot, bar.task))


def render_timeline(
    view: RunView, now: float, width: int, known_slots: Mapping[str, int] | None = None
) -> list[str]:
    """The chart of the run so far: one row per slot used, a time axis, a legend.

    Args:
        view: The run so far.
        now: Seconds since the run started (the chart's right edge while it runs).
        width: The columns available; no line is wider (at least `MIN_WIDTH` is used).
        known_slots: Slots seen before for tasks the view no longer places.
    """
    bars = run_bars(view, now, known_slots)
    if not bars:
        return [NOTHING_YET]
    width = max(width, MIN_WIDTH)
    normal = view.base_slots or view.slots
    slots = sorted({bar.slot for bar in bars})
    labels = {slot: slot_label(slot, normal) for slot in slots}
    label_width = max(len(label) for label in labels.values())
    columns = width - label_width - 2
    end = max(view.elapsed(now), *(bar.end_s for bar in bars))
    scale = Scale(columns, end / columns if end > 0 else 0.0)
    rows: dict[int, list[str]] = {slot: [" "] * columns for slot in slots}
    drawn_to: dict[int, int] = defaultdict(int)
    running = {task.id for task in view.running()}
    for bar in bars:
        row = rows[bar.slot]
        drawn_to[bar.slot] = draw_bar(row, bar, scale, drawn_to[bar.slot])
        last = drawn_to[bar.slot] - 1
        if bar.task in running and row[last] == RAN:
            row[last] = RUNNING_END
    lines = [f"{labels[slot]:<{label_width}} │{''.join(rows[slot]).rstrip()}" for slot in slots]
    lines.extend(axis_lines(scale, end, label_width))
    legend = [f"{RUNNING_END} running"] if running else []
    if any(bar.outcome is not Outcome.SUCCEEDED for bar in bars):
        legend.append("x failed or stopped")
    if any(bar.attempt > 1 for bar in bars):
        legend.append("#n the n-th attempt")
    if legend:
        lines.append(" " * (label_width + 2) + " · ".join(legend))
    return [line[:width] for line in lines]


class RunChart(Widget):
    """The chart of `render_timeline`, drawn for the widget's own width."""

    DEFAULT_CSS = """
    RunChart {
        height: auto;
    }
    """

    def __init__(self, view: RunView, now: float, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.view = view
        self.now = now
        self.known_slots: dict[str, int] = {}
        """Every slot seen per task: the view forgets a task's slot when it ends."""
        self.remember()

    def remember(self) -> None:
        """Note the slots of the running tasks."""
        for task in self.view.running():
            if task.slot is not None:
                self.known_slots[task.id] = task.slot

    def lines(self, width: int) -> list[str]:
        """The chart's lines for `width` columns."""
        return render_timeline(self.view, self.now, width, self.known_slots)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    def render(self) -> Text:
        return Text("\n".join(self.lines(self.size.width)), no_wrap=True)


class TimelineScreen(Screen[None]):
    """The run so far as a Gantt chart, with the forecast of what remains below it.

    Args:
        view: The run so far.
        forecast_lines: The dry-run chart of what remains (`report.remaining`), if known.
        now: Seconds since the run started (default: the view's last event).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="timeline.back"),
        Binding("q", "back", "Back", id="timeline.quit", show=False),
    ]
    DEFAULT_CSS = """
    TimelineScreen #title {
        background: $boost;
        padding: 0 1;
    }
    TimelineScreen VerticalScroll {
        height: 1fr;
        padding: 0 1;
    }
    TimelineScreen #forecast-title {
        margin-top: 1;
        text-style: bold;
    }
    """

    def __init__(
        self,
        view: RunView,
        forecast_lines: Sequence[str] | None,
        *,
        now: float | None = None,
    ) -> None:
        super().__init__()
        self.view = view
        self.now = view.elapsed() if now is None else now
        self.forecast_lines = list(forecast_lines) if forecast_lines is not None else None

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="title")
        with VerticalScroll():
            yield RunChart(self.view, self.now, id="chart")
            yield Static("What remains, by estimates", id="forecast-title")
            yield Static(self._forecast(), id="forecast")
        yield Footer()

    def _title(self) -> str:
        view = self.view
        elapsed = format_duration(view.elapsed(self.now))
        state = f"run {view.status}" if view.status else f"{len(view.running())} running"
        run = view.run_id or view.plan or "run"
        ended = f"{view.finished_count}/{view.total} ended"
        return f"Timeline · {run} · {elapsed} elapsed · {ended} · {state}"

    def _forecast(self) -> Text:
        if self.forecast_lines is None:
            return Text("(no forecast)", style="dim")
        return Text("\n".join(self.forecast_lines), no_wrap=True, overflow="crop")

    def refresh_from(self, view: RunView, now: float) -> None:
        """Redraw from the view at `now` (the app calls it at each redraw while shown)."""
        self.view, self.now = view, now
        chart = self.query_one(RunChart)
        chart.view, chart.now = view, now
        chart.remember()
        chart.refresh(layout=True)
        self.query_one("#title", Static).update(self._title())

    def set_forecast(self, forecast_lines: Sequence[str] | None) -> None:
        """Show a new forecast of what remains (None: none)."""
        self.forecast_lines = list(forecast_lines) if forecast_lines is not None else None
        self.query_one("#forecast", Static).update(self._forecast())

    def action_back(self) -> None:
        """Go back to the monitor."""
        self.app.pop_screen()
