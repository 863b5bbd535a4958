"""What an agent's output means, in one typed vocabulary shared by every parser.

Each real agent CLI prints its own format (Claude's stream-json, Codex's JSON events,
Gemini's stream-json, opencode's JSON, Aider's text); a parser (`pmtui.agents.parsers`)
turns each line into zero or more of these signals, and at the end gives a `Verdict`: how
the attempt really ended, which the exit code alone does not say (Claude exits 0 with a
denied tool, Aider exits 0 when it gave up).

The engine turns signals into events (activity → `task_progress`, usage → `task_usage`),
keeps the session id for resuming, and reports the verdict to the scheduler. Front ends
render them; nothing decides on the text of a message.

Pure: plain frozen data, no I/O, no clock (a reset time is what the agent said: an epoch
time, a delay, or a time of day that the engine places on the calendar).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class SessionStarted:
    """The agent's session (Claude's session_id, Codex's thread_id…): kept to resume it."""

    session_id: str
    model: str = ""


@dataclass(frozen=True, slots=True)
class Activity:
    """What the agent is doing now, short enough for the monitor's row: `Edit src/auth.py`,
    `Bash: pytest -q`, `turn 3`."""

    message: str


@dataclass(frozen=True, slots=True)
class Progress:
    """A `::progress::75 Implementing` line: a percent the agent reported itself."""

    percent: float
    message: str


class TranscriptKind(StrEnum):
    """One entry of the readable transcript the log screen shows."""

    ASSISTANT = "assistant"
    """Text the model wrote."""
    TOOL_CALL = "tool"
    """A tool the agent called, with its main argument."""
    TOOL_RESULT = "result"
    """What the tool gave back (cut to a few lines)."""
    ERROR = "error"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Transcript:
    """A line of the readable transcript."""

    kind: TranscriptKind
    text: str


class UsageScope(StrEnum):
    """How a `Usage` figure relates to the attempt's other figures."""

    STEP = "step"
    """One step's own tokens (opencode's step_finish, Aider's message): they add up."""
    ATTEMPT = "attempt"
    """The whole attempt's total (Claude's result): replaces the steps counted so far."""
    SESSION = "session"
    """A running total over the whole session, earlier attempts included (Codex's thread
    totals after `resume`): the attempt's own share is this minus the session's total when
    the attempt began."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens (and cost, when the agent reports it) of one step or of the whole attempt."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float | None = None
    """None: the agent reports no cost (Codex, Gemini): priced from `[prices]` by model."""
    turns: int | None = None
    model: str = ""
    scope: UsageScope = UsageScope.STEP
    """How this figure adds up with the attempt's others."""

    @property
    def tokens(self) -> int:
        """Every token counted: input, output and cache."""
        cache = self.cache_read_tokens + self.cache_write_tokens
        return self.input_tokens + self.output_tokens + cache


class RateLimitKind(StrEnum):
    """Why the provider turned the agent away for now."""

    RATE = "rate"
    """429: too many requests or tokens per minute."""
    OVERLOADED = "overloaded"
    """529 / 503: the provider is overloaded."""
    USAGE_LIMIT = "usage-limit"
    """A subscription's usage limit, usually with a reset time."""


@dataclass(frozen=True, slots=True)
class ClockTime:
    """A time of day the agent named (`try again at 1:00 AM`), in the machine's local time."""

    hour: int
    minute: int


@dataclass(frozen=True, slots=True)
class Retrying:
    """The agent retries a failed request itself (Claude's api_retry, Gemini's "Attempt N
    failed"): not the end yet, but a sign of rate limits."""

    attempt: int | None
    max_retries: int | None
    delay_s: float | None
    status: int | None
    """The HTTP status behind it (429, 529…), when said."""
    message: str


@dataclass(frozen=True, slots=True)
class RateLimited:
    """The provider refused for now; the attempt should be requeued, not counted."""

    kind: RateLimitKind
    message: str
    status: int | None = None
    reset_at: float | None = None
    """Epoch seconds the limit resets at (Claude's `resetsAt`)."""
    reset_clock: ClockTime | None = None
    """The time of day it resets at (Codex's "try again at 1:00 AM")."""
    retry_after_s: float | None = None
    """Seconds to wait (a `retry-after` header)."""


@dataclass(frozen=True, slots=True)
class PermissionDenied:
    """The agent was refused a tool it needed (Claude's `permission_denials`)."""

    tool: str
    detail: str
    """The tool's main argument (the file, the command), "" when unknown."""


@dataclass(frozen=True, slots=True)
class AgentError:
    """The agent reported an error (it may still go on)."""

    message: str


@dataclass(frozen=True, slots=True)
class Result:
    """The agent's own final word on the attempt."""

    ok: bool
    text: str
    """The final message (Claude's `result`, the last agent message)."""


Signal = (
    SessionStarted
    | Activity
    | Progress
    | Transcript
    | Usage
    | Retrying
    | RateLimited
    | PermissionDenied
    | AgentError
    | Result
)


class AgentOutcome(StrEnum):
    """How an attempt ended, read from the agent's output and exit code together."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RATE_LIMITED = "rate-limited"
    """Requeued without counting; the provider backs off."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A parser's judgement of an ended attempt.

    `reason` starts with a fixed word, as every failure reason does (docs/design.md §5):
    `exit 1`, `permission denied: Write hello.txt`, `max turns`, `agent error: …`,
    `rate limited (429)`, `quota exceeded: …`. Empty for a success.
    """

    outcome: AgentOutcome
    reason: str = ""
    rate_limit: RateLimited | None = None
    """The limit hit, when the outcome is RATE_LIMITED."""
