"""The order ready tasks get free slots under each strategy (docs/design.md §4)."""

from __future__ import annotations

import pytest

from pmtui.config.model import Strategy
from pmtui.plan.graph import PlanGraph
from pmtui.scheduling.estimates import estimate_tasks
from pmtui.scheduling.policies import remaining_path, sort_keys, transitive_dependents
from pmtui.scheduling.scheduler import Scheduler
from pmtui.scheduling.simulator import simulate
from tests.scheduling.helpers import CONFIG, graph_of, scripted, setup_of

# Remaining paths: a1 10+60=70, a2 50, a3 5, a4 20+1=21, b1 60, b2..b4 1.
# Transitive dependents: a1 1, a4 3, every other 0.
DAG = """
## Phase 1: Start
- [ ] a1 Head of the long chain (agent: demo) (estimate: 10s)
- [ ] a2 Longest single task (agent: demo) (estimate: 50s)
- [ ] a3 Urgent and short (agent: demo) (estimate: 5s) (priority: high)
- [ ] a4 Hub (agent: demo) (estimate: 20s)

## Phase 2: Follow
- [ ] b1 Tail of the long chain (agent: demo) (estimate: 60s) (depends: a1)
- [ ] b2 Leaf (agent: demo) (estimate: 1s) (depends: a4)
- [ ] b3 Leaf (agent: demo) (estimate: 1s) (depends: a4)
- [ ] b4 Leaf (agent: demo) (estimate: 1s) (depends: a4)
"""


def start_order(text: str, strategy: Strategy) -> list[str]:
    """The order tasks start in on one slot (no boost), each taking its estimate."""
    graph = graph_of(text)
    estimates = estimate_tasks(graph.plan, CONFIG)
    setup = setup_of(graph, estimates=estimates, strategy=strategy, slots=1, boost_slots=1)
    result = simulate(Scheduler(graph, setup), scripted(durations=estimates))
    return [attempt.task for attempt in result.attempts]


@pytest.mark.parametrize(
    ("strategy", "order"),
    [
        (Strategy.CRITICAL_PATH, ["a1", "b1", "a2", "a4", "a3", "b2", "b3", "b4"]),
        (Strategy.DEPENDENCY_FIRST, ["a4", "a1", "a2", "a3", "b1", "b2", "b3", "b4"]),
        (Strategy.PRIORITY, ["a3", "a1", "a2", "a4", "b1", "b2", "b3", "b4"]),
        (Strategy.FIFO, ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4"]),
        (Strategy.COST_FIRST, ["a2", "a4", "a1", "b1", "a3", "b2", "b3", "b4"]),
    ],
)
def test_start_order_under_each_strategy(strategy: Strategy, order: list[str]) -> None:
    assert start_order(DAG, strategy) == order


def test_critical_path_is_the_default_strategy() -> None:
    assert CONFIG.pool.strategy is Strategy.CRITICAL_PATH
    assert setup_of(graph_of(DAG)).strategy is Strategy.CRITICAL_PATH


def test_critical_path_ties_go_by_priority_then_plan_order() -> None:
    text = """
    ## Phase 1: Even
    - [ ] 1.1 First written (agent: demo) (estimate: 10s)
    - [ ] 1.2 Low (agent: demo) (estimate: 10s) (priority: low)
    - [ ] 1.3 Second written (agent: demo) (estimate: 10s)
    - [ ] 1.4 High (agent: demo) (estimate: 10s) (priority: high)
    - [ ] 1.5 Longer (agent: demo) (estimate: 11s) (priority: low)
    """
    assert start_order(text, Strategy.CRITICAL_PATH) == ["1.5", "1.4", "1.1", "1.3", "1.2"]


def test_priority_ranks_critical_over_high_over_normal_over_low() -> None:
    text = """
    ## Phase 1: Mixed
    - [ ] 1.1 Low (agent: demo) (priority: low)
    - [ ] 1.2 Normal (agent: demo)
    - [ ] 1.3 High (agent: demo) (priority: high)
    - [ ] 1.4 Critical (agent: demo) (priority: critical)
    - [ ] 1.5 High again (agent: demo) (priority: high)
    """
    graph = graph_of(text)
    keys = sort_keys(graph, dict.fromkeys(graph.tasks, 1.0), Strategy.PRIORITY)
    assert sorted(graph.tasks, key=keys.__getitem__) == ["1.4", "1.3", "1.5", "1.2", "1.1"]


# --------------------------------------------------------------------------- analyses


def dag() -> tuple[PlanGraph, dict[str, float]]:
    graph = graph_of(DAG)
    return graph, estimate_tasks(graph.plan, CONFIG)


def test_remaining_path_on_a_known_dag() -> None:
    graph, estimates = dag()
    assert remaining_path(graph, estimates) == {
        "a1": 70.0,
        "a2": 50.0,
        "a3": 5.0,
        "a4": 21.0,
        "b1": 60.0,
        "b2": 1.0,
        "b3": 1.0,
        "b4": 1.0,
    }


def test_transitive_dependents_on_a_known_dag() -> None:
    graph, _ = dag()
    assert transitive_dependents(graph) == {
        "a1": 1,
        "a2": 0,
        "a3": 0,
        "a4": 3,
        "b1": 0,
        "b2": 0,
        "b3": 0,
        "b4": 0,
    }


def test_remaining_path_and_dependents_go_through_phase_barriers() -> None:
    text = """
    ## Phase 1: One
    - [ ] 1.1 A (agent: demo)
    - [ ] 1.2 B (agent: demo)
    ## Phase 2: Two
    - [ ] 2.1 C (agent: demo)
    ## Phase 3: Three [SEQUENTIAL]
    - [ ] 3.1 D (agent: demo)
    - [ ] 3.2 E (agent: demo)
    """
    graph = graph_of(text)
    estimates = {"1.1": 5.0, "1.2": 7.0, "2.1": 3.0, "3.1": 2.0, "3.2": 1.0}
    assert remaining_path(graph, estimates) == {
        "1.1": 11.0,
        "1.2": 13.0,
        "2.1": 6.0,
        "3.1": 3.0,
        "3.2": 1.0,
    }
    assert transitive_dependents(graph) == {"1.1": 3, "1.2": 3, "2.1": 2, "3.1": 1, "3.2": 0}


def test_a_done_task_adds_nothing_to_the_remaining_path() -> None:
    text = """
    ## Phase 1: One
    - [x] 1.1 Done already (agent: demo)
    - [ ] 1.2 Next (agent: demo) (depends: 1.1)
    """
    graph = graph_of(text)
    assert remaining_path(graph, {"1.1": 100.0, "1.2": 4.0}) == {"1.1": 0.0, "1.2": 4.0}


def test_what_waits_behind_a_done_task_is_not_on_the_path_of_its_dependencies() -> None:
    # In a [SEQUENTIAL] phase 1.3 waits for 1.2, which is done: 1.3 may start at once, so it
    # no longer lengthens the path of 1.1.
    text = """
    ## Phase 1: Chain [SEQUENTIAL]
    - [ ] 1.1 First (agent: demo)
    - [x] 1.2 Done already (agent: demo)
    - [ ] 1.3 Last (agent: demo)
    """
    graph = graph_of(text)
    seconds = {"1.1": 5.0, "1.2": 7.0, "1.3": 3.0}
    assert remaining_path(graph, seconds) == {"1.1": 5.0, "1.2": 0.0, "1.3": 3.0}
    assert graph.critical_path(lambda task: seconds[task.id]).tasks == ("1.1",)


def test_a_diamond_counts_each_dependent_once() -> None:
    text = """
    ## Phase 1: Diamond
    - [ ] t1 Top (agent: demo)
    - [ ] t2 Left (agent: demo) (depends: t1)
    - [ ] t3 Right (agent: demo) (depends: t1)
    - [ ] t4 Bottom (agent: demo) (depends: t2, t3)
    """
    graph = graph_of(text)
    assert transitive_dependents(graph) == {"t1": 3, "t2": 1, "t3": 1, "t4": 0}
    estimates = {"t1": 1.0, "t2": 5.0, "t3": 2.0, "t4": 1.0}
    assert remaining_path(graph, estimates)["t1"] == 7.0


@pytest.mark.parametrize("strategy", list(Strategy))
def test_every_strategy_gives_unique_keys_ending_in_plan_order(strategy: Strategy) -> None:
    graph, estimates = dag()
    keys = sort_keys(graph, estimates, strategy)
    assert set(keys) == set(graph.tasks)
    assert len(set(keys.values())) == len(keys)
    assert [key[-1] for key in keys.values()] == [float(i) for i in range(len(keys))]
