"""How much does pmtui cost per task, next to make -j5 and xargs -P5 running the same commands?

    .venv/bin/python bench/overhead.py [--tasks 1000] [--slots 5] [--repeats 3] [--quick] [--gate]

It writes, in a temporary folder, a plan of N independent tasks (`(depends: none)`), each a
`true` script run by the built-in `shell` agent (`sh -c true`), and runs the real CLI as a
subprocess: `python -m pmtui run PLAN --no-ui --json --max-parallel 5`. The figure is the
wall clock of the whole process, spawn to exit (interpreter start-up and imports included),
best of 3. The references run the same N commands 5 at a time:

- `make -j5` on a generated Makefile, one phony target per task with the recipe
  `sh -c true`: the command pmtui's `shell` agent runs for the task, and the reference of
  the earlier measurements (make -j5 0.53–0.64 s for 1,000 tasks). The target is measured
  against this one;
- `make -j5` with the recipe `true`, which make execs directly without a shell: shown for
  context (it does half the work: one exec per task instead of two);
- `xargs -P5 -I{} sh -c {}` fed N lines `true` (a shell per command, like pmtui).

The three tools are run interleaved (pmtui, make, xargs, pmtui, make, xargs, ...), so a
noisy moment of the machine hits them all. For context it also times `python -m pmtui
--version` (the CLI's start-up floor) and `python -c pass`.

Target: pmtui ≤ 2 × make -j5 at 1,000 tasks. With `--gate` the exit status is 1 when the
target is missed; without it the script exits 0 whatever the figures (it is a benchmark).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
TARGET_TASKS = 1_000
TARGET_RATIO = 2.0
CONFIG = """\
[pool]
default_timeout = "10m"
"""


POPEN_FLOOR = """
import os, subprocess
running = []
for _ in range({tasks}):
    if len(running) == {slots}:
        pid, _status = os.wait()
        running = [p for p in running if p.pid != pid]
        for p in running:
            pass
    running.append(subprocess.Popen(["sh", "-c", "true"], start_new_session=True,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
while running:
    pid, _status = os.wait()
    running = [p for p in running if p.pid != pid]
"""
"""A Python loop that only spawns the tasks' commands as pmtui does (own session, output
pipe), 5 in flight, reaping with `os.wait`: no scheduling, logs, events or store."""


def render_plan(tasks: int) -> str:
    lines = [f"# Plan: overhead, {tasks} tasks running true", "", "## Phase 1: All"]
    for index in range(tasks):
        lines += [
            f"- [ ] t{index} True {index} (depends: none)",
            "    ```sh",
            "    true",
            "    ```",
        ]
    return "\n".join(lines) + "\n"


def render_makefile(tasks: int, recipe: str) -> str:
    targets = " ".join(f"t{index}" for index in range(tasks))
    recipes = "".join(f"t{index}:\n\t@{recipe}\n" for index in range(tasks))
    return f".PHONY: all {targets}\nall: {targets}\n{recipes}"


def timed(argv: list[str], cwd: Path, stdin: bytes | None = None) -> tuple[float, bytes]:
    """Wall seconds of one run, spawn to exit, and its stdout; fails loudly on a bad exit."""
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv[:6])} ... exited {result.returncode}:\n"
            f"{result.stderr.decode(errors='replace')[-2000:]}"
        )
    return elapsed, result.stdout


@dataclass
class RunFigures:
    run_s: float
    """The run's own duration: the `time` of run_finished."""
    mean_busy: float
    """Time-weighted mean of the tasks running at once, from the start/finish events."""
    waits: Counter[str]
    """task_waiting events by reason (the reason's text up to its first digit)."""


def check_pmtui_run(stdout: bytes, tasks: int) -> RunFigures:
    """The run's figures from its JSON events; fails unless every task is done."""
    events = [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]
    finished = [event for event in events if event.get("event") == "run_finished"]
    if not finished:
        raise SystemExit(f"pmtui printed no run_finished event ({len(events)} events)")
    last = finished[-1]
    if last.get("status") != "ok" or last.get("done") != tasks:
        raise SystemExit(f"pmtui run did not finish every task: {last}")
    run_s = float(last["time"])
    busy = area = previous = 0.0
    waits: Counter[str] = Counter()
    for event in events:
        name = event.get("event")
        if name in ("task_started", "task_finished"):
            area += busy * (float(event["time"]) - previous)
            previous = float(event["time"])
            busy += 1 if name == "task_started" else -1
        elif name == "task_waiting":
            waits[re.split(r"\d", str(event.get("reason", "")), maxsplit=1)[0].strip()] += 1
    return RunFigures(run_s, area / run_s if run_s > 0 else 0.0, waits)


def best_of(repeats: int, argv: list[str], cwd: Path) -> float:
    return min(timed(argv, cwd)[0] for _ in range(repeats))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=None, help="tasks (default 1000; quick 100)")
    parser.add_argument("--slots", type=int, default=5, help="parallel slots (default 5)")
    parser.add_argument("--repeats", type=int, default=None, help="best of (default 3; quick 1)")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--gate", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    tasks = args.tasks if args.tasks is not None else (100 if args.quick else TARGET_TASKS)
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    if tasks < 1 or args.slots < 1 or repeats < 1:
        parser.error("--tasks, --slots and --repeats must be at least 1")
    make = shutil.which("make")
    xargs = shutil.which("xargs")
    print(f"python {sys.version.split()[0]} · cpus {os.cpu_count()} · {tasks} tasks × `true`")

    with tempfile.TemporaryDirectory(prefix="pmtui-bench-overhead-") as tmp:
        folder = Path(tmp)
        plan = folder / "plan.md"
        plan.write_text(render_plan(tasks))
        (folder / "pmtui.toml").write_text(CONFIG)
        (folder / "Makefile").write_text(render_makefile(tasks, "sh -c true"))
        (folder / "Makefile.direct").write_text(render_makefile(tasks, "true"))
        timed([PYTHON, "-m", "pmtui", "check", str(plan)], folder)  # the plan must parse

        pmtui_argv = [PYTHON, "-m", "pmtui", "run", str(plan), "--no-ui", "--json"]
        pmtui_argv += ["--max-parallel", str(args.slots)]
        make_argv = [make or "make", f"-j{args.slots}", "-s", "-f", "Makefile", "all"]
        direct_argv = [make or "make", f"-j{args.slots}", "-s", "-f", "Makefile.direct", "all"]
        xargs_argv = [xargs or "xargs", f"-P{args.slots}", "-I{}", "sh", "-c", "{}"]
        xargs_input = b"true\n" * tasks

        walls: dict[str, list[float]] = {"pmtui": [], "make": [], "direct": [], "xargs": []}
        runs: list[RunFigures] = []
        for _ in range(repeats):
            shutil.rmtree(folder / ".pmtui", ignore_errors=True)
            wall, stdout = timed(pmtui_argv, folder)
            walls["pmtui"].append(wall)
            runs.append(check_pmtui_run(stdout, tasks))
            if make:
                walls["make"].append(timed(make_argv, folder)[0])
                walls["direct"].append(timed(direct_argv, folder)[0])
            if xargs:
                walls["xargs"].append(timed(xargs_argv, folder, xargs_input)[0])

        version_s = best_of(max(3, repeats), [PYTHON, "-m", "pmtui", "--version"], folder)
        python_s = best_of(max(3, repeats), [PYTHON, "-c", "pass"], folder)
        imports = "import pmtui.cli, pmtui.report.headless"
        imports_s = best_of(max(3, repeats), [PYTHON, "-c", imports], folder)
        floor_s = best_of(
            max(3, repeats),
            [PYTHON, "-c", POPEN_FLOOR.format(tasks=tasks, slots=args.slots)],
            folder,
        )

    pmtui_s = min(walls["pmtui"])
    make_s = min(walls["make"]) if walls["make"] else None
    direct_s = min(walls["direct"]) if walls["direct"] else None
    xargs_s = min(walls["xargs"]) if walls["xargs"] else None

    def row(label: str, seconds: float | None, per_task: bool = True, extra: str = "") -> None:
        if seconds is None:
            print(f"  {label:<44}{'not found on PATH, skipped':>12}")
            return
        each = f"{seconds / tasks * 1000:7.2f} ms/task" if per_task else " " * 15
        line = f"  {label:<44}{seconds:8.3f} s  {each}{'   ' + extra if extra else ''}"
        print(line.rstrip())

    print(f"\nwall clock, spawn to exit, best of {repeats} (interleaved), {args.slots} slots:")
    row(f"pmtui run --no-ui --json --max-parallel {args.slots}", pmtui_s)
    best_run = min(runs, key=lambda figures: figures.run_s)
    row("  of which the run (run_finished time)", best_run.run_s)
    row(f"make -j{args.slots} (recipe `sh -c true`, as pmtui)", make_s)
    row(f"make -j{args.slots} (recipe `true`, no shell)", direct_s)
    row(f"xargs -P{args.slots} -I{{}} sh -c {{}}", xargs_s)
    print(
        f"  pmtui busy slots, time-weighted mean over its best run: {best_run.mean_busy:.2f}"
        f" of {args.slots}"
    )
    for reason, count in best_run.waits.most_common(3):
        print(f"  pmtui task_waiting events: {count} × {reason!r}")
    print("context (start-up floors):")
    row("python -m pmtui --version", version_s, per_task=False)
    row("python -c pass", python_s, per_task=False)
    row("python: import what a live run needs", imports_s, per_task=False)
    row(f"python: bare Popen loop, {args.slots} in flight, nothing else", floor_s)
    print(
        "  (the last two added are the floor of any runner written in Python on this stack:"
        f" {(imports_s + floor_s) / make_s if make_s else 0:.2f} × make)"
    )
    print("ratios:")
    if make_s:
        print(f"  pmtui / make -j{args.slots}   {pmtui_s / make_s:6.2f} ×")
    if direct_s:
        print(
            f"  pmtui / make -j{args.slots} (`true` without a shell)  {pmtui_s / direct_s:6.2f} ×"
        )
    if xargs_s:
        print(f"  pmtui / xargs -P{args.slots}  {pmtui_s / xargs_s:6.2f} ×")
    print()
    if make_s is None:
        print("target: not measured (make not found)")
        return 0
    met = pmtui_s <= TARGET_RATIO * make_s
    verdict = "MET" if met else "NOT MET"
    note = "" if tasks == TARGET_TASKS else f" (at {tasks} tasks; the target is for {TARGET_TASKS})"
    print(
        f"target: pmtui ≤ {TARGET_RATIO:g} × make -j{args.slots} — "
        f"{pmtui_s / make_s:.2f} ×: {verdict}{note}"
    )
    return 1 if args.gate and not met else 0


if __name__ == "__main__":
    sys.exit(main())
