"""The end-of-run tables: one row per task, and the agent comparison (seed 004).

    task                  status   tries  time    peak RSS  reason
    2.1 Add the parser    done     1      27.7s   212MB
    2.3 Wire the CLI      FAILED   3      1m2s    96MB      exit 1
    total 12 tasks: 10 done, 1 failed, 1 skipped  elapsed 4m10s  peak RSS 512MB

Both read a `RunView`, so the headless summary and the TUI's summary show the same facts.
Every row is exactly one line no wider than `width` terminal cells: text from agents and plans
is cleaned as `lines.py` does, and long text ends in `…`. With `ascii=True` the text is pure
ASCII. Pure: returns strings, no I/O; never imports textual.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from pmtui.config.units import format_cost, format_duration, format_size, format_tokens
from pmtui.report.lines import clean_text
from pmtui.report.view import RunView, TaskView
from pmtui.scheduling.states import TaskState

_GAP = "  "
"""Between columns."""

_BAR_CELLS = 10
"""Width of the success-rate bar."""

_ASCII = str.maketrans({"—": "-", "…": "...", "→": "->", "×": "x", "█": "#", "░": "."})
"""The glyphs these tables use, and their ASCII stand-ins."""

_LOUD = frozenset({TaskState.FAILED, TaskState.CONFLICT, TaskState.CANCELLED})
"""Statuses written in capitals, as the event lines do, so they stand out."""


def _cell_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _cells(text: str) -> int:
    """How many terminal cells `text` takes."""
    return sum(_cell_width(char) for char in text)


class _Style:
    """The glyphs of one mode: Unicode, or pure ASCII."""

    def __init__(self, ascii_only: bool) -> None:
        self.ascii_only = ascii_only
        self.none = "-" if ascii_only else "—"
        self.ellipsis = "..." if ascii_only else "…"
        self.full = "#" if ascii_only else "█"
        self.empty = "." if ascii_only else "░"

    def text(self, raw: str) -> str:
        """Agent or plan text as one clean line, pure ASCII in ASCII mode; runs of spaces
        become one, so no cell looks like two."""
        cleaned = re.sub(" {2,}", " ", clean_text(raw))
        if not self.ascii_only:
            return cleaned
        return cleaned.translate(_ASCII).encode("ascii", "backslashreplace").decode("ascii")

    def fit(self, text: str, width: int) -> str:
        """`text` cut to `width` cells, ending in an ellipsis when cut."""
        if _cells(text) <= width:
            return text
        if width <= 0:
            return ""
        if width <= _cells(self.ellipsis):
            return self.ellipsis[:width]
        room = width - _cells(self.ellipsis)
        kept, used = [], 0
        for char in text:
            used += _cell_width(char)
            if used > room:
                break
            kept.append(char)
        return "".join(kept).rstrip() + self.ellipsis


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _cells(text), 0)


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    flexible: Sequence[int],
    width: int,
    style: _Style,
    *,
    right: frozenset[int] = frozenset(),
) -> list[str]:
    """Rows laid out in columns; the `flexible` columns shrink so each line fits `width`.

    They share the room the others leave evenly, and what one does not need goes to the next,
    in the order given.
    """
    columns = len(header)
    natural = [max(_cells(row[col]) for row in [header, *rows]) for col in range(columns)]
    widths = list(natural)
    fixed = sum(natural[col] for col in range(columns) if col not in flexible)
    room = max(width - fixed - len(_GAP) * (columns - 1), 0)
    share = room // len(flexible)
    for col in flexible:
        widths[col] = min(natural[col], share)
    left = room - sum(widths[col] for col in flexible)
    for col in flexible:
        extra = min(natural[col] - widths[col], left)
        widths[col] += extra
        left -= extra
    lines = []
    for row in [header, *rows]:
        cells = []
        for col, text in enumerate(row):
            fitted = style.fit(text, widths[col])
            pad = " " * max(widths[col] - _cells(fitted), 0)
            cells.append(pad + fitted if col in right else fitted + pad)
        lines.append(style.fit(_GAP.join(cells).rstrip(), width))
    return lines


def usage_text(tokens: int, cost_usd: float | None, unknown: str = "—") -> str:
    """`cost $1.23 · 45k tok` (the cost `—` when no agent reported or priced it)."""
    cost = format_cost(cost_usd) if cost_usd is not None else unknown
    return f"cost {cost} · {format_tokens(tokens)} tok"


def _status(task: TaskView) -> str:
    return task.status.upper() if task.status in _LOUD else str(task.status)


def _reason(task: TaskView, now: float, view: RunView) -> str:
    match task.status:
        case TaskState.WAITING:
            return task.waiting_reason
        case TaskState.RUNNING:
            percent = f"{view.task_percent(task, now):.0f}%"
            return " ".join(filter(None, [percent, task.message]))
        case _:
            return task.reason


def _duration(task: TaskView, now: float, style: _Style) -> str:
    if task.duration_s is not None:
        return format_duration(task.duration_s)
    if task.status is TaskState.RUNNING:
        return format_duration(task.running_for(now))
    return style.none


def _size(size: int | None, style: _Style) -> str:
    return format_size(size) if size is not None else style.none


def _totals(view: RunView, now: float, style: _Style, width: int) -> str:
    """The totals line; its least telling parts are left out when they do not fit."""
    counts = view.counts()
    tally = [f"{counts[TaskState.DONE]} done", f"{counts[TaskState.FAILED]} failed"]
    tally += [
        f"{n} {state}"
        for state, n in counts.items()
        if n and state not in (TaskState.DONE, TaskState.FAILED)
    ]
    head = f"run {style.text(view.status)}: " if view.status is not None else ""
    parts = [
        f"{head}{view.total} task{'s' * (view.total != 1)}: " + ", ".join(tally),
        f"elapsed {format_duration(view.elapsed(now))}",
    ]
    if view.tokens or view.cost_usd is not None:
        parts.append(usage_text(view.tokens, view.cost_usd, style.none))
    if view.peak_total_rss is not None:
        parts.append(f"peak RSS {format_size(view.peak_total_rss)}")
    while len(parts) > 1 and _cells(_GAP.join(parts)) > width:
        parts.pop()
    return style.fit(_GAP.join(parts), width)


def render_summary_table(
    view: RunView,
    *,
    width: int = 100,
    ascii: bool = False,  # noqa: A002
    now: float | None = None,
    max_rows: int | None = None,
) -> str:
    """The summary table: one row per task in plan order, then a totals line.

    With `max_rows` and more tasks than that, tasks that ended done are left out (a line
    says how many), so a run of a thousand tasks ends with what needs attention.

    Columns: task (id and title), status, attempts, duration, peak RSS (`—` if never
    sampled) and reason (the waiting reason, or the progress, for tasks not final). The task
    and reason columns shrink to fit `width`, the reason first.

    Args:
        view: The run's facts.
        width: The most terminal cells a line may take.
        ascii: Pure ASCII output.
        now: The time the table is for (a running task's duration); defaults to the last event.
        max_rows: Above this many tasks, list only those that did not end done.
    """
    style = _Style(ascii)
    at = view.elapsed(now)
    shown = view.tasks
    if max_rows is not None and len(shown) > max_rows:
        shown = [task for task in shown if task.status is not TaskState.DONE]
    header = ["task", "status", "tries", "time", "peak RSS", "reason"]
    rows = [
        [
            style.text(f"{task.id} {task.title}" if task.title != task.id else task.id),
            _status(task),
            str(task.attempt),
            _duration(task, at, style),
            _size(task.peak_rss, style),
            style.text(_reason(task, at, view)),
        ]
        for task in shown
    ]
    flexible, right = (0, 5), frozenset({2})
    if any(task.usage for task in view.tasks):  # real agents: their tokens and cost too
        header[5:5] = ["tokens", "cost"]
        for task, row in zip(shown, rows, strict=True):
            cost = task.cost_usd
            row[5:5] = [
                format_tokens(task.tokens) if task.usage else style.none,
                format_cost(cost) if cost is not None else style.none,
            ]
        flexible, right = (0, 7), frozenset({2, 5, 6})
    lines = _table(header, rows, flexible, width, style, right=right) if rows else []
    if len(shown) < len(view.tasks):
        left_out = len(view.tasks) - len(shown)
        note = f"({left_out} tasks that ended done are not listed; `pmtui status` shows all)"
        lines.append(style.fit(style.text(note), width))
    lines.append(_totals(view, at, style, width))
    return "\n".join(lines)


def _bar(percent: float, cells: int, style: _Style) -> str:
    full = round(cells * min(max(percent, 0.0), 100.0) / 100.0)
    return style.full * full + style.empty * (cells - full)


def _agent_rows(
    view: RunView, bar_cells: int, style: _Style, with_usage: bool
) -> list[list[str]]:
    rows = []
    for stats in view.agent_stats():
        rate = stats.success_rate
        if rate is None:
            success = style.none
        else:
            bar = _bar(rate, bar_cells, style) + " " if bar_cells else ""
            success = f"{bar}{rate:3.0f}%"
        mean = stats.mean_duration_s
        rows.append(
            [
                style.text(stats.agent) or style.none,
                str(stats.tasks),
                str(stats.done),
                str(stats.failed),
                success,
                format_duration(mean) if mean is not None else style.none,
                _size(stats.peak_rss, style),
                f"{stats.mean_cpu:.0f}%" if stats.mean_cpu is not None else style.none,
            ]
        )
        if with_usage:
            per_1k = stats.cost_per_1k_tokens
            rows[-1] += [
                format_tokens(stats.tokens) if stats.tokens else style.none,
                format_cost(stats.cost_usd) if stats.cost_usd is not None else style.none,
                str(stats.turns) if stats.turns is not None else style.none,
                f"${per_1k:.4f}" if per_1k is not None else style.none,
            ]
    return rows


def render_agent_stats(
    view: RunView,
    *,
    width: int = 100,
    ascii: bool = False,  # noqa: A002
) -> str:
    """The agent comparison (seed 004), one row per agent in order of first appearance.

    Columns: the agent's tasks, how many ended done and failed (`failed` or `conflict`), the
    success rate among those (with a bar when the width allows), the mean duration of its done
    tasks, its peak RSS and its mean CPU (percent of one core); when real agents reported
    usage, also their tokens, cost, turns and cost per thousand tokens.

    Args:
        view: The run's facts.
        width: The most terminal cells a line may take.
        ascii: Pure ASCII output.
    """
    style = _Style(ascii)
    header = ["agent", "tasks", "done", "failed", "success", "mean", "peak RSS", "CPU"]
    right = frozenset({1, 2, 3, 4, 7})
    with_usage = any(stats.tokens or stats.cost_usd is not None for stats in view.agent_stats())
    if with_usage:  # real agents (seed 004): tokens, cost, turns, cost per 1K tokens
        header += ["tokens", "cost", "turns", "$/1K"]
        right |= {8, 9, 10, 11}
    fixed_gaps = len(_GAP) * (len(header) - 1)
    # The agent's whole name matters more than the bar: shorten the bar, then drop it.
    for bar_cells in (_BAR_CELLS, _BAR_CELLS // 2, 0):
        rows = _agent_rows(view, bar_cells, style, with_usage)
        fixed = sum(
            max(_cells(row[col]) for row in [header, *rows]) for col in range(1, len(header))
        )
        agent = max((_cells(row[0]) for row in [header, *rows]), default=0)
        if width - fixed - fixed_gaps >= agent:
            break
    return "\n".join(_table(header, rows, (0,), width, style, right=right))
