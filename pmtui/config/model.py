"""Typed, immutable configuration: what `pmtui.toml` means once validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class ParserKind(StrEnum):
    """How an agent's output is read (`[agents.NAME] parser`): each real agent CLI prints its
    own format; `progress` is pmtui's `::progress::` line protocol (any program)."""

    CLAUDE = "claude-stream-json"
    CODEX = "codex-json"
    GEMINI = "gemini-stream-json"
    OPENCODE = "opencode-json"
    AIDER = "aider-text"
    PROGRESS = "progress"


class Strategy(StrEnum):
    """How the scheduler orders ready tasks."""

    CRITICAL_PATH = "critical-path"
    DEPENDENCY_FIRST = "dependency-first"
    PRIORITY = "priority"
    FIFO = "fifo"
    COST_FIRST = "cost-first"


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """One agent: the program a task is handed to, and how it behaves."""

    name: str
    command: tuple[str, ...]
    modifies_code: bool
    timeout_s: float | None
    """None: the pool's `default_timeout`."""
    estimate_s: float
    stdin: str
    """`none` or `prompt`."""
    rate_limit_pattern: str
    parser: ParserKind = ParserKind.PROGRESS
    """How its output is read (a real agent CLI's JSON, or `::progress::` lines)."""
    provider: str = ""
    """Whose rate limits it shares (`anthropic`, `openai`…): every agent of a provider backs
    off together. "" = its own."""
    model: str = ""
    """Passed with the CLI's model flag when set."""
    max_turns: int | None = None
    args: tuple[str, ...] = ()
    """Extra arguments, put before the prompt."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Added to the agent's environment."""
    resume: tuple[str, ...] = ()
    """Arguments that continue a session, with `{session_id}` (e.g. `--resume {session_id}`);
    () = the agent cannot resume."""
    retries: int | None = None
    """Extra attempts of its tasks; None = `conflicts.max_retries`."""
    resume_on_failure: bool = False
    """After an ordinary failure, the next attempt continues the session too (by default
    only an interrupted attempt's session is continued; a failed one starts afresh)."""
    base: str = ""
    """For a role: the agent it runs as (resolved: `[pool] default_agent` when unset)."""
    role: str = ""
    """For a role: text put before each task's prompt."""
    api_key_env: tuple[str, ...] = ()
    """The environment variables that hold its API key (any one will do)."""
    install: str = ""
    """How to install its program (shown when it is missing)."""
    min_version: str = ""
    """The oldest version of its program whose flags pmtui knows (older: a warning)."""

    @property
    def bound(self) -> bool:
        """Whether it can run: a role with no base agent (and no default_agent) cannot."""
        return bool(self.command)

    @property
    def program(self) -> str:
        """The program it runs (argv[0]), "" when unbound."""
        return self.command[0] if self.command else ""


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """The slots and the limits each task runs under."""

    max_concurrent: int = 5
    emergency_boost: int = 8
    memory_per_agent: int = 4_000_000_000
    cpu_per_agent: float = 20.0
    default_timeout_s: float = 3600.0
    strategy: Strategy = Strategy.CRITICAL_PATH
    default_agent: str = ""
    workdir: str = ""
    pause_mode: str = "soft"


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """The live monitor and headless progress lines."""

    refresh_interval_s: float = 2.0
    detail_level: str = "high"
    show_performance: bool = True
    theme: str = "pmtui-dark"


@dataclass(frozen=True, slots=True)
class ConflictsConfig:
    """Failures, retries and merge conflicts."""

    auto_resolve: bool = True
    max_retries: int = 3
    retry_delay_s: float = 1.0
    rate_limit_backoff_s: float = 30.0
    """A provider's first back-off after a rate limit (doubles, capped at 10 min), unless
    the agent said when the limit resets."""
    fallback_mode: str = "sequential"
    isolation: str = "auto"


@dataclass(frozen=True, slots=True)
class IsolationConfig:
    """How each task's worktree is prepared."""

    base: str = ""
    setup: tuple[str, ...] = ()
    copy_files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MergeConfig:
    """The serial merge queue."""

    check: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CompatConfig:
    """The compatibility matrix of seed 001."""

    clusters: tuple[frozenset[str], ...] = ()
    never_together: tuple[frozenset[str], ...] = ()
    singleton: frozenset[str] = frozenset()
    exclusive_with_code: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    """What one run may spend on agents (`[budget]`); 0 = no limit."""

    max_cost_usd: float = 0.0
    """Dollars, over every attempt of the run (its earlier sessions too, after `--resume`)."""
    max_tokens: int = 0
    """Tokens agents report: input, output and cache reads (cache writes are not counted)."""


@dataclass(frozen=True, slots=True)
class Price:
    """A model's list price in US dollars per million tokens (`[prices."MODEL"]`)."""

    input_per_mtok: float
    output_per_mtok: float
    cache_read_per_mtok: float
    """Cached input read back (default: a tenth of the input price)."""


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated configuration."""

    pool: PoolConfig
    monitor: MonitorConfig
    conflicts: ConflictsConfig
    isolation: IsolationConfig
    merge: MergeConfig
    agents: Mapping[str, AgentConfig]
    compat: CompatConfig
    keys: Mapping[str, str]
    sources: tuple[str, ...] = field(default=())
    """The files merged over the defaults, farthest first."""
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    prices: Mapping[str, Price] = field(default_factory=dict)
    """By model name, for agents that report tokens but no cost (Codex, Gemini CLI)."""

    def agent_for(self, agent: str | None, has_script: bool) -> str:
        """The agent a task runs with: its own, else `default_agent`, else `shell` for a task
        with a script; "" when it has none (`pmtui check` reports it, never a simulator)."""
        if agent:
            return agent
        if self.pool.default_agent:
            return self.pool.default_agent
        return "shell" if has_script else ""

    def retries_for(self, agent: str, task_retries: int | None) -> int:
        """Extra attempts of a task: its own `retries:`, else its agent's, else the pool's."""
        if task_retries is not None:
            return task_retries
        configured = self.agents[agent].retries if agent in self.agents else None
        return configured if configured is not None else self.conflicts.max_retries

    def timeout_for(self, agent: str, task_timeout_s: float | None) -> float:
        """A task's timeout: its own, else its agent's, else the pool's default."""
        if task_timeout_s is not None:
            return task_timeout_s
        agent_timeout = self.agents[agent].timeout_s if agent in self.agents else None
        return agent_timeout if agent_timeout is not None else self.pool.default_timeout_s
