"""The facts of a run, folded from its events: what every front end shows.

`RunView.apply(event)` updates the view one event at a time; the headless summary and the
Textual monitor read the same view, so both show the same facts from the same events. Time
is the events' own (seconds since the run started): queries that depend on the clock take a
`now` in the same unit. Pure: no I/O, no clock; never imports textual.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from pmtui.config.model import Config
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
from pmtui.plan.graph import PlanGraph
from pmtui.plan.model import Plan
from pmtui.scheduling.states import FINAL_STATES, TaskState

ESTIMATED_CAP = 99.0
"""An estimated bar never reaches 100 %: only the task's end does (docs/design.md §5)."""

FAILED_STATES = frozenset({TaskState.FAILED, TaskState.CONFLICT})
"""Final states an agent's attempt ended in without success (cancelled is the user's doing)."""


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """What the plan says of one task, before the run tells anything."""

    id: str
    title: str
    agent: str
    """The agent it is expected to run on (the task's `agent:` or the default)."""
    estimate_s: float
    """The expected seconds (`scheduling.estimates`); 0 or less means unknown."""
    depends: tuple[str, ...] | None = None
    """Its dependencies, if known: once all are done the task shows `ready`. `None` keeps it
    `pending` until an event says otherwise."""


@dataclass(slots=True)
class TaskView:
    """One task's facts so far."""

    id: str
    title: str
    agent: str
    estimate_s: float
    depends: tuple[str, ...] | None = None
    status: TaskState = TaskState.PENDING
    waiting_reason: str = ""
    """Why it is held back, while `waiting`."""
    slot: int | None = None
    """The slot it runs on, while `running`."""
    attempt: int = 0
    """The last attempt started (1-based); 0 if it never started."""
    started_at: float | None = None
    """When the current attempt started, while `running`."""
    percent: float | None = None
    """The last progress of the current attempt, reported or estimated."""
    message: str = ""
    estimated: bool = False
    """Whether `percent` is the estimated bar rather than the agent's own report."""
    reported: bool = False
    """Whether the current attempt printed a `::progress::` line."""
    retry_step: str = ""
    """`retry|partition|sequential`, while `retrying`."""
    retry_at: float | None = None
    """When the next attempt may start, while `retrying`."""
    duration_s: float | None = None
    """From `task_finished`."""
    finished_at: float | None = None
    exit_code: int | None = None
    reason: str = ""
    """The last failure, retry or finish reason."""
    merge_result: str = ""
    """How its last merge ended (`merged`, `up-to-date`, `conflict`, `check-failed`)."""
    conflicts: tuple[MergeConflict, ...] = ()
    """What its merge conflicted on, explained (empty once it merged)."""
    merge_waiting: str = ""
    """Why its merge waits (files changed by hand in the main checkout), while it does."""
    peak_rss: int | None = None
    """The largest sampled resident memory of its process group, bytes; `None` if never sampled."""
    rss: int | None = None
    """The last sample's resident memory, bytes."""
    cpu_percent: float | None = None
    """The last sample's CPU use, percent of one core."""
    cpu_max: float | None = None
    cpu_total: float = 0.0
    """Sum of the sampled CPU percents (for the mean)."""
    cpu_samples: int = 0
    over_cpu: bool = False
    """Whether any sample flagged it above `cpu_per_agent`."""
    usage: dict[int, TaskUsage] = field(default_factory=dict)
    """The last `task_usage` of each attempt (its totals so far), by the attempt's start
    (1, 2…: an attempt requeued after a rate limit repeats its number, not its start)."""
    starts: int = 0
    """How many attempts started (requeued ones too)."""

    @property
    def tokens(self) -> int:
        """Tokens of every attempt: input, output and cache reads."""
        return sum(
            use.input_tokens + use.output_tokens + use.cache_read_tokens
            for use in self.usage.values()
        )

    @property
    def cost_usd(self) -> float | None:
        """Cost of every attempt; None when no attempt's cost is known."""
        costs = [use.cost_usd for use in self.usage.values() if use.cost_usd is not None]
        return sum(costs) if costs else None

    @property
    def turns(self) -> int | None:
        """Turns of every attempt; None when no attempt said."""
        turns = [use.turns for use in self.usage.values() if use.turns is not None]
        return sum(turns) if turns else None

    @property
    def final(self) -> bool:
        """Whether the task has ended."""
        return self.status in FINAL_STATES

    @property
    def cpu_mean(self) -> float | None:
        """The mean sampled CPU use, percent of one core; `None` if never sampled."""
        return self.cpu_total / self.cpu_samples if self.cpu_samples else None

    def running_for(self, now: float) -> float:
        """Seconds the current attempt has run at `now` (0 when not running)."""
        if self.status is not TaskState.RUNNING or self.started_at is None:
            return 0.0
        return max(now - self.started_at, 0.0)


@dataclass(slots=True)
class AttemptSpan:
    """One attempt as it ran: on which slot, from when to when, and how it ended."""

    task: str
    agent: str
    slot: int
    attempt: int
    start: float
    end: float | None = None
    """None while it runs."""
    ended: str = ""
    """`done`, `failed`, `retrying`, `waiting` (a rate limit), or another final state."""


@dataclass(frozen=True, slots=True)
class AgentStats:
    """One agent's row of the agent comparison (seed 004)."""

    agent: str
    tasks: int
    done: int
    failed: int
    """Ended `failed` or `conflict`."""
    success_rate: float | None
    """Percent of `done` among `done + failed`; `None` while none has ended so."""
    mean_duration_s: float | None
    """Mean duration of its `done` tasks."""
    peak_rss: int | None
    mean_cpu: float | None
    """Mean over every sample of its tasks, percent of one core."""
    tokens: int = 0
    cost_usd: float | None = None
    """None: no cost known for any of its tasks."""
    turns: int | None = None

    @property
    def cost_per_1k_tokens(self) -> float | None:
        """Dollars per thousand tokens (seed 004's efficiency); None when unknown."""
        if self.cost_usd is None or not self.tokens:
            return None
        return 1000.0 * self.cost_usd / self.tokens


class RunView:
    """A run's facts, folded from its events in order.

    Args:
        tasks: The plan's tasks, in plan order.
    """

    def __init__(self, tasks: Sequence[TaskInfo] = ()) -> None:
        self.run_id: str = ""
        self.plan: str = ""
        self.slots: int = 0
        """The usable slots (after any boost)."""
        self.base_slots: int = 0
        """The normal slots (`run_started`); above them are the boost slots."""
        self.slot_tasks: dict[int, str] = {}
        """Slot number → the task that last started on it."""
        self.spans: list[AttemptSpan] = []
        """Every attempt so far, in start order (the timeline draws them)."""
        self._open_spans: dict[str, AttemptSpan] = {}
        self.paused: bool = False
        self.last_time: float = 0.0
        """Time of the last event applied."""
        self.memory_available: int | None = None
        """The machine's available memory at the last sample, bytes."""
        self.cpu_percent: float | None = None
        """The machine's CPU use at the last sample, percent of all cores."""
        self.cpu_saturated: bool = False
        self.peak_total_rss: int | None = None
        """The largest sum of all running tasks' RSS at one sample, bytes."""
        self.status: str | None = None
        """The run's final status (`ok|failed|conflict|aborted`) once `run_finished` came."""
        self.duration_s: float | None = None
        self._tasks: dict[str, TaskView] = {}
        for info in tasks:
            self._tasks[info.id] = TaskView(
                id=info.id,
                title=info.title,
                agent=info.agent,
                estimate_s=info.estimate_s,
                depends=info.depends,
            )
        known = [info.estimate_s for info in tasks if info.estimate_s > 0]
        self._unknown_weight = sum(known) / len(known) if known else 1.0
        self._dependents: dict[str, list[TaskView]] = {}
        for task in self._tasks.values():
            for dependency in task.depends or ():
                self._dependents.setdefault(dependency, []).append(task)
        self._refresh_ready()

    # Folding ---------------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Update the view with the next event of the run."""
        self.last_time = max(self.last_time, event.time)
        match event:
            case RunStarted():
                self.run_id, self.plan, self.slots = event.run_id, event.plan, event.slots
                self.base_slots = event.slots
            case TaskWaiting():
                self._close_span(event.task, event.time, "waiting")
                task = self._task(event.task)
                self._leave_slot(task)
                task.status = TaskState.WAITING
                task.waiting_reason = event.reason
            case TaskStarted():
                task = self._task(event.task)
                task.status = TaskState.RUNNING
                task.agent, task.slot, task.attempt = event.agent, event.slot, event.attempt
                task.starts += 1
                self.slot_tasks[event.slot] = event.task
                span = AttemptSpan(event.task, event.agent, event.slot, event.attempt, event.time)
                self.spans.append(span)
                self._open_spans[event.task] = span
                task.started_at = event.time
                task.percent, task.message = None, ""
                task.estimated = task.reported = False
                task.waiting_reason, task.retry_step, task.retry_at = "", "", None
            case TaskProgress():
                task = self._task(event.task)
                task.percent = min(max(event.percent, 0.0), 100.0)
                task.message = event.message
                task.estimated = event.estimated
                task.reported = task.reported or not event.estimated
            case TaskRetrying():
                self._close_span(event.task, event.time, "retrying")
                task = self._task(event.task)
                self._leave_slot(task)
                task.status = TaskState.RETRYING
                task.retry_step, task.retry_at = event.step, event.time + event.delay_s
                task.reason = event.reason
            case TaskFinished():
                self._close_span(event.task, event.time, event.status)
                self._finish(self._task(event.task), event)
            case TaskUsage():
                task = self._task(event.task)
                task.usage[task.starts or event.attempt] = event
            case MergeFinished():
                task = self._task(event.task)
                task.merge_result, task.conflicts = event.result, event.conflicts
                task.merge_waiting = ""
            case MergeWaiting():
                self._task(event.task).merge_waiting = event.reason
            case ResourcesSampled():
                self._sample(event)
            case BoostChanged():
                self.slots = event.slots
            case Paused():
                self.paused = True
            case Resumed():
                self.paused = False
            case RunFinished():
                self.status, self.duration_s = event.status, event.duration_s
                self.paused = False

    def apply_all(self, events: Iterable[Event]) -> RunView:
        """Apply each event in order; returns the view itself."""
        for event in events:
            self.apply(event)
        return self

    def _close_span(self, task_id: str, time: float, ended: str) -> None:
        span = self._open_spans.pop(task_id, None)
        if span is not None:
            span.end, span.ended = time, ended

    def _task(self, task_id: str) -> TaskView:
        # A task the plan did not list (a view built without the plan) still gets a row.
        task = self._tasks.get(task_id)
        if task is None:
            task = self._tasks[task_id] = TaskView(task_id, task_id, "", 0.0)
        return task

    def _leave_slot(self, task: TaskView) -> None:
        task.slot = task.started_at = None
        task.percent, task.message, task.estimated, task.reported = None, "", False, False

    def _finish(self, task: TaskView, event: TaskFinished) -> None:
        try:
            status = TaskState(event.status)
        except ValueError:
            # Not a §8 status: shown as a failure rather than lost, its reason kept.
            status = TaskState.FAILED
        done = status is TaskState.DONE
        message = task.message if done else ""
        self._leave_slot(task)
        task.status = status
        task.percent = 100.0 if done else None
        task.message = message
        task.exit_code, task.reason = event.exit_code, event.reason
        task.attempt = event.attempt or task.attempt
        task.duration_s, task.finished_at = event.duration_s, event.time
        task.waiting_reason, task.retry_step, task.retry_at = "", "", None
        if done:
            self._refresh_ready(task.id)

    def _sample(self, event: ResourcesSampled) -> None:
        self.memory_available = event.memory_available
        self.cpu_percent = event.cpu_percent
        self.cpu_saturated = event.cpu_saturated
        total = 0
        for usage in event.tasks:
            task = self._task(usage.task)
            # A late sample of a group that already ended says nothing of the task.
            if task.final:
                continue
            total += usage.rss
            task.rss, task.cpu_percent = usage.rss, usage.cpu_percent
            task.peak_rss = max(task.peak_rss or 0, usage.rss)
            task.cpu_max = max(task.cpu_max or 0.0, usage.cpu_percent)
            task.cpu_total += usage.cpu_percent
            task.cpu_samples += 1
            task.over_cpu = task.over_cpu or usage.over_cpu
        if event.tasks:
            self.peak_total_rss = max(self.peak_total_rss or 0, total)

    def _refresh_ready(self, done: str | None = None) -> None:
        """Mark pending tasks whose dependencies are all done `ready`: every task, or only
        the dependents of `done` (a run of n tasks stays O(edges), not O(n²))."""
        candidates = self._tasks.values() if done is None else self._dependents.get(done, ())
        for task in candidates:
            if task.status is TaskState.PENDING and task.depends is not None:
                deps = (self._tasks.get(dep) for dep in task.depends)
                if all(dep is None or dep.status is TaskState.DONE for dep in deps):
                    task.status = TaskState.READY

    # Queries ---------------------------------------------------------------------------------

    @property
    def tasks(self) -> list[TaskView]:
        """Every task, in plan order (tasks only the events named come last)."""
        return list(self._tasks.values())

    def task(self, task_id: str) -> TaskView:
        """One task's view.

        Raises:
            KeyError: No such task.
        """
        return self._tasks[task_id]

    @property
    def total(self) -> int:
        """How many tasks the run has."""
        return len(self._tasks)

    @property
    def done(self) -> int:
        """How many tasks ended `done`."""
        return sum(task.status is TaskState.DONE for task in self._tasks.values())

    @property
    def finished_count(self) -> int:
        """How many tasks reached any final state."""
        return sum(task.final for task in self._tasks.values())

    @property
    def finished(self) -> bool:
        """Whether `run_finished` came."""
        return self.status is not None

    def elapsed(self, now: float | None = None) -> float:
        """Seconds since the run started: the last event's time, or `now` if later."""
        if now is None or self.finished:
            return self.last_time if self.duration_s is None else self.duration_s
        return max(self.last_time, now)

    def counts(self) -> dict[TaskState, int]:
        """How many tasks are in each state (every state listed, zeros included)."""
        counts = dict.fromkeys(TaskState, 0)
        for task in self._tasks.values():
            counts[task.status] += 1
        return counts

    def running(self) -> list[TaskView]:
        """The running tasks, by slot."""
        busy = [task for task in self._tasks.values() if task.status is TaskState.RUNNING]
        return sorted(busy, key=lambda task: (task.slot is None, task.slot or 0, task.id))

    def conflicted(self) -> list[TaskView]:
        """The tasks left in conflict, in plan order (each with its explanation)."""
        return [task for task in self._tasks.values() if task.status is TaskState.CONFLICT]

    def weight(self, task: TaskView) -> float:
        """The task's share of the run's work: its estimate, or the mean of the known ones."""
        return task.estimate_s if task.estimate_s > 0 else self._unknown_weight

    def task_percent(self, task: TaskView, now: float | None = None) -> float:
        """How far one task is, 0–100: final tasks 100, running ones their reported percent,
        else their estimated bar (elapsed / estimate, capped at 99); others 0."""
        if task.final:
            return 100.0
        if task.status is not TaskState.RUNNING:
            return 0.0
        if task.reported and task.percent is not None:
            return task.percent
        guess = _estimated(task.running_for(self.elapsed(now)), self.weight(task))
        return min(max(guess, task.percent or 0.0), ESTIMATED_CAP)

    def overall_percent(self, now: float | None = None) -> float:
        """The run's progress, 0–100, each task weighted by its estimate.

        Final tasks (done, skipped, failed…) count whole; running ones their `task_percent`;
        the rest nothing. A run without tasks, or one that finished, is at 100.
        """
        if not self._tasks or self.finished:
            return 100.0
        whole = sum(self.weight(task) for task in self._tasks.values())
        part = sum(
            self.weight(task) * self.task_percent(task, now) / 100.0
            for task in self._tasks.values()
        )
        return min(max(100.0 * part / whole, 0.0), 100.0)

    def eta_s(self, now: float | None = None) -> float | None:
        """Seconds until the run ends; `None` before any progress.

        The run's own rate, `elapsed × (100 − p) / p`, corrects the estimates by how fast the
        agents really go. It alone is too hopeful near the end, when one long task is left and
        the rate it learned came from many slots at once, so it is raised to the longest
        remaining time of a single running task (its own rate, or estimate − elapsed for the
        estimated bars): the run cannot end before that task does.
        """
        if self.finished:
            return 0.0
        elapsed = self.elapsed(now)
        percent = self.overall_percent(now)
        if percent <= 0.0 or elapsed <= 0.0:
            return None
        eta = elapsed * (100.0 - percent) / percent
        for task in self.running():
            ran = task.running_for(elapsed)
            if task.reported and task.percent:
                eta = max(eta, ran * (100.0 - task.percent) / task.percent)
            elif not task.reported:
                eta = max(eta, self.weight(task) - ran)
        return max(eta, 0.0)

    def estimated_progress(self, now: float) -> list[tuple[str, float]]:
        """`(task id, percent)` of the running tasks that never printed a `::progress::` line in
        this attempt: elapsed / estimate, capped at 99. The engine turns each into a
        `task_progress` event with `estimated: true`."""
        return [
            (task.id, _estimated(task.running_for(now), self.weight(task)))
            for task in self.running()
            if not task.reported
        ]

    @property
    def tokens(self) -> int:
        """Tokens of the whole run so far."""
        return sum(task.tokens for task in self._tasks.values())

    @property
    def cost_usd(self) -> float | None:
        """Cost of the whole run so far; None while no cost is known."""
        return _sum_known(task.cost_usd for task in self._tasks.values())

    def agent_stats(self) -> list[AgentStats]:
        """Per agent, in order of first appearance: the agent comparison's numbers (seed 004)."""
        groups: dict[str, list[TaskView]] = {}
        for task in self._tasks.values():
            groups.setdefault(task.agent, []).append(task)
        return [_agent_stats(agent, tasks) for agent, tasks in groups.items()]


_Number = TypeVar("_Number", int, float)


def _estimated(ran_s: float, estimate_s: float) -> float:
    if estimate_s <= 0:
        return ESTIMATED_CAP
    return min(100.0 * ran_s / estimate_s, ESTIMATED_CAP)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _agent_stats(agent: str, tasks: Sequence[TaskView]) -> AgentStats:
    done = [task for task in tasks if task.status is TaskState.DONE]
    failed = sum(task.status in FAILED_STATES for task in tasks)
    ended = len(done) + failed
    samples = sum(task.cpu_samples for task in tasks)
    peaks = [task.peak_rss for task in tasks if task.peak_rss is not None]
    durations = [task.duration_s for task in done if task.duration_s is not None]
    return AgentStats(
        agent=agent,
        tasks=len(tasks),
        done=len(done),
        failed=failed,
        success_rate=100.0 * len(done) / ended if ended else None,
        mean_duration_s=_mean(durations),
        peak_rss=max(peaks) if peaks else None,
        mean_cpu=sum(task.cpu_total for task in tasks) / samples if samples else None,
        tokens=sum(task.tokens for task in tasks),
        cost_usd=_sum_known(task.cost_usd for task in tasks),
        turns=_sum_known(task.turns for task in tasks),
    )


def _sum_known(values: Iterable[_Number | None]) -> _Number | None:
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def plan_tasks(
    plan: Plan,
    config: Config,
    estimates: Mapping[str, float],
    graph: PlanGraph | None = None,
) -> list[TaskInfo]:
    """The `TaskInfo`s of a plan, in plan order.

    Args:
        plan: The plan.
        config: Names each task's agent (its own, else the default).
        estimates: Seconds per task id (`scheduling.estimates.estimate_tasks`).
        graph: The plan's graph, so tasks show `ready` once their dependencies are done.
    """
    return [
        TaskInfo(
            id=task.id,
            title=task.title,
            agent=config.agent_for(task.agent, task.script is not None),
            estimate_s=estimates.get(task.id, 0.0),
            depends=None if graph is None else tuple(graph.dependencies(task.id)),
        )
        for task in plan.tasks
    ]
