"""The agent compatibility matrix of seed 001.

- Agents of one **cluster** may always run together, even on shared files: they are
  read-mostly, so they take no file locks against each other.
- A **never_together** pair never overlaps.
- A **singleton** agent runs one instance at a time.
- An **exclusive_with_code** agent never overlaps an agent that modifies code, in both
  directions (a release never starts while code changes, and no code change starts during it).

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable

from pmtui.config.model import CompatConfig


class Compatibility:
    """Answers whether an agent may start beside the agents already running."""

    def __init__(self, rules: CompatConfig, code_agents: frozenset[str]) -> None:
        self._cluster_of: dict[str, set[int]] = {}
        for index, cluster in enumerate(rules.clusters):
            for agent in cluster:
                self._cluster_of.setdefault(agent, set()).add(index)
        self._never_together = rules.never_together
        self._singleton = rules.singleton
        self._exclusive = rules.exclusive_with_code
        self._code_agents = code_agents
        self._constrained = (
            {agent for pair in rules.never_together for agent in pair}
            | set(rules.singleton)
            | set(rules.exclusive_with_code)
        )

    def same_cluster(self, first: str, second: str) -> bool:
        """Whether two agents share a cluster (and so take no file locks against each other)."""
        clusters = self._cluster_of.get(first)
        if not clusters:
            return False
        return not clusters.isdisjoint(self._cluster_of.get(second, ()))

    def clash(self, agent: str, running: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
        """Why `agent` may not start beside `running` (`(task id, agent)` pairs), or None.

        Returns:
            `(reason, running task)`: the reason starts with `compatibility:` and names the
            rule and the agent in the way; the task is the second item.
        """
        if agent not in self._constrained and agent not in self._code_agents:
            return None
        for task_id, other in running:
            reason = self._pair_clash(agent, other)
            if reason is not None:
                # The agent, not the task: the reason stays the same from one holder to the
                # next, so a long queue behind a singleton is announced once per task.
                return f"compatibility: {reason} ({other} is running)", task_id
        return None

    def _pair_clash(self, agent: str, other: str) -> str | None:
        if agent == other and agent in self._singleton:
            return f"{agent} is a singleton: one instance at a time"
        if agent != other and any(agent in pair and other in pair for pair in self._never_together):
            return f"{agent} never runs together with {other}"
        if agent == other and frozenset({agent}) in self._never_together:
            return f"{agent} never runs together with another {agent}"
        if agent in self._exclusive and other in self._code_agents:
            return f"{agent} never runs beside an agent that modifies code"
        if other in self._exclusive and agent in self._code_agents:
            return f"{agent} modifies code, and {other} never runs beside that"
        return None
