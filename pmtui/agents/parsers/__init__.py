"""Parsers of the real agent CLIs' output: one per `ParserKind`, one object per attempt.

`make_parser(kind)` gives a fresh parser; feed it the attempt's output lines (stdout and
stderr merged, in order), then ask `finish` for the verdict.
"""

from __future__ import annotations

from collections.abc import Callable

from pmtui.agents.parsers.aider import AiderParser
from pmtui.agents.parsers.base import OutputParser, ProgressParser
from pmtui.agents.parsers.claude import ClaudeParser
from pmtui.agents.parsers.codex import CodexParser
from pmtui.agents.parsers.gemini import GeminiParser
from pmtui.agents.parsers.opencode import OpencodeParser
from pmtui.config.model import ParserKind

__all__ = ["make_parser"]

_PARSERS: dict[ParserKind, Callable[[], OutputParser]] = {
    ParserKind.CLAUDE: ClaudeParser,
    ParserKind.CODEX: CodexParser,
    ParserKind.GEMINI: GeminiParser,
    ParserKind.OPENCODE: OpencodeParser,
    ParserKind.AIDER: AiderParser,
    ParserKind.PROGRESS: ProgressParser,
}


def make_parser(kind: ParserKind) -> OutputParser:
    """A fresh parser for one attempt of an agent whose output is of `kind`."""
    return _PARSERS[kind]()
