"""Calling `pmtui.cli.main` in-process the way the command-line tests do."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmtui.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `pmtui ARGS`; return the exit code, stdout and stderr (never a traceback)."""
    code = main(args)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "internal error" not in err
    return code, out, err


def write(path: Path, text: str) -> Path:
    """Write a UTF-8 file and return its path."""
    path.write_text(text, encoding="utf-8")
    return path
