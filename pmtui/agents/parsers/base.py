"""The contract every agent-output parser keeps.

A parser reads one attempt's output, line by line (stdout and stderr merged, in order, no
line end), and answers each line with the signals it carries. At the end it judges the
attempt from everything it saw and the exit code. One parser object per attempt.

A parser never raises on input: a malformed or unknown line gives an empty list (the raw
line is in the task's log anyway). Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod

from pmtui.agents.signals import (
    AgentOutcome,
    Progress,
    RateLimited,
    Signal,
    Verdict,
)

PROGRESS_PREFIX = "::progress::"
_PROGRESS = re.compile(r"::progress::\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+))%?(?:\s+(.*?))?\s*")


class OutputParser(ABC):
    """Turns an attempt's output lines into signals, and its end into a verdict."""

    def feed(self, line: str) -> list[Signal]:
        """The signals one output line carries (none for a line it does not know)."""
        progress = parse_progress_line(line)
        if progress is not None:
            return [progress]
        try:
            return self.read(line)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError):
            return []  # a line shaped unlike the format: logged, never a crash

    @abstractmethod
    def read(self, line: str) -> list[Signal]:
        """The format's own reading of one line (may raise on odd shapes: `feed` catches)."""

    @abstractmethod
    def finish(self, exit_code: int | None, killed: bool) -> Verdict:
        """How the attempt ended.

        Args:
            exit_code: The process's exit status; None when it died of a signal or never
                started.
            killed: pmtui ended it (timeout, stop, abort): the exit code says nothing then.
        """


def exit_verdict(exit_code: int | None, rate_limit: RateLimited | None = None) -> Verdict:
    """The plain reading: exit 0 succeeded, anything else failed (`exit N`), and a rate
    limit seen on the way makes any failure a rate limit."""
    if exit_code == 0 and rate_limit is None:
        return Verdict(AgentOutcome.SUCCEEDED)
    if rate_limit is not None:
        return Verdict(AgentOutcome.RATE_LIMITED, rate_limit_reason(rate_limit), rate_limit)
    return Verdict(AgentOutcome.FAILED, f"exit {exit_code}" if exit_code is not None else "")


def rate_limit_reason(limit: RateLimited) -> str:
    """`rate limited (429)`, `rate limited (overloaded)`, `rate limited (usage-limit)`."""
    detail = str(limit.status) if limit.status is not None else limit.kind.value
    return f"rate limited ({detail})"


def parse_progress_line(line: str) -> Progress | None:
    """`::progress::75 Implementing` as Progress(75.0, "Implementing"); else None.

    The percent may have decimals and a `%`; it is clamped to 0–100.
    """
    if not line.startswith(PROGRESS_PREFIX):
        return None
    match = _PROGRESS.fullmatch(line)
    if match is None:
        return None
    percent = min(100.0, max(0.0, float(match.group(1))))
    return Progress(percent, match.group(2) or "")


class ProgressParser(OutputParser):
    """pmtui's own protocol: only `::progress::` lines mean anything; the exit code decides."""

    def read(self, line: str) -> list[Signal]:
        return []

    def finish(self, exit_code: int | None, killed: bool) -> Verdict:
        if killed:
            return Verdict(AgentOutcome.FAILED)
        return exit_verdict(exit_code)
