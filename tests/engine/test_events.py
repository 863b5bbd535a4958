"""The engine's events: one class per docs/design.md §8 event, and the scheduler's notices as
events."""

from __future__ import annotations

import dataclasses

import pytest

from pmtui.engine import events
from pmtui.engine.events import EVENT_TYPES, EXTENSION_TYPES, from_notice
from pmtui.scheduling import decisions
from pmtui.scheduling.decisions import RetryStep, RunStatus
from pmtui.scheduling.states import TaskState

# Copied by hand from docs/design.md §8: the stable contract (plus `time` on every event).
SECTION_8 = {
    "run_started": ("run_id", "plan", "tasks", "slots"),
    "task_waiting": ("task", "reason"),
    "task_started": ("task", "agent", "slot", "attempt", "workdir"),
    "task_progress": ("task", "percent", "message", "estimated"),
    "task_retrying": ("task", "attempt", "step", "delay_s", "reason"),
    "task_usage": (
        "task",
        "attempt",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cost_usd",
        "turns",
        "model",
    ),
    "task_finished": ("task", "status", "exit_code", "reason", "attempt", "duration_s"),
    "boost_changed": ("slots",),
    "paused": (),
    "resumed": (),
    "merge_finished": ("task", "result", "conflicts"),
    "run_finished": ("status", "done", "failed", "skipped", "conflicts", "duration_s"),
}


def workdir_of(task: str) -> str:
    return f"/repo/.pmtui/worktrees/run1/{task}"


def test_one_class_per_section_8_event_with_exactly_its_fields() -> None:
    assert [cls.name for cls in EVENT_TYPES] == list(SECTION_8)
    for cls in EVENT_TYPES:
        names = tuple(field.name for field in dataclasses.fields(cls))
        assert names == ("time", *SECTION_8[cls.name]), cls.name


def test_event_union_holds_every_class() -> None:
    assert set(events.Event.__args__) == set(EVENT_TYPES) | set(EXTENSION_TYPES)  # type: ignore[attr-defined]


def test_events_are_frozen_and_slotted() -> None:
    event = events.Paused(time=1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.time = 2.0  # type: ignore[misc]
    assert not hasattr(event, "__dict__")
    assert event.name == "paused"


def test_start_becomes_task_started_with_the_workdir() -> None:
    start = decisions.Start(time=12.3, task="2.1", agent="demo", slot=3, attempt=2, isolated=True)
    assert from_notice(start, workdir_of=workdir_of) == events.TaskStarted(
        time=12.3,
        task="2.1",
        agent="demo",
        slot=3,
        attempt=2,
        workdir="/repo/.pmtui/worktrees/run1/2.1",
    )


def test_stop_is_an_order_not_an_event() -> None:
    stop = decisions.Stop(time=5.0, task="2.1", reason="skipped by user")
    assert from_notice(stop, workdir_of=workdir_of) is None


def test_waiting() -> None:
    notice = decisions.TaskWaiting(time=1.5, task="2.2", reason="memory 300MB free")
    assert from_notice(notice, workdir_of=workdir_of) == events.TaskWaiting(
        time=1.5, task="2.2", reason="memory 300MB free"
    )


def test_retrying_step_becomes_its_string() -> None:
    notice = decisions.TaskRetrying(
        time=20.0, task="2.3", attempt=3, step=RetryStep.SEQUENTIAL, delay_s=4.0, reason="exit 1"
    )
    event = from_notice(notice, workdir_of=workdir_of)
    assert event == events.TaskRetrying(
        time=20.0, task="2.3", attempt=3, step="sequential", delay_s=4.0, reason="exit 1"
    )
    assert isinstance(event, events.TaskRetrying)
    assert type(event.step) is str


@pytest.mark.parametrize("status", list(TaskState))
def test_finished_status_becomes_its_string(status: TaskState) -> None:
    notice = decisions.TaskFinished(
        time=41.0, task="2.3", status=status, exit_code=None, reason="r", attempt=0, duration_s=0.0
    )
    event = from_notice(notice, workdir_of=workdir_of)
    assert isinstance(event, events.TaskFinished)
    assert type(event.status) is str and event.status == status.value
    assert (event.task, event.exit_code, event.reason, event.attempt) == ("2.3", None, "r", 0)


def test_boost_pause_resume() -> None:
    boost = decisions.BoostChanged(time=3.0, slots=8, manual=True)
    assert from_notice(boost, workdir_of=workdir_of) == events.BoostChanged(time=3.0, slots=8)
    paused = decisions.Paused(time=4.0, hard=True)
    assert from_notice(paused, workdir_of=workdir_of) == events.Paused(time=4.0)
    resumed = decisions.Resumed(time=5.0)
    assert from_notice(resumed, workdir_of=workdir_of) == events.Resumed(time=5.0)


@pytest.mark.parametrize("status", list(RunStatus))
def test_run_finished_keeps_only_section_8_fields(status: RunStatus) -> None:
    notice = decisions.RunFinished(
        time=99.0,
        status=status,
        done=5,
        failed=1,
        skipped=2,
        cancelled=3,
        conflicts=1,
        duration_s=99.0,
        reason="aborted",
    )
    assert from_notice(notice, workdir_of=workdir_of) == events.RunFinished(
        time=99.0, status=status.value, done=5, failed=1, skipped=2, conflicts=1, duration_s=99.0
    )


def test_workdir_of_is_asked_only_for_starts() -> None:
    asked: list[str] = []

    def recording(task: str) -> str:
        asked.append(task)
        return "/w"

    from_notice(decisions.TaskWaiting(time=0.0, task="1.1", reason="paused"), workdir_of=recording)
    from_notice(
        decisions.Start(time=0.0, task="1.2", agent="a", slot=1, attempt=1, isolated=False),
        workdir_of=recording,
    )
    assert asked == ["1.2"]
