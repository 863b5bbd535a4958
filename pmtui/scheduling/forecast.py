"""The dry run: simulate a plan with its estimates and measure the schedule against bounds.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmtui.plan.graph import CriticalPath, PlanGraph
from pmtui.scheduling.decisions import Start
from pmtui.scheduling.scheduler import Scheduler
from pmtui.scheduling.setup import SchedulerSetup
from pmtui.scheduling.simulator import SimulatedAttempt, SimulationResult, simulate


@dataclass(frozen=True, slots=True)
class Forecast:
    """A simulated run of a plan and how good its schedule is."""

    simulation: SimulationResult
    slots: int
    """Normal slots (`max_concurrent`, or `--max-parallel`)."""
    boost_slots: int
    """Slots while boosted (`emergency_boost`)."""
    sequential_s: float
    """The whole remaining work, one task after another."""
    critical_path: CriticalPath

    @property
    def makespan_s(self) -> float:
        """When the simulated run ends."""
        return self.simulation.makespan_s

    @property
    def lower_bound_s(self) -> float:
        """No schedule on `slots` slots can end sooner: `max(critical path, work / slots)`."""
        return max(self.critical_path.seconds, self.sequential_s / self.slots)

    @property
    def speedup(self) -> float:
        """How many times faster than running every task one after another."""
        return self.sequential_s / self.makespan_s if self.makespan_s > 0 else 1.0


def forecast(graph: PlanGraph, setup: SchedulerSetup) -> Forecast:
    """Simulate `graph` under `setup`, each task taking exactly its estimate."""

    def as_estimated(start: Start, _starts: int) -> SimulatedAttempt:
        return SimulatedAttempt(setup.estimates.get(start.task, 0.0))

    simulation = simulate(Scheduler(graph, setup), as_estimated)
    remaining = [task.id for task in graph.tasks.values() if not task.done]
    return Forecast(
        simulation=simulation,
        slots=setup.slots,
        boost_slots=setup.boost_slots,
        sequential_s=sum(setup.estimates.get(task_id, 0.0) for task_id in remaining),
        critical_path=graph.critical_path(lambda task: setup.estimates.get(task.id, 0.0)),
    )
