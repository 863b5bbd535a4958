"""The discrete-event simulator and the dry-run forecast built on it."""

from __future__ import annotations

import pytest

from pmtui.scheduling.decisions import Outcome, RunStatus
from pmtui.scheduling.forecast import forecast
from pmtui.scheduling.scheduler import Scheduler
from pmtui.scheduling.simulator import SimulatedAttempt, SimulationError, simulate
from pmtui.scheduling.states import TaskState
from tests.scheduling.helpers import failing, graph_of, scheduler_of, scripted, setup_of

CHAIN = """
## Phase 1: Chain [SEQUENTIAL]
- [ ] 1.1 First (agent: demo)
- [ ] 1.2 Second (agent: demo)
- [ ] 1.3 Third (agent: demo)
"""

WIDE = """
## Phase 1: Wide
- [ ] 1.1 A (agent: demo)
- [ ] 1.2 B (agent: demo)
- [ ] 1.3 C (agent: demo)
- [ ] 1.4 D (agent: demo)
- [ ] 1.5 E (agent: demo)
"""


def test_a_run_left_paused_stalls_and_the_simulator_says_so() -> None:
    stalled = r"stalled at 10s with 2 open tasks: \['1.2', '1.3'\]"
    with pytest.raises(SimulationError, match=stalled):
        simulate(scheduler_of(CHAIN), scripted(), commands=[(5.0, lambda s, now: s.pause(now))])


def test_a_pause_then_resume_delays_the_run_by_the_pause() -> None:
    commands = [(5.0, lambda s, now: s.pause(now)), (17.0, lambda s, now: s.resume(now))]
    result = simulate(scheduler_of(CHAIN), scripted(), commands=commands)
    assert [a.start_s for a in result.attempts] == [0.0, 17.0, 27.0]
    assert result.makespan_s == 37.0
    assert [(w.task, w.kind, w.seconds) for w in result.waits] == [("1.2", "paused", 7.0)]


def test_a_command_at_time_zero_applies_before_the_first_starts() -> None:
    result = simulate(
        scheduler_of(CHAIN),
        scripted(),
        commands=[(0.0, lambda s, now: s.pause(now)), (7.0, lambda s, now: s.resume(now))],
    )
    assert result.attempts[0].start_s == 7.0


def test_the_step_guard_stops_a_simulation_that_would_not_end() -> None:
    with pytest.raises(SimulationError, match="no end after 2 steps"):
        simulate(scheduler_of(CHAIN), scripted(), max_steps=2)


def test_a_chain_runs_one_task_after_another() -> None:
    result = simulate(scheduler_of(CHAIN), scripted(durations={"1.1": 1, "1.2": 2, "1.3": 3}))
    assert [(a.task, a.start_s, a.end_s) for a in result.attempts] == [
        ("1.1", 0, 1),
        ("1.2", 1, 3),
        ("1.3", 3, 6),
    ]
    assert result.states == dict.fromkeys(("1.1", "1.2", "1.3"), TaskState.DONE)
    assert result.run.status is RunStatus.OK


def test_the_model_is_told_how_many_times_the_task_started() -> None:
    seen: list[tuple[str, int, int]] = []

    def model(start, nth: int) -> SimulatedAttempt:  # type: ignore[no-untyped-def]
        seen.append((start.task, start.attempt, nth))
        if start.task == "1.1" and nth == 1:
            return SimulatedAttempt(1, Outcome.RATE_LIMITED, 1, "429")
        return SimulatedAttempt(1)

    simulate(scheduler_of("## Phase 1: A\n- [ ] 1.1 A (agent: demo)\n"), model)
    assert seen == [("1.1", 1, 1), ("1.1", 1, 2)]


def test_a_stopped_attempt_has_no_outcome() -> None:
    result = simulate(
        scheduler_of(WIDE), scripted(), commands=[(4.0, lambda s, now: s.skip("1.3", now))]
    )
    stopped = next(a for a in result.attempts if a.task == "1.3")
    assert (stopped.outcome, stopped.end_s) == (None, 4.0)
    assert result.states["1.3"] is TaskState.SKIPPED


def test_the_same_inputs_give_the_same_simulation() -> None:
    def run() -> tuple:
        model = scripted({("1.2", 1): failing(3), ("1.2", 2): failing(3)})
        result = simulate(scheduler_of(WIDE, seed=3), model)
        return result.outputs, result.attempts

    assert run() == run()


def test_waits_record_how_long_a_task_was_held_back() -> None:
    text = """
    ## Phase 1: Same file
    - [ ] 1.1 One (agent: product-manager) (files: src/a.py)
    - [ ] 1.2 Two (agent: security-agent) (files: src/a.py)
    """
    result = simulate(scheduler_of(text), scripted(durations={"1.1": 6}))
    (wait,) = result.waits
    assert (wait.task, wait.kind, wait.start_s, wait.end_s) == ("1.2", "file lock", 0, 6)


# --------------------------------------------------------------------------- forecast


def test_forecast_of_a_chain_is_the_sum_of_its_estimates() -> None:
    graph = graph_of(CHAIN)
    estimates = {"1.1": 5.0, "1.2": 7.0, "1.3": 11.0}
    result = forecast(graph, setup_of(graph, estimates=estimates))
    assert result.makespan_s == 23.0
    assert result.sequential_s == 23.0
    assert result.critical_path.tasks == ("1.1", "1.2", "1.3")
    assert result.critical_path.seconds == 23.0
    assert result.lower_bound_s == 23.0
    assert result.speedup == 1.0


def test_forecast_of_a_wide_plan_on_enough_slots_is_the_longest_task() -> None:
    graph = graph_of(WIDE)
    estimates = {"1.1": 4.0, "1.2": 8.0, "1.3": 2.0, "1.4": 6.0, "1.5": 10.0}
    result = forecast(graph, setup_of(graph, estimates=estimates))
    assert result.makespan_s == 10.0
    assert result.sequential_s == 30.0
    assert result.lower_bound_s == 10.0
    assert result.speedup == 3.0
    assert (result.slots, result.boost_slots) == (5, 8)


def test_lower_bound_is_total_work_over_slots_when_that_is_longer() -> None:
    graph = graph_of(WIDE)
    setup = setup_of(graph, estimates=dict.fromkeys(graph.tasks, 10.0), slots=2)
    result = forecast(graph, setup)
    assert result.lower_bound_s == 25.0  # 50 s of work on 2 slots; the longest task is 10 s
    assert result.makespan_s == 30.0
    assert result.makespan_s >= result.lower_bound_s
    assert result.speedup == pytest.approx(50.0 / 30.0)


def test_forecast_leaves_done_tasks_out_of_the_work() -> None:
    text = """
    ## Phase 1: Partly done [SEQUENTIAL]
    - [x] 1.1 Done (agent: demo)
    - [ ] 1.2 Left (agent: demo)
    """
    graph = graph_of(text)
    result = forecast(graph, setup_of(graph, estimates={"1.1": 100.0, "1.2": 4.0}))
    assert (result.sequential_s, result.makespan_s, result.lower_bound_s) == (4.0, 4.0, 4.0)


def test_forecast_of_a_plan_with_nothing_left_has_speedup_one() -> None:
    graph = graph_of("## Phase 1: Done\n- [x] 1.1 A (agent: demo)\n")
    result = forecast(graph, setup_of(graph))
    assert result.makespan_s == 0.0
    assert result.speedup == 1.0


def test_forecast_uses_the_same_scheduler_as_a_run() -> None:
    graph = graph_of(WIDE)
    setup = setup_of(graph, slots=2)
    predicted = forecast(graph, setup).simulation
    actual = simulate(Scheduler(graph, setup), scripted(durations=setup.estimates))
    assert predicted.outputs == actual.outputs
