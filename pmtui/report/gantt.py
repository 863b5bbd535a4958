"""The dry run's output: a text Gantt chart of a forecast, its numbers, and its JSON object.

Pure text: no I/O, no clock, no textual. The same forecast and width give the same text.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pmtui.config.units import format_duration
from pmtui.scheduling.decisions import Outcome
from pmtui.scheduling.forecast import Forecast
from pmtui.scheduling.simulator import PredictedWait, ScheduledAttempt
from pmtui.scheduling.states import TaskState

MIN_WIDTH = 30
"""Narrower widths are drawn as this wide: below it a chart has no room for a time axis."""

RAN = "━"
"""Fills the bar of an attempt that succeeded."""
FAILED = "x"
"""Fills the bar of an attempt that failed, left a conflict, or was stopped."""
RATE_LIMITED = "~"
"""Fills the bar of an attempt that hit its agent's rate limit (requeued, not counted)."""
TRUNCATED = "…"
"""Ends an id cut short by a short bar."""
MARK = "▪"
"""A succeeded attempt one column wide: too short for any of its id."""

_TICK_STEPS_S = (
    0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30,
    60, 120, 300, 600, 900, 1800,
    3600, 7200, 10800, 21600, 43200, 86400,
)  # fmt: skip
"""Round durations for axis ticks; past a day, days × 2, 5, 10, 20, 50…"""
_MIN_TICK_GAP = 2
"""Blank columns at least between two tick labels."""
_TOP_WAITS_SHOWN = 3
_IDS_SHOWN = 8
_DECIMALS = 3
"""JSON seconds are rounded to milliseconds: finer is noise in an estimate."""


@dataclass(frozen=True, slots=True)
class Scale:
    """Maps seconds to the chart's columns: column `i` covers `[i, i + 1) × per_column`."""

    columns: int
    per_column: float

    def column(self, seconds: float) -> int:
        """The column a moment falls on (a bar ends before its end's column)."""
        if self.per_column <= 0:
            return 0
        return round(seconds / self.per_column)


def render_gantt(forecast: Forecast, width: int) -> str:
    """A text Gantt chart: one row per slot used, each attempt a bar with its task id.

    Args:
        forecast: The simulated run.
        width: The columns available; no line is wider (at least `MIN_WIDTH` is used).

    Returns:
        The chart with its time axis, ending in a newline.
    """
    attempts = forecast.simulation.attempts
    if not attempts:
        return "(no task to run: every task is done already)\n"
    width = max(width, MIN_WIDTH)
    slots = sorted({attempt.slot for attempt in attempts})
    labels = {slot: slot_label(slot, forecast.slots) for slot in slots}
    label_width = max(len(label) for label in labels.values())
    columns = width - label_width - 2  # " │" between label and chart
    makespan = max(forecast.makespan_s, max(attempt.end_s for attempt in attempts))
    scale = Scale(columns, makespan / columns if makespan > 0 else 0.0)

    rows: dict[int, list[str]] = {slot: [" "] * columns for slot in slots}
    drawn_to: dict[int, int] = defaultdict(int)
    for attempt in attempts:
        drawn_to[attempt.slot] = draw_bar(
            rows[attempt.slot], attempt, scale, drawn_to[attempt.slot]
        )

    lines = [f"{labels[slot]:<{label_width}} │{''.join(rows[slot]).rstrip()}" for slot in slots]
    lines.extend(axis_lines(scale, makespan, label_width))
    lines.extend(_wrap(_legend(attempts, forecast.slots), " " * (label_width + 2), width))
    # Only a legend note wider than a narrow terminal can overflow; cut it rather than wrap.
    return "\n".join(_fit(line, width) for line in lines) + "\n"


def _fit(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 1] + TRUNCATED


def slot_label(slot: int, normal_slots: int) -> str:
    return f"boost {slot}" if slot > normal_slots else f"slot {slot}"


def _bar_text(attempt: ScheduledAttempt) -> tuple[str, str]:
    """The id shown on an attempt's bar and the character that fills the rest."""
    name = attempt.task if attempt.attempt <= 1 else f"{attempt.task}#{attempt.attempt}"
    if attempt.outcome is Outcome.SUCCEEDED:
        return name, RAN
    if attempt.outcome is Outcome.RATE_LIMITED:
        return name, RATE_LIMITED
    return name, FAILED


def draw_bar(row: list[str], attempt: ScheduledAttempt, scale: Scale, drawn_to: int) -> int:
    """Draw one bar into its row; return the first column after it.

    A bar ends in its fill, `…` or is a lone mark, so two bars side by side never read as
    one id. A bar is at least one column wide, so a zero-length or very short attempt stays
    visible; when rounding puts it onto the bar before it on the same slot, it moves right
    past that bar rather than hide it (a column's worth of error, never a lost task).
    """
    columns = len(row)
    start = max(scale.column(attempt.start_s), drawn_to)
    end = max(scale.column(attempt.end_s), start + 1)
    if start >= columns:  # crowded against the right edge: share the last column
        start, end = columns - 1, columns
    end = min(end, columns)
    name, fill = _bar_text(attempt)
    length = end - start
    if length > len(name):  # at least one fill after the id: bars side by side stay apart
        text = name + fill * (length - len(name))
    elif length >= 2:
        text = name[: length - 1] + TRUNCATED
    else:
        text = MARK if fill == RAN else fill
    row[start:end] = list(text)
    return end


def axis_lines(scale: Scale, makespan: float, label_width: int) -> list[str]:
    """The axis line with its ticks and the line of tick labels under it."""
    line = ["─"] * scale.columns
    under = [" "] * scale.columns
    for seconds in _ticks(scale, makespan):
        column = scale.column(seconds)
        text = format_duration(seconds)
        line[column] = "┬"
        under[column : column + len(text)] = list(text)
    pad = " " * label_width
    return [f"{pad} └{''.join(line)}", f"{pad}  {''.join(under).rstrip()}"]


def _ticks(scale: Scale, makespan: float) -> list[float]:
    """Tick times: the smallest round step whose labels fit between the ticks."""
    if makespan <= 0 or scale.per_column <= 0:
        return [0.0]
    for step in _steps():
        if step / scale.per_column < len("0s") + _MIN_TICK_GAP:
            continue  # too close for any label; skipped before listing its many ticks
        count = int(makespan / step + 1e-9) + 1
        times = [index * step for index in range(count)]
        widest = max(len(format_duration(seconds)) for seconds in times)
        if step / scale.per_column >= widest + _MIN_TICK_GAP:
            return [
                seconds
                for seconds in times
                if scale.column(seconds) + len(format_duration(seconds)) <= scale.columns
            ]
    return [0.0]


def _steps() -> list[float]:
    days = [86400.0 * factor * 10**power for power in range(8) for factor in (2, 5, 10)]
    return [float(step) for step in _TICK_STEPS_S] + days


def _legend(attempts: tuple[ScheduledAttempt, ...], normal_slots: int) -> list[str]:
    """What the marks mean, naming only the marks the chart uses."""
    parts = []
    if any(
        attempt.outcome not in (Outcome.SUCCEEDED, Outcome.RATE_LIMITED) for attempt in attempts
    ):
        parts.append(f"{FAILED} failed or stopped")
    if any(attempt.outcome is Outcome.RATE_LIMITED for attempt in attempts):
        parts.append(f"{RATE_LIMITED} rate-limited")
    if any(attempt.attempt > 1 for attempt in attempts):
        parts.append("#n the n-th attempt")
    if any(attempt.slot > normal_slots for attempt in attempts):
        parts.append("boost: critical tasks only")
    return parts


def _wrap(parts: list[str], indent: str, width: int) -> list[str]:
    """Join parts with ` · ` into lines no wider than `width` (a part is never split)."""
    lines: list[str] = []
    current = ""
    for part in parts:
        joined = f"{current} · {part}" if current else part
        if current and len(indent) + len(joined) > width:
            lines.append(indent + current)
            joined = part
        current = joined
    if current:
        lines.append(indent + current)
    return lines


def render_dry_run(forecast: Forecast, width: int, plan_name: str) -> str:
    """The whole `pmtui run --dry-run` text: a header, the Gantt chart, then the numbers.

    Args:
        forecast: The simulated run.
        width: The columns available for the chart.
        plan_name: The plan as the user named it.
    """
    header = f"{plan_name}: dry run — the predicted schedule by estimates (nothing runs)"
    lines = [header, "", render_gantt(forecast, width)]
    lines.extend(_numbers(forecast))
    lines.extend(_boost(forecast))
    lines.extend(_waits(forecast.simulation.waits))
    lines.extend(_final_states(forecast))
    return "\n".join(lines) + "\n"


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}×" if denominator > 0 else "—"


def _numbers(forecast: Forecast) -> list[str]:
    terms = sorted(forecast.bound_terms, key=lambda term: -term.seconds)
    binding, others = terms[0], terms[1:]
    equal = [term for term in others if math.isclose(term.seconds, binding.seconds)]
    below = [term for term in others if term not in equal]
    bound = " = ".join(term.label for term in [binding, *equal])
    if below:
        bound += ", above " + " and ".join(
            f"{term.label} = {format_duration(term.seconds)}" for term in below
        )
    peak = _peak(forecast.simulation.attempts)
    return [
        f"  makespan      {format_duration(forecast.makespan_s)}",
        f"  lower bound   {format_duration(forecast.lower_bound_s)} = {bound}",
        f"  vs bound      {_ratio(forecast.makespan_s, forecast.lower_bound_s)} the lower bound",
        f"  sequential    {format_duration(forecast.sequential_s)} "
        "(every remaining task one after another)",
        f"  speedup       {forecast.speedup:.2f}× over sequential",
        f"  slots         {forecast.slots} (at most {peak} busy at once"
        + (", boost included)" if peak > forecast.slots else ")"),
    ]


def _peak(attempts: tuple[ScheduledAttempt, ...]) -> int:
    """The most attempts running at one moment (one that ends as another starts: not both)."""
    events = sorted(
        [(attempt.start_s, 1) for attempt in attempts if attempt.end_s > attempt.start_s]
        + [(attempt.end_s, -1) for attempt in attempts if attempt.end_s > attempt.start_s]
    )
    busy = peak = 0
    for _, change in events:
        busy += change
        peak = max(peak, busy)
    return max(peak, 1 if attempts else 0)


def _boost(forecast: Forecast) -> list[str]:
    boosted = [a for a in forecast.simulation.attempts if a.slot > forecast.slots]
    if not boosted:
        return []
    used = sorted({attempt.slot for attempt in boosted})
    tasks = list(dict.fromkeys(attempt.task for attempt in boosted))
    return [
        f"  boost slots   {_ids([str(slot) for slot in used])} of {forecast.boost_slots}, "
        f"used by {_ids(tasks)} (critical tasks waiting for a slot)"
    ]


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:_IDS_SHOWN])
    more = len(ids) - _IDS_SHOWN
    return shown + (f" … and {more} more" if more > 0 else "")


def _waits(waits: tuple[PredictedWait, ...]) -> list[str]:
    """Predicted waits grouped by kind, longest kind first, with the longest few of each."""
    if not waits:
        return ["  waits         no predicted waits"]
    by_kind: dict[str, list[PredictedWait]] = defaultdict(list)
    for wait in waits:
        by_kind[wait.kind].append(wait)
    kinds = sorted(by_kind, key=lambda kind: (-sum(w.seconds for w in by_kind[kind]), kind))
    kind_width = max(len(kind) for kind in kinds)
    lines = ["  waits         predicted, by kind (a task that could start is held back):"]
    for kind in kinds:
        group = by_kind[kind]
        tasks = len({wait.task for wait in group})
        lines.append(
            f"    {kind:<{kind_width}}  {format_duration(sum(w.seconds for w in group)):>7}  "
            f"{tasks} task{'s' * (tasks != 1)}"
        )
        longest = sorted(group, key=lambda wait: (-wait.seconds, wait.start_s, wait.task))
        for wait in longest[:_TOP_WAITS_SHOWN]:
            lines.append(
                f"      {wait.task}  {format_duration(wait.seconds)} from "
                f"{format_duration(wait.start_s)}: {_detail(wait)}"
            )
        if len(group) > _TOP_WAITS_SHOWN:
            lines.append(f"      … and {len(group) - _TOP_WAITS_SHOWN} more")
    return lines


def _detail(wait: PredictedWait) -> str:
    """A wait's reason without its kind, which heads its group already."""
    rest = wait.reason[len(wait.kind) :].lstrip(": ")
    return rest or wait.reason


def _final_states(forecast: Forecast) -> list[str]:
    """The tasks that did not end done, by state; nothing when every task did."""
    states = forecast.simulation.states
    not_done: dict[TaskState, list[str]] = defaultdict(list)
    for task, state in states.items():
        if state is not TaskState.DONE:
            not_done[state].append(task)
    if not not_done:
        return []
    run = forecast.simulation.run
    lines = [f"  outcome       {run.status} ({run.done} done of {len(states)})"]
    for state in sorted(not_done, key=lambda state: (-len(not_done[state]), state)):
        lines.append(f"    {state:<10} {_ids(not_done[state])}")
    if run.reason:
        lines.append(f"    reason     {run.reason}")
    return lines


def dry_run_json(forecast: Forecast) -> dict[str, Any]:
    """The `pmtui run --dry-run --json` object (docs/design.md §8).

    `{makespan_s, lower_bound_s, sequential_s, slots, schedule: [{task, slot, start_s,
    end_s}]}`: one schedule entry per attempt, in start order.
    """
    ordered = sorted(forecast.simulation.attempts, key=lambda attempt: attempt.start_s)
    return {
        "makespan_s": _seconds(forecast.makespan_s),
        "lower_bound_s": _seconds(forecast.lower_bound_s),
        "sequential_s": _seconds(forecast.sequential_s),
        "slots": forecast.slots,
        "schedule": [
            {
                "task": attempt.task,
                "slot": attempt.slot,
                "start_s": _seconds(attempt.start_s),
                "end_s": _seconds(attempt.end_s),
            }
            for attempt in ordered
        ],
    }


def _seconds(value: float) -> float:
    return round(value, _DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
