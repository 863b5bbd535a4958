"""`--junit FILE`: a run's tasks as a JUnit XML report (docs/design.md §8).

One `<testcase>` per task, from its last `task_finished` notice: `done` passes, `failed` and
`conflict` are failures carrying the log tail, `cancelled` is an error, `skipped` is skipped.
Built with `xml.etree.ElementTree`, never by pasting strings; every text and attribute is
stripped of what XML 1.0 forbids first (and of terminal escape sequences), so any log tail
gives a document every JUnit reader parses. The same input gives the same bytes.

A task whose agent reported usage (`task_usage`) also carries its tokens, cost, turns and
model as properties, summed over its attempts; the suite carries the run's totals. Tasks
without usage look as they always did.

`render_junit` is pure; `write_junit` replaces the file atomically. Never imports textual.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pmtui.engine.events import TaskUsage
from pmtui.scheduling.decisions import RunFinished, TaskFinished
from pmtui.scheduling.states import TaskState

_ANSI_ESCAPE = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]                     # CSI: colours, cursor moves
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?        # OSC: titles, hyperlinks
    | \x1b[ -/]*[0-~]                           # any other two-byte escape
    """,
    re.VERBOSE,
)
"""Terminal escape sequences agents print (colours mostly): noise in a CI report."""

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
"""What XML 1.0 forbids (C0 controls but tab, newline, carriage return; lone surrogates;
U+FFFE, U+FFFF), and the DEL and C1 controls it only discourages."""

_NOT_ERRORS = frozenset({TaskState.DONE, TaskState.FAILED, TaskState.CONFLICT, TaskState.SKIPPED})
"""Final states that are not JUnit errors; `cancelled` (and any non-final state a notice
should never carry) is one."""

_FILE_MODE = 0o644
"""A report is for other tools (CI) to read; `mkstemp`'s 0600 would hide it."""


def _clean(text: str) -> str:
    """`text` without terminal escapes and without the characters XML 1.0 cannot carry."""
    return _NOT_XML.sub("", _ANSI_ESCAPE.sub("", text))


def render_junit(
    plan_name: str,
    plan_title: str,
    finished: Sequence[TaskFinished],
    run: RunFinished,
    *,
    titles: Mapping[str, str],
    agents: Mapping[str, str],
    tails: Mapping[str, Sequence[str]],
    timestamp: str,
    usage: Mapping[str, Mapping[int, TaskUsage]] | None = None,
) -> str:
    """The JUnit XML document of a run, declaration included, indented, newline-terminated.

    `finished` holds the run's `task_finished` notices in order; a task reopened by a user's
    retry appears more than once and its last notice counts (the test case stays where the
    task first appeared). `titles`, `agents` and `tails` (the last log lines) are by task id;
    a task missing from them gets no title, no agent property, an empty tail. `timestamp`
    is written as given (ISO 8601 is what readers expect).

    `usage` is by task id, then attempt start: each attempt's last `task_usage` (`TaskView.usage`
    of a `RunView`). A task with some gets the properties `tokens` (input + output + cache
    reads, as `TaskView.tokens`), `input_tokens`, `output_tokens`, `cache_read_tokens`,
    summed over its attempts, `cost_usd` and `turns` (sums of the known figures; left out
    when none is known) and `model` (its last attempt's that named one; left out when none
    did). The suite gets the run's `tokens` and, when known, `cost_usd` when any task has
    usage.
    """
    usage = usage or {}
    last: dict[str, TaskFinished] = {}
    for notice in finished:
        last[notice.task] = notice
    cases = [
        _testcase(
            plan_name,
            notice,
            title=titles.get(notice.task, ""),
            agent=agents.get(notice.task),
            tail=tails.get(notice.task, ()),
            usage=usage.get(notice.task, {}),
        )
        for notice in last.values()
    ]
    states = [notice.status for notice in last.values()]
    counts = {
        "tests": len(states),
        "failures": sum(s in (TaskState.FAILED, TaskState.CONFLICT) for s in states),
        "errors": sum(s not in _NOT_ERRORS for s in states),
        "skipped": states.count(TaskState.SKIPPED),
    }
    name = _clean(plan_title or plan_name)
    totals = {key: str(value) for key, value in counts.items()}
    elapsed = _seconds(run.duration_s)

    root = _element("testsuites", name=name, time=elapsed, **totals)
    suite = _element(
        "testsuite", name=name, time=elapsed, timestamp=_clean(timestamp), **totals
    )
    root.append(suite)
    run_properties = {"plan": plan_name, "status": run.status, "exit_code": run.status.exit_code}
    if run.reason:
        run_properties["reason"] = run.reason
    used = [use for attempts in usage.values() for use in attempts.values()]
    if used:
        run_properties["tokens"] = str(sum(_tokens(use) for use in used))
        cost = _known_sum(use.cost_usd for use in used)
        if cost is not None:
            run_properties["cost_usd"] = _dollars(cost)
    suite.append(
        _properties(**{key: _clean(str(value)) for key, value in run_properties.items()})
    )
    suite.extend(cases)
    ET.indent(root, space="  ")
    document = ET.tostring(root, encoding="unicode", xml_declaration=True)
    return document + "\n"


def write_junit(path: Path, xml: str) -> None:
    """Write `xml` to `path` atomically: a temporary file beside it, then `os.replace`.

    On failure the old file (if any) is untouched, no temporary file is left, and the
    `OSError` propagates for the caller to report.
    """
    folder = path.parent
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            stream.write(xml)
            stream.flush()
            os.fchmod(stream.fileno(), _FILE_MODE)
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _testcase(
    plan_name: str,
    notice: TaskFinished,
    *,
    title: str,
    agent: str | None,
    tail: Sequence[str],
    usage: Mapping[int, TaskUsage],
) -> ET.Element:
    name = f"{notice.task} {title}" if title else notice.task
    case = _element(
        "testcase",
        classname=_clean(plan_name),
        name=_clean(name),
        time=_seconds(notice.duration_s),
    )
    properties = {"attempt": str(notice.attempt), "status": str(notice.status)}
    if agent is not None:
        properties["agent"] = _clean(agent)
    if notice.exit_code is not None:
        properties["exit_code"] = str(notice.exit_code)
    properties.update(_usage_properties(usage))
    case.append(_properties(**properties))

    reason = _clean(notice.reason)
    status = notice.status
    if status is TaskState.DONE:
        return case
    if status is TaskState.SKIPPED:
        case.append(_element("skipped", message=reason))
        return case
    if status in (TaskState.FAILED, TaskState.CONFLICT):
        log = _tail_text(tail)
        kind = "conflict" if status is TaskState.CONFLICT else _first_word(reason) or "failed"
        failure = _element("failure", message=reason, type=kind)
        failure.text = log
        case.append(failure)
        output = ET.Element("system-out")
        output.text = log
        case.append(output)
        return case
    kind = "aborted" if status is TaskState.CANCELLED else str(status)
    case.append(_element("error", message=reason, type=kind))
    return case


def _usage_properties(usage: Mapping[int, TaskUsage]) -> dict[str, str]:
    """A task's usage properties (see `render_junit`); none without usage."""
    if not usage:
        return {}
    attempts = [usage[number] for number in sorted(usage)]
    properties = {
        "tokens": str(sum(_tokens(use) for use in attempts)),
        "input_tokens": str(sum(use.input_tokens for use in attempts)),
        "output_tokens": str(sum(use.output_tokens for use in attempts)),
        "cache_read_tokens": str(sum(use.cache_read_tokens for use in attempts)),
    }
    cost = _known_sum(use.cost_usd for use in attempts)
    if cost is not None:
        properties["cost_usd"] = _dollars(cost)
    turns = [use.turns for use in attempts if use.turns is not None]
    if turns:
        properties["turns"] = str(sum(turns))
    models = [_clean(use.model) for use in attempts if _clean(use.model)]
    if models:
        properties["model"] = models[-1]
    return properties


def _tokens(use: TaskUsage) -> int:
    """An attempt's tokens as the live view counts them (`TaskView.tokens`)."""
    return use.input_tokens + use.output_tokens + use.cache_read_tokens


def _known_sum(values: Iterable[float | None]) -> float | None:
    """The sum of the finite values; None when there is none."""
    known = [value for value in values if value is not None and math.isfinite(value)]
    return sum(known) if known else None


def _dollars(value: float) -> str:
    """A cost for machines: plain decimal (never an exponent), at most 6 places: `0.0142`."""
    text = f"{value:.6f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _element(tag: str, **attributes: str) -> ET.Element:
    """An element with its attributes in name order, so the output never depends on call
    order (ElementTree keeps insertion order since Python 3.8)."""
    return ET.Element(tag, dict(sorted(attributes.items())))


def _properties(**values: str) -> ET.Element:
    properties = ET.Element("properties")
    for name in sorted(values):
        properties.append(_element("property", name=name, value=values[name]))
    return properties


def _tail_text(tail: Sequence[str]) -> str:
    return _clean("\n".join(line.rstrip("\r\n") for line in tail))


def _first_word(reason: str) -> str:
    words = reason.split(maxsplit=1)
    return words[0] if words else ""


def _seconds(value: float) -> str:
    """JUnit's `time`: seconds with millisecond precision, never negative or not a number."""
    if not math.isfinite(value) or value < 0:
        value = 0.0
    return f"{value:.3f}"
