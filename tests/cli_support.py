"""Calling `pmtui.cli.main` in-process the way the command-line tests do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


JsonEvent = dict[str, Any]


def task(number: str, title: str, script: str, extra: str = "") -> str:
    """A plan line for a task with a fenced `sh` script (run by the `shell` agent)."""
    return f"- [ ] {number} {title}{extra}\n  ```sh\n  {script}\n  ```\n"


def json_events(out: str) -> list[JsonEvent]:
    """The `--json` lines of a run, each checked to carry `event` and `time`."""
    events = [json.loads(line) for line in out.splitlines()]
    assert all("event" in event and "time" in event for event in events)
    return events


def finished(events: list[JsonEvent]) -> dict[str, JsonEvent]:
    """Each task's `task_finished` event by task id (checking there is exactly one)."""
    found = [event for event in events if event["event"] == "task_finished"]
    by_task = {event["task"]: event for event in found}
    assert len(by_task) == len(found), "exactly one task_finished per task"
    return by_task
