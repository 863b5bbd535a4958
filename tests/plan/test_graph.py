"""Stages, barriers, waves and the critical path of docs/design.md §2 (`PlanGraph`)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import networkx as nx
import pytest

from pmtui.plan.graph import EdgeKind, PlanGraph, is_barrier, stages_of
from pmtui.plan.model import Task
from pmtui.plan.parser import parse_plan

DESIGN_EXAMPLE = (Path(__file__).resolve().parent.parent / "data" / "design_example.md").read_text(
    encoding="utf-8"
)


def graph_of(text: str) -> PlanGraph:
    plan, problems = parse_plan(textwrap.dedent(text))
    assert problems == []
    return PlanGraph(plan)


def by_estimate(task: Task) -> float:
    assert task.estimate_s is not None
    return task.estimate_s


# --- The design example -------------------------------------------------------------------


def test_design_example_stages() -> None:
    graph = graph_of(DESIGN_EXAMPLE)

    assert graph.stages == [[0], [1, 2], [3]]


def test_design_example_waits() -> None:
    graph = graph_of(DESIGN_EXAMPLE)

    assert graph.dependencies("1.1") == []
    assert graph.dependencies("1.2") == []
    assert graph.dependencies("2.1") == ["1.1"]
    assert graph.dependencies("2.2") == ["1.1", "1.2"]
    assert graph.dependencies("2.3") == ["2.1"]
    assert graph.dependencies("3.1") == ["1.1", "1.2"]
    assert graph.dependencies("4.1") == ["2.1", "2.2", "2.3", "3.1"]
    assert graph.dependencies("4.2") == ["4.1"]


def test_design_example_waves_skip_the_done_task() -> None:
    graph = graph_of(DESIGN_EXAMPLE)

    assert graph.waves() == [["1.1", "1.2"], ["2.1", "3.1"], ["2.3"], ["4.1"], ["4.2"]]
    assert graph.width() == 2


# --- Stages and barriers --------------------------------------------------------------------


def test_each_plain_phase_starts_a_stage() -> None:
    graph = graph_of("## A\n- [ ] a\n## B\n- [ ] b\n## C\n- [ ] c\n")

    assert graph.stages == [[0], [1], [2]]


def test_phase_waits_for_every_task_of_the_previous_stage() -> None:
    graph = graph_of("## A\n- [ ] ant\n- [ ] ape\n## B\n- [ ] bat\n- [ ] bee\n")

    assert graph.dependencies("2.1") == ["1.1", "1.2"]
    assert graph.dependencies("2.2") == ["1.1", "1.2"]


def test_tasks_of_one_plain_phase_do_not_wait_for_each_other() -> None:
    graph = graph_of("## A\n- [ ] ant\n- [ ] ape\n- [ ] asp\n")

    assert [graph.dependencies(task) for task in ("1.1", "1.2", "1.3")] == [[], [], []]
    assert graph.waves() == [["1.1", "1.2", "1.3"]]


def test_barrier_waits_only_for_the_previous_stage_not_earlier_ones() -> None:
    graph = graph_of("## A\n- [ ] a\n## B\n- [ ] b\n## C\n- [ ] c\n")

    assert graph.dependencies("3.1") == ["2.1"]


def test_phase_barrier_is_replaced_by_explicit_depends() -> None:
    graph = graph_of("## A\n- [ ] ant\n- [ ] ape\n## B\n- [ ] b (depends: 1.2)\n")

    assert graph.dependencies("2.1") == ["1.2"]


def test_depends_none_starts_at_once_despite_the_barrier() -> None:
    graph = graph_of("## A\n- [ ] a\n## B\n- [ ] b (depends: none)\n")

    assert graph.dependencies("2.1") == []
    assert graph.waves() == [["1.1", "2.1"]]


def test_explicit_depends_may_point_forward_or_skip_stages() -> None:
    graph = graph_of("## A\n- [ ] a (depends: 3.1)\n## B\n- [ ] b\n## C\n- [ ] c (depends: none)\n")

    assert graph.dependencies("1.1") == ["3.1"]
    assert graph.topological_tasks() == ["3.1", "1.1", "2.1"]


def test_parallel_phase_joins_the_stage_before() -> None:
    graph = graph_of("## A\n- [ ] a\n## B\n- [ ] b\n## C [PARALLEL]\n- [ ] c\n## D\n- [ ] d\n")

    assert graph.stages == [[0], [1, 2], [3]]
    assert graph.dependencies("3.1") == ["1.1"]
    assert graph.dependencies("4.1") == ["2.1", "3.1"]


def test_parallel_phase_does_not_wait_for_the_phase_it_joins() -> None:
    graph = graph_of("## A\n- [ ] a\n## B [PARALLEL]\n- [ ] b\n")

    assert graph.stages == [[0, 1]]
    assert graph.dependencies("2.1") == []
    assert graph.waves() == [["1.1", "2.1"]]


def test_several_parallel_phases_all_join_one_stage() -> None:
    graph = graph_of("## A\n- [ ] a\n## B [PARALLEL]\n- [ ] b\n## C [PARALLEL]\n- [ ] c\n")

    assert graph.stages == [[0, 1, 2]]


def test_parallel_first_phase_is_the_first_stage() -> None:
    graph = graph_of("## A [PARALLEL]\n- [ ] a\n## B\n- [ ] b\n")

    assert graph.stages == [[0], [1]]
    assert graph.dependencies("1.1") == []
    assert graph.dependencies("2.1") == ["1.1"]


def test_sequential_phase_starts_a_new_stage() -> None:
    graph = graph_of("## A\n- [ ] a\n## B [SEQUENTIAL]\n- [ ] b\n")

    assert graph.stages == [[0], [1]]


def test_sequential_phase_chains_its_tasks() -> None:
    graph = graph_of("## A [SEQUENTIAL]\n- [ ] a\n- [ ] b\n- [ ] c\n")

    assert graph.dependencies("1.1") == []
    assert graph.dependencies("1.2") == ["1.1"]
    assert graph.dependencies("1.3") == ["1.2"]
    assert graph.waves() == [["1.1"], ["1.2"], ["1.3"]]


def test_sequential_task_with_depends_also_waits_for_the_task_above() -> None:
    graph = graph_of("## A\n- [ ] a\n- [ ] x\n## B [SEQUENTIAL]\n- [ ] b\n- [ ] c (depends: 1.2)\n")

    assert graph.dependencies("2.2") == ["1.2", "2.1"]


def test_sequential_chain_after_depends_none_still_waits_for_the_barrier() -> None:
    graph = graph_of("## A\n- [ ] a\n## B [SEQUENTIAL]\n- [ ] b (depends: none)\n- [ ] c\n")

    assert graph.dependencies("2.1") == []
    assert graph.dependencies("2.2") == ["1.1", "2.1"]


def test_sequential_chain_depending_on_the_task_above_makes_one_edge() -> None:
    graph = graph_of("## A [SEQUENTIAL]\n- [ ] a\n- [ ] b (depends: 1.1)\n")

    assert graph.graph.edges["1.1", "1.2"]["kind"] is EdgeKind.DEPENDS
    assert graph.graph.number_of_edges() == 1


def test_parallel_phase_beside_a_sequential_one_is_not_chained() -> None:
    graph = graph_of(
        "## A [SEQUENTIAL]\n- [ ] ant\n- [ ] ape\n## B [PARALLEL]\n- [ ] bat\n- [ ] bee\n"
    )

    assert graph.dependencies("2.2") == []
    assert graph.waves() == [["1.1", "2.1", "2.2"], ["1.2"]]


def test_barrier_skips_empty_phases() -> None:
    graph = graph_of("## A\n- [ ] a\n## Empty\n## C\n- [ ] c\n")

    assert graph.stages == [[0], [1], [2]]
    assert graph.dependencies("3.1") == ["1.1"]


def test_first_stage_tasks_wait_for_nothing() -> None:
    graph = graph_of("## Empty\n## B\n- [ ] b\n")

    assert graph.dependencies("2.1") == []


def test_done_tasks_still_hold_the_barrier_shape() -> None:
    graph = graph_of("## A\n- [x] a\n## B\n- [ ] b\n")

    assert graph.dependencies("2.1") == ["1.1"]
    assert graph.waves() == [["2.1"]]


def test_barrier_is_one_join_node_per_stage() -> None:
    graph = graph_of("## A\n- [ ] ant\n- [ ] ape\n## B\n- [ ] bat\n- [ ] bee\n- [ ] boa\n")

    barriers = [node for node in graph.graph if is_barrier(node)]
    assert barriers == ["#stage1"]
    assert graph.graph.number_of_edges() == 2 + 3
    assert {graph.graph.edges[edge]["kind"] for edge in graph.graph.edges} == {EdgeKind.BARRIER}


def test_barrier_between_two_large_stages_is_linear_in_edges() -> None:
    first = "".join(f"- [ ] a{n} Task\n" for n in range(1000))
    second = "".join(f"- [ ] b{n} Task\n" for n in range(1000))
    graph = graph_of(f"## A\n{first}## B\n{second}")

    assert graph.graph.number_of_edges() == 2000
    assert len(graph.dependencies("b999")) == 1000
    assert len(graph.dependents("a0")) == 1000
    assert [len(wave) for wave in graph.waves()] == [1000, 1000]


def test_stages_of_groups_phase_indexes() -> None:
    plan, _ = parse_plan(
        "## A [PARALLEL]\n## B [PARALLEL]\n## C\n## D [SEQUENTIAL]\n## E [PARALLEL]\n"
    )

    assert stages_of(plan) == [[0, 1], [2], [3, 4]]


def test_unknown_and_self_dependencies_are_left_out_of_the_graph() -> None:
    plan, _ = parse_plan("- [ ] 1.1 a (depends: 1.1, 9.9)\n- [ ] 1.2 b (depends: 1.1)\n")
    graph = PlanGraph(plan)

    assert graph.dependencies("1.1") == []
    assert sorted(graph.graph.nodes) == ["1.1", "1.2"]


def test_first_definition_of_a_duplicate_id_is_the_node() -> None:
    plan, _ = parse_plan("- [ ] 1.1 first\n- [ ] 1.1 second (depends: 1.2)\n- [ ] 1.2 c\n")
    graph = PlanGraph(plan)

    assert graph.tasks["1.1"].title == "first"
    assert graph.dependencies("1.1") == []
    assert graph.topological_tasks() == ["1.1", "1.2"]


def test_duplicate_in_a_sequential_phase_is_skipped_by_the_chain() -> None:
    plan, _ = parse_plan(
        "## A [SEQUENTIAL]\n- [ ] 1.1 a\n- [ ] 1.2 b\n- [ ] 1.1 dup\n- [ ] 1.4 d\n"
    )
    graph = PlanGraph(plan)

    assert graph.dependencies("1.4") == ["1.2"]


# --- dependents and topological order -----------------------------------------------------


def test_dependents_expand_barriers_in_plan_order() -> None:
    graph = graph_of(DESIGN_EXAMPLE)

    assert graph.dependents("1.1") == ["2.1", "2.2", "3.1"]
    assert graph.dependents("1.2") == ["2.2", "3.1"]
    assert graph.dependents("2.1") == ["2.3", "4.1"]
    assert graph.dependents("4.1") == ["4.2"]
    assert graph.dependents("4.2") == []


def test_topological_tasks_put_every_task_after_what_it_waits_for() -> None:
    graph = graph_of(DESIGN_EXAMPLE)

    order = graph.topological_tasks()
    assert sorted(order) == sorted(graph.tasks)
    position = {task_id: index for index, task_id in enumerate(order)}
    for task_id in order:
        assert all(position[dep] < position[task_id] for dep in graph.dependencies(task_id))


def test_topological_tasks_contain_no_barrier_nodes() -> None:
    graph = graph_of("## A\n- [ ] a\n## B\n- [ ] b\n")

    assert graph.topological_tasks() == ["1.1", "2.1"]


def test_topological_tasks_refuse_a_cycle() -> None:
    plan, _ = parse_plan("- [ ] 1.1 a (depends: 1.2)\n- [ ] 1.2 b (depends: 1.1)\n")

    with pytest.raises(nx.NetworkXUnfeasible):
        PlanGraph(plan).topological_tasks()


# --- Waves and width ----------------------------------------------------------------------


def test_wave_is_one_more_than_the_latest_dependency() -> None:
    graph = graph_of(
        """\
        - [ ] a A (id: a) (depends: none)
        - [ ] b B (id: b) (depends: a)
        - [ ] c C (id: c) (depends: none)
        - [ ] d D (id: d) (depends: b, c)
        """
    )

    assert graph.waves() == [["a", "c"], ["b"], ["d"]]


def test_done_tasks_are_in_no_wave_and_free_their_dependents() -> None:
    graph = graph_of("- [x] 1.1 a\n- [ ] 1.2 b (depends: 1.1)\n- [x] 1.3 c (depends: 1.2)\n")

    assert graph.waves() == [["1.2"]]


def test_all_done_plan_has_no_waves_and_no_width() -> None:
    graph = graph_of("- [x] 1.1 a\n- [X] 1.2 b\n")

    assert graph.waves() == []
    assert graph.width() == 0


def test_width_is_the_largest_wave() -> None:
    graph = graph_of("## A\n- [ ] a\n## B\n- [ ] bat\n- [ ] bee\n- [ ] boa\n## C\n- [ ] c\n")

    assert [len(wave) for wave in graph.waves()] == [1, 3, 1]
    assert graph.width() == 3


def test_empty_plan_has_no_waves() -> None:
    graph = PlanGraph(parse_plan("")[0])

    assert graph.waves() == []
    assert graph.width() == 0
    assert graph.topological_tasks() == []


# --- Critical path --------------------------------------------------------------------------


def test_critical_path_is_the_longest_chain_by_estimate() -> None:
    graph = graph_of(
        """\
        ## A
        - [ ] 1.1 short (estimate: 1m)
        - [ ] 1.2 long (estimate: 10m)
        ## B
        - [ ] 2.1 after short (depends: 1.1) (estimate: 5m)
        - [ ] 2.2 after both (estimate: 30s)
        """
    )

    path = graph.critical_path(by_estimate)
    assert path.tasks == ("1.2", "2.2")
    assert path.seconds == 630


def test_critical_path_counts_done_tasks_as_zero() -> None:
    graph = graph_of(
        """\
        - [x] 1.1 done (estimate: 1h)
        - [ ] 1.2 next (depends: 1.1) (estimate: 1m)
        - [ ] 1.3 other (depends: none) (estimate: 2m)
        """
    )

    path = graph.critical_path(by_estimate)
    assert path.tasks == ("1.3",)
    assert path.seconds == 120


def test_critical_path_does_not_ask_for_estimates_of_done_tasks() -> None:
    graph = graph_of("- [x] 1.1 done\n- [ ] 1.2 next (depends: 1.1) (estimate: 1m)\n")
    asked: list[str] = []

    def estimate(task: Task) -> float:
        asked.append(task.id)
        return by_estimate(task)

    assert graph.critical_path(estimate).tasks == ("1.2",)
    assert asked == ["1.2"]


def test_critical_path_tie_goes_to_the_chain_ending_first_in_plan_order() -> None:
    graph = graph_of(
        """\
        - [ ] 1.1 a (estimate: 1m) (depends: none)
        - [ ] 1.2 b (estimate: 1m) (depends: none)
        - [ ] 1.3 c (estimate: 1m) (depends: 1.1)
        - [ ] 1.4 d (estimate: 1m) (depends: 1.2)
        """
    )

    for _ in range(3):
        assert graph.critical_path(by_estimate).tasks == ("1.1", "1.3")


def test_critical_path_tie_between_predecessors_goes_to_the_first_in_plan_order() -> None:
    graph = graph_of(
        """\
        - [ ] 1.1 a (estimate: 1m) (depends: none)
        - [ ] 1.2 b (estimate: 1m) (depends: none)
        - [ ] 1.3 c (estimate: 1m) (depends: 1.2, 1.1)
        """
    )

    assert graph.critical_path(by_estimate).tasks == ("1.1", "1.3")


def test_critical_path_through_a_barrier() -> None:
    graph = graph_of(
        "## A\n- [ ] a (estimate: 1m)\n- [ ] b (estimate: 3m)\n## B\n- [ ] c (estimate: 1m)\n"
    )

    path = graph.critical_path(by_estimate)
    assert path.tasks == ("1.2", "2.1")
    assert path.seconds == 240


def test_critical_path_of_an_empty_or_finished_plan_is_empty() -> None:
    assert PlanGraph(parse_plan("")[0]).critical_path(by_estimate).tasks == ()
    finished = graph_of("- [x] 1.1 a (estimate: 1m)\n").critical_path(by_estimate)
    assert (finished.tasks, finished.seconds) == ((), 0.0)


def test_critical_path_of_the_design_example() -> None:
    graph = graph_of(DESIGN_EXAMPLE)

    path = graph.critical_path(lambda task: 60.0)
    assert path.tasks == ("1.1", "2.1", "2.3", "4.1", "4.2")
    assert path.seconds == 300
