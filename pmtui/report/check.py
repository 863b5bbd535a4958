"""The output of `pmtui check`: problems, then a summary of the plan, as text or JSON."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from pmtui.config.units import format_duration
from pmtui.project import Project

_MAX_WAVES_SHOWN = 12
_MAX_IDS_SHOWN = 10


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:_MAX_IDS_SHOWN])
    return shown + (f" … and {len(ids) - _MAX_IDS_SHOWN} more" if len(ids) > _MAX_IDS_SHOWN else "")


MAX_PROBLEMS_SHOWN = 200
"""A file of garbage yields an error per line; past this many, the rest are counted."""


def render_problems(project: Project) -> str:
    """Every problem (up to `MAX_PROBLEMS_SHOWN`), in file order, then a count line."""
    if not project.problems:
        return ""
    lines = [problem.render() for problem in project.problems[:MAX_PROBLEMS_SHOWN]]
    hidden = len(project.problems) - MAX_PROBLEMS_SHOWN
    if hidden > 0:
        lines.append(f"… {hidden} more problems not shown (pmtui check --json lists them all)")
    errors, warnings = len(project.errors), len(project.warnings)
    counts = []
    if errors:
        counts.append(f"{errors} error{'s' * (errors != 1)}")
    if warnings:
        counts.append(f"{warnings} warning{'s' * (warnings != 1)}")
    lines.append(" and ".join(counts) + ".")
    return "\n".join(lines) + "\n"


def render_summary(project: Project) -> str:
    """What the plan will do: phases, stages, tasks, agents, critical path, width, waves."""
    plan, graph = project.plan, project.graph
    assert plan is not None and graph is not None
    done = sum(task.done for task in plan.tasks)
    agents = Counter(project.agent_of(task) for task in plan.tasks)
    path = project.critical_path()
    waves = graph.waves()
    rows = [
        f"{plan.path}: {plan.title} — ok",
        f"  phases         {len(plan.phases)} in {len(graph.stages)} stage"
        + ("s" if len(graph.stages) != 1 else ""),
        f"  tasks          {len(plan.tasks)}" + (f" ({done} already done)" if done else ""),
        "  agents         " + ", ".join(f"{name} ×{count}" for name, count in agents.most_common()),
    ]
    if path is not None and path.tasks:
        rows.append(
            f"  critical path  {' → '.join(path.tasks[:_MAX_IDS_SHOWN])}"
            + (f" → … ({len(path.tasks)} tasks)" if len(path.tasks) > _MAX_IDS_SHOWN else "")
            + f"  (~{format_duration(path.seconds)})"
        )
    rows.append(f"  width          {graph.width()} (the largest wave)")
    assert project.config is not None
    rows.append("  config         " + " + ".join(["defaults", *project.config.sources]))
    rows.append(f"  waves          {len(waves)}")
    for number, wave in enumerate(waves[:_MAX_WAVES_SHOWN], start=1):
        rows.append(f"    {number:>3}  {_ids(wave)}")
    if len(waves) > _MAX_WAVES_SHOWN:
        rows.append(f"         … {len(waves) - _MAX_WAVES_SHOWN} more waves")
    return "\n".join(rows) + "\n"


def check_json(project: Project) -> dict[str, Any]:
    """The `pmtui check --json` object."""
    path = project.critical_path() if project.ok else None
    return {
        "ok": project.ok,
        "errors": [problem.as_json() for problem in project.errors],
        "warnings": [problem.as_json() for problem in project.warnings],
        "tasks": len(project.plan.tasks) if project.plan is not None else 0,
        "critical_path": list(path.tasks) if path is not None else [],
        "critical_path_s": path.seconds if path is not None else 0.0,
        "width": project.graph.width() if project.ok and project.graph is not None else 0,
    }


def render_check_json(project: Project) -> str:
    """`check_json` as one line of JSON."""
    return json.dumps(check_json(project), ensure_ascii=False) + "\n"
