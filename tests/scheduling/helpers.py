"""Building plans and schedulers for the scheduling tests, and reading what they answer.

Plans are written as Markdown and parsed, so each test reads as the plan it runs. Time is
virtual: every call takes the instant it happens at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from textwrap import dedent
from typing import Any, TypeVar

from pmtui.config.loader import load_config
from pmtui.config.model import Config
from pmtui.plan.errors import Severity
from pmtui.plan.graph import PlanGraph
from pmtui.plan.parser import parse_plan
from pmtui.plan.validate import validate_plan
from pmtui.scheduling.decisions import Outcome, Output, Start, TaskFinished, TaskWaiting
from pmtui.scheduling.scheduler import Scheduler
from pmtui.scheduling.setup import SchedulerSetup
from pmtui.scheduling.simulator import AttemptModel, SimulatedAttempt


def default_config() -> Config:
    """The built-in defaults: the 21 seed agents and the seed 001 compatibility matrix."""
    config, problems = load_config([])
    assert config is not None, problems
    return config


CONFIG = default_config()

CODE_AGENTS = (
    "swebok-engineer",
    "architect-agent",
    "test-fixer-agent",
    "technical-stabilization",
    "rollback",
    "agent-factory",
)
"""The seed agents that modify code (docs/design.md §3)."""

T = TypeVar("T")


def graph_of(text: str) -> PlanGraph:
    """The validated graph of a Markdown plan; fails the test on any plan error."""
    plan, problems = parse_plan(dedent(text).strip() + "\n", "plan.md")
    graph, more = validate_plan(plan, agents=CONFIG.agents)
    errors = [p.render() for p in [*problems, *more] if p.severity is Severity.ERROR]
    assert not errors, errors
    return graph


def setup_of(
    graph: PlanGraph,
    *,
    estimates: Mapping[str, float] | None = None,
    config: Config = CONFIG,
    **changes: Any,
) -> SchedulerSetup:
    """The setup `from_config` builds (10 s per task unless told), with `changes` applied."""
    seconds = dict.fromkeys(graph.tasks, 10.0)
    seconds.update(estimates or {})
    return replace(SchedulerSetup.from_config(graph, config, estimates=seconds), **changes)


def scheduler_of(text: str, **changes: Any) -> Scheduler:
    """A fresh scheduler for a Markdown plan under the default config."""
    graph = graph_of(text)
    return Scheduler(graph, setup_of(graph, **changes))


def of_type(outputs: Iterable[Output], kind: type[T]) -> list[T]:
    """The outputs of one type, in order."""
    return [output for output in outputs if isinstance(output, kind)]


def started(outputs: Iterable[Output]) -> list[str]:
    """The ids of the tasks started, in order."""
    return [start.task for start in of_type(outputs, Start)]


def waiting(outputs: Iterable[Output]) -> dict[str, str]:
    """The last waiting reason of each task that was held back."""
    return {notice.task: notice.reason for notice in of_type(outputs, TaskWaiting)}


def finished(outputs: Iterable[Output]) -> dict[str, TaskFinished]:
    """The `TaskFinished` notice of each task (the last one, when a retry reopened it)."""
    return {notice.task: notice for notice in of_type(outputs, TaskFinished)}


def scripted(
    attempts: Mapping[tuple[str, int], SimulatedAttempt] | None = None,
    *,
    seconds: float = 10.0,
    durations: Mapping[str, float] | None = None,
) -> AttemptModel:
    """A model where `(task, nth start)` goes as listed and every other start succeeds.

    Args:
        attempts: Scripted attempts by task id and 1-based start count.
        seconds: How long an unscripted attempt takes.
        durations: Per-task length of unscripted attempts.
    """
    script = dict(attempts or {})
    lengths = dict(durations or {})

    def model(start: Start, nth: int) -> SimulatedAttempt:
        return script.get((start.task, nth), SimulatedAttempt(lengths.get(start.task, seconds)))

    return model


def failing(seconds: float = 10.0, exit_code: int = 1) -> SimulatedAttempt:
    """An attempt that exits with `exit_code` after `seconds`."""
    return SimulatedAttempt(seconds, Outcome.FAILED, exit_code, f"exit {exit_code}")
