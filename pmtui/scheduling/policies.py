"""The order in which ready tasks get free slots (docs/design.md §4).

- `critical-path` (default): the longest remaining path by estimate first (the task itself
  included), ties by priority, then plan order — list scheduling by "highest level first",
  which keeps the makespan close to its lower bound;
- `dependency-first`: the most transitive dependents first;
- `priority`: `critical` > `high` > `normal` > `low`;
- `fifo`: plan order (what `make -j` and naive orchestrators do);
- `cost-first`: the longest estimate first.

Every strategy ends its key with plan order, so keys are unique and the order is total.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping

import networkx as nx

from pmtui.config.model import Strategy
from pmtui.plan.graph import PlanGraph, is_barrier

SortKey = tuple[float, ...]
"""Smaller sorts first."""


def remaining_path(graph: PlanGraph, estimates: Mapping[str, float]) -> dict[str, float]:
    """For each task, the longest chain of estimated seconds from its start to the plan's end."""
    longest: dict[str, float] = {}
    for node in reversed(list(nx.topological_sort(graph.graph))):
        if not is_barrier(node) and graph.tasks[node].done:
            longest[node] = 0.0  # done already: nothing after it waits on it any more
            continue
        after = max((longest[successor] for successor in graph.graph.successors(node)), default=0.0)
        own = 0.0 if is_barrier(node) else estimates.get(node, 0.0)
        longest[node] = own + after
    return {task_id: longest[task_id] for task_id in graph.tasks}


def transitive_dependents(graph: PlanGraph) -> dict[str, int]:
    """For each task, how many tasks wait for it, directly or not."""
    index = {task_id: position for position, task_id in enumerate(graph.tasks)}
    reach: dict[str, int] = {}
    for node in reversed(list(nx.topological_sort(graph.graph))):
        mask = 0
        for successor in graph.graph.successors(node):
            mask |= reach[successor]
            if successor in index:
                mask |= 1 << index[successor]
        reach[node] = mask
    return {task_id: reach[task_id].bit_count() for task_id in graph.tasks}


def sort_keys(
    graph: PlanGraph, estimates: Mapping[str, float], strategy: Strategy
) -> dict[str, SortKey]:
    """The sort key of every task under `strategy`."""
    order = {task_id: float(position) for position, task_id in enumerate(graph.tasks)}
    rank = {task_id: float(task.priority.rank) for task_id, task in graph.tasks.items()}
    if strategy is Strategy.CRITICAL_PATH:
        path = remaining_path(graph, estimates)
        return {task_id: (-path[task_id], -rank[task_id], order[task_id]) for task_id in order}
    if strategy is Strategy.DEPENDENCY_FIRST:
        dependents = transitive_dependents(graph)
        return {task_id: (-float(dependents[task_id]), order[task_id]) for task_id in order}
    if strategy is Strategy.PRIORITY:
        return {task_id: (-rank[task_id], order[task_id]) for task_id in order}
    if strategy is Strategy.COST_FIRST:
        return {task_id: (-estimates.get(task_id, 0.0), order[task_id]) for task_id in order}
    return {task_id: (order[task_id],) for task_id in order}
