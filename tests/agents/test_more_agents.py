"""The real Gemini CLI, Aider and opencode, headless, against the fake LLM server.

The first tests check the server's answers in the wire formats these CLIs speak (Chat
Completions, the Gemini API) and need no CLI. Each CLI test runs the installed program in a
fresh git repository under `tmp_path`, in a process group of its own that is killed when the
test ends, with stdout and stderr merged line by line as pmtui reads them; it checks what the
CLI did and that pmtui's own parser reads its output right (session, tokens, verdict). The
last tests drive each CLI through `pmtui run plan.md --json` with its preset (opencode works
in `$PWD`, which pmtui sets to the task's worktree). A test is skipped when its CLI is not
installed (`make agents` installs all three into `.agents/`). Timeouts are safety nets only:
nothing sleeps to wait; a test waits for the CLI's exit or for a line it prints.

Slow on purpose (each bounded by what the CLI allows): Gemini's 429 waits its one back-off of
about 5 s; opencode retries a 429 twice before it gives up."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest

from pmtui.agents.parsers import make_parser
from pmtui.agents.signals import (
    AgentOutcome,
    RateLimited,
    RateLimitKind,
    Retrying,
    SessionStarted,
    Signal,
    Usage,
    Verdict,
)
from pmtui.config.model import ParserKind
from tests.agents.agent_env import (
    AIDER_MODEL,
    GEMINI_MODEL,
    OPENCODE_MODEL,
    agent_program,
    aider_env,
    base_env,
    gemini_env,
    offline,
    opencode_env,
)
from tests.fakellm import INPUT_TOKENS, OUTPUT_TOKENS, FakeLLM
from tests.gitrepo import git

SAFETY = 90.0
"""Seconds before a stuck CLI (or pmtui) is killed and its test fails."""
PRICE = 0.0042
"""What one model call (1200 in, 40 out) costs at the prices the helpers give."""
GEMINI = agent_program("gemini")
AIDER = agent_program("aider")
OPENCODE = agent_program("opencode")
T = TypeVar("T")


def needs(name: str, found: Path | None) -> pytest.MarkDecorator:
    """Skip a test when its CLI is not installed."""
    return pytest.mark.skipif(
        found is None,
        reason=f"`{name}` is not installed: `make agents` installs it into .agents/ "
        "(or set PMTUI_AGENTS_BIN)",
    )


needs_gemini = needs("gemini", GEMINI)
needs_aider = needs("aider", AIDER)
needs_opencode = needs("opencode", OPENCODE)

GEMINI_ARGS = ("--output-format", "stream-json", "--approval-mode", "auto_edit")
AIDER_ARGS = (
    "--yes-always",
    "--no-auto-commits",
    "--no-stream",
    "--no-pretty",
    "--no-fancy-input",
    "--no-check-update",
    "--analytics-disable",
)
"""The flags of pmtui's Aider preset."""
AIDER_DIFF = ("--edit-format", "diff", "--no-show-model-warnings", "--no-gitignore")
"""More flags for the direct runs: SEARCH/REPLACE edits, no model warnings, the
repository's `.gitignore` left alone."""


# Running a CLI.


def group_members(pgid: int) -> list[int]:
    """The live processes of a process group."""
    members = []
    for pid in psutil.pids():
        with contextlib.suppress(ProcessLookupError, PermissionError, psutil.Error):
            if os.getpgid(pid) == pgid and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                members.append(pid)
    return members


class Cli:
    """A CLI running in a process group of its own, its stdout and stderr merged line by
    line (as pmtui reads them); `seen` is set when a line matches `watch`. Its `PWD` is
    `pwd` (default: `cwd`), as a shell sets it: opencode works there."""

    def __init__(
        self,
        argv: Sequence[str],
        cwd: Path,
        env: dict[str, str],
        watch: str | None = None,
        pwd: Path | None = None,
    ) -> None:
        self.lines: list[str] = []
        self.seen = threading.Event()
        self._watch = re.compile(watch) if watch else None
        self.proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env={**env, "PWD": str(pwd or cwd)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if self._watch is not None and self._watch.search(line):
                self.seen.set()

    def wait(self) -> int:
        """The exit code, once the CLI exited and its output is read to the end."""
        code = self.proc.wait(timeout=SAFETY)
        self._reader.join(SAFETY)
        return code

    def kill(self) -> None:
        """Kill the whole group, reap it, and check that nothing of it is left."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=SAFETY)
        self._reader.join(SAFETY)
        assert group_members(self.proc.pid) == []

    @property
    def output(self) -> str:
        """Everything it printed, for an assertion's message."""
        return "\n".join(self.lines)

    def events(self) -> list[dict[str, Any]]:
        """The JSON objects among its lines."""
        events = []
        for line in self.lines:
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict):
                    events.append(event)
        return events


@contextlib.contextmanager
def started(
    argv: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    watch: str | None = None,
    pwd: Path | None = None,
) -> Iterator[Cli]:
    """A CLI started, whose group is killed afterwards whatever happened."""
    cli = Cli(argv, cwd, env, watch, pwd)
    try:
        yield cli
    finally:
        cli.kill()


def run(
    argv: Sequence[str], cwd: Path, env: dict[str, str], pwd: Path | None = None
) -> tuple[int, Cli]:
    """Run a CLI to its end: its exit code and its output."""
    with started(argv, cwd, env, pwd=pwd) as cli:
        code = cli.wait()
    return code, cli


def parsed(
    kind: ParserKind, lines: Sequence[str], code: int | None, *, killed: bool = False
) -> tuple[list[Signal], Verdict]:
    """What pmtui's parser makes of the lines, and its verdict."""
    parser = make_parser(kind)
    signals = [said for line in lines for said in parser.feed(line)]
    return signals, parser.finish(code, killed=killed)


def of_type(signals: Sequence[Signal], kind: type[T]) -> list[T]:
    """The signals of one type."""
    return [said for said in signals if isinstance(said, kind)]


def total(usages: Sequence[Usage]) -> tuple[int, int]:
    """Input and output tokens of step usages, added up."""
    return sum(u.input_tokens for u in usages), sum(u.output_tokens for u in usages)


@pytest.fixture
def server() -> Iterator[FakeLLM]:
    """A fake LLM server answering a 429 with `retry-after: 0` (clients' own back-off)."""
    with FakeLLM(retry_after=0) as fake:
        yield fake


# The server alone: the wire formats these CLIs speak.


def post(server: FakeLLM, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    """POST JSON to the server: status, headers, body text."""
    status, headers, body_bytes = server.post(path, body, SAFETY)
    return status, headers, body_bytes.decode()


def sse(text: str) -> list[Any]:
    """The JSON payloads of a server-sent-event stream (`[DONE]` as the string)."""
    payloads = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    return [payload if payload == "[DONE]" else json.loads(payload) for payload in payloads]


@pytest.mark.parametrize(
    ("system", "edit"),
    [
        ("Describe each change with a *SEARCH/REPLACE block*", "<<<<<<< SEARCH\n=======\nalpha\n"),
        ("return the entire file in a *file listing*", "```\nalpha\n```"),
    ],
)
def test_chat_completions_answer_aider_in_the_edit_format_it_asks_for(
    server: FakeLLM, system: str, edit: str
) -> None:
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": "fake:write a.txt alpha"},
    ]
    status, _, raw = post(server, "/v1/chat/completions", {"model": "m", "messages": messages})
    assert status == 200
    answer = json.loads(raw)
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert "a.txt\n```\n" in answer["choices"][0]["message"]["content"]
    assert edit in answer["choices"][0]["message"]["content"]
    assert answer["usage"]["prompt_tokens"] == INPUT_TOKENS
    assert answer["usage"]["completion_tokens"] == OUTPUT_TOKENS
    assert [(r.api, r.behaviour) for r in server.model_requests] == [("chat", "write")]


def test_chat_completions_stream_opencodes_write_call_then_the_end(server: FakeLLM) -> None:
    tool = {"name": "write", "parameters": {"properties": {"filePath": {}, "content": {}}}}
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "<env>\n  Working directory: /w/r\n</env>"},
        {"role": "user", "content": '"fake:write a.txt alpha"'},  # opencode quotes it
    ]
    body = {"model": "m", "stream": True, "tools": [{"type": "function", "function": tool}]}
    status, headers, raw = post(server, "/v1/chat/completions", {**body, "messages": messages})
    chunks = sse(raw)
    assert status == 200 and headers["content-type"] == "text/event-stream"
    assert chunks[-1] == "[DONE]" and chunks[-2]["usage"]["prompt_tokens"] == INPUT_TOKENS
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks[:-1] if chunk["choices"]]
    (call,) = [call for delta in deltas for call in delta.get("tool_calls", [])]
    assert call["function"]["name"] == "write"
    assert json.loads(call["function"]["arguments"]) == {
        "filePath": "/w/r/a.txt",
        "content": "alpha\n",
    }
    assert chunks[-3]["choices"][0]["finish_reason"] == "tool_calls"
    messages += [
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "Wrote file successfully."},
    ]
    _, _, raw = post(server, "/v1/chat/completions", {**body, "messages": messages})
    texts = [c["choices"][0]["delta"].get("content") for c in sse(raw)[:-1] if c["choices"]]
    assert "DONE wrote a.txt" in texts
    title = {"model": "m", "stream": True, "messages": messages[:2]}  # no tools: a title
    post(server, "/v1/chat/completions", title)
    assert [r.behaviour for r in server.model_requests] == ["write", "done", "text"]
    assert server.model_requests[0].prompt == "fake:write a.txt alpha"


def test_gemini_json_questions_get_an_object_their_schema_accepts(server: FakeLLM) -> None:
    schema = {
        "type": "OBJECT",
        "properties": {
            "complexity_reasoning": {"type": "STRING"},
            "complexity_score": {"type": "INTEGER"},
            "model_choice": {"type": "string", "enum": ["flash", "pro"]},
        },
        "required": ["complexity_reasoning", "complexity_score"],
    }
    body = {
        "contents": [{"role": "user", "parts": [{"text": "fake:write a.txt alpha"}]}],
        "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": schema},
    }
    status, _, raw = post(server, "/v1beta/models/flash-lite:generateContent", body)
    answer = json.loads(raw)
    assert status == 200
    text = answer["candidates"][0]["content"]["parts"][0]["text"]
    assert json.loads(text) == {
        "complexity_reasoning": "fake",
        "complexity_score": 1,
        "model_choice": "flash",
    }
    assert answer["usageMetadata"]["promptTokenCount"] == INPUT_TOKENS
    assert [r.behaviour for r in server.model_requests] == ["json"]


def test_gemini_stream_calls_write_file_in_the_workspace(server: FakeLLM) -> None:
    declaration = {
        "name": "write_file",
        "parametersJsonSchema": {"properties": {"file_path": {}, "content": {}}},
    }
    context = "<session_context>\n- **Workspace Directories:**\n  - /w/r\n</session_context>"
    contents: list[dict[str, Any]] = [
        {"role": "user", "parts": [{"text": context}, {"text": "fake:write a.txt alpha"}]}
    ]
    body = {"tools": [{"functionDeclarations": [declaration]}]}
    path = "/v1beta/models/gemini-fake:streamGenerateContent?alt=sse"
    status, headers, raw = post(server, path, {**body, "contents": contents})
    (chunk,) = sse(raw)
    assert status == 200 and headers["content-type"] == "text/event-stream"
    parts = chunk["candidates"][0]["content"]["parts"]
    (call,) = [part["functionCall"] for part in parts if "functionCall" in part]
    assert call == {"name": "write_file", "args": {"file_path": "/w/r/a.txt", "content": "alpha\n"}}
    assert chunk["usageMetadata"]["candidatesTokenCount"] == OUTPUT_TOKENS
    contents += [
        {"role": "model", "parts": [{"functionCall": call}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "write_file", "response": {}}}]},
    ]
    _, _, raw = post(server, path, {**body, "contents": contents})
    assert sse(raw)[0]["candidates"][0]["content"]["parts"] == [{"text": "DONE wrote a.txt"}]
    assert [(r.api, r.behaviour, r.tool_results) for r in server.model_requests] == [
        ("gemini", "write", 0),
        ("gemini", "done", 1),
    ]
    assert server.model_requests[1].user_texts == [context, "fake:write a.txt alpha"]


@pytest.mark.parametrize(
    ("failure", "status", "code", "detail"),
    [
        ("429", 429, "RESOURCE_EXHAUSTED", None),
        ("quota", 429, "RESOURCE_EXHAUSTED", "GenerateRequestsPerDayPerProjectPerModel-FreeTier"),
        ("overloaded", 503, "UNAVAILABLE", None),
    ],
)
def test_gemini_failures_are_google_errors(
    server: FakeLLM, failure: str, status: int, code: str, detail: str | None
) -> None:
    server.enqueue(failure)
    body = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}
    got, _, raw = post(server, "/v1beta/models/m:streamGenerateContent?alt=sse", body)
    error = json.loads(raw)["error"]
    assert (got, error["code"], error["status"]) == (status, status, code)
    quota = [v["quotaId"] for d in error.get("details", []) for v in d["violations"]]
    assert quota == ([detail] if detail else [])
    got, _, raw = post(server, "/v1beta/models/m:countTokens", body)
    assert (got, json.loads(raw)) == (200, {"totalTokens": INPUT_TOKENS})


# Gemini CLI.


def gemini(prompt: str, *args: str) -> list[str]:
    assert GEMINI is not None
    return [str(GEMINI), "-p", prompt, *GEMINI_ARGS, *args]


@needs_gemini
def test_gemini_writes_a_file_and_its_stream_reads_as_a_success(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    code, cli = run(
        gemini("fake:write a.txt alpha", "-m", GEMINI_MODEL), repo, gemini_env(server, home)
    )
    assert code == 0, cli.output
    assert (repo / "a.txt").read_text() == "alpha\n"
    assert [r.behaviour for r in server.model_requests] == ["write", "done"]
    assert all(":streamGenerateContent" in r.path for r in server.model_requests)
    signals, verdict = parsed(ParserKind.GEMINI, cli.lines, code)
    (init,) = [e for e in cli.events() if e.get("type") == "init"]
    assert of_type(signals, SessionStarted) == [SessionStarted(init["session_id"], GEMINI_MODEL)]
    (usage,) = of_type(signals, Usage)
    assert (usage.input_tokens, usage.output_tokens) == (2 * INPUT_TOKENS, 2 * OUTPUT_TOKENS)
    assert usage.model == GEMINI_MODEL and usage.cost_usd is None
    assert verdict.outcome is AgentOutcome.SUCCEEDED, cli.output


@needs_gemini
def test_gemini_on_auto_asks_its_router_for_json_first(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    code, cli = run(gemini("fake:write a.txt alpha"), repo, gemini_env(server, home))
    assert code == 0, cli.output
    assert (repo / "a.txt").read_text() == "alpha\n"
    router, *chat = server.model_requests
    assert router.behaviour == "json" and router.path.endswith(":generateContent")
    assert "responseJsonSchema" in router.body["generationConfig"]
    assert [r.behaviour for r in chat] == ["write", "done"]
    signals, verdict = parsed(ParserKind.GEMINI, cli.lines, code)
    (usage,) = of_type(signals, Usage)  # the router's call counts too
    assert (usage.input_tokens, usage.output_tokens) == (3 * INPUT_TOKENS, 3 * OUTPUT_TOKENS)
    assert verdict.outcome is AgentOutcome.SUCCEEDED


@needs_gemini
def test_gemini_retries_a_429_once_then_exits_173_rate_limited(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    # Two attempts (settings' general.maxAttempts), so one retry after its ~5 s back-off.
    server.mode = "429"
    env = gemini_env(server, home, max_attempts=2)
    code, cli = run(gemini("fake:write a.txt alpha", "-m", GEMINI_MODEL), repo, env)
    assert code == 173, cli.output
    assert "Attempt 1 failed with status 429. Retrying with backoff..." in cli.output
    assert len(server.model_requests) == 2
    signals, verdict = parsed(ParserKind.GEMINI, cli.lines, code)
    assert [(r.attempt, r.status) for r in of_type(signals, Retrying)] == [(1, 429)]
    assert verdict.outcome is AgentOutcome.RATE_LIMITED, verdict
    assert verdict.rate_limit is not None and verdict.rate_limit.kind is RateLimitKind.RATE
    assert not (repo / "a.txt").exists()


@needs_gemini
def test_gemini_stops_at_once_on_a_daily_quota(server: FakeLLM, repo: Path, home: Path) -> None:
    server.mode = "quota"
    env = gemini_env(server, home)
    code, cli = run(gemini("fake:write a.txt alpha", "-m", GEMINI_MODEL), repo, env)
    assert code == 173, cli.output
    assert len(server.model_requests) == 1
    _, verdict = parsed(ParserKind.GEMINI, cli.lines, code)
    assert verdict.rate_limit is not None, verdict
    assert verdict.rate_limit.kind is RateLimitKind.USAGE_LIMIT
    assert "exhausted your daily quota" in verdict.rate_limit.message


# Aider.


def aider(prompt: str, *args: str) -> list[str]:
    assert AIDER is not None
    return [str(AIDER), "--model", AIDER_MODEL, "--message", prompt, *AIDER_ARGS, *args]


@needs_aider
def test_aider_writes_a_file_with_a_search_replace_block_and_reports_its_cost(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    code, cli = run(aider("fake:write a.txt alpha", *AIDER_DIFF), repo, aider_env(server, home))
    assert code == 0, cli.output
    assert (repo / "a.txt").read_text() == "alpha\n"
    assert "<<<<<<< SEARCH" in cli.output and "Applied edit to a.txt" in cli.output
    (request,) = server.model_requests
    assert (request.api, request.behaviour, request.body.get("stream")) == ("chat", "write", None)
    assert "tools" not in request.body
    signals, verdict = parsed(ParserKind.AIDER, cli.lines, code)
    assert of_type(signals, SessionStarted) == []  # Aider has no sessions
    (usage,) = of_type(signals, Usage)
    assert (usage.input_tokens, usage.output_tokens) == (INPUT_TOKENS, OUTPUT_TOKENS)
    assert usage.cost_usd == pytest.approx(PRICE)
    assert usage.model == AIDER_MODEL
    assert verdict.outcome is AgentOutcome.SUCCEEDED, cli.output
    assert not (repo / ".gitignore").exists()


@needs_aider
def test_aider_retries_a_429_itself_and_then_writes(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    # The OpenAI client retries twice unseen; the third 429 reaches Aider, which retries.
    server.enqueue("429", "429", "429")
    code, cli = run(aider("fake:write a.txt alpha", *AIDER_DIFF), repo, aider_env(server, home))
    assert code == 0, cli.output
    assert (repo / "a.txt").read_text() == "alpha\n"
    assert [r.behaviour for r in server.model_requests] == ["429", "429", "429", "write"]
    signals, verdict = parsed(ParserKind.AIDER, cli.lines, code)
    retries = of_type(signals, Retrying)
    assert [(r.attempt, r.status, r.delay_s) for r in retries] == [(1, 429, 0.2)]
    assert verdict.outcome is AgentOutcome.SUCCEEDED


@needs_aider
def test_aider_rate_limited_for_good_reads_as_rate_limited(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    # Aider sleeps ~64 s in all before it gives up (a constant), then exits 0 saying nothing
    # more. The test stops at its first retry: what it printed so far is all it would say.
    server.mode = "429"
    argv = aider("fake:write a.txt alpha", *AIDER_DIFF)
    with started(argv, repo, aider_env(server, home), watch=r"^Retrying in ") as cli:
        assert cli.seen.wait(SAFETY), cli.output
        cli.kill()
    assert "litellm.RateLimitError" in cli.output
    lines = cli.lines
    _, killed = parsed(ParserKind.AIDER, lines, None, killed=True)
    _, gave_up = parsed(ParserKind.AIDER, lines, 0)
    for verdict in (killed, gave_up):
        assert verdict.outcome is AgentOutcome.RATE_LIMITED, verdict
        assert verdict.rate_limit is not None and verdict.rate_limit.status == 429
    assert not (repo / "a.txt").exists()


# opencode.


def opencode(prompt: str, *args: str) -> list[str]:
    assert OPENCODE is not None
    return [str(OPENCODE), "run", "--format", "json", "-m", OPENCODE_MODEL, *args, prompt]


@needs_opencode
def test_opencode_writes_a_file_with_its_write_tool_and_reports_steps(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    code, cli = run(opencode("fake:write a.txt alpha"), repo, opencode_env(server, home))
    assert code == 0, cli.output
    assert (repo / "a.txt").read_text() == "alpha\n"
    with_tools = [r for r in server.model_requests if r.body.get("tools")]
    assert [r.behaviour for r in with_tools] == ["write", "done"]
    assert all(r.body["stream"] is True for r in with_tools)
    titles = [r.behaviour for r in server.model_requests if not r.body.get("tools")]
    assert titles in ([], ["text"])  # it asks for a session title, on the side
    (tool,) = [e for e in cli.events() if e.get("type") == "tool_use"]
    assert tool["part"]["state"]["input"]["filePath"] == str(repo / "a.txt")
    signals, verdict = parsed(ParserKind.OPENCODE, cli.lines, code)
    sessions = of_type(signals, SessionStarted)
    assert [s.session_id for s in sessions] == [cli.events()[0]["sessionID"]]
    usages = of_type(signals, Usage)
    assert total(usages) == (2 * INPUT_TOKENS, 2 * OUTPUT_TOKENS)
    assert sum(u.cost_usd or 0 for u in usages) == pytest.approx(2 * PRICE)
    assert verdict.outcome is AgentOutcome.SUCCEEDED, cli.output
    assert not (home / ".config" / "opencode" / "node_modules" / "@opencode-ai").exists()


@needs_opencode
def test_opencode_works_in_pwd_not_in_its_working_directory(
    server: FakeLLM, repo: Path, home: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = opencode_env(server, home)
    code, cli = run(opencode("fake:write a.txt alpha"), repo, env, pwd=elsewhere)
    assert code == 0, cli.output
    assert (elsewhere / "a.txt").read_text() == "alpha\n"
    assert not (repo / "a.txt").exists()
    code, cli = run(opencode("fake:write b.txt beta", "--dir", str(repo)), repo, env, elsewhere)
    assert code == 0, cli.output
    assert (repo / "b.txt").read_text() == "beta\n"


@needs_opencode
def test_opencode_gives_up_on_a_429_rate_limited(server: FakeLLM, repo: Path, home: Path) -> None:
    server.mode = "429"
    code, cli = run(opencode("fake:write a.txt alpha"), repo, opencode_env(server, home))
    assert code == 1, cli.output
    errors = [e["error"]["data"] for e in cli.events() if e.get("type") == "error"]
    assert errors and all(error["statusCode"] == 429 for error in errors), cli.output
    signals, verdict = parsed(ParserKind.OPENCODE, cli.lines, code)
    assert verdict.outcome is AgentOutcome.RATE_LIMITED, verdict
    limit = of_type(signals, RateLimited)[-1]
    assert (limit.kind, limit.status, limit.retry_after_s) == (RateLimitKind.RATE, 429, 0.0)
    assert not (repo / "a.txt").exists()


# Through pmtui, with each CLI's preset.


def toml_table(values: dict[str, str]) -> str:
    """An inline TOML table of strings (JSON's string escapes are TOML's)."""
    return "{" + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in values.items()) + "}"


def pmtui_run(
    repo: Path,
    home: Path,
    name: str,
    program: Path,
    agent_env: dict[str, str],
    model: str,
    more: str = "",
) -> tuple[int, list[dict[str, Any]], str]:
    """`pmtui run plan.md --json` in `repo` with one task for agent `name`: the variables
    `agent_env` adds to the plain environment go to `[agents.NAME] env`, with `model` and the
    `more` settings of that table."""
    plain = offline(base_env(home))
    own = {key: value for key, value in agent_env.items() if plain.get(key) != value}
    config = f"[agents.{name}]\nmodel = {json.dumps(model)}\nenv = {toml_table(own)}\n{more}"
    (repo / "pmtui.toml").write_text(config, encoding="utf-8")
    plan = f"# Plan: {name}\n\n## Phase 1\n- [ ] 1.1 fake:write a.txt alpha (agent: {name})\n"
    (repo / "plan.md").write_text(plan, encoding="utf-8")
    path = os.pathsep.join([str(program.parent), plain["PATH"]])
    env = {**plain, "PATH": path, "PWD": str(repo)}  # as a shell in the repository sets it
    proc = subprocess.Popen(
        [sys.executable, "-m", "pmtui", "run", "plan.md", "--json"],
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=SAFETY)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=SAFETY)
    assert group_members(proc.pid) == []
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    log = repo / ".pmtui"
    logs = "\n".join(p.read_text(errors="replace") for p in log.rglob("1.1.log"))
    return proc.returncode, events, f"{stderr}\n--- events\n{stdout}\n--- log\n{logs}"


def shown(repo: Path, revision: str) -> str | None:
    """`git show REVISION` (a file at a commit), None when there is no such file."""
    done = subprocess.run(
        ["git", "-C", str(repo), "show", revision], capture_output=True, text=True, check=False
    )
    return done.stdout if done.returncode == 0 else None


def of(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == name]


def assert_done(
    code: int, events: list[dict[str, Any]], repo: Path, tokens: tuple[int, int], said: str
) -> dict[str, Any]:
    """The task is done with these tokens, its file merged into main; its last usage."""
    assert code == 0, said
    (finished,) = of(events, "task_finished")
    assert finished["status"] == "done", said
    usage = of(events, "task_usage")[-1]
    assert (usage["input_tokens"], usage["output_tokens"]) == tokens, said
    assert shown(repo, "main:a.txt") == "alpha\n", f"{git(repo, 'status', '--short')}\n{said}"
    return usage


@needs_gemini
def test_pmtui_runs_a_gemini_task_with_its_preset(server: FakeLLM, repo: Path, home: Path) -> None:
    assert GEMINI is not None
    env = gemini_env(server, home)
    code, events, said = pmtui_run(repo, home, "gemini", GEMINI, env, GEMINI_MODEL)
    usage = assert_done(code, events, repo, (2 * INPUT_TOKENS, 2 * OUTPUT_TOKENS), said)
    assert usage["model"] == GEMINI_MODEL
    assert [r.behaviour for r in server.model_requests] == ["write", "done"]


@needs_aider
def test_pmtui_runs_an_aider_task_with_its_preset(server: FakeLLM, repo: Path, home: Path) -> None:
    assert AIDER is not None
    env = aider_env(server, home)
    code, events, said = pmtui_run(repo, home, "aider", AIDER, env, AIDER_MODEL)
    usage = assert_done(code, events, repo, (INPUT_TOKENS, OUTPUT_TOKENS), said)
    assert usage["cost_usd"] == pytest.approx(PRICE), said
    # The preset lets Aider add `.aider*` to .gitignore (its files stay out of the commit),
    # and that change is merged too.
    assert git(repo, "show", "main:.gitignore") == ".aider*\n"
    tracked = git(repo, "ls-tree", "-r", "--name-only", "main").split()
    assert not [name for name in tracked if name.startswith(".aider")]


@needs_opencode
def test_pmtui_runs_an_opencode_task_with_its_preset(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    assert OPENCODE is not None
    env = opencode_env(server, home)
    code, events, said = pmtui_run(repo, home, "opencode", OPENCODE, env, OPENCODE_MODEL)
    assert_done(code, events, repo, (2 * INPUT_TOKENS, 2 * OUTPUT_TOKENS), said)


@needs_opencode
def test_pmtui_runs_an_opencode_task_told_its_worktree_with_dir(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    assert OPENCODE is not None
    env = opencode_env(server, home)
    more = 'args = ["--dir", "{workdir}"]\n'
    code, events, said = pmtui_run(repo, home, "opencode", OPENCODE, env, OPENCODE_MODEL, more)
    usage = assert_done(code, events, repo, (2 * INPUT_TOKENS, 2 * OUTPUT_TOKENS), said)
    assert usage["cost_usd"] == pytest.approx(2 * PRICE), said
