"""Review of real agents as first-class agents: each test here failed before its fix."""

from __future__ import annotations

import datetime
import json
import sqlite3
import sys
from pathlib import Path

import anyio
import pytest

from pmtui.agents.parsers import make_parser
from pmtui.agents.signals import Retrying
from pmtui.config.model import ParserKind
from pmtui.engine.events import Event, TaskWaiting
from pmtui.engine.runner import run_plan, seconds_until
from pmtui.project import load_project
from tests.cli_support import finished, json_events, run, write

SAMPLES = Path(__file__).resolve().parent / "data" / "agents"
QUICK = '[conflicts]\nretry_delay = "0.05s"\nrate_limit_backoff = "0.2s"\n'

UNREACHABLE = [
    # What Claude Code 2.1.197 printed against a server that drops every connection: its
    # retries carry no HTTP status (`error: "unknown"`), then it gives up by itself.
    {"type": "system", "subtype": "init", "session_id": "s-1", "model": "claude-opus-4-8"},
    *(
        {
            "type": "system",
            "subtype": "api_retry",
            "attempt": n,
            "max_retries": 3,
            "retry_delay_ms": 500,
            "error_status": None,
            "error": "unknown",
        }
        for n in (1, 2, 3)
    ),
    {
        "type": "result",
        "subtype": "success",
        "is_error": True,
        "api_error_status": None,
        "num_turns": 1,
        "result": "API Error: Unable to connect to API (ECONNRESET)",
        "total_cost_usd": 0,
        "usage": {"input_tokens": 0, "output_tokens": 0},
    },
]


def test_an_agent_retrying_a_connection_error_is_not_requeued_as_a_rate_limit(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A retry without a rate-limit status (connection refused or reset, Codex's "stream
    disconnected", Gemini's "fetch failed") is no rate limit: requeuing it without counting
    would loop for ever against an unreachable server. The agent gives up by itself and the
    attempt fails, counted. (The second run of this agent succeeds, so the test ends either
    way.)"""
    first = write(workdir / "unreachable.jsonl", "".join(json.dumps(e) + "\n" for e in UNREACHABLE))
    script = 'if [ -e ran ]; then cat "$2"; exit 0; fi; : > ran; cat "$1"; exit 1'
    write(
        workdir / "pmtui.toml",
        QUICK + f'[agents.claudish]\ncommand = ["sh", "-c", {script!r}, "x", "{first}", '
        f'"{SAMPLES / "claude-ok.stdout"}"]\nparser = "claude-stream-json"\n'
        'provider = "anthropic"\nretries = 0\nmodifies_code = false\n',
    )
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Write hello (agent: claudish)\n")
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    events = json_events(out)
    assert [e["reason"] for e in events if e["event"] == "task_waiting"] == []
    assert code == 1
    task = finished(events)["1.1"]
    assert task["status"] == "failed"
    assert task["reason"] == "agent error: API Error: Unable to connect to API (ECONNRESET)"


def test_parsers_give_a_rate_limit_retry_its_status_and_a_connection_retry_none() -> None:
    """The engine requeues on retries with a rate-limit status only: the parsers must say it.

    Claude's null `error_status` with `error: "rate_limit"` is a 429; Gemini's "Attempt 1
    failed: Resource has been exhausted" is one too; Codex's "stream disconnected" and
    Gemini's "fetch failed" are none (lines as the real CLIs printed them)."""
    claude = make_parser(ParserKind.CLAUDE)
    retry = '{"type":"system","subtype":"api_retry","attempt":1,"error_status":null,"error":"%s"}'
    assert [s.status for s in claude.feed(retry % "rate_limit") if isinstance(s, Retrying)] == [429]
    assert [s.status for s in claude.feed(retry % "unknown") if isinstance(s, Retrying)] == [None]
    gemini = make_parser(ParserKind.GEMINI)
    exhausted = "Attempt 1 failed: Resource has been exhausted. Retrying with backoff..."
    fetch = "Attempt 2 failed. Retrying with backoff... Error: exception TypeError: fetch failed"
    assert [s.status for s in gemini.feed(exhausted) if isinstance(s, Retrying)] == [429]
    assert [s.status for s in gemini.feed(fetch) if isinstance(s, Retrying)] == [None]
    codex = make_parser(ParserKind.CODEX)
    line = (
        '{"type":"error","message":"Reconnecting... 1/3 (stream disconnected before '
        'completion: error sending request)"}'
    )
    assert [s.status for s in codex.feed(line) if isinstance(s, Retrying)] == [None]


def test_a_reset_time_of_day_cut_to_the_minute_that_just_passed_is_now_not_tomorrow() -> None:
    """Codex prints its reset time cut to the minute (`%-I:%M %p`): a reset at 01:00:45 reads
    "try again at 1:00 AM", which pmtui may read at 01:00:30. Waiting until tomorrow's 1:00
    would hold every task of the provider for a day."""
    now = datetime.datetime(2026, 12, 8, 1, 0, 30).astimezone()
    assert seconds_until(1, 0, now) == 0
    assert seconds_until(1, 0, now.replace(hour=0, minute=59)) == 30  # still today
    assert seconds_until(1, 0, now.replace(hour=23, second=0)) == 2 * 3600  # tomorrow


def test_agents_never_runs_a_program_that_is_not_an_agent_cli(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pmtui agents` asks each agent CLI its `--version`; a user's own program (any program:
    a deploy script) is not one, and must not run just for a listing."""
    job = write(workdir / "job.sh", f'#!/bin/sh\n: > "{workdir / "it-ran"}"\necho 1.2.3\n')
    job.chmod(0o755)
    write(workdir / "pmtui.toml", f'[agents.deploy]\ncommand = ["{job}"]\n')
    code, out, _ = run(["agents"], capsys)
    assert code == 0
    assert "deploy" in out
    assert not (workdir / "it-ran").exists()


LIMITED_AFTER_WORK = [
    # A Claude attempt that did a turn's work (and spent on it), then hit a 429 for good.
    {"type": "system", "subtype": "init", "session_id": "s-2", "model": "claude-opus-4-8"},
    {
        "type": "result",
        "subtype": "success",
        "is_error": True,
        "api_error_status": 429,
        "num_turns": 1,
        "result": "API Error: Request rejected (429)",
        "total_cost_usd": 0.01,
        "usage": {"input_tokens": 1000, "output_tokens": 20},
    },
]


def test_a_rate_limited_attempts_cost_still_counts_in_the_summary_and_junit(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rate-limited attempt is requeued under the same attempt number (it does not count),
    but what it spent does: the summary, the monitor and JUnit add it up as the store and
    the budget do ($0.01 + $0.014), not only the requeued attempt's."""
    first = write(
        workdir / "limited.jsonl", "".join(json.dumps(e) + "\n" for e in LIMITED_AFTER_WORK)
    )
    script = 'if [ -e ran ]; then cat "$2"; exit 0; fi; : > ran; cat "$1"; exit 1'
    write(
        workdir / "pmtui.toml",
        QUICK + f'[agents.claudish]\ncommand = ["sh", "-c", {script!r}, "x", "{first}", '
        f'"{SAMPLES / "claude-ok.stdout"}"]\nparser = "claude-stream-json"\n'
        "retries = 0\nmodifies_code = false\n",
    )
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Write hello (agent: claudish)\n")
    code, out, err = run(["run", "plan.md", "--json", "--junit", "junit.xml"], capsys)
    assert code == 0
    events = json_events(out)
    assert [e["attempt"] for e in events if e["event"] == "task_started"] == [1, 1]
    assert "cost $0.024" in err  # the summary's totals
    junit = (workdir / "junit.xml").read_text(encoding="utf-8")
    assert '<property name="cost_usd" value="0.024' in junit


@pytest.mark.parametrize("program", ["{workdir}/agent.sh", "./agent.sh"])
def test_a_program_named_relative_to_the_workdir_is_not_refused_as_missing(
    workdir: Path, capsys: pytest.CaptureFixture[str], program: str
) -> None:
    """The agent runs in the workdir (here the plan's folder: no git repository), with its
    placeholders filled in: `./agent.sh` and `{workdir}/agent.sh` are there, wherever pmtui
    was started from. The check that refuses a run whose program is missing must look there
    too, not in pmtui's own folder (nor call a placeholder missing)."""
    project = workdir / "project"
    project.mkdir()
    agent = write(project / "agent.sh", "#!/bin/sh\necho '::progress::100 done'\n")
    agent.chmod(0o755)
    write(
        project / "pmtui.toml", f'[agents.mine]\ncommand = ["{program}"]\nmodifies_code = false\n'
    )
    write(project / "plan.md", "## Phase 1\n- [ ] 1.1 Go (agent: mine)\n")
    code, _, err = run(["check", "project/plan.md"], capsys)
    assert (code, "not installed" in err) == (0, False)
    code, out, err = run(["run", "project/plan.md", "--json"], capsys)
    assert "not installed" not in err
    assert (code, finished(json_events(out))["1.1"]["status"]) == (0, "done")


def test_a_relative_program_missing_from_the_workdir_is_still_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", '[agents.mine]\ncommand = ["./nowhere.sh"]\n')
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Go (agent: mine)\n")
    code, _, err = run(["run", "plan.md", "--no-ui"], capsys)
    assert code == 2
    assert "agent 'mine' runs `./nowhere.sh`, which is not installed" in err


@pytest.mark.anyio
async def test_an_absurd_reset_time_is_no_crash(workdir: Path) -> None:
    """A broken server's `retry-after: 1e17` (or Claude's `resetsAt` as far off) cannot be
    shown as a time of day (`time.localtime` overflows): the run went down with a traceback.
    The wait is capped; here the run is then aborted."""
    error = {
        "type": "error",
        "sessionID": "ses_1",
        "error": {
            "name": "APIError",
            "data": {
                "message": "Too Many Requests",
                "statusCode": 429,
                "responseHeaders": {"retry-after": "1e17"},
            },
        },
    }
    line = write(workdir / "limited.jsonl", json.dumps(error) + "\n")
    write(
        workdir / "pmtui.toml",
        f'[agents.opener]\ncommand = ["sh", "-c", "cat \\"$1\\"; exit 1", "x", "{line}"]\n'
        'parser = "opencode-json"\nmodifies_code = false\n',
    )
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Go (agent: opener)\n")
    project = load_project(workdir / "plan.md")
    abort = anyio.Event()
    waits: list[str] = []

    def emit(event: Event) -> None:
        if isinstance(event, TaskWaiting):
            waits.append(event.reason)
            abort.set()

    with anyio.fail_after(30):
        result = await run_plan(
            project, emit=emit, workdir=workdir, run_id="r1", log_dir=workdir / "logs", abort=abort
        )
    assert result.status == "aborted"
    [reason] = waits
    assert reason.startswith("rate limited (opener) until ")


SILENT_WHEN_RESUMED = """\
import json, sys, time
with open(sys.argv[1], "a") as seen:
    seen.write(json.dumps(sys.argv[2:]) + "\\n")
if "--resume" not in sys.argv:
    print(json.dumps({"type": "system", "subtype": "init", "session_id": "sess-1"}), flush=True)
time.sleep(60)
"""


def test_a_resumed_attempt_cut_off_before_it_names_its_session_keeps_that_session(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Attempt 1 opens `sess-1` and times out; attempt 2 continues it but is cut off before
    the agent says anything (a slow start, an abort, a kill -9): the session it was
    continuing is still the one to continue — attempt 3 must not start afresh (in a reset
    worktree). The store says so too, for `--resume` after pmtui dies."""
    script = write(workdir / "agent.py", SILENT_WHEN_RESUMED)
    write(
        workdir / "pmtui.toml",
        f'[agents.sessions]\ncommand = ["{sys.executable}", "{script}", '
        f'"{workdir / "argv.jsonl"}", "-p", "{{prompt}}"]\n'
        'parser = "claude-stream-json"\nresume = ["--resume", "{session_id}"]\n'
        'retries = 2\nmodifies_code = false\n[conflicts]\nretry_delay = "0.05s"\n',
    )
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Work (agent: sessions) (timeout: 1s)\n")
    code, _, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 1
    lines = (workdir / "argv.jsonl").read_text(encoding="utf-8").splitlines()
    argvs = [json.loads(line) for line in lines]
    assert [argv[argv.index("--resume") + 1] if "--resume" in argv else "" for argv in argvs] == [
        "",
        "sess-1",
        "sess-1",
    ]
    with sqlite3.connect(workdir / ".pmtui" / "pmtui.db") as db:
        stored = [row[0] for row in db.execute("SELECT session_id FROM attempts ORDER BY number")]
    assert stored == ["sess-1", "sess-1", "sess-1"]
