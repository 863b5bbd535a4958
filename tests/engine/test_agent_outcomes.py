"""How a real agent's attempt ends is read from its output, not from its exit code alone.

The agents here replay output recorded from the real CLIs (tests/data/agents/), so these tests
need no CLI installed: a denied tool at exit 0 fails, a 429 is requeued without counting,
Aider's exit 0 after giving up is a rate limit, usage and sessions reach the events and the
store, garbage and huge lines are ignored, and a prompt over 128 KiB reaches the agent.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.cli_support import finished, json_events, run, write

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "agents"
QUICK = '[conflicts]\nretry_delay = "0.05s"\nrate_limit_backoff = "0.2s"\n'


def replay(name: str, sample: str, parser: str, exit_code: int = 0, retries: int = 0) -> str:
    """An agent that prints a recorded sample's stdout and exits as the real CLI did."""
    script = f'cat "$1"; exit {exit_code}'
    return (
        f"[agents.{name}]\n"
        f'command = ["sh", "-c", {script!r}, "replay", "{SAMPLES / sample}"]\n'
        f'parser = "{parser}"\nprovider = "{name}-provider"\nretries = {retries}\n'
    )


def once_then(name: str, first: str, then: str, parser: str, first_exit: int) -> str:
    """An agent that replays `first` (exiting `first_exit`) the first time it runs in this
    folder, and `then` (exit 0) every time after."""
    script = 'if [ -e "$1" ]; then cat "$3"; else : > "$1"; cat "$2"; exit ' + f"{first_exit}; fi"
    marker = "{workdir}/.replayed-" + name
    return (
        f"[agents.{name}]\n"
        f'command = ["sh", "-c", {script!r}, "replay", "{marker}", "{SAMPLES / first}", '
        f'"{SAMPLES / then}"]\n'
        f'parser = "{parser}"\nprovider = "shared"\nretries = 0\nmodifies_code = false\n'
    )


def attempts(workdir: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(workdir / ".pmtui" / "pmtui.db") as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM attempts ORDER BY started_at, rowid").fetchall()


def test_a_tool_denied_at_exit_0_fails_the_task_naming_the_tool(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", replay("claudish", "claude-denied.stdout", "claude-stream-json"))
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Write hello (agent: claudish)\n")
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 1
    task = finished(json_events(out))["1.1"]
    assert task["status"] == "failed"
    assert task["reason"] == "permission denied: Write hello.txt"
    assert task["exit_code"] == 0


def test_usage_cost_session_and_activity_reach_the_events_and_the_store(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", replay("claudish", "claude-ok.stdout", "claude-stream-json"))
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Write hello (agent: claudish)\n")
    code, out, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 0
    events = json_events(out)
    (usage,) = [e for e in events if e["event"] == "task_usage"]
    assert usage == {
        "event": "task_usage",
        "time": usage["time"],
        "task": "1.1",
        "attempt": 1,
        "input_tokens": 2400,
        "output_tokens": 80,
        "cache_read_tokens": 0,
        "cost_usd": 0.014,
        "turns": 2,
        "model": "claude-opus-4-8",
    }
    messages = [e["message"] for e in events if e["event"] == "task_progress"]
    assert "Write hello.txt" in messages
    (row,) = attempts(workdir)
    assert row["agent"] == "claudish"
    assert row["session_id"] == "2052a316-4eaa-4eaa-b750-c2e24f7c82f2"
    assert (row["input_tokens"], row["output_tokens"], row["turns"]) == (2400, 80, 2)
    assert row["cost_usd"] == pytest.approx(0.014)
    assert "cost $0.014 · 2.5k tok" in err  # the summary's totals


def test_claude_429_is_requeued_without_counting_then_done(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "pmtui.toml",
        QUICK
        + once_then(
            "claudish", "claude-429-r2.stdout", "claude-ok.stdout", "claude-stream-json", 1
        ),
    )
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Write hello (agent: claudish)\n")
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 0
    events = json_events(out)
    waits = [e["reason"] for e in events if e["event"] == "task_waiting"]
    assert any(reason.startswith("rate limited (shared)") for reason in waits), waits
    starts = [e["attempt"] for e in events if e["event"] == "task_started"]
    assert starts == [1, 1]
    assert finished(events)["1.1"]["status"] == "done"
    rows = attempts(workdir)
    assert [row["interrupted"] for row in rows] == [1, 0]


def test_aider_exiting_0_after_giving_up_on_a_rate_limit_is_requeued(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "pmtui.toml",
        QUICK + once_then("aiderish", "aider-429.stdout", "aider-ok.stdout", "aider-text", 0),
    )
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Write hello (agent: aiderish)\n")
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 0
    events = json_events(out)
    assert [e["attempt"] for e in events if e["event"] == "task_started"] == [1, 1]
    (usage,) = [e for e in events if e["event"] == "task_usage" and e["attempt"] == 1][-1:]
    assert usage["cost_usd"] == pytest.approx(0.0042)


def test_garbage_and_a_1_mb_line_are_ignored_never_a_crash(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    noise = workdir / "noise.txt"
    big = '{"type":"assistant","message":{"content":[{"type":"text","text":"' + "x" * (1 << 20)
    noise.write_bytes(b"\x00\xff garbage {not json\n[1,2,3]\n" + big.encode() + b'"}]}}\n{"ty\n')
    script = 'cat "$1" "$2"'
    write(
        workdir / "pmtui.toml",
        f'[agents.noisy]\ncommand = ["sh", "-c", {script!r}, "x", "{noise}", '
        f'"{SAMPLES / "claude-ok.stdout"}"]\nparser = "claude-stream-json"\n',
    )
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Noisy (agent: noisy)\n")
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 0
    assert finished(json_events(out))["1.1"]["status"] == "done"
    (log,) = (workdir / ".pmtui" / "logs").glob("*/1.1.log")
    assert log.stat().st_size > 1 << 20  # the log keeps the raw output


def test_a_200_kib_prompt_reaches_a_claude_agent_on_stdin(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    counter = (
        "import sys; data = sys.stdin.read(); "
        "open('stdin-size', 'w').write(str(len(data.encode()))); "
        f"sys.stdout.write(open({str(SAMPLES / 'claude-ok.stdout')!r}).read())"
    )
    write(
        workdir / "pmtui.toml",
        f'[agents.longclaude]\ncommand = ["{sys.executable}", "-c", {counter!r}, "-p", '
        '"{prompt}", "--verbose"]\nparser = "claude-stream-json"\nmodifies_code = false\n',
    )
    body = "".join(f"    line {n} of a very long specification {'.' * 60}\n" for n in range(3000))
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Long (agent: longclaude)\n" + body)
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 0, out
    size = int((workdir / "stdin-size").read_text())
    assert size > 200 * 1024


def test_a_200_kib_prompt_of_an_unknown_cli_comes_as_a_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "pmtui.toml",
        '[agents.reader]\ncommand = ["wc", "-c", "{prompt}"]\nmodifies_code = false\n',
    )
    body = "".join(f"    line {n} of a very long specification {'.' * 60}\n" for n in range(3000))
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Long (agent: reader)\n" + body)
    code, _, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 0
    (log,) = (workdir / ".pmtui" / "logs").glob("*/1.1.log")
    count, path = log.read_text().split()
    assert int(count) > 200 * 1024 and path.endswith("1.1.prompt")


def test_at_the_run_budget_no_agent_task_starts_the_rest_end_skipped_and_resume_goes_on(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "pmtui.toml",
        "[pool]\nmax_concurrent = 1\n"
        + replay("claudish", "claude-ok.stdout", "claude-stream-json").replace(
            "retries = 0", "retries = 0\nmodifies_code = false"
        ),
    )
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        "- [ ] 1.1 First (agent: claudish)\n"
        "- [ ] 1.2 Second (agent: claudish)\n"
        "- [ ] 1.3 Third (agent: claudish)\n",
    )
    code, out, err = run(["run", "plan.md", "--json", "--budget", "0.01"], capsys)
    assert code == 1
    tasks = finished(json_events(out))
    assert [tasks[t]["status"] for t in ("1.1", "1.2", "1.3")] == ["done", "skipped", "skipped"]
    assert tasks["1.2"]["reason"] == "budget: $0.01 of $0.01 spent"
    assert "raise it and go on: pmtui run plan.md --resume --budget USD" in err
    # The work left is resumable with a higher budget; what was spent still counts.
    code, out, _ = run(["run", "plan.md", "--json", "--resume", "--budget", "0.02"], capsys)
    assert code == 1
    tasks = finished(json_events(out))
    assert [tasks[t]["status"] for t in ("1.2", "1.3")] == ["done", "skipped"]
    code, out, _ = run(["run", "plan.md", "--json", "--resume", "--budget", "1"], capsys)
    assert code == 0
    assert finished(json_events(out))["1.3"]["status"] == "done"


def test_a_task_over_its_own_budget_is_stopped_and_not_retried(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = 'cat "$1"; exec sleep 60'
    write(
        workdir / "pmtui.toml",
        f'[agents.spender]\ncommand = ["sh", "-c", {script!r}, "x", '
        f'"{SAMPLES / "claude-ok.stdout"}"]\nparser = "claude-stream-json"\nretries = 2\n'
        "modifies_code = false\n",
    )
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Spend (agent: spender) (budget: $0.01)\n")
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 1
    events = json_events(out)
    task = finished(events)["1.1"]
    assert (task["status"], task["reason"], task["attempt"]) == ("failed", "budget $0.01 spent", 1)
    assert [e for e in events if e["event"] == "task_retrying"] == []


SESSION_AGENT = """\
import json, sys
marker, mode = sys.argv[1], sys.argv[2]
with open(marker, "a") as seen:
    seen.write(json.dumps(sys.argv[3:]) + "\\n")
print(json.dumps({"type": "system", "subtype": "init", "session_id": "sess-1", "model": "m"}),
      flush=True)
if mode == "hang":
    import time
    time.sleep(60)
sys.exit(1)
"""
"""A Claude-like agent: it records its arguments, opens session `sess-1`, then hangs (for a
timeout) or fails at once."""


def session_agent(workdir: Path, mode: str, extra: str = "") -> str:
    script = workdir / "agent.py"
    script.write_text(SESSION_AGENT, encoding="utf-8")
    return (
        f'[agents.sessions]\ncommand = ["{sys.executable}", "{script}", '
        f'"{workdir / "argv.jsonl"}", "{mode}", "-p", "{{prompt}}"]\n'
        'parser = "claude-stream-json"\nresume = ["--resume", "{session_id}"]\n'
        f"retries = 1\nmodifies_code = false\n{extra}"
        '[conflicts]\nretry_delay = "0.05s"\n'
    )


def argv_of_each_attempt(workdir: Path) -> list[list[str]]:
    import json

    lines = (workdir / "argv.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_after_a_timeout_the_next_attempt_continues_the_session(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", session_agent(workdir, "hang"))
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Work (agent: sessions) (timeout: 1s)\n")
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 1
    first, second = argv_of_each_attempt(workdir)
    assert "--resume" not in first
    assert second[second.index("--resume") + 1] == "sess-1"
    assert second[-1].startswith("(pmtui: your previous attempt at this task was interrupted.")
    rows = attempts(workdir)
    assert [row["interrupted"] for row in rows] == [1, 1]
    assert finished(json_events(out))["1.1"]["reason"].startswith("timeout after 1s")


def test_after_a_plain_failure_the_next_attempt_starts_a_fresh_session(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", session_agent(workdir, "fail"))
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Work (agent: sessions)\n")
    code, _, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 1
    assert ["--resume" in argv for argv in argv_of_each_attempt(workdir)] == [False, False]


def test_resume_on_failure_continues_the_session_after_a_plain_failure(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", session_agent(workdir, "fail", "resume_on_failure = true\n"))
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Work (agent: sessions)\n")
    code, _, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 1
    assert ["--resume" in argv for argv in argv_of_each_attempt(workdir)] == [False, True]


def test_a_reset_time_the_agent_names_is_honoured_and_shown_as_a_time_of_day(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # opencode's 429 carries `retry-after: 1`: the provider waits 1 s, not the 30 s default.
    write(
        workdir / "pmtui.toml",
        '[conflicts]\nrate_limit_backoff = "10m"\n'
        + once_then("opener", "opencode-429.stdout", "opencode-ok.stdout", "opencode-json", 1),
    )
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Write hello (agent: opener)\n")
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 0
    events = json_events(out)
    (wait,) = [e for e in events if e["event"] == "task_waiting"]
    assert re.fullmatch(
        r"rate limited \(shared\) until \d\d:\d\d:\d\d \(the reset time it reported\)",
        wait["reason"],
    )
    starts = [e for e in events if e["event"] == "task_started"]
    assert [e["attempt"] for e in starts] == [1, 1]
    assert 0.5 < starts[1]["time"] - wait["time"] < 30


def test_the_next_local_time_of_day_is_today_or_tomorrow() -> None:
    import datetime

    from pmtui.engine.runner import seconds_until

    now = datetime.datetime(2026, 12, 8, 0, 59, 30).astimezone()
    assert seconds_until(1, 0, now) == 30
    later = datetime.datetime(2026, 12, 8, 23, 0, 0).astimezone()
    assert seconds_until(1, 0, later) == 2 * 3600
