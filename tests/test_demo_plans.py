"""The bundled demo plans stay valid and keep the features they exist to show.

Also checks that bench/gen_plan.py is deterministic and that stress-300.md is its output.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pmtui.plan.model import PhaseMode, Priority
from pmtui.project import Project, load_project
from tests.cli_support import demo_by_default

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "demo_plans"
GEN_PLAN = ROOT / "bench" / "gen_plan.py"
PLAN_NAMES = (
    "investigation.md",
    "pipeline.md",
    "emergency.md",
    "feature.md",
    "stress-300.md",
    "git-parallel.md",
)
SEED_AGENTS = {
    "swebok-engineer", "architect-agent", "qa-engineer", "error-handler", "performance-agent",
    "security-agent", "compliance-agent", "test-fixer-agent", "obsidian-test-agent",
    "ui-test-expert", "release-agent", "state-persistence-agent", "meta-agent", "agent-factory",
    "product-manager", "babok-agent", "ux-researcher", "technical-stabilization", "monitoring",
    "rollback", "alerts",
}  # fmt: skip


def _load(name: str) -> Project:
    project = load_project(PLANS / name)
    assert project.plan is not None and project.graph is not None
    return project


@pytest.fixture(scope="module")
def gen_plan() -> dict[str, Any]:
    return runpy.run_path(str(GEN_PLAN))


def test_the_git_demo_has_parallel_shell_tasks_a_dependency_and_one_conflict() -> None:
    project = _load("git-parallel.md")
    assert project.plan is not None and project.graph is not None
    tasks = {task.id: task for task in project.plan.tasks}
    assert {project.agent_of(task) for task in tasks.values()} == {"shell"}
    first = project.plan.phases[0]
    assert first.mode is PhaseMode.PARALLEL and len(first.tasks) == 4
    assert project.graph.dependencies("2.1") == ["1.1"]
    assert tasks["1.3"].retries == 0 and tasks["1.4"].retries == 0
    assert "README.md" in tasks["1.3"].files and "README.md" in tasks["1.4"].files
    assert "src/greet.py" in tasks["1.1"].script  # type: ignore[operator]
    # Inside a repository the two README tasks are predicted to meet in the merge queue.
    assert any("meet in the merge queue" in problem.message for problem in project.warnings)


def test_the_demo_plans_run_their_roles_as_the_simulated_agent_when_used_in_place() -> None:
    """demo_plans/pmtui.toml names `demo`: pmtui never simulates a role silently."""
    project = _load("pipeline.md")
    assert project.config is not None
    assert project.config.pool.default_agent == "demo"
    assert project.config.sources[-1].endswith("demo_plans/pmtui.toml")
    for task in project.plan.tasks if project.plan else ():
        agent = project.config.agents[project.agent_of(task)]
        assert agent.base == "demo" and agent.bound


def test_exactly_the_six_demo_plans() -> None:
    assert sorted(path.name for path in PLANS.glob("*.md")) == sorted(PLAN_NAMES)


@pytest.mark.parametrize("name", PLAN_NAMES)
def test_plan_has_no_errors(name: str) -> None:
    project = _load(name)
    assert project.errors == [], [problem.render() for problem in project.errors]
    assert project.critical_path() is not None


@pytest.mark.parametrize("name", PLAN_NAMES)
def test_every_task_line_names_an_agent_or_has_a_script(name: str) -> None:
    plan = _load(name).plan
    assert plan is not None
    for task in plan.tasks:
        assert task.agent is not None or task.script is not None, task.id


@pytest.mark.parametrize("name", ("investigation.md", "pipeline.md", "emergency.md"))
def test_pattern_plans_have_no_warnings(name: str) -> None:
    assert _load(name).warnings == []


def test_investigation_is_three_parallel_investigators_then_a_synthesis() -> None:
    project = _load("investigation.md")
    assert project.graph is not None
    waves = project.graph.waves()
    assert len(waves) == 2
    first = {project.graph.tasks[task_id].agent for task_id in waves[0]}
    assert first == {"error-handler", "qa-engineer", "performance-agent"}
    (synthesis,) = waves[1]
    assert set(project.graph.dependencies(synthesis)) == set(waves[0])


def test_pipeline_is_the_three_stages_of_seed_001() -> None:
    project = _load("pipeline.md")
    assert project.graph is not None and project.plan is not None
    stages = [
        {task.agent for index in stage for task in project.plan.phases[index].tasks}
        for stage in project.graph.stages
    ]
    assert stages == [
        {"product-manager", "babok-agent", "ux-researcher"},
        {"swebok-engineer", "architect-agent"},
        {"qa-engineer", "security-agent", "performance-agent"},
    ]
    assert len(project.graph.waves()) == 3


def test_emergency_uses_the_five_responders_and_has_a_critical_task() -> None:
    project = _load("emergency.md")
    assert project.plan is not None and project.graph is not None
    agents = {task.agent for task in project.plan.tasks}
    assert {"technical-stabilization", "error-handler", "monitoring", "rollback", "alerts"} <= (
        agents
    )
    critical = [task for task in project.plan.tasks if task.priority is Priority.CRITICAL]
    assert critical
    # More tasks ready at once than the 5 normal slots, so the boost slots matter.
    assert project.graph.width() > 5
    assert len(project.plan.phases) >= 2


def test_feature_plan_shows_every_feature() -> None:
    project = _load("feature.md")
    plan, graph = project.plan, project.graph
    assert plan is not None and graph is not None
    assert 30 <= len(plan.tasks) <= 40
    modes = {phase.mode for phase in plan.phases}
    assert PhaseMode.PARALLEL in modes and PhaseMode.SEQUENTIAL in modes
    by_id = {task.id: task for task in plan.tasks}
    cross_phase = [
        task
        for task in plan.tasks
        if task.depends and any(by_id[dep].phase != task.phase for dep in task.depends)
    ]
    assert len(cross_phase) >= 5
    assert any(task.priority is Priority.CRITICAL for task in plan.tasks)
    scripts = [task for task in plan.tasks if task.script is not None]
    # Its scripts name the shell agent: beside them, default_agent = "demo" runs the roles.
    assert scripts and all(project.agent_of(task) == "shell" for task in scripts)
    assert any(task.body and task.script is None for task in plan.tasks)
    touched = Counter(path for task in plan.tasks for path in task.files)
    assert any(count >= 2 for count in touched.values())
    assert {task.agent for task in plan.tasks if task.agent} <= SEED_AGENTS | {"shell"}
    estimates = [task.estimate_s for task in plan.tasks if not task.done]
    assert all(estimate is not None and 3 <= estimate <= 20 for estimate in estimates)
    path = project.critical_path()
    assert path is not None and 60 <= path.seconds <= 120


def test_stress_plan_has_300_tasks_of_every_kind() -> None:
    project = _load("stress-300.md")
    plan = project.plan
    assert plan is not None
    assert len(plan.tasks) == 300
    assert {phase.mode for phase in plan.phases} == set(PhaseMode)
    assert any(task.depends for task in plan.tasks)
    assert {task.priority for task in plan.tasks} == set(Priority)
    assert all(task.estimate_s is not None and 1 <= task.estimate_s <= 10 for task in plan.tasks)
    assert {task.agent for task in plan.tasks} <= SEED_AGENTS | {"demo"}


def test_stress_plan_says_how_it_was_generated_and_is_that_output(
    gen_plan: dict[str, Any],
) -> None:
    text = (PLANS / "stress-300.md").read_text(encoding="utf-8")
    command = "python bench/gen_plan.py --tasks 300 --seed 1"
    assert command in text.split("\n", 1)[0]
    phases = gen_plan["generate"](300, 1)
    assert gen_plan["render_markdown"](phases, command) == text


def test_gen_plan_is_deterministic_for_a_seed(gen_plan: dict[str, Any]) -> None:
    render, generate = gen_plan["render_markdown"], gen_plan["generate"]
    first = render(generate(500, 7), "cmd")
    assert first == render(generate(500, 7), "cmd")
    assert first != render(generate(500, 8), "cmd")
    make = gen_plan["render_makefile"]
    assert make(generate(500, 7)) == make(generate(500, 7))


def test_gen_plan_command_line_prints_the_same_plan_twice(tmp_path: Path) -> None:
    argv = [sys.executable, str(GEN_PLAN), "--tasks", "120", "--seed", "3"]
    outputs = [
        subprocess.run(argv, capture_output=True, text=True, check=True).stdout for _ in "ab"
    ]
    assert outputs[0] == outputs[1]
    plan = tmp_path / "gen.md"
    plan.write_text(outputs[0], encoding="utf-8")
    demo_by_default(tmp_path)  # its seed roles run as the simulated agent
    project = load_project(plan)
    assert project.errors == []
    assert project.plan is not None and len(project.plan.tasks) == 120


@pytest.mark.parametrize("tasks", [1, 2, 37, 1000])
def test_generated_plans_are_valid_and_exact(
    gen_plan: dict[str, Any], tasks: int, tmp_path: Path
) -> None:
    phases = gen_plan["generate"](tasks, 11)
    assert sum(len(phase.tasks) for phase in phases) == tasks
    plan = tmp_path / "gen.md"
    plan.write_text(gen_plan["render_markdown"](phases, "cmd"), encoding="utf-8")
    demo_by_default(tmp_path)  # its seed roles run as the simulated agent
    project = load_project(plan)
    assert project.problems == ()
    assert project.plan is not None and len(project.plan.tasks) == tasks
