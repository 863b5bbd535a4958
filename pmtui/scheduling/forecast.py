"""The dry run: simulate a plan with its estimates and measure the schedule against bounds.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmtui.config.units import format_duration
from pmtui.plan.graph import CriticalPath, PlanGraph
from pmtui.plan.model import Priority
from pmtui.scheduling.decisions import Start
from pmtui.scheduling.scheduler import Scheduler
from pmtui.scheduling.setup import SchedulerSetup
from pmtui.scheduling.simulator import SimulatedAttempt, SimulationResult, simulate


@dataclass(frozen=True, slots=True)
class BoundTerm:
    """One lower bound of the makespan, with what it is."""

    label: str
    seconds: float


def _s(seconds: float) -> str:
    return format_duration(seconds)


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
    critical_work_s: float = 0.0
    """The part of `sequential_s` that `critical` tasks do: only they may use boost slots."""

    @property
    def makespan_s(self) -> float:
        """When the simulated run ends."""
        return self.simulation.makespan_s

    @property
    def bound_terms(self) -> tuple[BoundTerm, ...]:
        """The lower bounds no schedule can beat; the largest is `lower_bound_s`.

        docs/design.md §8's `max(critical path, total work / slots)`. When critical tasks may
        open boost slots, work / slots is no bound for them: then the work is shared by the
        boost slots at best, and the non-critical work by the normal slots.
        """
        path = BoundTerm("the critical path", self.critical_path.seconds)
        work = self.sequential_s
        if self.critical_work_s <= 0 or self.boost_slots <= self.slots:
            return (path, BoundTerm(f"work / slots ({_s(work)} / {self.slots})", work / self.slots))
        normal_work = work - self.critical_work_s
        boost = self.boost_slots
        return (
            path,
            BoundTerm(f"work / boost slots ({_s(work)} / {boost})", work / boost),
            BoundTerm(
                f"non-critical work / slots ({_s(normal_work)} / {self.slots})",
                normal_work / self.slots,
            ),
        )

    @property
    def lower_bound_s(self) -> float:
        """No schedule on these slots can end sooner (see `bound_terms`)."""
        return max(term.seconds for term in self.bound_terms)

    @property
    def speedup(self) -> float:
        """How many times faster than running every task one after another."""
        return self.sequential_s / self.makespan_s if self.makespan_s > 0 else 1.0


def forecast(graph: PlanGraph, setup: SchedulerSetup) -> Forecast:
    """Simulate `graph` under `setup`, each task taking exactly its estimate."""

    def as_estimated(start: Start, _starts: int) -> SimulatedAttempt:
        return SimulatedAttempt(setup.estimates.get(start.task, 0.0))

    simulation = simulate(Scheduler(graph, setup), as_estimated)
    remaining = [task for task in graph.tasks.values() if not task.done]
    return Forecast(
        simulation=simulation,
        slots=setup.slots,
        boost_slots=setup.boost_slots,
        sequential_s=sum(setup.estimates.get(task.id, 0.0) for task in remaining),
        critical_path=graph.critical_path(lambda task: setup.estimates.get(task.id, 0.0)),
        critical_work_s=sum(
            setup.estimates.get(task.id, 0.0)
            for task in remaining
            if task.priority is Priority.CRITICAL
        ),
    )
