"""The scheduler driven step by step: slots, boost, gates, user commands and events.

Time is virtual: each call says when it happens (docs/design.md §4, §8).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from pmtui.config.loader import ConfigSource, load_config
from pmtui.config.model import Strategy
from pmtui.scheduling.decisions import (
    BoostChanged,
    Outcome,
    Paused,
    Resumed,
    RetryStep,
    RunFinished,
    RunStatus,
    Start,
    Stop,
    TaskFinished,
    TaskRetrying,
    TaskWaiting,
)
from pmtui.scheduling.scheduler import CommandRefused, Scheduler, SchedulerError
from pmtui.scheduling.setup import SchedulerSetup
from pmtui.scheduling.simulator import SimulatedAttempt, simulate
from pmtui.scheduling.states import TaskState
from tests.scheduling.helpers import (
    CONFIG,
    failing,
    finished,
    graph_of,
    of_type,
    scheduler_of,
    scripted,
    started,
    waiting,
)

MB = 1_000_000


def wide(count: int, *extra: str) -> str:
    """One phase of `count` independent demo tasks `1.1`…, then the `extra` task lines."""
    lines = [f"- [ ] 1.{n} Task {n} (agent: demo)" for n in range(1, count + 1)]
    return "## Phase 1: Wide\n" + "\n".join([*lines, *extra]) + "\n"


def succeed(scheduler: Scheduler, task: str, now: float) -> list:
    scheduler.finished(task, now, Outcome.SUCCEEDED, exit_code=0)
    return scheduler.decide(now)


# --------------------------------------------------------------------------- slots


def test_at_most_slots_tasks_start_and_take_slots_one_to_n() -> None:
    outputs = scheduler_of(wide(7)).decide(0)
    assert [(s.task, s.slot) for s in of_type(outputs, Start)] == [
        ("1.1", 1),
        ("1.2", 2),
        ("1.3", 3),
        ("1.4", 4),
        ("1.5", 5),
    ]
    assert of_type(outputs, BoostChanged) == []


def test_a_task_keeps_its_slot_and_new_starts_take_the_lowest_free_slot() -> None:
    scheduler = scheduler_of(wide(8))
    scheduler.decide(0)
    scheduler.finished("1.3", 1, Outcome.SUCCEEDED, exit_code=0)
    scheduler.finished("1.1", 1, Outcome.SUCCEEDED, exit_code=0)
    outputs = scheduler.decide(1)
    assert [(s.task, s.slot) for s in of_type(outputs, Start)] == [("1.6", 1), ("1.7", 3)]
    assert scheduler.running == {"1.6": 1, "1.2": 2, "1.7": 3, "1.4": 4, "1.5": 5}


def test_never_more_than_slots_tasks_run_at_once_in_a_whole_run() -> None:
    scheduler = scheduler_of(wide(12), slots=3)
    durations = {f"1.{n}": float(n % 4 + 1) for n in range(1, 13)}
    result = simulate(scheduler, scripted(durations=durations))
    assert {a.slot for a in result.attempts} == {1, 2, 3}
    instants = sorted({a.start_s for a in result.attempts})
    for instant in instants:
        running = [a for a in result.attempts if a.start_s <= instant < a.end_s]
        assert len(running) <= 3
        assert len({a.slot for a in running}) == len(running)
    assert result.run.status is RunStatus.OK


def test_slot_numbers_of_one_task_never_change_while_it_runs() -> None:
    scheduler = scheduler_of(wide(5))
    scheduler.decide(0)
    before = dict(scheduler.running)
    for step, task in enumerate(["1.2", "1.4"], start=1):
        succeed(scheduler, task, step)
    assert {task: before[task] for task in scheduler.running} == dict(scheduler.running)


# --------------------------------------------------------------------------- boost

URGENT = "- [ ] 1.9 Urgent (agent: demo) (priority: critical)"


def test_a_critical_task_opens_the_emergency_boost_when_normal_slots_are_busy() -> None:
    scheduler = scheduler_of(wide(7, URGENT), strategy=Strategy.FIFO)
    outputs = scheduler.decide(0)
    assert [(s.task, s.slot) for s in of_type(outputs, Start)][-1] == ("1.9", 6)
    assert of_type(outputs, BoostChanged) == [BoostChanged(0, 8, False)]
    assert scheduler.usable_slots == 8


def test_non_critical_tasks_never_take_boost_slots_automatically() -> None:
    scheduler = scheduler_of(wide(7, URGENT), strategy=Strategy.FIFO)
    outputs = scheduler.decide(0)
    assert "1.6" not in started(outputs)
    assert "1.7" not in started(outputs)
    assert started(scheduler.decide(1)) == []
    assert set(scheduler.running.values()) == {1, 2, 3, 4, 5, 6}


def test_the_boost_closes_when_no_critical_task_holds_a_boost_slot() -> None:
    scheduler = scheduler_of(wide(7, URGENT), strategy=Strategy.FIFO)
    scheduler.decide(0)
    outputs = succeed(scheduler, "1.9", 5)
    assert of_type(outputs, BoostChanged) == [BoostChanged(5, 5, False)]
    assert started(outputs) == []
    assert scheduler.usable_slots == 5


def test_several_critical_tasks_fill_the_boost_slots_and_it_closes_after_the_last() -> None:
    urgent = [f"- [ ] 1.{n} Urgent {n} (agent: demo) (priority: critical)" for n in (6, 7)]
    scheduler = scheduler_of(wide(5, *urgent), strategy=Strategy.FIFO)
    outputs = scheduler.decide(0)
    assert scheduler.running == {f"1.{n}": n for n in range(1, 8)}
    assert len(of_type(outputs, BoostChanged)) == 1
    assert of_type(succeed(scheduler, "1.6", 1), BoostChanged) == []
    assert of_type(succeed(scheduler, "1.7", 2), BoostChanged) == [BoostChanged(2, 5, False)]


def test_a_critical_task_uses_a_normal_slot_when_one_is_free() -> None:
    scheduler = scheduler_of(wide(2, URGENT))
    outputs = scheduler.decide(0)
    assert {s.slot for s in of_type(outputs, Start)} == {1, 2, 3}
    assert of_type(outputs, BoostChanged) == []


def test_manual_boost_lets_any_task_use_slots_six_to_eight_until_turned_off() -> None:
    scheduler = scheduler_of(wide(10))
    scheduler.decide(0)
    scheduler.set_boost(True, 1)
    assert scheduler.boosted
    outputs = scheduler.decide(1)
    assert of_type(outputs, BoostChanged) == [BoostChanged(1, 8, True)]
    assert [(s.task, s.slot) for s in of_type(outputs, Start)] == [
        ("1.6", 6),
        ("1.7", 7),
        ("1.8", 8),
    ]
    scheduler.set_boost(False, 2)
    assert of_type(scheduler.decide(2), BoostChanged) == [BoostChanged(2, 5, False)]
    assert not scheduler.boosted
    # A freed boost slot is not handed out again; the boosted tasks run on.
    assert started(succeed(scheduler, "1.7", 3)) == []
    assert scheduler.running["1.6"] == 6


def test_after_manual_boost_no_more_than_the_normal_slots_run() -> None:
    scheduler = scheduler_of(wide(12))
    scheduler.decide(0)
    scheduler.set_boost(True, 1)
    scheduler.decide(1)
    scheduler.set_boost(False, 2)
    scheduler.decide(2)
    # Two normal slots free up while three boosted tasks still run: 8 − 2 = 6 running, so
    # nothing starts until fewer than 5 run.
    assert started(succeed(scheduler, "1.1", 3)) == []
    assert started(succeed(scheduler, "1.2", 3)) == []
    assert len(scheduler.running) == 6
    assert started(succeed(scheduler, "1.6", 4)) == []
    assert started(succeed(scheduler, "1.7", 4)) == ["1.9"]
    assert len(scheduler.running) == 5


def test_a_resume_does_not_repeat_the_wait_of_a_task_held_by_a_rate_limit() -> None:
    scheduler = scheduler_of(
        """
        ## P
        - [ ] 1.1 A (agent: product-manager)
        - [ ] 1.2 B (agent: product-manager)
        """
    )
    scheduler.decide(0)
    scheduler.finished("1.1", 1, Outcome.RATE_LIMITED)
    scheduler.pause(1)
    scheduler.decide(1)
    scheduler.resume(2)
    assert [w.task for w in of_type(scheduler.decide(2), TaskWaiting)] == []
    assert scheduler.state("1.1") is TaskState.WAITING
    assert scheduler.reason("1.1") == "rate limited (product-manager): back off 30s"


def test_manual_boost_refused_when_emergency_boost_equals_slots() -> None:
    scheduler = scheduler_of(wide(3), boost_slots=5)
    with pytest.raises(CommandRefused, match="no boost slots"):
        scheduler.set_boost(True, 0)


def test_no_emergency_boost_when_emergency_boost_equals_slots() -> None:
    scheduler = scheduler_of(wide(5, URGENT), strategy=Strategy.FIFO, boost_slots=5)
    outputs = scheduler.decide(0)
    assert "1.9" not in started(outputs)
    assert of_type(outputs, BoostChanged) == []


# --------------------------------------------------------------------------- memory and CPU


# These tests give each agent 256MB (the default is 4GB, docs/design.md §3): small numbers.
AGENT_MB = 256 * MB


def test_low_memory_holds_new_starts_with_a_memory_reason() -> None:
    scheduler = scheduler_of(wide(4), memory_per_agent=AGENT_MB)
    scheduler.memory_available(600 * MB, 0)
    scheduler.decide(0)  # two start (600 → 344 → 88 MB left)
    scheduler.memory_available(100 * MB, 1)
    outputs = scheduler.decide(1)
    assert started(outputs) == []
    assert scheduler.state("1.4") is TaskState.WAITING
    assert scheduler.reason("1.4").startswith("memory")
    assert scheduler.reason("1.4") == "memory: 100MB available, 256MB needed per agent"


def test_memory_below_one_agent_starts_only_one_task_when_none_runs() -> None:
    scheduler = scheduler_of(wide(4), memory_per_agent=AGENT_MB)
    scheduler.memory_available(100 * MB, 0)
    outputs = scheduler.decide(0)
    assert started(outputs) == ["1.1"]
    assert all(reason.startswith("memory") for reason in waiting(outputs).values())
    assert {"1.2", "1.3", "1.4"} <= set(waiting(outputs))


def test_more_memory_lets_tasks_start_and_each_start_uses_up_the_budget() -> None:
    scheduler = scheduler_of(wide(6), memory_per_agent=AGENT_MB)
    scheduler.memory_available(100 * MB, 0)
    scheduler.decide(0)
    scheduler.memory_available(600 * MB, 1)
    assert scheduler.state("1.2") is TaskState.READY
    outputs = scheduler.decide(1)
    assert started(outputs) == ["1.2", "1.3"]
    assert scheduler.reason("1.4").startswith("memory")
    assert started(scheduler.decide(2)) == []  # no new reading, no new budget
    scheduler.memory_available(300 * MB, 3)
    assert started(scheduler.decide(3)) == ["1.4"]


def test_a_started_task_that_ended_gives_its_budget_back_before_the_next_reading() -> None:
    # Short tasks start and end many times a second: only the ones still running count
    # against a reading, or a long run of them would fall to one at a time.
    scheduler = scheduler_of(wide(8), memory_per_agent=AGENT_MB)
    scheduler.memory_available(600 * MB, 0)
    assert started(scheduler.decide(0)) == ["1.1", "1.2"]
    for now in (1, 2, 3):
        ended = sorted(scheduler.running)[0]
        scheduler.finished(ended, now, Outcome.SUCCEEDED, exit_code=0)
        assert len(started(scheduler.decide(now))) == 1
        assert len(scheduler.running) == 2


def test_an_unknown_memory_reading_lifts_the_gate() -> None:
    scheduler = scheduler_of(wide(6), memory_per_agent=AGENT_MB)
    scheduler.memory_available(100 * MB, 0)
    scheduler.decide(0)
    scheduler.memory_available(None, 1)
    assert started(scheduler.decide(1)) == ["1.2", "1.3", "1.4", "1.5"]


def test_a_saturated_cpu_holds_new_starts_with_a_cpu_reason() -> None:
    scheduler = scheduler_of(wide(4), slots=2, boost_slots=2)
    scheduler.decide(0)
    scheduler.cpu_saturated(True, 1)
    outputs = succeed(scheduler, "1.1", 1)
    assert started(outputs) == []
    assert waiting(outputs)["1.3"].startswith("cpu")
    scheduler.cpu_saturated(False, 2)
    assert started(scheduler.decide(2)) == ["1.3"]


def test_a_saturated_cpu_starts_only_one_task_when_none_runs() -> None:
    scheduler = scheduler_of(wide(4))
    scheduler.cpu_saturated(True, 0)
    assert started(scheduler.decide(0)) == ["1.1"]


# --------------------------------------------------------------------------- pause and resume


def test_pause_stops_new_starts_while_running_tasks_go_on() -> None:
    scheduler = scheduler_of(wide(7))
    scheduler.decide(0)
    scheduler.pause(1)
    assert scheduler.paused
    outputs = succeed(scheduler, "1.1", 2)
    assert of_type(outputs, Paused) == [Paused(1, False)]
    assert started(outputs) == []
    assert scheduler.state("1.1") is TaskState.DONE
    assert waiting(outputs)["1.6"] == "paused"
    assert scheduler.state("1.2") is TaskState.RUNNING


def test_resume_starts_tasks_again() -> None:
    scheduler = scheduler_of(wide(3))
    scheduler.pause(0)
    assert started(scheduler.decide(0)) == []
    scheduler.resume(1)
    outputs = scheduler.decide(1)
    assert of_type(outputs, Resumed) == [Resumed(1)]
    assert started(outputs) == ["1.1", "1.2", "1.3"]
    assert not scheduler.paused


def test_hard_pause_is_flagged_on_the_notice() -> None:
    scheduler = scheduler_of(wide(3))
    scheduler.decide(0)
    scheduler.pause(1, hard=True)
    assert of_type(scheduler.decide(1), Paused) == [Paused(1, True)]
    scheduler.pause(2)  # hard to soft is a change: announced
    assert of_type(scheduler.decide(2), Paused) == [Paused(2, False)]


def test_pausing_twice_or_resuming_unpaused_says_nothing() -> None:
    scheduler = scheduler_of(wide(3))
    scheduler.resume(0)
    scheduler.pause(0)
    scheduler.pause(1)
    outputs = scheduler.decide(1)
    assert len(of_type(outputs, Paused)) == 1
    assert of_type(outputs, Resumed) == []


# --------------------------------------------------------------------------- retry

CHAIN = """
## Phase 1: Start
- [ ] 1.1 Breaks (agent: demo) (retries: 0)
- [ ] 1.2 Fine (agent: demo)
## Phase 2: Follow
- [ ] 2.1 After breaks (agent: demo) (depends: 1.1)
- [ ] 2.2 After after (agent: demo) (depends: 2.1)
- [ ] 2.3 After the phase (agent: demo)
"""


def failed_chain() -> Scheduler:
    scheduler = scheduler_of(CHAIN)
    scheduler.decide(0)
    scheduler.finished("1.1", 5, Outcome.FAILED, exit_code=2)
    scheduler.decide(5)
    return scheduler


def test_a_failure_skips_its_dependents_with_the_reason() -> None:
    scheduler = failed_chain()
    assert scheduler.state("1.1") is TaskState.FAILED
    assert scheduler.reason("1.1") == "exit 2"
    assert scheduler.reason("2.1") == "dependency 1.1 failed"
    assert scheduler.reason("2.2") == "dependency 2.1 skipped"
    assert scheduler.reason("2.3") == "dependency 1.1 failed"


def test_retry_reopens_a_failed_task_with_a_fresh_budget_and_its_dependents_run() -> None:
    scheduler = failed_chain()
    scheduler.retry("1.1", 6)
    assert {task: scheduler.state(task) for task in ("2.1", "2.2", "2.3")} == dict.fromkeys(
        ("2.1", "2.2", "2.3"), TaskState.PENDING
    )
    outputs = scheduler.decide(6)
    assert of_type(outputs, TaskRetrying) == [
        TaskRetrying(6, "1.1", 2, RetryStep.RETRY, 0.0, "retried by user")
    ]
    # Numbers go on (attempt 2: logs and the store tell the attempts apart).
    assert [(s.task, s.attempt) for s in of_type(outputs, Start)] == [("1.1", 2)]
    assert scheduler.attempt_number("1.1") == 2 and scheduler.attempts("1.1") == 1
    assert started(succeed(scheduler, "1.1", 8)) == ["2.1"]
    assert started(succeed(scheduler, "1.2", 9)) == ["2.3"]
    assert started(succeed(scheduler, "2.1", 10)) == ["2.2"]
    succeed(scheduler, "2.2", 11)
    run = of_type(succeed(scheduler, "2.3", 12), RunFinished)
    assert run[0].status is RunStatus.OK


def test_a_retried_task_that_fails_again_skips_its_dependents_again() -> None:
    scheduler = failed_chain()
    scheduler.retry("1.1", 6)
    scheduler.decide(6)
    scheduler.finished("1.1", 7, Outcome.FAILED, exit_code=3)
    scheduler.decide(7)
    assert scheduler.state("2.2") is TaskState.SKIPPED
    assert scheduler.attempts("1.1") == 1


def test_retrying_every_failed_dependency_reopens_the_dependent() -> None:
    scheduler = scheduler_of(
        """
        ## Phase 1: Start
        - [ ] 1.1 Breaks (agent: demo) (retries: 0)
        - [ ] 1.2 Breaks too (agent: demo) (retries: 0)
        - [ ] 1.3 Long (agent: demo)
        ## Phase 2: Follow
        - [ ] 2.1 Needs both (agent: demo) (depends: 1.1, 1.2)
        """
    )
    scheduler.decide(0)
    scheduler.finished("1.1", 5, Outcome.FAILED, exit_code=1)  # skips 2.1 (cause 1.1)
    scheduler.finished("1.2", 6, Outcome.FAILED, exit_code=1)
    scheduler.decide(6)
    scheduler.retry("1.1", 7)
    scheduler.retry("1.2", 7)
    assert scheduler.state("2.1") is TaskState.PENDING


def test_a_resolved_conflict_is_done_and_its_dependents_run() -> None:
    scheduler = scheduler_of(CHAIN)
    scheduler.decide(0)
    scheduler.finished("1.1", 5, Outcome.CONFLICT, reason="conflict on a.txt with 1.2")
    scheduler.decide(5)
    assert scheduler.state("2.1") is TaskState.SKIPPED
    scheduler.resolved("1.1", 6, "use_last")  # while 1.2 still runs: the run is not over
    outputs = scheduler.decide(6)
    done = of_type(outputs, TaskFinished)
    assert [(n.task, n.status, n.reason) for n in done] == [
        ("1.1", TaskState.DONE, "resolved: use_last")
    ]
    assert started(outputs) == ["2.1"]
    assert sorted(started(succeed(scheduler, "1.2", 7))) == ["2.3"]
    assert started(succeed(scheduler, "2.1", 8)) == ["2.2"]
    succeed(scheduler, "2.2", 9)
    run = of_type(succeed(scheduler, "2.3", 10), RunFinished)
    assert run[0].status is RunStatus.OK


def test_the_run_does_not_end_while_a_resolution_is_under_way() -> None:
    scheduler = scheduler_of(CHAIN)
    scheduler.decide(0)
    scheduler.finished("1.1", 5, Outcome.CONFLICT, reason="conflict on a.txt with 1.2")
    scheduler.begin_resolution("1.1")
    with pytest.raises(CommandRefused, match="being resolved already"):
        scheduler.begin_resolution("1.1")
    outputs = succeed(scheduler, "1.2", 6)  # every task is final now…
    assert of_type(outputs, RunFinished) == []  # …but the merge of 1.1 is on its way
    scheduler.end_resolution("1.1")  # it did not land (e.g. auto_merge refused)
    run = of_type(scheduler.decide(7), RunFinished)
    assert run[0].status is RunStatus.CONFLICT


def test_only_a_conflict_can_be_resolved() -> None:
    scheduler = failed_chain()
    with pytest.raises(CommandRefused, match="only a task left in conflict can be resolved"):
        scheduler.resolved("1.1", 6, "use_first")
    with pytest.raises(CommandRefused, match="no task 9.9"):
        scheduler.resolved("9.9", 6, "use_first")


def test_retry_of_a_conflicted_task_is_allowed() -> None:
    scheduler = scheduler_of(CHAIN)
    scheduler.decide(0)
    scheduler.finished("1.1", 5, Outcome.CONFLICT, reason="conflict on a.txt with 1.2")
    scheduler.decide(5)
    assert scheduler.state("1.1") is TaskState.CONFLICT
    scheduler.retry("1.1", 6)
    assert started(scheduler.decide(6)) == ["1.1"]


@pytest.mark.parametrize(("task", "state"), [("1.2", "done"), ("2.1", "pending")])
def test_retry_is_refused_on_a_task_that_did_not_fail(task: str, state: str) -> None:
    scheduler = scheduler_of(CHAIN)
    scheduler.decide(0)
    succeed(scheduler, "1.2", 1)
    with pytest.raises(CommandRefused, match=f"task {task} is {state}"):
        scheduler.retry(task, 2)


def test_retry_is_refused_on_a_running_task_and_an_unknown_one() -> None:
    scheduler = scheduler_of(CHAIN)
    scheduler.decide(0)
    with pytest.raises(CommandRefused, match="is running"):
        scheduler.retry("1.2", 1)
    with pytest.raises(CommandRefused, match="no task 9.9"):
        scheduler.retry("9.9", 1)


def test_retry_is_refused_once_fail_fast_stopped_the_run() -> None:
    scheduler = scheduler_of(CHAIN, fail_fast=True)
    scheduler.decide(0)
    scheduler.finished("1.1", 5, Outcome.FAILED, exit_code=1)
    scheduler.decide(5)
    with pytest.raises(CommandRefused, match="fail-fast"):
        scheduler.retry("1.1", 6)


# --------------------------------------------------------------------------- skip


def test_skipping_a_pending_task_skips_it_and_its_transitive_dependents() -> None:
    scheduler = scheduler_of(CHAIN)
    scheduler.decide(0)
    scheduler.skip("2.1", 1)
    ends = finished(scheduler.decide(1))
    assert {task: (e.status, e.reason, e.attempt) for task, e in ends.items()} == {
        "2.1": (TaskState.SKIPPED, "skipped by user", 0),
        "2.2": (TaskState.SKIPPED, "dependency 2.1 skipped", 0),
    }
    assert scheduler.state("2.3") is TaskState.PENDING


def test_skipping_a_running_task_stops_it_and_frees_its_slot_only_when_it_ends() -> None:
    scheduler = scheduler_of(wide(6))
    scheduler.decide(0)
    scheduler.skip("1.2", 1)
    outputs = scheduler.decide(1)
    assert of_type(outputs, Stop) == [Stop(1, "1.2", "skipped by user")]
    assert finished(outputs)["1.2"].status is TaskState.SKIPPED
    assert started(outputs) == []
    assert scheduler.running["1.2"] == 2
    scheduler.finished("1.2", 2, Outcome.FAILED, reason="signal SIGTERM")
    outputs = scheduler.decide(2)
    assert [(s.task, s.slot) for s in of_type(outputs, Start)] == [("1.6", 2)]
    assert scheduler.state("1.2") is TaskState.SKIPPED
    assert of_type(outputs, TaskFinished) == []


def test_skipping_a_ready_task_lets_the_next_one_have_the_slot() -> None:
    scheduler = scheduler_of(wide(3), slots=1, boost_slots=1)
    scheduler.decide(0)
    scheduler.skip("1.2", 1)
    assert started(succeed(scheduler, "1.1", 2)) == ["1.3"]


def test_skipping_a_task_in_its_back_off_ends_it() -> None:
    scheduler = scheduler_of(wide(1))
    scheduler.decide(0)
    scheduler.finished("1.1", 5, Outcome.FAILED, exit_code=1)
    scheduler.decide(5)
    assert scheduler.state("1.1") is TaskState.RETRYING
    scheduler.skip("1.1", 5.5)
    outputs = scheduler.decide(10)
    assert started(outputs) == []
    assert of_type(outputs, RunFinished)[0].skipped == 1


def test_skip_is_refused_on_a_final_task() -> None:
    scheduler = scheduler_of(CHAIN)
    scheduler.decide(0)
    succeed(scheduler, "1.2", 1)
    with pytest.raises(CommandRefused, match="already done"):
        scheduler.skip("1.2", 2)


# --------------------------------------------------------------------------- abort


def test_abort_cancels_every_open_task_and_stops_running_ones() -> None:
    scheduler = scheduler_of(CHAIN)
    scheduler.decide(0)
    succeed(scheduler, "1.2", 1)
    scheduler.abort(2)
    outputs = scheduler.decide(2)
    assert sorted(stop.task for stop in of_type(outputs, Stop)) == ["1.1"]
    ends = finished(outputs)
    assert set(ends) == {"1.1", "2.1", "2.2", "2.3"}
    assert {e.status for e in ends.values()} == {TaskState.CANCELLED}
    assert {e.reason for e in ends.values()} == {"aborted"}
    assert scheduler.state("1.2") is TaskState.DONE
    (run,) = of_type(outputs, RunFinished)
    assert run.status is RunStatus.ABORTED
    assert run.status.exit_code == 130
    assert (run.done, run.cancelled) == (1, 4)


def test_commands_after_an_abort_are_refused_and_a_second_abort_is_harmless() -> None:
    scheduler = scheduler_of(CHAIN)
    scheduler.decide(0)
    scheduler.abort(1)
    scheduler.abort(2)
    outputs = scheduler.decide(2)
    assert len(of_type(outputs, RunFinished)) == 1
    for command in (
        lambda: scheduler.pause(3),
        lambda: scheduler.resume(3),
        lambda: scheduler.skip("2.1", 3),
        lambda: scheduler.retry("1.1", 3),
        lambda: scheduler.set_boost(True, 3),
    ):
        with pytest.raises(CommandRefused, match="the run has ended"):
            command()


def test_a_stopped_attempt_reported_after_the_abort_is_accepted() -> None:
    scheduler = scheduler_of(CHAIN)
    scheduler.decide(0)
    scheduler.abort(1)
    scheduler.decide(1)
    scheduler.finished("1.1", 2, Outcome.FAILED, reason="signal SIGTERM")
    assert scheduler.decide(2) == []
    assert scheduler.state("1.1") is TaskState.CANCELLED


def test_abort_in_a_simulation_via_a_command() -> None:
    result = simulate(
        scheduler_of(CHAIN), scripted(), commands=[(3.0, lambda s, now: s.abort(now))]
    )
    assert result.run.status is RunStatus.ABORTED
    assert result.run.time == 3.0
    assert all(a.outcome is None for a in result.attempts)


# --------------------------------------------------------------------------- driver errors


def test_finishing_a_task_that_is_not_running_is_a_scheduler_error() -> None:
    scheduler = scheduler_of(CHAIN)
    with pytest.raises(SchedulerError, match="2.1"):
        scheduler.finished("2.1", 0, Outcome.SUCCEEDED)
    with pytest.raises(SchedulerError):
        scheduler.finished("nope", 0, Outcome.SUCCEEDED)


# --------------------------------------------------------------------------- events

MIXED = """
## Phase 1: Start
- [x] 1.1 Done before (agent: demo)
- [ ] 1.2 Breaks (agent: demo) (retries: 1)
- [ ] 1.3 Fine (agent: demo)
## Phase 2: Follow
- [ ] 2.1 After breaks (agent: demo) (depends: 1.2)
- [ ] 2.2 After done (agent: demo) (depends: 1.1)
- [ ] 2.3 After after (agent: demo) (depends: 2.1)
"""


def test_every_task_gets_exactly_one_task_finished_in_a_normal_run() -> None:
    model = scripted({("1.2", 1): failing(), ("1.2", 2): failing()})
    result = simulate(scheduler_of(MIXED), model)
    counts: dict[str, int] = {}
    for notice in of_type(result.outputs, TaskFinished):
        counts[notice.task] = counts.get(notice.task, 0) + 1
    assert counts == dict.fromkeys(("1.1", "1.2", "1.3", "2.1", "2.2", "2.3"), 1)
    assert isinstance(result.outputs[-1], RunFinished)


def test_a_done_task_is_reported_finished_at_once_as_already_done() -> None:
    outputs = scheduler_of(MIXED).decide(0)
    assert outputs[0] == TaskFinished(0, "1.1", TaskState.DONE, None, "already done", 0, 0)
    assert "2.2" in started(outputs)


def test_never_started_skipped_tasks_report_attempt_zero_and_no_duration() -> None:
    model = scripted({("1.2", 1): failing(), ("1.2", 2): failing()})
    ends = finished(simulate(scheduler_of(MIXED), model).outputs)
    for task in ("2.1", "2.3"):
        assert (ends[task].status, ends[task].attempt, ends[task].duration_s) == (
            TaskState.SKIPPED,
            0,
            0.0,
        )
    # (Its last attempt starts after a jittered back-off: its duration is 10 s give or take
    # floating point.)
    assert (ends["1.2"].attempt, ends["1.2"].exit_code) == (2, 1)
    assert ends["1.2"].duration_s == pytest.approx(10.0)


def test_run_finished_counts_every_final_state() -> None:
    model = scripted({("1.2", 1): failing(), ("1.2", 2): failing()})
    run = simulate(scheduler_of(MIXED), model).run
    assert (run.done, run.failed, run.skipped, run.cancelled, run.conflicts) == (3, 1, 2, 0, 0)
    assert run.status is RunStatus.FAILED
    assert run.duration_s == run.time
    assert run.reason == ""


def test_start_carries_agent_slot_and_one_based_attempt() -> None:
    outputs = scheduler_of(MIXED).decide(0)
    assert of_type(outputs, Start)[0] == Start(0, "1.2", "demo", 1, 1, False, False)


def test_a_plan_of_done_tasks_finishes_at_once() -> None:
    scheduler = scheduler_of("## Phase 1: Done\n- [x] 1.1 A (agent: demo)\n")
    outputs = scheduler.decide(0)
    assert [type(o) for o in outputs] == [TaskFinished, RunFinished]
    assert outputs[-1].status is RunStatus.OK
    assert scheduler.finished_run
    assert scheduler.decide(1) == []
    assert scheduler.next_wakeup() is None


@pytest.mark.parametrize(
    ("status", "code"),
    [(RunStatus.OK, 0), (RunStatus.FAILED, 1), (RunStatus.CONFLICT, 3), (RunStatus.ABORTED, 130)],
)
def test_run_status_exit_codes(status: RunStatus, code: int) -> None:
    assert status.exit_code == code


def test_a_failure_outranks_a_conflict_in_the_run_status() -> None:
    text = """
    ## Phase 1: Both
    - [ ] 1.1 Breaks (agent: demo) (retries: 0)
    - [ ] 1.2 Conflicts (agent: demo) (retries: 0)
    """
    model = scripted(
        {("1.1", 1): failing(), ("1.2", 1): SimulatedAttempt(5, Outcome.CONFLICT, 0, "conflict")}
    )
    run = simulate(scheduler_of(text), model).run
    assert (run.failed, run.conflicts) == (1, 1)
    assert run.status is RunStatus.FAILED
    assert run.status.exit_code == 1


def test_outputs_come_in_time_order() -> None:
    model = scripted({("1.2", 1): failing()}, durations={"1.3": 4.0})
    result = simulate(scheduler_of(MIXED), model)
    times = [output.time for output in result.outputs]
    assert times == sorted(times)


def test_decide_returns_each_output_once() -> None:
    scheduler = scheduler_of(wide(2))
    assert len(scheduler.decide(0)) == 2
    assert scheduler.decide(0) == []


# --------------------------------------------------------------------------- setup from config

SETUP_PLAN = """
## Phase 1: Mixed
- [ ] 1.1 Build (agent: swebok-engineer) (retries: 1)
- [ ] 1.2 Review (agent: qa-engineer)
- [ ] 1.3 Script
    ```sh
    make
    ```
- [ ] 1.4 Think
"""


def test_setup_from_config_reads_agents_retries_and_the_seed_defaults() -> None:
    graph = graph_of(SETUP_PLAN)
    setup = SchedulerSetup.from_config(graph, CONFIG, estimates={})
    assert dict(setup.agents) == {
        "1.1": "swebok-engineer",
        "1.2": "qa-engineer",
        "1.3": "shell",
        "1.4": "",  # no agent, no script, no default_agent: `pmtui check` reports it
    }
    assert (setup.slots, setup.boost_slots, setup.default_retries) == (5, 8, 3)
    assert setup.retries_of("1.1") == 1
    assert setup.retries_of("1.2") == 3
    assert setup.retry_delay_s == 1.0
    assert setup.memory_per_agent == 4_000_000_000
    assert not setup.abort_on_failure
    assert setup.isolated == frozenset()
    assert not setup.can_isolate


PROVIDER_PLAN = """
## Phase 1: Mixed
- [ ] 1.1 Build (agent: claude)
- [ ] 1.2 Review (agent: codex)
- [ ] 1.3 Plan (agent: product-manager)
- [ ] 1.4 Show (agent: demo)
- [ ] 1.5 Think
"""


def test_setup_from_config_keys_rate_limits_by_the_agents_provider() -> None:
    graph = graph_of(PROVIDER_PLAN)
    source = ConfigSource("pmtui.toml", '[pool]\ndefault_agent = "claude"\n')
    config, problems = load_config([source])
    assert config is not None, problems
    setup = SchedulerSetup.from_config(graph, config, estimates={})
    assert dict(setup.providers) == {
        "1.1": "anthropic",
        "1.2": "openai",
        "1.3": "anthropic",  # a role run by Claude Code shares its limits
        "1.4": "demo",  # no provider set: a provider of its own
        "1.5": "anthropic",  # the default agent
    }
    assert [setup.provider_of(task) for task in ("1.1", "1.4")] == ["anthropic", "demo"]


def test_a_task_without_an_agent_is_its_own_provider_key_and_does_not_crash() -> None:
    graph = graph_of(PROVIDER_PLAN)
    setup = SchedulerSetup.from_config(graph, CONFIG, estimates={})
    assert setup.provider_of("1.5") == setup.agents["1.5"]
    # Built by hand without providers: each task's agent is its provider.
    assert replace(setup, providers={}).provider_of("1.2") == "codex"


def test_setup_with_isolation_isolates_only_code_modifying_tasks() -> None:
    graph = graph_of(SETUP_PLAN)
    setup = SchedulerSetup.from_config(graph, CONFIG, estimates={}, isolation=True)
    assert setup.isolated == frozenset({"1.1", "1.3"})
    assert setup.can_isolate


@pytest.mark.parametrize(("max_parallel", "boost"), [(2, 8), (8, 8), (12, 12)])
def test_max_parallel_overrides_slots_and_boost_is_never_below_it(
    max_parallel: int, boost: int
) -> None:
    graph = graph_of(SETUP_PLAN)
    setup = SchedulerSetup.from_config(graph, CONFIG, estimates={}, max_parallel=max_parallel)
    assert (setup.slots, setup.boost_slots) == (max_parallel, boost)


# --------------------------------------------------------------------------- found in review


def test_tasks_queued_on_one_file_are_announced_once_each_however_long_the_queue() -> None:
    lines = [f"- [ ] t{n} Edit (agent: product-manager) (files: CHANGELOG.md)" for n in range(60)]
    scheduler = scheduler_of("## Phase 1: One file\n" + "\n".join(lines) + "\n")
    result = simulate(scheduler, scripted())
    notices = of_type(result.outputs, TaskWaiting)
    assert len(notices) == 59  # every task but the first waits once, for the same reason
    assert {notice.reason for notice in notices} == {"file lock: CHANGELOG.md is in use"}
    assert result.run.time == 600  # one after another


def test_a_singleton_queue_is_announced_once_each() -> None:
    lines = [f"- [ ] t{n} Save (agent: state-persistence-agent)" for n in range(40)]
    result = simulate(scheduler_of("## Phase 1: Saves\n" + "\n".join(lines) + "\n"), scripted())
    assert len(of_type(result.outputs, TaskWaiting)) == 39


def test_a_waiting_task_names_its_blocker_while_the_reason_stays_the_same() -> None:
    text = """
    ## Phase 1: One file
    - [ ] 1.1 A (agent: product-manager) (files: a.md)
    - [ ] 1.2 B (agent: product-manager) (files: a.md)
    - [ ] 1.3 C (agent: product-manager) (files: a.md)
    """
    scheduler = scheduler_of(text)
    scheduler.decide(0)
    assert scheduler.blocker("1.3") == "1.1"
    scheduler.finished("1.1", 10, Outcome.SUCCEEDED, exit_code=0)
    outputs = scheduler.decide(10)
    assert started(outputs) == ["1.2"]
    assert of_type(outputs, TaskWaiting) == []
    assert scheduler.blocker("1.3") == "1.2"
    assert scheduler.reason("1.3") == "file lock: a.md is in use"


def test_dependents_reopened_by_a_retry_are_announced() -> None:
    text = """
    ## Phase 1: Start
    - [ ] a1 Breaks (agent: demo) (retries: 0)
    - [ ] c1 Keeps the run open (agent: demo)
    ## Phase 2: After
    - [ ] b1 Needs a1 (agent: demo) (depends: a1)
    """
    scheduler = scheduler_of(text)
    scheduler.decide(0)
    scheduler.finished("a1", 1, Outcome.FAILED, exit_code=1)
    assert finished(scheduler.decide(1))["b1"].status is TaskState.SKIPPED
    scheduler.retry("a1", 2)
    outputs = scheduler.decide(2)
    assert waiting(outputs) == {"b1": "dependency a1 retried"}
    assert scheduler.state("b1") is TaskState.PENDING


def test_a_skipped_retry_reports_no_exit_code_of_an_earlier_attempt() -> None:
    text = """
    ## Phase 1: Solo
    - [ ] t1 Flaky (agent: demo) (retries: 2)
    """
    scheduler = scheduler_of(text)
    scheduler.decide(0)
    scheduler.finished("t1", 1, Outcome.FAILED, exit_code=1)
    scheduler.decide(1)
    assert started(scheduler.decide(3)) == ["t1"]  # after the back-off
    scheduler.skip("t1", 4)
    ended = finished(scheduler.decide(4))["t1"]
    assert (ended.status, ended.attempt, ended.exit_code) == (TaskState.SKIPPED, 2, None)


def test_a_conflict_without_a_reason_says_conflict() -> None:
    scheduler = scheduler_of("## P\n- [ ] t1 Merge (agent: demo) (retries: 0)\n")
    scheduler.decide(0)
    scheduler.finished("t1", 1, Outcome.CONFLICT, exit_code=0)
    ended = finished(scheduler.decide(1))["t1"]
    assert (ended.status, ended.reason) == (TaskState.CONFLICT, "conflict")


def test_fail_fast_ends_every_task_that_is_not_running_at_once() -> None:
    text = """
    ## Phase 1: Start
    - [ ] 1.1 Breaks (agent: demo) (retries: 0)
    - [ ] 1.2 Long (agent: demo)
    - [ ] 1.3 Queued (agent: demo)
    """
    scheduler = scheduler_of(text, fail_fast=True, slots=2, boost_slots=2)
    scheduler.decide(0)
    scheduler.finished("1.1", 5, Outcome.FAILED, exit_code=1)
    outputs = scheduler.decide(5)
    assert finished(outputs)["1.3"].reason == "fail-fast: stopped after 1.1 failed"
    assert scheduler.state("1.2") is TaskState.RUNNING
    assert of_type(outputs, RunFinished) == []


def test_a_critical_task_ended_by_fail_fast_in_its_back_off_aborts_the_run() -> None:
    text = """
    ## Phase 1: Start
    - [ ] t0 Urgent (agent: demo) (priority: critical) (retries: 2)
    - [ ] t1 Breaks (agent: demo) (retries: 0)
    """
    scheduler = scheduler_of(text, fail_fast=True)
    scheduler.decide(0)
    scheduler.finished("t0", 1, Outcome.FAILED, exit_code=1)
    scheduler.finished("t1", 1, Outcome.FAILED, exit_code=1)
    outputs = scheduler.decide(1)
    run = of_type(outputs, RunFinished)[0]
    assert run.status is RunStatus.ABORTED
    assert run.reason.startswith("aborted: critical task t0 failed")


def test_turning_manual_boost_on_is_announced_even_when_the_auto_boost_is_open() -> None:
    scheduler = scheduler_of(
        wide(5, "- [ ] 1.9 Urgent (agent: demo) (priority: critical)"), strategy=Strategy.FIFO
    )
    scheduler.decide(0)
    assert scheduler.usable_slots == 8
    scheduler.set_boost(True, 1)
    assert of_type(scheduler.decide(1), BoostChanged) == [BoostChanged(1, 8, True)]


ONE_FILE = (
    "## Phase 1: One file\n"
    + "\n".join(f"- [ ] t{n} Edit (agent: product-manager) (files: CHANGELOG.md)" for n in range(6))
    + "\n"
)


def one_at_a_time(scheduler: Scheduler) -> list[str]:
    """Finish whatever runs, one after another, and return the start order."""
    order = started(scheduler.decide(0))
    now = 0.0
    while scheduler.running:
        now += 1
        for task in list(scheduler.running):
            scheduler.finished(task, now, Outcome.SUCCEEDED, exit_code=0)
        order += started(scheduler.decide(now))
    return order


def test_a_queue_behind_one_file_starts_in_strategy_order_one_at_a_time() -> None:
    assert one_at_a_time(scheduler_of(ONE_FILE)) == [f"t{n}" for n in range(6)]


def test_every_task_queued_behind_one_file_names_the_running_holder() -> None:
    scheduler = scheduler_of(ONE_FILE)
    scheduler.decide(0)
    scheduler.finished("t0", 1, Outcome.SUCCEEDED, exit_code=0)
    scheduler.decide(1)
    assert {scheduler.blocker(f"t{n}") for n in range(2, 6)} == {"t1"}
    assert {scheduler.reason(f"t{n}") for n in range(2, 6)} == {"file lock: CHANGELOG.md is in use"}


def test_skipping_tasks_in_a_queue_behind_one_file_keeps_the_others_in_order() -> None:
    scheduler = scheduler_of(ONE_FILE)
    scheduler.decide(0)
    scheduler.finished("t0", 1, Outcome.SUCCEEDED, exit_code=0)
    scheduler.decide(1)  # t1 runs; t2…t5 wait behind it as one queue
    scheduler.skip("t2", 2)  # the next in line
    scheduler.skip("t4", 2)  # one further back
    scheduler.finished("t1", 3, Outcome.SUCCEEDED, exit_code=0)
    assert started(scheduler.decide(3)) == ["t3"]
    scheduler.finished("t3", 4, Outcome.SUCCEEDED, exit_code=0)
    assert started(scheduler.decide(4)) == ["t5"]
    scheduler.finished("t5", 5, Outcome.SUCCEEDED, exit_code=0)
    assert of_type(scheduler.decide(5), RunFinished)[0].skipped == 2


# --------------------------------------------------------------------------- resume


def test_a_resumed_run_never_reruns_done_tasks_and_numbers_attempts_on() -> None:
    plan = wide(2, "- [ ] 1.3 After (agent: demo) (depends: 1.1)")
    scheduler = scheduler_of(
        plan, done_before=frozenset({"1.1"}), attempts_before={"1.1": 1, "1.2": 2}
    )
    outputs = scheduler.decide(0)
    ends = finished(outputs)
    assert (ends["1.1"].status, ends["1.1"].attempt, ends["1.1"].reason) == (
        TaskState.DONE,
        1,
        "done before the resume",
    )
    # 1.3 only waited for 1.1, which is done: it starts at once beside 1.2.
    assert [(s.task, s.attempt) for s in of_type(outputs, Start)] == [("1.2", 3), ("1.3", 1)]
    scheduler.finished("1.2", 1, Outcome.FAILED, exit_code=1)
    retrying = of_type(scheduler.decide(1), TaskRetrying)
    # The budget counts this session's attempts: 1 of 4 used, so 1.2 is retried as attempt 4.
    assert [(r.task, r.attempt) for r in retrying] == [("1.2", 4)]
