"""Gemini CLI's `--output-format stream-json` output.

One JSON object a line on stdout: `init` (session_id, model, often "auto" for its router),
`message` (the user's prompt echoed, then the assistant's text in `delta` pieces), `tool_use`,
`tool_result`, `error`, and a final `result` (status, stats). On stderr it retries with
"Attempt N failed with status 429. Retrying with backoff..." followed by a stack trace.

Gemini's exit code carries meaning: 41 auth, 42 input, 44 sandbox, 52 config, 53 turn limit,
54 tool, 55 untrusted workspace, 130 cancelled, and an API error exits with its status & 0xFF
(429 → 173, 503 → 247).
"""

from __future__ import annotations

import re

from pmtui.agents.parsers.base import OutputParser, exit_verdict
from pmtui.agents.parsers.transcript import (
    ASSISTANT_LINES,
    NO_RESULT,
    JsonObject,
    ToolCall,
    agent_error,
    count,
    cut_lines,
    failed,
    get_int,
    get_obj,
    get_str,
    joined_labels,
    json_object,
    killed_verdict,
    one_line,
    rate_limited,
    tool_call,
)
from pmtui.agents.signals import (
    Activity,
    AgentError,
    PermissionDenied,
    RateLimited,
    RateLimitKind,
    Result,
    Retrying,
    SessionStarted,
    Signal,
    Transcript,
    TranscriptKind,
    Usage,
    UsageScope,
    Verdict,
)

EXIT_MEANINGS = {
    41: "auth error",
    42: "bad input",
    44: "sandbox error",
    52: "config error",
    53: "turn limit reached",
    54: "tool error",
    55: "untrusted workspace",
    130: "cancelled",
}
"""Gemini CLI's documented exit codes."""
EXIT_RATE_LIMITED = 429 & 0xFF
EXIT_OVERLOADED = 503 & 0xFF

_ATTEMPT = re.compile(r"^Attempt (\d+) failed(?: with status (\d{3}))?[.:]?\s*(.*)$", re.DOTALL)
_DAILY_QUOTA = re.compile(r"exhausted your daily quota|daily limit", re.I)
_RATE = re.compile(r"resource has been exhausted|resource_exhausted|\b429\b|rate limit", re.I)
_OVERLOADED = re.compile(r"\b503\b|overloaded|\bunavailable\b", re.I)
_AUTO = "auto"


def read_limit(message: str) -> RateLimited | None:
    """The rate limit a Gemini error message describes, None when it is another error."""
    text = one_line(message, 200)
    if _DAILY_QUOTA.search(message):
        return RateLimited(RateLimitKind.USAGE_LIMIT, text, 429)
    if _RATE.search(message):
        return RateLimited(RateLimitKind.RATE, text, 429)
    if _OVERLOADED.search(message):
        return RateLimited(RateLimitKind.OVERLOADED, text, 503)
    return None


class GeminiParser(OutputParser):
    """Reads one Gemini CLI attempt."""

    def __init__(self) -> None:
        self._sessions: set[str] = set()
        self._model = ""
        self._text: list[str] = []
        self._last_text = ""
        self._tools: dict[str, ToolCall] = {}
        self._denials: dict[str, ToolCall] = {}
        self._status = ""
        self._error = ""
        self._limit: RateLimited | None = None

    def read(self, line: str) -> list[Signal]:
        event = json_object(line)
        if event is None:
            return self._stderr(line)
        kind = get_str(event, "type")
        if kind == "message":
            if get_str(event, "role") != "assistant":
                return self._flush()  # the prompt echoed back
            content = get_str(event, "content")
            if event.get("delta") is True:
                self._text.append(content)  # a piece of a message: shown whole when it ends
                return []
            return [*self._flush(), *self._assistant(content)]
        signals = self._flush()
        if kind == "init":
            signals.extend(self._init(event))
        elif kind == "tool_use":
            call = tool_call(get_str(event, "tool_name"), get_obj(event, "parameters"))
            self._tools[get_str(event, "tool_id")] = call
            signals += [Transcript(TranscriptKind.TOOL_CALL, call.label), Activity(call.label)]
        elif kind == "tool_result":
            signals.extend(self._tool_result(event))
        elif kind == "error":
            message = get_str(event, "message")
            if get_str(event, "severity") == "warning":
                signals.append(Transcript(TranscriptKind.INFO, cut_lines(message)))
            elif message:
                signals += [
                    Transcript(TranscriptKind.ERROR, cut_lines(message)),
                    AgentError(message),
                ]
        elif kind == "result":
            signals.extend(self._result(event))
        return signals

    def _init(self, event: JsonObject) -> list[Signal]:
        session = get_str(event, "session_id")
        self._model = get_str(event, "model")
        if not session or session in self._sessions:
            return []
        self._sessions.add(session)
        return [SessionStarted(session, self._model)]

    def _assistant(self, text: str) -> list[Signal]:
        if not text.strip():
            return []
        self._last_text = text
        return [
            Transcript(TranscriptKind.ASSISTANT, cut_lines(text, ASSISTANT_LINES)),
            Activity(one_line(text)),
        ]

    def _flush(self) -> list[Signal]:
        """The assistant's message whose pieces came so far, now that something else began."""
        text = "".join(self._text)
        self._text = []
        return self._assistant(text)

    def _tool_result(self, event: JsonObject) -> list[Signal]:
        tool_id = get_str(event, "tool_id")
        output = get_str(event, "output")
        if get_str(event, "status") != "error":
            return [Transcript(TranscriptKind.TOOL_RESULT, cut_lines(output))] if output else []
        error = get_obj(event, "error")
        message = get_str(error, "message") or output or "tool failed"
        signals: list[Signal] = [Transcript(TranscriptKind.ERROR, cut_lines(message))]
        denied = "denied" in get_str(error, "type") or "denied by policy" in message
        if denied and tool_id not in self._denials:
            call = self._tools.get(tool_id, ToolCall("tool"))
            self._denials[tool_id] = call
            signals.append(PermissionDenied(call.tool, call.detail))
        return signals

    def _result(self, event: JsonObject) -> list[Signal]:
        self._status = get_str(event, "status")
        stats = get_obj(event, "stats")
        models = list(get_obj(stats, "models"))
        model = self._model if self._model and self._model != _AUTO else ""
        cached = count(stats, "cached")
        uncached = get_int(stats, "input")  # the CLI's own `input_tokens - cached`
        usage = Usage(
            input_tokens=(
                max(uncached, 0)
                if uncached is not None
                else max(count(stats, "input_tokens") - cached, 0)
            ),
            output_tokens=count(stats, "output_tokens"),
            cache_read_tokens=cached,
            model=model or (models[0] if models else self._model),
            scope=UsageScope.ATTEMPT,
        )
        signals: list[Signal] = [usage]
        if self._status == "success":
            signals.append(Result(ok=True, text=self._last_text))
            return signals
        error = get_obj(event, "error")
        message = get_str(error, "message") or get_str(event, "error") or self._status
        self._error = message
        limit = read_limit(message)
        signals.append(Transcript(TranscriptKind.ERROR, cut_lines(message)))
        if limit is not None:
            self._limit = limit
            signals.append(limit)
        else:
            signals.append(AgentError(message))
        signals.append(Result(ok=False, text=message))
        return signals

    def _stderr(self, line: str) -> list[Signal]:
        """The plain lines Gemini prints: its retries matter, the rest is noise."""
        match = _ATTEMPT.match(line.strip())
        if match is None:
            return []
        attempt = int(match.group(1))
        status = int(match.group(2)) if match.group(2) else None
        rest = match.group(3)
        if "Retrying" not in rest:
            return [Transcript(TranscriptKind.ERROR, one_line(line, 200))]  # it gave up
        if status is None and (limit := read_limit(rest)) is not None:
            status = limit.status  # "Attempt 1 failed: Resource has been exhausted…"
        return [Retrying(attempt, None, None, status, _retry_reason(rest) or one_line(line, 200))]

    def finish(self, exit_code: int | None, killed: bool) -> Verdict:
        if killed:
            return killed_verdict(self._limit)
        succeeded = self._status == "success" and exit_code == 0
        limit = self._limit
        if exit_code == EXIT_RATE_LIMITED:
            limit = limit or RateLimited(RateLimitKind.RATE, f"exit {exit_code}", 429)
        elif exit_code == EXIT_OVERLOADED:
            limit = limit or RateLimited(RateLimitKind.OVERLOADED, f"exit {exit_code}", 503)
        if limit is not None and not succeeded:
            return rate_limited(limit)
        if self._denials:
            return failed(f"permission denied: {joined_labels(list(self._denials.values()))}")
        if succeeded:
            return exit_verdict(0)
        if exit_code in EXIT_MEANINGS:
            return failed(f"exit {exit_code}: {EXIT_MEANINGS[exit_code]}")
        if self._error:
            return failed(agent_error(_api_error_text(self._error)))
        if exit_code != 0:
            return exit_verdict(exit_code)
        return failed(NO_RESULT)


def _retry_reason(text: str) -> str:
    """Why Gemini retries: the API error's own message (`_ApiError: {"error": {...}}`)."""
    start = text.find("{")
    error = json_object(text[start:]) if start >= 0 else None
    if error is not None:
        message = get_str(get_obj(error, "error"), "message")
        if message:
            return one_line(message, 200)
    return ""


def _api_error_text(message: str) -> str:
    """Gemini wraps API errors as `[API Error: …]`: the reason is what is inside."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    inner = re.match(r"^\[API Error: (.*)\]$", first)
    return inner.group(1) if inner is not None else message
