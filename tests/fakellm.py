"""A scripted fake LLM server that the real agent CLIs can talk to.

Stdlib only; 127.0.0.1 only, on a free port. It speaks just enough of four wire formats to
carry a headless coding session (checked with claude-code 2.1.197, codex-cli 0.171.0,
gemini-cli 0.61.0, aider-chat 0.86.2 and opencode 1.18.33):

* the Anthropic Messages API for Claude Code, pointed here by `ANTHROPIC_BASE_URL` (the root,
  no `/v1`): it sends `HEAD /`, then `POST /v1/messages?beta=true` (streamed server-sent
  events, `tool_use` blocks);
* the OpenAI Responses API for Codex, pointed here by a custom model provider whose `base_url`
  ends in `/v1`: it sends only `POST /v1/responses` (streamed);
* the OpenAI Chat Completions API, `POST /v1/chat/completions`, for Aider (through litellm,
  `OPENAI_API_BASE=<root>/v1`, non-streaming with `--no-stream`, no tools: the answer is text
  in the edit format Aider's system prompt asks for) and for opencode (an
  `@ai-sdk/openai-compatible` provider whose `baseURL` is `<root>/v1`: streamed chunks ending
  in one with the usage and `data: [DONE]`, `tools` offered, answered with a `tool_calls`
  delta of its `write` / `bash` tool). opencode also asks for a session title, without tools:
  that call gets a plain text answer (behaviour "text");
* the Gemini API for Gemini CLI, pointed here by `GOOGLE_GEMINI_BASE_URL` (the root): `POST
  /v1beta/models/MODEL:streamGenerateContent?alt=sse` for the chat (one `data:` chunk with
  the text, the `functionCall` part of `write_file` / `run_shell_command`, and the
  `usageMetadata`), and, with no `-m` (model "auto"), first `POST
  /v1beta/models/MODEL:generateContent` for its router's classifier, which asks for a JSON
  object by a schema (`generationConfig.responseJsonSchema`): the answer is JSON that the
  schema accepts (an enum's first value, a number's minimum or 1, a string "fake"…). Such a
  JSON call is a model call like the others (recorded with the behaviour "json", reporting
  the same usage, taking a queued behaviour), so a Gemini session on "auto" that writes a
  file makes three calls: json, write, done.

Token counts (`/count_tokens`, `:countTokens`), model lists and health checks get a minimal
200 in case a CLI asks; any other path gets a 404. A bug of this fake answers 500 with its
traceback.

The "model" reads what to do from the prompt: the text of the LAST user message that is a real
prompt — not a tool result, nor context a CLI injects itself (Claude's `<system-reminder>`,
Codex's `<environment_context>`, Gemini's `<session_context>`). On a resumed session that is the
new prompt; the earlier one is history. Directives, one per line, anywhere in a line, the
argument running to its end:

* `fake:write PATH CONTENT` — a short text and a tool call writing CONTENT plus a newline to
  PATH (`\\n` in CONTENT is a newline). Claude gets a `Write` call (a relative PATH is made
  absolute with the working directory its system prompt names); Codex gets the tool its
  request offered: `apply_patch` (a freeform `custom_tool_call` for a model it knows, such as
  gpt-5.5), else a shell tool (`exec_command` for an unknown model); opencode its `write`
  tool (`filePath` made absolute with the working directory its system prompt names); Gemini
  `write_file` (made absolute with its first workspace directory). Aider, offered no tools,
  gets every step at once as text in the edit format its system prompt asks for: a
  SEARCH/REPLACE block with an empty SEARCH per write for `diff` (Aider creates the file), the
  path and the whole text in a fence for `whole` (its default for an unknown model); a fenced
  `bash` block per command (which Aider only suggests).
* `fake:run COMMAND` — the same with a shell command (`Bash`; Codex's shell tool; opencode's
  `bash`; Gemini's `run_shell_command`).
* Several `fake:write` / `fake:run` lines are several steps, one per model call. The step to
  answer is the number of tool results after the prompt; after the last one the answer is the
  text `DONE wrote PATH` / `DONE ran COMMAND` (comma-separated). Results are only counted, not
  read: a denied or failed call still ends in `DONE ...`.
* `fake:429` — 429, a `rate_limit_error` / `rate_limit_exceeded` body, `retry-after: 1`
  (Gemini: `RESOURCE_EXHAUSTED` "Resource has been exhausted (e.g. check quota).", no
  details, which Gemini CLI retries with its own backoff).
* `fake:overloaded` — Anthropic: 529 `overloaded_error`; OpenAI (both APIs): 503 "The server
  is overloaded. Please try again later."; Gemini: 503 `UNAVAILABLE` "The model is
  overloaded. Please try again later.".
* `fake:usage-limit` — OpenAI: 429 `usage_limit_reached`, plan "plus", `resets_at` 1:00 AM UTC
  today, which Codex (clock in UTC) prints as "You’ve hit your usage limit. Upgrade to Pro
  (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more
  credits or try again at 1:00 AM." (curly apostrophe) and does not retry. Anthropic: 429
  `rate_limit_error` "This request would exceed your account's rate limit. Please try again
  later.".
* `fake:quota` — OpenAI: 429 `insufficient_quota` (Codex: "Quota exceeded. Check your plan and
  billing details."); Anthropic: as `fake:usage-limit`.
* Gemini, `fake:usage-limit` and `fake:quota` — 429 `RESOURCE_EXHAUSTED` with a
  `QuotaFailure` detail on a per-day quota, which Gemini CLI does not retry: "You have
  exhausted your daily quota on this model." (exit 173).
* `fake:slow N` — send nothing for N seconds, then answer by the rest of the script. The wait
  blocks no other request, and ends early (without an answer) when the client hangs up (then
  `hung_up` is set) or the server stops.

A prompt with no directive gets a one-line text answer and no tool call. Every model answer
reports the same usage, `input_tokens` 1200 and `output_tokens` 40 by default (Chat
Completions: `prompt_tokens` / `completion_tokens`; Gemini: `promptTokenCount` /
`candidatesTokenCount`), so a two-call session reports 2400 / 80.

The test can also decide on the server's side: `enqueue("429", "ok", ...)` gives the next model
calls those behaviours in order ("ok" answers by the script's steps; "slow N" waits first), and
`mode` is the behaviour of every model call once the queue is empty (None: the script).

Every request is recorded in `requests` before it is answered, unknown paths included, with its
parsed body and `messages` (the conversation sent), so a test can see what a CLI called and
that a resumed session sent its earlier history. `model_request_received` is set on each model
call, so a test waits on it rather than sleeping.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import re
import select
import shlex
import socket
import threading
import time
import traceback
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

INPUT_TOKENS = 1200
"""The input tokens every model answer reports."""
OUTPUT_TOKENS = 40
"""The output tokens every model answer reports."""

FAILURES = ("429", "overloaded", "usage-limit", "quota")
"""The behaviours that answer with an HTTP error instead of a model turn."""

DIRECTIVE = re.compile(r"fake:([a-z0-9-]+)[ \t]*([^\n]*)")
INJECTED = ("<", "# AGENTS.md", "# Context from my IDE")
"""How the texts a CLI adds to a user message on its own begin (never a prompt of a test)."""
ANTHROPIC_CWD = re.compile(r"(?:Primary working directory|Working directory): *(\S+)")
"""Where Claude's system prompt names the session's working directory."""
OPENCODE_CWD = re.compile(r"Working directory: *(\S+)")
"""Where opencode's system prompt names the session's working directory."""
GEMINI_CWD = re.compile(r"Workspace Directories:\**\s*\n\s*-\s*(\S+)")
"""Where Gemini CLI's `<session_context>` names its first workspace directory."""
CONVERSATION = {
    "anthropic": "messages",
    "openai": "input",
    "chat": "messages",
    "gemini": "contents",
}
"""Where each API's request body holds the conversation."""


@dataclass(frozen=True)
class Step:
    """One scripted tool call: write `content` to `path` (`kind` "write"), or run `command`
    in a shell (`kind` "run")."""

    kind: str
    path: str = ""
    content: str = ""
    command: str = ""

    @property
    def done(self) -> str:
        """How the final answer names this step."""
        return f"wrote {self.path}" if self.kind == "write" else f"ran {self.command}"

    @property
    def intent(self) -> str:
        """How the text before the tool call names this step."""
        return f"create {self.path}" if self.kind == "write" else f"run {self.command}"

    @property
    def shell(self) -> str:
        """The step as a shell command."""
        if self.kind == "run":
            return self.command
        return f"printf %s {shlex.quote(self.content)} > {shlex.quote(self.path)}"


@dataclass(frozen=True)
class Script:
    """What a prompt asks of the fake model."""

    prompt: str
    steps: tuple[Step, ...] = ()
    failure: str | None = None
    slow: float = 0.0

    @classmethod
    def parse(cls, prompt: str) -> Script:
        """Read the directives of a prompt (unknown ones are ignored)."""
        steps: list[Step] = []
        failure: str | None = None
        slow = 0.0
        for match in DIRECTIVE.finditer(prompt):
            name, argument = match.group(1), match.group(2).strip()
            if name == "write":
                path, _, content = argument.partition(" ")
                steps.append(Step("write", path, content.replace("\\n", "\n") + "\n"))
            elif name == "run":
                steps.append(Step("run", command=argument))
            elif name in FAILURES:
                failure = name
            elif name == "slow":
                slow = float(argument.split()[0]) if argument else 3600.0
        return cls(prompt, tuple(steps), failure, slow)


@dataclass(frozen=True)
class Request:
    """One request the server received, as it arrived."""

    method: str
    path: str
    """The path without its query (Claude posts to `/v1/messages?beta=true`)."""
    headers: dict[str, str]
    body: Any
    """The parsed JSON body, the raw text when it is not JSON, or None when empty."""
    api: str | None
    """The API of a model request — "anthropic" (Messages), "openai" (Responses), "chat"
    (Chat Completions) or "gemini" — None for anything else."""
    behaviour: str = ""
    """What the server answered: "write", "run", "text", "done", "json" (a JSON object asked
    for by a schema), one of FAILURES, or a status."""
    prompt: str | None = None
    """The prompt the script was read from (model requests only)."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The conversation sent: Anthropic or Chat Completions `messages`, OpenAI Responses
        `input` items, or Gemini `contents`."""
        if not isinstance(self.body, dict) or self.api is None:
            return []
        items = self.body.get(CONVERSATION[self.api])
        return items if isinstance(items, list) else []

    @property
    def user_texts(self) -> list[str]:
        """Every user text of the conversation, in order (injected context included)."""
        return [text for message in self.messages for text in _user_texts(message)]

    @property
    def tool_results(self) -> int:
        """How many tool results the conversation holds."""
        return sum(_tool_results(message) for message in self.messages)


def _content_texts(content: Any, kinds: tuple[str, ...]) -> list[str]:
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [
        str(block.get("text", ""))
        for block in content
        if isinstance(block, dict) and block.get("type") in kinds
    ]


def _user_texts(message: dict[str, Any]) -> list[str]:
    if message.get("role") != "user" or message.get("type", "message") != "message":
        return []
    parts = message.get("parts")  # Gemini: `{"text": ...}` parts, no type
    if isinstance(parts, list):
        return [str(part["text"]) for part in parts if isinstance(part, dict) and "text" in part]
    return _content_texts(message.get("content"), ("text", "input_text"))


def _tool_results(message: dict[str, Any]) -> int:
    kind = message.get("type")
    if isinstance(kind, str) and kind.endswith("_output"):  # function_call_output & co.
        return 1
    if message.get("role") == "tool":  # Chat Completions
        return 1
    parts = message.get("parts")
    if isinstance(parts, list):  # Gemini
        return sum(1 for part in parts if isinstance(part, dict) and "functionResponse" in part)
    content = message.get("content")
    if message.get("role") == "user" and isinstance(content, list):
        return sum(
            1 for block in content if isinstance(block, dict) and block.get("type") == "tool_result"
        )
    return 0


def _is_prompt(text: str) -> bool:
    return bool(text.strip()) and not text.lstrip().startswith(INJECTED)


def find_prompt(messages: list[dict[str, Any]]) -> tuple[str, int]:
    """The last real prompt of a conversation, and how many tool results came after it."""
    for index in range(len(messages) - 1, -1, -1):
        texts = [text for text in _user_texts(messages[index]) if _is_prompt(text)]
        if texts:
            after = sum(_tool_results(message) for message in messages[index + 1 :])
            return "\n".join(texts), after
    return "", sum(_tool_results(message) for message in messages)


def _checked(behaviour: str) -> str:
    """A valid server-side behaviour, or ValueError."""
    name, _, seconds = behaviour.partition(" ")
    if behaviour == "ok" or behaviour in FAILURES:
        return behaviour
    if name == "slow":
        try:
            float(seconds)
        except ValueError:
            pass
        else:
            return behaviour
    raise ValueError(f"unknown behaviour {behaviour!r}: 'ok', 'slow N' or one of {FAILURES}")


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _one_am_utc_today() -> int:
    today = dt.datetime.now(dt.UTC).date()
    return int(dt.datetime(today.year, today.month, today.day, 1, tzinfo=dt.UTC).timestamp())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeLLM


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 60.0

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — the base's name
        """Keep the test's output quiet."""

    def setup(self) -> None:
        """Track the connection so `stop()` can close it."""
        super().setup()
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        """Forget the connection."""
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, False)

    def do_GET(self) -> None:
        """Model lists, a health check; anything else is 404."""
        self.server.fake._answer(self)

    def do_POST(self) -> None:
        """Model calls and token counts; anything else is 404."""
        self.server.fake._answer(self)

    def do_HEAD(self) -> None:
        """A reachability probe (Claude sends `HEAD /` first): 200, no body."""
        self.server.fake._answer(self)

    def do_PUT(self) -> None:
        """Unknown: 404 (recorded)."""
        self.server.fake._answer(self)

    def do_DELETE(self) -> None:
        """Unknown: 404 (recorded)."""
        self.server.fake._answer(self)


class FakeLLM:
    """The fake server, listening on 127.0.0.1 on a free port from construction until `stop()`.

    Use it as a context manager (`with FakeLLM() as server:`) or call `stop()` yourself.
    """

    def __init__(
        self,
        *,
        input_tokens: int = INPUT_TOKENS,
        output_tokens: int = OUTPUT_TOKENS,
        retry_after: int = 1,
        port: int = 0,
    ) -> None:
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.retry_after = retry_after
        """The `retry-after` header (seconds) of every 429."""
        self._mode: str | None = None
        self.requests: list[Request] = []
        """Every request received, in order of arrival."""
        self.model_request_received = threading.Event()
        """Set when a model request arrives (before it is answered); a test may clear it."""
        self.hung_up = threading.Event()
        """Set when a client hangs up on an answer the server was holding back (`slow`)."""
        self._queue: list[str] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._connections: set[socket.socket] = set()
        self._handlers: set[threading.Thread] = set()
        self._stopping = threading.Event()
        self._wake_read, self._wake_write = os.pipe()
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`, with no `/v1`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def model_requests(self) -> list[Request]:
        """The recorded model calls (`/v1/messages`, `/v1/responses`, `/v1/chat/completions`,
        Gemini's `:generateContent` and `:streamGenerateContent`), in order."""
        with self._lock:
            return [request for request in self.requests if request.api is not None]

    @property
    def mode(self) -> str | None:
        """The behaviour of every model request once the queue is empty (None: the script)."""
        return self._mode

    @mode.setter
    def mode(self, behaviour: str | None) -> None:
        self._mode = None if behaviour is None else _checked(behaviour)

    def enqueue(self, *behaviours: str) -> None:
        """Queue behaviours for the next model requests, one each, in order.

        "ok" answers by the script's steps (ignoring its failure directive); "slow N" waits N
        seconds, then does the same; one of FAILURES answers with that error.
        """
        checked = [_checked(behaviour) for behaviour in behaviours]
        with self._lock:
            self._queue.extend(checked)

    def wait_for_requests(self, count: int, timeout: float | None, *, model: bool = False) -> bool:
        """Wait until `count` requests (model calls only, with `model`) have arrived; False on
        timeout."""
        with self._arrived:
            return self._arrived.wait_for(
                lambda: sum(1 for r in self.requests if r.api or not model) >= count, timeout
            )

    def post(
        self, path: str, body: dict[str, Any], timeout: float = 60.0
    ) -> tuple[int, dict[str, str], bytes]:
        """POST JSON to the server as a client would, never through a proxy: the status, the
        headers and the body of the answer (an error status is an answer too)."""
        request = urllib.request.Request(
            self.url + path, json.dumps(body).encode(), {"content-type": "application/json"}
        )
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with direct.open(request, timeout=timeout) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def stop(self) -> None:
        """Stop serving, end every waiting answer and close every connection. Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        os.write(self._wake_write, b"x")
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(timeout=5)
        with self._lock:
            handlers = list(self._handlers)
        for thread in handlers:
            thread.join(timeout=5)
        os.close(self._wake_read)
        os.close(self._wake_write)

    def __enter__(self) -> FakeLLM:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # The request handling, on the server's threads.

    def _track(self, connection: socket.socket, alive: bool) -> None:
        with self._lock:
            if alive:
                self._connections.add(connection)
                self._handlers.add(threading.current_thread())
            else:
                self._connections.discard(connection)
                self._handlers.discard(threading.current_thread())

    def _record(self, request: Request) -> None:
        with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()
        if request.api is not None:
            self.model_request_received.set()

    def _next_behaviour(self) -> str | None:
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
            return self._mode

    def _answer(self, handler: _Handler) -> None:
        """Handle one request; a bug of the fake is a 500 whose body is the traceback."""
        try:
            self._handle(handler)
        except OSError:
            handler.close_connection = True
        except Exception:
            text = traceback.format_exc()
            self._record(Request(handler.command, handler.path, {}, text, None, "500"))
            with contextlib.suppress(OSError):
                self._send(handler, 500, text.encode(), "text/plain")
            handler.close_connection = True

    def _handle(self, handler: _Handler) -> None:
        method, path = handler.command, handler.path.split("?", 1)[0]
        headers = {key.lower(): value for key, value in handler.headers.items()}
        length = int(headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        api = _api(method, path)
        if api is None:
            status, answer = self._misc(method, path)
            self._record(Request(method, path, headers, body, None, str(status)))
            self._json(handler, status, answer)
            return
        if not isinstance(body, dict):
            body = {}
        messages = body.get(CONVERSATION[api])
        prompt, results = find_prompt(messages if isinstance(messages, list) else [])
        prompt = _unquoted(prompt)
        schema = _json_schema(body) if api == "gemini" else None
        script = Script.parse(prompt)
        behaviour = self._next_behaviour()
        slow = script.slow
        if behaviour and behaviour.startswith("slow"):
            slow = float(behaviour.split()[1])
            behaviour = "ok"
        failure = behaviour if behaviour in FAILURES else None
        if behaviour is None:
            failure = script.failure
        if failure is not None:
            kind = failure
        elif schema is not None:
            kind = "json"
        elif api == "chat" and not _tool_names(body):  # Aider: all steps at once
            kind = script.steps[0].kind if script.steps and _aider_format(body) else "text"
        elif results < len(script.steps):
            kind = script.steps[results].kind
        else:
            kind = "done" if script.steps else "text"
        self._record(Request(method, path, headers, body, api, kind, prompt))
        if slow and not self._wait(handler, slow):
            return
        if failure is not None:
            self._fail(handler, api, failure)
        elif api == "anthropic":
            self._anthropic(handler, body, script, results)
        elif api == "openai":
            self._openai(handler, body, script, results)
        elif api == "chat":
            self._chat(handler, body, script, results)
        else:
            self._gemini(handler, path, body, script, results, schema)

    def _wait(self, handler: _Handler, seconds: float) -> bool:
        """Wait without answering; False when the client hung up or the server stopped."""
        deadline = time.monotonic() + seconds
        watched: list[Any] = [handler.connection, self._wake_read]
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            ready, _, _ = select.select(watched, [], [], left)
            if handler.connection in ready:
                try:
                    alive = bool(handler.connection.recv(1, socket.MSG_PEEK))
                except OSError:
                    alive = False
                if not alive:
                    self.hung_up.set()
                    break
                watched = [self._wake_read]  # more bytes to read later: not a hang-up
        handler.close_connection = True
        return False

    def _misc(self, method: str, path: str) -> tuple[int, dict[str, Any]]:
        """The answer to a request that is not a model call: status and JSON body."""
        tail = path.rstrip("/")
        if method == "HEAD":
            return 200, {}
        if tail.endswith("/count_tokens"):
            return 200, {"input_tokens": self.input_tokens}
        if tail.endswith(":countTokens"):
            return 200, {"totalTokens": self.input_tokens}
        if method == "GET" and tail.endswith("/models"):
            return 200, self._models()
        if method == "GET" and tail in ("", "/health", "/healthz", "/v1"):
            return 200, {"ok": True}
        return 404, {"error": {"type": "not_found", "message": path}}

    def _models(self) -> dict[str, Any]:
        names = ("gpt-5.5", "claude-sonnet-4-5", "claude-opus-4-8")
        data = [
            {"id": name, "object": "model", "type": "model", "display_name": name, "created": 0}
            for name in names
        ]
        return {"object": "list", "data": data, "has_more": False, "models": []}

    def _send(
        self,
        handler: _Handler,
        status: int,
        data: bytes,
        content_type: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        handler.send_response(status)
        handler.send_header("content-type", content_type)
        handler.send_header("content-length", str(len(data)))
        for key, value in (extra or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)
        handler.wfile.flush()

    def _json(
        self,
        handler: _Handler,
        status: int,
        body: dict[str, Any],
        extra: dict[str, str] | None = None,
    ) -> None:
        self._send(handler, status, json.dumps(body).encode(), "application/json", extra)

    def _fail(self, handler: _Handler, api: str, failure: str) -> None:
        request_id = {"request-id": f"req_fake{failure}", "x-request-id": f"req_fake{failure}"}
        limited = {**request_id, "retry-after": str(self.retry_after)}
        error: dict[str, Any]
        if api == "gemini":
            status, error = _gemini_error(failure)
            self._json(handler, status, {"error": error}, limited if status == 429 else None)
            return
        if api == "anthropic":
            if failure == "overloaded":
                error = {"type": "overloaded_error", "message": "Overloaded"}
                status = 529
            elif failure == "429":
                error = {
                    "type": "rate_limit_error",
                    "message": "This request would exceed your organization's rate limit of "
                    "50 requests per minute",
                }
                status = 429
            else:
                error = {
                    "type": "rate_limit_error",
                    "message": "This request would exceed your account's rate limit. "
                    "Please try again later.",
                }
                status = 429
            extra = limited if status == 429 else request_id
            self._json(handler, status, {"type": "error", "error": error}, extra)
            return
        if failure == "overloaded":
            # A `code` of "server_is_overloaded" would make Codex say "Selected model is at
            # capacity" instead of naming the status.
            error = {
                "type": "server_error",
                "message": "The server is overloaded. Please try again later.",
            }
            self._json(handler, 503, {"error": error}, request_id)
            return
        if failure == "usage-limit":
            error = {
                "type": "usage_limit_reached",
                "message": "The usage limit has been reached",
                "plan_type": "plus",
                "resets_at": _one_am_utc_today(),
            }
        elif failure == "quota":
            error = {
                "type": "insufficient_quota",
                "code": "insufficient_quota",
                "message": "You exceeded your current quota, please check your plan and "
                "billing details.",
            }
        else:
            error = {
                "type": "rate_limit_exceeded",
                "code": "rate_limit_exceeded",
                "message": "Rate limit reached. Please try again in 1s.",
            }
        self._json(handler, 429, {"error": error}, limited)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):06d}"

    def _final_text(self, script: Script) -> str:
        if script.steps:
            return "DONE " + ", ".join(step.done for step in script.steps)
        first = script.prompt.strip().splitlines()[0] if script.prompt.strip() else ""
        return f"Fake answer to: {first[:80]}"

    # Anthropic Messages API.

    def _anthropic(
        self, handler: _Handler, body: dict[str, Any], script: Script, results: int
    ) -> None:
        model = str(body.get("model") or "claude-fake")
        blocks: list[dict[str, Any]] = []
        stop_reason = "end_turn"
        if results < len(script.steps):
            step = script.steps[results]
            if step.kind == "write":
                path = _absolute(step.path, ANTHROPIC_CWD.search(_system_text(body)))
                step = Step("write", path, step.content)
            blocks.append({"type": "text", "text": f"I'll {step.intent}."})
            tool = _anthropic_tool(body, step)
            blocks.append({"type": "tool_use", "id": self._new_id("toolu"), **tool})
            stop_reason = "tool_use"
        else:
            blocks.append({"type": "text", "text": self._final_text(script)})
        usage = {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
        message: dict[str, Any] = {
            "id": self._new_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": blocks,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }
        if not body.get("stream"):
            self._json(handler, 200, message)
            return
        events = [
            _sse(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        **message,
                        "content": [],
                        "stop_reason": None,
                        "usage": {**usage, "output_tokens": 1},
                    },
                },
            )
        ]
        for index, block in enumerate(blocks):
            start: dict[str, Any]
            if block["type"] == "text":
                start = {"type": "text", "text": ""}
                delta = {"type": "text_delta", "text": block["text"]}
            else:
                start = {**block, "input": {}}
                delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            events.append(
                _sse(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": start},
                )
            )
            events.append(
                _sse(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            )
            events.append(
                _sse("content_block_stop", {"type": "content_block_stop", "index": index})
            )
        events.append(
            _sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": self.output_tokens},
                },
            )
        )
        events.append(_sse("message_stop", {"type": "message_stop"}))
        self._stream(handler, events)

    def _stream(self, handler: _Handler, events: list[bytes]) -> None:
        data = b"".join(events)
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.send_header("cache-control", "no-cache")
        handler.send_header("content-length", str(len(data)))
        handler.send_header("request-id", self._new_id("req"))
        handler.end_headers()
        handler.wfile.write(data)
        handler.wfile.flush()

    # OpenAI Responses API.

    def _openai(
        self, handler: _Handler, body: dict[str, Any], script: Script, results: int
    ) -> None:
        model = str(body.get("model") or "gpt-fake")
        response_id = self._new_id("resp")
        items: list[dict[str, Any]] = []
        if results < len(script.steps):
            step = script.steps[results]
            items.append(_openai_tool(body, step, self._new_id("call"), self._new_id("fc")))
        else:
            text = self._final_text(script)
            items.append(
                {
                    "type": "message",
                    "id": self._new_id("msg"),
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            )
        usage = {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.input_tokens + self.output_tokens,
        }
        response: dict[str, Any] = {
            "id": response_id,
            "object": "response",
            "created_at": 0,
            "model": model,
            "status": "in_progress",
            "output": [],
        }
        events = [_sse("response.created", {"type": "response.created", "response": response})]
        for index, item in enumerate(items):
            events.append(
                _sse(
                    "response.output_item.added",
                    {"type": "response.output_item.added", "output_index": index, "item": item},
                )
            )
            if item["type"] == "message":
                events.append(
                    _sse(
                        "response.output_text.delta",
                        {
                            "type": "response.output_text.delta",
                            "item_id": item["id"],
                            "output_index": index,
                            "content_index": 0,
                            "delta": item["content"][0]["text"],
                        },
                    )
                )
            events.append(
                _sse(
                    "response.output_item.done",
                    {"type": "response.output_item.done", "output_index": index, "item": item},
                )
            )
        done = {**response, "status": "completed", "output": items, "usage": usage}
        events.append(_sse("response.completed", {"type": "response.completed", "response": done}))
        if not body.get("stream", True):
            self._json(handler, 200, done)
            return
        self._stream(handler, events)

    # OpenAI Chat Completions (Aider through litellm, opencode through the AI SDK).

    def _chat(self, handler: _Handler, body: dict[str, Any], script: Script, results: int) -> None:
        model = str(body.get("model") or "gpt-fake")
        text: str
        calls: list[dict[str, Any]] = []
        tools = _tool_names(body)
        edit_format = _aider_format(body) if not tools else None
        if edit_format is not None and script.steps:  # Aider: the edits are text
            text = _aider_answer(script, edit_format == "diff")
        elif tools and results < len(script.steps):
            step = script.steps[results]
            if step.kind == "write":
                step = Step("write", _absolute(step.path, _cwd(body, OPENCODE_CWD)), step.content)
            name, arguments = _tool_call(tools, step)
            text = f"I'll {step.intent}."
            calls.append(
                {
                    "id": self._new_id("call"),
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(arguments)},
                }
            )
        else:
            text = self._final_text(script)
        finish = "tool_calls" if calls else "stop"
        usage = {
            "prompt_tokens": self.input_tokens,
            "completion_tokens": self.output_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        }
        completion_id = self._new_id("chatcmpl")
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if calls:
                message["tool_calls"] = calls
            choice = {"index": 0, "message": message, "finish_reason": finish}
            answer = {
                "id": completion_id,
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [choice],
                "usage": usage,
            }
            self._json(handler, 200, answer)
            return
        head = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
        }
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": text}]
        deltas += [{"tool_calls": [{"index": index, **call}]} for index, call in enumerate(calls)]
        chunks = [
            {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            for delta in deltas
        ]
        chunks.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        chunks.append({**head, "choices": [], "usage": usage})
        data = [f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks]
        self._stream(handler, [*data, b"data: [DONE]\n\n"])

    # The Gemini API (Gemini CLI).

    def _gemini(
        self,
        handler: _Handler,
        path: str,
        body: dict[str, Any],
        script: Script,
        results: int,
        schema: dict[str, Any] | None,
    ) -> None:
        model = path.rsplit("/", 1)[-1].split(":", 1)[0] or "gemini-fake"
        parts: list[dict[str, Any]]
        if schema is not None:  # the router's classifier (or another JSON question)
            parts = [{"text": json.dumps(_instance(schema))}]
        elif results < len(script.steps):
            step = script.steps[results]
            if step.kind == "write":
                cwd = GEMINI_CWD.search("\n".join(_gemini_user_texts(body.get("contents"))))
                step = Step("write", _absolute(step.path, cwd), step.content)
            name, arguments = _tool_call(_gemini_tools(body), step)
            parts = [{"text": f"I'll {step.intent}."}]
            parts.append({"functionCall": {"name": name, "args": arguments}})
        else:
            parts = [{"text": self._final_text(script)}]
        answer = {
            "candidates": [
                {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {
                "promptTokenCount": self.input_tokens,
                "candidatesTokenCount": self.output_tokens,
                "totalTokenCount": self.input_tokens + self.output_tokens,
            },
            "modelVersion": model,
            "responseId": self._new_id("resp"),
        }
        if ":streamGenerateContent" not in path:
            self._json(handler, 200, answer)
            return
        self._stream(handler, [f"data: {json.dumps(answer)}\r\n\r\n".encode()])


def _api(method: str, path: str) -> str | None:
    """The API a request calls a model through (see `Request.api`), None when it does not."""
    tail = path.rstrip("/")
    if method != "POST":
        return None
    if tail.endswith("/chat/completions"):
        return "chat"
    if tail.endswith("/messages"):
        return "anthropic"
    if tail.endswith("/responses"):
        return "openai"
    if tail.endswith((":generateContent", ":streamGenerateContent")):
        return "gemini"
    return None


def _gemini_user_texts(contents: Any) -> list[str]:
    """Every user text of a Gemini conversation (injected context included)."""
    if not isinstance(contents, list):
        return []
    return [
        text for content in contents if isinstance(content, dict) for text in _user_texts(content)
    ]


def _unquoted(prompt: str) -> str:
    """A prompt without the double quotes `opencode run` puts around an argument holding a
    space (escaping the quotes inside)."""
    if len(prompt) >= 2 and prompt[0] == prompt[-1] == '"':
        return prompt[1:-1].replace('\\"', '"')
    return prompt


def _json_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The schema of the JSON object a Gemini request asks for, None for a chat turn."""
    config = body.get("generationConfig")
    if not isinstance(config, dict):
        return None
    for key in ("responseJsonSchema", "responseSchema"):
        if isinstance(config.get(key), dict):
            return dict(config[key])
    if config.get("responseMimeType") == "application/json":
        return {"type": "object"}
    return None


def _instance(schema: Any) -> Any:
    """A value `schema` (JSON Schema or Gemini's OpenAPI subset) accepts: an enum's first
    value, every property of an object, a number's minimum (else 1), "fake"..."""
    if not isinstance(schema, dict):
        return None
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return _instance(schema[key][0])
    kind = schema.get("type", "object")
    kind = str(kind[0] if isinstance(kind, list) and kind else kind).lower()
    if kind == "object":
        properties = schema.get("properties")
        items = properties.items() if isinstance(properties, dict) else ()
        return {name: _instance(value) for name, value in items}
    if kind == "array":
        return [_instance(schema.get("items"))] * int(schema.get("minItems") or 0)
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "fake"


def _gemini_error(failure: str) -> tuple[int, dict[str, Any]]:
    """The status and `error` object of a Gemini API failure."""
    if failure == "overloaded":
        message = "The model is overloaded. Please try again later."
        return 503, {"code": 503, "message": message, "status": "UNAVAILABLE"}
    if failure == "429":
        message = "Resource has been exhausted (e.g. check quota)."
        return 429, {"code": 429, "message": message, "status": "RESOURCE_EXHAUSTED"}
    violation = {
        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
        "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
    }
    details = [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]}]
    message = "You exceeded your current quota, please check your plan and billing details."
    return 429, {
        "code": 429,
        "message": message,
        "status": "RESOURCE_EXHAUSTED",
        "details": details,
    }


def _system_text(body: dict[str, Any]) -> str:
    system = body.get("system")
    if isinstance(system, str):
        return system
    return "\n".join(_content_texts(system, ("text",)))


def _system_messages(body: dict[str, Any]) -> str:
    """The text of a Chat Completions request's system messages."""
    messages = body.get("messages")
    return "\n".join(
        text
        for message in (messages if isinstance(messages, list) else [])
        if isinstance(message, dict) and message.get("role") == "system"
        for text in _content_texts(message.get("content"), ("text",))
    )


def _cwd(body: dict[str, Any], pattern: re.Pattern[str]) -> re.Match[str] | None:
    """Where a Chat Completions request's system messages name the working directory."""
    return pattern.search(_system_messages(body))


def _absolute(path: str, cwd: re.Match[str] | None) -> str:
    if path.startswith("/") or cwd is None:
        return path
    return f"{cwd.group(1).rstrip('/')}/{path}"


def _tool_names(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        return {}
    named: dict[str, dict[str, Any]] = {}
    for tool in tools:
        if isinstance(tool, dict):
            name = tool.get("name") or (tool.get("function") or {}).get("name") or tool.get("type")
            named[str(name)] = tool
    return named


def _gemini_tools(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The functions a Gemini request declares, by name."""
    tools = body.get("tools")
    named: dict[str, dict[str, Any]] = {}
    for tool in tools if isinstance(tools, list) else []:
        declarations = tool.get("functionDeclarations") if isinstance(tool, dict) else None
        for declaration in declarations if isinstance(declarations, list) else []:
            if isinstance(declaration, dict):
                named[str(declaration.get("name"))] = declaration
    return named


def _parameters(tool: dict[str, Any]) -> dict[str, Any]:
    """The properties of a tool's parameters (Chat Completions or Gemini), {} when unsaid."""
    function = tool.get("function")
    holder = function if isinstance(function, dict) else tool
    for key in ("parameters", "parametersJsonSchema", "input_schema"):
        schema = holder.get(key)
        if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
            return dict(schema["properties"])
    return {}


WRITE_TOOLS = ("write", "write_file", "Write", "create_file")
"""The names of file-writing tools, best first (opencode, Gemini CLI, Claude Code...)."""
SHELL_TOOLS = ("bash", "run_shell_command", "Bash", "shell")
"""The names of shell tools, best first."""


def _tool_call(tools: dict[str, dict[str, Any]], step: Step) -> tuple[str, dict[str, Any]]:
    """The name and arguments of the call that does `step` with the tools offered: a write
    tool for a write (its path argument named as the tool names it), else a shell tool."""
    if step.kind == "write":
        for name in WRITE_TOOLS:
            if name in tools:
                properties = _parameters(tools[name])
                keys = [key for key in ("filePath", "file_path", "path") if key in properties]
                return name, {keys[0] if keys else "file_path": step.path, "content": step.content}
    name = next((name for name in SHELL_TOOLS if name in tools), "bash")
    arguments = {"command": step.shell}
    properties = _parameters(tools.get(name, {}))
    if not properties or "description" in properties:
        arguments["description"] = step.done
    return name, arguments


def _aider_format(body: dict[str, Any]) -> str | None:
    """The edit format Aider's system prompt asks for ("diff" or "whole"), None when the
    request is not Aider's (opencode's title request offers no tools either)."""
    system = _system_messages(body)
    if "SEARCH/REPLACE" in system:
        return "diff"
    if "file listing" in system:
        return "whole"
    return None


def _aider_answer(script: Script, diff: bool) -> str:
    """Every step at once, in Aider's edit format: for `diff`, a SEARCH/REPLACE block with an
    empty SEARCH creates a file; for `whole` (Aider's default for a model it does not know),
    the file's path and its whole text in a fence. A command is a fenced `bash` block (Aider
    only suggests it)."""
    blocks = []
    for step in script.steps:
        if step.kind != "write":
            blocks.append(f"```bash\n{step.command}\n```\n")
        elif diff:
            blocks.append(
                f"{step.path}\n```\n<<<<<<< SEARCH\n=======\n{step.content}>>>>>>> REPLACE\n```\n"
            )
        else:
            blocks.append(f"{step.path}\n```\n{step.content}```\n")
    intents = ", ".join(step.intent for step in script.steps)
    return f"I'll {intents}.\n\n" + "\n".join(blocks)


def _anthropic_tool(body: dict[str, Any], step: Step) -> dict[str, Any]:
    """A `Write` call for a write when offered, else a `Bash` command."""
    tools = _tool_names(body)
    if step.kind == "write" and ("Write" in tools or "Bash" not in tools):
        return {"name": "Write", "input": {"file_path": step.path, "content": step.content}}
    return {"name": "Bash", "input": {"command": step.shell, "description": step.done}}


def _patch(step: Step) -> str:
    added = "".join(f"+{line}\n" for line in step.content.splitlines())
    return f"*** Begin Patch\n*** Add File: {step.path}\n{added}*** End Patch\n"


def _openai_tool(body: dict[str, Any], step: Step, call_id: str, item_id: str) -> dict[str, Any]:
    """A call of the best tool the request offered: apply_patch for a write, else a shell."""
    tools = _tool_names(body)
    shell = step.shell
    base = {"id": item_id, "call_id": call_id, "status": "completed"}
    patch = tools.get("apply_patch") if step.kind == "write" else None
    if patch is not None and patch.get("type") == "custom":
        return {**base, "type": "custom_tool_call", "name": "apply_patch", "input": _patch(step)}
    if patch is not None:
        arguments = json.dumps({"input": _patch(step)})
        return {**base, "type": "function_call", "name": "apply_patch", "arguments": arguments}
    for name, key, value in (
        ("shell_command", "command", shell),
        ("exec_command", "cmd", shell),
        ("shell", "command", ["bash", "-lc", shell]),
    ):
        if name in tools:
            arguments = json.dumps({key: value})
            return {**base, "type": "function_call", "name": name, "arguments": arguments}
    if "local_shell" in tools:
        action = {"type": "exec", "command": ["bash", "-lc", shell]}
        return {**base, "type": "local_shell_call", "action": action}
    arguments = json.dumps({"command": ["bash", "-lc", shell]})
    return {**base, "type": "function_call", "name": "shell", "arguments": arguments}


def main() -> None:
    """`python -m tests.fakellm [PORT]`: serve until interrupted, printing each request."""
    import sys

    with FakeLLM(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0) as server:
        print(
            f"ANTHROPIC_BASE_URL={server.url}  GOOGLE_GEMINI_BASE_URL={server.url}  "
            f"OPENAI_API_BASE={server.url}/v1  (codex base_url, opencode baseURL: the same)",
            flush=True,
        )
        seen = 0
        try:
            while True:
                server.wait_for_requests(seen + 1, timeout=None)
                for request in server.requests[seen:]:
                    print(request.method, request.path, request.behaviour, flush=True)
                seen = len(server.requests)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
