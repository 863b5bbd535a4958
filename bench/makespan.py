"""Does a real pmtui run reach the lower bound on a DAG that traps plan-order schedulers?

    .venv/bin/python bench/makespan.py [--tasks 30] [--seeds 1,2,3] [--unit 0.1] [--quick] [--gate]

For each seed it takes bench/dag_gen.py's `trap(n, seed, slots=5)` (short independent tasks
listed first, a few long chains listed last: starting in plan order ends near `work / slots
+ chain`) and turns every task into `sleep X`, X = its estimate × the unit (0.1 s: a 3 s
estimate sleeps 0.3 s), rounded to 0.01 s. It writes the DAG twice in a temporary folder:

- a pmtui plan: every task `(depends: ...)` (or `(depends: none)`), `(estimate: Xs)` so the
  critical-path strategy sees the durations, and a `sleep X` script (the `shell` agent);
  run with `python -m pmtui run PLAN --no-ui --json --max-parallel 5`;
- a Makefile: phony targets in plan order, prerequisites = dependencies, `all:` depending on
  every target in plan order; run with `make -j5`.

Lower bound = max(critical path, total work / 5) of the sleeps. For pmtui it reports the
run itself (the `time` of its `run_finished` event, seconds since `run_started`) and the
whole process (spawn to exit, start-up included); for make the whole process.

Target: pmtui's run ≤ 1.05 × lower bound on every DAG (make lands near 1.4 ×). With `--gate`
the exit status is 1 when it is missed; otherwise 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import dag_gen  # noqa: E402

from pmtui.plan.model import Plan  # noqa: E402

PYTHON = sys.executable
TARGET_RATIO = 1.05
CONFIG = """\
[pool]
default_timeout = "10m"
"""


def sleeps_of(plan: Plan, unit: float) -> dict[str, float]:
    """Every task's sleep in seconds: its estimate × unit, rounded to 0.01 s (at least 0.01)."""
    return {task.id: max(0.01, round((task.estimate_s or 0.0) * unit, 2)) for task in plan.tasks}


def lower_bound(plan: Plan, sleeps: dict[str, float], slots: int) -> tuple[float, float, float]:
    """(critical path, work / slots, max of both); dependencies point to earlier tasks."""
    finish: dict[str, float] = {}
    for task in plan.tasks:
        start = max((finish[dependency] for dependency in task.depends or ()), default=0.0)
        finish[task.id] = start + sleeps[task.id]
    critical = max(finish.values())
    work = sum(sleeps.values()) / slots
    return critical, work, max(critical, work)


def render_plan(plan: Plan, sleeps: dict[str, float]) -> str:
    lines = [f"# Plan: {plan.title}, sleeps", "", "## Phase 1: All"]
    for task in plan.tasks:
        depends = ", ".join(task.depends or ()) or "none"
        seconds = f"{sleeps[task.id]:g}"
        lines += [
            f"- [ ] {task.id} Sleep {seconds}s (depends: {depends}) (estimate: {seconds}s)",
            "    ```sh",
            f"    sleep {seconds}",
            "    ```",
        ]
    return "\n".join(lines) + "\n"


def render_makefile(plan: Plan, sleeps: dict[str, float]) -> str:
    targets = " ".join(task.id for task in plan.tasks)
    lines = [f".PHONY: all {targets}", f"all: {targets}"]
    for task in plan.tasks:
        lines += [
            f"{task.id}: {' '.join(task.depends or ())}".rstrip(),
            f"\tsleep {sleeps[task.id]:g}",
        ]
    return "\n".join(lines) + "\n"


def run(argv: list[str], cwd: Path) -> tuple[float, str]:
    """Wall seconds, spawn to exit, and stdout; fails loudly on a bad exit."""
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv[:6])} exited {result.returncode}:\n{result.stderr[-2000:]}"
        )
    return elapsed, result.stdout


def pmtui_run_s(stdout: str, tasks: int) -> float:
    """Seconds from run_started to run_finished; fails unless every task is done."""
    events = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    names = [event.get("event") for event in events]
    if "run_started" not in names or "run_finished" not in names:
        raise SystemExit(f"pmtui printed no run_started/run_finished ({len(events)} events)")
    started = next(event for event in events if event["event"] == "run_started")
    finished = [event for event in events if event["event"] == "run_finished"][-1]
    if finished.get("status") != "ok" or finished.get("done") != tasks:
        raise SystemExit(f"pmtui run did not finish every task: {finished}")
    return float(finished["time"]) - float(started["time"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=None, help="tasks per DAG (30; quick 12)")
    parser.add_argument("--seeds", default=None, help="comma list (default 1,2,3; quick 1)")
    parser.add_argument("--slots", type=int, default=5, help="parallel slots (default 5)")
    parser.add_argument("--unit", type=float, default=0.1, help="seconds per estimate second")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--gate", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    tasks = args.tasks if args.tasks is not None else (12 if args.quick else 30)
    seeds_text = args.seeds if args.seeds is not None else ("1" if args.quick else "1,2,3")
    try:
        seeds = [int(seed) for seed in seeds_text.split(",") if seed.strip()]
    except ValueError:
        parser.error("--seeds takes a comma list of integers")
    if tasks < 2 or args.slots < 1 or not seeds or args.unit <= 0:
        parser.error("--tasks ≥ 2, --slots ≥ 1, --unit > 0 and at least one seed")
    make = shutil.which("make")
    print(
        f"trap DAGs, {tasks} tasks, {args.slots} slots, `sleep` tasks of estimate × {args.unit:g} s"
    )
    print(
        f"  {'seed':>4} {'bound s':>8} {'(cp / work)':>14}   {'pmtui run':>9} {'×bound':>7}"
        f"   {'pmtui proc':>10} {'×bound':>7}   {'make -j' + str(args.slots):>9} {'×bound':>7}"
    )
    ratios: dict[str, list[float]] = {"run": [], "process": [], "make": []}
    for seed in seeds:
        plan = dag_gen.trap(tasks, seed, slots=args.slots)
        sleeps = sleeps_of(plan, args.unit)
        critical, work, bound = lower_bound(plan, sleeps, args.slots)
        with tempfile.TemporaryDirectory(prefix="pmtui-bench-makespan-") as tmp:
            folder = Path(tmp)
            plan_path = folder / "plan.md"
            plan_path.write_text(render_plan(plan, sleeps))
            (folder / "pmtui.toml").write_text(CONFIG)
            (folder / "Makefile").write_text(render_makefile(plan, sleeps))
            run([PYTHON, "-m", "pmtui", "check", str(plan_path)], folder)
            pmtui_argv = [PYTHON, "-m", "pmtui", "run", str(plan_path), "--no-ui", "--json"]
            process_s, stdout = run([*pmtui_argv, "--max-parallel", str(args.slots)], folder)
            run_s = pmtui_run_s(stdout, tasks)
            make_s = None
            if make:
                make_s, _ = run([make, f"-j{args.slots}", "-s", "-f", "Makefile", "all"], folder)
        ratios["run"].append(run_s / bound)
        ratios["process"].append(process_s / bound)
        make_cells = f"{'—':>9} {'—':>7}"
        if make_s is not None:
            ratios["make"].append(make_s / bound)
            make_cells = f"{make_s:8.2f}s {make_s / bound:6.3f}×"
        print(
            f"  {seed:>4} {bound:7.2f}s {f'({critical:.2f} / {work:.2f})':>14}   "
            f"{run_s:8.2f}s {run_s / bound:6.3f}×   {process_s:9.2f}s {process_s / bound:6.3f}×"
            f"   {make_cells}"
        )

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    print()
    run_mean, process_mean = mean(ratios["run"]), mean(ratios["process"])
    print(f"  mean ×bound: pmtui run {run_mean:.3f}   process {process_mean:.3f}", end="")
    print(
        f"   make -j{args.slots} {mean(ratios['make']):.3f}"
        if ratios["make"]
        else "   make: not found"
    )
    worst = max(ratios["run"])
    met = worst <= TARGET_RATIO
    print(
        f"target: pmtui run ≤ {TARGET_RATIO:g} × lower bound on every DAG — worst {worst:.3f} ×: "
        f"{'MET' if met else 'NOT MET'}"
    )
    return 1 if args.gate and not met else 0


if __name__ == "__main__":
    sys.exit(main())
