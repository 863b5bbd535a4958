"""The fallback ladder of seed 001: what the next attempt of a failed task is.

A task starts at most `1 + retries` times, and each extra attempt climbs the ladder:

1. **retry** — the same again after a back-off (1 s doubling, capped at 30 s, ±20 % jitter):
   the first extra attempt, as a failure may be passing;
2. **partition** — from the second extra attempt on, when the failure involved shared files
   or a merge conflict and a worktree is possible: the attempt runs in its own worktree;
3. **sequential** — always the last extra attempt when an earlier attempt ran beside other
   tasks (and `fallback_mode` is `sequential`): the pool drains and it runs alone.

Rate limits are not failures: the agent type backs off (30 s doubling, capped at 10 min) and
the attempt is requeued without counting.

Pure: no I/O, no clock; the jitter comes in as a number.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmtui.scheduling.decisions import RetryStep

MAX_RETRY_DELAY_S = 30.0
RETRY_JITTER = 0.2
"""The back-off varies by ±20 % so that tasks failing together do not retry together."""
RATE_LIMIT_FIRST_DELAY_S = 30.0
RATE_LIMIT_MAX_DELAY_S = 600.0


@dataclass(frozen=True, slots=True)
class FailedAttempt:
    """What the ladder needs to know about a task whose attempt just failed."""

    attempts_made: int
    attempts_allowed: int
    ran_beside_others: bool
    """Some attempt of the task overlapped another task."""
    shared_files: bool
    """The failed attempt ran beside a task touching the same files, or left a conflict."""
    isolated: bool
    """The failed attempt already ran in its own worktree."""
    can_isolate: bool
    sequential_allowed: bool
    """`fallback_mode = "sequential"` (the default)."""


def next_step(failure: FailedAttempt) -> RetryStep | None:
    """The rung of the next attempt, or None when the task has no attempts left."""
    if failure.attempts_made >= failure.attempts_allowed:
        return None
    extra_attempt = failure.attempts_made  # 1 for the first extra attempt
    if extra_attempt + 1 == failure.attempts_allowed and (
        failure.ran_beside_others and failure.sequential_allowed
    ):
        return RetryStep.SEQUENTIAL
    if extra_attempt >= 2 and failure.shared_files and failure.can_isolate and not failure.isolated:
        return RetryStep.PARTITION
    return RetryStep.RETRY


def retry_delay(extra_attempt: int, first_delay_s: float, jitter: float) -> float:
    """The back-off before an extra attempt.

    Args:
        extra_attempt: 1 for the first extra attempt, 2 for the second…
        first_delay_s: `retry_delay`.
        jitter: A number in [-1, 1]; scales the ±20 % jitter.
    """
    exponent = min(max(extra_attempt - 1, 0), 32)  # 2**32 s is past any cap
    # A first delay set above the cap is the user's wish: it is kept, just not doubled.
    base = min(first_delay_s * 2.0**exponent, max(MAX_RETRY_DELAY_S, first_delay_s))
    return base * (1.0 + RETRY_JITTER * max(-1.0, min(1.0, jitter)))


def rate_limit_delay(times_in_a_row: int) -> float:
    """How long an agent type backs off after its `times_in_a_row`-th rate limit in a row."""
    exponent = min(max(times_in_a_row - 1, 0), 32)
    return min(RATE_LIMIT_FIRST_DELAY_S * 2.0**exponent, RATE_LIMIT_MAX_DELAY_S)
