"""What a run has spent on agents, against its budget and each task's own (docs/design.md §4).

The driver reports each attempt's running totals (`Scheduler.spent`); `Spending` adds them
up per task and per run, and says when a budget is reached. Reasons are worded here, once.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RunBudget:
    """The run's `[budget]` (`--budget` overrides the cost); 0 = no limit."""

    max_cost_usd: float = 0.0
    max_tokens: int = 0

    def reached(self, cost_usd: float, tokens: int) -> bool:
        """Whether spending this much reaches either limit."""
        return (0 < self.max_cost_usd <= cost_usd) or (0 < self.max_tokens <= tokens)

    def reason(self, cost_usd: float, tokens: int) -> str:
        """`budget: $5.02 of $5.00 spent` or `budget: 1.2M of 1M tokens`: the limit reached
        (the cost when both are)."""
        if 0 < self.max_cost_usd <= cost_usd:
            return f"budget: {format_usd(cost_usd)} of {format_usd(self.max_cost_usd)} spent"
        return f"budget: {format_tokens(tokens)} of {format_tokens(self.max_tokens)} tokens"


@dataclass(frozen=True, slots=True)
class SpendingStatus:
    """The run's spending so far, for front ends."""

    cost_usd: float
    """Every attempt's cost, earlier sessions of the run included; unknown costs count 0."""
    tokens: int
    budget: RunBudget
    reached: bool
    """No new agent task starts."""
    unpriced: frozenset[str]
    """Tasks with an attempt whose cost is unknown (a model without a price)."""


def task_budget_reason(budget_usd: float) -> str:
    """Why a task over its own `(budget: $2)` is stopped, and failed: `budget $2.00 spent`."""
    return f"budget {format_usd(budget_usd)} spent"


def format_usd(amount: float) -> str:
    """`$5.00`, `$0.42`, `$1,250.00`."""
    return f"${amount:,.2f}"


def format_tokens(count: int) -> str:
    """`950`, `12.3k`, `950k`, `1M`, `1.2M`: three figures at most."""
    for size, unit in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if count >= size:
            value = count / size
            text = f"{value:.1f}" if value < 100 else f"{value:.0f}"
            return text.removesuffix(".0") + unit
    return str(count)


class Spending:
    """Costs and tokens per task and per run, from each attempt's running totals.

    A report replaces the previous figure of the same attempt (the task's latest one); when
    the task starts a new attempt, the figures of the last one are kept. A task's own count
    covers this session's attempts since it was last retried by the user.
    """

    def __init__(self, cost_before_usd: float = 0.0, tokens_before: int = 0) -> None:
        """Args:
        cost_before_usd: What earlier sessions of the run spent (`--resume`).
        tokens_before: The tokens they used.
        """
        self.cost_usd = cost_before_usd
        self.tokens = tokens_before
        self._attempt: dict[str, tuple[float, int]] = {}
        """Task → its latest attempt's figures as last reported."""
        self._task_cost: dict[str, float] = {}
        """Task → what counts against its own budget."""
        self.unpriced: set[str] = set()

    def report(self, task_id: str, cost_usd: float | None, tokens: int) -> None:
        """The running totals of the task's latest attempt.

        Args:
            task_id: The task.
            cost_usd: The attempt's cost so far; None: unknown (no price for its model), so
                its last known figure stands (0 if none).
            tokens: The attempt's tokens so far.
        """
        old_cost, old_tokens = self._attempt.get(task_id, (0.0, 0))
        if cost_usd is None:
            self.unpriced.add(task_id)
            cost = old_cost
        else:
            cost = max(cost_usd, 0.0)
        tokens = max(tokens, 0)
        self.cost_usd += cost - old_cost
        self.tokens += tokens - old_tokens
        self._task_cost[task_id] = self._task_cost.get(task_id, 0.0) + cost - old_cost
        self._attempt[task_id] = (cost, tokens)

    def new_attempt(self, task_id: str) -> None:
        """The task starts another attempt: reports from now on are that attempt's."""
        self._attempt.pop(task_id, None)

    def restart_task(self, task_id: str) -> None:
        """The user retried the task: its own budget counts afresh (the run's does not)."""
        self._task_cost.pop(task_id, None)

    def task_cost(self, task_id: str) -> float:
        """What the task spent against its own budget."""
        return self._task_cost.get(task_id, 0.0)
