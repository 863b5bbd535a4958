"""The forecast of what remains of a run in progress: the dry run, from where the run is.

Pure text: no I/O, no clock, no textual. Tasks already ended count as done; a running task's
estimate is shortened by the time it has run.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import replace

from pmtui.config.units import format_duration
from pmtui.plan.graph import PlanGraph
from pmtui.report.gantt import render_gantt
from pmtui.scheduling.forecast import Forecast, forecast
from pmtui.scheduling.setup import SchedulerSetup

NOTHING_REMAINS = "nothing remains: every task has ended\n"


def forecast_of_remaining(
    graph: PlanGraph,
    setup: SchedulerSetup,
    done: Set[str],
    *,
    running_for: Mapping[str, float] | None = None,
) -> Forecast:
    """Simulate the rest of a run, each remaining task taking what is left of its estimate.

    Args:
        graph: The plan's graph.
        setup: The run's setup.
        done: Tasks that will not run again (ended; the ones ended `done` free their
            dependents).
        running_for: Seconds each running task has run: what remains of it is its estimate
            less that (at least 0).
    """
    estimates = dict(setup.estimates)
    for task in done:
        estimates[task] = 0.0
    for task, seconds in (running_for or {}).items():
        if task not in done:
            estimates[task] = max(estimates.get(task, 0.0) - seconds, 0.0)
    rest = replace(setup, estimates=estimates, done_before=setup.done_before | frozenset(done))
    return forecast(graph, rest)


def forecast_remaining(
    graph: PlanGraph,
    setup: SchedulerSetup,
    done: Set[str],
    *,
    running_for: Mapping[str, float] | None = None,
    width: int = 80,
) -> str:
    """The text forecast of what remains: a line of numbers, then the Gantt chart.

    Times on the chart are seconds from now. See `forecast_of_remaining` for the arguments;
    `width` is the chart's columns.

    Returns:
        The text, ending in a newline.
    """
    result = forecast_of_remaining(graph, setup, done, running_for=running_for)
    if not result.simulation.attempts:
        return NOTHING_REMAINS
    tasks = len({attempt.task for attempt in result.simulation.attempts})
    head = (
        f"about {format_duration(result.makespan_s)} more for {tasks} "
        f"task{'s' * (tasks != 1)} on {result.slots} slots "
        f"(at best {format_duration(result.lower_bound_s)}); times from now"
    )
    return head + "\n" + render_gantt(result, width)
