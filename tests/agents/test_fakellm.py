"""The real `claude` and `codex` programs, headless, against the fake LLM server.

Each CLI test runs the installed program for real, in a fresh git repository under `tmp_path`,
in its own process group that is killed when the run ends; it is skipped when the program is
not installed (see `agent_program`). The server tests at the top need no CLI. Timeouts are
safety nets only: nothing sleeps to wait, tests wait on the server's events.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.agents.agent_env import CODEX_MODEL, agent_program, claude_env, codex_env
from tests.fakellm import INPUT_TOKENS, OUTPUT_TOKENS, FakeLLM, Script, Step, find_prompt

SAFETY = 60.0
"""Seconds before a stuck CLI is killed and its test fails."""
CLAUDE_ARGS = ("--output-format", "stream-json", "--verbose")
CODEX_ARGS = ("exec", "--json", "--sandbox", "workspace-write", "--skip-git-repo-check")


@dataclass(frozen=True)
class Run:
    """A finished CLI run."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def events(self) -> list[dict[str, Any]]:
        """The JSON lines of stdout (other lines are skipped)."""
        events = []
        for line in self.stdout.splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict):
                    events.append(event)
        return events

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """The events of one `type`."""
        return [event for event in self.events if event.get("type") == kind]

    def items(self) -> list[dict[str, Any]]:
        """Codex's completed items, in order."""
        return [event["item"] for event in self.of_type("item.completed")]

    def result(self) -> dict[str, Any]:
        """Claude's final `result` event."""
        results = self.of_type("result")
        assert results, self.describe()
        return results[-1]

    def describe(self) -> str:
        """The run, for an assertion's message."""
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def program(name: str) -> Path:
    """The CLI's executable, or skip the test."""
    found = agent_program(name)
    if found is None:
        pytest.skip(
            f"`{name}` is not installed: set PMTUI_AGENTS_BIN, or `npm install --prefix "
            f".agents @anthropic-ai/claude-code @openai/codex` in the repository"
        )
    return found


def group_members(pgid: int) -> list[int]:
    """The live processes of a process group."""
    members = []
    for pid in psutil.pids():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pgid and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                members.append(pid)
    return members


def kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill the whole group of `proc`, reap it, and check that nothing of it is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=SAFETY)
    assert group_members(proc.pid) == []


@contextlib.contextmanager
def started(argv: list[str], cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """A CLI started in a process group of its own, which is killed afterwards."""
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        kill_group(proc)
        proc.communicate(timeout=SAFETY)


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Run a CLI to its end."""
    begin = time.monotonic()
    with started(argv, cwd, env) as proc:
        stdout, stderr = proc.communicate(timeout=SAFETY)
    return Run(proc.returncode, stdout, stderr, time.monotonic() - begin)


def claude(prompt: str, repo: Path, env: dict[str, str], *args: str) -> Run:
    """`claude -p PROMPT --output-format stream-json --verbose ARGS` in `repo`."""
    mode = () if "--permission-mode" in args else ("--permission-mode", "acceptEdits")
    argv = [str(program("claude")), "-p", prompt, *CLAUDE_ARGS, *mode, *args]
    return run(argv, repo, env)


def codex(prompt: str, repo: Path, env: dict[str, str], *tail: str) -> Run:
    """`codex exec --json --sandbox workspace-write --skip-git-repo-check -m MODEL ...` in
    `repo`; `tail` goes before the prompt (e.g. `resume THREAD_ID`)."""
    argv = [str(program("codex")), *CODEX_ARGS, "-m", CODEX_MODEL, *tail, prompt]
    return run(argv, repo, env)


@pytest.fixture
def server() -> Iterator[FakeLLM]:
    """A fake LLM server, stopped after the test."""
    with FakeLLM() as fake:
        yield fake


# The server alone.


def post(server: FakeLLM, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """POST JSON to the server: status, headers, body."""
    return server.post(path, body, SAFETY)


def sse_data(raw: bytes) -> list[dict[str, Any]]:
    """The `data:` payloads of a server-sent-event stream."""
    lines = raw.decode().splitlines()
    return [json.loads(line[6:]) for line in lines if line.startswith("data: ")]


def test_a_prompt_is_read_as_directives_one_per_line() -> None:
    script = Script.parse("please\nfake:write a.txt one\\ntwo\nfake:run make test\nfake:slow 2")
    assert script.steps == (Step("write", "a.txt", "one\ntwo\n"), Step("run", command="make test"))
    assert script.slow == 2.0
    assert script.failure is None
    assert Script.parse("fake:usage-limit").failure == "usage-limit"


def test_the_prompt_is_the_last_real_user_text_and_tool_results_after_it_count() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "<system-reminder>x"}]},
        {"role": "user", "content": [{"type": "text", "text": "fake:write a.txt 1"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Write"}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]},
        {"role": "user", "content": "fake:write b.txt 2"},
        {"type": "function_call_output", "call_id": "c", "output": "ok"},
    ]
    assert find_prompt(messages) == ("fake:write b.txt 2", 1)


def test_anthropic_write_streams_a_write_tool_call_with_usage(server: FakeLLM) -> None:
    body = {
        "model": "claude-x",
        "stream": True,
        "system": "Primary working directory: /work/r",
        "tools": [{"name": "Write"}, {"name": "Bash"}],
        "messages": [{"role": "user", "content": "fake:write out.txt hi"}],
    }
    status, headers, raw = post(server, "/v1/messages", body)
    events = sse_data(raw)
    assert status == 200 and headers["content-type"] == "text/event-stream"
    assert events[0]["message"]["usage"]["input_tokens"] == INPUT_TOKENS
    assert events[-2]["usage"]["output_tokens"] == OUTPUT_TOKENS
    assert events[-2]["delta"]["stop_reason"] == "tool_use"
    tool = [e for e in events if e.get("content_block", {}).get("type") == "tool_use"]
    deltas = [e["delta"]["partial_json"] for e in events if "partial_json" in e.get("delta", {})]
    assert tool[0]["content_block"]["name"] == "Write"
    assert json.loads(deltas[0]) == {"file_path": "/work/r/out.txt", "content": "hi\n"}


def test_the_queue_answers_first_and_the_script_after(server: FakeLLM) -> None:
    server.enqueue("429", "overloaded")
    body = {"model": "m", "stream": False, "messages": [{"role": "user", "content": "hello"}]}
    first, headers, _ = post(server, "/v1/messages", body)
    second, _, raw = post(server, "/v1/messages", body)
    third, _, raw = post(server, "/v1/messages", body)
    assert (first, headers["retry-after"], second, third) == (429, "1", 529, 200)
    assert json.loads(raw)["content"][0]["text"] == "Fake answer to: hello"
    assert [r.behaviour for r in server.model_requests] == ["429", "overloaded", "text"]
    with pytest.raises(ValueError, match="unknown behaviour"):
        server.enqueue("teapot")


def test_openai_quota_error_and_an_unknown_path_recorded_as_a_404(server: FakeLLM) -> None:
    body = {"model": "m", "input": [{"type": "message", "role": "user", "content": "fake:quota"}]}
    status, _, raw = post(server, "/v1/responses", body)
    assert (status, json.loads(raw)["error"]["type"]) == (429, "insufficient_quota")
    status, _, _ = post(server, "/v1/elsewhere", {})
    assert status == 404
    assert [(r.path, r.api, r.behaviour) for r in server.requests][-1] == (
        "/v1/elsewhere",
        None,
        "404",
    )


def test_a_slow_answer_ends_when_the_server_stops() -> None:
    server = FakeLLM()
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "fake:slow 60"}]}
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            post(server, "/v1/messages", body)
        except Exception as error:  # the connection is closed under it
            outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    assert server.model_request_received.wait(SAFETY)
    begin = time.monotonic()
    server.stop()
    caller.join(SAFETY)
    assert not caller.is_alive()
    assert time.monotonic() - begin < 5
    assert outcome


# Claude Code.


def test_claude_writes_a_file_and_reports_the_servers_usage(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    done = claude("fake:write hello.txt hello", repo, claude_env(server, home))
    assert done.returncode == 0, done.describe()
    assert (repo / "hello.txt").read_text() == "hello\n"
    result = done.result()
    assert result["is_error"] is False and result["result"] == "DONE wrote hello.txt"
    assert result["num_turns"] == 2
    assert result["usage"]["input_tokens"] == 2 * INPUT_TOKENS
    assert result["usage"]["output_tokens"] == 2 * OUTPUT_TOKENS
    assert [r.behaviour for r in server.model_requests] == ["write", "done"]


def test_claude_answers_a_plain_prompt_without_tools(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    done = claude("say hello", repo, claude_env(server, home))
    assert done.returncode == 0, done.describe()
    assert done.result()["result"] == "Fake answer to: say hello"
    assert done.result()["num_turns"] == 1


def test_claude_in_default_permission_mode_is_denied_the_write(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    done = claude(
        "fake:write hello.txt hello", repo, claude_env(server, home), "--permission-mode", "default"
    )
    assert done.returncode == 0, done.describe()
    assert not (repo / "hello.txt").exists()
    denials = done.result()["permission_denials"]
    assert [denial["tool_name"] for denial in denials] == ["Write"]
    assert denials[0]["tool_input"]["file_path"] == str(repo / "hello.txt")


def test_claude_bypassing_permissions_as_root_writes_the_file(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    env = claude_env(server, home)
    done = claude("fake:write hello.txt hello", repo, env, "--dangerously-skip-permissions")
    assert done.returncode == 0, done.describe()
    assert (repo / "hello.txt").read_text() == "hello\n"
    assert done.of_type("system")[0]["permissionMode"] == "bypassPermissions"


@pytest.mark.parametrize(
    ("failure", "status"), [("429", 429), ("overloaded", 529), ("usage-limit", 429)]
)
def test_claude_without_retries_fails_at_once_on_an_api_error(
    server: FakeLLM, repo: Path, home: Path, failure: str, status: int
) -> None:
    server.enqueue(failure)
    done = claude("fake:write hello.txt hello", repo, claude_env(server, home, max_retries=0))
    assert done.returncode == 1, done.describe()
    result = done.result()
    assert result["is_error"] is True and result["api_error_status"] == status
    assert len(server.model_requests) == 1
    assert not (repo / "hello.txt").exists()


def test_claude_retries_a_429_and_then_succeeds(repo: Path, home: Path) -> None:
    with FakeLLM(retry_after=0) as server:
        server.enqueue("429")
        done = claude("fake:write hello.txt hello", repo, claude_env(server, home, max_retries=1))
    assert done.returncode == 0, done.describe()
    retries = [e for e in done.of_type("system") if e.get("subtype") == "api_retry"]
    assert [(e["attempt"], e["error_status"], e["error"]) for e in retries] == [
        (1, 429, "rate_limit")
    ]
    assert (repo / "hello.txt").read_text() == "hello\n"
    assert [r.behaviour for r in server.model_requests] == ["429", "write", "done"]


def test_claude_resume_sends_the_earlier_conversation(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    env = claude_env(server, home)
    first = claude("fake:write a.txt one", repo, env)
    assert first.returncode == 0, first.describe()
    session = first.result()["session_id"]
    before = len(server.model_requests)
    second = claude("fake:write b.txt two", repo, env, "--resume", session)
    assert second.returncode == 0, second.describe()
    assert second.result()["session_id"] == session
    assert (repo / "a.txt").read_text() == "one\n" and (repo / "b.txt").read_text() == "two\n"
    resumed = server.model_requests[before]
    assert resumed.prompt == "fake:write b.txt two"
    assert "fake:write a.txt one" in resumed.user_texts
    assert resumed.tool_results == 1  # a.txt's Write, from the first run


# Codex.


def test_codex_writes_a_file_with_apply_patch_and_reports_usage(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    done = codex("fake:write hello.txt hello", repo, codex_env(server, home))
    assert done.returncode == 0, done.describe()
    assert (repo / "hello.txt").read_text() == "hello\n"
    changes = [
        e["item"] for e in done.of_type("item.completed") if e["item"]["type"] == "file_change"
    ]
    assert changes[0]["changes"] == [{"path": str(repo / "hello.txt"), "kind": "add"}]
    usage = done.of_type("turn.completed")[-1]["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (
        2 * INPUT_TOKENS,
        2 * OUTPUT_TOKENS,
    )
    assert [r.behaviour for r in server.model_requests] == ["write", "done"]


def test_codex_workspace_write_sandbox_runs_commands_in_the_repository(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    done = codex("fake:run echo ran > ran.txt", repo, codex_env(server, home))
    assert done.returncode == 0, done.describe()
    commands = [
        e["item"]
        for e in done.of_type("item.completed")
        if e["item"]["type"] == "command_execution"
    ]
    assert commands[0]["exit_code"] == 0
    assert (repo / "ran.txt").read_text() == "ran\n"


def test_codex_read_only_sandbox_rejects_the_patch_silently(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    argv = [str(program("codex")), *CODEX_ARGS, "-m", CODEX_MODEL, "fake:write hello.txt hello"]
    argv[argv.index("workspace-write")] = "read-only"
    done = run(argv, repo, codex_env(server, home))
    assert done.returncode == 0, done.describe()
    assert not (repo / "hello.txt").exists()
    assert [item["type"] for item in done.items()] == ["agent_message"]  # no file_change
    assert "patch rejected: writing is blocked by read-only sandbox" in done.stderr
    assert "read-only sandbox" in server.model_requests[-1].messages[-1]["output"]


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        ("429", "exceeded retry limit, last status: 429 Too Many Requests"),
        ("overloaded", "503 Service Unavailable"),
        ("quota", "Quota exceeded. Check your plan and billing details."),
        ("usage-limit", "You’ve hit your usage limit."),
    ],
)
def test_codex_without_retries_fails_the_turn_on_an_api_error(
    server: FakeLLM, repo: Path, home: Path, failure: str, message: str
) -> None:
    server.enqueue(failure)
    done = codex("fake:write hello.txt hello", repo, codex_env(server, home))
    assert done.returncode == 1, done.describe()
    failed = done.of_type("turn.failed")
    assert failed and message in failed[-1]["error"]["message"], done.describe()
    assert not (repo / "hello.txt").exists()


def test_codex_retries_a_429_as_a_stream_reconnect_and_then_succeeds(
    repo: Path, home: Path
) -> None:
    with FakeLLM(retry_after=0) as server:
        server.enqueue("429")
        # `request_max_retries` does not cover a 429: `stream_max_retries` does.
        done = codex("fake:write hello.txt hello", repo, codex_env(server, home, stream_retries=1))
    assert done.returncode == 0, done.describe()
    errors = [event["message"] for event in done.of_type("error")]
    assert errors == [
        "Reconnecting... 1/1 (exceeded retry limit, last status: 429 Too Many Requests, "
        "request id: req_fake429)"
    ]
    assert (repo / "hello.txt").read_text() == "hello\n"
    assert [r.behaviour for r in server.model_requests] == ["429", "write", "done"]


def test_codex_usage_limit_names_the_reset_time(server: FakeLLM, repo: Path, home: Path) -> None:
    done = codex("fake:usage-limit", repo, codex_env(server, home))
    assert done.returncode == 1, done.describe()
    assert done.of_type("turn.failed")[-1]["error"]["message"].endswith("or try again at 1:00 AM.")
    assert len(server.model_requests) == 1  # a usage limit is not retried


def test_codex_resume_sends_the_earlier_conversation(
    server: FakeLLM, repo: Path, home: Path
) -> None:
    env = codex_env(server, home)
    first = codex("fake:write a.txt one", repo, env)
    assert first.returncode == 0, first.describe()
    thread = first.of_type("thread.started")[0]["thread_id"]
    before = len(server.model_requests)
    second = codex("fake:write b.txt two", repo, env, "resume", thread)
    assert second.returncode == 0, second.describe()
    assert (repo / "a.txt").read_text() == "one\n" and (repo / "b.txt").read_text() == "two\n"
    resumed = server.model_requests[before]
    assert resumed.prompt == "fake:write b.txt two"
    assert "fake:write a.txt one" in resumed.user_texts
    assert resumed.tool_results == 1
    usage = second.of_type("turn.completed")[-1]["usage"]
    assert usage["input_tokens"] == 4 * INPUT_TOKENS  # cumulative over the thread


# Killing a waiting agent.


@pytest.mark.parametrize("name", ["claude", "codex"])
def test_a_cli_waiting_on_a_slow_answer_dies_with_its_group(
    server: FakeLLM, repo: Path, home: Path, name: str
) -> None:
    prompt = "fake:slow 30"
    if name == "claude":
        argv = [str(program("claude")), "-p", prompt, *CLAUDE_ARGS]
        env = claude_env(server, home)
    else:
        argv = [str(program("codex")), *CODEX_ARGS, "-m", CODEX_MODEL, prompt]
        env = codex_env(server, home)
    with started(argv, repo, env) as proc:
        assert server.model_request_received.wait(SAFETY)
        assert proc.poll() is None
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=SAFETY)
        assert server.hung_up.wait(SAFETY)
    begin = time.monotonic()
    server.stop()
    assert time.monotonic() - begin < 5
    assert group_members(proc.pid) == []
