"""Properties of the plan layer over generated input (hypothesis).

Fuzzed text never makes the parser or validation raise; generated acyclic plans keep every
promise of docs/design.md §2 about stages, waves, width and the critical path; a back edge is
always reported as a cycle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmtui.plan.errors import Severity
from pmtui.plan.graph import PlanGraph, is_barrier
from pmtui.plan.model import Plan, Task
from pmtui.plan.parser import parse_plan
from pmtui.plan.validate import validate_plan

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None)
"""Modest and fixed: the same examples on every run, fast on two cores."""

AGENTS = ["demo", "shell", "qa-engineer"]

# --- (a) fuzzing: the parser and validation never raise ------------------------------------

FRAGMENTS = [
    "- [ ] ",
    "- [x] ",
    "- [X] ",
    "* [ ] ",
    "-[ ] ",
    "- [] ",
    "- [ ]",
    "# Plan: ",
    "# ",
    "## Phase ",
    "## ",
    "### ",
    "[PARALLEL]",
    "[SEQUENTIAL]",
    "[paralel]",
    "[x]",
    "(depends: ",
    "(depends: none)",
    "(depends:)",
    "(id: ",
    "(agent: ",
    "(agnet: ",
    "(priority: high)",
    "(priority: ",
    "(files: ",
    "(timeout: ",
    "(estimate: ",
    "(retries: ",
    "(",
    ")",
    ": ",
    ", ",
    "`",
    "```",
    "```sh",
    "~~~",
    "    ",
    "\t",
    " ",
    "src/",
    "tests/",
    "docs/",
    "./",
    ".py",
    "*",
    "**/",
    "1h30m",
    "0s",
    "1.5m",
    "0",
    "²",
    "#stage1",
    "https://x.y",
]

ids = st.from_regex(r"[A-Za-z]{0,2}[0-9]{1,2}([.\-_][0-9a-z]{1,2})?", fullmatch=True)
fragment = st.one_of(st.sampled_from(FRAGMENTS), ids, st.text(max_size=4))
plan_line = st.lists(fragment, max_size=8).map("".join)
plan_like_text = st.tuples(st.lists(plan_line, max_size=25), st.sampled_from(["\n", "\r\n"])).map(
    lambda parts: parts[1].join(parts[0])
)


def parse_and_validate_everything(text: str) -> None:
    """Parse, validate and, when acyclic, run every analysis: nothing may raise."""
    plan, problems = parse_plan(text, "fuzz.md")
    assert isinstance(plan, Plan)
    line_count = max(1, text.count("\n") + 1)
    for problem in problems:
        assert 1 <= problem.line <= line_count
        assert problem.col >= 1
        assert problem.message and problem.hint
        problem.render()
    graph, plan_problems = validate_plan(plan, agents=AGENTS)
    for problem in plan_problems:
        assert 1 <= problem.line <= line_count
        problem.render()
    assert all(task.id for task in plan.tasks)
    if not any(problem.message.startswith("dependency cycle") for problem in plan_problems):
        graph.topological_tasks()
        graph.waves()
        graph.width()
        graph.critical_path(lambda task: task.estimate_s or 1.0)
        for task_id in graph.tasks:
            graph.dependencies(task_id)
            graph.dependents(task_id)


@PROPERTY_SETTINGS
@given(st.text())
def test_any_text_parses_and_validates_without_raising(text: str) -> None:
    parse_and_validate_everything(text)


@PROPERTY_SETTINGS
@given(plan_like_text)
def test_plan_like_text_parses_and_validates_without_raising(text: str) -> None:
    parse_and_validate_everything(text)


@PROPERTY_SETTINGS
@given(st.lists(plan_line, max_size=25))
def test_crlf_and_lf_parse_alike(lines: list[str]) -> None:
    lf = "\n".join(line.replace("\r", "") for line in lines)

    assert parse_plan(lf.replace("\n", "\r\n")) == parse_plan(lf)


# --- (b) generated acyclic plans ------------------------------------------------------------


@dataclass(frozen=True)
class TaskSpec:
    number: int
    done: bool
    estimate_s: int
    depends: tuple[int, ...] | None
    """None: the barrier applies; else the numbers of earlier tasks (maybe none)."""

    @property
    def id(self) -> str:
        return f"t{self.number}"


@dataclass(frozen=True)
class PhaseSpec:
    mode: str
    tasks: tuple[TaskSpec, ...]


def render(phases: list[PhaseSpec]) -> str:
    lines = ["# Plan: Generated"]
    for index, phase in enumerate(phases, start=1):
        marker = {"staged": "", "parallel": " [PARALLEL]", "sequential": " [SEQUENTIAL]"}
        lines.append(f"## Phase {index}: Part{marker[phase.mode]}")
        for spec in phase.tasks:
            box = "[x]" if spec.done else "[ ]"
            keys = f"(estimate: {spec.estimate_s}s)"
            if spec.depends is not None:
                named = ", ".join(f"t{number}" for number in spec.depends) or "none"
                keys += f" (depends: {named})"
            lines.append(f"- {box} {spec.id} Do part {spec.number} {keys}")
    return "\n".join(lines) + "\n"


@st.composite
def dag_plans(draw: st.DrawFn) -> list[PhaseSpec]:
    """Phases of tasks whose explicit depends only name tasks written above them.

    Barriers and [SEQUENTIAL] chains only ever point up the file too, so the plan is acyclic.
    """
    phases: list[PhaseSpec] = []
    count = 0
    for _ in range(draw(st.integers(0, 6))):
        mode = draw(st.sampled_from(["staged", "parallel", "sequential"]))
        tasks: list[TaskSpec] = []
        for _ in range(draw(st.integers(0, 5))):
            depends: tuple[int, ...] | None = None
            if count and draw(st.booleans()):
                depends = tuple(sorted(draw(st.sets(st.integers(0, count - 1), max_size=3))))
            tasks.append(
                TaskSpec(
                    count,
                    draw(st.booleans()) and draw(st.booleans()),
                    draw(st.integers(1, 600)),
                    depends,
                )
            )
            count += 1
        phases.append(PhaseSpec(mode, tuple(tasks)))
    return phases


def expected_direct_waits(phases: list[PhaseSpec]) -> dict[str, set[str]]:
    """What each task waits for, straight from the words of docs/design.md §2."""
    stages: list[list[PhaseSpec]] = []
    for index, phase in enumerate(phases):
        if phase.mode == "parallel" and index > 0:
            stages[-1].append(phase)
        else:
            stages.append([phase])
    waits: dict[str, set[str]] = {}
    previous: list[str] = []
    for stage in stages:
        stage_ids: list[str] = []
        for phase in stage:
            above: str | None = None
            for spec in phase.tasks:
                if spec.depends is None:
                    waits[spec.id] = set(previous)
                else:
                    waits[spec.id] = {f"t{number}" for number in spec.depends}
                if phase.mode == "sequential" and above is not None:
                    waits[spec.id].add(above)
                above = spec.id
                stage_ids.append(spec.id)
        if stage_ids:
            previous = stage_ids
    return waits


def ancestors_by_rules(waits: dict[str, set[str]]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for task_id in waits:  # plan order: every wait points up, so ancestors come first
        found[task_id] = set()
        for waited in waits[task_id]:
            found[task_id] |= {waited} | found[waited]
    return found


def task_ancestors(graph: PlanGraph, task_id: str) -> set[str]:
    return {node for node in nx.ancestors(graph.graph, task_id) if not is_barrier(node)}


def build(phases: list[PhaseSpec]) -> tuple[Plan, PlanGraph]:
    plan, problems = parse_plan(render(phases))
    assert problems == []
    graph, plan_problems = validate_plan(plan, agents=AGENTS)
    assert [problem for problem in plan_problems if problem.severity is Severity.ERROR] == (
        [] if plan.tasks else plan_problems
    )
    return plan, graph


def estimate(task: Task) -> float:
    assert task.estimate_s is not None
    return task.estimate_s


@PROPERTY_SETTINGS
@given(dag_plans())
def test_generated_plan_has_no_errors_and_follows_the_stage_rules(
    phases: list[PhaseSpec],
) -> None:
    _, graph = build(phases)

    expected = ancestors_by_rules(expected_direct_waits(phases))
    assert {task_id: task_ancestors(graph, task_id) for task_id in graph.tasks} == expected


@PROPERTY_SETTINGS
@given(dag_plans())
def test_topological_order_respects_every_dependency(phases: list[PhaseSpec]) -> None:
    plan, graph = build(phases)

    order = graph.topological_tasks()
    assert sorted(order) == sorted(task.id for task in plan.tasks)
    position = {task_id: index for index, task_id in enumerate(order)}
    for task_id in order:
        for dependency in graph.dependencies(task_id):
            assert position[dependency] < position[task_id]
    for waited, waiter in graph.graph.edges:
        if not is_barrier(waited) and not is_barrier(waiter):
            assert position[waited] < position[waiter]


@PROPERTY_SETTINGS
@given(dag_plans())
def test_waves_partition_the_tasks_not_done_and_follow_dependencies(
    phases: list[PhaseSpec],
) -> None:
    plan, graph = build(phases)

    waves = graph.waves()
    flat = [task_id for wave in waves for task_id in wave]
    assert sorted(flat) == sorted(task.id for task in plan.tasks if not task.done)
    assert len(flat) == len(set(flat))
    assert all(waves), "no wave is empty"
    wave_of = {task_id: number for number, wave in enumerate(waves) for task_id in wave}
    for task_id, number in wave_of.items():
        earlier = [wave_of[dep] for dep in graph.dependencies(task_id) if dep in wave_of]
        assert all(dep_wave < number for dep_wave in earlier)
        # As early as possible: right after its latest dependency.
        assert number == (max(earlier) + 1 if earlier else 0)
    assert graph.width() == max((len(wave) for wave in waves), default=0)


@PROPERTY_SETTINGS
@given(dag_plans())
def test_critical_path_is_the_longest_chain_of_remaining_work(phases: list[PhaseSpec]) -> None:
    plan, graph = build(phases)

    path = graph.critical_path(estimate)
    remaining = {task.id: task.estimate_s for task in plan.tasks if not task.done}
    assert all(task_id in remaining for task_id in path.tasks)
    assert path.seconds == pytest.approx(sum(remaining[task_id] or 0 for task_id in path.tasks))
    assert all(path.seconds >= (seconds or 0) for seconds in remaining.values())
    for waited, waiter in zip(path.tasks, path.tasks[1:], strict=False):
        assert nx.has_path(graph.graph, waited, waiter)
    longest: dict[str, float] = {}
    for task_id in graph.topological_tasks():
        if task_id not in remaining:
            longest[task_id] = 0.0  # done: satisfied from the start, whatever it waited for
            continue
        before = [longest[dep] for dep in graph.dependencies(task_id)]
        longest[task_id] = (remaining[task_id] or 0.0) + max(before, default=0.0)
    assert path.seconds == pytest.approx(max(longest.values(), default=0.0))


# --- (c) a back edge makes a cycle, and validation reports it -----------------------------


def with_back_edge(phases: list[PhaseSpec], waiter: str, waited: str) -> list[PhaseSpec]:
    """The plan where `waiter` also names `waited` in its (depends: …)."""
    changed: list[PhaseSpec] = []
    for phase in phases:
        tasks = []
        for spec in phase.tasks:
            if spec.id == waiter:
                extra = int(waited[1:])
                spec = replace(spec, depends=tuple(sorted({*(spec.depends or ()), extra})))
            tasks.append(spec)
        changed.append(replace(phase, tasks=tuple(tasks)))
    return changed


@PROPERTY_SETTINGS
@given(dag_plans(), st.data())
def test_back_edge_makes_a_cycle_that_validation_reports(
    phases: list[PhaseSpec], data: st.DataObject
) -> None:
    _, graph = build(phases)
    pairs = sorted(
        (ancestor, task_id)
        for task_id in graph.tasks
        for ancestor in task_ancestors(graph, task_id)
    )
    if not pairs:
        return
    ancestor, descendant = data.draw(st.sampled_from(pairs))

    plan, parse_problems = parse_plan(render(with_back_edge(phases, ancestor, descendant)))
    _, problems = validate_plan(plan, agents=AGENTS)

    assert parse_problems == []
    cycles = [problem for problem in problems if problem.message.startswith("dependency cycle: ")]
    assert len(cycles) == 1
    chain = cycles[0].message.removeprefix("dependency cycle: ").split(" → ")
    assert chain[0] == chain[-1]
    assert len(chain) == len(set(chain)) + 1
    on_the_loop = {ancestor, descendant} | (
        task_ancestors(graph, descendant)
        & {node for node in nx.descendants(graph.graph, ancestor) if not is_barrier(node)}
    )
    assert set(chain) <= on_the_loop
    for task_id in chain[:-1]:
        assert re.search(
            rf"\b{re.escape(task_id)} \(line {plan.task(task_id).line}\)", cycles[0].hint
        )
