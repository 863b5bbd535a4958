"""`--json` lines and `--no-ui` readable lines, from hand-built events."""

from __future__ import annotations

import json

import pytest

from pmtui.engine import events
from pmtui.engine.events import EVENT_TYPES, Event
from pmtui.report.jsonl import event_json, json_line
from pmtui.report.lines import event_line, progress_line
from tests.engine.test_events import SECTION_8

EXAMPLES: list[Event] = [
    events.RunStarted(time=0.0, run_id="run-7", plan="plans/feature.md", tasks=12, slots=5),
    events.TaskWaiting(time=1.25, task="2.2", reason="file lock src/a.py held by 2.1"),
    events.TaskStarted(
        time=12.3, task="2.1", agent="swebok-engineer", slot=3, attempt=1, workdir="/repo"
    ),
    events.TaskProgress(time=13.0, task="2.1", percent=75, message="Implementing", estimated=False),
    events.TaskRetrying(
        time=20.0, task="2.3", attempt=2, step="partition", delay_s=5, reason="exit 1"
    ),
    events.TaskFinished(
        time=40.0, task="2.1", status="done", exit_code=0, reason="", attempt=1, duration_s=27.7
    ),
    events.BoostChanged(time=50.0, slots=8),
    events.Paused(time=51.0),
    events.Resumed(time=52.0),
    events.MergeFinished(
        time=53.0,
        task="2.1",
        result="conflict",
        conflicts=(
            events.MergeConflict(
                "a.txt", "modify/modify", "2.1", "Write A", "1.4", "Draft A", "1a2b3c4"
            ),
            events.MergeConflict("b.txt", "add/add", "2.1", "Write A", "1.4", "Draft A", "1a2b3c4"),
        ),
    ),
    events.RunFinished(
        time=150.5, status="failed", done=10, failed=1, skipped=1, conflicts=0, duration_s=150.5
    ),
    # Last, so the indexes above stay put; §8 lists it between task_retrying and task_finished.
    events.TaskUsage(
        time=30.0,
        task="2.1",
        attempt=1,
        input_tokens=1200,
        output_tokens=340,
        cache_read_tokens=56000,
        cost_usd=0.0142,
        turns=3,
        model="claude-sonnet-4-5",
    ),
]


def test_examples_cover_every_event() -> None:
    assert {type(event) for event in EXAMPLES} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda event: event.name)
def test_json_has_exactly_section_8_keys_in_order(event: Event) -> None:
    obj = event_json(event)
    assert list(obj) == ["event", "time", *SECTION_8[obj["event"]]]
    assert obj["event"] == event.name


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda event: event.name)
def test_json_line_round_trips(event: Event) -> None:
    line = json_line(event)
    assert line.endswith("\n") and line.count("\n") == 1
    assert len(line.splitlines()) == 1
    assert json.loads(line) == event_json(event)
    assert line == json.dumps(event_json(event), ensure_ascii=False, separators=(",", ":")) + "\n"


def test_json_values() -> None:
    assert event_json(EXAMPLES[4]) == {
        "event": "task_retrying",
        "time": 20.0,
        "task": "2.3",
        "attempt": 2,
        "step": "partition",
        "delay_s": 5.0,
        "reason": "exit 1",
    }
    assert event_json(EXAMPLES[9])["conflicts"][0] == {
        "path": "a.txt",
        "type": "modify/modify",
        "task": "2.1",
        "title": "Write A",
        "other_task": "1.4",
        "other_title": "Draft A",
        "other_commit": "1a2b3c4",
    }
    assert [item["path"] for item in event_json(EXAMPLES[9])["conflicts"]] == ["a.txt", "b.txt"]
    skipped = events.TaskFinished(
        time=1.0, task="3.1", status="skipped", exit_code=None, reason="", attempt=0, duration_s=0
    )
    assert event_json(skipped)["exit_code"] is None
    assert json.loads(json_line(skipped))["exit_code"] is None


def test_floats_rounded_to_3_places_and_typed() -> None:
    event = events.TaskFinished(
        time=1.23456789,
        task="1",
        status="done",
        exit_code=0,
        reason="",
        attempt=1,
        duration_s=0.1 + 0.2,
    )
    obj = event_json(event)
    assert obj["time"] == 1.235 and obj["duration_s"] == 0.3
    assert '"duration_s":0.3,' in json_line(event) or json_line(event).rstrip().endswith(
        '"duration_s":0.3}'
    )
    progress = event_json(EXAMPLES[3])
    assert isinstance(progress["percent"], float) and progress["estimated"] is False


def test_non_finite_float_is_null() -> None:
    event = events.TaskRetrying(
        time=0.0, task="1", attempt=2, step="retry", delay_s=float("inf"), reason=""
    )
    assert json.loads(json_line(event))["delay_s"] is None


def test_unicode_kept_and_line_breaks_escaped() -> None:
    event = events.TaskWaiting(time=0.0, task="é1", reason="a\nb\u2028c\x85d — ✓")
    line = json_line(event)
    assert "é1" in line and "— ✓" in line
    assert len(line.splitlines()) == 1
    assert json.loads(line)["reason"] == "a\nb\u2028c\x85d — ✓"


# Readable lines.


def line_of(event: Event, *, ascii: bool = False) -> str:  # noqa: A002
    line = event_line(event, ascii=ascii)
    assert line is not None
    return line


def test_progress_events_have_no_line() -> None:
    assert event_line(EXAMPLES[3]) is None


def test_usage_events_have_no_line() -> None:
    """Tokens and cost are the summary's and the monitor's, not one line per report."""
    assert event_line(EXAMPLES[11]) is None


def test_usage_json_values() -> None:
    assert event_json(EXAMPLES[11]) == {
        "event": "task_usage",
        "time": 30.0,
        "task": "2.1",
        "attempt": 1,
        "input_tokens": 1200,
        "output_tokens": 340,
        "cache_read_tokens": 56000,
        "cost_usd": 0.0142,  # dollars keep 6 places, not 3
        "turns": 3,
        "model": "claude-sonnet-4-5",
    }
    unknown = events.TaskUsage(
        time=1.0,
        task="2.1",
        attempt=2,
        input_tokens=0,
        output_tokens=0,
        cache_read_tokens=0,
        cost_usd=None,
        turns=None,
        model="",
    )
    assert json.loads(json_line(unknown))["cost_usd"] is None
    assert json.loads(json_line(unknown))["turns"] is None


@pytest.mark.parametrize(
    "event", [e for e in EXAMPLES if e.name not in ("task_progress", "task_usage")]
)
def test_every_other_event_is_one_line(event: Event) -> None:
    line = line_of(event)
    assert line and "\n" not in line and len(line.splitlines()) == 1
    assert line.startswith(f"[{event.time:6.1f}s] ")
    task = getattr(event, "task", None)
    if task is not None:
        assert task in line


def test_the_examples_of_the_brief() -> None:
    assert line_of(EXAMPLES[2]) == "[  12.3s] start   2.1  swebok-engineer  slot 3  attempt 1"
    assert line_of(EXAMPLES[5]) == "[  40.0s] done    2.1  27.7s"
    failed = events.TaskFinished(
        time=41.0,
        task="2.3",
        status="failed",
        exit_code=1,
        reason="exit 1",
        attempt=3,
        duration_s=2,
    )
    assert line_of(failed) == "[  41.0s] FAILED  2.3  exit 1 (attempt 3)"
    skipped = events.TaskFinished(
        time=41.0,
        task="3.1",
        status="skipped",
        exit_code=None,
        reason="dependency 2.3 failed",
        attempt=0,
        duration_s=0,
    )
    assert line_of(skipped) == "[  41.0s] skipped 3.1  dependency 2.3 failed"


def test_key_facts() -> None:
    assert line_of(EXAMPLES[0]) == "[   0.0s] run     run-7  plans/feature.md  12 tasks  5 slots"
    assert "waiting" in line_of(EXAMPLES[1]) and "file lock src/a.py held by 2.1" in line_of(
        EXAMPLES[1]
    )
    retry = line_of(EXAMPLES[4])
    assert retry.startswith("[  20.0s] retry   2.3") and "partition" in retry and "5s" in retry
    assert "attempt 2" in retry and "exit 1" in retry
    assert line_of(EXAMPLES[6]) == "[  50.0s] boost   8 slots"
    assert line_of(EXAMPLES[7]) == "[  51.0s] PAUSED"
    assert line_of(EXAMPLES[8]) == "[  52.0s] resumed"
    merge = line_of(EXAMPLES[9])
    assert merge == (
        "[  53.0s] merge   2.1  CONFLICT: 2.1 “Write A” and 1.4 “Draft A” both changed "
        "a.txt (modify/modify), b.txt (add/add)"
    )
    finish = line_of(EXAMPLES[10])
    assert "failed" in finish and "10 done" in finish and "1 skipped" in finish
    assert "2m30s" in finish


@pytest.mark.parametrize(
    ("status", "reason", "exit_code", "expected"),
    [
        (
            "conflict",
            "conflict on b.txt with 3.1",
            0,
            "CONFLICT 2.5  conflict on b.txt with 3.1 (attempt 1)",
        ),
        ("cancelled", "aborted", None, "cancelled 2.5  aborted"),
        ("failed", "", 2, "FAILED  2.5  exit 2 (attempt 1)"),
        ("failed", "timeout after 1s", None, "FAILED  2.5  timeout after 1s (attempt 1)"),
    ],
)
def test_other_final_states(status: str, reason: str, exit_code: int | None, expected: str) -> None:
    event = events.TaskFinished(
        time=1.0,
        task="2.5",
        status=status,
        exit_code=exit_code,
        reason=reason,
        attempt=1,
        duration_s=0.5,
    )
    assert line_of(event) == f"[   1.0s] {expected}"


def test_done_after_retries_names_the_attempt() -> None:
    event = events.TaskFinished(
        time=9.0, task="2.1", status="done", exit_code=0, reason="", attempt=3, duration_s=75
    )
    assert line_of(event) == "[   9.0s] done    2.1  1m15s (attempt 3)"


def test_agent_text_cannot_break_the_line() -> None:
    event = events.TaskWaiting(time=0.0, task="1.1", reason="\x1b[31mred\x1b[0m\nnext\r\u2028x")
    assert line_of(event) == "[   0.0s] waiting 1.1  red next x"


def test_ascii_lines() -> None:
    event = events.TaskRetrying(
        time=0.0, task="é", attempt=2, step="retry", delay_s=1, reason="exit 1"
    )
    assert "—" in line_of(event)
    line = line_of(event, ascii=True)
    assert line.isascii() and "\\xe9" in line and " - exit 1" in line


def test_progress_line() -> None:
    line = progress_line(45.0, 5, 12, 3, 70.0)
    assert line == "[  45.0s] progress  42%  running 3  done 5/12  elapsed 45s  ETA 1m10s"
    assert "ETA —" in progress_line(1.0, 0, 12, 2, None)
    assert progress_line(1.0, 0, 12, 2, None, ascii=True).endswith("ETA -")
    assert "100%" in progress_line(3.0, 0, 0, 0, 0.0)
    assert " 50%" in progress_line(3.0, 1, 12, 1, 3.0, percent=50.0)
    assert "elapsed 1h5m" in progress_line(3900.0, 1, 2, 1, 60.0)


def test_resource_samples_are_json_objects_and_no_readable_line() -> None:
    sample = events.ResourcesSampled(
        time=3.0,
        memory_available=2_000_000_000,
        cpu_percent=41.5,
        cpu_saturated=False,
        tasks=(events.TaskResources(task="2.1", rss=12_345_678, cpu_percent=97.25, over_cpu=True),),
    )
    assert json.loads(json_line(sample)) == {
        "event": "resources",
        "time": 3.0,
        "memory_available": 2_000_000_000,
        "cpu_percent": 41.5,
        "cpu_saturated": False,
        "tasks": [{"task": "2.1", "rss": 12_345_678, "cpu_percent": 97.25, "over_cpu": True}],
    }
    assert event_line(sample) is None
