"""A task's log as a readable transcript: what a real agent said and did, without its JSON.

The log holds the agent's raw output (Claude's stream-json, Codex's JSON events…) between
pmtui's own lines (`==== pmtui: attempt 2 of task 3.2, … ====`). The agent's parser
(`pmtui.agents.parsers`) already names what each line means; this keeps its `Transcript`
signals — the model's text, tool calls, their results cut to a few lines, errors — and
pmtui's own lines, and drops the rest (session starts, usage, unknown or broken lines: the
raw log still has them). `display_lines` gives each entry the text the log screen shows.

Incremental: a `TranscriptReader` is fed each new whole line once (the log screen reads only
what was appended). Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable

from pmtui.agents.parsers import make_parser
from pmtui.agents.parsers.base import OutputParser
from pmtui.agents.signals import Transcript, TranscriptKind
from pmtui.config.model import ParserKind
from pmtui.engine.process import ATTEMPT_HEADER as ATTEMPT_LOG_HEADER
from pmtui.engine.process import LOG_HEADER

TranscriptLine = Transcript
"""One entry of the transcript: its kind (assistant text, tool call, result, error, info)
and its text (which may span a few lines)."""

PMTUI_HEADER = LOG_HEADER
"""How pmtui's own header lines start (attempts, `[isolation] setup`, `[merge] check`)."""
PMTUI_NOTE = "pmtui: "
"""How pmtui's own notes start (`pmtui: the work of the earlier attempt is kept as …`)."""
ATTEMPT_HEADER = ATTEMPT_LOG_HEADER
"""The header before each attempt after the first: a fresh parser reads what follows."""

MARKS: dict[TranscriptKind, tuple[str, str]] = {
    TranscriptKind.ASSISTANT: ("", ""),
    TranscriptKind.TOOL_CALL: ("⏺ ", "  "),
    TranscriptKind.TOOL_RESULT: ("  ⎿ ", "    "),
    TranscriptKind.ERROR: ("✗ ", "  "),
    TranscriptKind.INFO: ("", ""),
}
"""Each kind's mark before its first line, and the indent of its further lines."""
ASCII_MARKS: dict[TranscriptKind, tuple[str, str]] = {
    **MARKS,
    TranscriptKind.TOOL_CALL: ("* ", "  "),
    TranscriptKind.TOOL_RESULT: ("  | ", "    "),
    TranscriptKind.ERROR: ("! ", "  "),
}
"""`MARKS` for terminals without Unicode (`--ascii`)."""


def is_pmtui_line(line: str) -> bool:
    """Whether a log line is pmtui's own (a header or a note), not the agent's output."""
    return line.startswith((PMTUI_HEADER, PMTUI_NOTE))


class TranscriptReader:
    """Turns a task's log lines, as they come, into transcript entries.

    Args:
        kind: How the task's agent prints its output (`[agents.NAME] parser`).
    """

    def __init__(self, kind: ParserKind) -> None:
        self.kind = kind
        self._parser: OutputParser = make_parser(kind)

    def reset(self) -> None:
        """Start again with a fresh parser (a new attempt, or a log read again from its top)."""
        self._parser = make_parser(self.kind)

    def feed(self, line: str) -> list[TranscriptLine]:
        """The entries one whole log line (without its line end) adds; often none."""
        line = line.rstrip("\r\n")
        if is_pmtui_line(line):
            if line.startswith(ATTEMPT_HEADER):
                self.reset()  # each attempt was read by its own parser
            return [TranscriptLine(TranscriptKind.INFO, line)]
        return [signal for signal in self._parser.feed(line) if isinstance(signal, Transcript)]


def transcript_lines(kind: ParserKind, lines: Iterable[str]) -> list[TranscriptLine]:
    """The transcript of a whole log, read with a parser of `kind`.

    Args:
        kind: How the task's agent prints its output.
        lines: The log's lines, without line ends.
    """
    reader = TranscriptReader(kind)
    return [entry for line in lines for entry in reader.feed(line)]


def display_lines(entry: TranscriptLine, *, ascii: bool = False) -> list[str]:  # noqa: A002
    """The lines shown for one entry: `⏺ Write a.txt`, `  ⎿ File created`, `✗ API Error…`.

    Args:
        entry: The transcript entry.
        ascii: Plain ASCII marks (`*`, `|`, `!`).
    """
    first, further = (ASCII_MARKS if ascii else MARKS)[entry.kind]
    text = entry.text.splitlines() or [""]
    return [first + text[0], *(further + line if line else line for line in text[1:])]
