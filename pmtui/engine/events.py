"""What a run tells its front ends: one frozen record per docs/design.md §8 JSON-lines event.

Each class carries exactly the fields §8 lists for its event, plus `time` (seconds since the
run started), and its stable §8 name in the class attribute `name`. The names and fields are a
contract: scripts and CI parse them, so never rename or reorder them.

Enums (task status, retry step, run status) are already their string values here, so a front
end needs nothing from the scheduling layer to show an event. `from_notice` turns the
scheduler's notices into events; the engine adds the events only it knows of (`run_started`,
`task_progress`, `merge_finished`). Never imports textual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from pmtui.scheduling import decisions


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A run began; `tasks` counts the plan's tasks, `slots` the usable slots."""

    name: ClassVar[str] = "run_started"
    time: float
    run_id: str
    plan: str
    tasks: int
    slots: int


@dataclass(frozen=True, slots=True)
class TaskWaiting:
    """A task that could start is held back; `reason` starts with a fixed word."""

    name: ClassVar[str] = "task_waiting"
    time: float
    task: str
    reason: str


@dataclass(frozen=True, slots=True)
class TaskStarted:
    """An attempt started on a slot, in `workdir`; `attempt` is 1-based."""

    name: ClassVar[str] = "task_started"
    time: float
    task: str
    agent: str
    slot: int
    attempt: int
    workdir: str


@dataclass(frozen=True, slots=True)
class TaskProgress:
    """A `::progress::` line, or the estimated bar of an agent that never reports one."""

    name: ClassVar[str] = "task_progress"
    time: float
    task: str
    percent: float
    message: str
    estimated: bool


@dataclass(frozen=True, slots=True)
class TaskRetrying:
    """An attempt failed; `attempt` is the coming one, `step` `retry|partition|sequential`."""

    name: ClassVar[str] = "task_retrying"
    time: float
    task: str
    attempt: int
    step: str
    delay_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class TaskFinished:
    """A task reached a final state: exactly one per task (`attempt` 0 if it never started)."""

    name: ClassVar[str] = "task_finished"
    time: float
    task: str
    status: str
    exit_code: int | None
    reason: str
    attempt: int
    duration_s: float


@dataclass(frozen=True, slots=True)
class BoostChanged:
    """The number of usable slots changed."""

    name: ClassVar[str] = "boost_changed"
    time: float
    slots: int


@dataclass(frozen=True, slots=True)
class Paused:
    """No new task starts until resumed."""

    name: ClassVar[str] = "paused"
    time: float


@dataclass(frozen=True, slots=True)
class Resumed:
    """Tasks start again after a pause."""

    name: ClassVar[str] = "resumed"
    time: float


@dataclass(frozen=True, slots=True)
class MergeConflict:
    """One path of a conflict left by the merge queue, explained (docs/design.md §6)."""

    path: str
    type: str  # noqa: A003 - the word DESIGN uses
    """`modify/modify`, `delete/modify`, `add/add` or `file/directory`."""
    task: str
    """The task whose merge conflicted."""
    title: str
    other_task: str
    """The task whose merge changed the path first ("" when a commit made outside pmtui
    did: `other_title` is then its subject)."""
    other_title: str
    other_commit: str
    """The commit that changed the path on the integration branch (short id)."""


@dataclass(frozen=True, slots=True)
class MergeFinished:
    """A task's merge ended (before its `task_finished`).

    `result`: `merged`, `up-to-date` (the task changed nothing), `conflict` (`conflicts`
    explains each path), or `check-failed` (`[merge] check` failed: the merge was undone).
    """

    name: ClassVar[str] = "merge_finished"
    time: float
    task: str
    result: str
    conflicts: tuple[MergeConflict, ...]


@dataclass(frozen=True, slots=True)
class TaskUsage:
    """What a real agent reported using so far in this attempt: tokens and cost.

    The figures are the attempt's totals up to now (a later event replaces an earlier one of
    the same attempt). `cost_usd` is what the agent reported, else priced from `[prices]` by
    model; None when neither says.
    """

    name: ClassVar[str] = "task_usage"
    time: float
    task: str
    attempt: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cost_usd: float | None
    turns: int | None
    model: str


@dataclass(frozen=True, slots=True)
class TaskResources:
    """One running task's process group at a resource sample."""

    task: str
    rss: int
    """Resident memory of the whole group, bytes."""
    cpu_percent: float
    """Percent of one core since the previous sample (100 = one full core)."""
    over_cpu: bool
    """Above `cpu_per_agent`: flagged (never killed for CPU)."""


@dataclass(frozen=True, slots=True)
class ResourcesSampled:
    """pmtui's addition to §8: the once-a-second resource sample of the machine and each
    running task (what the monitor's Memory and CPU show, and the summary's peak RSS)."""

    name: ClassVar[str] = "resources"
    time: float
    memory_available: int
    """Bytes the machine can still give (psutil's `available`)."""
    cpu_percent: float
    """The machine's CPU use, percent of all cores."""
    cpu_saturated: bool
    """No new task starts while true (docs/design.md §3, `cpu_per_agent`)."""
    tasks: tuple[TaskResources, ...]


@dataclass(frozen=True, slots=True)
class MergeWaiting:
    """pmtui's addition to §8: a merge cannot update the main checkout because files it
    would write were changed by hand there; it waits until they are committed or reverted."""

    name: ClassVar[str] = "merge_waiting"
    time: float
    task: str
    paths: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class RunFinished:
    """Every task is final; `status` is `ok|failed|conflict|aborted`."""

    name: ClassVar[str] = "run_finished"
    time: float
    status: str
    done: int
    failed: int
    skipped: int
    conflicts: int
    duration_s: float


Event = (
    RunStarted
    | TaskWaiting
    | TaskStarted
    | TaskProgress
    | TaskRetrying
    | TaskUsage
    | TaskFinished
    | BoostChanged
    | Paused
    | Resumed
    | MergeFinished
    | RunFinished
    | ResourcesSampled
    | MergeWaiting
)

EVENT_TYPES: tuple[type[Event], ...] = (
    RunStarted,
    TaskWaiting,
    TaskStarted,
    TaskProgress,
    TaskRetrying,
    TaskUsage,
    TaskFinished,
    BoostChanged,
    Paused,
    Resumed,
    MergeFinished,
    RunFinished,
)
"""Every event class, in the order docs/design.md §8 lists them."""

EXTENSION_TYPES: tuple[type[Event], ...] = (ResourcesSampled, MergeWaiting)
"""Events pmtui adds to §8's list (scripts that only know §8 can skip them by name)."""


def from_notice(notice: decisions.Output, *, workdir_of: Callable[[str], str]) -> Event | None:
    """The event for one of the scheduler's outputs; `None` for `Stop` (an order, not news).

    `workdir_of(task)` names the directory a starting task runs in (its worktree when
    isolated, else the pool's workdir): the scheduler does not know it.
    """
    match notice:
        case decisions.Start():
            return TaskStarted(
                time=notice.time,
                task=notice.task,
                agent=notice.agent,
                slot=notice.slot,
                attempt=notice.attempt,
                workdir=workdir_of(notice.task),
            )
        case decisions.Stop():
            return None
        case decisions.TaskWaiting():
            return TaskWaiting(time=notice.time, task=notice.task, reason=notice.reason)
        case decisions.TaskRetrying():
            return TaskRetrying(
                time=notice.time,
                task=notice.task,
                attempt=notice.attempt,
                step=notice.step.value,
                delay_s=notice.delay_s,
                reason=notice.reason,
            )
        case decisions.TaskFinished():
            return TaskFinished(
                time=notice.time,
                task=notice.task,
                status=notice.status.value,
                exit_code=notice.exit_code,
                reason=notice.reason,
                attempt=notice.attempt,
                duration_s=notice.duration_s,
            )
        case decisions.BoostChanged():
            return BoostChanged(time=notice.time, slots=notice.slots)
        case decisions.Paused():
            return Paused(time=notice.time)
        case decisions.Resumed():
            return Resumed(time=notice.time)
        case decisions.RunFinished():
            return RunFinished(
                time=notice.time,
                status=notice.status.value,
                done=notice.done,
                failed=notice.failed,
                skipped=notice.skipped,
                conflicts=notice.conflicts,
                duration_s=notice.duration_s,
            )
    raise TypeError(f"not a scheduler output: {notice!r}")  # pragma: no cover
