"""Problems found in a plan or config: location, message and a hint that says the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """Errors stop a run (exit 2); warnings are printed and the run goes on."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem, located as precisely as the input allows (line and col are 1-based)."""

    file: str
    line: int
    col: int
    message: str
    hint: str
    severity: Severity = Severity.ERROR

    def render(self) -> str:
        """The compiler-style form: `FILE:LINE:COL: error: MESSAGE` and an indented hint."""
        where = f"{self.file}:{self.line}:{self.col}" if self.col else f"{self.file}:{self.line}"
        text = f"{where}: {self.severity}: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text

    def as_json(self) -> dict[str, str | int]:
        """The `pmtui check --json` form."""
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "message": self.message,
            "hint": self.hint,
        }


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like `word`, if any is close enough to be a likely typo."""
    pool = list(candidates)
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    lowered = {candidate.lower(): candidate for candidate in pool}
    return lowered.get(word.lower())


def did_you_mean(word: str, candidates: Iterable[str], fallback: str) -> str:
    """A hint suggesting the closest candidate, else the fallback text."""
    match = closest(word, candidates)
    return f"did you mean '{match}'?" if match is not None else fallback
