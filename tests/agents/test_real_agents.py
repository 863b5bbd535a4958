"""pmtui running the real Claude Code and Codex CLIs, against the fake LLM server.

Each test makes a git repository in tmp_path, writes a plan of plain-English tasks (the fake
model reads `fake:` directives in them), and runs `pmtui run plan.md --json` as a user would:
the CLIs edit their worktrees, pmtui reads their JSON output (tokens, cost, sessions, rate
limits, denials) and merges their work. Skipped when the CLIs are not installed (`make test`
installs them into `.agents/`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agents.agent_env import agent_program, claude_env, codex_env
from tests.fakellm import FakeLLM
from tests.gitrepo import git

CLAUDE = agent_program("claude")
CODEX = agent_program("codex")
needs_claude = pytest.mark.skipif(
    CLAUDE is None, reason="claude is not installed (make test installs it into .agents/)"
)
needs_both = pytest.mark.skipif(
    CLAUDE is None or CODEX is None,
    reason="claude and codex are not both installed (make test installs them into .agents/)",
)
RUN_TIMEOUT_S = 120.0
CONFIG = """\
[agents.codex]
model = "gpt-5.5"

[agents.claude.env]
CLAUDE_CODE_MAX_RETRIES = "0"

"""
"""The agents' settings for the tests: Codex on a model it knows (so it reports file changes),
Claude Code retrying nothing itself (pmtui owns the back-off, short here)."""


@pytest.fixture
def server() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("hello\n", encoding="utf-8")
    git(root, "add", "README.md")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    (root / "pmtui.toml").write_text(CONFIG, encoding="utf-8")
    return root


def environment(server: FakeLLM, home: Path) -> dict[str, str]:
    """Both CLIs pointed at the fake server, found first on PATH."""
    env = {**claude_env(server, home), **codex_env(server, home)}
    folders = [str(program.parent) for program in (CLAUDE, CODEX) if program is not None]
    env["PATH"] = os.pathsep.join([*dict.fromkeys(folders), env["PATH"]])
    return env


def write_plan(repo: Path, *tasks: str) -> None:
    lines = "\n".join(f"- [ ] {task}" for task in tasks)
    text = f"# Plan: real agents\n\n## Phase 1 [PARALLEL]\n{lines}\n"
    (repo / "plan.md").write_text(text, encoding="utf-8")


def pmtui(repo: Path, env: dict[str, str], *arguments: str) -> tuple[int, list[dict[str, Any]]]:
    """`pmtui run plan.md --json ARGS` in the repository: its exit code and events."""
    done = subprocess.run(
        [sys.executable, "-m", "pmtui", "run", "plan.md", "--json", *arguments],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events, done.stderr
    return done.returncode, events


def of(events: list[dict[str, Any]], name: str, task: str | None = None) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == name and (task is None or e.get("task") == task)]


def attempts(repo: Path) -> list[sqlite3.Row]:
    """Every attempt the store recorded, oldest first."""
    with sqlite3.connect(repo / ".pmtui" / "pmtui.db") as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM attempts ORDER BY started_at, rowid").fetchall()


@needs_both
def test_two_claude_and_two_codex_tasks_all_merge_with_their_usage(
    repo: Path, server: FakeLLM, tmp_path: Path
) -> None:
    write_plan(
        repo,
        "1.1 fake:write a.txt alpha (agent: claude)",
        "1.2 fake:write b.txt beta (agent: claude)",
        "1.3 fake:write c.txt gamma (agent: codex)",
        "1.4 fake:write d.txt delta (agent: codex)",
    )
    code, events = pmtui(repo, environment(server, tmp_path / "home"))
    assert code == 0
    finished = {e["task"]: e for e in of(events, "task_finished")}
    assert {task: e["status"] for task, e in finished.items()} == dict.fromkeys(
        ["1.1", "1.2", "1.3", "1.4"], "done"
    )
    assert [e["result"] for e in of(events, "merge_finished")] == ["merged"] * 4
    for name, content in {"a": "alpha", "b": "beta", "c": "gamma", "d": "delta"}.items():
        assert git(repo, "show", f"main:{name}.txt").strip() == content
    # Usage: each session's two model calls (1200 in, 40 out each); Claude reports its cost,
    # Codex none (priced from [prices] when its model is listed there).
    for task in ("1.1", "1.2", "1.3", "1.4"):
        last = of(events, "task_usage", task)[-1]
        assert (last["input_tokens"], last["output_tokens"]) == (2400, 80)
        assert last["attempt"] == 1
    assert of(events, "task_usage", "1.1")[-1]["cost_usd"] == pytest.approx(0.014)
    assert of(events, "task_usage", "1.3")[-1]["model"] == "gpt-5.5"
    # The monitor's message: what the agent does, its paths relative to its worktree.
    messages = {e["message"] for e in of(events, "task_progress", "1.1")}
    assert "Write a.txt" in messages
    assert {"Add c.txt", "Edit c.txt"} & {e["message"] for e in of(events, "task_progress", "1.3")}
    rows = {row["task_id"]: row for row in attempts(repo)}
    assert rows["1.1"]["agent"] == "claude" and rows["1.3"]["agent"] == "codex"
    assert all(row["session_id"] for row in rows.values())
    assert rows["1.2"]["input_tokens"] == 2400 and rows["1.2"]["cost_usd"] == pytest.approx(0.014)
    assert rows["1.4"]["output_tokens"] == 80


@needs_claude
def test_a_rate_limited_attempt_is_requeued_and_done_without_counting(
    repo: Path, server: FakeLLM, tmp_path: Path
) -> None:
    write_plan(repo, "1.1 fake:write a.txt alpha (agent: claude)")
    server.enqueue("429")
    code, events = pmtui(repo, environment(server, tmp_path / "home"))
    assert code == 0
    waits = [e["reason"] for e in of(events, "task_waiting", "1.1")]
    assert any(reason.startswith("rate limited (anthropic)") for reason in waits), waits
    assert [e["attempt"] for e in of(events, "task_started", "1.1")] == [1, 1]
    assert of(events, "task_retrying") == []
    (finished,) = of(events, "task_finished", "1.1")
    assert (finished["status"], finished["attempt"]) == ("done", 1)
    assert git(repo, "show", "main:a.txt").strip() == "alpha"


@needs_claude
def test_a_denied_tool_fails_the_task_and_names_the_tool(
    repo: Path, server: FakeLLM, tmp_path: Path
) -> None:
    # A user-defined agent naming a parser: Claude Code without permission to edit.
    (repo / "pmtui.toml").write_text(
        CONFIG
        + """
[agents.cautious]
command = ["claude", "-p", "{prompt}", "--output-format", "stream-json", "--verbose",
           "--permission-mode", "default"]
parser = "claude-stream-json"
provider = "anthropic"
retries = 0
""",
        encoding="utf-8",
    )
    write_plan(repo, "1.1 fake:write a.txt alpha (agent: cautious)")
    code, events = pmtui(repo, environment(server, tmp_path / "home"))
    assert code == 1
    (finished,) = of(events, "task_finished", "1.1")
    assert finished["status"] == "failed"
    assert finished["reason"].startswith("permission denied: Write a.txt"), finished["reason"]
    assert finished["exit_code"] == 0  # the CLI itself said it succeeded


@needs_claude
def test_kill_9_mid_task_then_resume_continues_the_same_session(
    repo: Path, server: FakeLLM, tmp_path: Path
) -> None:
    write_plan(repo, "1.1 fake:write a.txt alpha (agent: claude)")
    session, asked_before, code, events = killed_then_resumed(repo, server, tmp_path)
    assert code == 0
    (finished,) = of(events, "task_finished", "1.1")
    assert (finished["status"], finished["attempt"]) == ("done", 2)
    rows = attempts(repo)
    assert [row["number"] for row in rows] == [1, 2]
    assert rows[0]["interrupted"] == 1 and rows[0]["reason"] == "aborted: pmtui died"
    assert rows[1]["session_id"] == session  # the same session, continued
    resumed = server.model_requests[asked_before]
    assert resumed.tool_results >= 1, "the resumed session did not send its history"
    assert any("fake:write a.txt alpha" in text for text in resumed.user_texts[:-1])
    assert git(repo, "show", "main:a.txt").strip() == "alpha"


def killed_then_resumed(
    repo: Path, server: FakeLLM, tmp_path: Path
) -> tuple[str, int, int, list[dict[str, Any]]]:
    """`pmtui run` killed with SIGKILL while its agent waits for the model (the tool call was
    answered, the next call hangs), then `pmtui run --resume`.

    Returns:
        The session the first attempt stored, how many model calls came before the resume,
        and the resumed run's exit code and events.
    """
    env = environment(server, tmp_path / "home")
    server.enqueue("ok", "slow 600")
    first = subprocess.Popen(
        [sys.executable, "-m", "pmtui", "run", "plan.md", "--json"],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert server.wait_for_requests(2, 60, model=True), "the agent never asked twice"
        session = wait_for_session(repo)
        os.kill(first.pid, signal.SIGKILL)  # pmtui dies; its agent is left hanging
        first.wait(10)
        asked_before = len(server.model_requests)
        code, events = pmtui(repo, env, "--resume")
    finally:
        with_group_killed(first.pid)
    return session, asked_before, code, events


def wait_for_session(repo: Path, timeout_s: float = 30.0) -> str:
    """The session id pmtui stored for the first attempt (it is stored when the agent says
    it, before the model is asked anything; the store is read until then)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            rows = attempts(repo)
        except sqlite3.Error:
            rows = []
        if rows and rows[0]["session_id"]:
            return str(rows[0]["session_id"])
        time.sleep(0.05)
    raise AssertionError("pmtui never stored the session id")


def with_group_killed(pgid: int) -> None:
    """No process of a test's pmtui outlives it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


needs_codex = pytest.mark.skipif(
    CODEX is None, reason="codex is not installed (make test installs it into .agents/)"
)


@needs_codex
def test_codex_killed_mid_task_resumes_its_thread_counting_tokens_once(
    repo: Path, server: FakeLLM, tmp_path: Path
) -> None:
    write_plan(repo, "1.1 fake:write c.txt gamma (agent: codex)")
    thread, asked_before, code, events = killed_then_resumed(repo, server, tmp_path)
    assert code == 0
    rows = attempts(repo)
    assert [row["session_id"] for row in rows] == [thread, thread]
    resumed = server.model_requests[asked_before]
    assert any("fake:write c.txt gamma" in text for text in resumed.user_texts[:-1])
    # Codex reports its thread's running totals (the killed attempt's answered call
    # included); over both attempts each answered call (1200 tokens in) counts once.
    answered = len(server.model_requests) - 1  # one call hung until pmtui was killed
    assert sum(row["input_tokens"] for row in rows) == 1200 * answered == 3600
    assert of(events, "task_usage", "1.1")[-1]["input_tokens"] == rows[1]["input_tokens"]
    assert git(repo, "show", "main:c.txt").strip() == "gamma"
