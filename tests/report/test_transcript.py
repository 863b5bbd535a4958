"""The readable transcript of a task's log, from recorded real-agent output."""

from __future__ import annotations

from pathlib import Path

from pmtui.agents.signals import TranscriptKind
from pmtui.config.model import ParserKind
from pmtui.report.transcript import (
    TranscriptLine,
    TranscriptReader,
    display_lines,
    transcript_lines,
)

SAMPLES = Path(__file__).parent.parent / "data" / "agents"

ASSISTANT, TOOL, RESULT = (
    TranscriptKind.ASSISTANT,
    TranscriptKind.TOOL_CALL,
    TranscriptKind.TOOL_RESULT,
)
ERROR, INFO = TranscriptKind.ERROR, TranscriptKind.INFO

CLAUDE_OK = [
    TranscriptLine(ASSISTANT, "I'll create /repo/hello.txt."),
    TranscriptLine(TOOL, "Write hello.txt"),
    TranscriptLine(
        RESULT,
        "File created successfully at: /repo/hello.txt (file state is current in your "
        "context — no need to Read it back)",
    ),
    TranscriptLine(ASSISTANT, "DONE wrote /repo/hello.txt"),
]
CODEX_OK = [
    TranscriptLine(TOOL, "Add hello.txt"),
    TranscriptLine(ASSISTANT, "DONE wrote hello.txt"),
]
HEADER = "==== pmtui: attempt 2 of task 3.2, 2026-12-07 23:46:30 ===="


def sample(name: str) -> list[str]:
    return (SAMPLES / f"{name}.stdout").read_text(encoding="utf-8").splitlines()


def test_a_claude_stream_json_log_reads_as_text_tool_calls_and_results() -> None:
    assert transcript_lines(ParserKind.CLAUDE, sample("claude-ok")) == CLAUDE_OK


def test_a_codex_json_log_reads_as_its_file_change_and_message() -> None:
    assert transcript_lines(ParserKind.CODEX, sample("codex-ok-gpt55")) == CODEX_OK


def test_a_denied_tool_shows_as_an_error_after_its_call() -> None:
    kinds = [line.kind for line in transcript_lines(ParserKind.CLAUDE, sample("claude-denied"))]
    assert kinds == [ASSISTANT, TOOL, ERROR, ASSISTANT]


def test_garbage_lines_are_left_out() -> None:
    garbage = [
        "",
        "plain text on stderr",
        '{"type": "assistant", "message": ',  # cut short
        "[1, 2, 3]",
        '{"type": "something-new", "text": "hi"}',
        '"just a string"',
        "{" * 5000,
    ]
    lines = sample("claude-ok")
    mixed = [line for pair in zip(garbage, lines, strict=False) for line in pair] + garbage
    assert transcript_lines(ParserKind.CLAUDE, mixed) == CLAUDE_OK


def test_pmtui_header_and_note_lines_are_kept_as_info_where_they_were() -> None:
    note = "pmtui: the work of the earlier attempt is kept as pmtui/keep/3.2-1"
    session = "==== pmtui: it continues the agent's session 2052a316 ===="
    log = [*sample("claude-ok"), note, HEADER, session, *sample("claude-ok")]
    assert transcript_lines(ParserKind.CLAUDE, log) == [
        *CLAUDE_OK,
        TranscriptLine(INFO, note),
        TranscriptLine(INFO, HEADER),
        TranscriptLine(INFO, session),
        *CLAUDE_OK,
    ]


def test_a_progress_agent_has_only_pmtui_lines_in_its_transcript() -> None:
    log = ["::progress::50 halfway", "some output", HEADER, "::progress::75 more"]
    assert transcript_lines(ParserKind.PROGRESS, log) == [TranscriptLine(INFO, HEADER)]


def test_feeding_line_by_line_gives_the_same_transcript() -> None:
    reader = TranscriptReader(ParserKind.CODEX)
    fed = [entry for line in sample("codex-ok-gpt55") for entry in reader.feed(line + "\r\n")]
    assert fed == CODEX_OK


def test_each_attempt_is_read_by_a_fresh_parser() -> None:
    reader = TranscriptReader(ParserKind.CLAUDE)
    first = reader._parser
    reader.feed("==== pmtui: [isolation] setup of /tmp/wt ====")
    assert reader._parser is first  # not an attempt's header
    reader.feed(HEADER)
    assert reader._parser is not first


def test_display_lines_mark_each_kind() -> None:
    assert display_lines(TranscriptLine(TOOL, "Write a.txt")) == ["⏺ Write a.txt"]
    assert display_lines(TranscriptLine(ASSISTANT, "Done.\n\nAll good")) == [
        "Done.",
        "",
        "All good",
    ]
    assert display_lines(TranscriptLine(RESULT, "1 passed\n2 passed\n… (8 more lines)")) == [
        "  ⎿ 1 passed",
        "    2 passed",
        "    … (8 more lines)",
    ]
    assert display_lines(TranscriptLine(ERROR, "API Error: 429")) == ["✗ API Error: 429"]
    assert display_lines(TranscriptLine(INFO, HEADER)) == [HEADER]
    assert display_lines(TranscriptLine(ASSISTANT, "")) == [""]


def test_ascii_marks_are_ascii() -> None:
    entries = [TranscriptLine(kind, "x\ny") for kind in TranscriptKind]
    shown = [line for entry in entries for line in display_lines(entry, ascii=True)]
    assert all(line.isascii() for line in shown)
    assert display_lines(TranscriptLine(TOOL, "Bash: ls"), ascii=True) == ["* Bash: ls"]
    assert display_lines(TranscriptLine(RESULT, "a\nb"), ascii=True) == ["  | a", "    b"]
    assert display_lines(TranscriptLine(ERROR, "boom"), ascii=True) == ["! boom"]


def test_a_long_tool_result_is_cut_to_a_few_lines() -> None:
    output = "\\n".join(f"line {n}" for n in range(20))
    result = (
        '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"t1",'
        f'"type":"tool_result","content":"{output}"}}]}}}}'
    )
    (entry,) = transcript_lines(ParserKind.CLAUDE, [result])
    shown = display_lines(entry)
    assert entry.kind is RESULT
    assert len(shown) <= 6
    assert shown[0] == "  ⎿ line 0"
    assert shown[-1].endswith("more lines)")
