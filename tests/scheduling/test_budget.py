"""Budgets (docs/design.md §4): the run's `[budget]` holds agent tasks back, then skips them; a
task over its own `(budget: $N)` is stopped and fails without a retry.

Agent tasks here run `claude` (its parser reports usage: metered); `demo` and `shell` tasks
report nothing and are never held by the budget. Time is virtual.
"""

from __future__ import annotations

import pytest

from pmtui.config.loader import ConfigSource, load_config
from pmtui.config.model import Config, Strategy
from pmtui.scheduling.budget import (
    RunBudget,
    Spending,
    format_tokens,
    format_usd,
    task_budget_reason,
)
from pmtui.scheduling.decisions import (
    Outcome,
    Output,
    RunFinished,
    RunStatus,
    Start,
    Stop,
    TaskRetrying,
    TaskWaiting,
    WaitKind,
)
from pmtui.scheduling.scheduler import Scheduler, SchedulerError
from pmtui.scheduling.setup import SchedulerSetup
from pmtui.scheduling.simulator import SimulatedAttempt, UsageReport, simulate
from pmtui.scheduling.states import TaskState
from tests.scheduling.helpers import (
    finished,
    graph_of,
    of_type,
    scheduler_of,
    setup_of,
    started,
    waiting,
)

AGENTS_AND_DEMOS = """\
## Phase 1: Work
- [ ] a1 Agent one (agent: claude)
- [ ] a2 Agent two (agent: claude)
- [ ] a3 Agent three (agent: claude)
- [ ] d1 Demo one (agent: demo)
- [ ] d2 Demo two (agent: demo)
"""


def run_of(outputs: list[Output]) -> RunFinished:
    [run] = of_type(outputs, RunFinished)
    return run


def budgeted(text: str, **changes: object) -> Scheduler:
    """A scheduler of `text` with `changes` to its setup (e.g. `max_cost_usd=5.0`)."""
    return scheduler_of(text, **changes)


def config_of(text: str) -> Config:
    config, problems = load_config([ConfigSource("pmtui.toml", text)])
    assert config is not None, [problem.render() for problem in problems]
    return config


# --------------------------------------------------------------------------- the setup


def test_agent_tasks_are_those_whose_agent_reports_usage() -> None:
    graph = graph_of(
        """\
        ## Phase 1: Work
        - [ ] 1 Claude (agent: claude)
        - [ ] 2 Codex (agent: codex)
        - [ ] 3 Demo (agent: demo)
        - [ ] 4 Shell
            ```sh
            true
            ```
        - [ ] 5 A role run by claude (agent: qa-engineer)
        """
    )
    config = config_of('[pool]\ndefault_agent = "claude"\n')
    setup = SchedulerSetup.from_config(graph, config, estimates=dict.fromkeys(graph.tasks, 1.0))
    # Task 4 has a script but runs the default agent, claude: it is an agent task too.
    assert setup.metered == frozenset({"1", "2", "4", "5"})


def test_a_task_that_runs_shell_or_demo_is_not_an_agent_task() -> None:
    graph = graph_of(
        """\
        ## Phase 1: Work
        - [ ] 1 Shell
            ```sh
            true
            ```
        - [ ] 2 Demo (agent: demo)
        """
    )
    assert setup_of(graph).metered == frozenset()


def test_the_setup_takes_the_budget_from_the_config_and_each_tasks_own_from_the_plan() -> None:
    graph = graph_of(
        """\
        ## Phase 1: Work
        - [ ] 1 Costly (agent: claude) (budget: $2.50)
        - [ ] 2 Free (agent: claude)
        """
    )
    config = config_of("[budget]\nmax_cost_usd = 5\nmax_tokens = 1000000\n")
    setup = SchedulerSetup.from_config(graph, config, estimates=dict.fromkeys(graph.tasks, 1.0))
    assert (setup.max_cost_usd, setup.max_tokens) == (5.0, 1_000_000)
    assert setup.task_budgets == {"1": 2.5}
    assert (setup.spent_before_usd, setup.tokens_before) == (0.0, 0)


# --------------------------------------------------------------------------- the run's budget


def test_below_the_budget_agent_tasks_start_as_usual() -> None:
    scheduler = budgeted(AGENTS_AND_DEMOS, slots=2, max_cost_usd=5.0)
    scheduler.decide(0)
    scheduler.spent("a1", 4.99, 1000, 1)
    scheduler.finished("a1", 2, Outcome.SUCCEEDED, exit_code=0)
    assert started(scheduler.decide(2)) == ["a3"]


def test_at_the_budget_no_new_agent_task_starts_and_each_waits_with_the_figures() -> None:
    scheduler = budgeted(AGENTS_AND_DEMOS, slots=2, max_cost_usd=5.0)
    assert started(scheduler.decide(0)) == ["a1", "a2"]
    scheduler.spent("a1", 5.0, 1000, 1)
    scheduler.finished("a1", 2, Outcome.SUCCEEDED, exit_code=0)
    outputs = scheduler.decide(2)
    assert started(outputs) == ["d1"]
    assert waiting(outputs) == {"a3": "budget: $5.00 of $5.00 spent"}
    assert [notice.kind for notice in of_type(outputs, TaskWaiting)] == [WaitKind.BUDGET]
    assert scheduler.state("a3") is TaskState.WAITING
    assert scheduler.wait_kind("a3") is WaitKind.BUDGET


def test_tasks_that_report_no_usage_are_never_held_by_the_budget() -> None:
    scheduler = budgeted(AGENTS_AND_DEMOS, slots=1, max_cost_usd=1.0, max_tokens=10)
    assert started(scheduler.decide(0)) == ["a1"]
    scheduler.spent("a1", 3.0, 500, 1)
    scheduler.finished("a1", 2, Outcome.SUCCEEDED, exit_code=0)
    assert started(scheduler.decide(2)) == ["d1"]
    scheduler.finished("d1", 3, Outcome.SUCCEEDED, exit_code=0)
    assert started(scheduler.decide(3)) == ["d2"]
    assert scheduler.wait_kind("d2") is None


def test_the_token_budget_holds_agent_tasks_and_says_so_in_tokens() -> None:
    scheduler = budgeted(AGENTS_AND_DEMOS, slots=2, max_tokens=1_000_000)
    scheduler.decide(0)
    scheduler.spent("a1", None, 700_000, 1)
    scheduler.spent("a2", None, 500_000, 1)
    scheduler.finished("a1", 2, Outcome.SUCCEEDED, exit_code=0)
    assert waiting(scheduler.decide(2)) == {"a3": "budget: 1.2M of 1M tokens"}


def test_a_running_agent_task_is_not_stopped_when_the_run_reaches_its_budget() -> None:
    scheduler = budgeted(AGENTS_AND_DEMOS, slots=2, max_cost_usd=5.0)
    scheduler.decide(0)
    scheduler.spent("a1", 6.0, 10, 1)
    outputs = scheduler.decide(1)
    assert of_type(outputs, Stop) == []
    scheduler.spent("a2", 1.5, 10, 2)  # and what it goes on spending counts
    assert scheduler.spending.cost_usd == pytest.approx(7.5)


def test_when_nothing_else_can_run_the_held_tasks_end_skipped_and_the_run_fails() -> None:
    text = AGENTS_AND_DEMOS + "\n## Phase 2: After\n- [ ] b1 Needs a3 (agent: demo) (depends: a3)\n"
    scheduler = budgeted(text, slots=2, max_cost_usd=5.0, strategy=Strategy.FIFO)
    assert started(scheduler.decide(0)) == ["a1", "a2"]
    scheduler.spent("a1", 5.0, 10, 1)
    scheduler.finished("a1", 2, Outcome.SUCCEEDED, exit_code=0)
    scheduler.finished("a2", 2, Outcome.SUCCEEDED, exit_code=0)
    assert started(scheduler.decide(2)) == ["d1", "d2"]
    scheduler.finished("d1", 3, Outcome.SUCCEEDED, exit_code=0)
    assert "a3" not in finished(scheduler.decide(3))  # d2 still runs
    scheduler.finished("d2", 4, Outcome.SUCCEEDED, exit_code=0)
    outputs = scheduler.decide(4)
    ended = finished(outputs)
    assert ended["a3"].status is TaskState.SKIPPED
    assert ended["a3"].reason == "budget: $5.00 of $5.00 spent"
    assert ended["b1"].status is TaskState.SKIPPED
    assert ended["b1"].reason == "dependency a3 skipped"
    run = run_of(outputs)
    assert run.status is RunStatus.FAILED
    assert run.status.exit_code == 1
    assert (run.skipped, run.budget_skipped, run.failed) == (2, 1, 0)


def test_held_tasks_keep_waiting_while_a_task_that_is_not_metered_still_runs() -> None:
    scheduler = budgeted(AGENTS_AND_DEMOS, slots=2, max_cost_usd=1.0)
    scheduler.decide(0)
    scheduler.spent("a1", 1.0, 10, 1)
    scheduler.finished("a1", 1, Outcome.SUCCEEDED, exit_code=0)
    scheduler.finished("a2", 1, Outcome.SUCCEEDED, exit_code=0)
    scheduler.decide(1)  # d1 and d2 run
    scheduler.finished("d1", 2, Outcome.SUCCEEDED, exit_code=0)
    outputs = scheduler.decide(2)
    assert "a3" not in finished(outputs)
    assert scheduler.state("a3") is TaskState.WAITING


def test_held_tasks_wait_while_paused_tasks_that_are_not_metered_may_still_run() -> None:
    scheduler = budgeted(AGENTS_AND_DEMOS, slots=2, max_cost_usd=1.0)
    scheduler.decide(0)
    scheduler.spent("a1", 2.0, 10, 1)
    scheduler.pause(1)
    scheduler.finished("a1", 1, Outcome.SUCCEEDED, exit_code=0)
    scheduler.finished("a2", 1, Outcome.SUCCEEDED, exit_code=0)
    outputs = scheduler.decide(1)
    assert finished(outputs).keys() == {"a1", "a2"}
    scheduler.resume(2)
    outputs = scheduler.decide(2)
    assert started(outputs) == ["d1", "d2"]
    assert waiting(outputs) == {"a3": "budget: $2.00 of $1.00 spent"}


def test_a_run_whose_budget_was_spent_before_the_resume_starts_no_agent_task() -> None:
    scheduler = budgeted(AGENTS_AND_DEMOS, max_cost_usd=5.0, spent_before_usd=5.0)
    outputs = scheduler.decide(0)
    assert started(outputs) == ["d1", "d2"]
    assert set(waiting(outputs)) == {"a1", "a2", "a3"}
    assert scheduler.spending.reached


def test_tokens_of_earlier_sessions_count_too() -> None:
    scheduler = budgeted(AGENTS_AND_DEMOS, slots=1, max_tokens=1000, tokens_before=900)
    scheduler.decide(0)
    scheduler.spent("a1", None, 100, 1)
    scheduler.finished("a1", 1, Outcome.SUCCEEDED, exit_code=0)
    outputs = scheduler.decide(1)
    assert started(outputs) == ["d1"]
    assert waiting(outputs)["a2"] == "budget: 1k of 1k tokens"


def test_only_agent_tasks_left_and_the_budget_spent_the_run_ends_at_once() -> None:
    text = "## Phase 1: Work\n- [ ] a1 One (agent: claude)\n- [ ] a2 Two (agent: claude)\n"
    scheduler = budgeted(text, max_cost_usd=3.0, spent_before_usd=3.5)
    outputs = scheduler.decide(0)
    assert started(outputs) == []
    assert {task: end.reason for task, end in finished(outputs).items()} == {
        "a1": "budget: $3.50 of $3.00 spent",
        "a2": "budget: $3.50 of $3.00 spent",
    }
    assert run_of(outputs).status is RunStatus.FAILED


def test_no_budget_means_any_spending_holds_nothing() -> None:
    scheduler = budgeted(AGENTS_AND_DEMOS, slots=1)
    scheduler.decide(0)
    scheduler.spent("a1", 1e9, 10**12, 1)
    scheduler.finished("a1", 1, Outcome.SUCCEEDED, exit_code=0)
    assert started(scheduler.decide(1)) == ["a2"]
    assert not scheduler.spending.reached


# --------------------------------------------------------------------------- counting


def test_each_report_replaces_the_previous_figure_of_the_same_attempt() -> None:
    scheduler = budgeted(AGENTS_AND_DEMOS, slots=1)
    scheduler.decide(0)
    for now, cost in enumerate((0.5, 1.0, 1.5), start=1):
        scheduler.spent("a1", cost, int(cost * 100), now)
    assert (scheduler.spending.cost_usd, scheduler.spending.tokens) == (1.5, 150)


def test_the_figures_of_earlier_attempts_are_kept() -> None:
    text = "## Phase 1: Work\n- [ ] a1 One (agent: claude) (retries: 2)\n"
    scheduler = budgeted(text, retry_delay_s=0.0)
    scheduler.decide(0)
    scheduler.spent("a1", 2.0, 200, 1)
    scheduler.finished("a1", 1, Outcome.FAILED, exit_code=1)
    assert started(scheduler.decide(1)) == ["a1"]
    scheduler.spent("a1", 0.5, 50, 2)
    scheduler.spent("a1", 1.0, 100, 3)
    assert (scheduler.spending.cost_usd, scheduler.spending.tokens) == (3.0, 300)
    assert scheduler.task_spent("a1") == 3.0


def test_a_rate_limited_attempt_spent_money_too() -> None:
    text = "## Phase 1: Work\n- [ ] a1 One (agent: claude)\n"
    scheduler = budgeted(text)
    scheduler.decide(0)
    scheduler.spent("a1", 0.25, 10, 1)
    scheduler.finished("a1", 1, Outcome.RATE_LIMITED, exit_code=1)
    assert started(scheduler.decide(31)) == ["a1"]
    scheduler.spent("a1", 0.5, 20, 32)
    assert scheduler.spending.cost_usd == 0.75


def test_an_unknown_cost_keeps_the_last_known_figure_and_the_tokens_count() -> None:
    scheduler = budgeted(AGENTS_AND_DEMOS, slots=1, max_tokens=10_000)
    scheduler.decide(0)
    scheduler.spent("a1", 0.4, 100, 1)
    scheduler.spent("a1", None, 300, 2)
    spending = scheduler.spending
    assert (spending.cost_usd, spending.tokens) == (0.4, 300)
    assert spending.unpriced == frozenset({"a1"})
    assert spending.budget == RunBudget(0.0, 10_000)


def test_spending_of_a_task_not_in_the_plan_is_refused() -> None:
    with pytest.raises(SchedulerError, match="no task zz"):
        budgeted(AGENTS_AND_DEMOS).spent("zz", 1.0, 1, 0)


# --------------------------------------------------------------------------- a task's own


OWN = """\
## Phase 1: Work
- [ ] t1 Costly (agent: claude) (budget: $2) (retries: 3)
- [ ] t2 Free (agent: claude)

## Phase 2: After
- [ ] t3 Needs t1 (agent: demo) (depends: t1)
"""


def test_a_task_over_its_own_budget_is_stopped_and_fails_without_a_retry() -> None:
    scheduler = budgeted(OWN)
    scheduler.decide(0)
    scheduler.spent("t1", 1.99, 10, 1)
    assert of_type(scheduler.decide(1), Stop) == []
    scheduler.spent("t1", 2.0, 20, 2)
    assert of_type(scheduler.decide(2), Stop) == [Stop(2, "t1", "budget $2.00 spent")]
    scheduler.finished("t1", 3, Outcome.FAILED, exit_code=None, reason="signal SIGTERM")
    outputs = scheduler.decide(3)
    assert of_type(outputs, TaskRetrying) == []
    ended = finished(outputs)
    assert (ended["t1"].status, ended["t1"].reason) == (TaskState.FAILED, "budget $2.00 spent")
    assert (ended["t3"].status, ended["t3"].reason) == (
        TaskState.SKIPPED,
        "dependency t1 failed",
    )


def test_the_stop_for_a_tasks_own_budget_comes_once() -> None:
    scheduler = budgeted(OWN)
    scheduler.decide(0)
    scheduler.spent("t1", 2.5, 10, 1)
    scheduler.spent("t1", 3.0, 10, 2)
    assert len(of_type(scheduler.decide(2), Stop)) == 1


def test_a_task_that_succeeds_before_its_stop_lands_is_done() -> None:
    scheduler = budgeted(OWN)
    scheduler.decide(0)
    scheduler.spent("t1", 2.5, 10, 1)
    scheduler.finished("t1", 1, Outcome.SUCCEEDED, exit_code=0)
    assert finished(scheduler.decide(1))["t1"].status is TaskState.DONE


def test_a_tasks_own_budget_counts_all_its_attempts() -> None:
    scheduler = budgeted(OWN, retry_delay_s=0.0)
    scheduler.decide(0)
    scheduler.spent("t1", 1.5, 10, 1)
    scheduler.finished("t1", 1, Outcome.FAILED, exit_code=1)
    assert started(scheduler.decide(1)) == ["t1"]
    scheduler.spent("t1", 0.5, 10, 2)
    assert of_type(scheduler.decide(2), Stop) == [Stop(2, "t1", "budget $2.00 spent")]


def test_a_late_report_between_two_attempts_fails_the_task_before_its_next() -> None:
    scheduler = budgeted(OWN, retry_delay_s=10.0)
    scheduler.decide(0)
    scheduler.finished("t1", 1, Outcome.FAILED, exit_code=1)
    scheduler.decide(1)
    assert scheduler.state("t1") is TaskState.RETRYING
    scheduler.spent("t1", 2.0, 10, 2)
    outputs = scheduler.decide(2)
    assert of_type(outputs, Stop) == []
    assert finished(outputs)["t1"].reason == "budget $2.00 spent"
    assert started(scheduler.decide(20)) == []


def test_a_task_without_a_budget_of_its_own_is_never_stopped_for_spending() -> None:
    scheduler = budgeted(OWN)
    scheduler.decide(0)
    scheduler.spent("t2", 1000.0, 10**9, 1)
    assert of_type(scheduler.decide(1), Stop) == []


def test_a_retry_by_the_user_gives_the_task_its_own_budget_afresh() -> None:
    scheduler = budgeted(OWN)
    scheduler.decide(0)
    scheduler.spent("t1", 2.0, 10, 1)
    scheduler.decide(1)
    scheduler.finished("t1", 2, Outcome.FAILED, exit_code=None)
    scheduler.decide(2)
    scheduler.retry("t1", 3)
    assert started(scheduler.decide(3)) == ["t1"]
    assert scheduler.task_spent("t1") == 0.0
    scheduler.spent("t1", 1.0, 10, 4)
    assert of_type(scheduler.decide(4), Stop) == []
    assert scheduler.spending.cost_usd == 3.0  # the run's budget counts both


def test_a_critical_task_over_its_own_budget_aborts_the_run_like_any_critical_failure() -> None:
    text = "## Phase 1: Work\n- [ ] c1 Key step (agent: claude) (priority: critical) (budget: 1)\n"
    scheduler = budgeted(text)
    scheduler.decide(0)
    scheduler.spent("c1", 1.0, 10, 1)
    scheduler.decide(1)
    scheduler.finished("c1", 2, Outcome.FAILED, exit_code=None)
    run = run_of(scheduler.decide(2))
    assert run.status is RunStatus.ABORTED
    assert run.reason == "aborted: critical task c1 failed (budget $1.00 spent)"


def test_a_conflict_after_the_stop_stays_a_conflict_and_is_not_retried() -> None:
    scheduler = budgeted(OWN)
    scheduler.decide(0)
    scheduler.spent("t1", 2.0, 10, 1)
    scheduler.decide(1)
    scheduler.finished("t1", 2, Outcome.CONFLICT, reason="conflict on a.txt with t2")
    outputs = scheduler.decide(2)
    assert of_type(outputs, TaskRetrying) == []
    assert finished(outputs)["t1"].status is TaskState.CONFLICT


# --------------------------------------------------------------------------- the sequential rung


SEQUENTIAL = """\
## Phase 1: Work
- [ ] s1 Clashes (agent: claude) (retries: 1)
- [ ] s2 Spends (agent: claude)
- [ ] d1 Demo (agent: demo)
"""


def test_a_task_to_run_alone_held_by_the_budget_ends_skipped_and_the_others_go_on() -> None:
    scheduler = budgeted(SEQUENTIAL, slots=2, max_cost_usd=1.0)
    assert started(scheduler.decide(0)) == ["s1", "s2"]
    scheduler.finished("s1", 1, Outcome.CONFLICT, reason="conflict on a.txt with s2")
    scheduler.decide(1)  # s1 will run alone: the pool drains first, d1 waits for it
    assert scheduler.wait_kind("d1") is WaitKind.SEQUENTIAL
    scheduler.spent("s2", 1.0, 10, 2)
    scheduler.finished("s2", 2, Outcome.SUCCEEDED, exit_code=0)
    outputs = scheduler.decide(2)
    assert finished(outputs)["s1"].reason == "budget: $1.00 of $1.00 spent"
    assert started(outputs) == ["d1"]


# --------------------------------------------------------------------------- simulated


def test_a_simulated_run_spends_until_the_budget_then_ends_with_the_rest_skipped() -> None:
    text = "## Phase 1: Work\n" + "".join(
        f"- [ ] a{n} Step {n} (agent: claude)\n" for n in range(1, 7)
    )
    graph = graph_of(text)
    scheduler = Scheduler(graph, setup_of(graph, slots=2, max_cost_usd=2.0))

    def model(start: Start, nth: int) -> SimulatedAttempt:
        return SimulatedAttempt(
            10.0, usage=(UsageReport(5.0, 0.25, 100), UsageReport(10.0, 0.5, 200))
        )

    result = simulate(scheduler, model)
    assert [attempt.task for attempt in result.attempts] == ["a1", "a2", "a3", "a4"]
    assert result.states["a5"] is TaskState.SKIPPED
    assert result.run.status is RunStatus.FAILED
    assert result.run.budget_skipped == 2
    assert scheduler.spending.cost_usd == 2.0


# --------------------------------------------------------------------------- wording


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1_000, "1k"),
        (12_345, "12.3k"),
        (950_000, "950k"),
        (1_000_000, "1M"),
        (1_200_000, "1.2M"),
        (250_000_000, "250M"),
        (3_000_000_000, "3G"),
    ],
)
def test_token_counts_are_short(count: int, text: str) -> None:
    assert format_tokens(count) == text


def test_dollars_have_cents_and_thousands() -> None:
    assert (format_usd(5), format_usd(0.425), format_usd(1250)) == ("$5.00", "$0.42", "$1,250.00")


def test_a_tasks_budget_reason_names_its_budget() -> None:
    assert task_budget_reason(2) == "budget $2.00 spent"


def test_the_run_budget_reason_names_the_cost_when_both_limits_are_reached() -> None:
    budget = RunBudget(max_cost_usd=1.0, max_tokens=100)
    assert budget.reason(1.5, 200) == "budget: $1.50 of $1.00 spent"
    assert budget.reason(0.5, 200) == "budget: 200 of 100 tokens"


def test_a_zero_limit_is_no_limit() -> None:
    assert not RunBudget().reached(10**9, 10**12)
    assert RunBudget(max_tokens=5).reached(0.0, 5)
    assert not RunBudget(max_cost_usd=5.0).reached(4.999, 10**12)


def test_a_negative_report_counts_as_nothing() -> None:
    spending = Spending()
    spending.report("t", -1.0, -5)
    assert (spending.cost_usd, spending.tokens) == (0.0, 0)
