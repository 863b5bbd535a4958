"""`--no-ui`: one short readable line per event, and the periodic progress line.

    [  12.3s] start   2.1  swebok-engineer  slot 3  attempt 1
    [  40.0s] done    2.1  27.7s
    [  41.0s] FAILED  2.3  exit 1 (attempt 3)
    [  41.0s] skipped 3.1  dependency 2.3 failed
    [  45.0s] progress  42%  running 3  done 5/12  elapsed 45s  ETA 1m10s

Every line is exactly one line: text from agents and plans (reasons, messages, paths) has its
terminal escapes dropped and its control characters and line breaks turned into spaces. With
`ascii=True` the line is pure ASCII (glyphs replaced, other characters escaped), for terminals
and CI logs that cannot show more. For people, not scripts: scripts read `--json`. Pure;
never imports textual.
"""

from __future__ import annotations

import re

from pmtui.config.units import format_duration
from pmtui.engine.events import (
    BoostChanged,
    Event,
    MergeConflict,
    MergeFinished,
    MergeWaiting,
    Paused,
    ResourcesSampled,
    Resumed,
    RunFinished,
    RunStarted,
    TaskFinished,
    TaskProgress,
    TaskRetrying,
    TaskStarted,
    TaskUsage,
    TaskWaiting,
)

_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]")
"""Terminal escape sequences (colours, titles): dropped."""

_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
"""Control characters and line breaks of any kind: each run becomes one space."""

_GLYPHS = str.maketrans({"—": "-", "…": "...", "→": "->", "×": "x", "“": '"', "”": '"'})
"""The glyphs these lines use, and their ASCII stand-ins."""

_VERB_WIDTH = 7


def clean_text(text: str) -> str:
    return _BREAKS.sub(" ", _ESCAPES.sub("", text)).strip()


def _stamp(time: float) -> str:
    return f"[{time:6.1f}s]"


def _line(time: float, verb: str, *parts: str) -> str:
    head = f"{_stamp(time)} {verb:<{_VERB_WIDTH}}"
    return "  ".join([head + (" " + parts[0] if parts else ""), *parts[1:]]).rstrip()


def explain_conflict(details: tuple[MergeConflict, ...] | list[MergeConflict]) -> str:
    """One sentence per other side: `3.2 "Write the guide" and 3.1 "Draft the guide" both
    changed docs/guide.md (modify/modify)`; several sentences are joined by `; `."""
    groups: dict[tuple[str, str, str], list[MergeConflict]] = {}
    for detail in details:
        key = (detail.other_task, detail.other_commit, detail.other_title)
        groups.setdefault(key, []).append(detail)
    sentences = []
    for (other_task, other_commit, other_title), items in groups.items():
        first = items[0]
        if other_task:
            other = f"{clean_text(other_task)} “{clean_text(other_title)}”"
        elif other_commit:
            other = f"commit {clean_text(other_commit)} “{clean_text(other_title)}”"
        else:
            other = "the integration branch"
        paths = ", ".join(f"{clean_text(item.path)} ({item.type})" for item in items)
        sentences.append(
            f"{clean_text(first.task)} “{clean_text(first.title)}” and {other} both changed {paths}"
        )
    return "; ".join(sentences)


def finish_line(text: str, ascii_only: bool) -> str:
    if not ascii_only:
        return text
    return text.translate(_GLYPHS).encode("ascii", "backslashreplace").decode("ascii")


def _attempt_note(attempt: int) -> str:
    return f"(attempt {attempt})" if attempt > 1 else ""


def _finished_line(event: TaskFinished) -> str:
    task, reason = clean_text(event.task), clean_text(event.reason)
    match event.status:
        case "done":
            fact = " ".join(
                filter(None, [format_duration(event.duration_s), _attempt_note(event.attempt)])
            )
            return _line(event.time, "done", task, fact)
        case "failed" | "conflict":
            fact = reason or (f"exit {event.exit_code}" if event.exit_code is not None else "")
            note = f"(attempt {event.attempt})" if event.attempt else ""
            return _line(
                event.time, event.status.upper(), task, " ".join(filter(None, [fact, note]))
            )
        case _:
            return _line(event.time, clean_text(event.status), task, reason)


def event_line(event: Event, *, ascii: bool = False) -> str | None:  # noqa: A002
    """The readable line for `event`, without a newline; `None` for progress and resource samples
    (the periodic progress line covers them)."""
    match event:
        case TaskProgress() | ResourcesSampled() | TaskUsage():
            return None
        case RunStarted():
            text = _line(
                event.time,
                "run",
                clean_text(event.run_id),
                clean_text(event.plan),
                f"{event.tasks} task{'s' * (event.tasks != 1)}",
                f"{event.slots} slot{'s' * (event.slots != 1)}",
            )
        case TaskWaiting():
            text = _line(event.time, "waiting", clean_text(event.task), clean_text(event.reason))
        case TaskStarted():
            text = _line(
                event.time,
                "start",
                clean_text(event.task),
                clean_text(event.agent),
                f"slot {event.slot}",
                f"attempt {event.attempt}",
            )
        case TaskRetrying():
            delay = format_duration(event.delay_s)
            plan = f"attempt {event.attempt} ({clean_text(event.step)}) in {delay}"
            reason = clean_text(event.reason)
            text = _line(
                event.time,
                "retry",
                clean_text(event.task),
                plan + (f" — {reason}" if reason else ""),
            )
        case TaskFinished():
            text = _finished_line(event)
        case BoostChanged():
            text = _line(event.time, "boost", f"{event.slots} slot{'s' * (event.slots != 1)}")
        case Paused():
            text = _line(event.time, "PAUSED")
        case Resumed():
            text = _line(event.time, "resumed")
        case MergeFinished():
            result = clean_text(event.result)
            if event.conflicts:
                result = f"CONFLICT: {explain_conflict(event.conflicts)}"
            text = _line(event.time, "merge", clean_text(event.task), result)
        case MergeWaiting():
            text = _line(
                event.time, "merge", clean_text(event.task), "WAITS: " + clean_text(event.reason)
            )
        case RunFinished():
            text = _line(
                event.time,
                "finish",
                clean_text(event.status),
                f"{event.done} done, {event.failed} failed, {event.skipped} skipped, "
                f"{event.conflicts} conflict{'s' * (event.conflicts != 1)}",
                format_duration(event.duration_s),
            )
    return finish_line(text, ascii)


def progress_line(
    time: float,
    done: int,
    total: int,
    running: int,
    eta_s: float | None,
    *,
    percent: float | None = None,
    ascii: bool = False,  # noqa: A002
) -> str:
    """The periodic line: overall %, running count, done/total, elapsed and ETA.

    The overall % is `done / total` unless `percent` (e.g. counting running tasks' progress)
    is given; an unknown ETA (`None`) shows as `—`.
    """
    if percent is None:
        percent = 100.0 * done / total if total else 100.0
    percent = min(max(percent, 0.0), 100.0)
    eta = format_duration(max(eta_s, 0.0)) if eta_s is not None else "—"
    text = (
        f"{_stamp(time)} progress {percent:3.0f}%  running {running}  done {done}/{total}"
        f"  elapsed {format_duration(time)}  ETA {eta}"
    )
    return finish_line(text, ascii)
