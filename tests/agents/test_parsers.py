"""The agent-output parsers over real recorded output of each CLI, and over bad input.

`tests/data/agents/` holds what claude, codex, gemini, opencode and aider really printed
against a scripted fake LLM server (`NAME.stdout`, `NAME.stderr`, and `NAME.meta` whose
`rc=` line is the exit code). Each golden test feeds a recording the way the engine does
(stdout and stderr merged, one line at a time, no line end) and checks the signals that
matter and the verdict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmtui.agents.parsers import make_parser
from pmtui.agents.parsers.aider import read_tokens
from pmtui.agents.parsers.base import OutputParser
from pmtui.agents.parsers.transcript import (
    cut_lines,
    one_line,
    parse_clock,
    shell_command,
    short_path,
    tool_call,
)
from pmtui.agents.signals import (
    Activity,
    AgentError,
    AgentOutcome,
    ClockTime,
    PermissionDenied,
    Progress,
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
from pmtui.config.model import ParserKind

DATA = Path(__file__).resolve().parent.parent / "data" / "agents"
S = TypeVar("S")
JSON_KINDS = [ParserKind.CLAUDE, ParserKind.CODEX, ParserKind.GEMINI, ParserKind.OPENCODE]


# --- helpers -------------------------------------------------------------------------------


def recorded_lines(name: str) -> list[str]:
    """A recording's output as the engine reads it: stdout, with stderr merged in before the
    last stdout line (the CLIs warn and retry on stderr, then print their final event)."""
    single = DATA / name
    if single.exists():
        return single.read_text(encoding="utf-8").splitlines()
    stdout = (DATA / f"{name}.stdout").read_text(encoding="utf-8").splitlines()
    stderr = (DATA / f"{name}.stderr").read_text(encoding="utf-8").splitlines()
    return [*stdout[:-1], *stderr, *stdout[-1:]]


def exit_code(name: str) -> int:
    """The recording's exit code (`rc=` in its .meta file)."""
    for line in (DATA / f"{name}.meta").read_text(encoding="utf-8").splitlines():
        if line.startswith("rc="):
            return int(line.removeprefix("rc="))
    raise AssertionError(f"{name}.meta has no rc= line")


def feed_all(parser: OutputParser, lines: list[str]) -> list[Signal]:
    signals: list[Signal] = []
    for line in lines:
        signals.extend(parser.feed(line))
    return signals


def replay(kind: ParserKind, name: str, code: int | None = None) -> tuple[list[Signal], Verdict]:
    """Feed a recording to a fresh parser: its signals, and its verdict at the recorded exit."""
    parser = make_parser(kind)
    signals = feed_all(parser, recorded_lines(name))
    return signals, parser.finish(exit_code(name) if code is None else code, killed=False)


def replay_lines(
    kind: ParserKind, lines: list[str], code: int | None = 0
) -> tuple[list[Signal], Verdict]:
    parser = make_parser(kind)
    signals = feed_all(parser, lines)
    return signals, parser.finish(code, killed=False)


def of(kind: type[S], signals: list[Signal]) -> list[S]:
    return [signal for signal in signals if isinstance(signal, kind)]


def activities(signals: list[Signal]) -> list[str]:
    return [signal.message for signal in of(Activity, signals)]


def transcript(signals: list[Signal], kind: TranscriptKind) -> list[str]:
    return [signal.text for signal in of(Transcript, signals) if signal.kind is kind]


def jsonl(*events: object) -> list[str]:
    return [json.dumps(event) for event in events]


# --- Claude --------------------------------------------------------------------------------


def test_claude_ok_run_reports_session_tools_usage_and_succeeds() -> None:
    signals, verdict = replay(ParserKind.CLAUDE, "claude-ok")

    assert of(SessionStarted, signals) == [
        SessionStarted("2052a316-4eaa-4eaa-b750-c2e24f7c82f2", "claude-opus-4-8")
    ]
    assert activities(signals) == [
        "turn 1",
        "I'll create /repo/hello.txt.",
        "Write hello.txt",
        "turn 2",
        "DONE wrote /repo/hello.txt",
    ]
    assert transcript(signals, TranscriptKind.TOOL_CALL) == ["Write hello.txt"]
    assert transcript(signals, TranscriptKind.TOOL_RESULT)[0].startswith("File created")
    [usage] = of(Usage, signals)
    assert usage.cost_usd == pytest.approx(0.014)
    assert usage == Usage(
        input_tokens=2400,
        output_tokens=80,
        cost_usd=usage.cost_usd,
        turns=2,
        model="claude-opus-4-8",
        scope=UsageScope.ATTEMPT,
    )
    assert of(Result, signals) == [Result(ok=True, text="DONE wrote /repo/hello.txt")]
    assert verdict == Verdict(AgentOutcome.SUCCEEDED)


def test_claude_usage_comes_once_from_the_result_not_from_each_assistant_message() -> None:
    signals, _ = replay(ParserKind.CLAUDE, "claude-ok")

    assert len(of(Usage, signals)) == 1  # the three assistant events' usage would double count


def test_claude_denied_tool_fails_even_though_the_cli_exited_0() -> None:
    assert exit_code("claude-denied") == 0
    signals, verdict = replay(ParserKind.CLAUDE, "claude-denied")

    # Said twice by Claude (the tool_result, then permission_denials): one signal.
    assert of(PermissionDenied, signals) == [PermissionDenied("Write", "hello.txt")]
    assert of(Result, signals) == [Result(ok=True, text="DONE wrote /repo/hello.txt")]
    assert verdict == Verdict(AgentOutcome.FAILED, "permission denied: Write hello.txt")


def test_claude_429_after_its_own_retries_is_rate_limited_not_failed() -> None:
    signals, verdict = replay(ParserKind.CLAUDE, "claude-429-r2")

    retries = of(Retrying, signals)
    assert [(r.attempt, r.max_retries, r.status) for r in retries] == [(1, 2, 429), (2, 2, 429)]
    assert retries[0].delay_s == 1.0
    assert retries[1].delay_s == pytest.approx(1.1641, abs=1e-4)
    assert "turn 1" not in activities(signals)  # Claude's synthetic error message is no turn
    [limit] = of(RateLimited, signals)
    assert (limit.kind, limit.status) == (RateLimitKind.RATE, 429)
    assert verdict.outcome is AgentOutcome.RATE_LIMITED
    assert verdict.reason == "rate limited (429)"
    assert verdict.rate_limit == limit


def test_claude_account_rate_limit_is_rate_limited() -> None:
    signals, verdict = replay(ParserKind.CLAUDE, "claude-usage")

    assert [r.status for r in of(Retrying, signals)] == [429, 429]
    assert (verdict.outcome, verdict.reason) == (AgentOutcome.RATE_LIMITED, "rate limited (429)")


def test_claude_529_is_an_overloaded_provider() -> None:
    signals, verdict = replay(ParserKind.CLAUDE, "claude-529-r2")

    assert [r.status for r in of(Retrying, signals)] == [529, 529]
    [limit] = of(RateLimited, signals)
    assert (limit.kind, limit.status) == (RateLimitKind.OVERLOADED, 529)
    assert (verdict.outcome, verdict.reason) == (AgentOutcome.RATE_LIMITED, "rate limited (529)")


def test_claude_max_turns_fails_with_claudes_own_words() -> None:
    signals, verdict = replay(ParserKind.CLAUDE, "claude-maxturns")

    assert of(Usage, signals)[0].input_tokens == 1200
    assert of(Result, signals)[0].ok is False
    assert verdict == Verdict(AgentOutcome.FAILED, "max turns: Reached maximum number of turns (1)")


def test_claude_resumed_result_alone_names_the_model_from_model_usage() -> None:
    signals, verdict = replay_lines(ParserKind.CLAUDE, recorded_lines("claude-resume.json"))

    [usage] = of(Usage, signals)
    assert (usage.model, usage.input_tokens, usage.turns) == ("claude-opus-4-8", 2400, 2)
    assert verdict == Verdict(AgentOutcome.SUCCEEDED)


def test_claude_rejected_rate_limit_event_is_a_usage_limit_with_its_reset_time() -> None:
    event = {
        "type": "rate_limit_event",
        "rate_limit_info": {
            "status": "rejected",
            "resetsAt": 1778565600,
            "rateLimitType": "five_hour",
        },
    }
    signals, verdict = replay_lines(ParserKind.CLAUDE, jsonl(event), code=1)

    [limit] = of(RateLimited, signals)
    assert (limit.kind, limit.reset_at) == (RateLimitKind.USAGE_LIMIT, 1778565600.0)
    assert verdict == Verdict(AgentOutcome.RATE_LIMITED, "rate limited (usage-limit)", limit)


def test_claude_reset_time_in_milliseconds_is_read_as_seconds() -> None:
    event = {
        "type": "rate_limit_event",
        "rate_limit_info": {"status": "rejected", "resetsAt": 1778565600123},
    }
    signals, _ = replay_lines(ParserKind.CLAUDE, jsonl(event), code=1)

    assert of(RateLimited, signals)[0].reset_at == pytest.approx(1778565600.123)


def test_claude_allowed_rate_limit_event_changes_nothing() -> None:
    event = {
        "type": "rate_limit_event",
        "rate_limit_info": {"status": "allowed_warning", "resetsAt": 1},
    }
    lines = [*jsonl(event), *recorded_lines("claude-ok")]
    signals, verdict = replay_lines(ParserKind.CLAUDE, lines)

    assert of(RateLimited, signals) == []
    assert verdict == Verdict(AgentOutcome.SUCCEEDED)


def test_claude_exit_0_without_a_result_is_an_agent_error() -> None:
    lines = recorded_lines("claude-ok")[:-1]
    _, verdict = replay_lines(ParserKind.CLAUDE, lines, code=0)

    assert verdict == Verdict(AgentOutcome.FAILED, "agent error: no result")


def test_claude_error_result_fails_with_the_first_line_of_its_text() -> None:
    text = "Invalid API key · Fix external API key\nsecond line"
    result = {"type": "result", "subtype": "success", "is_error": True, "result": text}
    signals, verdict = replay_lines(ParserKind.CLAUDE, jsonl(result), code=1)

    assert of(AgentError, signals) == [AgentError(text)]
    assert verdict == Verdict(
        AgentOutcome.FAILED, "agent error: Invalid API key · Fix external API key"
    )


def test_claude_failure_exit_without_a_result_is_its_exit_code() -> None:
    _, verdict = replay_lines(ParserKind.CLAUDE, [], code=2)

    assert verdict == Verdict(AgentOutcome.FAILED, "exit 2")


def test_claude_several_denials_are_named_together() -> None:
    result = {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "result": "done",
        "permission_denials": [
            {
                "tool_name": "Write",
                "tool_use_id": "a",
                "tool_input": {"file_path": "/repo/src/a.py"},
            },
            {"tool_name": "Bash", "tool_use_id": "b", "tool_input": {"command": "rm -rf build"}},
        ],
    }
    signals, verdict = replay_lines(ParserKind.CLAUDE, jsonl(result))

    assert of(PermissionDenied, signals) == [
        PermissionDenied("Write", "src/a.py"),
        PermissionDenied("Bash", "rm -rf build"),
    ]
    assert verdict.reason == "permission denied: Write src/a.py, Bash: rm -rf build"


def test_claude_bash_call_is_shown_as_its_command_on_one_short_line() -> None:
    command = (
        "pytest -q tests/test_auth.py --maxfail=1 -k 'login and not slow' --durations=10\necho done"
    )
    event = {
        "type": "assistant",
        "message": {
            "id": "m1",
            "content": [
                {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": command}}
            ],
        },
        "parent_tool_use_id": None,
    }
    signals, _ = replay_lines(ParserKind.CLAUDE, jsonl(event))

    label = activities(signals)[1]
    assert label.startswith("Bash: pytest -q tests/test_auth.py")
    assert label.endswith("…")
    assert "\n" not in label and len(label) <= len("Bash: ") + 60


def test_claude_long_tool_result_is_cut_to_five_lines() -> None:
    output = "\n".join(f"line {n}" for n in range(1, 21))
    event = {
        "type": "user",
        "message": {"content": [{"type": "tool_result", "tool_use_id": "t", "content": output}]},
    }
    signals, _ = replay_lines(ParserKind.CLAUDE, jsonl(event))

    [text] = transcript(signals, TranscriptKind.TOOL_RESULT)
    assert text.splitlines() == [
        "line 1",
        "line 2",
        "line 3",
        "line 4",
        "line 5",
        "… (15 more lines)",
    ]


def test_claude_sub_agent_messages_are_not_turns() -> None:
    def message(message_id: str, parent: str | None) -> dict[str, object]:
        content = [{"type": "text", "text": "working"}]
        return {
            "type": "assistant",
            "message": {"id": message_id, "content": content},
            "parent_tool_use_id": parent,
        }

    lines = jsonl(
        message("m1", None), message("s1", "toolu_1"), message("m2", None), message("m2", None)
    )
    signals, _ = replay_lines(ParserKind.CLAUDE, lines)

    assert [a for a in activities(signals) if a.startswith("turn")] == ["turn 1", "turn 2"]


def test_claude_killed_attempt_fails_without_a_reason_of_its_own() -> None:
    parser = make_parser(ParserKind.CLAUDE)
    feed_all(parser, recorded_lines("claude-ok")[:3])

    assert parser.finish(None, killed=True) == Verdict(AgentOutcome.FAILED, "")


def test_claude_killed_while_rate_limited_is_rate_limited() -> None:
    parser = make_parser(ParserKind.CLAUDE)
    feed_all(parser, recorded_lines("claude-429-r2"))

    assert parser.finish(None, killed=True).outcome is AgentOutcome.RATE_LIMITED


# --- Codex ---------------------------------------------------------------------------------


def test_codex_ok_run_shows_the_command_without_its_shell_wrapper_and_succeeds() -> None:
    signals, verdict = replay(ParserKind.CODEX, "codex-ok")

    assert of(SessionStarted, signals) == [SessionStarted("01a252e7-2633-7d41-ba28-a9c082293df0")]
    assert activities(signals) == [
        "turn 1",
        "Bash: printf '%s\\n' 'hello from codex' > hello.txt",
        "DONE wrote hello.txt",
    ]
    assert of(Usage, signals) == [Usage(2400, 80, scope=UsageScope.SESSION)]
    assert of(Result, signals) == [Result(ok=True, text="DONE wrote hello.txt")]
    assert verdict == Verdict(AgentOutcome.SUCCEEDED)


def test_codex_model_metadata_warning_is_shown_but_is_no_failure() -> None:
    signals, verdict = replay(ParserKind.CODEX, "codex-ok")

    [warning] = transcript(signals, TranscriptKind.ERROR)
    assert warning.startswith("Model metadata for `fake-model` not found")
    assert of(AgentError, signals) == []
    assert verdict.outcome is AgentOutcome.SUCCEEDED


def test_codex_file_change_is_shown_as_the_file_it_adds() -> None:
    signals, verdict = replay(ParserKind.CODEX, "codex-ok-gpt55")

    assert activities(signals) == ["turn 1", "Add hello.txt", "DONE wrote hello.txt"]
    assert transcript(signals, TranscriptKind.TOOL_CALL) == ["Add hello.txt"]  # started once
    assert verdict == Verdict(AgentOutcome.SUCCEEDED)


def test_codex_429_after_reconnecting_is_rate_limited() -> None:
    signals, verdict = replay(ParserKind.CODEX, "codex-429")

    [retry] = of(Retrying, signals)
    assert (retry.attempt, retry.max_retries, retry.status) == (1, 1, 429)
    # Codex says it twice (error, then turn.failed): one signal.
    [limit] = of(RateLimited, signals)
    assert (limit.kind, limit.status) == (RateLimitKind.RATE, 429)
    assert verdict == Verdict(AgentOutcome.RATE_LIMITED, "rate limited (429)", limit)


def test_codex_503_overloaded_is_rate_limited_as_overloaded() -> None:
    signals, verdict = replay(ParserKind.CODEX, "codex-529")

    assert of(Retrying, signals)[0].status == 503
    [limit] = of(RateLimited, signals)
    assert (limit.kind, limit.status) == (RateLimitKind.OVERLOADED, 503)
    assert verdict.outcome is AgentOutcome.RATE_LIMITED


def test_codex_quota_exceeded_is_a_billing_failure_not_a_rate_limit() -> None:
    signals, verdict = replay(ParserKind.CODEX, "codex-quota")

    assert of(RateLimited, signals) == []
    assert of(AgentError, signals) == [
        AgentError("Quota exceeded. Check your plan and billing details.")
    ]
    assert verdict == Verdict(
        AgentOutcome.FAILED, "quota exceeded: Quota exceeded. Check your plan and billing details."
    )


def test_codex_usage_limit_is_rate_limited_until_the_time_it_names() -> None:
    signals, verdict = replay(ParserKind.CODEX, "codex-usage")

    [limit] = of(RateLimited, signals)
    assert limit.kind is RateLimitKind.USAGE_LIMIT
    assert limit.reset_clock == ClockTime(1, 0)
    assert verdict == Verdict(AgentOutcome.RATE_LIMITED, "rate limited (usage-limit)", limit)


@pytest.mark.parametrize(
    ("message", "clock"),
    [
        ("You've hit your usage limit. Try again at 3:51 PM.", ClockTime(15, 51)),
        ("You’ve hit your usage limit. try again at 12:05 am.", ClockTime(0, 5)),
        ("You've hit your usage limit, try again at 13:05", ClockTime(13, 5)),
        ("You've hit your usage limit. Please try again at Sep 29th, 2026 12:55 AM.", None),
        ("You've hit your usage limit. Upgrade or try again later.", None),
    ],
)
def test_codex_usage_limit_reads_the_reset_time_of_day(
    message: str, clock: ClockTime | None
) -> None:
    lines = jsonl({"type": "turn.started"}, {"type": "turn.failed", "error": {"message": message}})
    signals, _ = replay_lines(ParserKind.CODEX, lines, code=1)

    [limit] = of(RateLimited, signals)
    assert (limit.kind, limit.reset_clock) == (RateLimitKind.USAGE_LIMIT, clock)


def test_codex_usage_limit_with_a_delay_gives_the_seconds_to_wait() -> None:
    message = "You've hit your usage limit. Upgrade to Pro or try again in 4 days 3 hours."
    signals, _ = replay_lines(
        ParserKind.CODEX, jsonl({"type": "error", "message": message}), code=1
    )

    assert of(RateLimited, signals)[0].retry_after_s == 4 * 86400 + 3 * 3600


def test_codex_resumed_thread_reports_its_running_total_as_session_usage() -> None:
    signals, verdict = replay_lines(ParserKind.CODEX, recorded_lines("codex-resume.jsonl"))

    assert of(Usage, signals) == [Usage(4800, 160, scope=UsageScope.SESSION)]
    assert activities(signals)[1] == "Add second.txt"
    assert verdict.outcome is AgentOutcome.SUCCEEDED


def test_codex_cached_input_is_not_counted_twice() -> None:
    usage = {
        "input_tokens": 10000,
        "cached_input_tokens": 8000,
        "output_tokens": 500,
        "reasoning_output_tokens": 200,
    }
    signals, _ = replay_lines(ParserKind.CODEX, jsonl({"type": "turn.completed", "usage": usage}))

    # OpenAI counts cached input inside input_tokens and reasoning inside output_tokens.
    assert of(Usage, signals) == [
        Usage(
            input_tokens=2000, output_tokens=500, cache_read_tokens=8000, scope=UsageScope.SESSION
        )
    ]


def test_codex_failed_turn_fails_with_its_message() -> None:
    lines = jsonl(
        {"type": "thread.started", "thread_id": "t"},
        {"type": "turn.started"},
        {"type": "turn.failed", "error": {"message": "stream disconnected before completion"}},
    )
    signals, verdict = replay_lines(ParserKind.CODEX, lines, code=1)

    assert of(AgentError, signals) == [AgentError("stream disconnected before completion")]
    assert verdict == Verdict(
        AgentOutcome.FAILED, "agent error: stream disconnected before completion"
    )


def test_codex_error_it_got_past_does_not_fail_a_completed_turn() -> None:
    lines = jsonl(
        {"type": "thread.started", "thread_id": "t"},
        {"type": "turn.started"},
        {"type": "error", "message": "stream error: connection reset"},
        {"type": "item.completed", "item": {"id": "i", "type": "agent_message", "text": "done"}},
        {"type": "turn.completed", "usage": {"input_tokens": 10, "output_tokens": 2}},
    )
    signals, verdict = replay_lines(ParserKind.CODEX, lines, code=0)

    assert of(AgentError, signals) == [AgentError("stream error: connection reset")]
    assert verdict == Verdict(AgentOutcome.SUCCEEDED)


def test_codex_nonzero_exit_without_events_is_its_exit_code() -> None:
    _, verdict = replay_lines(
        ParserKind.CODEX, ["Error: unexpected argument '--full-auto'"], code=2
    )

    assert verdict == Verdict(AgentOutcome.FAILED, "exit 2")


def test_codex_exit_0_without_a_completed_turn_is_an_agent_error() -> None:
    lines = jsonl({"type": "thread.started", "thread_id": "t"}, {"type": "turn.started"})
    _, verdict = replay_lines(ParserKind.CODEX, lines, code=0)

    assert verdict == Verdict(AgentOutcome.FAILED, "agent error: no result")


def test_codex_stderr_chatter_means_nothing() -> None:
    parser = make_parser(ParserKind.CODEX)

    assert parser.feed("Reading additional input from stdin...") == []
    assert parser.feed("WARNING: proceeding, even though we could not create PATH aliases") == []


# --- Gemini --------------------------------------------------------------------------------


def test_gemini_ok_run_reports_session_tools_usage_and_succeeds() -> None:
    signals, verdict = replay(ParserKind.GEMINI, "gemini-ok")

    assert of(SessionStarted, signals) == [
        SessionStarted("e6c9a7a0-1649-4198-bcdf-8e026c7944d7", "auto")
    ]
    assert activities(signals) == [
        "I'll create /repo/hello.txt.",
        "Write hello.txt",
        "DONE wrote /repo/hello.txt",
    ]
    # The router's "auto" is no model: the one stats.models names is.
    assert of(Usage, signals) == [Usage(3600, 120, model="gemini-fake", scope=UsageScope.ATTEMPT)]
    assert of(Result, signals) == [Result(ok=True, text="DONE wrote /repo/hello.txt")]
    assert verdict == Verdict(AgentOutcome.SUCCEEDED)


def test_gemini_message_pieces_make_one_transcript_entry() -> None:
    lines = jsonl(
        {"type": "message", "role": "assistant", "content": "I'll create ", "delta": True},
        {"type": "message", "role": "assistant", "content": "the file.", "delta": True},
        {
            "type": "tool_use",
            "tool_name": "run_shell_command",
            "tool_id": "x",
            "parameters": {"command": "ls -la"},
        },
    )
    signals, _ = replay_lines(ParserKind.GEMINI, lines)

    assert transcript(signals, TranscriptKind.ASSISTANT) == ["I'll create the file."]
    assert activities(signals) == ["I'll create the file.", "Bash: ls -la"]


def test_gemini_429_retries_then_is_rate_limited_with_exit_173() -> None:
    assert exit_code("gemini-429") == 173
    signals, verdict = replay(ParserKind.GEMINI, "gemini-429")

    retries = of(Retrying, signals)
    assert len(retries) == 13  # 4 for its router's call, 9 for the main one
    assert {r.status for r in retries} == {429}
    assert retries[0].message == "Resource has been exhausted (e.g. check quota)."
    [limit] = of(RateLimited, signals)
    assert (limit.kind, limit.status) == (RateLimitKind.RATE, 429)
    assert of(Usage, signals)[0].model == "gemini-3.5-flash-lite"
    assert verdict == Verdict(AgentOutcome.RATE_LIMITED, "rate limited (429)", limit)


def test_gemini_daily_quota_is_a_usage_limit() -> None:
    signals, verdict = replay(ParserKind.GEMINI, "gemini-usage")

    [limit] = of(RateLimited, signals)
    assert (limit.kind, limit.status) == (RateLimitKind.USAGE_LIMIT, 429)
    assert verdict.outcome is AgentOutcome.RATE_LIMITED


def test_gemini_exit_173_alone_is_a_rate_limit() -> None:
    _, verdict = replay_lines(ParserKind.GEMINI, [], code=173)

    assert (verdict.outcome, verdict.reason) == (AgentOutcome.RATE_LIMITED, "rate limited (429)")


def test_gemini_exit_247_is_an_overloaded_provider() -> None:
    _, verdict = replay_lines(ParserKind.GEMINI, [], code=247)

    assert verdict.outcome is AgentOutcome.RATE_LIMITED
    assert verdict.rate_limit is not None
    assert (verdict.rate_limit.kind, verdict.reason) == (
        RateLimitKind.OVERLOADED,
        "rate limited (503)",
    )


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (41, "exit 41: auth error"),
        (42, "exit 42: bad input"),
        (44, "exit 44: sandbox error"),
        (52, "exit 52: config error"),
        (53, "exit 53: turn limit reached"),
        (54, "exit 54: tool error"),
        (55, "exit 55: untrusted workspace"),
        (130, "exit 130: cancelled"),
        (1, "exit 1"),
    ],
)
def test_gemini_exit_codes_say_why_it_failed(code: int, reason: str) -> None:
    _, verdict = replay_lines(ParserKind.GEMINI, [], code=code)

    assert verdict == Verdict(AgentOutcome.FAILED, reason)


def test_gemini_error_result_fails_even_with_exit_0() -> None:
    result = {
        "type": "result",
        "status": "error",
        "error": {
            "type": "unknown",
            "message": "[API Error: Model not found]\nPlease check the name",
        },
        "stats": {},
    }
    signals, verdict = replay_lines(ParserKind.GEMINI, jsonl(result), code=0)

    assert of(Result, signals)[0].ok is False
    assert verdict == Verdict(AgentOutcome.FAILED, "agent error: Model not found")


def test_gemini_resumed_session_starts_the_same_session() -> None:
    signals, verdict = replay_lines(ParserKind.GEMINI, recorded_lines("gemini-resume.jsonl"))

    assert of(SessionStarted, signals)[0].session_id == "e6c9a7a0-1649-4198-bcdf-8e026c7944d7"
    assert "Write second.txt" in activities(signals)
    assert verdict.outcome is AgentOutcome.SUCCEEDED


# --- opencode ------------------------------------------------------------------------------


def test_opencode_ok_run_reports_each_steps_usage_and_succeeds() -> None:
    signals, verdict = replay(ParserKind.OPENCODE, "opencode-ok")

    assert of(SessionStarted, signals) == [SessionStarted("ses_dad0e47c1ffeYSyG5HyvwH167V")]
    assert activities(signals) == [
        "turn 1",
        "Write hello.txt",
        "turn 2",
        "DONE wrote /repo/hello.txt",
    ]
    step = Usage(1200, 40, cost_usd=0.0042, scope=UsageScope.STEP)
    assert of(Usage, signals) == [step, step]
    assert transcript(signals, TranscriptKind.TOOL_RESULT) == ["Wrote file successfully."]
    assert of(Result, signals) == [Result(ok=True, text="DONE wrote /repo/hello.txt")]
    assert verdict == Verdict(AgentOutcome.SUCCEEDED)


def test_opencode_429_is_rate_limited_with_its_retry_after() -> None:
    signals, verdict = replay(ParserKind.OPENCODE, "opencode-429")

    [limit] = of(RateLimited, signals)
    assert (limit.kind, limit.status, limit.retry_after_s) == (RateLimitKind.RATE, 429, 1.0)
    assert limit.message.startswith("Rate limit reached for fake-model")
    assert verdict == Verdict(AgentOutcome.RATE_LIMITED, "rate limited (429)", limit)


def test_opencode_retry_after_as_an_http_date_is_ignored() -> None:
    line = recorded_lines("opencode-429")[0].replace(
        '"retry-after":"1"', '"retry-after":"Wed, 21 Oct 2026 07:28:00 GMT"'
    )
    signals, _ = replay_lines(ParserKind.OPENCODE, [line], code=1)

    assert of(RateLimited, signals)[0].retry_after_s is None


def test_opencode_other_api_error_fails_with_its_message() -> None:
    error = {
        "type": "error",
        "sessionID": "ses_1",
        "error": {
            "name": "APIError",
            "data": {"message": "Invalid model: fake", "statusCode": 400},
        },
    }
    signals, verdict = replay_lines(ParserKind.OPENCODE, jsonl(error), code=0)

    assert of(AgentError, signals) == [AgentError("Invalid model: fake")]
    assert verdict == Verdict(AgentOutcome.FAILED, "agent error: Invalid model: fake")


def test_opencode_failure_exit_is_its_exit_code() -> None:
    _, verdict = replay_lines(ParserKind.OPENCODE, [], code=1)

    assert verdict == Verdict(AgentOutcome.FAILED, "exit 1")


# --- Aider ---------------------------------------------------------------------------------


def test_aider_ok_run_reports_usage_cost_and_the_applied_edit() -> None:
    signals, verdict = replay(ParserKind.AIDER, "aider-ok")

    assert of(Usage, signals) == [
        Usage(1200, 40, cost_usd=0.0042, model="openai/fake-model", scope=UsageScope.STEP)
    ]
    assert "Edit hello.txt" in activities(signals)
    assert transcript(signals, TranscriptKind.TOOL_CALL) == ["Edit hello.txt"]
    assert "<<<<<<< SEARCH" not in transcript(signals, TranscriptKind.ASSISTANT)
    assert verdict == Verdict(AgentOutcome.SUCCEEDED)


def test_aider_gave_up_on_a_rate_limit_is_rate_limited_though_it_exited_0() -> None:
    assert exit_code("aider-429") == 0
    signals, verdict = replay(ParserKind.AIDER, "aider-429")

    assert [r.delay_s for r in of(Retrying, signals)] == [0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    assert {r.status for r in of(Retrying, signals)} == {429}
    assert of(AgentError, signals) == []  # a rate limit is no agent error
    assert verdict.outcome is AgentOutcome.RATE_LIMITED
    assert verdict.reason == "rate limited (429)"
    assert verdict.rate_limit is not None
    assert "Limit 3, Used 3" in verdict.rate_limit.message  # the wrapped message, whole


def test_aider_rate_limit_it_got_past_is_no_failure() -> None:
    lines = [*recorded_lines("aider-429")[:12], *recorded_lines("aider-ok")[6:]]
    _, verdict = replay_lines(ParserKind.AIDER, lines, code=0)

    assert verdict == Verdict(AgentOutcome.SUCCEEDED)


def test_aider_api_error_as_the_last_thing_fails() -> None:
    lines = [
        "Aider v0.86.2",
        "litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect API key",
        "provided: sk-xxx.",
        "",
    ]
    signals, verdict = replay_lines(ParserKind.AIDER, lines, code=0)

    assert len(of(AgentError, signals)) == 1
    assert verdict == Verdict(
        AgentOutcome.FAILED,
        "agent error: litellm.AuthenticationError: AuthenticationError: OpenAIException - "
        "Incorrect API key provided: sk-xxx.",
    )


def test_aider_answer_without_edits_succeeds() -> None:
    lines = [
        "Aider v0.86.2",
        "",
        "The function returns the sum.",
        "",
        "Tokens: 900 sent, 12 received.",
    ]
    signals, verdict = replay_lines(ParserKind.AIDER, lines, code=0)

    assert of(Usage, signals) == [Usage(900, 12, scope=UsageScope.STEP)]  # no cost: unpriced
    assert activities(signals) == ["The function returns the sum."]
    assert verdict == Verdict(AgentOutcome.SUCCEEDED)


def test_aider_cache_tokens_are_kept_apart() -> None:
    line = (
        "Tokens: 15k sent, 2.0k cache write, 10k cache hit, 1.1k received. "
        "Cost: $0.12 message, $0.50 session."
    )
    signals, _ = replay_lines(ParserKind.AIDER, [line])

    assert of(Usage, signals) == [
        Usage(13000, 1100, 10000, 2000, cost_usd=0.12, scope=UsageScope.STEP)
    ]


@pytest.mark.parametrize(
    ("text", "tokens"), [("40", 40), ("1.2k", 1200), ("12k", 12000), ("3.4M", 3_400_000), ("x", 0)]
)
def test_aider_token_counts_read_their_suffix(text: str, tokens: int) -> None:
    assert read_tokens(text) == tokens


def test_aider_killed_during_its_backoff_is_rate_limited() -> None:
    parser = make_parser(ParserKind.AIDER)
    feed_all(parser, recorded_lines("aider-429")[:10])

    assert parser.finish(None, killed=True).outcome is AgentOutcome.RATE_LIMITED


# --- shared helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/repo/hello.txt", "hello.txt"),
        ("/home/me/project/src/auth.py", "src/auth.py"),
        ("/repo/src/auth.py", "src/auth.py"),
        ("src/auth.py", "src/auth.py"),
        ("C:\\work\\proj\\src\\auth.py", "src/auth.py"),
        ("/hello.txt", "hello.txt"),
    ],
)
def test_absolute_paths_keep_their_last_components(path: str, shown: str) -> None:
    assert short_path(path) == shown


@pytest.mark.parametrize(
    ("command", "inner"),
    [
        ("/bin/bash -lc \"printf '%s\\\\n' 'hi' > a.txt\"", "printf '%s\\n' 'hi' > a.txt"),
        ("bash -lc 'echo '\\''hi'\\'''", "echo 'hi'"),
        ("/bin/zsh -c 'ls -la'", "ls -la"),
        ('bash -lc "echo \\"hi\\""', 'echo "hi"'),
        ("pytest -q", "pytest -q"),
    ],
)
def test_shell_wrapper_is_stripped_from_commands(command: str, inner: str) -> None:
    assert shell_command(command) == inner


@pytest.mark.parametrize(
    ("name", "arguments", "label"),
    [
        ("Edit", {"file_path": "/repo/src/auth.py"}, "Edit src/auth.py"),
        ("write_file", {"file_path": "/repo/hello.txt"}, "Write hello.txt"),
        ("read", {"filePath": "x.py"}, "Read x.py"),
        ("run_shell_command", {"command": "pytest -q"}, "Bash: pytest -q"),
        ("Grep", {"pattern": "def login"}, "Grep def login"),
        ("TodoWrite", {"todos": []}, "TodoWrite"),
        ("mystery", {"path": "/a/b/c.txt"}, "mystery b/c.txt"),
    ],
)
def test_tool_calls_are_named_by_tool_and_main_argument(
    name: str, arguments: dict[str, object], label: str
) -> None:
    assert tool_call(name, arguments).label == label


@pytest.mark.parametrize(
    ("text", "clock"),
    [
        ("1:00 AM.", ClockTime(1, 0)),
        ("12:00 PM", ClockTime(12, 0)),
        ("12:30 a.m.", ClockTime(0, 30)),
        ("11:59pm", ClockTime(23, 59)),
        ("13:05", ClockTime(13, 5)),
        ("25:00", None),
        ("13:05 PM", None),
        ("soon", None),
    ],
)
def test_times_of_day_are_read_in_12_and_24_hour_forms(text: str, clock: ClockTime | None) -> None:
    assert parse_clock(text) == clock


def test_one_line_keeps_the_first_line_and_marks_what_it_leaves_out() -> None:
    assert one_line("  first   line \nsecond") == "first line …"
    assert one_line("x" * 100) == "x" * 59 + "…"
    assert one_line("\n\n") == ""


def test_cut_lines_says_how_many_lines_it_left_out() -> None:
    assert cut_lines("a\nb\nc\nd\ne\nf") == "a\nb\nc\nd\ne\n… (1 more line)"
    assert cut_lines("short") == "short"


# --- every parser ----------------------------------------------------------------------------


def test_every_parser_kind_has_a_fresh_parser() -> None:
    for kind in ParserKind:
        first, second = make_parser(kind), make_parser(kind)
        assert isinstance(first, OutputParser)
        assert first is not second


def test_progress_lines_are_read_by_every_parser() -> None:
    for kind in ParserKind:
        signals = make_parser(kind).feed("::progress::75 Implementing")
        assert signals == [Progress(75.0, "Implementing")]


@pytest.mark.parametrize("kind", [*JSON_KINDS, ParserKind.AIDER])
def test_a_killed_attempt_fails_with_no_reason_of_the_parsers(kind: ParserKind) -> None:
    parser = make_parser(kind)

    # Even after a clean start: pmtui ended it (timeout, stop), the engine says why.
    assert parser.finish(0, killed=True) == Verdict(AgentOutcome.FAILED, "")


BAD_LINES = {
    "garbage bytes": bytes(range(256)).decode("utf-8", errors="replace"),
    "json array": "[1, 2, 3]",
    "type not a string": '{"type": 5}',
    "one megabyte": json.dumps({"type": "no_such_event", "pad": "a" * 1_000_000}),
    "unknown event": '{"type": "no_such_event", "session_id": 3}',
    "truncated": recorded_lines("claude-ok")[1][:200],
    "deeply nested": "{" + '"a":[' * 100_000,
    "nesting bomb": "[" * 100_000 + "]" * 100_000,
    "huge number": '{"type": "result", "num_turns": 1' + "0" * 10_000 + "}",
    "null": "null",
    "empty": "",
}


@pytest.mark.parametrize("kind", JSON_KINDS)
@pytest.mark.parametrize("line", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_json_parsers_answer_bad_lines_with_nothing(kind: ParserKind, line: str) -> None:
    assert make_parser(kind).feed(line) == []


@pytest.mark.parametrize("line", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_aider_reads_bad_lines_as_bounded_text(line: str) -> None:
    signals = make_parser(ParserKind.AIDER).feed(line)

    assert all(len(s.text) < 2000 for s in of(Transcript, signals))
    assert of(RateLimited, signals) == []


ODD_SHAPES = [
    {"type": "system", "subtype": "init", "session_id": ["x"], "model": 3},
    {"type": "system", "subtype": "api_retry", "attempt": "1", "retry_delay_ms": "x"},
    {"type": "assistant", "message": "not an object"},
    {"type": "assistant", "message": {"id": 1, "content": "text"}},
    {
        "type": "assistant",
        "message": {"content": [{"type": "tool_use", "input": "x", "name": None}]},
    },
    {
        "type": "user",
        "message": {"content": [{"type": "tool_result", "is_error": True, "content": 5}]},
    },
    {
        "type": "result",
        "usage": [1],
        "modelUsage": "x",
        "permission_denials": {"a": 1},
        "is_error": "yes",
    },
    {"type": "result", "is_error": True, "api_error_status": "429"},
    {"type": "rate_limit_event", "rate_limit_info": {"status": "rejected", "resetsAt": "soon"}},
    {"type": "item.completed", "item": 5},
    {"type": "item.completed", "item": {"type": "file_change", "changes": "x"}},
    {
        "type": "item.completed",
        "item": {"type": "command_execution", "command": [1, "ls"], "exit_code": "1"},
    },
    {"type": "turn.completed", "usage": {"input_tokens": -5, "cached_input_tokens": 1e400}},
    {"type": "turn.failed", "error": "boom"},
    {"type": "error", "message": None},
    {"type": "init", "session_id": None},
    {"type": "message", "role": "assistant", "content": ["x"], "delta": True},
    {"type": "tool_result", "status": "error", "error": "x"},
    {"type": "result", "status": "error", "stats": {"models": []}},
    {"type": "tool_use", "sessionID": 4, "part": {"state": {"status": "error", "error": 5}}},
    {"type": "step_finish", "part": {"tokens": {"cache": 5}, "cost": "free"}},
    {
        "type": "error",
        "error": {"data": {"statusCode": 429, "responseHeaders": {"retry-after": 5}}},
    },
]


@pytest.mark.parametrize("kind", JSON_KINDS)
@pytest.mark.parametrize("event", ODD_SHAPES, ids=[str(i) for i in range(len(ODD_SHAPES))])
def test_json_parsers_read_known_events_of_odd_shapes_without_raising(
    kind: ParserKind, event: dict[str, object]
) -> None:
    parser = make_parser(kind)

    parser.read(json.dumps(event))  # read itself, not feed, which would hide an exception
    assert isinstance(parser.finish(0, killed=False), Verdict)


@given(lines=st.lists(st.text(max_size=300), max_size=8), code=st.none() | st.integers(-300, 300))
@pytest.mark.parametrize("kind", list(ParserKind))
def test_no_parser_raises_on_arbitrary_text(
    kind: ParserKind, lines: list[str], code: int | None
) -> None:
    parser = make_parser(kind)
    for line in lines:
        assert isinstance(parser.feed(line), list)
    assert isinstance(parser.finish(code, killed=False), Verdict)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
EVENT_TYPES = [
    "system",
    "assistant",
    "user",
    "result",
    "rate_limit_event",
    "thread.started",
    "turn.started",
    "item.started",
    "item.completed",
    "turn.completed",
    "turn.failed",
    "error",
    "init",
    "message",
    "tool_use",
    "tool_result",
    "step_start",
    "text",
    "step_finish",
]


@given(
    event_type=st.sampled_from(EVENT_TYPES),
    fields=st.dictionaries(
        st.sampled_from(
            [
                "subtype",
                "message",
                "item",
                "usage",
                "error",
                "part",
                "content",
                "stats",
                "status",
                "session_id",
                "sessionID",
                "thread_id",
                "is_error",
                "permission_denials",
                "modelUsage",
                "rate_limit_info",
                "role",
                "delta",
                "parameters",
                "tool_name",
                "tool_id",
                "api_error_status",
            ]
        ),
        JSON_VALUES,
        max_size=6,
    ),
)
@pytest.mark.parametrize("kind", JSON_KINDS)
def test_json_parsers_never_raise_on_known_events_with_arbitrary_fields(
    kind: ParserKind, event_type: str, fields: dict[str, object]
) -> None:
    parser = make_parser(kind)

    parser.read(json.dumps({"type": event_type, **fields}))
    assert isinstance(parser.finish(0, killed=False), Verdict)
