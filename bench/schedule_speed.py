"""How fast does pmtui's scheduler run a whole 10,000-task plan on its virtual clock?

    .venv/bin/python bench/schedule_speed.py [--tasks 10000] [--seed 1] [--slots 5]

It generates a plan with bench/gen_plan.py (phases of every kind, seed 001 agents with their
compatibility rules, estimates, files), writes it as Markdown and takes the path a user's
`pmtui run --dry-run` takes, without the project loader: `parse_plan`, `validate_plan`, the
default config (`load_config([])`), `estimate_tasks`, `SchedulerSetup.from_config`, then
`forecast` — the real scheduler driven by the simulator to the end, every task taking its
estimate. Each step is timed best of 3.

Target: the simulated run (`forecast`, scheduler construction included) of 10,000 tasks in
under 1 s. The exit status is 1 when it is missed, 0 otherwise. For context, on the same
DAG: `make -j5 -n` (GNU make reads the equivalent Makefile and plans every target; process
start included, with the floor of `make -n` on an empty Makefile), and networkx's
`topological_sort` of the plan's graph (ordering alone, no scheduling).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import networkx as nx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_plan  # noqa: E402
from parse_bench import best_wall  # noqa: E402

from pmtui.config.loader import load_config  # noqa: E402
from pmtui.config.model import Config  # noqa: E402
from pmtui.plan.errors import Severity  # noqa: E402
from pmtui.plan.graph import PlanGraph  # noqa: E402
from pmtui.plan.parser import parse_plan  # noqa: E402
from pmtui.plan.validate import validate_plan  # noqa: E402
from pmtui.scheduling.estimates import estimate_tasks  # noqa: E402
from pmtui.scheduling.forecast import Forecast, forecast  # noqa: E402
from pmtui.scheduling.setup import SchedulerSetup  # noqa: E402
from pmtui.scheduling.states import TaskState  # noqa: E402

QUEUE_TASKS = 4_000
QUEUES = (
    ("every task edits one file (file lock)", "- [ ] t{n} Edit (files: CHANGELOG.md)"),
    ("every task is one singleton agent", "- [ ] t{n} Save (agent: state-persistence-agent)"),
)
"""Worst cases for the hold rules: each start, every other task is held by the one running."""
TARGET_TASKS = 10_000
TARGET_S = 1.0
REPEATS = 3
T = TypeVar("T")


def best_of(repeats: int, action: Callable[[], T]) -> tuple[float, T]:
    """The fastest of `repeats` calls, in seconds, and the last call's result."""
    best = float("inf")
    result: T | None = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def default_config() -> Config:
    config, problems = load_config([])
    if config is None:
        raise SystemExit(f"the default config does not load: {problems[:3]}")
    return config


def prepare(text: str, path: str, config: Config, slots: int) -> tuple[PlanGraph, SchedulerSetup]:
    """Plan text to a scheduler setup, as a dry run does it: parse, validate, estimate."""
    plan, parse_problems = parse_plan(text, path)
    graph, problems = validate_plan(plan, agents=config.agents.keys())
    errors = [p for p in [*parse_problems, *problems] if p.severity is Severity.ERROR]
    if errors:
        raise SystemExit(f"the generated plan has errors: {[e.render() for e in errors[:3]]}")
    estimates = estimate_tasks(plan, config)
    return graph, SchedulerSetup.from_config(graph, config, estimates=estimates, max_parallel=slots)


def check_complete(outcome: Forecast, tasks: int) -> None:
    """Every task must have run, once, to `done`: a fast run that skips work is no run."""
    states = outcome.simulation.states
    undone = [task for task, state in states.items() if state is not TaskState.DONE]
    if len(states) != tasks or undone:
        raise SystemExit(f"the simulated run left {len(undone)} tasks undone: {undone[:5]}")
    if len(outcome.simulation.attempts) != tasks:
        raise SystemExit(f"{len(outcome.simulation.attempts)} attempts for {tasks} tasks")


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=TARGET_TASKS, help="plan size")
    parser.add_argument("--seed", type=int, default=1, help="gen_plan seed (default 1)")
    parser.add_argument("--slots", type=int, default=5, help="--max-parallel (default 5)")
    args = parser.parse_args(argv)
    if args.tasks < 1 or args.slots < 1:
        parser.error("--tasks and --slots must be at least 1")
    make = shutil.which("make")
    print(f"python {sys.version.split()[0]} · networkx {nx.__version__} · cpus {os.cpu_count()}")

    phases = gen_plan.generate(args.tasks, args.seed)
    command = f"python bench/gen_plan.py --tasks {args.tasks} --seed {args.seed}"
    text = gen_plan.render_markdown(phases, command)
    config = default_config()

    setup_s, (graph, setup) = best_of(REPEATS, lambda: prepare(text, "plan.md", config, args.slots))
    simulate_s, outcome = best_of(REPEATS, lambda: forecast(graph, setup))
    check_complete(outcome, args.tasks)
    topo_s, _ = best_of(REPEATS, lambda: list(nx.topological_sort(graph.graph)))

    make_s = floor_s = None
    if make:
        with tempfile.TemporaryDirectory(prefix="pmtui-bench-") as tmp:
            folder = Path(tmp)
            (folder / "plan.mk").write_text(gen_plan.render_makefile(phases))
            (folder / "empty.mk").write_text("all:\n")
            make_argv = [make, f"-j{args.slots}", "-n", "-f", "plan.mk", "all"]
            make_s = best_wall(make_argv, REPEATS, folder)
            floor_s = best_wall([make, "-n", "-f", "empty.mk"], REPEATS, folder)

    waits = len(outcome.simulation.waits)
    print(
        f"plan: `{command}` — {args.tasks} tasks, {len(graph.stages)} stages, "
        f"{graph.graph.number_of_edges()} graph edges; {args.slots} slots, boost "
        f"{setup.boost_slots}, strategy {setup.strategy.value}"
    )
    print(
        f"simulated run: makespan {outcome.makespan_s:,.1f} s, lower bound "
        f"{outcome.lower_bound_s:,.1f} s, speed-up ×{outcome.speedup:.2f}, {waits} waits "
        "(compatibility rules of the seed 001 agents)"
    )
    print()

    def row(label: str, seconds: float, extra: str = "") -> None:
        print(f"  {label:<52}{fmt_ms(seconds)}{'   ' + extra if extra else ''}")

    print(f"best of {REPEATS}:")
    row("setup: parse + validate + estimates + SchedulerSetup", setup_s)
    row(
        "simulation: forecast (Scheduler + simulate)",
        simulate_s,
        f"{args.tasks / simulate_s:,.0f} tasks/s",
    )
    row("total", setup_s + simulate_s)
    print("reference, same DAG:")
    row("networkx topological_sort (ordering only)", topo_s)
    if make_s is not None and floor_s is not None:
        floor = f"make -n on an empty file: {fmt_ms(floor_s).strip()}"
        row(f"make -j{args.slots} -n (whole process)", make_s, floor)
    else:
        print("  make -n: make not found on PATH, skipped")
    print(f"queues: {QUEUE_TASKS:,} tasks that can only run one at a time")
    for label, task_line in QUEUES:
        text = "# Plan: queue\n## Phase 1: All\n" + "\n".join(
            task_line.format(n=n) for n in range(QUEUE_TASKS)
        )
        graph, setup = prepare(text, "queue.md", config, args.slots)
        queue_s, queued = best_of(REPEATS, lambda graph=graph, setup=setup: forecast(graph, setup))
        check_complete(queued, QUEUE_TASKS)
        row(label, queue_s, f"{QUEUE_TASKS / queue_s:,.0f} tasks/s")
    print()
    met = simulate_s < TARGET_S
    if args.tasks != TARGET_TASKS:
        print(f"target: not measured ({TARGET_TASKS:,} tasks; this run has {args.tasks:,})")
        return 0
    print(
        f"target: a simulated run of {TARGET_TASKS:,} tasks in under {TARGET_S:g} s — "
        f"{simulate_s:.3f} s: {'MET' if met else 'NOT MET'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
