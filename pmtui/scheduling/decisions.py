"""What the scheduler answers: decisions to carry out and notices of what happened.

Decisions (`Start`, `Stop`) are orders for whoever drives the scheduler (the engine or the
simulator). Notices (`TaskWaiting`, `TaskRetrying`, `TaskFinished`, `BoostChanged`, `Paused`,
`Resumed`, `RunFinished`) report every step, so front ends can show it; their names and
fields follow docs/design.md §8's JSON lines. `Start` doubles as the `task_started` notice.

Pure: plain frozen data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pmtui.scheduling.states import TaskState


class Outcome(StrEnum):
    """How an attempt ended, as reported to the scheduler."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CONFLICT = "conflict"
    """The attempt's merge left a conflict."""
    RATE_LIMITED = "rate-limited"
    """The agent's output matched its `rate_limit_pattern`: requeued, not counted."""


class RetryStep(StrEnum):
    """The rung of the fallback ladder an extra attempt is on (seed 001)."""

    RETRY = "retry"
    PARTITION = "partition"
    """The attempt runs isolated in its own worktree."""
    SEQUENTIAL = "sequential"
    """The attempt runs alone: the pool drains first."""


class WaitKind(StrEnum):
    """Why a task that could start is held back: the fixed first word(s) of its reason.

    The scheduler lifts and counts waits by kind, never by their text.
    """

    PAUSED = "paused"
    SEQUENTIAL = "sequential"
    """A task runs alone (the sequential rung): the pool drains first."""
    MEMORY = "memory"
    CPU = "cpu"
    COMPATIBILITY = "compatibility"
    FILE_LOCK = "file lock"
    RATE_LIMIT = "rate limited"
    """Its provider backs off after a rate limit."""
    BUDGET = "budget"
    """The run's budget is spent: no new agent task starts."""
    DEPENDENCY = "dependency"
    """A dependency was retried: it waits for it again (pending, not ready)."""


class RunStatus(StrEnum):
    """How a whole run ended; decides the exit code (docs/design.md §8).

    A run whose budget left tasks skipped is `failed` (exit 1): work it was asked to do was
    not done, as when a task fails.
    """

    OK = "ok"
    FAILED = "failed"
    CONFLICT = "conflict"
    ABORTED = "aborted"

    @property
    def exit_code(self) -> int:
        """130 aborted, 1 a task failed or was cancelled (or skipped for the budget), 3 a
        conflict is left, else 0."""
        return _EXIT_CODES[self]


_EXIT_CODES = {RunStatus.OK: 0, RunStatus.FAILED: 1, RunStatus.CONFLICT: 3, RunStatus.ABORTED: 130}


@dataclass(frozen=True, slots=True)
class Start:
    """Start an attempt of a task on a slot (also the `task_started` notice)."""

    time: float
    task: str
    agent: str
    slot: int
    attempt: int
    """1-based; a rate-limited attempt does not count."""
    isolated: bool
    """Run in the task's own worktree (no file locks taken)."""
    alone: bool = False
    """The sequential rung: nothing else runs until it ends."""


@dataclass(frozen=True, slots=True)
class Stop:
    """Kill a running attempt; report its end with `Scheduler.finished` as usual."""

    time: float
    task: str
    reason: str


@dataclass(frozen=True, slots=True)
class TaskWaiting:
    """A task that could start is held back; `reason` starts with a fixed word."""

    time: float
    task: str
    reason: str
    kind: WaitKind | None = None
    """What holds it back (the scheduler always says; None only in notices built by hand)."""


@dataclass(frozen=True, slots=True)
class TaskRetrying:
    """An attempt failed and the ladder chose the next one."""

    time: float
    task: str
    attempt: int
    """The number of the coming attempt."""
    step: RetryStep
    delay_s: float
    reason: str
    """Why the last attempt failed."""


@dataclass(frozen=True, slots=True)
class TaskFinished:
    """A task reached a final state; exactly one per task, never-started ones too."""

    time: float
    task: str
    status: TaskState
    exit_code: int | None
    reason: str
    attempt: int
    """The attempts made; 0 for a task that never started."""
    duration_s: float
    """Of the last attempt; 0 for a task that never started."""


@dataclass(frozen=True, slots=True)
class BoostChanged:
    """The number of usable slots changed (boost opened or closed)."""

    time: float
    slots: int
    manual: bool


@dataclass(frozen=True, slots=True)
class Paused:
    """No new task starts until resumed; `hard` also stops running ones (SIGSTOP)."""

    time: float
    hard: bool


@dataclass(frozen=True, slots=True)
class Resumed:
    """Starting tasks again after a pause."""

    time: float


@dataclass(frozen=True, slots=True)
class RunFinished:
    """Every task is final."""

    time: float
    status: RunStatus
    done: int
    failed: int
    skipped: int
    cancelled: int
    conflicts: int
    duration_s: float
    reason: str = ""
    """Why the run was aborted, when it was."""
    budget_skipped: int = 0
    """Tasks skipped because the run's budget was spent (they make the run `failed`)."""


Decision = Start | Stop
Notice = TaskWaiting | TaskRetrying | TaskFinished | BoostChanged | Paused | Resumed | RunFinished
Output = Decision | Notice
"""Everything `Scheduler.decide` may return, in the order it happened."""
