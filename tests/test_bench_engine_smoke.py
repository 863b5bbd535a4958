"""The engine and monitor benchmarks (overhead, makespan, output and UI floods, merge queue)
run end to end in quick mode.

Each script runs in a subprocess, as a user runs it, on tiny sizes: it must exit 0 (no
`--gate`, so a missed target is not a failure) and print its table. No timing is asserted.
bench/ is not a package: nothing is imported from it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _run(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{script} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


def test_overhead_quick_prints_pmtui_make_and_xargs_side_by_side() -> None:
    out = _run("overhead.py", "--tasks", "20")
    assert "20 tasks" in out
    assert "pmtui run --no-ui --json" in out and "run_finished" in out
    assert "python -m pmtui --version" in out
    assert "target: pmtui ≤ 2 × make -j5" in out
    if "make -j5 (recipe" in out and "not found" not in out:
        assert "pmtui / make -j5" in out
    assert "pmtui / xargs -P5" in out


def test_makespan_quick_prints_ratios_to_the_lower_bound() -> None:
    out = _run("makespan.py", "--tasks", "8")
    assert "trap DAGs, 8 tasks, 5 slots" in out
    assert "pmtui run" in out and "×bound" in out and "make -j5" in out
    assert "mean ×bound" in out
    assert "target: pmtui run ≤ 1.05 × lower bound" in out


def test_output_flood_quick_prints_rss_cpu_and_log_bytes() -> None:
    out = _run("output_flood.py", "--sizes", "500,1000", "--agents", "3")
    assert "3 agents at once" in out
    assert "peak RSS" in out and "CPU pmtui" in out and "log MB" in out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("500", "1,000"))]
    assert len(rows) == 2 and all("MB" in row for row in rows)
    assert "target: peak RSS < 150 MB" in out and "target: flat" in out


def test_ui_flood_quick_prints_latencies_and_cpu() -> None:
    out = _run("ui_flood.py", "--agents", "2", "--seconds", "2")
    assert "2 agents flooding for 2s" in out
    assert "start to first frame" in out and "key to screen (flooded)" in out
    assert "event to screen" in out and "CPU, % of one core" in out
    assert out.count("target:") == 3


def test_merge_queue_quick_prints_pmtui_and_git_side_by_side() -> None:
    out = _run("merge_queue.py", "--tasks", "4")
    assert "4 tasks, one file each, in a 100-file repository" in out
    for variant in ("sequential:", "waves of 3:"):
        assert variant in out
    for phase in ("create (worktree)", "commit", "merge (+ main checkout)", "remove", "total"):
        assert out.count(f"  {phase}") == 2
    assert "pmtui / git" in out and "merges: pmtui 4 fast-forward; git 4 fast-forward" in out
    assert "merges: pmtui 2 fast-forward, 2 replay; git 2 fast-forward, 2 merge-commit" in out
    assert out.count("target ≤ 1.00: ") == 2


@pytest.mark.parametrize(
    "script", ["overhead.py", "makespan.py", "output_flood.py", "ui_flood.py", "merge_queue.py"]
)
def test_gate_is_documented(script: str) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "--gate" in result.stdout and "--quick" in result.stdout
