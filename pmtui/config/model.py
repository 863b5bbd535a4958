"""Typed, immutable configuration: what `pmtui.toml` means once validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


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


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """The slots and the limits each task runs under."""

    max_concurrent: int = 5
    emergency_boost: int = 8
    memory_per_agent: int = 256_000_000
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

    def agent_for(self, agent: str | None, has_script: bool) -> str:
        """The agent a task runs with: its own, else `default_agent`, else shell or demo."""
        if agent:
            return agent
        if self.pool.default_agent:
            return self.pool.default_agent
        return "shell" if has_script else "demo"

    def timeout_for(self, agent: str, task_timeout_s: float | None) -> float:
        """A task's timeout: its own, else its agent's, else the pool's default."""
        if task_timeout_s is not None:
            return task_timeout_s
        agent_timeout = self.agents[agent].timeout_s if agent in self.agents else None
        return agent_timeout if agent_timeout is not None else self.pool.default_timeout_s
