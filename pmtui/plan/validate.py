"""Whole-plan checks: ids, dependencies, agents, cycles, and overlapping files.

Every problem is reported at once, in file order. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from pmtui.plan.errors import Problem, Severity, did_you_mean
from pmtui.plan.graph import CycleStep, EdgeKind, PlanGraph
from pmtui.plan.model import Plan, Task
from pmtui.plan.parser import TASK_EXAMPLE

_MAX_SUGGESTIONS = 50
"""Suggesting the closest id compares against every id; beyond this many, don't."""


def validate_plan(
    plan: Plan,
    *,
    agents: Collection[str] | None,
    isolated: Callable[[Task], bool] | None = None,
) -> tuple[PlanGraph, list[Problem]]:
    """Check a parsed plan as a whole.

    Args:
        plan: The parsed plan.
        agents: The names of the configured agents (a task without `agent:` uses the
            configured default, which the config itself checks); None when the config
            could not be loaded, which skips the agent check only.
        isolated: Whether a task will run in its own worktree (None: none will). Tasks that
            do and touch the same files meet in the merge queue: warned about as such.

    Returns:
        The dependency graph (first definition of a duplicate id wins, unknown and self
        dependencies dropped) and the problems, errors and warnings, in file order.
    """
    problems: list[Problem] = []
    if not plan.tasks:
        problems.append(
            Problem(
                plan.path,
                1,
                1,
                "the plan has no tasks",
                f"add task lines such as `{TASK_EXAMPLE}` under a `## Phase 1: Name` heading",
            )
        )
    graph = PlanGraph(plan)
    problems.extend(_duplicates(plan, graph))
    problems.extend(_dependencies(plan, graph))
    if agents is not None:
        problems.extend(_agents(plan, agents))
    cycles = graph.cycles()
    problems.extend(_cycle_problem(plan, steps) for steps in cycles)
    if not cycles:
        problems.extend(_overlaps(plan, graph, isolated))
    problems.sort(key=lambda problem: (problem.line, problem.col))
    return graph, problems


def _duplicates(plan: Plan, graph: PlanGraph) -> list[Problem]:
    problems = []
    for task in plan.tasks:
        first = graph.tasks[task.id]
        if first is task:
            continue
        if task.source.id_generated:
            message = (
                f"this task has no id, and its generated id {task.id} is already the id of "
                f"line {first.line}"
            )
            hint = "write an id first on the line, e.g. `- [ ] t7 …`, or add (id: name)"
        elif first.source.id_generated:
            message = (
                f"duplicate task id {task.id}: line {first.line} has no id and was given "
                f"{task.id} by its position"
            )
            hint = f"give line {first.line} an id of its own, or pick another id here"
        else:
            message = f"duplicate task id {task.id} (first defined on line {first.line})"
            hint = (
                f"give this task another id, e.g. `{task.id}b`; other tasks' "
                f"(depends: {task.id}) mean line {first.line}"
            )
        problems.append(Problem(plan.path, task.line, task.source.id_col, message, hint))
    return problems


def _dependencies(plan: Plan, graph: PlanGraph) -> list[Problem]:
    problems = []
    suggestions_left = _MAX_SUGGESTIONS
    for task in plan.tasks:
        cols = task.source.depends_cols
        for index, dependency in enumerate(task.depends or ()):
            col = cols[index] if index < len(cols) else task.source.id_col
            if dependency == task.id:
                problems.append(
                    Problem(
                        plan.path,
                        task.line,
                        col,
                        f"task {task.id} depends on itself",
                        f"remove {task.id} from its own (depends: …)",
                    )
                )
            elif dependency not in graph.tasks:
                fallback = "no task has this id; check the ids of the tasks it waits for"
                hint = fallback
                if suggestions_left > 0:
                    suggestions_left -= 1
                    hint = did_you_mean(dependency, graph.tasks, fallback)
                problems.append(
                    Problem(
                        plan.path,
                        task.line,
                        col,
                        f"task {task.id} depends on unknown task {dependency}",
                        hint,
                    )
                )
    return problems


def _agents(plan: Plan, agents: Collection[str]) -> list[Problem]:
    problems = []
    unknown_seen: dict[str, str] = {}
    for task in plan.tasks:
        if task.agent is None or task.agent in agents:
            continue
        agent = task.agent
        if agent not in unknown_seen:
            unknown_seen[agent] = did_you_mean(
                agent,
                agents,
                f"define it in pmtui.toml under [agents.{agent}] with its command",
            )
        problems.append(
            Problem(
                plan.path,
                task.line,
                task.source.agent_col,
                f"task {task.id} uses unknown agent '{agent}'",
                unknown_seen[agent],
            )
        )
    return problems


_WHY = {
    EdgeKind.DEPENDS: "its (depends: …)",
    EdgeKind.SEQUENTIAL: "the [SEQUENTIAL] phase",
    EdgeKind.BARRIER: "the phase barrier",
}


_MAX_IDS_SHOWN = 10
"""Long cycles and crowded files name this many tasks, then say how many more."""
_MAX_OVERLAP_WARNINGS = 50


def _shown_paths(paths: tuple[str, ...]) -> str:
    return ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")


def _merge_queue_warning(
    plan: Plan, tasks: tuple[Task, ...], shown: str, every_pair: bool
) -> Problem:
    """Isolated tasks touching the same files run at once and meet in the merge queue."""
    ids = [task.id for task in tasks]
    names = _name_list(ids)
    last = tasks[-1]
    if every_pair:
        both = "both" if len(ids) == 2 else "all"
        message = (
            f"tasks {names} may run at the same time in their own worktrees and {both} change "
            f"{shown}: they meet in the merge queue, where the later merge may conflict"
        )
    else:
        message = (
            f"tasks {names} change {shown} in their own worktrees, and some of them may run at "
            "the same time: they meet in the merge queue, where a later merge may conflict"
        )
    return Problem(
        plan.path,
        last.line,
        last.source.files_col or last.source.id_col,
        message,
        f"pmtui merges them one at a time and keeps a real conflict for you (exit 3); to have "
        f"{last.id} start from {ids[-2]}'s merge instead, add (depends: {ids[-2]}) to "
        f"{last.id} or put them in a [SEQUENTIAL] phase",
        Severity.WARNING,
    )


def _name_list(ids: list[str]) -> str:
    """`a and b`, `a, b and c`, or the first few and `… and N more`."""
    if len(ids) > _MAX_IDS_SHOWN:
        return ", ".join(ids[:_MAX_IDS_SHOWN]) + f" … and {len(ids) - _MAX_IDS_SHOWN} more"
    return " and ".join([", ".join(ids[:-1]), ids[-1]])


def _cycle_problem(plan: Plan, steps: list[CycleStep]) -> Problem:
    first = steps[0].task
    ids = [step.task.id for step in steps]
    if len(ids) > _MAX_IDS_SHOWN + 2:
        ids = [*ids[:_MAX_IDS_SHOWN], f"… {len(steps) - _MAX_IDS_SHOWN - 1} more", ids[-1]]
    chain = " → ".join([*ids, first.id])
    shown_steps = steps[:_MAX_IDS_SHOWN]
    reasons = "; ".join(
        f"{step.task.id} (line {step.task.line}) waits for {step.waits_for.id} by {_WHY[step.kind]}"
        for step in shown_steps
    )
    if len(steps) > len(shown_steps):
        reasons += f"; … ({len(steps)} tasks in the cycle)"
    col = first.source.depends_cols[0] if first.source.depends_cols else first.source.id_col
    fix = "remove one of these dependencies"
    if any(step.kind is EdgeKind.BARRIER for step in steps):
        fix += (
            " (a task without (depends: …) waits for the whole previous stage; give it an "
            "explicit (depends: …) to wait for less)"
        )
    if any(step.kind is EdgeKind.SEQUENTIAL for step in steps):
        fix += " or move a task out of the [SEQUENTIAL] phase"
    return Problem(plan.path, first.line, col, f"dependency cycle: {chain}", f"{reasons}; {fix}")


def _overlaps(
    plan: Plan, graph: PlanGraph, isolated: Callable[[Task], bool] | None
) -> list[Problem]:
    problems = []
    if isolated is not None:
        for tasks, paths, every_pair in graph.overlapping_files(isolated)[:_MAX_OVERLAP_WARNINGS]:
            problems.append(_merge_queue_warning(plan, tasks, _shown_paths(paths), every_pair))
    overlaps = [
        overlap
        for overlap in graph.overlapping_files()
        if isolated is None or not all(isolated(task) for task in overlap[0])
    ]
    for tasks, paths, every_pair in overlaps[:_MAX_OVERLAP_WARNINGS]:
        ids = [task.id for task in tasks]
        names = _name_list(ids)
        shown = _shown_paths(paths)
        last = tasks[-1]
        if every_pair:
            both = "both" if len(ids) == 2 else "all"
            message = f"tasks {names} may run at the same time and {both} touch {shown}"
        else:
            message = f"tasks {names} touch {shown}, and some of them may run at the same time"
        problems.append(
            Problem(
                plan.path,
                last.line,
                last.source.files_col or last.source.id_col,
                message,
                f"pmtui runs them one at a time in a shared workspace (file lock) and merges "
                f"them one by one when isolated; to choose the order, add (depends: "
                f"{ids[-2]}) to {last.id} or put them in a [SEQUENTIAL] phase",
                Severity.WARNING,
            )
        )
    if len(overlaps) > _MAX_OVERLAP_WARNINGS:
        last = overlaps[_MAX_OVERLAP_WARNINGS][0][-1]
        problems.append(
            Problem(
                plan.path,
                last.line,
                last.source.id_col,
                f"{len(overlaps) - _MAX_OVERLAP_WARNINGS} more groups of tasks may touch the "
                "same files at the same time",
                "fix the warnings above first; list each task's files with (files: …)",
                Severity.WARNING,
            )
        )
    return problems
