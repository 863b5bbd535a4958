"""Properties of budgets over generated runs (hypothesis), in the style of `test_properties`.

Random plans and setups (the generators of `test_properties`) get a random run budget (cost,
tokens, spending before a resume), random tasks' own budgets, and a random set of agent
tasks (metered); each attempt of an agent task reports random running totals, sometimes an
unknown cost. A recording scheduler logs every report and output in order, and a replay
checks the promises of docs/design.md §4 against totals it recomputes from the reports:

- no agent task starts once the run's budget is reached; tasks that report no usage are
  never held, skipped or stopped for the budget;
- tasks end skipped for the budget only when nothing runs, and then the run is `failed`;
- a task is stopped for its own budget only once it spent it, never starts again, and ends
  failed (or done, when it finished first);
- every run ends, every task final.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field, replace

from hypothesis import given, settings
from hypothesis import strategies as st

from pmtui.plan.graph import PlanGraph
from pmtui.scheduling.decisions import (
    Outcome,
    Output,
    RunFinished,
    RunStatus,
    Start,
    Stop,
    TaskFinished,
    TaskRetrying,
    TaskWaiting,
    WaitKind,
)
from pmtui.scheduling.scheduler import CommandRefused, Scheduler
from pmtui.scheduling.setup import SchedulerSetup
from pmtui.scheduling.simulator import SimulatedAttempt, UsageReport, simulate
from pmtui.scheduling.states import TaskState
from tests.scheduling.test_properties import build_graph, plan_texts, setups, valid_graph

BUDGET_SETTINGS = settings(max_examples=400, deadline=None, derandomize=True, database=None)

DURATIONS = (0.0, 1.0, 2.0, 5.0)
OUTCOMES = [Outcome.SUCCEEDED] * 4 + [Outcome.FAILED] * 2 + [Outcome.CONFLICT, Outcome.RATE_LIMITED]
COST_STEPS = (0.0, 0.25, 0.5, 1.0, 2.0)
TOKEN_STEPS = (0, 50, 200)
EPSILON = 1e-9


@dataclass(frozen=True)
class Attempt:
    """How one start of a task goes: its length, end, and running totals it reports."""

    duration_s: float
    outcome: Outcome
    usage: tuple[UsageReport, ...]


@dataclass(frozen=True)
class BudgetScenario:
    plan: str
    setup: SchedulerSetup
    attempts: dict[str, tuple[Attempt, ...]]
    """Per task, how its 1st, 2nd… starts go; later ones succeed at once, reporting nothing."""
    retries_by_user: int
    """How many tasks the user retries the moment they fail for good."""


@st.composite
def reports(draw: st.DrawFn, duration: float) -> tuple[UsageReport, ...]:
    """Running totals (never going down), some with an unknown cost."""
    cost, tokens = 0.0, 0
    found: list[UsageReport] = []
    for _ in range(draw(st.integers(0, 3))):
        cost += draw(st.sampled_from(COST_STEPS))
        tokens += draw(st.sampled_from(TOKEN_STEPS))
        known = draw(st.integers(0, 4)) > 0
        after = draw(st.sampled_from([0.0, duration / 2, duration]))
        found.append(UsageReport(after, cost if known else None, tokens))
    found.sort(key=lambda report: report.after_s)
    return tuple(found)


@st.composite
def budget_scenarios(draw: st.DrawFn) -> BudgetScenario:
    text = draw(plan_texts())
    graph = build_graph(text)
    setup = draw(setups(graph))
    task_ids = sorted(graph.tasks)
    agents = sorted(set(setup.agents.values()))
    metered_agents = draw(st.sets(st.sampled_from(agents), min_size=1))
    setup = replace(
        setup,
        fail_fast=setup.fail_fast and draw(st.booleans()),
        metered=frozenset(t for t in task_ids if setup.agents[t] in metered_agents),
        max_cost_usd=draw(st.sampled_from([0.0, 0.5, 1.0, 3.0, 10.0])),
        max_tokens=draw(st.sampled_from([0, 0, 100, 500])),
        spent_before_usd=draw(st.sampled_from([0.0, 0.0, 0.75])),
        tokens_before=draw(st.sampled_from([0, 0, 60])),
        task_budgets={
            t: draw(st.sampled_from([0.25, 1.0, 2.0]))
            for t in draw(st.sets(st.sampled_from(task_ids)))
        },
    )
    attempts: dict[str, tuple[Attempt, ...]] = {}
    for task_id in task_ids:
        found: list[Attempt] = []
        for _ in range(draw(st.integers(0, 3))):
            duration = draw(st.sampled_from(DURATIONS))
            usage = draw(reports(duration)) if task_id in setup.metered else ()
            found.append(Attempt(duration, draw(st.sampled_from(OUTCOMES)), usage))
        attempts[task_id] = tuple(found)
    return BudgetScenario(text, setup, attempts, draw(st.integers(0, 2)))


@dataclass(frozen=True)
class Spent:
    time: float
    task: str
    cost_usd: float | None
    tokens: int


@dataclass(frozen=True)
class Ended:
    time: float
    task: str
    outcome: Outcome


Entry = Output | Spent | Ended


class RecordingScheduler(Scheduler):
    """The real scheduler, logging every report, attempt end and output in order."""

    def __init__(self, graph: PlanGraph, setup: SchedulerSetup, retries_by_user: int) -> None:
        super().__init__(graph, setup)
        self.log: list[Entry] = []
        self.retries_by_user = retries_by_user

    def spent(self, task_id: str, cost_usd: float | None, tokens: int, now: float) -> None:
        self.log.append(Spent(now, task_id, cost_usd, tokens))
        super().spent(task_id, cost_usd, tokens, now)

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
        self.log.append(Ended(now, task_id, outcome))
        super().finished(task_id, now, outcome, exit_code=exit_code, reason=reason)
        if self.retries_by_user and self.state(task_id) is TaskState.FAILED:
            self.retries_by_user -= 1
            with suppress(CommandRefused):
                self.retry(task_id, now)

    def decide(self, now: float) -> list[Output]:
        outputs = super().decide(now)
        self.log.extend(outputs)
        return outputs


def run_scenario(scenario: BudgetScenario) -> tuple[RecordingScheduler, PlanGraph]:
    graph = valid_graph(scenario.plan)
    scheduler = RecordingScheduler(graph, scenario.setup, scenario.retries_by_user)

    def model(start: Start, nth: int) -> SimulatedAttempt:
        planned = scenario.attempts.get(start.task, ())
        if nth > len(planned):
            return SimulatedAttempt(scenario.setup.estimates[start.task])
        attempt = planned[nth - 1]
        failed = attempt.outcome is not Outcome.SUCCEEDED
        return SimulatedAttempt(
            attempt.duration_s,
            attempt.outcome,
            1 if failed else 0,
            "exit 1" if failed else "",
            attempt.usage,
        )

    simulate(scheduler, model)
    return scheduler, graph


@dataclass
class Replay:
    """Totals recomputed from the reports, and the rules checked at each entry."""

    setup: SchedulerSetup
    cost: float = 0.0
    tokens: int = 0
    attempt: dict[str, tuple[float, int]] = field(default_factory=dict)
    """Each task's latest attempt's figures."""
    own: dict[str, float] = field(default_factory=dict)
    """What counts against each task's own budget (since the user last retried it)."""
    running: set[str] = field(default_factory=set)
    stopped_for_budget: set[str] = field(default_factory=set)
    final: dict[str, TaskFinished] = field(default_factory=dict)
    budget_skips: int = 0
    run: RunFinished | None = None

    def __post_init__(self) -> None:
        self.cost = self.setup.spent_before_usd
        self.tokens = self.setup.tokens_before

    def reached(self) -> bool:
        budget = self.setup
        return (0 < budget.max_cost_usd <= self.cost + EPSILON) or (
            0 < budget.max_tokens <= self.tokens
        )

    def clearly_below(self) -> bool:
        budget = self.setup
        cost_ok = budget.max_cost_usd <= 0 or self.cost < budget.max_cost_usd - EPSILON
        tokens_ok = budget.max_tokens <= 0 or self.tokens < budget.max_tokens
        return cost_ok and tokens_ok

    def step(self, entry: Entry) -> None:
        assert self.run is None, f"{entry} after the run finished"
        metered = self.setup.metered
        if isinstance(entry, Spent):
            assert entry.task in metered, f"{entry}: the simulated agent reports nothing"
            old_cost, old_tokens = self.attempt.get(entry.task, (0.0, 0))
            cost = old_cost if entry.cost_usd is None else entry.cost_usd
            self.cost += cost - old_cost
            self.tokens += entry.tokens - old_tokens
            self.own[entry.task] = self.own.get(entry.task, 0.0) + cost - old_cost
            self.attempt[entry.task] = (cost, entry.tokens)
        elif isinstance(entry, Start):
            if entry.task in metered:
                assert self.clearly_below(), (
                    f"{entry.task} started at ${self.cost:.2f}, {self.tokens} tokens: "
                    f"the run's budget is reached"
                )
            assert entry.task not in self.stopped_for_budget, f"{entry}: over its own budget"
            self.attempt.pop(entry.task, None)
            self.running.add(entry.task)
        elif isinstance(entry, Ended):
            self.running.discard(entry.task)
        elif isinstance(entry, Stop):
            if entry.reason.startswith("budget"):
                budget = self.setup.task_budgets.get(entry.task)
                assert budget is not None, f"{entry}: the task has no budget of its own"
                assert entry.task in metered, f"{entry}: the task reports no usage"
                own = self.own.get(entry.task, 0.0)
                assert own >= budget - EPSILON, f"{entry}: only ${own:.2f} of ${budget:.2f} spent"
                assert entry.task in self.running, f"{entry}: not running"
                self.stopped_for_budget.add(entry.task)
        elif isinstance(entry, TaskWaiting):
            assert entry.kind is not None, f"{entry}: every wait has its kind"
            assert entry.reason.startswith(entry.kind.value), entry
            if entry.kind is WaitKind.BUDGET:
                assert entry.task in metered, f"{entry}: the task reports no usage"
                assert self.reached(), f"{entry} below the budget"
                assert entry.reason.startswith("budget: "), entry
        elif isinstance(entry, TaskRetrying):
            if entry.reason == "retried by user":  # its own budget counts afresh
                self.own.pop(entry.task, None)
                self.stopped_for_budget.discard(entry.task)
            else:
                assert entry.task not in self.stopped_for_budget, (
                    f"{entry}: retried after its own budget was spent"
                )
        elif isinstance(entry, TaskFinished):
            self.task_finished(entry)
        elif isinstance(entry, RunFinished):
            self.run = entry

    def task_finished(self, entry: TaskFinished) -> None:
        self.final[entry.task] = entry
        if entry.status is TaskState.SKIPPED and entry.reason.startswith("budget"):
            self.budget_skips += 1
            assert entry.task in self.setup.metered, f"{entry}: the task reports no usage"
            assert self.reached(), f"{entry} below the budget"
            assert not self.running, f"{entry} while {sorted(self.running)} still run"
        if entry.task in self.stopped_for_budget and entry.status is TaskState.FAILED:
            budget = self.setup.task_budgets[entry.task]
            assert entry.reason == f"budget ${budget:.2f} spent", entry


def replay(scheduler: RecordingScheduler, graph: PlanGraph, setup: SchedulerSetup) -> Replay:
    checker = Replay(setup)
    for entry in scheduler.log:
        checker.step(entry)
    run = checker.run
    assert run is not None, "the run never finished"
    assert all(state.final for state in scheduler.states.values()), scheduler.states
    assert set(checker.final) | {t for t, task in graph.tasks.items() if task.done} == set(
        graph.tasks
    )
    assert run.budget_skipped == checker.budget_skips
    if checker.budget_skips and run.status is not RunStatus.ABORTED:
        assert run.status is RunStatus.FAILED, run
    for task_id in checker.stopped_for_budget:
        assert scheduler.state(task_id) in (
            TaskState.FAILED,
            TaskState.DONE,
            TaskState.CONFLICT,
            TaskState.SKIPPED,
            TaskState.CANCELLED,
        ), task_id
    assert abs(scheduler.spending.cost_usd - checker.cost) < 1e-6
    assert scheduler.spending.tokens == checker.tokens
    return checker


@BUDGET_SETTINGS
@given(budget_scenarios())
def test_no_agent_task_starts_past_the_budget_and_every_run_ends(
    scenario: BudgetScenario,
) -> None:
    scheduler, graph = run_scenario(scenario)
    replay(scheduler, graph, scenario.setup)


@settings(BUDGET_SETTINGS, max_examples=150)
@given(budget_scenarios())
def test_tasks_that_report_no_usage_run_as_if_there_were_no_budget(
    scenario: BudgetScenario,
) -> None:
    """With only unmetered tasks, the budget changes nothing: the same run as without one."""
    unmetered = replace(scenario.setup, metered=frozenset())
    attempts = {
        task_id: tuple(replace(attempt, usage=()) for attempt in planned)
        for task_id, planned in scenario.attempts.items()
    }
    with_budget, _ = run_scenario(replace(scenario, setup=unmetered, attempts=attempts))
    no_budget = replace(unmetered, max_cost_usd=0.0, max_tokens=0, task_budgets={})
    without, _ = run_scenario(replace(scenario, setup=no_budget, attempts=attempts))
    assert with_budget.log == without.log
