"""opencode's `opencode run --format json` output.

One JSON object a line, each with the session's `sessionID`: `step_start`, `text`, `tool_use`
(the call and its outcome in one event), `step_finish` (the step's own tokens and cost, which
add up over the attempt) and `error` (an API error with its status and response headers).
"""

from __future__ import annotations

from pmtui.agents.parsers.base import OutputParser, exit_verdict
from pmtui.agents.parsers.transcript import (
    ASSISTANT_LINES,
    JsonObject,
    ToolCall,
    agent_error,
    count,
    cut_lines,
    failed,
    get_float,
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
    SessionStarted,
    Signal,
    Transcript,
    TranscriptKind,
    Usage,
    UsageScope,
    Verdict,
)

_LIMIT_KINDS = {
    429: RateLimitKind.RATE,
    503: RateLimitKind.OVERLOADED,
    529: RateLimitKind.OVERLOADED,
}
_REJECTED = "rejected permission"
"""How opencode's tool error says the user (or its config) refused the call."""


class OpencodeParser(OutputParser):
    """Reads one `opencode run --format json` attempt."""

    def __init__(self) -> None:
        self._sessions: set[str] = set()
        self._turns = 0
        self._last_text = ""
        self._denials: dict[str, ToolCall] = {}
        self._error = ""
        self._limit: RateLimited | None = None

    def read(self, line: str) -> list[Signal]:
        event = json_object(line)
        if event is None:
            return []
        signals: list[Signal] = []
        session = get_str(event, "sessionID")
        if session and session not in self._sessions:
            self._sessions.add(session)
            signals.append(SessionStarted(session))
        kind = get_str(event, "type")
        part = get_obj(event, "part")
        if kind == "step_start":
            self._turns += 1
            signals.append(Activity(f"turn {self._turns}"))
        elif kind == "text":
            text = get_str(part, "text")
            if text.strip():
                self._last_text = text
                signals.append(
                    Transcript(TranscriptKind.ASSISTANT, cut_lines(text, ASSISTANT_LINES))
                )
                signals.append(Activity(one_line(text)))
        elif kind == "tool_use":
            signals.extend(self._tool(part))
        elif kind == "step_finish":
            signals.extend(self._step_finish(part))
        elif kind == "error":
            signals.extend(self._api_error(get_obj(event, "error")))
        return signals

    def _tool(self, part: JsonObject) -> list[Signal]:
        state = get_obj(part, "state")
        call = tool_call(get_str(part, "tool"), get_obj(state, "input"))
        signals: list[Signal] = [
            Transcript(TranscriptKind.TOOL_CALL, call.label),
            Activity(call.label),
        ]
        status = get_str(state, "status")
        if status == "completed":
            output = get_str(state, "output")
            if output:
                signals.append(Transcript(TranscriptKind.TOOL_RESULT, cut_lines(output)))
        elif status == "error":
            error = get_str(state, "error") or "tool failed"
            signals.append(Transcript(TranscriptKind.ERROR, cut_lines(error)))
            call_id = get_str(part, "callID") or get_str(part, "id")
            if _REJECTED in error and call_id not in self._denials:
                self._denials[call_id] = call
                signals.append(PermissionDenied(call.tool, call.detail))
        return signals

    def _step_finish(self, part: JsonObject) -> list[Signal]:
        tokens = get_obj(part, "tokens")
        cache = get_obj(tokens, "cache")
        usage = Usage(
            input_tokens=count(tokens, "input"),
            # opencode counts reasoning apart from the visible output; both are billed as output
            output_tokens=count(tokens, "output") + count(tokens, "reasoning"),
            cache_read_tokens=count(cache, "read"),
            cache_write_tokens=count(cache, "write"),
            cost_usd=get_float(part, "cost"),
            scope=UsageScope.STEP,
        )
        signals: list[Signal] = [usage]
        if get_str(part, "reason") == "stop":
            signals.append(Result(ok=True, text=self._last_text))
        return signals

    def _api_error(self, error: JsonObject) -> list[Signal]:
        data = get_obj(error, "data")
        message = get_str(data, "message") or get_str(error, "name") or "error"
        status = get_int(data, "statusCode")
        signals: list[Signal] = [Transcript(TranscriptKind.ERROR, cut_lines(message))]
        if status in _LIMIT_KINDS:
            headers = get_obj(data, "responseHeaders")
            self._limit = RateLimited(
                _LIMIT_KINDS[status],
                one_line(message, 200),
                status,
                retry_after_s=_seconds(get_str(headers, "retry-after")),
            )
            signals.append(self._limit)
        else:
            self._error = message
            signals.append(AgentError(message))
        return signals

    def finish(self, exit_code: int | None, killed: bool) -> Verdict:
        if killed:
            return killed_verdict(self._limit)
        if self._limit is not None:
            return rate_limited(self._limit)
        if self._error:
            return failed(agent_error(self._error))
        if self._denials:
            return failed(f"permission denied: {joined_labels(list(self._denials.values()))}")
        return exit_verdict(exit_code)


def _seconds(value: str) -> float | None:
    """A `retry-after` header in seconds; None for an HTTP date (or anything else)."""
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if 0 <= seconds < float("inf") else None
