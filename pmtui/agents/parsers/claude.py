"""Claude Code's `--output-format stream-json --verbose` output.

One JSON object a line: `system/init` (session_id, model), `assistant` messages (text and
tool_use blocks, one block a line, sharing the message id), `user` messages carrying
tool_result blocks, `system/api_retry` while the API turns it away, `rate_limit_event` for a
subscription's limits, and a final `result` with the attempt's usage, cost and
`permission_denials`. Claude exits 0 even when a tool it needed was denied: the verdict reads
the result, not only the exit code.
"""

from __future__ import annotations

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
    get_float,
    get_int,
    get_obj,
    get_objects,
    get_str,
    get_strs,
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

_LIMIT_KINDS = {
    429: RateLimitKind.RATE,
    529: RateLimitKind.OVERLOADED,
    503: RateLimitKind.OVERLOADED,
}
_ERROR_STATUS = {"rate_limit": 429, "overloaded": 529}
"""An api_retry's error category, for the status it stands for when `error_status` is null."""
_DENIED = "requested permissions"
"""How Claude's tool_result says a permission was not granted."""
_MAX_TURNS = "error_max_turns"


def model_name(model: str) -> str:
    """Claude's model without the context-window tag: `claude-opus-4-8[1m]` → `claude-opus-4-8`."""
    return model.split("[", 1)[0].strip()


class ClaudeParser(OutputParser):
    """Reads one Claude Code attempt."""

    def __init__(self) -> None:
        self._sessions: set[str] = set()
        self._model = ""
        self._message_ids: set[str] = set()
        self._turns = 0
        self._tools: dict[str, ToolCall] = {}
        self._denials: dict[str, ToolCall] = {}
        self._limit: RateLimited | None = None
        self._result: JsonObject | None = None

    def read(self, line: str) -> list[Signal]:
        event = json_object(line)
        if event is None:
            return []
        kind = get_str(event, "type")
        if kind == "system":
            return self._system(event)
        if kind == "assistant":
            return self._assistant(event)
        if kind == "user":
            return self._user(event)
        if kind == "result":
            return self._final(event)
        if kind == "rate_limit_event":
            return self._rate_limit_event(event)
        return []

    def _system(self, event: JsonObject) -> list[Signal]:
        subtype = get_str(event, "subtype")
        if subtype == "init":
            session = get_str(event, "session_id")
            self._model = model_name(get_str(event, "model")) or self._model
            if not session or session in self._sessions:
                return []
            self._sessions.add(session)
            return [SessionStarted(session, self._model)]
        if subtype == "api_retry":
            delay_ms = get_float(event, "retry_delay_ms")
            return [
                Retrying(
                    attempt=get_int(event, "attempt"),
                    max_retries=get_int(event, "max_retries"),
                    delay_s=delay_ms / 1000 if delay_ms is not None else None,
                    status=get_int(event, "error_status")
                    or _ERROR_STATUS.get(get_str(event, "error")),
                    message=get_str(event, "error"),
                )
            ]
        return []

    def _assistant(self, event: JsonObject) -> list[Signal]:
        message = get_obj(event, "message")
        signals: list[Signal] = []
        if get_str(event, "error"):
            # A message Claude made up itself to carry an API error ("<synthetic>"): not a turn;
            # the `result` that follows says whether it was a rate limit.
            for block in get_objects(message, "content"):
                text = get_str(block, "text")
                if text:
                    signals.append(Transcript(TranscriptKind.ERROR, cut_lines(text)))
            return signals
        message_id = get_str(message, "id")
        top_level = event.get("parent_tool_use_id") is None  # a sub-agent's turns are its own
        if top_level and message_id and message_id not in self._message_ids:
            self._message_ids.add(message_id)
            self._turns += 1
            signals.append(Activity(f"turn {self._turns}"))
        for block in get_objects(message, "content"):
            kind = get_str(block, "type")
            if kind == "text":
                text = get_str(block, "text")
                if text.strip():
                    signals.append(
                        Transcript(TranscriptKind.ASSISTANT, cut_lines(text, ASSISTANT_LINES))
                    )
                    signals.append(Activity(one_line(text)))
            elif kind == "tool_use":
                call = tool_call(get_str(block, "name"), get_obj(block, "input"))
                tool_id = get_str(block, "id")
                if tool_id:
                    self._tools[tool_id] = call
                signals.append(Transcript(TranscriptKind.TOOL_CALL, call.label))
                signals.append(Activity(call.label))
        return signals

    def _user(self, event: JsonObject) -> list[Signal]:
        signals: list[Signal] = []
        for block in get_objects(get_obj(event, "message"), "content"):
            if get_str(block, "type") != "tool_result":
                continue
            text = _result_text(block.get("content"))
            if block.get("is_error") is True:
                if text:
                    signals.append(Transcript(TranscriptKind.ERROR, cut_lines(text)))
                tool_id = get_str(block, "tool_use_id")
                if _DENIED in text and tool_id:
                    call = self._tools.get(tool_id, ToolCall("tool"))
                    signals.extend(self._deny(tool_id, call))
            elif text:
                signals.append(Transcript(TranscriptKind.TOOL_RESULT, cut_lines(text)))
        return signals

    def _deny(self, tool_id: str, call: ToolCall) -> list[Signal]:
        """One denial, one signal: Claude reports it in the tool_result and again in the result."""
        if tool_id in self._denials:
            return []
        self._denials[tool_id] = call
        return [PermissionDenied(call.tool, call.detail)]

    def _final(self, event: JsonObject) -> list[Signal]:
        self._result = event
        is_error = event.get("is_error") is True
        text = get_str(event, "result")
        errors = get_strs(event, "errors")
        signals: list[Signal] = [self._usage(event)]
        for denial in get_objects(event, "permission_denials"):
            call = tool_call(get_str(denial, "tool_name"), get_obj(denial, "tool_input"))
            tool_id = get_str(denial, "tool_use_id") or f"denial-{len(self._denials)}"
            signals.extend(self._deny(tool_id, call))
        status = get_int(event, "api_error_status")
        if is_error and status in _LIMIT_KINDS:
            self._limit = RateLimited(_LIMIT_KINDS[status], one_line(text, 200), status)
            signals.append(self._limit)
        elif is_error:
            message = text or "; ".join(errors) or get_str(event, "subtype")
            # Also in the transcript: the log screen then says why the attempt stopped.
            signals.append(Transcript(TranscriptKind.ERROR, cut_lines(message)))
            signals.append(AgentError(message))
        signals.append(Result(ok=not is_error, text=text or "\n".join(errors)))
        return signals

    def _usage(self, event: JsonObject) -> Usage:
        """The attempt's total (the per-message usage of assistant events would count twice)."""
        usage = get_obj(event, "usage")
        by_model = get_obj(event, "modelUsage")
        models = [model_name(key) for key in by_model]
        model = self._model if self._model in models or not models else models[0]
        turns = get_int(event, "num_turns")
        return Usage(
            input_tokens=count(usage, "input_tokens"),
            output_tokens=count(usage, "output_tokens"),
            cache_read_tokens=count(usage, "cache_read_input_tokens"),
            cache_write_tokens=count(usage, "cache_creation_input_tokens"),
            cost_usd=get_float(event, "total_cost_usd"),
            turns=turns,
            model=model,
            scope=UsageScope.ATTEMPT,
        )

    def _rate_limit_event(self, event: JsonObject) -> list[Signal]:
        info = get_obj(event, "rate_limit_info") or event
        if get_str(info, "status") != "rejected":
            return []  # "allowed", "allowed_warning": the request was served
        resets_at = get_float(info, "resetsAt")
        if resets_at is not None and resets_at > 1e11:
            resets_at /= 1000  # milliseconds, not seconds
        window = get_str(info, "rateLimitType")
        message = f"usage limit reached ({window})" if window else "usage limit reached"
        self._limit = RateLimited(RateLimitKind.USAGE_LIMIT, message, reset_at=resets_at)
        return [self._limit]

    def finish(self, exit_code: int | None, killed: bool) -> Verdict:
        if killed:
            return killed_verdict(self._limit)
        result = self._result
        succeeded = result is not None and result.get("is_error") is not True and exit_code == 0
        if self._limit is not None and not succeeded:
            return rate_limited(self._limit)
        if self._denials:
            return failed(f"permission denied: {joined_labels(list(self._denials.values()))}")
        if result is None:
            return failed(NO_RESULT) if exit_code == 0 else exit_verdict(exit_code)
        errors = get_strs(result, "errors")
        if get_str(result, "subtype") == _MAX_TURNS:
            return failed(f"max turns: {one_line(errors[0], 120)}" if errors else "max turns")
        if result.get("is_error") is True:
            return failed(agent_error(get_str(result, "result") or "; ".join(errors)))
        return exit_verdict(exit_code)


def _result_text(content: object) -> str:
    """A tool_result's text: a string, or a list of text blocks (images are skipped)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = [item.get("text") for item in content if isinstance(item, dict)]
    return "\n".join(part for part in parts if isinstance(part, str))
