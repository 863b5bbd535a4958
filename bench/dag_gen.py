"""Seeded random task DAGs, as pmtui plans, for the scheduling benchmarks.

    .venv/bin/python bench/dag_gen.py layered --tasks 200 --seed 1   # a summary of one DAG

Imported by bench/schedule_quality.py and bench/schedule_speed.py (bench is not a package:
they put this folder on `sys.path`). Each generator returns a `pmtui.plan.model.Plan` built
directly from its dataclasses: one plain phase, every task with an explicit `depends` tuple
(so no phase barrier), an `estimate_s`, the `demo` agent, no files (so no file locks), ids
`t0`, `t1`, … in plan order. A dependency always points to a task earlier in the plan, so
the plans are acyclic. The same arguments always give the same plan.

- `layered`: random layers of random widths; each task waits for 1–3 tasks of earlier
  layers (mostly the layer just above); skewed (lognormal) durations of 1–100 s.
- `stg_like`: in the spirit of Kasahara's Standard Task Graph set — each node picks 0–4
  predecessors among recent earlier nodes, integer durations 1–10 s.
- `trap`: the worst plan order for `fifo`: many short independent tasks (1–3 s) listed
  first, then a few long chains listed last, each chain a little over `total work / slots`,
  so only a schedule that starts the chains at once reaches the lower bound.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections.abc import Callable, Sequence

from pmtui.plan.model import Phase, PhaseMode, Plan, Task, TaskSource

AGENT = "demo"
_TASK_LINE_OFFSET = 3
"""Line of the first task in the (virtual) plan file: title, blank line, phase heading."""

_SHORT_MAX_S = 3
"""The longest short task of `trap`, in seconds."""


def estimates_of(plan: Plan) -> dict[str, float]:
    """The estimate of every task of a plan, by id (0 for a task without one)."""
    return {task.id: task.estimate_s or 0.0 for task in plan.tasks}


def _plan(name: str, n: int, seed: int, specs: Sequence[tuple[tuple[int, ...], float]]) -> Plan:
    """A one-phase plan from `(dependency indexes, seconds)` per task, in plan order."""
    tasks = tuple(
        Task(
            id=f"t{index}",
            title=f"{name} task {index}",
            phase=0,
            source=TaskSource(line=_TASK_LINE_OFFSET + index, id_col=7),
            agent=AGENT,
            depends=tuple(f"t{dependency}" for dependency in sorted(depends)),
            estimate_s=seconds,
        )
        for index, (depends, seconds) in enumerate(specs)
    )
    phase = Phase(number="1", title=name, mode=PhaseMode.STAGED, line=2, tasks=tasks)
    return Plan(
        path=f"{name}-{n}-seed{seed}.md",
        title=f"{name} DAG, {n} tasks, seed {seed}",
        phases=(phase,),
        tasks=tasks,
    )


def _check_size(n: int) -> None:
    if n < 1:
        raise ValueError("a plan needs at least 1 task")


def layered(n: int, seed: int) -> Plan:
    """Random layers of random widths (1…2√n); each task waits for 1–3 earlier tasks.

    A dependency comes from the layer just above with probability 0.7, else from any earlier
    layer. Durations are lognormal (median ≈ 5 s), clamped to 1–100 s, rounded to 0.1 s.
    """
    _check_size(n)
    rng = random.Random(f"layered-{n}-{seed}")
    max_width = max(2, round(2 * math.sqrt(n)))
    specs: list[tuple[tuple[int, ...], float]] = []
    layers: list[range] = []
    while len(specs) < n:
        width = min(rng.randint(1, max_width), n - len(specs))
        layer = range(len(specs), len(specs) + width)
        for _ in layer:
            depends: set[int] = set()
            if layers:
                for _ in range(rng.randint(1, 3)):
                    source = layers[-1] if rng.random() < 0.7 else rng.choice(layers)
                    depends.add(rng.choice(source))
            seconds = round(min(100.0, max(1.0, rng.lognormvariate(math.log(5.0), 1.0))), 1)
            specs.append((tuple(depends), seconds))
        layers.append(layer)
    return _plan("layered", n, seed, specs)


def stg_like(n: int, seed: int) -> Plan:
    """A random DAG after the Standard Task Graph set: fan-in 0–4, durations 1–10 s.

    Node `j` takes each of its predecessors uniformly from the `window` nodes before it,
    where the window (between 8 and n/4) is drawn once per graph: a narrow window gives a
    deep graph (bound by the critical path), a wide one a shallow graph (bound by the work).
    """
    _check_size(n)
    rng = random.Random(f"stg-{n}-{seed}")
    window = rng.randint(8, max(8, n // 4))
    fan_in_weights = (0.1, 0.3, 0.3, 0.2, 0.1)  # 0, 1, 2, 3 or 4 predecessors
    specs: list[tuple[tuple[int, ...], float]] = []
    for index in range(n):
        fan_in = rng.choices(range(len(fan_in_weights)), fan_in_weights)[0]
        earlier = range(max(0, index - window), index)
        depends = tuple(rng.sample(earlier, min(fan_in, len(earlier))))
        specs.append((depends, float(rng.randint(1, 10))))
    return _plan("stg", n, seed, specs)


def trap(n: int, seed: int, slots: int = 5) -> Plan:
    """Short independent tasks first, a few long chains last: `fifo`'s worst case.

    About 80 % of the tasks are short (1–3 s) and independent. The rest form 2 or 3 chains
    (at most `slots - 1`), listed after every short task, each `short work / (slots - chains)
    + 3 s` long: every chain is then a little over `total work / slots`, and the critical
    path is the lower bound. It is reachable — start the chains at once and pack the short
    tasks longest first into the other slots — but only by a scheduler that looks past plan
    order: `fifo` starts the chains last and ends near `work / slots + chain`.
    """
    _check_size(n)
    rng = random.Random(f"trap-{n}-{seed}-{slots}")
    wanted_chains = rng.randint(2, 3)
    chain_tasks = min(n - 1, max(2, round(0.2 * n)))  # 0 for a single task
    chains = max(1, min(wanted_chains, slots - 1, chain_tasks // 2)) if chain_tasks else 0
    short_count = n - chain_tasks
    specs: list[tuple[tuple[int, ...], float]] = [
        ((), float(rng.randint(1, _SHORT_MAX_S))) for _ in range(short_count)
    ]
    short_work = sum(seconds for _, seconds in specs)
    chain_length = short_work / max(1, slots - chains) + _SHORT_MAX_S if short_work else 10.0
    for chain in range(chains):
        size = chain_tasks // chains + (1 if chain < chain_tasks % chains else 0)
        weights = [rng.uniform(0.5, 1.5) for _ in range(size)]
        total = sum(weights)
        previous: int | None = None
        for weight in weights:
            seconds = max(0.1, round(chain_length * weight / total, 1))
            specs.append(((previous,) if previous is not None else (), seconds))
            previous = len(specs) - 1
    return _plan("trap", n, seed, specs)


FAMILIES: dict[str, Callable[..., Plan]] = {"layered": layered, "stg": stg_like, "trap": trap}
"""Every generator by family name; `trap` also takes `slots`."""


def generate(family: str, n: int, seed: int, slots: int = 5) -> Plan:
    """The plan of a family by name; `slots` only shapes `trap`."""
    if family == "trap":
        return trap(n, seed, slots)
    return FAMILIES[family](n, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("family", choices=sorted(FAMILIES))
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--slots", type=int, default=5, help="shapes the trap family only")
    args = parser.parse_args(argv)
    plan = generate(args.family, args.tasks, args.seed, args.slots)
    estimates = estimates_of(plan)
    finish: dict[str, float] = {}
    for task in plan.tasks:
        start = max((finish[dependency] for dependency in task.depends or ()), default=0.0)
        finish[task.id] = start + estimates[task.id]
    work = sum(estimates.values())
    edges = sum(len(task.depends or ()) for task in plan.tasks)
    print(f"{plan.title}: {edges} edges, work {work:g} s, critical path {max(finish.values()):g} s")
    print(f"work / {args.slots} slots = {work / args.slots:g} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
