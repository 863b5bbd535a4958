"""The seed-001 monitor: overall progress, the slot strip, one row per busy slot.

```
🚀 PARALLEL AGENT EXECUTION MONITOR
Overall Progress: ████████████░░░░░░ 65% | Elapsed: 3m45s | Cost: $1.23 · 45k tok
Threads: [1:⚡] [2:⚡] [3:⚡] [4:⏸️] [5:✅] | Memory: 512MB | CPU: 68%
[T1] ⚡ swebok-engineer    ████████░░░░ 75% | Implementing features
```

`render_monitor` draws it from a `RunView` (the same facts the headless lines show) as Rich
text; the `Monitor` widget puts it in the heavy box and redraws it when told to. Estimated
bars use their own glyph and a `~` before the percentage; boost slots are marked `+`;
every waiting task gets a line with its reason. Once real agents report usage, the overall
line ends with the run's cost and tokens (the bar gives up cells for it). Conflicts left
and merges waiting for hand edits get a last line naming the key of the conflicts screen:
the user must act on them.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

from pmtui.config.units import format_cost, format_duration, format_size, format_tokens
from pmtui.report.view import RunView, TaskView
from pmtui.scheduling.states import TaskState
from pmtui.ui.themes import Glyphs

TITLE = "🚀 PARALLEL AGENT EXECUTION MONITOR"
TITLE_ASCII = "PARALLEL AGENT EXECUTION MONITOR"
AGENT_WIDTH = 18
MIN_BAR = 6
WAITING_LINES = 3
"""Waiting tasks listed under the rows; the rest are counted."""


def status_glyph(task: TaskView, glyphs: Glyphs, now: float) -> str:
    """The seed-001 glyph of a task's state (🔄 in its first second without progress)."""
    match task.status:
        case TaskState.RUNNING:
            fresh = task.percent is None and task.running_for(now) < 1.0
            return glyphs.starting if fresh else glyphs.running
        case TaskState.DONE:
            return glyphs.done
        case TaskState.FAILED:
            return glyphs.failed
        case TaskState.RETRYING:
            return glyphs.retrying
        case TaskState.WAITING:
            return glyphs.waiting
        case TaskState.SKIPPED:
            return glyphs.skipped
        case TaskState.CANCELLED:
            return glyphs.cancelled
        case TaskState.CONFLICT:
            return glyphs.conflict
    return glyphs.idle


def bar(percent: float, cells: int, glyphs: Glyphs, *, estimated: bool = False) -> str:
    """A progress bar of `cells` cells."""
    full = round(cells * min(max(percent, 0.0), 100.0) / 100.0)
    fill = glyphs.estimated_bar if estimated else glyphs.bar_full
    return fill * full + glyphs.bar_empty * (cells - full)


def _fit(text: str, width: int) -> str:
    if cell_len(text) <= width:
        return text
    while text and cell_len(text) > width - 1:
        text = text[:-1]
    return text + "…"


def _slot_glyph(view: RunView, slot: int, glyphs: Glyphs, now: float) -> str:
    for task in view.running():
        if task.slot == slot:
            return status_glyph(task, glyphs, now)
    last = view.slot_tasks.get(slot)
    if last is None:
        return glyphs.idle
    task = view.task(last)
    if task.status is TaskState.RUNNING:  # it runs again, on another slot
        return glyphs.idle
    return status_glyph(task, glyphs, now)


def _strip(view: RunView, glyphs: Glyphs, now: float) -> str:
    cells = []
    for slot in range(1, max(view.slots, view.base_slots) + 1):
        mark = "+" if slot > view.base_slots else ""
        cells.append(f"[{slot}{mark}:{_slot_glyph(view, slot, glyphs, now)}]")
    return " ".join(cells)


def render_monitor(
    view: RunView,
    now: float,
    glyphs: Glyphs,
    width: int,
    *,
    ascii: bool = False,  # noqa: A002
    conflicts_key: str = "x",
) -> Text:
    """The monitor's lines for a box `width` cells wide inside.

    Args:
        view: The run's facts.
        now: Seconds since the run started (the elapsed time and fresh-start glyphs).
        glyphs: The theme's glyph set.
        width: Cells available per line.
        ascii: Drop the rocket from the title.
        conflicts_key: The key that opens the conflicts screen (named by the hint).
    """
    width = max(width, 20)
    lines: list[Text] = []
    title = Text(TITLE_ASCII if ascii else TITLE, style="bold")
    if view.paused:
        title.append("   PAUSED", style="bold reverse")
    elif view.status is not None:
        title.append(f"   FINISHED: {view.status}", style="bold")
    lines.append(title)
    lines.append(_overall(view, now, glyphs, width, ascii=ascii))
    running = view.running()
    memory = sum(task.rss or 0 for task in running)
    cpu = sum(task.cpu_percent or 0.0 for task in running)
    usage = f" | Memory: {format_size(memory)} | CPU: {cpu:.0f}%"
    boost = " | BOOST" if view.slots > view.base_slots else ""
    lines.append(Text(_fit("Threads: " + _strip(view, glyphs, now) + usage + boost, width)))
    for task in running:
        lines.append(_row(view, task, glyphs, now, width))
    waiting = [task for task in view.tasks if task.status is TaskState.WAITING]
    for task in waiting[:WAITING_LINES]:
        line = f"     {glyphs.waiting} {task.id} waiting: {task.waiting_reason}"
        lines.append(Text(_fit(line, width), style="dim"))
    if len(waiting) > WAITING_LINES:
        lines.append(Text(f"     … {len(waiting) - WAITING_LINES} more waiting", style="dim"))
    hint = conflicts_hint(view, glyphs, conflicts_key, ascii=ascii)
    if hint:
        lines.append(Text(_fit(hint, width), style="bold"))
    return Text("\n").join(lines)


def usage_parts(view: RunView, *, ascii: bool = False) -> list[str]:  # noqa: A002
    """The run's usage for the overall line, most important first: `Cost: $1.23`, `45k tok`;
    [] while no agent reported any (then the line is as it always was)."""
    if not view.tokens and view.cost_usd is None:
        return []
    cost = format_cost(view.cost_usd) if view.cost_usd is not None else ("-" if ascii else "—")
    return [f"Cost: {cost}", f"{format_tokens(view.tokens)} tok"]


def _overall(
    view: RunView,
    now: float,
    glyphs: Glyphs,
    width: int,
    *,
    ascii: bool,  # noqa: A002
) -> Text:
    """`Overall Progress: ███░░ 65% | Elapsed: 3m45s | Cost: $1.23 · 45k tok`: the bar
    shrinks first, then the tokens and the cost are left out, so the line fits."""
    percent = view.overall_percent(now)
    head = "Overall Progress: "
    tail = f" {percent:3.0f}% | Elapsed: {format_duration(view.elapsed(now))}"
    usage = usage_parts(view, ascii=ascii)
    dot = " / " if ascii else " · "
    while usage and width - cell_len(head + tail + " | " + dot.join(usage)) < MIN_BAR:
        usage.pop()
    if usage:
        tail += " | " + dot.join(usage)
    bar_cells = max(MIN_BAR, min(30, width - cell_len(head) - cell_len(tail)))
    return Text(head + bar(percent, bar_cells, glyphs) + tail)


def conflicts_hint(view: RunView, glyphs: Glyphs, key: str, *, ascii: bool = False) -> str:  # noqa: A002
    """`⚔ 1 conflict, 1 merge waiting for hand edits — press x`; "" when there is neither."""
    conflicts = len(view.conflicted())
    waiting = sum(bool(task.merge_waiting) for task in view.tasks)
    parts = []
    if conflicts:
        parts.append(f"{conflicts} conflict{'s' if conflicts != 1 else ''}")
    if waiting:
        parts.append(f"{waiting} merge{'s' if waiting != 1 else ''} waiting for hand edits")
    if not parts:
        return ""
    dash = "-" if ascii else "—"
    return f"{glyphs.conflict} {', '.join(parts)} {dash} press {key}"


def _row(view: RunView, task: TaskView, glyphs: Glyphs, now: float, width: int) -> Text:
    percent = view.task_percent(task, now)
    estimated = task.estimated or not task.reported
    label = f"~{percent:2.0f}%" if estimated else f"{percent:3.0f}%"
    head = f"[T{task.slot}] {status_glyph(task, glyphs, now)} {task.agent:<{AGENT_WIDTH}} "
    head = _fit(head, max(width // 2, 12))
    message = task.message or task.title
    bar_cells = max(MIN_BAR, min(12, width - cell_len(head) - 8 - 10))
    text = f"{head}{bar(percent, bar_cells, glyphs, estimated=estimated)} {label} | {message}"
    return Text(_fit(text, width))


class Monitor(Widget):
    """The boxed monitor; `update_from(view, now)` redraws it at the widget's width."""

    DEFAULT_CSS = """
    Monitor {
        border: heavy $primary;
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, glyphs: Glyphs, *, ascii: bool = False, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.glyphs = glyphs
        self.ascii = ascii
        self.view: RunView | None = None
        self.now = 0.0
        self.conflicts_key = "x"
        """The key of the conflicts screen, as the hint names it (remapped keys too)."""

    def update_from(self, view: RunView, now: float) -> None:
        """Show the view at `now` (its height may change: the layout is redone)."""
        self.view, self.now = view, now
        self.refresh(layout=True)

    def render(self) -> Text:
        if self.view is None:
            return Text("")
        width = self.content_size.width or 76
        return render_monitor(
            self.view,
            self.now,
            self.glyphs,
            width,
            ascii=self.ascii,
            conflicts_key=self.conflicts_key,
        )
