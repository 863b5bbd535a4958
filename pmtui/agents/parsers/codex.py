"""Codex's `codex exec --json` output.

One JSON object a line on stdout: `thread.started` (thread_id), `turn.started`,
`item.started` / `item.completed` (agent_message, command_execution, file_change,
mcp_tool_call, web_search, error), `turn.completed` with the thread's token usage so far,
`turn.failed`, and top-level `error` events (`Reconnecting... 1/5 (…)` while it retries). Its
stderr adds a few plain lines ("Reading additional input from stdin...") that mean nothing here.

Codex's usage is cumulative over the thread (a resumed thread reports old + new), and its
`input_tokens` include the cached ones (OpenAI's convention), as its `output_tokens` include
the reasoning ones: the Usage keeps the four buckets apart.
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
    get_objects,
    get_str,
    json_object,
    killed_verdict,
    one_line,
    parse_clock,
    parse_duration,
    rate_limited,
    shell_command,
    short_path,
    tool_call,
)
from pmtui.agents.signals import (
    Activity,
    AgentError,
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

_RECONNECTING = re.compile(r"^Reconnecting\.*\s*(\d+)/(\d+)(?:\s*\((.*)\))?", re.DOTALL)
_STATUS = re.compile(r"\bstatus:?\s*(\d{3})\b", re.I)
_BARE_STATUS = re.compile(r"\b(429|5\d\d)\b")
_USAGE_LIMIT = re.compile(r"hit your usage limit|usage limit (?:reached|exceeded)", re.I)
_TRY_AGAIN_AT = re.compile(r"try again at\s+(.*)", re.I)
_TRY_AGAIN_IN = re.compile(r"try again in\s+([^.]*)", re.I)
_QUOTA = re.compile(r"quota exceeded|insufficient[_ ]quota", re.I)
_RATE = re.compile(r"\b429\b|too many requests|rate limit", re.I)
_OVERLOADED = re.compile(r"\b(?:529|503)\b|overloaded|service unavailable", re.I)
_CHANGE_VERBS = {"add": "Add", "delete": "Delete", "update": "Edit"}


def read_limit(message: str) -> RateLimited | None:
    """The rate limit a Codex error message describes, None when it is another error.

    `Quota exceeded` is billing, not a limit that lifts by itself: None.
    """
    if _QUOTA.search(message):
        return None
    if _USAGE_LIMIT.search(message):
        clock = None
        wait = None
        at = _TRY_AGAIN_AT.search(message)
        if at is not None:
            clock = parse_clock(at.group(1))  # None when a date comes first: days away
        later = _TRY_AGAIN_IN.search(message)
        if later is not None:
            wait = parse_duration(later.group(1))
        return RateLimited(
            RateLimitKind.USAGE_LIMIT, message, reset_clock=clock, retry_after_s=wait
        )
    status = _status(message)
    if status == 429 or _RATE.search(message):
        return RateLimited(RateLimitKind.RATE, message, 429)
    if _OVERLOADED.search(message):
        return RateLimited(RateLimitKind.OVERLOADED, message, status or 503)
    return None


def _status(message: str) -> int | None:
    """The HTTP status a message names (`last status: 429`, `unexpected status 503`)."""
    match = _STATUS.search(message) or _BARE_STATUS.search(message)
    return int(match.group(1)) if match is not None else None


class CodexParser(OutputParser):
    """Reads one `codex exec --json` attempt."""

    def __init__(self) -> None:
        self._sessions: set[str] = set()
        self._turns = 0
        self._started: set[str] = set()
        self._last_message = ""
        self._completed = False
        self._failure = ""
        self._last_error = ""
        self._errors: set[str] = set()
        self._limit: RateLimited | None = None

    def read(self, line: str) -> list[Signal]:
        event = json_object(line)
        if event is None:
            return []
        kind = get_str(event, "type")
        if kind == "thread.started":
            thread = get_str(event, "thread_id")
            if not thread or thread in self._sessions:
                return []
            self._sessions.add(thread)
            return [SessionStarted(thread)]
        if kind == "turn.started":
            self._turns += 1
            return [Activity(f"turn {self._turns}")]
        if kind in ("item.started", "item.updated", "item.completed"):
            return self._item(get_obj(event, "item"), done=kind == "item.completed")
        if kind == "turn.completed":
            return self._turn_completed(event)
        if kind == "turn.failed":
            message = get_str(get_obj(event, "error"), "message")
            self._failure = message or "turn failed"
            return self._error(self._failure)
        if kind == "error":
            return self._top_level_error(get_str(event, "message"))
        return []

    def _item(self, item: JsonObject, done: bool) -> list[Signal]:
        kind = get_str(item, "type")
        item_id = get_str(item, "id")
        first = item_id not in self._started
        if item_id:
            self._started.add(item_id)
        if kind == "agent_message":
            text = get_str(item, "text")
            if not done or not text.strip():
                return []
            self._last_message = text
            return [
                Transcript(TranscriptKind.ASSISTANT, cut_lines(text, ASSISTANT_LINES)),
                Activity(one_line(text)),
            ]
        if kind == "error":
            # A warning such as "Model metadata for `x` not found": the turn goes on.
            message = get_str(item, "message")
            return [Transcript(TranscriptKind.ERROR, cut_lines(message))] if message else []
        calls = _calls(item)
        signals: list[Signal] = []
        if first and calls:
            signals.extend(Transcript(TranscriptKind.TOOL_CALL, call.label) for call in calls)
            more = f" (+{len(calls) - 1})" if len(calls) > 1 else ""
            signals.append(Activity(calls[0].label + more))
        if done:
            signals.extend(_outcome(item, calls))
        return signals

    def _turn_completed(self, event: JsonObject) -> list[Signal]:
        self._completed = True
        usage = get_obj(event, "usage")
        cached = count(usage, "cached_input_tokens")
        cache_write = count(usage, "cache_write_input_tokens")
        total = Usage(
            input_tokens=max(count(usage, "input_tokens") - cached - cache_write, 0),
            output_tokens=count(usage, "output_tokens"),
            cache_read_tokens=cached,
            cache_write_tokens=cache_write,
            scope=UsageScope.SESSION,
        )
        return [total, Result(ok=True, text=self._last_message)]

    def _top_level_error(self, message: str) -> list[Signal]:
        retry = _RECONNECTING.match(message)
        if retry is not None:
            reason = retry.group(3) or message
            return [
                Retrying(
                    attempt=int(retry.group(1)),
                    max_retries=int(retry.group(2)),
                    delay_s=None,
                    status=_status(reason),
                    message=reason,
                )
            ]
        return self._error(message)

    def _error(self, message: str) -> list[Signal]:
        """An error that ends the turn (Codex says it twice: `error`, then `turn.failed`)."""
        if not message or message in self._errors:
            return []
        self._errors.add(message)
        signals: list[Signal] = [Transcript(TranscriptKind.ERROR, cut_lines(message))]
        limit = read_limit(message)
        if limit is not None:
            self._limit = limit
            signals.append(limit)
        else:
            self._last_error = message
            signals.append(AgentError(message))
        return signals

    def finish(self, exit_code: int | None, killed: bool) -> Verdict:
        if killed:
            return killed_verdict(self._limit)
        if self._completed and not self._failure and exit_code == 0:
            return exit_verdict(0)
        if self._limit is not None:
            return rate_limited(self._limit)
        # An error event alone may be one Codex got past: it fails the attempt only when the
        # turn never completed.
        failure = self._failure or self._last_error
        if failure:
            if _QUOTA.search(failure):
                return failed(f"quota exceeded: {one_line(failure, 120)}")
            return failed(agent_error(failure))
        if exit_code != 0:
            return exit_verdict(exit_code)
        return failed(NO_RESULT)


def _calls(item: JsonObject) -> list[ToolCall]:
    """What a tool item does, as tool calls (a file_change may touch several files)."""
    kind = get_str(item, "type")
    if kind == "command_execution":
        command = item.get("command")
        if isinstance(command, list):
            command = " ".join(word for word in command if isinstance(word, str))
        text = shell_command(command) if isinstance(command, str) else ""
        return [ToolCall("Bash", one_line(text))]
    if kind == "file_change":
        return [
            ToolCall(_CHANGE_VERBS.get(get_str(change, "kind"), "Edit"), short_path(path))
            for change in get_objects(item, "changes")
            if (path := get_str(change, "path"))
        ]
    if kind == "mcp_tool_call":
        return [
            tool_call(get_str(item, "tool") or get_str(item, "server"), get_obj(item, "arguments"))
        ]
    if kind == "web_search":
        return [ToolCall("WebSearch", one_line(get_str(item, "query")))]
    return []


def _outcome(item: JsonObject, calls: list[ToolCall]) -> list[Signal]:
    """What a finished tool item gave back."""
    kind = get_str(item, "type")
    status = get_str(item, "status")
    if kind == "command_execution":
        output = cut_lines(get_str(item, "aggregated_output"))
        code = get_int(item, "exit_code")
        if code not in (None, 0):
            head = f"exit {code}"
            return [Transcript(TranscriptKind.ERROR, f"{head}\n{output}" if output else head)]
        return [Transcript(TranscriptKind.TOOL_RESULT, output)] if output else []
    if status == "failed":
        error = get_obj(item, "error")
        message = get_str(error, "message") or get_str(item, "error")
        label = ", ".join(call.label for call in calls) or kind
        text = f"{label} failed" + (f": {message}" if message else "")
        return [Transcript(TranscriptKind.ERROR, cut_lines(text))]
    return []
