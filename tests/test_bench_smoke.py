"""The scheduling benchmarks' DAG generators make valid plans, and the benchmarks run.

bench/ is not a package: its scripts are loaded from their paths. No timing is asserted.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import networkx as nx
import pytest

from pmtui.plan.errors import Severity
from pmtui.plan.graph import PlanGraph
from pmtui.plan.model import Plan
from pmtui.plan.validate import validate_plan

BENCH = Path(__file__).resolve().parent.parent / "bench"
FAMILIES = ("layered", "stg", "trap")


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> Iterator[dict[str, ModuleType]]:
    """dag_gen, schedule_quality and schedule_speed, with sys.path and sys.modules restored."""
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    try:
        yield {name: _load(name) for name in ("dag_gen", "schedule_quality", "schedule_speed")}
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            if name in ("dag_gen", "gen_plan", "schedule_quality", "schedule_speed"):
                del sys.modules[name]


def _critical_path_s(graph: PlanGraph, estimates: dict[str, float]) -> float:
    return graph.critical_path(lambda task: estimates[task.id]).seconds


def _generate(bench: dict[str, ModuleType], family: str, n: int, seed: int) -> Plan:
    plan: Plan = bench["dag_gen"].generate(family, n, seed)
    return plan


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("n", [1, 2, 7, 60, 300])
def test_generators_make_valid_acyclic_plans(
    bench: dict[str, ModuleType], family: str, n: int
) -> None:
    for seed in (1, 2, 3):
        plan = _generate(bench, family, n, seed)
        graph, problems = validate_plan(plan, agents=None)
        errors = [problem.render() for problem in problems if problem.severity is Severity.ERROR]
        assert errors == []
        assert nx.is_directed_acyclic_graph(graph.graph)
        assert len(plan.tasks) == n
        assert len({task.id for task in plan.tasks}) == n
        assert len(plan.phases) == 1 and plan.phases[0].tasks == plan.tasks
        for task in plan.tasks:
            assert task.depends is not None  # explicit: no phase barrier
            assert task.estimate_s is not None and task.estimate_s > 0
            assert task.agent == "demo" and task.files == ()
        estimates = bench["dag_gen"].estimates_of(plan)
        assert estimates == {task.id: task.estimate_s for task in plan.tasks}


@pytest.mark.parametrize("family", FAMILIES)
def test_generators_are_deterministic_for_a_seed(bench: dict[str, ModuleType], family: str) -> None:
    assert _generate(bench, family, 120, 4) == _generate(bench, family, 120, 4)
    assert _generate(bench, family, 120, 4) != _generate(bench, family, 120, 5)


@pytest.mark.parametrize("slots", [2, 5, 8])
@pytest.mark.parametrize("n", [10, 50, 400])
def test_trap_lists_the_short_tasks_before_the_long_chains(
    bench: dict[str, ModuleType], slots: int, n: int
) -> None:
    plan: Plan = bench["dag_gen"].trap(n, 7, slots)
    graph = PlanGraph(plan)
    in_chain = [
        bool(graph.dependencies(task.id) or graph.dependents(task.id)) for task in plan.tasks
    ]
    first_chain_task = in_chain.index(True)
    assert not any(in_chain[:first_chain_task]) and all(in_chain[first_chain_task:])
    assert first_chain_task >= n * 0.7
    shorts = plan.tasks[:first_chain_task]
    assert all(task.estimate_s is not None and task.estimate_s <= 3 for task in shorts)
    # The chains are the bottleneck: the critical path is at least the work bound.
    estimates = bench["dag_gen"].estimates_of(plan)
    assert _critical_path_s(graph, estimates) >= sum(estimates.values()) / slots


def test_the_tighter_bound_is_between_the_simple_bound_and_a_real_schedule(
    bench: dict[str, ModuleType],
) -> None:
    quality = bench["schedule_quality"]
    for family in FAMILIES:
        for slots in (2, 5):
            plan = _generate(bench, family, 80, 3)
            graph = PlanGraph(plan)
            estimates = bench["dag_gen"].estimates_of(plan)
            simple = max(_critical_path_s(graph, estimates), sum(estimates.values()) / slots)
            tight = quality.tight_lower_bound(graph, estimates, slots)
            reference = quality.reference_makespan(graph, estimates, slots)
            assert simple - 1e-9 <= tight <= reference + 1e-9


def test_schedule_quality_quick_runs(
    bench: dict[str, ModuleType], capsys: pytest.CaptureFixture[str]
) -> None:
    code = bench["schedule_quality"].main(["--quick", "--sizes", "12,30", "--seeds", "1"])
    out = capsys.readouterr().out
    assert code in (0, 1)  # 1 only says the critical-path target was missed
    assert "critical-path" in out and "fifo (base)" in out and "textbook" in out
    assert "overall" in out and "target: critical-path mean" in out
    assert "12 DAGs" in out  # 3 families × 2 sizes × 2 slot counts × 1 seed


def test_schedule_speed_runs_on_a_small_plan(
    bench: dict[str, ModuleType], capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench["schedule_speed"].main(["--tasks", "150"]) == 0
    out = capsys.readouterr().out
    assert "tasks/s" in out and "topological_sort" in out and "target: not measured" in out
