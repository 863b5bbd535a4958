"""Adding up what an agent reports using into one attempt's tokens and cost.

Agents report usage differently (see `UsageScope`): opencode and Aider per step (they add
up), Claude and Gemini once for the whole attempt (it replaces the steps), Codex as running
totals of its thread, earlier attempts of a resumed session included — so an attempt that
continues a session counts only what it added.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from pmtui.agents.signals import Usage, UsageScope
from pmtui.store.db import AttemptUsage

_Number = TypeVar("_Number", int, float)


class UsageTally:
    """One attempt's usage so far."""

    def __init__(self, session_before: AttemptUsage | None = None) -> None:
        """Args:
        session_before: The session's totals before this attempt (it resumes one): Codex's
            running totals include them, and they must not be counted twice.
        """
        self._before = session_before or AttemptUsage()
        self._steps = AttemptUsage()
        self._whole: AttemptUsage | None = None
        self.seen = False
        """Whether the agent reported any usage."""

    def add(self, usage: Usage) -> AttemptUsage:
        """Count one report; returns the attempt's totals so far."""
        self.seen = True
        if usage.scope is UsageScope.STEP:
            self._steps = added(self._steps, _record(usage))
        elif usage.scope is UsageScope.ATTEMPT:
            self._whole = _record(usage)
        else:
            before = self._before
            self._whole = AttemptUsage(
                max(0, usage.input_tokens - before.input_tokens),
                max(0, usage.output_tokens - before.output_tokens),
                max(0, usage.cache_read_tokens - before.cache_read_tokens),
                max(0, usage.cache_write_tokens - before.cache_write_tokens),
                _cost_since(usage.cost_usd, before.cost_usd),
                usage.turns,
                usage.model,
            )
        return self.total

    @property
    def total(self) -> AttemptUsage:
        """The attempt's totals: the whole-attempt figure when the agent gave one."""
        if self._whole is None:
            return self._steps
        if not self._whole.model and self._steps.model:
            return replace(self._whole, model=self._steps.model)
        return self._whole


def session_total(before: AttemptUsage | None, own: AttemptUsage) -> AttemptUsage:
    """A session's totals after an attempt: what came before plus the attempt's own."""
    return own if before is None else added(before, own)


def added(first: AttemptUsage, second: AttemptUsage) -> AttemptUsage:
    """Two figures added up (a cost or turns unknown on one side is the other's); the model
    named last wins."""
    return AttemptUsage(
        first.input_tokens + second.input_tokens,
        first.output_tokens + second.output_tokens,
        first.cache_read_tokens + second.cache_read_tokens,
        first.cache_write_tokens + second.cache_write_tokens,
        _known_sum(first.cost_usd, second.cost_usd),
        _known_sum(first.turns, second.turns),
        second.model or first.model,
    )


def _record(usage: Usage) -> AttemptUsage:
    return AttemptUsage(
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.cost_usd,
        usage.turns,
        usage.model,
    )


def _cost_since(total: float | None, before: float | None) -> float | None:
    if total is None:
        return None
    return max(0.0, total - (before or 0.0))


def _known_sum(first: _Number | None, second: _Number | None) -> _Number | None:
    if first is None:
        return second
    if second is None:
        return first
    return first + second
