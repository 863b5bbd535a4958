"""Aider's plain-text output (`--no-pretty --no-stream`).

Aider prints a header (`Aider v0.86.2`, `Model: openai/x with diff edit format`…), the model's
answer with its SEARCH/REPLACE blocks in fences, `Tokens: 1.2k sent, 40 received. Cost: $0.0042
message, $0.0042 session.` after each answer and `Applied edit to F` for each edit. An API
error is a `litellm.RateLimitError: …` line (wrapped over a few lines) followed by `Retrying in
0.2 seconds...`; when it gives up it says nothing more and still exits 0, so the verdict reads
what came last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from pmtui.agents.parsers.base import OutputParser, exit_verdict
from pmtui.agents.parsers.transcript import (
    agent_error,
    cut_lines,
    failed,
    killed_verdict,
    one_line,
    rate_limited,
    short_path,
)
from pmtui.agents.signals import (
    Activity,
    AgentError,
    RateLimited,
    RateLimitKind,
    Retrying,
    Signal,
    Transcript,
    TranscriptKind,
    Usage,
    UsageScope,
    Verdict,
)

_TOKENS = re.compile(r"^Tokens:\s*(.*?)\.?(?:\s+Cost:\s*(.*))?$")
_TOKEN_PART = re.compile(r"([\d.,]+)\s*([kKmMbB]?)\s+(sent|received|cache write|cache hit)\b")
_MESSAGE_COST = re.compile(r"\$\s*([\d.,]+)\s+message")
_APPLIED = re.compile(r"^Applied edit to (.+?)\s*$")
_MODEL = re.compile(r"^(?:Main )?[Mm]odel:\s*(\S+)")
_LITELLM = re.compile(r"^litellm\.(\w+):\s*(.*)$")
_ERROR = re.compile(r"^(?:Unexpected error|Error):\s*\S")
_RETRY = re.compile(r"^Retrying in ([\d.]+) seconds")
_STATUS = re.compile(r"\b(4\d\d|5\d\d)\b")
_FENCE = "```"
_ERROR_CHARS = 1000
_HEADER = (
    "Aider v",
    "Model:",
    "Main model:",
    "Weak model:",
    "Editor model:",
    "Git repo:",
    "Repo-map:",
    "Analytics",
    "Added ",
    "Warning",
    "https://aider.chat",
    "Use /help",
)
_SUFFIXES = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9}
_OVERLOADED_ERRORS = ("ServiceUnavailableError", "InternalServerError")


@dataclass(frozen=True, slots=True)
class _ApiError:
    """The last API error Aider printed, until an answer or an edit shows it got past it."""

    message: str
    limit: RateLimited | None

    def extended(self, more: str) -> _ApiError:
        """The same error with the next line of its wrapped message."""
        if len(self.message) > _ERROR_CHARS:
            return self  # a traceback, not a wrapped message: its start says enough
        limit = self.limit
        if limit is not None:
            limit = replace(limit, message=f"{limit.message} {more.strip()}")
        return _ApiError(f"{self.message} {more.strip()}", limit)


def read_tokens(text: str) -> int:
    """Aider's short counts: `40` → 40, `1.2k` → 1200, `3.4M` → 3400000."""
    match = re.fullmatch(r"\s*([\d.,]+)\s*([kKmMbB]?)\s*", text)
    if match is None:
        return 0
    return round(float(match.group(1).replace(",", "")) * _SUFFIXES[match.group(2).lower()])


def _error_of(kind: str, message: str, line: str) -> _ApiError:
    """What a `litellm.<Kind>: …` line means."""
    status_match = _STATUS.search(message)
    status = int(status_match.group(1)) if status_match is not None else None
    if kind == "RateLimitError" or status == 429:
        return _ApiError(line, RateLimited(RateLimitKind.RATE, message, 429))
    overloaded = "overloaded" in message.lower() or status in (503, 529)
    if kind in _OVERLOADED_ERRORS and overloaded:
        return _ApiError(line, RateLimited(RateLimitKind.OVERLOADED, message, status or 503))
    return _ApiError(line, None)


class AiderParser(OutputParser):
    """Reads one Aider attempt."""

    def __init__(self) -> None:
        self._model = ""
        self._in_fence = False
        self._in_error = False
        self._answering = False
        self._error: _ApiError | None = None
        self._retries = 0

    def read(self, line: str) -> list[Signal]:
        text = line.rstrip()
        if not text.strip():
            self._in_error = False  # a wrapped error message ends at a blank line
            return []
        if text.lstrip().startswith(_FENCE):
            self._in_fence = not self._in_fence
            return []
        if self._in_fence:
            return []  # an edit block: "Applied edit" says what it did
        match = _LITELLM.match(text)
        if match is not None:
            return self._api_error(_error_of(match.group(1), match.group(2), text))
        if _ERROR.match(text):
            return self._api_error(_ApiError(text, None))
        retry = _RETRY.match(text)
        if retry is not None:
            return self._retry(float(retry.group(1)))
        if self._in_error and self._error is not None:
            self._error = self._error.extended(text)  # the rest of a wrapped error message
            return [Transcript(TranscriptKind.ERROR, cut_lines(text))]
        tokens = _TOKENS.match(text)
        if tokens is not None:
            return self._usage(tokens.group(1), tokens.group(2) or "")
        applied = _APPLIED.match(text)
        if applied is not None:
            self._error = None
            self._answering = False
            label = f"Edit {one_line(short_path(applied.group(1)))}"
            return [Transcript(TranscriptKind.TOOL_CALL, label), Activity(label)]
        return self._text(text)

    def _text(self, text: str) -> list[Signal]:
        if text.startswith(_HEADER):
            model = _MODEL.match(text)
            if model is not None:
                self._model = model.group(1)
            return [Transcript(TranscriptKind.INFO, cut_lines(text))]
        signals: list[Signal] = [Transcript(TranscriptKind.ASSISTANT, cut_lines(text))]
        if not self._answering:  # the answer's first line is the monitor's message
            self._answering = True
            signals.append(Activity(one_line(text)))
        return signals

    def _api_error(self, error: _ApiError) -> list[Signal]:
        self._error = error
        self._in_error = True
        self._answering = False
        signals: list[Signal] = [Transcript(TranscriptKind.ERROR, cut_lines(error.message))]
        if error.limit is None:
            signals.append(AgentError(error.message))
        return signals

    def _retry(self, delay: float) -> list[Signal]:
        self._in_error = False
        self._retries += 1
        error = self._error
        status = error.limit.status if error is not None and error.limit is not None else None
        message = error.message if error is not None else ""
        return [Retrying(self._retries, None, delay, status, message)]

    def _usage(self, counts: str, cost: str) -> list[Signal]:
        # An answer arrived: whatever error came before, Aider got past it.
        self._error = None
        self._answering = False
        tokens = {
            kind: read_tokens(f"{amount}{suffix}")
            for amount, suffix, kind in _TOKEN_PART.findall(counts)
        }
        price = _MESSAGE_COST.search(cost)
        cache_read, cache_write = tokens.get("cache hit", 0), tokens.get("cache write", 0)
        return [
            Usage(
                # Aider adds the tokens written to the cache into "sent"; the cache hits it
                # shows apart (Anthropic's convention, the one provider it reports them for).
                input_tokens=max(tokens.get("sent", 0) - cache_write, 0),
                output_tokens=tokens.get("received", 0),
                cache_read_tokens=cache_read,
                cache_write_tokens=cache_write,
                cost_usd=float(price.group(1).replace(",", "")) if price is not None else None,
                model=self._model,
                scope=UsageScope.STEP,
            )
        ]

    def finish(self, exit_code: int | None, killed: bool) -> Verdict:
        error = self._error
        limit = error.limit if error is not None else None
        if killed:
            return killed_verdict(limit)
        if limit is not None:
            return rate_limited(limit)
        if error is not None:
            return failed(agent_error(error.message))
        return exit_verdict(exit_code)
