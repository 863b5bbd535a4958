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


DEMO_BY_DEFAULT = '[pool]\ndefault_agent = "demo"\n'
"""`pmtui.toml` text that runs every task naming no agent, and every role, as the simulated
agent `demo` — as `demo_plans/pmtui.toml` and `tests/data/pmtui.toml` do."""


def with_demo_default(config: str = "") -> str:
    """`config` (pmtui.toml text) with `[pool] default_agent = "demo"` added."""
    if "[pool]\n" in config:
        return config.replace("[pool]\n", DEMO_BY_DEFAULT, 1)
    return DEMO_BY_DEFAULT + config


def demo_by_default(folder: Path, config: str = "") -> Path:
    """Write FOLDER/pmtui.toml so a plan there of roles (product-manager…) or of tasks that
    name no agent runs on the simulated agent `demo` (pmtui never simulates silently:
    without a default agent such tasks are `pmtui check` errors). `config` is added."""
    return write(folder / "pmtui.toml", with_demo_default(config))


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
