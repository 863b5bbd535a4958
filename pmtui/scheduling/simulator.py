"""A discrete-event simulator: drives the real scheduler with a virtual clock.

Each started attempt ends after the duration an `AttemptModel` gives it (the estimates for a
dry run; scripted failures, rate limits and conflicts for tests). User commands and memory
readings can be injected at given times. The same `Scheduler` the engine drives makes every
decision, so a dry run predicts what `pmtui run` will do.

Pure: no I/O, no clock, no threads.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from pmtui.scheduling.decisions import (
    Outcome,
    Output,
    RunFinished,
    Start,
    Stop,
    TaskFinished,
    TaskWaiting,
)
from pmtui.scheduling.scheduler import Scheduler
from pmtui.scheduling.states import TaskState


@dataclass(frozen=True, slots=True)
class UsageReport:
    """What a simulated attempt's agent reports having spent, `after_s` into the attempt."""

    after_s: float
    cost_usd: float | None
    """The attempt's running total; None: unknown (no price)."""
    tokens: int


@dataclass(frozen=True, slots=True)
class SimulatedAttempt:
    """How one simulated attempt goes."""

    duration_s: float
    outcome: Outcome = Outcome.SUCCEEDED
    exit_code: int | None = 0
    reason: str = ""
    usage: tuple[UsageReport, ...] = ()
    """Reported to `Scheduler.spent` while the attempt runs (those at its end, before it)."""


AttemptModel = Callable[[Start, int], SimulatedAttempt]
"""Given a start and how many times this task has been started (1-based, rate-limited starts
included), how the attempt goes."""

Command = Callable[[Scheduler, float], None]
"""A user command or a reading, applied at a virtual time: `lambda s, now: s.pause(now)`."""


@dataclass(frozen=True, slots=True)
class ScheduledAttempt:
    """One attempt as it ran in the simulation."""

    task: str
    agent: str
    slot: int
    attempt: int
    start_s: float
    end_s: float
    outcome: Outcome | None
    """None when it was stopped (skip or abort) before it ended on its own."""
    alone: bool = False


@dataclass(frozen=True, slots=True)
class PredictedWait:
    """A stretch of time a task could have started but was held back."""

    task: str
    reason: str
    start_s: float
    end_s: float

    @property
    def kind(self) -> str:
        """The reason's fixed first word(s): `file lock`, `compatibility`, `memory`…"""
        if ":" in self.reason:
            return self.reason.split(":", 1)[0]
        return self.reason.split(" ", 1)[0]  # `dependency a1 retried`, `paused`

    @property
    def seconds(self) -> float:
        """How long the wait lasted."""
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Everything that happened in a simulated run."""

    attempts: tuple[ScheduledAttempt, ...]
    """Every attempt, in start order."""
    outputs: tuple[Output, ...]
    """Every decision and notice, in order."""
    states: Mapping[str, TaskState]
    """The final state of every task."""
    waits: tuple[PredictedWait, ...]
    run: RunFinished

    @property
    def makespan_s(self) -> float:
        """When the last task ended."""
        return self.run.time


@dataclass(order=True)
class _Timed:
    time: float
    sequence: int
    action: Callable[[float], None] = field(compare=False)


def _nothing(_now: float) -> None:
    """A wake-up with nothing to apply: the scheduler has a back-off ending."""


class SimulationError(RuntimeError):
    """The scheduler stalled: nothing running, nothing scheduled, yet tasks not final."""


def simulate(
    scheduler: Scheduler,
    model: AttemptModel,
    *,
    commands: Sequence[tuple[float, Command]] = (),
    max_steps: int = 10_000_000,
) -> SimulationResult:
    """Run `scheduler` to the end on a virtual clock starting at 0.

    Args:
        scheduler: A fresh scheduler.
        model: How each attempt goes.
        commands: `(time, command)` pairs applied at those times.
        max_steps: A guard against a scheduler that never ends.

    Raises:
        SimulationError: The scheduler stopped deciding with tasks still open.
    """
    queue: list[_Timed] = []
    sequence = 0

    def at(time: float, action: Callable[[float], None]) -> None:
        nonlocal sequence
        sequence += 1
        heapq.heappush(queue, _Timed(time, sequence, action))

    for time, command in commands:
        at(time, partial(command, scheduler))

    outputs: list[Output] = []
    attempts: list[ScheduledAttempt] = []
    open_attempt: dict[str, int] = {}  # task → index in `attempts`
    starts: dict[str, int] = {}
    waiting_since: dict[str, tuple[float, str]] = {}
    waits: list[PredictedWait] = []
    wakeup_at: float | None = None
    lifted = 0

    def end_attempt(task: str, attempt: SimulatedAttempt | None, now: float) -> None:
        index = open_attempt.pop(task, None)
        if index is None:
            return  # already ended by a stop
        started = attempts[index]
        attempts[index] = ScheduledAttempt(
            started.task,
            started.agent,
            started.slot,
            started.attempt,
            started.start_s,
            now,
            attempt.outcome if attempt is not None else None,
            started.alone,
        )
        if attempt is None:
            scheduler.finished(task, now, Outcome.FAILED, exit_code=None, reason="stopped")
        else:
            scheduler.finished(
                task, now, attempt.outcome, exit_code=attempt.exit_code, reason=attempt.reason
            )

    def report_usage(task: str, index: int, report: UsageReport, now: float) -> None:
        if open_attempt.get(task) == index:  # the attempt still runs (not stopped)
            scheduler.spent(task, report.cost_usd, report.tokens, now)

    def close_wait(task: str, now: float) -> None:
        since = waiting_since.pop(task, None)
        if since is not None and now > since[0]:
            waits.append(PredictedWait(task, since[1], since[0], now))

    now = 0.0
    steps = 0
    while True:
        steps += 1
        if steps > max_steps:
            raise SimulationError(f"no end after {max_steps} steps")
        # Apply everything due by now (ends, commands, readings) before deciding.
        while queue and queue[0].time <= now:
            heapq.heappop(queue).action(now)
        for output in scheduler.decide(now):
            outputs.append(output)
            if isinstance(output, Start):
                close_wait(output.task, now)
                starts[output.task] = starts.get(output.task, 0) + 1
                planned = model(output, starts[output.task])
                open_attempt[output.task] = len(attempts)
                attempts.append(
                    ScheduledAttempt(
                        output.task,
                        output.agent,
                        output.slot,
                        output.attempt,
                        now,
                        now,
                        None,
                        output.alone,
                    )
                )
                for report in planned.usage:
                    after = min(max(report.after_s, 0.0), max(planned.duration_s, 0.0))
                    at(now + after, partial(report_usage, output.task, len(attempts) - 1, report))
                at(now + max(planned.duration_s, 0.0), partial(end_attempt, output.task, planned))
            elif isinstance(output, Stop):
                at(now, partial(end_attempt, output.task, None))
            elif isinstance(output, TaskWaiting):
                close_wait(output.task, now)
                waiting_since[output.task] = (now, output.reason)
            elif isinstance(output, TaskFinished):
                close_wait(output.task, now)
            elif isinstance(output, RunFinished):
                for task in list(waiting_since):
                    close_wait(task, now)
                return SimulationResult(
                    tuple(attempts), tuple(outputs), dict(scheduler.states), tuple(waits), output
                )
        if scheduler.lifted_waits != lifted:
            # A gate opened: a wait may have ended without a start (no free slot yet).
            lifted = scheduler.lifted_waits
            for task in list(waiting_since):
                if scheduler.state(task) != TaskState.WAITING:
                    close_wait(task, now)
        wakeup = scheduler.next_wakeup()
        if wakeup is not None and wakeup != wakeup_at and (not queue or wakeup < queue[0].time):
            wakeup_at = wakeup
            at(max(wakeup, now), _nothing)
        if not queue:
            open_tasks = [task for task, state in scheduler.states.items() if not state.final]
            raise SimulationError(
                f"stalled at {now:g}s with {len(open_tasks)} open tasks: {open_tasks[:5]}"
            )
        now = max(now, queue[0].time)
