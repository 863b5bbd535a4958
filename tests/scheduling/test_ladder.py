"""The fallback ladder of seed 001, one rung at a time, then what follows it (docs/design.md §4)."""

from __future__ import annotations

import itertools

import pytest

from pmtui.scheduling.decisions import (
    Outcome,
    RetryStep,
    RunFinished,
    RunStatus,
    Start,
    Stop,
    TaskRetrying,
)
from pmtui.scheduling.ladder import (
    MAX_RETRY_DELAY_S,
    FailedAttempt,
    RateLimitBackoff,
    next_step,
    rate_limit_delay,
    retry_delay,
)
from pmtui.scheduling.simulator import SimulatedAttempt, SimulationResult, simulate
from pmtui.scheduling.states import TaskState
from tests.scheduling.helpers import (
    CONFIG,
    failing,
    finished,
    of_type,
    scheduler_of,
    scripted,
    started,
    waiting,
)

ALONE = """
## Phase 1: Solo
- [ ] 1.1 Flaky (agent: demo)
"""

BESIDE = """
## Phase 1: Pair
- [ ] 1.1 Flaky (agent: demo) (retries: {retries})
- [ ] 1.2 Steady (agent: demo)
"""


def always_failing(task: str, times: int = 10, seconds: float = 10.0) -> dict:
    return {(task, nth): failing(seconds) for nth in range(1, times + 1)}


def retrying(result: SimulationResult, task: str = "1.1") -> list[TaskRetrying]:
    return [notice for notice in of_type(result.outputs, TaskRetrying) if notice.task == task]


def attempts_of(result: SimulationResult, task: str = "1.1") -> list[Start]:
    return [start for start in of_type(result.outputs, Start) if start.task == task]


def conflict(seconds: float = 5.0) -> SimulatedAttempt:
    return SimulatedAttempt(seconds, Outcome.CONFLICT, 0, "conflict on src/a.py with 2.1")


def rate_limited(seconds: float = 2.0) -> SimulatedAttempt:
    return SimulatedAttempt(seconds, Outcome.RATE_LIMITED, 1, "rate limit: 429")


# --------------------------------------------------------------------------- next_step


def failure(**changes: object) -> FailedAttempt:
    values: dict = {
        "attempts_made": 1,
        "attempts_allowed": 4,
        "ran_beside_others": False,
        "shared_files": False,
        "isolated": False,
        "can_isolate": False,
        "sequential_allowed": True,
    }
    values.update(changes)
    return FailedAttempt(**values)


def test_next_step_is_none_when_no_attempt_is_left() -> None:
    assert next_step(failure(attempts_made=4)) is None
    assert next_step(failure(attempts_made=1, attempts_allowed=1)) is None


def test_next_step_is_a_plain_retry_by_default() -> None:
    assert next_step(failure()) is RetryStep.RETRY


def test_next_step_partitions_on_shared_files_from_the_second_extra_attempt() -> None:
    second = {"attempts_made": 2, "shared_files": True}
    assert next_step(failure(**second, can_isolate=True)) is RetryStep.PARTITION
    assert next_step(failure(**second, can_isolate=False)) is RetryStep.RETRY
    assert next_step(failure(**second, can_isolate=True, isolated=True)) is RetryStep.RETRY


def test_the_first_extra_attempt_is_a_plain_retry_even_on_shared_files() -> None:
    # The ladder climbs: a failure may be passing, so it is retried as it was first.
    assert next_step(failure(shared_files=True, can_isolate=True)) is RetryStep.RETRY


def test_next_step_is_sequential_as_the_last_extra_attempt_of_a_shared_files_failure() -> None:
    shared = {"ran_beside_others": True, "shared_files": True}
    assert next_step(failure(attempts_made=3, **shared)) is RetryStep.SEQUENTIAL
    assert next_step(failure(attempts_made=1, attempts_allowed=2, **shared)) is (
        RetryStep.SEQUENTIAL
    )
    assert next_step(failure(attempts_made=2, **shared)) is RetryStep.RETRY
    assert next_step(failure(attempts_made=3, **shared, sequential_allowed=False)) is (
        RetryStep.RETRY
    )
    # A conflict of a task that never ran beside another: running alone changes nothing.
    assert next_step(failure(attempts_made=3, shared_files=True)) is RetryStep.RETRY


def test_next_step_never_makes_an_ordinary_failure_sequential() -> None:
    for made, allowed in itertools.product(range(1, 5), range(1, 6)):
        ordinary = failure(
            attempts_made=made, attempts_allowed=allowed, ran_beside_others=True, can_isolate=True
        )
        assert next_step(ordinary) is (RetryStep.RETRY if made < allowed else None)


def test_next_step_prefers_sequential_over_partition_on_the_last_extra_attempt() -> None:
    last = failure(attempts_made=3, ran_beside_others=True, shared_files=True, can_isolate=True)
    assert next_step(last) is RetryStep.SEQUENTIAL


# --------------------------------------------------------------------------- back-off arithmetic


@pytest.mark.parametrize(
    ("extra_attempt", "seconds"), [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 16.0), (6, 30.0)]
)
def test_retry_delay_doubles_from_one_second_and_is_capped_at_thirty(
    extra_attempt: int, seconds: float
) -> None:
    assert retry_delay(extra_attempt, 1.0, 0.0) == seconds


def test_retry_delay_stays_at_the_cap_for_very_many_attempts() -> None:
    assert retry_delay(10_000, 1.0, 0.0) == MAX_RETRY_DELAY_S == 30.0


@pytest.mark.parametrize("extra_attempt", [1, 2, 3, 7])
def test_retry_delay_jitter_is_twenty_percent_either_way(extra_attempt: int) -> None:
    base = retry_delay(extra_attempt, 1.0, 0.0)
    assert retry_delay(extra_attempt, 1.0, 1.0) == pytest.approx(base * 1.2)
    assert retry_delay(extra_attempt, 1.0, -1.0) == pytest.approx(base * 0.8)
    assert retry_delay(extra_attempt, 1.0, 5.0) == pytest.approx(base * 1.2)
    assert retry_delay(extra_attempt, 1.0, -5.0) == pytest.approx(base * 0.8)


def test_a_retry_delay_set_above_the_cap_is_kept_but_not_doubled() -> None:
    assert [retry_delay(n, 45.0, 0.0) for n in (1, 2, 3)] == [45.0, 45.0, 45.0]


@pytest.mark.parametrize(
    ("in_a_row", "seconds"),
    [(1, 30.0), (2, 60.0), (3, 120.0), (4, 240.0), (5, 480.0), (6, 600.0), (50, 600.0)],
)
def test_rate_limit_back_off_doubles_from_thirty_seconds_capped_at_ten_minutes(
    in_a_row: int, seconds: float
) -> None:
    assert rate_limit_delay(in_a_row) == seconds


# --------------------------------------------------------------------------- retry rung


def test_retry_waits_one_second_then_two_then_four_within_twenty_percent() -> None:
    result = simulate(scheduler_of(ALONE), scripted(always_failing("1.1")))
    notices = retrying(result)
    assert [notice.step for notice in notices] == [RetryStep.RETRY] * 3
    assert [notice.attempt for notice in notices] == [2, 3, 4]
    for notice, base in zip(notices, (1.0, 2.0, 4.0), strict=True):
        assert 0.8 * base <= notice.delay_s <= 1.2 * base
        assert notice.reason == "exit 1"
    starts = attempts_of(result)
    ends = [a.end_s for a in result.attempts]
    for notice, start, end in zip(notices, starts[1:], ends[:-1], strict=True):
        assert start.time == pytest.approx(end + notice.delay_s)


def test_the_same_seed_gives_the_same_delays_and_another_seed_others() -> None:
    def delays(seed: int) -> list[float]:
        result = simulate(scheduler_of(ALONE, seed=seed), scripted(always_failing("1.1")))
        return [notice.delay_s for notice in retrying(result)]

    assert delays(7) == delays(7)
    assert delays(7) != delays(8)


def test_the_retry_delay_is_capped_at_thirty_seconds() -> None:
    result = simulate(
        scheduler_of(ALONE, retry_delay_s=20.0, default_retries=3),
        scripted(always_failing("1.1")),
    )
    delays = [notice.delay_s for notice in retrying(result)]
    assert 16.0 <= delays[0] <= 24.0
    assert all(24.0 <= delay <= 36.0 for delay in delays[1:])


def test_a_retry_delay_above_thirty_seconds_is_kept() -> None:
    result = simulate(scheduler_of(ALONE, retry_delay_s=45.0), scripted(always_failing("1.1")))
    assert all(36.0 <= notice.delay_s <= 54.0 for notice in retrying(result))


def test_a_task_starts_at_most_one_plus_its_retries_key_times() -> None:
    text = """
    ## Phase 1: Solo
    - [ ] 1.1 Flaky (agent: demo) (retries: 1)
    """
    result = simulate(scheduler_of(text), scripted(always_failing("1.1")))
    assert [start.attempt for start in attempts_of(result)] == [1, 2]
    assert result.states["1.1"] is TaskState.FAILED
    assert finished(result.outputs)["1.1"].attempt == 2


def test_retries_zero_means_one_attempt_and_no_ladder() -> None:
    text = """
    ## Phase 1: Solo
    - [ ] 1.1 Flaky (agent: demo) (retries: 0)
    """
    result = simulate(scheduler_of(text), scripted(always_failing("1.1")))
    assert len(attempts_of(result)) == 1
    assert retrying(result) == []


def test_a_task_without_retries_key_gets_the_config_default() -> None:
    assert CONFIG.conflicts.max_retries == 3
    result = simulate(scheduler_of(ALONE), scripted(always_failing("1.1")))
    assert [start.attempt for start in attempts_of(result)] == [1, 2, 3, 4]


def test_a_task_that_succeeds_on_a_retry_ends_done() -> None:
    result = simulate(scheduler_of(ALONE), scripted({("1.1", 1): failing()}))
    assert result.states["1.1"] is TaskState.DONE
    assert finished(result.outputs)["1.1"].attempt == 2
    assert result.run.status is RunStatus.OK


# --------------------------------------------------------------------------- partition rung


def test_partition_when_the_failed_attempt_ran_beside_a_cluster_mate_on_the_same_files() -> None:
    text = """
    ## Phase 1: Investigate
    - [ ] 1.1 Look (agent: error-handler) (files: src/app.py) (retries: 3)
    - [ ] 1.2 Test (agent: qa-engineer) (files: src/app.py)
    """
    result = simulate(
        scheduler_of(text, can_isolate=True),
        scripted({("1.1", 1): failing(), ("1.1", 2): failing()}, durations={"1.2": 100.0}),
    )
    assert [notice.step for notice in retrying(result)] == [RetryStep.RETRY, RetryStep.PARTITION]
    starts = attempts_of(result)
    assert [start.isolated for start in starts] == [False, False, True]
    assert 1.6 <= retrying(result)[1].delay_s <= 2.4


def test_partition_after_a_conflict_when_a_worktree_is_possible() -> None:
    text = """
    ## Phase 1: Solo
    - [ ] 1.1 Build (agent: swebok-engineer) (retries: 2)
    """
    result = simulate(
        scheduler_of(text, can_isolate=True),
        scripted({("1.1", 1): conflict(), ("1.1", 2): conflict()}),
    )
    assert [notice.step for notice in retrying(result)] == [RetryStep.RETRY, RetryStep.PARTITION]
    assert retrying(result)[1].reason == "conflict on src/a.py with 2.1"
    assert [start.isolated for start in attempts_of(result)] == [False, False, True]
    assert result.states["1.1"] is TaskState.DONE


def test_no_partition_without_a_worktree() -> None:
    text = """
    ## Phase 1: Solo
    - [ ] 1.1 Build (agent: swebok-engineer) (retries: 2)
    """
    result = simulate(scheduler_of(text, can_isolate=False), scripted({("1.1", 1): conflict()}))
    assert [notice.step for notice in retrying(result)] == [RetryStep.RETRY]
    assert [start.isolated for start in attempts_of(result)] == [False, False]


def test_no_partition_when_the_failed_attempt_shared_no_files() -> None:
    text = """
    ## Phase 1: Pair
    - [ ] 1.1 Look (agent: error-handler) (files: src/a.py) (retries: 2)
    - [ ] 1.2 Test (agent: qa-engineer) (files: src/b.py)
    """
    result = simulate(scheduler_of(text, can_isolate=True), scripted({("1.1", 1): failing()}))
    assert [notice.step for notice in retrying(result)] == [RetryStep.RETRY]


def test_an_already_isolated_task_is_not_partitioned_again() -> None:
    text = """
    ## Phase 1: Solo
    - [ ] 1.1 Build (agent: swebok-engineer) (retries: 2)
    """
    scheduler = scheduler_of(text, can_isolate=True, isolated=frozenset({"1.1"}))
    result = simulate(scheduler, scripted({("1.1", 1): conflict()}))
    assert [notice.step for notice in retrying(result)] == [RetryStep.RETRY]


# --------------------------------------------------------------------------- sequential rung


def test_an_ordinary_failure_beside_others_is_retried_and_never_run_alone() -> None:
    result = simulate(scheduler_of(BESIDE.format(retries=3)), scripted(always_failing("1.1")))
    assert [notice.step for notice in retrying(result)] == [RetryStep.RETRY] * 3
    assert not any(start.alone for start in attempts_of(result))
    assert result.states["1.1"] is TaskState.FAILED


SHARED = """
## Phase 1: Investigate
- [ ] 1.1 Look (agent: error-handler) (files: src/app.py) (retries: {retries})
- [ ] 1.2 Test (agent: qa-engineer) (files: src/app.py)
"""
"""Cluster mates: they run together on the same file, so a failure involved shared files."""


def test_a_shared_files_failure_runs_its_last_extra_attempt_alone() -> None:
    result = simulate(
        scheduler_of(SHARED.format(retries=3)),
        scripted(always_failing("1.1"), durations={"1.2": 100.0}),
    )
    steps = [notice.step for notice in retrying(result)]
    assert steps == [RetryStep.RETRY, RetryStep.RETRY, RetryStep.SEQUENTIAL]
    assert retrying(result)[-1].delay_s == 0.0
    starts = attempts_of(result)
    assert [start.alone for start in starts] == [False, False, False, True]
    assert starts[-1].time == 100.0  # once 1.2, which shared the file, ended


def test_a_conflict_beside_others_runs_its_only_extra_attempt_alone() -> None:
    model = scripted({("1.1", 1): conflict()}, durations={"1.2": 20.0})
    result = simulate(scheduler_of(BESIDE.format(retries=1)), model)
    assert [notice.step for notice in retrying(result)] == [RetryStep.SEQUENTIAL]
    assert [(start.time, start.alone) for start in attempts_of(result)] == [(0, False), (20, True)]


def test_the_sequential_rung_drains_the_pool_runs_alone_then_resumes() -> None:
    text = """
    ## Phase 1: Busy
    - [ ] 1.1 Flaky (agent: demo) (retries: 1)
    - [ ] 1.2 Long (agent: demo)
    - [ ] 1.3 Queued (agent: demo)
    - [ ] 1.4 Queued too (agent: demo)
    """
    scheduler = scheduler_of(text, slots=2, boost_slots=2)
    model = scripted({("1.1", 1): conflict(5)}, durations={"1.2": 30})
    result = simulate(scheduler, model)
    alone = next(a for a in result.attempts if a.alone)
    assert (alone.task, alone.start_s, alone.end_s) == ("1.1", 30, 40)
    # Nothing new started between the failure (5 s) and the lone attempt, though a slot was free.
    assert [a.task for a in result.attempts if 5 <= a.start_s < 30] == []
    for other in result.attempts:
        if other is not alone:
            assert other.end_s <= alone.start_s or other.start_s >= alone.end_s
    assert sorted(a.start_s for a in result.attempts if a.task in ("1.3", "1.4")) == [40, 40]
    reasons = {wait.task: wait.reason for wait in result.waits}
    assert reasons["1.1"] == "sequential: runs alone once the 1 running task ends"
    assert reasons["1.3"] == "sequential: 1.1 runs alone first"


def test_no_sequential_rung_when_the_task_always_ran_alone() -> None:
    result = simulate(scheduler_of(ALONE), scripted(always_failing("1.1")))
    assert RetryStep.SEQUENTIAL not in {notice.step for notice in retrying(result)}
    assert not any(start.alone for start in attempts_of(result))


def test_abort_fallback_mode_has_no_sequential_rung_and_aborts_the_run_on_final_failure() -> None:
    text = """
    ## Phase 1: Pair
    - [ ] 1.1 Flaky (agent: demo) (retries: 1)
    - [ ] 1.2 Long (agent: demo)
    """
    scheduler = scheduler_of(text, abort_on_failure=True)
    result = simulate(scheduler, scripted(always_failing("1.1", seconds=5), durations={"1.2": 60}))
    assert [notice.step for notice in retrying(result)] == [RetryStep.RETRY]
    assert result.run.status is RunStatus.ABORTED
    assert result.run.status.exit_code == 130
    assert "1.1" in result.run.reason
    assert result.states == {"1.1": TaskState.FAILED, "1.2": TaskState.CANCELLED}
    assert Stop in {type(output) for output in result.outputs}
    assert result.run.time < 60


def test_a_failed_critical_task_triggers_an_emergency_abort() -> None:
    text = """
    ## Phase 1: Release
    - [ ] 1.1 Cut the release (agent: demo) (priority: critical) (retries: 0)
    - [ ] 1.2 Long (agent: demo)
    ## Phase 2: After
    - [ ] 2.1 Announce (agent: demo)
    """
    result = simulate(
        scheduler_of(text), scripted(always_failing("1.1", seconds=5), durations={"1.2": 60})
    )
    assert result.run.status is RunStatus.ABORTED
    assert "critical" in result.run.reason
    assert "1.1" in result.run.reason
    assert result.states["1.1"] is TaskState.FAILED
    assert result.states["1.2"] is TaskState.CANCELLED
    stops = [stop for stop in of_type(result.outputs, Stop) if stop.task == "1.2"]
    assert len(stops) == 1
    assert result.run.time == 5


def test_a_critical_task_that_recovers_on_a_retry_does_not_abort() -> None:
    text = """
    ## Phase 1: Release
    - [ ] 1.1 Cut the release (agent: demo) (priority: critical)
    """
    result = simulate(scheduler_of(text), scripted({("1.1", 1): failing()}))
    assert result.run.status is RunStatus.OK


def test_a_conflict_with_no_attempt_left_ends_in_conflict_and_exit_three() -> None:
    text = """
    ## Phase 1: Solo
    - [ ] 1.1 Build (agent: swebok-engineer) (retries: 0)
    - [ ] 1.2 Docs (agent: product-manager)
    """
    result = simulate(scheduler_of(text), scripted({("1.1", 1): conflict()}))
    assert result.states == {"1.1": TaskState.CONFLICT, "1.2": TaskState.DONE}
    assert finished(result.outputs)["1.1"].reason == "conflict on src/a.py with 2.1"
    assert result.run.status is RunStatus.CONFLICT
    assert result.run.status.exit_code == 3
    assert result.run.conflicts == 1


def test_dependents_of_a_conflict_are_skipped_naming_it() -> None:
    text = """
    ## Phase 1: Solo
    - [ ] 1.1 Build (agent: swebok-engineer) (retries: 0)
    ## Phase 2: After
    - [ ] 2.1 Test (agent: qa-engineer)
    """
    result = simulate(scheduler_of(text), scripted({("1.1", 1): conflict()}))
    assert finished(result.outputs)["2.1"].reason == "dependency 1.1 ended in conflict"


# --------------------------------------------------------------------------- after the ladder

AFTER = """
## Phase 1: Start
- [ ] 1.1 Breaks (agent: demo) (retries: 0)
- [ ] 1.2 Long (agent: demo)
- [ ] 1.3 Queued (agent: demo)
## Phase 2: Follow
- [ ] 2.1 After breaks (agent: demo) (depends: 1.1)
- [ ] 2.2 After long (agent: demo) (depends: 1.2)
- [ ] 2.3 After after (agent: demo) (depends: 2.1)
"""


def test_fail_fast_stops_starting_lets_running_ones_finish_and_skips_the_rest() -> None:
    scheduler = scheduler_of(AFTER, fail_fast=True, slots=2, boost_slots=2)
    result = simulate(scheduler, scripted({("1.1", 1): failing(5)}, durations={"1.2": 30}))
    assert [a.task for a in result.attempts] == ["1.1", "1.2"]
    assert result.states == {
        "1.1": TaskState.FAILED,
        "1.2": TaskState.DONE,
        "1.3": TaskState.SKIPPED,
        "2.1": TaskState.SKIPPED,
        "2.2": TaskState.SKIPPED,
        "2.3": TaskState.SKIPPED,
    }
    ends = finished(result.outputs)
    assert ends["1.3"].reason.startswith("fail-fast")
    assert ends["2.2"].reason.startswith("fail-fast")
    assert "1.1" in ends["1.3"].reason
    assert ends["2.1"].reason == "dependency 1.1 failed"
    assert result.run.status is RunStatus.FAILED
    assert result.run.status.exit_code == 1
    assert result.run.time == 30


def test_fail_fast_ends_a_task_still_in_its_back_off_as_failed() -> None:
    text = """
    ## Phase 1: Start
    - [ ] 1.1 Breaks (agent: demo) (retries: 0)
    - [ ] 1.2 Flaky (agent: demo) (retries: 2)
    """
    scheduler = scheduler_of(text, fail_fast=True)
    scheduler.decide(0)
    scheduler.finished("1.2", 1, Outcome.FAILED, exit_code=1)  # back-off until about 2 s
    scheduler.finished("1.1", 1, Outcome.FAILED, exit_code=1)  # first final failure
    outputs = scheduler.decide(1)
    assert finished(outputs)["1.2"].status is TaskState.FAILED
    assert finished(outputs)["1.2"].reason == "exit 1"
    assert of_type(outputs, RunFinished)[0].status is RunStatus.FAILED


def test_keep_going_runs_independent_branches_and_skips_dependents() -> None:
    scheduler = scheduler_of(AFTER, slots=2, boost_slots=2)
    result = simulate(scheduler, scripted({("1.1", 1): failing(5)}, durations={"1.2": 30}))
    assert result.states == {
        "1.1": TaskState.FAILED,
        "1.2": TaskState.DONE,
        "1.3": TaskState.DONE,
        "2.1": TaskState.SKIPPED,
        "2.2": TaskState.DONE,
        "2.3": TaskState.SKIPPED,
    }
    ends = finished(result.outputs)
    assert ends["2.1"].reason == "dependency 1.1 failed"
    assert ends["2.3"].reason == "dependency 2.1 skipped"
    assert result.run.status is RunStatus.FAILED
    assert (result.run.done, result.run.failed, result.run.skipped) == (3, 1, 2)


def test_a_barrier_dependent_of_a_failed_task_is_skipped_naming_it() -> None:
    text = """
    ## Phase 1: Start
    - [ ] 1.1 Breaks (agent: demo) (retries: 0)
    - [ ] 1.2 Fine (agent: demo)
    ## Phase 2: Follow
    - [ ] 2.1 Waits for the whole phase (agent: demo)
    """
    result = simulate(scheduler_of(text), scripted({("1.1", 1): failing()}))
    assert finished(result.outputs)["2.1"].reason == "dependency 1.1 failed"


# --------------------------------------------------------------------------- rate limits

RATE = """
## Phase 1: Ask
- [ ] 1.1 Ask (agent: product-manager) (retries: 0)
- [ ] 1.2 Prepare (agent: babok-agent)
## Phase 2: Follow
- [ ] 2.1 Ask again (agent: product-manager) (depends: 1.2)
- [ ] 2.2 Research (agent: ux-researcher) (depends: 1.2)
"""


def test_a_rate_limited_attempt_is_requeued_without_counting() -> None:
    model = scripted({("1.1", 1): rate_limited(), ("1.1", 2): rate_limited()})
    result = simulate(scheduler_of(RATE), model)
    assert [start.attempt for start in attempts_of(result)] == [1, 1, 1]
    assert retrying(result) == []
    assert result.states["1.1"] is TaskState.DONE
    assert finished(result.outputs)["1.1"].attempt == 1


def test_a_rate_limited_provider_backs_off_thirty_then_sixty_seconds() -> None:
    model = scripted({("1.1", 1): rate_limited(), ("1.1", 2): rate_limited()})
    result = simulate(scheduler_of(RATE), model)
    starts = [start.time for start in attempts_of(result)]
    assert starts == [0, 32, 94]
    reasons = [wait.reason for wait in result.waits if wait.task == "1.1"]
    # An agent with no `provider` is a provider of its own.
    assert reasons == [
        "rate limited (product-manager): back off 30s",
        "rate limited (product-manager): back off 1m",
    ]


def test_no_task_of_a_backing_off_agent_starts_but_other_agents_do() -> None:
    model = scripted({("1.1", 1): rate_limited(2)}, durations={"1.2": 5})
    result = simulate(scheduler_of(RATE), model)
    by_task = {a.task: a.start_s for a in result.attempts if a.attempt == 1}
    assert by_task["2.2"] == 5  # another agent starts at once
    assert by_task["2.1"] >= 32  # the same agent waits out the back-off
    product_manager = [a.start_s for a in result.attempts if a.agent == "product-manager"]
    assert not any(2 < start < 32 for start in product_manager)
    # Held at 5 s, 27 s before the back-off ends.
    assert waiting(result.outputs)["2.1"] == "rate limited (product-manager): back off 27s"


def test_a_success_resets_the_rate_limit_back_off() -> None:
    text = """
    ## Phase 1: Ask
    - [ ] 1.1 Ask (agent: product-manager)
    ## Phase 2: Again
    - [ ] 2.1 Ask again (agent: product-manager)
    """
    model = scripted({("1.1", 1): rate_limited(2), ("2.1", 1): rate_limited(2)})
    result = simulate(scheduler_of(text), model)
    reasons = [wait.reason for wait in result.waits]
    assert reasons == [
        "rate limited (product-manager): back off 30s",
        "rate limited (product-manager): back off 30s",
    ]


def test_a_rate_limit_holds_every_agent_of_the_provider_and_no_other() -> None:
    text = """
    ## Phase 1: Ask
    - [ ] 1.1 Ask (agent: product-manager) (retries: 0)
    - [ ] 1.2 Prepare (agent: babok-agent)
    ## Phase 2: Follow
    - [ ] 2.1 Research (agent: ux-researcher) (depends: 1.2)
    - [ ] 2.2 Review (agent: qa-engineer) (depends: 1.2)
    """
    providers = {"1.1": "anthropic", "1.2": "google", "2.1": "anthropic", "2.2": "openai"}
    model = scripted({("1.1", 1): rate_limited(2)}, durations={"1.2": 5})
    result = simulate(scheduler_of(text, providers=providers), model)
    starts = {(a.task, a.attempt): a.start_s for a in result.attempts}
    assert starts[("2.2", 1)] == 5  # openai: starts as soon as it is ready
    assert starts[("2.1", 1)] == 32  # another agent of anthropic: waits out the back-off
    # Requeued without counting: the attempt after the back-off is attempt 1 again.
    assert [(a.start_s, a.attempt) for a in result.attempts if a.task == "1.1"] == [(0, 1), (32, 1)]
    assert waiting(result.outputs)["2.1"] == "rate limited (anthropic): back off 27s"
    assert result.states["1.1"] is TaskState.DONE


RESET = """
## Phase 1: Ask
- [ ] 1.1 Ask (agent: product-manager)
- [ ] 1.2 Prepare (agent: babok-agent)
## Phase 2: Follow
- [ ] 2.1 Research (agent: ux-researcher) (depends: 1.2)
- [ ] 2.2 Review (agent: qa-engineer) (depends: 1.2)
"""
RESET_PROVIDERS = {"1.1": "anthropic", "1.2": "google", "2.1": "anthropic", "2.2": "openai"}


@pytest.mark.parametrize(
    ("resume_at", "at_two", "at_five"),
    [(12.0, "10s", "7s"), (900.0, "14m58s", "14m55s")],
    ids=["sooner-than-30s", "past-the-10-min-cap"],
)
def test_a_reported_reset_time_replaces_the_default_back_off(
    resume_at: float, at_two: str, at_five: str
) -> None:
    scheduler = scheduler_of(RESET, providers=RESET_PROVIDERS)
    assert sorted(started(scheduler.decide(0))) == ["1.1", "1.2"]
    scheduler.finished("1.1", 2, Outcome.RATE_LIMITED, exit_code=1, resume_at=resume_at)
    assert waiting(scheduler.decide(2)) == {"1.1": f"rate limited (anthropic): back off {at_two}"}
    assert scheduler.attempts("1.1") == 0  # requeued without counting
    assert scheduler.rate_limit("1.1") == RateLimitBackoff("anthropic", resume_at, reported=True)
    assert scheduler.rate_limit("2.1") == scheduler.rate_limit("1.1")
    assert scheduler.rate_limit("2.2") is None
    scheduler.finished("1.2", 5, Outcome.SUCCEEDED)
    outputs = scheduler.decide(5)
    assert started(outputs) == ["2.2"]
    assert waiting(outputs) == {"2.1": f"rate limited (anthropic): back off {at_five}"}
    assert scheduler.next_wakeup() == resume_at
    assert started(scheduler.decide(resume_at - 0.5)) == []
    outputs = scheduler.decide(resume_at)
    assert sorted(started(outputs)) == ["1.1", "2.1"]
    assert [s.attempt for s in of_type(outputs, Start) if s.task == "1.1"] == [1]
    assert scheduler.rate_limits == {}


def test_a_later_reset_extends_the_back_off_and_tells_the_tasks_held_by_it() -> None:
    scheduler = scheduler_of(RESET, providers={**RESET_PROVIDERS, "1.2": "anthropic"})
    scheduler.decide(0)
    scheduler.finished("1.1", 2, Outcome.RATE_LIMITED, exit_code=1)  # 30 s: until 32 s
    scheduler.decide(2)
    scheduler.finished("1.2", 4, Outcome.RATE_LIMITED, exit_code=1, resume_at=100)
    assert waiting(scheduler.decide(4)) == {
        "1.1": "rate limited (anthropic): back off 1m36s",
        "1.2": "rate limited (anthropic): back off 1m36s",
    }
    assert scheduler.next_wakeup() == 100
    assert started(scheduler.decide(32)) == []
    assert sorted(started(scheduler.decide(100))) == ["1.1", "1.2"]


def test_an_earlier_reset_does_not_shorten_the_back_off() -> None:
    scheduler = scheduler_of(RESET, providers={**RESET_PROVIDERS, "1.2": "anthropic"})
    scheduler.decide(0)
    scheduler.finished("1.1", 2, Outcome.RATE_LIMITED, exit_code=1, resume_at=100)
    scheduler.decide(2)
    scheduler.finished("1.2", 4, Outcome.RATE_LIMITED, exit_code=1, resume_at=50)
    assert waiting(scheduler.decide(4)) == {"1.2": "rate limited (anthropic): back off 1m36s"}
    assert scheduler.rate_limit("1.2") == RateLimitBackoff("anthropic", 100, reported=True)
    assert started(scheduler.decide(50)) == []
    assert sorted(started(scheduler.decide(100))) == ["1.1", "1.2"]


def test_a_reset_time_already_past_falls_back_to_the_default_back_off() -> None:
    scheduler = scheduler_of(RESET, providers=RESET_PROVIDERS)
    scheduler.decide(0)
    scheduler.finished("1.1", 2, Outcome.RATE_LIMITED, exit_code=1, resume_at=1)
    scheduler.decide(2)
    assert scheduler.rate_limit("1.1") == RateLimitBackoff("anthropic", 32, reported=False)


def test_the_run_does_not_end_while_a_task_only_waits_for_a_reset() -> None:
    scheduler = scheduler_of(ALONE)
    scheduler.decide(0)
    scheduler.finished("1.1", 1, Outcome.RATE_LIMITED, exit_code=1, resume_at=1800)
    for now in (1, 600, 1799):
        outputs = scheduler.decide(now)
        assert of_type(outputs, RunFinished) == []
        assert started(outputs) == []
        assert not scheduler.finished_run
        assert scheduler.state("1.1") is TaskState.WAITING
        assert scheduler.next_wakeup() == 1800  # what the engine sleeps until
    assert [s.attempt for s in of_type(scheduler.decide(1800), Start)] == [1]
    scheduler.finished("1.1", 1810, Outcome.SUCCEEDED, exit_code=0)
    assert of_type(scheduler.decide(1810), RunFinished)[0].status is RunStatus.OK


def test_a_success_of_another_agent_of_the_provider_resets_its_streak() -> None:
    scheduler = scheduler_of(RESET, providers={**RESET_PROVIDERS, "1.2": "anthropic"})
    scheduler.decide(0)
    scheduler.finished("1.1", 2, Outcome.RATE_LIMITED, exit_code=1)  # 1st in a row: 30 s
    scheduler.decide(2)
    scheduler.finished("1.2", 5, Outcome.SUCCEEDED)  # the same provider got through
    scheduler.decide(5)
    scheduler.decide(32)  # 1.1 and 2.1 start
    scheduler.finished("2.1", 40, Outcome.RATE_LIMITED, exit_code=1)
    scheduler.decide(40)
    assert scheduler.rate_limit("2.1") == RateLimitBackoff("anthropic", 70, reported=False)


def test_rate_limit_wakeup_is_announced_by_next_wakeup() -> None:
    scheduler = scheduler_of(RATE)
    scheduler.decide(0)
    scheduler.finished("1.1", 2, Outcome.RATE_LIMITED, exit_code=1)
    scheduler.decide(2)
    assert scheduler.next_wakeup() == 32
    assert scheduler.attempts("1.1") == 0


def test_the_sequential_rung_waits_out_its_agents_rate_limit_back_off() -> None:
    scheduler = scheduler_of(
        """
        ## Phase 1: Ask
        - [ ] 1.1 Ask (agent: product-manager) (retries: 1)
        - [ ] 1.2 Ask too (agent: product-manager)
        """
    )
    scheduler.decide(0)
    scheduler.finished("1.2", 2, Outcome.RATE_LIMITED, exit_code=1)  # backs off until 32 s
    scheduler.decide(2)
    scheduler.finished("1.1", 5, Outcome.CONFLICT, exit_code=0)  # next rung: sequential
    assert started(scheduler.decide(5)) == []
    assert scheduler.reason("1.1") == "rate limited (product-manager): back off 27s"
    outputs = scheduler.decide(32)
    assert [(start.task, start.alone) for start in of_type(outputs, Start)] == [("1.1", True)]


# --------------------------------------------------------------------------- notices


def test_every_rung_is_announced_as_a_task_retrying_notice() -> None:
    text = """
    ## Phase 1: Investigate
    - [ ] 1.1 Look (agent: error-handler) (files: src/app.py) (retries: 3)
    - [ ] 1.2 Test (agent: qa-engineer) (files: src/app.py)
    """
    result = simulate(
        scheduler_of(text, can_isolate=True),
        scripted(always_failing("1.1"), durations={"1.2": 100.0}),
    )
    notices = retrying(result)
    assert [(n.attempt, n.step) for n in notices] == [
        (2, RetryStep.RETRY),
        (3, RetryStep.PARTITION),
        (4, RetryStep.SEQUENTIAL),
    ]
    assert {str(n.step) for n in notices} == {"retry", "partition", "sequential"}
    assert result.run == of_type(result.outputs, RunFinished)[-1]


def test_retrying_notices_come_before_the_next_start() -> None:
    result = simulate(scheduler_of(ALONE), scripted({("1.1", 1): failing()}))
    kinds = [type(o).__name__ for o in result.outputs if getattr(o, "task", "1.1") == "1.1"]
    assert kinds == ["Start", "TaskRetrying", "Start", "TaskFinished", "RunFinished"]


def test_a_final_failure_asks_to_stop_nothing() -> None:
    text = """
    ## Phase 1: Solo
    - [ ] 1.1 Breaks (agent: demo) (retries: 0)
    """
    scheduler = scheduler_of(text)
    scheduler.decide(0)
    scheduler.finished("1.1", 5, Outcome.FAILED, exit_code=1)
    assert of_type(scheduler.decide(5), Stop) == []


def test_attempt_intervals_of_one_task_never_overlap() -> None:
    result = simulate(scheduler_of(BESIDE.format(retries=3)), scripted(always_failing("1.1")))
    spans = [(a.start_s, a.end_s) for a in result.attempts if a.task == "1.1"]
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end
