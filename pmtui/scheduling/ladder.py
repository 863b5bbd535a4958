"""The fallback ladder of seed 001: what the next attempt of a failed task is.

A task starts at most `1 + retries` times, and each extra attempt climbs the ladder:

1. **retry** — the same again after a back-off (1 s doubling, capped at 30 s, ±20 % jitter):
   the first extra attempt, as a failure may be passing;
2. **partition** — from the second extra attempt on, when the failure involved shared files
   or a merge conflict and a worktree is possible: the attempt runs in its own worktree;
3. **sequential** — the last extra attempt, only when the failure involved shared files or a
   merge conflict after running beside other tasks (and `fallback_mode` is `sequential`): the
   pool drains and it runs alone. An ordinary failure never goes sequential: running alone
   cannot help a task that broke by itself, and draining the pool would cost every other task.

Rate limits are not failures: the agent's provider backs off (30 s doubling, capped at 10 min,
or until the reset time the agent reported) and the attempt is requeued without counting.

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
    """Some attempt of the task overlapped another task (else running alone changes nothing)."""
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
    if (
        extra_attempt + 1 == failure.attempts_allowed
        and failure.shared_files
        and failure.ran_beside_others
        and failure.sequential_allowed
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


@dataclass(frozen=True, slots=True)
class RateLimitBackoff:
    """A provider backing off after a rate limit: none of its tasks starts before `until`."""

    provider: str
    until: float
    """When the back-off ends, on the scheduler's clock (the run's time, not the wall's)."""
    reported: bool
    """`until` is the reset time the agent reported, not the exponential back-off."""


def rate_limit_delay(
    times_in_a_row: int, first_delay_s: float = RATE_LIMIT_FIRST_DELAY_S
) -> float:
    """How long a provider backs off after its `times_in_a_row`-th rate limit in a row:
    `first_delay_s` (`[conflicts] rate_limit_backoff`) doubling, capped at 10 min (a first
    delay set above the cap is kept)."""
    exponent = min(max(times_in_a_row - 1, 0), 32)
    cap = max(RATE_LIMIT_MAX_DELAY_S, first_delay_s)
    return min(first_delay_s * 2.0**exponent, cap)


def rate_limit_backoff(
    provider: str,
    now: float,
    times_in_a_row: int,
    resume_at: float | None,
    first_delay_s: float = RATE_LIMIT_FIRST_DELAY_S,
) -> RateLimitBackoff:
    """The back-off a rate limit at `now` starts.

    Args:
        provider: Whose tasks it holds back.
        now: When the rate limit was reported.
        times_in_a_row: 1 for the provider's first rate limit since a success, 2 for the next…
        resume_at: The reset time the agent reported, if any (same clock as `now`). It is
            kept even past the 10 min cap (the provider knows best); one already past is
            ignored, as waiting 0 s would only hit the limit again.
    """
    if resume_at is not None and resume_at > now:
        return RateLimitBackoff(provider, resume_at, reported=True)
    delay = rate_limit_delay(times_in_a_row, first_delay_s)
    return RateLimitBackoff(provider, now + delay, reported=False)
