"""Everything the scheduler needs to know about a run, resolved once before it starts.

Built from the validated config by `SchedulerSetup.from_config`; tests build it directly.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pmtui.config.model import CompatConfig, Config, ParserKind, Strategy
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
    rate_limit_backoff_s: float = 30.0
    """A provider's first back-off after a rate limit; doubles, capped at 10 min."""
    abort_on_failure: bool = False
    """`fallback_mode = "abort"`: any task that ends failed aborts the run."""
    memory_per_agent: int = 256_000_000
    """Bytes one more agent needs: below it, nothing new starts."""
    fail_fast: bool = False
    """Stop starting tasks at the first final failure (else keep going)."""
    seed: int = 0
    """Seeds the back-off jitter: the same seed gives the same schedule."""
    done_before: frozenset[str] = frozenset()
    """Tasks a resumed run already finished `done` (docs/design.md §7): never rerun."""
    attempts_before: Mapping[str, int] = field(default_factory=dict)
    """Attempts a resumed run already made per task: numbering goes on from there (the
    restarted attempt of a task that was running is `attempt + 1`); the retry budget counts
    this session's attempts only."""
    providers: Mapping[str, str] = field(default_factory=dict)
    """Whose rate limits each task's agent shares (`anthropic`…), by task id: every task of
    a provider backs off together. A task not listed has its agent's name as provider."""
    metered: frozenset[str] = frozenset()
    """Agent tasks: those whose agent reports its usage (a real agent CLI's parser, not
    `progress`). Only they are held back by the run's budget; shell and demo tasks run on."""
    max_cost_usd: float = 0.0
    """The run's budget in US dollars (`[budget]`, `--budget`); 0 = none."""
    max_tokens: int = 0
    """The run's budget in tokens; 0 = none."""
    task_budgets: Mapping[str, float] = field(default_factory=dict)
    """Each task's own `(budget: $N)` in US dollars, by task id; a task not listed has none."""
    spent_before_usd: float = 0.0
    """What earlier sessions of a resumed run spent: it counts against the run's budget."""
    tokens_before: int = 0
    """The tokens earlier sessions of a resumed run used."""

    def retries_of(self, task_id: str) -> int:
        """How many extra attempts a task may have."""
        return self.retries.get(task_id, self.default_retries)

    def provider_of(self, task_id: str) -> str:
        """The provider whose rate limits hold a task back: its agent's name unless set."""
        return self.providers.get(task_id) or self.agents[task_id]

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

        The run's budget is `config.budget` (`--budget` is applied to the config before);
        what earlier sessions spent (`spent_before_usd`, `tokens_before`) is the caller's to
        add on `--resume`, from the store.

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
        # A task with no agent ("") never reaches a live run; its key is then "" too.
        providers = {
            task_id: (config.agents[agent].provider if agent in config.agents else "") or agent
            for task_id, agent in agents.items()
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
            providers=providers,
            slots=slots,
            boost_slots=max(config.pool.emergency_boost, slots),
            strategy=config.pool.strategy,
            code_agents=code_agents,
            compat=config.compat,
            isolated=isolated,
            can_isolate=isolation,
            # A task's own `retries:`, else its agent's (1 for the agent CLIs), else the pool's.
            retries={
                task.id: config.retries_for(agents[task.id], task.retries)
                for task in graph.tasks.values()
            },
            default_retries=config.conflicts.max_retries,
            retry_delay_s=config.conflicts.retry_delay_s,
            rate_limit_backoff_s=config.conflicts.rate_limit_backoff_s,
            abort_on_failure=config.conflicts.fallback_mode == "abort",
            memory_per_agent=config.pool.memory_per_agent,
            fail_fast=fail_fast,
            seed=seed,
            metered=frozenset(
                task_id
                for task_id, agent in agents.items()
                if agent in config.agents and config.agents[agent].parser is not ParserKind.PROGRESS
            ),
            max_cost_usd=config.budget.max_cost_usd,
            max_tokens=config.budget.max_tokens,
            task_budgets={
                task.id: task.budget_usd
                for task in graph.tasks.values()
                if task.budget_usd is not None
            },
        )
