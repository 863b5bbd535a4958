"""The dependency graph of a plan (networkx): stages, barriers, waves, critical path.

An edge `a → b` means `b` waits for `a`. A phase barrier ("wait for every task of the
previous stage") is one join node per stage rather than an edge from every task of one stage
to every task of the next, which would be quadratic on large plans. Join nodes are named
`#stage<k>`: `#` can never appear in a task id.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

import networkx as nx

from pmtui.plan.files import overlap_groups
from pmtui.plan.model import PhaseMode, Plan, Task

BARRIER_PREFIX = "#stage"

MAX_REACHABILITY_BITS = 40_000_000
"""Exact "may run at the same time" needs nodes × overlapping tasks bits (5 MB here); above
it the overlap check falls back to comparing the tasks of one wave."""


class EdgeKind(StrEnum):
    """Why one node waits for another."""

    DEPENDS = "depends"
    SEQUENTIAL = "sequential"
    BARRIER = "barrier"


@dataclass(frozen=True, slots=True)
class CycleStep:
    """One task of a dependency cycle and why it waits for the next one."""

    task: Task
    waits_for: Task
    kind: EdgeKind


@dataclass(frozen=True, slots=True)
class CriticalPath:
    """The longest chain of remaining work by estimate."""

    tasks: tuple[str, ...]
    seconds: float


def is_barrier(node: str) -> bool:
    """Whether a graph node is a stage join node rather than a task."""
    return node.startswith(BARRIER_PREFIX)


def stages_of(plan: Plan) -> list[list[int]]:
    """Group phase indexes into stages: `[PARALLEL]` joins the stage before, others start one."""
    stages: list[list[int]] = []
    for index, phase in enumerate(plan.phases):
        if phase.mode is PhaseMode.PARALLEL and stages:
            stages[-1].append(index)
        else:
            stages.append([index])
    return stages


class PlanGraph:
    """The plan's tasks and who waits for whom.

    Tolerates an invalid plan so validation can run on it: the first definition of a
    duplicate id wins, unknown and self dependencies are left out, cycles are kept (see
    `cycles`). The analyses (`waves`, `critical_path`) need an acyclic graph.

    In a `[SEQUENTIAL]` phase, a task under one that waits for the barrier waits through it
    instead of on the barrier too: the same order with fewer edges, so in DESIGN's example
    `dependencies("4.2") == ["4.1"]`.
    """

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.tasks: dict[str, Task] = {}
        for task in plan.tasks:
            self.tasks.setdefault(task.id, task)
        self._order = {task_id: position for position, task_id in enumerate(self.tasks)}
        self.stages = stages_of(plan)
        self.graph: nx.DiGraph[str] = nx.DiGraph()
        self.graph.add_nodes_from(self.tasks)
        self._waves: list[list[str]] | None = None
        self._add_edges()

    def _add_edges(self) -> None:
        previous_stage_tasks: list[str] = []
        for stage_number, phase_indexes in enumerate(self.stages):
            barrier = f"{BARRIER_PREFIX}{stage_number}"
            stage_tasks: list[str] = []
            for phase_index in phase_indexes:
                phase = self.plan.phases[phase_index]
                sequential = phase.mode is PhaseMode.SEQUENTIAL
                # When the task above waits for the barrier (itself or up its chain), a task
                # chained under it waits through it: no edge of its own, the same order.
                above: Task | None = None
                above_behind_barrier = False
                for task in phase.tasks:
                    if self.tasks[task.id] is not task:
                        continue  # a later duplicate: only the first definition is a node
                    stage_tasks.append(task.id)
                    chained = sequential and above is not None
                    behind_barrier = False
                    if task.depends is None:
                        behind_barrier = bool(previous_stage_tasks)
                        if behind_barrier and not (chained and above_behind_barrier):
                            self._wait_for_stage(barrier, previous_stage_tasks, task.id)
                    else:
                        for dependency in task.depends:
                            if dependency in self.tasks and dependency != task.id:
                                self.graph.add_edge(dependency, task.id, kind=EdgeKind.DEPENDS)
                    if chained and above is not None:  # `chained` implies `above`; for mypy
                        if not self.graph.has_edge(above.id, task.id):
                            self.graph.add_edge(above.id, task.id, kind=EdgeKind.SEQUENTIAL)
                        behind_barrier = behind_barrier or above_behind_barrier
                    above, above_behind_barrier = task, behind_barrier
            if stage_tasks:
                previous_stage_tasks = stage_tasks

    def _wait_for_stage(self, barrier: str, stage_tasks: list[str], task_id: str) -> None:
        """Make `task_id` wait for every task of the previous stage, through its join node."""
        if barrier not in self.graph:
            self.graph.add_edges_from(
                ((waited, barrier) for waited in stage_tasks), kind=EdgeKind.BARRIER
            )
        self.graph.add_edge(barrier, task_id, kind=EdgeKind.BARRIER)

    def dependencies(self, task_id: str) -> list[str]:
        """The tasks `task_id` waits for directly, barriers expanded, in plan order."""
        found: set[str] = set()
        for node in self.graph.predecessors(task_id):
            if is_barrier(node):
                found.update(self.graph.predecessors(node))
            else:
                found.add(node)
        return sorted(found, key=self._order.__getitem__)

    def dependents(self, task_id: str) -> list[str]:
        """The tasks that wait for `task_id` directly, barriers expanded, in plan order."""
        found: set[str] = set()
        for node in self.graph.successors(task_id):
            if is_barrier(node):
                found.update(self.graph.successors(node))
            else:
                found.add(node)
        return sorted(found, key=self._order.__getitem__)

    def topological_tasks(self) -> list[str]:
        """Task ids in an order where every task comes after what it waits for."""
        return [node for node in nx.topological_sort(self.graph) if not is_barrier(node)]

    def cycles(self) -> list[list[CycleStep]]:
        """One cycle per strongly connected group of tasks, each starting at its first task."""
        found: list[list[CycleStep]] = []
        for component in nx.strongly_connected_components(self.graph):
            if len(component) < 2:
                continue
            start = min(
                (node for node in component if not is_barrier(node)),
                key=self._order.__getitem__,
            )
            found.append(self._cycle_through(start, component))
        found.sort(key=lambda steps: self._order[steps[0].task.id])
        return found

    def _cycle_through(self, start: str, component: set[str]) -> list[CycleStep]:
        """The shortest waits-for cycle from `start` back to itself, inside `component`."""
        came_from: dict[str, str] = {}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for waited in sorted(self.graph.predecessors(node), key=self._sort_key):
                if waited not in component or waited in came_from:
                    continue
                came_from[waited] = node
                if waited == start:
                    queue.clear()
                    break
                queue.append(waited)
        path = [start]
        node = came_from[start]
        while node != start:
            path.append(node)
            node = came_from[node]
        path.reverse()
        path = [start, *path[:-1]] if path[-1] == start else path
        return self._steps(path)

    def _sort_key(self, node: str) -> tuple[int, str]:
        return (self._order.get(node, -1), node)

    def _steps(self, waits_for_path: list[str]) -> list[CycleStep]:
        """Turn `[a, b, c]` (a waits for b, b for c, c for a) into steps with edge kinds."""
        nodes = [*waits_for_path, waits_for_path[0]]
        steps: list[CycleStep] = []
        index = 0
        while index < len(nodes) - 1:
            waiter = nodes[index]
            target = nodes[index + 1]
            kind: EdgeKind = self.graph.edges[target, waiter]["kind"]
            if is_barrier(target):
                target = nodes[index + 2]
                index += 1
            steps.append(CycleStep(self.tasks[waiter], self.tasks[target], kind))
            index += 1
        return steps

    def waves(self) -> list[list[str]]:
        """The remaining tasks by wave: each wave's dependencies are all in earlier waves.

        Tasks already done (`[x]`) are in no wave: they are satisfied from the start.
        """
        if self._waves is None:
            self._waves = self._compute_waves()
        return [list(wave) for wave in self._waves]

    def _compute_waves(self) -> list[list[str]]:
        level: dict[str, int] = {}
        waves: list[list[str]] = []
        for node in nx.topological_sort(self.graph):
            before = max((level[pred] for pred in self.graph.predecessors(node)), default=0)
            if is_barrier(node):
                level[node] = before
            elif self.tasks[node].done:
                level[node] = 0
            else:
                level[node] = before + 1
                while len(waves) < level[node]:
                    waves.append([])
                waves[level[node] - 1].append(node)
        return [sorted(wave, key=self._order.__getitem__) for wave in waves]

    def width(self) -> int:
        """The size of the largest wave."""
        return max((len(wave) for wave in self.waves()), default=0)

    def critical_path(self, estimate: Callable[[Task], float]) -> CriticalPath:
        """The longest chain of remaining tasks, by estimated seconds.

        Args:
            estimate: Seconds a task is expected to take; done tasks count as 0.
        """
        finish: dict[str, float] = {}
        via: dict[str, str | None] = {}
        for node in nx.topological_sort(self.graph):
            if not is_barrier(node) and self.tasks[node].done:
                # Done already: satisfied from the start, whatever it once waited for.
                finish[node], via[node] = 0.0, None
                continue
            best: str | None = None
            best_finish = 0.0
            for pred in sorted(self.graph.predecessors(node), key=self._sort_key):
                if finish[pred] > best_finish:
                    best, best_finish = pred, finish[pred]
            own = 0.0 if is_barrier(node) else estimate(self.tasks[node])
            finish[node] = best_finish + own
            via[node] = best
        if not self.tasks:
            return CriticalPath((), 0.0)
        # The longest chain; between equally long ones, the one ending first in plan order.
        end = max(self.tasks, key=lambda node: (finish[node], -self._order[node]))
        chain: list[str] = []
        cursor: str | None = end
        while cursor is not None:
            if not is_barrier(cursor) and not self.tasks[cursor].done:
                chain.append(cursor)
            cursor = via[cursor]
        chain.reverse()
        return CriticalPath(tuple(chain), finish[end])

    def overlapping_files(
        self, among: Callable[[Task], bool] | None = None
    ) -> list[tuple[tuple[Task, ...], tuple[str, ...], bool]]:
        """Groups of remaining tasks that touch the same files and may run at the same time.

        Two tasks may run at the same time when neither waits for the other, directly or
        not — in one wave or not.

        Args:
            among: Only the tasks it accepts (default: every remaining task).

        Returns:
            `(tasks, paths, all_concurrent)`: the tasks (plan order) that may meet another
            task of the group, the shared paths, and whether every pair of them may meet.
        """
        remaining = [
            task
            for task in self.tasks.values()
            if not task.done and (among is None or among(task))
        ]
        groups = overlap_groups(remaining)
        if not groups:
            return []
        members = list(dict.fromkeys(task.id for tasks, _ in groups for task in tasks))
        if self.graph.number_of_nodes() * len(members) > MAX_REACHABILITY_BITS:
            return self._overlaps_by_wave()
        bit = {task_id: 1 << index for index, task_id in enumerate(members)}
        before = self._reach_masks(bit, self.graph.predecessors, reverse=False)
        after = self._reach_masks(bit, self.graph.successors, reverse=True)
        found: list[tuple[tuple[Task, ...], tuple[str, ...], bool]] = []
        for tasks, paths in groups:
            group = 0
            for task in tasks:
                group |= bit[task.id]
            # A task meets the group when some member is neither before nor after it.
            involved = tuple(
                task
                for task in tasks
                if (before[task.id] | after[task.id] | bit[task.id]) & group != group
            )
            if not involved:
                continue
            every_pair = all(before[task.id] & group == 0 for task in tasks)
            found.append((involved, paths, every_pair))
        return found

    def _overlaps_by_wave(self) -> list[tuple[tuple[Task, ...], tuple[str, ...], bool]]:
        """DESIGN's cheaper rule for huge plans: overlaps among the tasks of one wave."""
        found: list[tuple[tuple[Task, ...], tuple[str, ...], bool]] = []
        for wave in self.waves():
            for tasks, paths in overlap_groups([self.tasks[task_id] for task_id in wave]):
                found.append((tasks, paths, True))
        return found

    def _reach_masks(
        self,
        bit: dict[str, int],
        neighbours: Callable[[str], Iterable[str]],
        *,
        reverse: bool,
    ) -> dict[str, int]:
        """For each node, the bits (of `bit`) of the tasks it reaches through `neighbours`."""
        order = list(nx.topological_sort(self.graph))
        if reverse:
            order.reverse()
        masks: dict[str, int] = {}
        for node in order:
            mask = 0
            for other in neighbours(node):
                mask |= masks[other] | bit.get(other, 0)
            masks[node] = mask
        return masks
