"""Properties of the scheduler over generated plans, attempt outcomes and commands (hypothesis).

Random valid plans (phases, barriers, explicit depends, priorities, agents under a random
compatibility matrix and sharing random providers, overlapping file sets, done tasks, retries)
run in the simulator with random durations, failures, conflicts, rate limits (with or without
a reported reset time) and user commands. A recording scheduler
logs every input and output in the order they happened, and a replay checks at every step
the promises of docs/design.md §4, each recomputed from the rules rather than from the scheduler.

Each bug these properties found is kept as an explicit example, shrunk by hand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from pmtui.config.model import CompatConfig, Strategy
from pmtui.plan.errors import Problem, Severity
from pmtui.plan.files import shared_paths
from pmtui.plan.graph import PlanGraph
from pmtui.plan.model import Priority
from pmtui.plan.parser import parse_plan
from pmtui.plan.validate import validate_plan
from pmtui.scheduling.decisions import (
    BoostChanged,
    Outcome,
    Output,
    RetryStep,
    RunFinished,
    RunStatus,
    Start,
    Stop,
    TaskFinished,
    TaskRetrying,
    TaskWaiting,
)
from pmtui.scheduling.forecast import forecast
from pmtui.scheduling.ladder import FailedAttempt, next_step
from pmtui.scheduling.scheduler import CommandRefused, Scheduler
from pmtui.scheduling.setup import SchedulerSetup
from pmtui.scheduling.simulator import (
    Command,
    ScheduledAttempt,
    SimulatedAttempt,
    SimulationResult,
    simulate,
)
from pmtui.scheduling.states import TaskState

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None)
"""Modest and fixed: the same examples on every run, a few seconds on two cores."""

AGENTS = ("demo", "alpha", "beta", "gamma", "delta")
"""A task without `agent:` runs as `demo`, so it is part of the compatibility draw too."""
FILE_POOL = (
    "src/a.py",
    "src/b.py",
    "src/",
    "src/sub/c.py",
    "src/*.py",
    "docs/guide.md",
    "docs/",
    "**/*.md",
    "tests/test_a.py",
    "tests/",
)
"""Few paths, folders and globs, so file sets overlap often."""
DURATIONS = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0)
"""Small and repeating, so many things happen at the same instant."""
OUTCOMES = (
    [Outcome.SUCCEEDED] * 4 + [Outcome.FAILED] * 3 + [Outcome.CONFLICT] * 2 + [Outcome.RATE_LIMITED]
)
"""Rate limits are rarer; each task has at most `MAX_SCRIPTED` scripted attempts."""
MAX_SCRIPTED = 4
PROVIDERS = ("", "p1", "p2")
"""An agent's provider: "" is its own name; two agents drawing `p1` back off together."""
RESETS = (None, None, -1.0, 5.0, 45.0, 700.0)
"""How long after a rate limit the reported reset comes: None, none reported; a past one
(-1 s) is ignored; 700 s is past the 10 min cap, and kept."""
MEMORY_PER_AGENT = 100
FAILED_STATES = (TaskState.FAILED, TaskState.CONFLICT)

# --- generated plans ------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskSpec:
    number: int
    done: bool
    agent: str | None
    priority: Priority
    files: tuple[str, ...]
    retries: int | None
    estimate_s: float
    depends: tuple[int, ...] | None
    """None: the barrier applies; else the numbers of earlier tasks (maybe none)."""

    @property
    def id(self) -> str:
        return f"t{self.number}"


@dataclass(frozen=True)
class PhaseSpec:
    mode: str
    tasks: tuple[TaskSpec, ...]


def render(phases: list[PhaseSpec]) -> str:
    lines = ["# Plan: Generated"]
    marker = {"staged": "", "parallel": " [PARALLEL]", "sequential": " [SEQUENTIAL]"}
    for index, phase in enumerate(phases, start=1):
        lines.append(f"## Phase {index}: Part{marker[phase.mode]}")
        for spec in phase.tasks:
            box = "[x]" if spec.done else "[ ]"
            keys = f"(estimate: {spec.estimate_s:g}s)"
            if spec.agent is not None:
                keys += f" (agent: {spec.agent})"
            if spec.priority is not Priority.NORMAL:
                keys += f" (priority: {spec.priority})"
            if spec.files:
                keys += f" (files: {', '.join(spec.files)})"
            if spec.retries is not None:
                keys += f" (retries: {spec.retries})"
            if spec.depends is not None:
                named = ", ".join(f"t{number}" for number in spec.depends) or "none"
                keys += f" (depends: {named})"
            lines.append(f"- {box} {spec.id} Do part {spec.number} {keys}")
    return "\n".join(lines) + "\n"


@st.composite
def plan_texts(draw: st.DrawFn) -> str:
    """A plan whose explicit depends only name tasks written above them: always acyclic."""
    phases: list[PhaseSpec] = []
    count = 0
    for _ in range(draw(st.integers(1, 4))):
        mode = draw(st.sampled_from(["staged", "parallel", "sequential"]))
        tasks: list[TaskSpec] = []
        for _ in range(draw(st.integers(0, 4))):
            depends: tuple[int, ...] | None = None
            if count and draw(st.booleans()):
                depends = tuple(sorted(draw(st.sets(st.integers(0, count - 1), max_size=3))))
            tasks.append(
                TaskSpec(
                    number=count,
                    done=draw(st.booleans()) and draw(st.booleans()),
                    agent=draw(st.none() | st.sampled_from(AGENTS[1:])),
                    priority=draw(st.sampled_from(list(Priority))),
                    files=tuple(
                        draw(st.lists(st.sampled_from(FILE_POOL), max_size=2, unique=True))
                    ),
                    retries=draw(st.none() | st.integers(0, 3)),
                    estimate_s=draw(st.sampled_from(DURATIONS)),
                    depends=depends,
                )
            )
            count += 1
        phases.append(PhaseSpec(mode, tuple(tasks)))
    assume(count > 0)
    return render(phases)


def graph_and_errors(text: str) -> tuple[PlanGraph, list[Problem]]:
    plan, problems = parse_plan(text, "generated.md")
    graph, plan_problems = validate_plan(plan, agents=AGENTS)
    return graph, [p for p in [*problems, *plan_problems] if p.severity is Severity.ERROR]


def build_graph(text: str) -> PlanGraph:
    """The graph of a drawn plan; plans with errors are not drawn."""
    graph, errors = graph_and_errors(text)
    assume(not errors)
    return graph


def valid_graph(text: str) -> PlanGraph:
    graph, errors = graph_and_errors(text)
    assert errors == []
    return graph


agent_names = st.sampled_from(AGENTS)


@st.composite
def compat_rules(draw: st.DrawFn) -> tuple[CompatConfig, frozenset[str]]:
    """A compatibility matrix over `AGENTS`, and which of them modify code."""
    rules = CompatConfig(
        clusters=tuple(draw(st.lists(st.frozensets(agent_names, min_size=2), max_size=2))),
        never_together=tuple(
            draw(st.lists(st.frozensets(agent_names, min_size=1, max_size=2), max_size=2))
        ),
        singleton=draw(st.frozensets(agent_names, max_size=2)),
        exclusive_with_code=draw(st.frozensets(agent_names, max_size=2)),
    )
    return rules, draw(st.frozensets(agent_names, max_size=3))


@st.composite
def setups(draw: st.DrawFn, graph: PlanGraph) -> SchedulerSetup:
    """Slots, order, compatibility, isolation and ladder settings for `graph`."""
    rules, code_agents = draw(compat_rules())
    slots = draw(st.integers(1, 6))
    task_ids = sorted(graph.tasks)
    agents = {task_id: task.agent or "demo" for task_id, task in graph.tasks.items()}
    provider_of_agent = {agent: draw(st.sampled_from(PROVIDERS)) for agent in AGENTS}
    return SchedulerSetup(
        agents=agents,
        estimates={task_id: task.estimate_s or 0.0 for task_id, task in graph.tasks.items()},
        providers={task_id: provider_of_agent[agent] for task_id, agent in agents.items()},
        slots=slots,
        boost_slots=slots + draw(st.integers(0, 3)),
        strategy=draw(st.sampled_from(list(Strategy))),
        code_agents=code_agents,
        compat=rules,
        isolated=draw(st.frozensets(st.sampled_from(task_ids))),
        can_isolate=draw(st.booleans()),
        retries={
            task_id: task.retries
            for task_id, task in graph.tasks.items()
            if task.retries is not None
        },
        default_retries=draw(st.integers(0, 3)),
        retry_delay_s=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
        abort_on_failure=draw(st.integers(0, 3)) == 3,
        memory_per_agent=MEMORY_PER_AGENT,
        fail_fast=draw(st.booleans()),
        seed=draw(st.integers(0, 3)),
    )


# --- attempts and commands ------------------------------------------------------------------

ScriptedAttempts = dict[str, tuple[tuple[float, Outcome], ...]]
"""Per task, how its 1st, 2nd… starts go; later starts succeed after the estimate."""


def attempt_model(
    script: ScriptedAttempts, setup: SchedulerSetup
) -> Callable[[Start, int], SimulatedAttempt]:
    def model(start: Start, nth: int) -> SimulatedAttempt:
        scripted = script.get(start.task, ())
        if nth <= len(scripted):
            duration, outcome = scripted[nth - 1]
        else:
            duration, outcome = setup.estimates[start.task], Outcome.SUCCEEDED
        failed = outcome is not Outcome.SUCCEEDED
        return SimulatedAttempt(duration, outcome, 1 if failed else 0, "exit 1" if failed else "")

    return model


COMMAND_KINDS = ["pause", "resume", "skip", "retry", "boost", "memory", "cpu"] * 2 + [
    "retry",
    "resolve",
    "abort",
]
"""`abort` is the rarest; `retry` the most common, since it applies only to a failed task;
`resolve` (a conflict left, landed by the user's choice) applies only to a conflicted one."""


@dataclass(frozen=True)
class CommandSpec:
    time: float
    kind: str
    arg: int
    """The task index (skip, retry), on/off (pause: hard, boost, cpu), memory in agents."""


command_specs = st.builds(
    CommandSpec,
    time=st.sampled_from(DURATIONS) | st.integers(0, 80).map(lambda half: half / 2),
    kind=st.sampled_from(COMMAND_KINDS),
    arg=st.integers(-1, 3),
)


@dataclass(frozen=True)
class Scenario:
    plan: str
    setup: SchedulerSetup
    script: ScriptedAttempts
    commands: tuple[CommandSpec, ...]
    retry_at_once: int = 0
    """How many tasks the user retries the moment they fail for good."""
    reset_after: float | None = None
    """A rate-limited agent reports its reset this many seconds later (None: no report)."""


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A plan, its setup, how its attempts go and the commands of a random run."""
    text = draw(plan_texts())
    graph = build_graph(text)
    setup = draw(setups(graph))
    attempt = st.tuples(st.sampled_from(DURATIONS), st.sampled_from(OUTCOMES))
    script = {
        task_id: tuple(draw(st.lists(attempt, max_size=MAX_SCRIPTED)))
        for task_id, task in graph.tasks.items()
        if not task.done
    }
    commands = tuple(draw(st.lists(command_specs, max_size=6)))
    retry_at_once = draw(st.integers(0, 2))
    return Scenario(text, setup, script, commands, retry_at_once, draw(st.sampled_from(RESETS)))


# --- recording what happened ----------------------------------------------------------------


@dataclass(frozen=True)
class Ended:
    """The driver reported the end of an attempt (its slot and locks are free from here)."""

    time: float
    task: str
    outcome: Outcome
    already_final: bool = False
    """A skip or an abort had ended the task: its stop (logged with the next outputs) is
    older than this end, and the outcome is ignored."""
    resume_at: float | None = None
    """The reset time a rate-limited agent reported."""


@dataclass(frozen=True)
class Applied:
    """A command or reading the scheduler accepted."""

    time: float
    kind: str
    value: int | None = None
    task: str = ""
    reopened: tuple[str, ...] = ()
    """For `retry`: the tasks that left a final state (the retried one and its dependents)."""
    before: tuple[TaskState, ...] = ()
    """For `retry`: the states those tasks were in."""


@dataclass(frozen=True)
class Idle:
    """After `decide`: nothing runs and no back-off ends, yet the run is not over."""

    time: float
    open_tasks: tuple[str, ...]


Entry = Output | Ended | Applied | Idle


class RecordingScheduler(Scheduler):
    """The real scheduler, logging every attempt end and every output in order.

    With `retry_at_once`, the user also retries a task the moment it fails for good, that
    many times in all: failures rarely leave a window open for a retry at a drawn time.
    """

    def __init__(
        self,
        graph: PlanGraph,
        setup: SchedulerSetup,
        retry_at_once: int = 0,
        reset_after: float | None = None,
    ) -> None:
        super().__init__(graph, setup)
        self.log: list[Entry] = []
        self.retry_at_once = retry_at_once
        self.reset_after = reset_after

    def finished(
        self,
        task_id: str,
        now: float,
        outcome: Outcome,
        *,
        exit_code: int | None = None,
        reason: str = "",
        resume_at: float | None = None,
    ) -> None:
        # The simulator reports no reset time: the scenario's stands in for the agent's.
        if outcome is Outcome.RATE_LIMITED and self.reset_after is not None:
            resume_at = now + self.reset_after
        self.log.append(Ended(now, task_id, outcome, self.state(task_id).final, resume_at))
        super().finished(
            task_id, now, outcome, exit_code=exit_code, reason=reason, resume_at=resume_at
        )
        if self.retry_at_once and self.state(task_id) in FAILED_STATES:
            self.retry_at_once -= 1
            with suppress(CommandRefused):
                user_retry(self, task_id, now)

    def decide(self, now: float) -> list[Output]:
        outputs = super().decide(now)
        self.log.extend(outputs)
        if not self.finished_run and not self.running and self.next_wakeup() is None:
            self.log.append(Idle(now, tuple(open_tasks(self))))
        return outputs


def user_retry(scheduler: RecordingScheduler, task_id: str, now: float) -> None:
    """Retry `task_id`, logging which tasks it reopened and from which state."""
    before = dict(scheduler.states)
    scheduler.retry(task_id, now)
    after = scheduler.states
    reopened = tuple(task for task in before if before[task].final and not after[task].final)
    scheduler.log.append(
        Applied(
            now,
            "retry",
            task=task_id,
            reopened=reopened,
            before=tuple(before[task] for task in reopened),
        )
    )


def user_resolve(scheduler: RecordingScheduler, task_id: str, now: float) -> None:
    """Resolve `task_id`'s conflict, logging it and the dependents it reopened."""
    before = dict(scheduler.states)
    scheduler.resolved(task_id, now, "use_last")
    after = scheduler.states
    reopened = tuple(task for task in before if before[task].final and not after[task].final)
    scheduler.log.append(
        Applied(
            now,
            "resolve",
            task=task_id,
            reopened=(task_id, *reopened),
            before=tuple(before[task] for task in (task_id, *reopened)),
        )
    )


def open_tasks(scheduler: Scheduler) -> list[str]:
    return [task_id for task_id, state in scheduler.states.items() if not state.final]


def failed_tasks(scheduler: Scheduler) -> list[str]:
    return [task_id for task_id, state in scheduler.states.items() if state in FAILED_STATES]


def apply_command(spec: CommandSpec) -> Command:
    """The command of `spec`, logging itself when the scheduler accepts it."""

    def apply(scheduler: Scheduler, now: float) -> None:
        assert isinstance(scheduler, RecordingScheduler)
        log = scheduler.log
        try:
            if spec.kind == "pause":
                scheduler.pause(now, hard=spec.arg > 1)
                log.append(Applied(now, "pause"))
            elif spec.kind == "resume":
                scheduler.resume(now)
                log.append(Applied(now, "resume"))
            elif spec.kind == "boost":
                scheduler.set_boost(spec.arg > 0, now)
                log.append(Applied(now, "boost", int(spec.arg > 0)))
            elif spec.kind == "memory":
                # -1: unknown (no gate); 0: not even one agent fits; n: room for n agents.
                available = None if spec.arg < 0 else spec.arg * MEMORY_PER_AGENT
                scheduler.memory_available(available, now)
                log.append(Applied(now, "memory", available))
            elif spec.kind == "cpu":
                scheduler.cpu_saturated(spec.arg > 0, now)
                log.append(Applied(now, "cpu", int(spec.arg > 0)))
            elif spec.kind == "abort":
                if not scheduler.finished_run:
                    scheduler.abort(now, "aborted by user")
                    log.append(Applied(now, "abort"))
            elif spec.kind == "skip":
                candidates = open_tasks(scheduler) or sorted(scheduler.states)
                task = candidates[spec.arg % len(candidates)]
                scheduler.skip(task, now)
                log.append(Applied(now, "skip", task=task))
            elif spec.kind == "retry":
                candidates = failed_tasks(scheduler) or sorted(scheduler.states)
                user_retry(scheduler, candidates[spec.arg % len(candidates)], now)
            elif spec.kind == "resolve":
                states = scheduler.states
                candidates = [t for t in sorted(states) if states[t] is TaskState.CONFLICT]
                candidates = candidates or sorted(states)
                user_resolve(scheduler, candidates[spec.arg % len(candidates)], now)
        except CommandRefused:
            pass

    return apply


RETRY_REPEATS = 40
RETRY_EVERY_S = 0.5
"""A `retry` is tried again and again for a while: a task must have failed for it to apply."""


def cleanup_time(commands: tuple[CommandSpec, ...]) -> float:
    return max((spec.time for spec in commands), default=0.0) + RETRY_REPEATS * RETRY_EVERY_S


def run_scenario(scenario: Scenario) -> tuple[SimulationResult, list[Entry], PlanGraph]:
    """Simulate the scenario; after the last command, gates open so that the run can end."""
    graph = valid_graph(scenario.plan)
    scheduler = RecordingScheduler(
        graph, scenario.setup, scenario.retry_at_once, scenario.reset_after
    )
    end = cleanup_time(scenario.commands)
    commands = [
        (spec.time + RETRY_EVERY_S * repeat, apply_command(spec))
        for spec in scenario.commands
        for repeat in range(RETRY_REPEATS if spec.kind in ("retry", "resolve") else 1)
    ]
    commands += [
        (end, apply_command(CommandSpec(end, "resume", 0))),
        (end, apply_command(CommandSpec(end, "memory", -1))),
        (end, apply_command(CommandSpec(end, "cpu", 0))),
    ]
    model = attempt_model(scenario.script, scenario.setup)
    result = simulate(scheduler, model, commands=commands)
    return result, scheduler.log, graph


# --- the replay: every promise, recomputed ----------------------------------------------------


def incompatible(first: str, second: str, rules: CompatConfig, code: frozenset[str]) -> bool:
    """Whether two agents may not run at once, straight from the words of docs/design.md §4."""
    if first == second and first in rules.singleton:
        return True
    if frozenset({first, second}) in set(rules.never_together):
        return True
    exclusive = rules.exclusive_with_code
    return (first in exclusive and second in code) or (second in exclusive and first in code)


def cluster_mates(first: str, second: str, rules: CompatConfig) -> bool:
    return any(first in cluster and second in cluster for cluster in rules.clusters)


WAIT_REASONS = (
    "file lock:",
    "compatibility:",
    "memory:",
    "cpu:",
    "paused",
    "rate limited (",
    "sequential:",
    "dependency ",
)
"""The fixed first words of a `TaskWaiting` reason (`dependency`: reopened by a retry)."""


def retry_backoff_range(extra_attempt: int, first_delay_s: float) -> tuple[float, float]:
    """`retry_delay`, doubling per extra attempt, capped at 30 s (unless set above), ±20 %."""
    base = min(first_delay_s * 2.0 ** (extra_attempt - 1), max(30.0, first_delay_s))
    return 0.8 * base - 1e-9, 1.2 * base + 1e-9


def rate_limit_backoff(times_in_a_row: int) -> float:
    """From 30 s, doubling, capped at 10 min."""
    return min(30.0 * 2.0 ** (times_in_a_row - 1), 600.0)


def rate_limit_until(ended: Ended, times_in_a_row: int) -> float:
    """The reported reset when still to come (even past the cap), else the back-off."""
    if ended.resume_at is not None and ended.resume_at > ended.time:
        return ended.resume_at
    return ended.time + rate_limit_backoff(times_in_a_row)


@dataclass
class Replay:
    """What the log says so far; `step` checks each entry against the rules."""

    graph: PlanGraph
    setup: SchedulerSetup
    running: dict[str, Start] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)
    """Running tasks asked to stop, whose end the driver has not reported yet."""
    done: set[str] = field(default_factory=set)
    final: dict[str, TaskState] = field(default_factory=dict)
    finishes: Counter[str] = field(default_factory=Counter)
    reopens: Counter[str] = field(default_factory=Counter)
    counted: Counter[str] = field(default_factory=Counter)
    numbered_before: Counter[str] = field(default_factory=Counter)
    """Attempts before a user retry: numbers go on from there, the budget starts afresh."""
    """Starts that count as attempts, since the last user retry."""
    beside: set[str] = field(default_factory=set)
    """Tasks with an attempt that ran beside another task (since the last user retry)."""
    shared: set[str] = field(default_factory=set)
    """Tasks whose current or last attempt ran beside a task touching the same files."""
    last_end: dict[str, tuple[Outcome, bool]] = field(default_factory=dict)
    """How each task's last attempt ended, and whether it ran isolated."""
    next_step: dict[str, RetryStep] = field(default_factory=dict)
    """The ladder rung of a task's coming attempt."""
    partitioned: set[str] = field(default_factory=set)
    not_before: dict[str, float] = field(default_factory=dict)
    """Back-offs: a retrying task starts no sooner than this."""
    rate_limits: Counter[str] = field(default_factory=Counter)
    """Rate limits in a row, per provider."""
    provider_not_before: dict[str, float] = field(default_factory=dict)
    """Back-offs after rate limits: no task of the provider starts sooner than this."""
    skipped_by_user: set[str] = field(default_factory=set)
    manual_boost: bool = False
    paused: bool = False
    cpu_saturated: bool = False
    memory_closed: bool = False
    """The last reading had room for no agent at all."""
    fail_fast_stopping: bool = False
    no_more_starts: str = ""
    aborted_by: str = ""
    starts: int = 0
    run: RunFinished | None = None
    ended_when_final: set[str] = field(default_factory=set)
    """Tasks whose end came after their skip or abort, but before its notices."""
    retries_asked: dict[str, Applied] = field(default_factory=dict)
    """User retries accepted whose `retried by user` notice has not come yet."""

    def step(self, entry: Entry) -> None:
        assert self.run is None, f"{entry} after the run finished"
        if isinstance(entry, Start):
            self.start(entry)
        elif isinstance(entry, Ended):
            self.ended(entry)
        elif isinstance(entry, Stop):
            if entry.task in self.running or entry.task in self.ended_when_final:
                assert entry.task in self.skipped_by_user or self.aborted_by, entry
                if entry.task in self.running:
                    self.stopped.add(entry.task)
                self.ended_when_final.discard(entry.task)
            else:
                raise AssertionError(f"{entry}: the task does not run")
        elif isinstance(entry, TaskFinished):
            self.task_finished(entry)
        elif isinstance(entry, TaskRetrying):
            if entry.reason == "retried by user":
                self.reopen(self.retries_asked.pop(entry.task))
                assert entry.attempt == self.numbered_before[entry.task] + 1, entry
            else:
                self.retrying(entry)
        elif isinstance(entry, TaskWaiting):
            assert entry.task not in self.running and entry.task not in self.final, entry
            assert entry.reason.startswith(WAIT_REASONS), entry
        elif isinstance(entry, BoostChanged):
            assert entry.slots in (self.setup.slots, self.setup.boost_slots)
        elif isinstance(entry, RunFinished):
            self.run = entry
        elif isinstance(entry, Applied):
            self.applied(entry)
        elif isinstance(entry, Idle):
            # Only the user's pause may hold every open task with nothing running.
            assert self.paused, f"stalled: {entry}, held by nothing but the scheduler"

    def start(self, start: Start) -> None:
        task_id, setup = start.task, self.setup
        task = self.graph.tasks[task_id]
        self.starts += 1
        assert not self.no_more_starts, f"{task_id} started after {self.no_more_starts}"
        assert not self.paused, f"{task_id} started while paused"
        # The CPU and memory gates let one task start when none runs, so the run ends (make -l).
        assert not (self.cpu_saturated or self.memory_closed) or not self.running, (
            f"{task_id} started beside {sorted(self.running)} through a gate: "
            f"cpu={self.cpu_saturated}, memory={self.memory_closed}"
        )
        assert task_id not in self.running and task_id not in self.final, start
        waiting_for = [dep for dep in self.graph.dependencies(task_id) if dep not in self.done]
        assert not waiting_for, f"{task_id} started before {waiting_for} were done"
        assert start.agent == setup.agents[task_id]
        assert start.time >= self.not_before.pop(task_id, 0.0) - 1e-9, f"{start} in its back-off"
        provider = setup.providers.get(task_id) or start.agent
        backoff = self.provider_not_before.get(provider, 0.0)
        assert start.time >= backoff - 1e-9, f"{start} while {provider} backs off till {backoff}"
        assert 1 <= start.slot <= setup.boost_slots, start
        holders = {other.slot: other.task for other in self.running.values()}
        assert start.slot not in holders, f"{task_id} on slot {start.slot} of {holders}"
        if start.slot > setup.slots:
            assert task.priority is Priority.CRITICAL or self.manual_boost, (
                f"{task_id} ({task.priority}) on boost slot {start.slot} without manual boost"
            )
        elif not self.manual_boost:
            # Unboosted, only critical tasks in boost slots (the emergency boost) run on top of
            # the normal slots; what the manual boost let in counts against them once it is off.
            normal = [other.task for other in self.running.values() if not self.emergency(other)]
            assert len(normal) < setup.slots, f"{task_id} started beside {normal}, no boost"
        rung = self.next_step.get(task_id)
        if rung is RetryStep.PARTITION:
            self.partitioned.add(task_id)
        assert start.isolated == (task_id in setup.isolated or task_id in self.partitioned), start
        assert start.alone == (rung is RetryStep.SEQUENTIAL), f"{start} after rung {rung}"
        assert not start.alone or not self.running, (
            f"{task_id} started alone beside {sorted(self.running)}"
        )
        self.shared.discard(task_id)
        for other in self.running.values():
            assert not other.alone, f"{task_id} started beside {other.task}, which runs alone"
            assert not incompatible(start.agent, other.agent, setup.compat, setup.code_agents), (
                f"{task_id} ({start.agent}) started beside {other.task} ({other.agent})"
            )
            self.beside |= {task_id, other.task}
            shared = shared_paths(task.files, self.graph.tasks[other.task].files)
            if shared:
                self.shared |= {task_id, other.task}
            if start.isolated or other.isolated:
                continue
            if cluster_mates(start.agent, other.agent, setup.compat):
                continue
            assert not shared, f"{task_id} started beside {other.task}, both touching {shared}"
        self.counted[task_id] += 1
        assert start.attempt == self.numbered_before[task_id] + self.counted[task_id], start
        allowed = 1 + setup.retries_of(task_id)
        assert self.counted[task_id] <= allowed, f"{task_id}: attempt {start.attempt} > {allowed}"
        self.running[task_id] = start

    def emergency(self, start: Start) -> bool:
        """Whether a start took a boost slot as a critical task."""
        critical = self.graph.tasks[start.task].priority is Priority.CRITICAL
        return start.slot > self.setup.slots and critical

    def ended(self, ended: Ended) -> None:
        task_id = ended.task
        assert task_id in self.running, f"end of {task_id}, which does not run"
        start = self.running.pop(task_id)
        if ended.already_final:
            if task_id not in self.stopped:
                self.ended_when_final.add(task_id)
            self.stopped.discard(task_id)
            return
        assert task_id not in self.stopped, f"{task_id} ended on its own after its stop"
        self.last_end[task_id] = (ended.outcome, start.isolated)
        provider = self.setup.providers.get(task_id) or start.agent
        if ended.outcome is Outcome.RATE_LIMITED:
            self.counted[task_id] -= 1  # requeued without counting, on the same rung
            self.rate_limits[provider] += 1
            until = rate_limit_until(ended, self.rate_limits[provider])
            # A later end replaces the back-off; an earlier one does not shorten it.
            self.provider_not_before[provider] = max(
                self.provider_not_before.get(provider, 0.0), until
            )
            return
        self.next_step.pop(task_id, None)
        if ended.outcome is Outcome.SUCCEEDED:
            self.rate_limits[provider] = 0

    def retrying(self, retrying: TaskRetrying) -> None:
        """The ladder's choice, from the words of docs/design.md §4."""
        task_id, setup = retrying.task, self.setup
        assert task_id not in self.running and task_id not in self.final, retrying
        made, allowed = self.counted[task_id], 1 + setup.retries_of(task_id)
        assert made + 1 <= allowed, retrying
        assert retrying.attempt == self.numbered_before[task_id] + made + 1, retrying
        outcome, isolated = self.last_end[task_id]
        assert outcome in (Outcome.FAILED, Outcome.CONFLICT), retrying
        # The ladder climbs: a plain retry first, as a failure may be passing; a worktree
        # from the second extra attempt on when files were shared; alone as the last resort,
        # only for a failure over shared files or a conflict (never an ordinary one).
        shared = task_id in self.shared or outcome is Outcome.CONFLICT
        if made + 1 == allowed and shared and task_id in self.beside and not setup.abort_on_failure:
            expected = RetryStep.SEQUENTIAL
        elif made >= 2 and shared and setup.can_isolate and not isolated:
            expected = RetryStep.PARTITION
        else:
            expected = RetryStep.RETRY
        assert retrying.step is expected, f"{retrying}, expected the {expected} rung"
        if expected is RetryStep.SEQUENTIAL:
            assert retrying.delay_s == 0.0
        else:
            low, high = retry_backoff_range(made, setup.retry_delay_s)
            assert low <= retrying.delay_s <= high, retrying
        self.next_step[task_id] = expected
        self.not_before[task_id] = retrying.time + retrying.delay_s

    def task_finished(self, finished: TaskFinished) -> None:
        task_id = finished.task
        assert task_id not in self.final, f"{task_id} finished twice: {finished}"
        assert finished.status.final
        assert finished.attempt == self.numbered_before[task_id] + self.counted[task_id], finished
        if task_id in self.running:
            assert task_id in self.stopped and finished.status is not TaskState.DONE, finished
        self.final[task_id] = finished.status
        self.finishes[task_id] += 1
        self.next_step.pop(task_id, None)
        self.not_before.pop(task_id, None)
        if finished.status is TaskState.DONE:
            self.done.add(task_id)
        if finished.status in FAILED_STATES:
            # Attempts left are used, unless fail-fast stopped everything.
            allowed = 1 + self.setup.retries_of(task_id)
            assert self.counted[task_id] == allowed or self.fail_fast_stopping, finished
            if self.setup.fail_fast:
                self.fail_fast_stopping = True
                self.no_more_starts = self.no_more_starts or f"fail-fast ({task_id})"
        if finished.status is TaskState.FAILED and (
            self.graph.tasks[task_id].priority is Priority.CRITICAL or self.setup.abort_on_failure
        ):
            self.no_more_starts = self.no_more_starts or f"abort ({task_id} failed)"
            self.aborted_by = self.aborted_by or task_id

    def applied(self, applied: Applied) -> None:
        if applied.kind == "pause":
            self.paused = True
        elif applied.kind == "resume":
            self.paused = False
        elif applied.kind == "boost":
            self.manual_boost = bool(applied.value)
        elif applied.kind == "cpu":
            self.cpu_saturated = bool(applied.value)
        elif applied.kind == "memory":
            self.memory_closed = applied.value is not None and applied.value < MEMORY_PER_AGENT
        elif applied.kind == "skip":
            self.skipped_by_user.add(applied.task)
        elif applied.kind == "abort":
            self.no_more_starts = self.no_more_starts or "abort by user"
            self.aborted_by = self.aborted_by or "user"
        elif applied.kind == "retry":
            # Its notices may still be on their way (a retry in the middle of `finished`):
            # the reopening counts from the task's `retried by user` notice.
            assert applied.task not in self.retries_asked
            self.retries_asked[applied.task] = applied
        elif applied.kind == "resolve":
            # The conflicted task goes on to done (its new task_finished follows), and the
            # dependents its conflict skipped are open again.
            for task_id, was in zip(applied.reopened, applied.before, strict=True):
                assert self.final.get(task_id) is was
                if task_id == applied.task:
                    assert was is TaskState.CONFLICT, applied
                else:
                    assert was is TaskState.SKIPPED, f"resolve of {applied.task} reopened {task_id}"
                del self.final[task_id]
                self.reopens[task_id] += 1

    def reopen(self, applied: Applied) -> None:
        assert applied.task in applied.reopened
        for task_id, was in zip(applied.reopened, applied.before, strict=True):
            assert self.final.get(task_id) is was
            if task_id == applied.task:
                assert was in FAILED_STATES
                self.numbered_before[task_id] += self.counted[task_id]
                self.counted[task_id] = 0  # the budget counted afresh
                self.beside.discard(task_id)
            else:
                assert was is TaskState.SKIPPED, f"retry of {applied.task} reopened {task_id}"
            del self.final[task_id]
            self.reopens[task_id] += 1

    def check_end(self, result: SimulationResult) -> None:
        run = self.run
        assert run is not None and result.outputs[-1] is run
        assert dict(result.states) == self.final, "every task final, as last announced"
        assert set(self.final) == set(self.graph.tasks)
        assert not self.retries_asked, "a retry the scheduler took never announced itself"
        if run.status is RunStatus.ABORTED:
            assert self.aborted_by, "aborted without a reason to"
            assert set(self.running) <= self.stopped, f"{sorted(self.running)} left running"
        else:
            assert not self.running, f"{sorted(self.running)} still running at the end"
        if self.aborted_by == "user":
            assert run.status is RunStatus.ABORTED
        for task_id in self.graph.tasks:
            assert self.finishes[task_id] == 1 + self.reopens[task_id], task_id
            deps = self.graph.dependencies(task_id)
            if not self.graph.tasks[task_id].done and any(
                self.final[dep] is not TaskState.DONE for dep in deps
            ):
                assert self.final[task_id] in (TaskState.SKIPPED, TaskState.CANCELLED), task_id
        counts = Counter(self.final.values())
        assert (run.done, run.failed, run.skipped, run.cancelled, run.conflicts) == (
            counts[TaskState.DONE],
            counts[TaskState.FAILED],
            counts[TaskState.SKIPPED],
            counts[TaskState.CANCELLED],
            counts[TaskState.CONFLICT],
        )
        assert self.starts == len(result.attempts)


def check_slots_by_interval(attempts: tuple[ScheduledAttempt, ...]) -> None:
    """Attempts on one slot never overlap (one ending at t and the next starting at t is fine)."""
    by_slot: dict[int, list[ScheduledAttempt]] = {}
    for attempt in attempts:
        assert attempt.start_s <= attempt.end_s
        by_slot.setdefault(attempt.slot, []).append(attempt)
    for slot, on_slot in by_slot.items():
        on_slot.sort(key=lambda attempt: (attempt.start_s, attempt.end_s))
        for earlier, later in zip(on_slot, on_slot[1:], strict=False):
            assert earlier.end_s <= later.start_s, f"slot {slot}: {earlier} overlaps {later}"


# --- bugs found, shrunk by hand --------------------------------------------------------------


def setup_of(text: str, **keys: Any) -> SchedulerSetup:
    """The setup of a hand-written plan: every task runs as `demo`, no boost, the rest as given."""
    graph = valid_graph(text)
    defaults: dict[str, Any] = {
        "agents": {task_id: task.agent or "demo" for task_id, task in graph.tasks.items()},
        "estimates": {task_id: task.estimate_s or 0.0 for task_id, task in graph.tasks.items()},
        "boost_slots": keys.get("slots", 5),
        "memory_per_agent": MEMORY_PER_AGENT,
    }
    return SchedulerSetup(**(defaults | keys))


TWO_BY_TWO = """\
# Plan: Two by two
## Phase 1: First
- [ ] t0 Do part 0 (estimate: 1s)
- [ ] t1 Do part 1 (estimate: 1s)
## Phase 2: Second
- [ ] t2 Do part 2 (estimate: 1s)
- [ ] t3 Do part 3 (estimate: 1s)
"""

FAIL_FAST_WHILE_A_TASK_BACKS_OFF = Scenario(
    TWO_BY_TWO,
    setup_of(TWO_BY_TWO, slots=2, retries={"t0": 0, "t1": 2}, retry_delay_s=5.0, fail_fast=True),
    {"t0": ((2.0, Outcome.FAILED),), "t1": ((1.0, Outcome.FAILED),)},
    (),
)
"""t1 fails at 1 s and backs off ~5 s; t0 fails for good at 2 s: fail-fast ends t1."""

FAIL_FAST_THEN_A_RATE_LIMIT = Scenario(
    TWO_BY_TWO,
    setup_of(TWO_BY_TWO, slots=2, default_retries=0, fail_fast=True),
    {"t0": ((1.0, Outcome.FAILED),), "t1": ((2.0, Outcome.RATE_LIMITED),)},
    (),
)
"""t0 fails for good at 1 s: fail-fast; t1, still running, is rate-limited at 2 s: it must
still end (skipped), or the run never does."""

CPU_SATURATED_WITH_NOTHING_RUNNING = Scenario(
    TWO_BY_TWO, setup_of(TWO_BY_TWO, slots=2), {}, (CommandSpec(0.5, "cpu", 1),)
)
"""The CPU saturates at 0.5 s; t0 and t1 end at 1 s: one of t2, t3 may start, not both."""

RATE_LIMIT_ON_THE_SEQUENTIAL_RUNG = Scenario(
    TWO_BY_TWO,
    setup_of(TWO_BY_TWO, slots=2, default_retries=1),
    {"t1": ((0.5, Outcome.CONFLICT), (0.5, Outcome.RATE_LIMITED))},
    (),
)
"""t1 conflicts beside t0, so its last attempt runs alone; it is rate-limited: demo backs off
30 s."""

ONE_PROVIDER_TWO_AGENTS = Scenario(
    TWO_BY_TWO,
    setup_of(
        TWO_BY_TWO,
        slots=1,
        agents={"t0": "alpha", "t1": "beta", "t2": "gamma", "t3": "delta"},
        providers={"t0": "p1", "t1": "p1", "t2": "p2", "t3": ""},
    ),
    {"t0": ((1.0, Outcome.RATE_LIMITED),), "t1": ((0.5, Outcome.RATE_LIMITED),)},
    (),
    reset_after=700.0,
)
"""t0 (alpha) is rate-limited at 1 s and reports its reset 700 s later, past the 10 min cap:
t1 (beta, the same provider) must not start before 701 s."""

LAST_ATTEMPT_FAILS = Scenario(
    TWO_BY_TWO, setup_of(TWO_BY_TWO, default_retries=0), {"t0": ((1.0, Outcome.FAILED),)}, ()
)
"""t0 fails for good: its process has ended, so no Stop may name it."""

THREE_AT_ONCE = """\
# Plan: Three at once
## Phase 1: All
- [ ] t0 Do part 0 (estimate: 1s)
- [ ] t1 Do part 1 (estimate: 1s)
- [ ] t2 Do part 2 (estimate: 1s)
"""

SKIPPED_WHILE_RUNNING_ALONE = Scenario(
    THREE_AT_ONCE,
    setup_of(THREE_AT_ONCE, slots=2, default_retries=1, strategy=Strategy.FIFO),
    {"t1": ((0.0, Outcome.CONFLICT),)},
    (CommandSpec(1.5, "skip", 0),),
)
"""t1 conflicts beside t0, so it runs alone from 1 s; skipped at 1.5 s, its process is stopped,
but until its end is reported it still runs: t2 must not start beside it."""

DONE_TASK_IN_A_SEQUENTIAL_PHASE = """\
# Plan: A done task in the middle
## Phase 1: Chain [SEQUENTIAL]
- [ ] t0 Do part 0 (estimate: 0.5s)
- [x] t1 Do part 1 (estimate: 0s)
- [ ] t2 Do part 2 (estimate: 0.5s)
"""
"""t2 waits for t1 only, which is done: t0 and t2 run together, 0.5 s in all."""


# --- the properties -------------------------------------------------------------------------


def replay_run(scenario: Scenario) -> Replay:
    """Run the scenario and check every step of it; the replay keeps what it saw."""
    result, log, graph = run_scenario(scenario)
    replay = Replay(graph, scenario.setup)
    replay.done = {task_id for task_id, task in graph.tasks.items() if task.done}
    for entry in log:
        replay.step(entry)
    replay.check_end(result)
    check_slots_by_interval(result.attempts)
    return replay


@settings(PROPERTY_SETTINGS, max_examples=600)
@given(scenarios())
@example(FAIL_FAST_WHILE_A_TASK_BACKS_OFF)
@example(FAIL_FAST_THEN_A_RATE_LIMIT)
@example(CPU_SATURATED_WITH_NOTHING_RUNNING)
@example(RATE_LIMIT_ON_THE_SEQUENTIAL_RUNG)
@example(LAST_ATTEMPT_FAILS)
@example(SKIPPED_WHILE_RUNNING_ALONE)
@example(ONE_PROVIDER_TWO_AGENTS)
def test_every_step_of_a_random_run_keeps_the_scheduling_rules(scenario: Scenario) -> None:
    replay_run(scenario)


@settings(PROPERTY_SETTINGS, max_examples=100)
@given(scenarios())
def test_the_same_scenario_gives_the_same_run(scenario: Scenario) -> None:
    first, first_log, _ = run_scenario(scenario)
    second, second_log, _ = run_scenario(scenario)

    assert first.outputs == second.outputs
    assert first.attempts == second.attempts
    assert first_log == second_log


@st.composite
def plans_and_setups(draw: st.DrawFn) -> tuple[str, SchedulerSetup]:
    text = draw(plan_texts())
    return text, draw(setups(build_graph(text)))


def remaining_critical_path(graph: PlanGraph, estimates: dict[str, float]) -> float:
    """The longest chain of work still to do: a done task ends every chain through it.

    A task waits only for its own dependencies, and a `[x]` one is done from the start, so
    what comes before an `[x]` task never delays what comes after it.
    """
    longest: dict[str, float] = {}
    for task_id in graph.topological_tasks():
        if graph.tasks[task_id].done:
            longest[task_id] = 0.0
            continue
        before = max((longest[dep] for dep in graph.dependencies(task_id)), default=0.0)
        longest[task_id] = estimates[task_id] + before
    return max(longest.values(), default=0.0)


@PROPERTY_SETTINGS
@given(plans_and_setups())
@example((DONE_TASK_IN_A_SEQUENTIAL_PHASE, setup_of(DONE_TASK_IN_A_SEQUENTIAL_PHASE, slots=2)))
def test_forecast_without_failures_ends_done_and_no_sooner_than_its_bounds(
    plan_and_setup: tuple[str, SchedulerSetup],
) -> None:
    text, setup = plan_and_setup
    graph = valid_graph(text)

    result = forecast(graph, setup)

    states = result.simulation.states
    assert all(state is TaskState.DONE for state in states.values()), states
    check_slots_by_interval(result.simulation.attempts)
    critical_path = remaining_critical_path(graph, dict(setup.estimates))
    assert result.critical_path.seconds == pytest.approx(critical_path)
    assert result.makespan_s >= critical_path - 1e-9
    if all(attempt.slot <= setup.slots for attempt in result.simulation.attempts):
        # No critical task took a boost slot: at most `slots` tasks ever ran at once.
        assert result.makespan_s >= result.sequential_s / setup.slots - 1e-9
    # The forecast's own bound allows for critical tasks in boost slots.
    assert result.makespan_s >= result.lower_bound_s - 1e-9


failed_attempts = st.builds(
    FailedAttempt,
    attempts_made=st.integers(1, 6),
    attempts_allowed=st.integers(1, 6),
    ran_beside_others=st.booleans(),
    shared_files=st.booleans(),
    isolated=st.booleans(),
    can_isolate=st.booleans(),
    sequential_allowed=st.booleans(),
)


@PROPERTY_SETTINGS
@given(failed_attempts)
def test_an_ordinary_failure_never_goes_sequential(failure: FailedAttempt) -> None:
    ordinary = FailedAttempt(
        failure.attempts_made,
        failure.attempts_allowed,
        failure.ran_beside_others,
        False,
        failure.isolated,
        failure.can_isolate,
        failure.sequential_allowed,
    )
    assert next_step(ordinary) is not RetryStep.SEQUENTIAL


@PROPERTY_SETTINGS
@given(failed_attempts)
def test_the_last_extra_attempt_after_a_shared_files_failure_beside_others_is_sequential(
    failure: FailedAttempt,
) -> None:
    step = next_step(failure)
    last = failure.attempts_made + 1 == failure.attempts_allowed
    if last and failure.shared_files and failure.ran_beside_others and failure.sequential_allowed:
        assert step is RetryStep.SEQUENTIAL
    elif step is RetryStep.SEQUENTIAL:
        raise AssertionError(f"{failure} went sequential")
    assert (step is None) == (failure.attempts_made >= failure.attempts_allowed)
