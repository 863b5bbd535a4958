"""How long a task is expected to take (docs/design.md §4).

The median of the last 5 successful durations of the same task from the run history; else
the task's `estimate:`; else its agent's `estimate`. The history is an interface so the
store can plug in; this module only does the arithmetic.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median
from typing import Protocol

from pmtui.config.model import Config
from pmtui.plan.model import Plan, Task

HISTORY_DEPTH = 5
"""How many recent successful runs of a task the history estimate looks at."""


class History(Protocol):
    """Past runs, as the store keeps them."""

    def successful_durations(self, plan_path: str, task_id: str, limit: int) -> Sequence[float]:
        """The durations in seconds of the task's last `limit` successful attempts."""
        ...


class NoHistory:
    """A history with no runs in it (first runs, dry runs without a store)."""

    def successful_durations(self, plan_path: str, task_id: str, limit: int) -> Sequence[float]:
        """Nothing: no run was ever recorded."""
        return ()


def estimate_task(task: Task, plan_path: str, config: Config, history: History) -> float:
    """The expected seconds of one task: history median, else `estimate:`, else the agent's."""
    past = history.successful_durations(plan_path, task.id, HISTORY_DEPTH)
    if past:
        return float(median(past[:HISTORY_DEPTH]))
    if task.estimate_s is not None:
        return task.estimate_s
    agent = config.agents.get(config.agent_for(task.agent, task.script is not None))
    return agent.estimate_s if agent is not None else 0.0


def estimate_tasks(plan: Plan, config: Config, history: History | None = None) -> dict[str, float]:
    """The expected seconds of every task of a plan, by id (the first of duplicate ids)."""
    source = history if history is not None else NoHistory()
    estimates: dict[str, float] = {}
    for task in plan.tasks:
        if task.id not in estimates:
            estimates[task.id] = estimate_task(task, plan.path, config, source)
    return estimates
