"""`pmtui history` and `pmtui status`: past and current runs from the store, as text or JSON.

    20240102-110000-ef56  2024-01-02 11:00  1m2s so far  running (pid 4242)  3 tasks: 3 pending
    20240102-100000-ab12  2024-01-02 10:00  5m3s         ok                 3 tasks: 3 done
    20240102-093000-cd34  2024-01-02 09:30  unfinished   interrupted        3 tasks: 3 pending

When any listed run's agents reported usage, a column shows each run's cost and tokens
(`cost $1.23 · 45k tok`, summed over its attempts); `pmtui status` then shows each task's
cost and tokens and, when agents named them, the last attempt's session. Without usage the
output is as it always was.

An interrupted run's line ends with `— resume with: pmtui run PLAN --resume` when `--resume`
would take it (the plan's newest unfinished run).

Pure: the caller reads the store, says whether a run's pmtui is still alive (`alive`) and
passes the time in (`now`, epoch seconds); nothing here reads the clock, the store or a
process table. Start times are shown in local time (`tz` overrides it, for tests). Text from
agents and plans has its escapes and line breaks cleaned as in `lines.py`; `ascii=True` gives
pure ASCII. Never imports textual.
"""

from __future__ import annotations

import math
import shlex
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any, Literal

from pmtui.config.units import format_cost, format_duration, format_tokens
from pmtui.report.lines import clean_text, finish_line
from pmtui.report.summary import usage_text
from pmtui.store.db import AttemptRecord, AttemptUsage, RunRecord, TaskRow

Alive = Callable[[RunRecord], bool]
"""Whether the pmtui process of an unfinished run is still alive (its pid, on its host)."""

Phase = Literal["finished", "running", "interrupted"]
"""Where a run is: it finished, its pmtui still runs it, or its pmtui died (resumable)."""

STATE_ORDER = (
    "done",
    "failed",
    "conflict",
    "cancelled",
    "skipped",
    "running",
    "retrying",
    "waiting",
    "ready",
    "pending",
)
"""The order task counts are listed in: outcomes first, then tasks still to run."""

REASON_WIDTH = 80
"""Characters of a task's reason shown in `pmtui status` (`--json` has all of it)."""

_GAP = "  "

_NONE = "—"
"""A cell with nothing to show."""

NO_ATTEMPTS: Mapping[str, Sequence[AttemptRecord]] = {}
"""The default `attempts_by_run`: no run's attempts known (no usage column, nulls in JSON)."""


def usage_totals(attempts: Iterable[AttemptRecord]) -> tuple[int | None, float | None]:
    """`(tokens, cost_usd)` of some attempts: the sums over those that reported usage.

    Tokens are `AttemptUsage.tokens` (input, output and cache reads: cache writes apart);
    `None` when no attempt reported usage. The cost sums the known costs; `None` when none
    is known.
    """
    used = [attempt.usage for attempt in attempts if attempt.usage is not None]
    if not used:
        return None, None
    costs = [
        use.cost_usd for use in used if use.cost_usd is not None and math.isfinite(use.cost_usd)
    ]
    return sum(use.tokens for use in used), (sum(costs) if costs else None)


def run_phase(run: RunRecord, alive: Alive) -> Phase:
    """`finished` when the run has an end, else `running` or `interrupted` by `alive`."""
    if run.finished_at is not None:
        return "finished"
    return "running" if alive(run) else "interrupted"


def resume_command(plan_path: str) -> str:
    """The command that continues the plan's last unfinished run, quoted for a shell."""
    return f"pmtui run {shlex.quote(plan_path)} --resume"


def start_command(plan_path: str) -> str:
    """The command that starts a run of the plan, quoted for a shell."""
    return f"pmtui run {shlex.quote(plan_path)}"


def state_counts(tasks: Iterable[TaskRow]) -> dict[str, int]:
    """How many tasks are in each state, in `STATE_ORDER` (unknown states last, by name)."""
    counts = Counter(task.state for task in tasks)
    known = [state for state in STATE_ORDER if counts[state]]
    extra = sorted(state for state in counts if state not in STATE_ORDER)
    return {state: counts[state] for state in [*known, *extra]}


def render_history(
    runs: Sequence[RunRecord],
    tasks_by_run: Mapping[str, Mapping[str, TaskRow]],
    *,
    now: float,
    plan: str | None,
    alive: Alive,
    ascii: bool = False,  # noqa: A002
    tz: tzinfo | None = None,
    attempts_by_run: Mapping[str, Sequence[AttemptRecord]] = NO_ATTEMPTS,
) -> str:
    """One line per run, newest first: id, start, duration, status, [plan,] [usage,] counts.

    Args:
        runs: The runs to list (`Store.runs(plan, limit)`), in any order.
        tasks_by_run: Each run's tasks by id (`Store.task_states(run_id)`); a missing run
            counts as having no tasks.
        now: The current time (epoch seconds), for how long a running run has run.
        plan: The plan the history was asked for; `None` lists all plans, and then each
            line also names its plan.
        alive: Whether an unfinished run's pmtui is still alive.
        ascii: Pure ASCII output.
        tz: The time zone of start times; `None` is the local one.
        attempts_by_run: Each run's attempts (`Store.attempts(run_id)`), for its cost and
            tokens; shown (as `cost $1.23 · 45k tok`, `—` for a run without usage) only
            when some listed run has usage.

    Returns:
        The lines, without a trailing newline. The line of the plan's newest unfinished
        run, when its pmtui died, ends with the command that resumes it (`--resume` takes
        only that run). No runs: a one-line hint.
    """
    if not runs:
        if plan is None:
            text = "no runs yet; start one with: pmtui run PLAN"
        else:
            shown = clean_text(plan)
            text = f"no runs yet for {shown}; start one with: {start_command(shown)}"
        return finish_line(text, ascii)
    ordered = sorted(runs, key=lambda run: (run.started_at, run.id), reverse=True)
    totals = {run.id: usage_totals(attempts_by_run.get(run.id, ())) for run in ordered}
    show_usage = any(tokens is not None for tokens, _ in totals.values())
    rows: list[list[str]] = []
    hints: list[str] = []
    newest_unfinished: set[str] = set()
    for run in ordered:
        phase = run_phase(run, alive)
        first_unfinished = run.finished_at is None and run.plan_path not in newest_unfinished
        if run.finished_at is None:
            newest_unfinished.add(run.plan_path)
        tasks = tasks_by_run.get(run.id, {})
        row = [
            clean_text(run.id),
            _local_time(run.started_at, tz),
            _history_duration(run, phase, now),
            _phase_text(run, phase),
            *([clean_text(run.plan_path)] if plan is None else []),
            *([_usage_cell(*totals[run.id])] if show_usage else []),
            _counts_text(state_counts(tasks.values())),
        ]
        rows.append(row)
        # `--resume` continues only the plan's newest unfinished run.
        resumable = phase == "interrupted" and first_unfinished
        hints.append(
            f" — resume with: {resume_command(clean_text(run.plan_path))}" if resumable else ""
        )
    lines = [line + hint for line, hint in zip(_columns(rows), hints, strict=True)]
    return finish_line("\n".join(lines), ascii)


def render_status(
    run: RunRecord,
    tasks: Mapping[str, TaskRow],
    attempts: Sequence[AttemptRecord],
    *,
    now: float,
    alive: Alive,
    ascii: bool = False,  # noqa: A002
    tz: tzinfo | None = None,
) -> str:
    """A run's header, one row per task, the counts and, if its pmtui died, how to resume.

    When an agent reported usage, the header gains `usage` (the run's cost and tokens) and
    the rows `cost` and `tokens` (each task's, over its attempts); when an agent named its
    session, the rows gain `session` (the last attempt's).

    Args:
        run: The run (`Store.run(id)`, or the plan's newest run).
        tasks: Its tasks by id, in plan order (`Store.task_states(run.id)`).
        attempts: Its attempts (`Store.attempts(run.id)`); each task's last one is shown.
        now: The current time (epoch seconds).
        alive: Whether the run's pmtui is still alive (asked only of an unfinished run).
        ascii: Pure ASCII output.
        tz: The time zone of the start time; `None` is the local one.

    Returns:
        The lines, without a trailing newline.
    """
    phase = run_phase(run, alive)
    last = _last_attempts(attempts)
    by_task = _attempts_by_task(attempts)
    run_tokens, run_cost = usage_totals(attempts)
    show_usage = run_tokens is not None
    show_session = any(attempt.session_id for attempt in last.values())
    header = [
        ("run", clean_text(run.id)),
        ("plan", clean_text(run.plan_path)),
        ("started", _local_time(run.started_at, tz)),
        ("status", _status_text(run, phase, now)),
        ("slots", str(run.slots)),
    ]
    if run_tokens is not None:
        header.append(("usage", usage_text(run_tokens, run_cost)))
    width = max(len(label) for label, _ in header)
    lines = [f"{label:<{width}}{_GAP}{value}" for label, value in header]
    lines.append("")
    if tasks:
        rows = [
            [
                "task",
                "state",
                "attempts",
                "last attempt",
                "peak RSS",
                *(["cost", "tokens"] if show_usage else []),
                *(["session"] if show_session else []),
                "reason",
            ]
        ]
        for task in tasks.values():
            attempt = last.get(task.task_id)
            tokens, cost = usage_totals(by_task.get(task.task_id, ()))
            session = attempt.session_id if attempt is not None else None
            rows.append(
                [
                    clean_text(task.task_id),
                    clean_text(task.state),
                    str(task.attempts),
                    _attempt_duration(attempt, phase, now),
                    _megabytes(attempt.peak_rss if attempt is not None else None),
                    *([_cost_cell(cost), _tokens_cell(tokens)] if show_usage else []),
                    *([clean_text(session) if session else _NONE] if show_session else []),
                    _shorten(clean_text(task.reason or (attempt.reason if attempt else ""))),
                ]
            )
        lines.extend(_columns(rows))
        lines.append("")
        lines.append(_counts_text(state_counts(tasks.values())))
    else:
        lines.append("no tasks")
    if phase == "interrupted":
        lines.append(f"resume with: {resume_command(clean_text(run.plan_path))}")
    return finish_line("\n".join(lines), ascii)


def history_json(
    runs: Sequence[RunRecord],
    tasks_by_run: Mapping[str, Mapping[str, TaskRow]],
    *,
    now: float,
    alive: Alive,
    attempts_by_run: Mapping[str, Sequence[AttemptRecord]] = NO_ATTEMPTS,
) -> list[dict[str, Any]]:
    """`pmtui history --json`: one object per run, newest first (see `run_json`; its
    `tokens` and `cost_usd` come from `attempts_by_run`, as in `render_history`)."""
    ordered = sorted(runs, key=lambda run: (run.started_at, run.id), reverse=True)
    seen: set[str] = set()
    result = []
    for run in ordered:
        obj = run_json(
            run,
            tasks_by_run.get(run.id, {}),
            now=now,
            alive=alive,
            attempts=attempts_by_run.get(run.id, ()),
        )
        if run.finished_at is None:
            obj["resumable"] = obj["phase"] == "interrupted" and run.plan_path not in seen
            seen.add(run.plan_path)
        result.append(obj)
    return result


def status_json(
    run: RunRecord,
    tasks: Mapping[str, TaskRow],
    attempts: Sequence[AttemptRecord],
    *,
    now: float,
    alive: Alive,
) -> dict[str, Any]:
    """`pmtui status --json`: the run (see `run_json`) plus `"task_list"`, one object per task.

    Each task: `task, title, state, attempts, reason, tokens, cost_usd, last_attempt,
    attempt_list` where `tokens` and `cost_usd` are over its attempts (`null` when unknown,
    as in `usage_totals`), `attempt_list` holds its attempts in start order and
    `last_attempt` is `null` or the last of them. An attempt: `{number, started_at,
    ended_at, duration_s, exit_code, peak_rss, reason, agent, session_id, interrupted,
    tokens, cost_usd, usage}` (`duration_s` so far for an attempt still running, `null` for
    one cut off by a crash; `agent` `""` and `session_id` `null` when not known; `tokens`,
    `cost_usd` and `usage` `null` when it reported no usage; `usage` is `{input_tokens,
    output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, turns, model}`).
    """
    phase = run_phase(run, alive)
    last = _last_attempts(attempts)
    by_task = _attempts_by_task(attempts)
    obj = run_json(run, tasks, now=now, alive=alive, attempts=attempts)
    task_list = []
    for task in tasks.values():
        own = by_task.get(task.task_id, [])
        tokens, cost = usage_totals(own)
        task_list.append(
            {
                "task": task.task_id,
                "title": task.title,
                "state": task.state,
                "attempts": task.attempts,
                "reason": task.reason,
                "tokens": tokens,
                "cost_usd": _number(cost, 6),
                "last_attempt": _attempt_json(last.get(task.task_id), phase, now),
                "attempt_list": [_attempt_json(attempt, phase, now) for attempt in own],
            }
        )
    obj["task_list"] = task_list
    return obj


def run_json(
    run: RunRecord,
    tasks: Mapping[str, TaskRow],
    *,
    now: float,
    alive: Alive,
    attempts: Sequence[AttemptRecord] = (),
) -> dict[str, Any]:
    """One run as plain data.

    Keys: `run_id, plan, started_at, finished_at` (epoch seconds), `duration_s` (so far for a
    running run, `null` for an interrupted one), `status` (as stored), `phase`
    (`finished | running | interrupted`), `slots, pid, host`, `tasks` (how many), `counts`
    (tasks per state), `resumable` (the plan's newest unfinished run, its pmtui dead), and
    `tokens` and `cost_usd` over `attempts` (the run's; `null` when unknown, see
    `usage_totals`).
    """
    tokens, cost = usage_totals(attempts)
    phase = run_phase(run, alive)
    if run.finished_at is not None:
        duration: float | None = run.finished_at - run.started_at
    elif phase == "running":
        duration = now - run.started_at
    else:
        duration = None
    return {
        "run_id": run.id,
        "plan": run.plan_path,
        "started_at": _number(run.started_at),
        "finished_at": _number(run.finished_at),
        "duration_s": _number(max(duration, 0.0) if duration is not None else None),
        "status": run.status,
        "phase": phase,
        "slots": run.slots,
        "pid": run.pid,
        "host": run.host,
        "tasks": len(tasks),
        "counts": state_counts(tasks.values()),
        "resumable": phase == "interrupted",
        "tokens": tokens,
        "cost_usd": _number(cost, 6),
    }


def _attempt_json(attempt: AttemptRecord | None, phase: Phase, now: float) -> dict[str, Any] | None:
    if attempt is None:
        return None
    if attempt.ended_at is not None:
        duration: float | None = attempt.ended_at - attempt.started_at
    elif phase == "running":
        duration = now - attempt.started_at
    else:
        duration = None
    usage = attempt.usage
    return {
        "number": attempt.number,
        "started_at": _number(attempt.started_at),
        "ended_at": _number(attempt.ended_at),
        "duration_s": _number(max(duration, 0.0) if duration is not None else None),
        "exit_code": attempt.exit_code,
        "peak_rss": attempt.peak_rss,
        "reason": attempt.reason,
        "agent": attempt.agent,
        "session_id": attempt.session_id,
        "interrupted": attempt.interrupted,
        "tokens": usage.tokens if usage is not None else None,
        "cost_usd": _number(usage.cost_usd, 6) if usage is not None else None,
        "usage": _usage_json(usage) if usage is not None else None,
    }


def _usage_json(usage: AttemptUsage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "cost_usd": _number(usage.cost_usd, 6),
        "turns": usage.turns,
        "model": usage.model,
    }


def _number(value: float | None, places: int = 3) -> float | None:
    """Rounded (to 3 places: seconds); a non-finite float, which JSON cannot carry, is `None`."""
    if value is None or not math.isfinite(value):
        return None
    return round(value, places)


def _last_attempts(attempts: Sequence[AttemptRecord]) -> dict[str, AttemptRecord]:
    last: dict[str, AttemptRecord] = {}
    for attempt in attempts:
        known = last.get(attempt.task_id)
        if known is None or attempt.number >= known.number:
            last[attempt.task_id] = attempt
    return last


def _attempts_by_task(attempts: Sequence[AttemptRecord]) -> dict[str, list[AttemptRecord]]:
    by_task: dict[str, list[AttemptRecord]] = {}
    for attempt in attempts:
        by_task.setdefault(attempt.task_id, []).append(attempt)
    return by_task


def _usage_cell(tokens: int | None, cost: float | None) -> str:
    """A run's `cost $1.23 · 45k tok`; `—` when it reported no usage."""
    return _NONE if tokens is None else usage_text(tokens, cost, _NONE)


def _cost_cell(cost: float | None) -> str:
    return format_cost(cost) if cost is not None else _NONE


def _tokens_cell(tokens: int | None) -> str:
    return format_tokens(tokens) if tokens is not None else _NONE


def _local_time(epoch: float, tz: tzinfo | None) -> str:
    try:
        return datetime.fromtimestamp(epoch, tz).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return "?"


def _elapsed(seconds: float) -> str:
    return format_duration(max(seconds, 0.0)) if math.isfinite(seconds) else "?"


def _history_duration(run: RunRecord, phase: Phase, now: float) -> str:
    if run.finished_at is not None:
        return _elapsed(run.finished_at - run.started_at)
    if phase == "running":
        return f"{_elapsed(now - run.started_at)} so far"
    return "unfinished"


def _phase_text(run: RunRecord, phase: Phase) -> str:
    if phase == "running":
        return f"running (pid {run.pid})"
    if phase == "interrupted":
        return "interrupted"
    return clean_text(run.status)


def _status_text(run: RunRecord, phase: Phase, now: float) -> str:
    if run.finished_at is not None:
        return f"{clean_text(run.status)}, took {_elapsed(run.finished_at - run.started_at)}"
    if phase == "running":
        return f"running (pid {run.pid}) for {_elapsed(now - run.started_at)}"
    return f"interrupted (pid {run.pid} is gone)"


def _attempt_duration(attempt: AttemptRecord | None, phase: Phase, now: float) -> str:
    if attempt is None:
        return "—"
    if attempt.ended_at is not None:
        return _elapsed(attempt.ended_at - attempt.started_at)
    if phase == "running":
        return f"running for {_elapsed(now - attempt.started_at)}"
    return "cut off"


def _megabytes(peak_rss: int | None) -> str:
    if not peak_rss:
        return "—"
    megabytes = peak_rss / 1_000_000
    return f"{megabytes:.1f}MB" if megabytes < 10 else f"{megabytes:.0f}MB"


def _shorten(text: str) -> str:
    if len(text) <= REASON_WIDTH:
        return text
    return text[: REASON_WIDTH - 1].rstrip() + "…"


def _counts_text(counts: Mapping[str, int]) -> str:
    total = sum(counts.values())
    noun = "task" if total == 1 else "tasks"
    if not total:
        return "0 tasks"
    return f"{total} {noun}: " + ", ".join(
        f"{count} {clean_text(state)}" for state, count in counts.items()
    )


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as left-aligned columns two spaces apart; the last column is not padded."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        _GAP.join(
            cell if i == len(row) - 1 else f"{cell:<{widths[i]}}" for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]
