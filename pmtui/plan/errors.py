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


_LOOKALIKES = str.maketrans({"l": "1", "i": "1", "o": "0"})
"""Characters typed for one another (`1.l` for `1.1`), compared as the same."""

_CUTOFF = 0.6
"""How alike (difflib ratio) a candidate must be to count as a likely typo."""


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like `word`, if any is close enough to be a likely typo.

    A candidate equal but for case or look-alike characters (`l` for `1`, `O` for `0`) wins;
    else the most similar one; ties go to the candidate listed first, so the suggestion is
    the same on every run and follows plan order.
    """
    pool = list(dict.fromkeys(candidates))
    folded = word.lower().translate(_LOOKALIKES)
    for candidate in pool:
        if candidate.lower().translate(_LOOKALIKES) == folded:
            return candidate
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(word)
    best: str | None = None
    best_ratio = _CUTOFF
    for candidate in pool:
        matcher.set_seq1(candidate)
        if matcher.real_quick_ratio() < best_ratio or matcher.quick_ratio() < best_ratio:
            continue
        ratio = matcher.ratio()
        if ratio > best_ratio or (best is None and ratio >= best_ratio):
            best, best_ratio = candidate, ratio
    return best


def did_you_mean(word: str, candidates: Iterable[str], fallback: str) -> str:
    """A hint suggesting the closest candidate, else the fallback text."""
    match = closest(word, candidates)
    return f"did you mean '{match}'?" if match is not None else fallback
