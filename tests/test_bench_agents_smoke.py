"""bench/agents.py runs end to end in quick mode: part A (pmtui against `xargs -P5` over the
real Claude Code and Codex CLIs and the fake LLM server, or a message saying it is skipped
when they are not installed) and part B (pmtui's CPU while agents stream, headless and in
the monitor).

The script runs in a subprocess, as a user runs it: it must exit 0 (no `--gate`, so a missed
target is not a failure) and print both parts' figures. No timing is asserted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "agents.py"


def test_agents_quick_prints_both_parts() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"agents.py exited {result.returncode}:\n{result.stderr}"
    out = result.stdout
    if "(A) skipped:" in out:
        assert "not installed" in out
    else:
        assert "(A) 6 tasks, claude and codex alternating" in out
        assert "not a git repository" in out
        assert "pmtui run --no-ui" in out and "xargs -P5 -n1 sh (same argv)" in out
        assert "pmtui / xargs -P5" in out
        assert "files written, each run: pmtui 6, xargs 6 of 6" in out
        assert "target: pmtui ≤ 1.05 × xargs -P5" in out
    assert "(B) 8 agents streaming Claude stream-json lines" in out
    assert "headless (engine only, --no-ui)" in out and "monitor (in a pty, 200x60)" in out
    assert "target: pmtui CPU < 10 % of one core — headless" in out
    assert out.count("%: MET") + out.count("%: NOT MET") == 2


def test_agents_options_are_documented() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "--gate" in result.stdout and "--quick" in result.stdout
