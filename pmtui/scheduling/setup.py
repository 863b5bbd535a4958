"""Everything the scheduler needs to know about a run, resolved once before it starts.

Built from the validated config by `SchedulerSetup.from_config`; tests build it directly.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pmtui.config.model import CompatConfig, Config, Strategy
from pmtui.plan.graph import PlanGraph


@dataclass(frozen=True, slots=True)
class SchedulerSetup:
    """The rules of one run: slots, order, compatibility, isolation, estimates, the ladder."""

    agents: Mapping[str, str]
    """The agent of every task, by task id."""
    estimates: Mapping[str, float]
    """The expected seconds of every task (see `estimates.py`)."""
    slots: int = 5
    """Normal slots, numbered 1…slots."""
    boost_slots: int = 8
    """Slots while boosted; slots+1…boost_slots are the boost slots."""
    strategy: Strategy = Strategy.CRITICAL_PATH
    code_agents: frozenset[str] = frozenset()
    """Agents that modify code (`modifies_code = true`)."""
    compat: CompatConfig = field(default_factory=CompatConfig)
    isolated: frozenset[str] = frozenset()
    """Tasks that run in their own worktree: they take no file locks."""
    can_isolate: bool = False
    """Whether a worktree is possible at all (the plan is in a git repository): the
    partition rung of the ladder needs it."""
    retries: Mapping[str, int] = field(default_factory=dict)
    """Extra attempts per task id; a task not listed gets `default_retries`."""
    default_retries: int = 3
    retry_delay_s: float = 1.0
    """The first back-off; doubles, capped at `MAX_RETRY_DELAY_S`, ±20 % jitter."""
    abort_on_failure: bool = False
    """`fallback_mode = "abort"`: any task that ends failed aborts the run."""
    memory_per_agent: int = 256_000_000
    """Bytes one more agent needs: below it, nothing new starts."""
    fail_fast: bool = False
    """Stop starting tasks at the first final failure (else keep going)."""
    seed: int = 0
    """Seeds the back-off jitter: the same seed gives the same schedule."""
    done_before: frozenset[str] = frozenset()
    """Tasks a resumed run already finished `done` (DESIGN.md §7): never rerun."""
    attempts_before: Mapping[str, int] = field(default_factory=dict)
    """Attempts a resumed run already made per task: numbering goes on from there (the
    restarted attempt of a task that was running is `attempt + 1`); the retry budget counts
    this session's attempts only."""

    def retries_of(self, task_id: str) -> int:
        """How many extra attempts a task may have."""
        return self.retries.get(task_id, self.default_retries)

    @classmethod
    def from_config(
        cls,
        graph: PlanGraph,
        config: Config,
        *,
        estimates: Mapping[str, float],
        isolation: bool = False,
        max_parallel: int | None = None,
        fail_fast: bool = False,
        seed: int = 0,
    ) -> SchedulerSetup:
        """The setup of a run of `graph` under `config`.

        Args:
            graph: The validated plan.
            config: The validated config.
            estimates: Seconds per task id.
            isolation: Whether worktrees are on: tasks of code-modifying agents then run
                isolated, and the partition rung is possible.
            max_parallel: `--max-parallel`: overrides `max_concurrent` (boost never below it).
            fail_fast: `--fail-fast`.
            seed: The jitter seed.
        """
        slots = max_parallel if max_parallel is not None else config.pool.max_concurrent
        agents = {
            task.id: config.agent_for(task.agent, task.script is not None)
            for task in graph.tasks.values()
        }
        code_agents = frozenset(
            name for name, agent in config.agents.items() if agent.modifies_code
        )
        isolated = frozenset(
            task_id for task_id, agent in agents.items() if isolation and agent in code_agents
        )
        return cls(
            agents=agents,
            estimates=estimates,
            slots=slots,
            boost_slots=max(config.pool.emergency_boost, slots),
            strategy=config.pool.strategy,
            code_agents=code_agents,
            compat=config.compat,
            isolated=isolated,
            can_isolate=isolation,
            retries={
                task.id: task.retries for task in graph.tasks.values() if task.retries is not None
            },
            default_retries=config.conflicts.max_retries,
            retry_delay_s=config.conflicts.retry_delay_s,
            abort_on_failure=config.conflicts.fallback_mode == "abort",
            memory_per_agent=config.pool.memory_per_agent,
            fail_fast=fail_fast,
            seed=seed,
        )
