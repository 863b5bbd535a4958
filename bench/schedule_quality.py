"""How close does each ready-queue strategy come to the lower bound on random task DAGs?

    .venv/bin/python bench/schedule_quality.py            # full: ~3×3×2×5 DAGs × 5 strategies
    .venv/bin/python bench/schedule_quality.py --quick    # smoke test: small DAGs, 2 seeds
    .venv/bin/python bench/schedule_quality.py --seeds 10 --sizes 50,200 --families trap

For each family of bench/dag_gen.py (`layered`, `stg`, `trap`) × size × slot count × seed,
and for each strategy, it builds a `SchedulerSetup` directly (every task on the read-only
`demo` agent, no files so no locks, `boost_slots = slots` so no boost), runs the dry-run
`forecast` (the real scheduler on a virtual clock, each task taking its estimate) and
records `makespan / lower bound`, the bound being `max(critical path, work / slots)`: 1.000
is optimal, and no schedule does better.

The table shows the mean and worst ratio per row and strategy, then one overall line per
strategy. `fifo` is plan order, what `make -j` and naive orchestrators do: the baseline.
The last column, `textbook`, is not pmtui: a plain list scheduler (HLFET: always start the
ready task with the longest remaining path, plan order on ties) written here in a few lines,
the yardstick for pmtui's `critical-path`. The last line gives every column against a
tighter lower bound (the work that must still be done after each moment, from earliest
starts and from latest finishes), which says how much of a gap is the simple bound's slack
rather than the scheduler's.

Target: `critical-path` mean ≤ 1.01 and worst ≤ 1.03 against the simple bound, over every
DAG. The exit status is 1 when it is missed (the worst DAGs are listed with the command that
regenerates them), 0 otherwise.
"""

from __future__ import annotations

import argparse
import heapq
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import dag_gen  # noqa: E402

from pmtui.config.model import Strategy  # noqa: E402
from pmtui.plan.graph import PlanGraph  # noqa: E402
from pmtui.plan.model import Plan  # noqa: E402
from pmtui.scheduling.forecast import forecast  # noqa: E402
from pmtui.scheduling.setup import SchedulerSetup  # noqa: E402
from pmtui.scheduling.states import TaskState  # noqa: E402

TARGET_MEAN = 1.01
TARGET_WORST = 1.03
TARGET_STRATEGY = Strategy.CRITICAL_PATH
BASELINE = Strategy.FIFO
STRATEGIES = (
    Strategy.CRITICAL_PATH,
    Strategy.DEPENDENCY_FIRST,
    Strategy.COST_FIRST,
    Strategy.PRIORITY,
    Strategy.FIFO,
)
FAMILIES = ("layered", "stg", "trap")
SIZES = (50, 200, 1000)
SLOTS = (5, 8)
SEEDS = 5
QUICK_SIZES = (30, 100)
QUICK_SEEDS = 2
REFERENCE = "textbook"
"""The column of the reference list scheduler (`reference_makespan`)."""
COLUMNS = (*(strategy.value for strategy in STRATEGIES), REFERENCE)
_CELL = 15


@dataclass(frozen=True, slots=True)
class Instance:
    """One generated DAG on one slot count."""

    family: str
    n: int
    slots: int
    seed: int

    def command(self) -> str:
        """The shell command that regenerates this DAG (and prints its bounds)."""
        slots = f" --slots {self.slots}" if self.family == "trap" else ""
        return f"python bench/dag_gen.py {self.family} --tasks {self.n} --seed {self.seed}{slots}"

    def label(self) -> str:
        return f"{self.family} n={self.n} slots={self.slots} seed={self.seed}"


@dataclass(frozen=True, slots=True)
class Result:
    """One strategy on one instance."""

    instance: Instance
    strategy: str
    """A `Strategy` value, or `REFERENCE`."""
    makespan_s: float
    lower_bound_s: float
    tight_bound_s: float

    @property
    def ratio(self) -> float:
        """Makespan over the forecast's bound `max(critical path, work / slots)`."""
        return self.makespan_s / self.lower_bound_s if self.lower_bound_s > 0 else 1.0

    @property
    def tight_ratio(self) -> float:
        """Makespan over the tighter bound (never above `ratio`)."""
        return self.makespan_s / self.tight_bound_s if self.tight_bound_s > 0 else 1.0


def _after_bound(starts: dict[str, float], seconds: dict[str, float], slots: int) -> float:
    """`max over t of t + (work that cannot be done before t) / slots`.

    A task with earliest start `h` and length `p` has at least `min(p, h + p - t)` of its
    work after time `t`; at most `slots × (C - t)` work fits in `[t, C]`. The sum is
    piecewise linear in `t`, so its maximum is at a breakpoint (an `h` or an `h + p`);
    a sweep over them evaluates it in O(n log n).
    """
    events: list[tuple[float, int, str]] = []
    for task, head in starts.items():
        if seconds[task] > 0:
            events.append((head, 0, task))
            events.append((head + seconds[task], 1, task))
    events.sort()
    not_started = sum(seconds[task] for _, kind, task in events if kind == 0)
    active_ends = 0.0  # sum of h + p over tasks running through t
    active = 0
    best = 0.0
    for index, (moment, kind, task) in enumerate(events):
        if kind == 0:
            not_started -= seconds[task]
            active_ends += moment + seconds[task]
            active += 1
        else:
            active_ends -= moment
            active -= 1
        if index + 1 < len(events) and events[index + 1][0] == moment:
            continue  # apply every event at this moment first
        remaining = not_started + active_ends - active * moment
        best = max(best, moment + remaining / slots)
    return best


def tight_lower_bound(graph: PlanGraph, estimates: dict[str, float], slots: int) -> float:
    """A lower bound at least `max(critical path, work / slots)`, from both directions.

    The same argument on the reversed DAG (latest finishes) bounds the work that must be
    done before the end; the larger of the two holds.
    """
    order = graph.topological_tasks()
    seconds = {task: estimates.get(task, 0.0) for task in order}
    heads: dict[str, float] = {}
    for task in order:
        heads[task] = max(
            (heads[dep] + seconds[dep] for dep in graph.dependencies(task)), default=0.0
        )
    tails: dict[str, float] = {}
    for task in reversed(order):
        tails[task] = max(
            (tails[succ] + seconds[succ] for succ in graph.dependents(task)), default=0.0
        )
    work = sum(seconds.values())
    path = max((heads[task] + seconds[task] for task in order), default=0.0)
    return max(
        path,
        work / slots,
        _after_bound(heads, seconds, slots),
        _after_bound(tails, seconds, slots),
    )


def reference_makespan(graph: PlanGraph, estimates: dict[str, float], slots: int) -> float:
    """The makespan of a textbook list scheduler (HLFET), for comparison with pmtui's.

    Whenever a slot is free, start the ready task with the longest remaining path (its own
    estimate included), plan order on ties; every task ending at one instant is counted
    before the slots are filled again.
    """
    order = graph.topological_tasks()
    position = {task: index for index, task in enumerate(graph.tasks)}
    dependents = {task: graph.dependents(task) for task in order}
    remaining_path: dict[str, float] = {}
    for task in reversed(order):
        after = max((remaining_path[succ] for succ in dependents[task]), default=0.0)
        remaining_path[task] = estimates.get(task, 0.0) + after
    waiting = {task: len(graph.dependencies(task)) for task in order}
    ready = [(-remaining_path[task], position[task], task) for task in order if not waiting[task]]
    heapq.heapify(ready)
    running: list[tuple[float, int, str]] = []
    now = 0.0
    while ready or running:
        while ready and len(running) < slots:
            _, _, task = heapq.heappop(ready)
            heapq.heappush(running, (now + estimates.get(task, 0.0), position[task], task))
        now = running[0][0]
        while running and running[0][0] <= now:
            _, _, task = heapq.heappop(running)
            for succ in dependents[task]:
                waiting[succ] -= 1
                if not waiting[succ]:
                    heapq.heappush(ready, (-remaining_path[succ], position[succ], succ))
    return now


def run_instance(instance: Instance, plan: Plan, strategies: Sequence[Strategy]) -> list[Result]:
    """Forecast one DAG under every strategy, plus the textbook reference.

    Fails loudly if a forecast leaves a task undone.
    """
    graph = PlanGraph(plan)
    estimates = dag_gen.estimates_of(plan)
    agents = {task.id: dag_gen.AGENT for task in plan.tasks}
    tight = tight_lower_bound(graph, estimates, instance.slots)
    results = []
    bound = 0.0
    for strategy in strategies:
        setup = SchedulerSetup(
            agents=agents,
            estimates=estimates,
            slots=instance.slots,
            boost_slots=instance.slots,
            strategy=strategy,
        )
        outcome = forecast(graph, setup)
        states = outcome.simulation.states
        undone = [task for task, state in states.items() if state is not TaskState.DONE]
        if undone:
            raise SystemExit(
                f"{instance.label()} {strategy}: {len(undone)} tasks not done, e.g. {undone[:3]}"
                f"\n  regenerate: {instance.command()}"
            )
        bound = outcome.lower_bound_s
        results.append(Result(instance, strategy.value, outcome.makespan_s, bound, tight))
    reference = reference_makespan(graph, estimates, instance.slots)
    results.append(Result(instance, REFERENCE, reference, bound, tight))
    return results


def instances(
    families: Iterable[str], sizes: Iterable[int], slot_counts: Iterable[int], seeds: int
) -> list[Instance]:
    return [
        Instance(family, n, slots, seed)
        for family in families
        for n in sizes
        for slots in slot_counts
        for seed in range(1, seeds + 1)
    ]


def _cell(ratios: Sequence[float]) -> str:
    return f"{statistics.fmean(ratios):.3f} {max(ratios):.3f}".center(_CELL)


def _column_name(column: str) -> str:
    return f"{column} (base)" if column == BASELINE.value else column


def print_table(results: Sequence[Result], columns: Sequence[str], *, tight: bool) -> None:
    """Rows family × n × slots, a `mean worst` cell per column, then the overall lines.

    The cells are against the simple bound, or the tighter one when `tight`; the last line
    is against the other one.
    """

    def ratio(result: Result) -> float:
        return result.tight_ratio if tight else result.ratio

    label_width = 22
    head = "".join(_column_name(column).center(_CELL) for column in columns)
    print(f"{'makespan / lower bound':<{label_width}}│{head}")
    subhead = "".join("mean  worst".center(_CELL) for _ in columns)
    print(f"{'family      n  slots':<{label_width}}│{subhead}")
    rule = "─" * label_width + "┼" + "─" * (_CELL * len(columns))
    print(rule)
    rows: dict[tuple[str, int, int], dict[str, list[float]]] = {}
    for result in results:
        key = (result.instance.family, result.instance.n, result.instance.slots)
        rows.setdefault(key, {}).setdefault(result.strategy, []).append(ratio(result))
    for (family, n, slots), by_column in rows.items():
        cells = "".join(_cell(by_column[column]) for column in columns)
        print(f"{family:<8}{n:>6}{slots:>6}{'':<{label_width - 20}}│{cells}")
    print(rule)
    overall = "".join(
        _cell([ratio(r) for r in results if r.strategy == column]) for column in columns
    )
    print(f"{'overall':<{label_width}}│{overall}")
    for family in dict.fromkeys(result.instance.family for result in results):
        cells = "".join(
            _cell([ratio(r) for r in results if r.strategy == c and r.instance.family == family])
            for c in columns
        )
        print(f"{'  ' + family:<{label_width}}│{cells}")
    other = "".join(
        _cell([r.ratio if tight else r.tight_ratio for r in results if r.strategy == column])
        for column in columns
    )
    print(
        f"{'overall, simple bound' if tight else 'overall, tighter bound':<{label_width}}│{other}"
    )


def _summary(label: str, results: Sequence[Result], tight: bool) -> str:
    def ratio(result: Result) -> float:
        return result.tight_ratio if tight else result.ratio

    worst = max(results, key=ratio)
    return (
        f"{label}: mean {statistics.fmean(map(ratio, results)):.3f}, worst {ratio(worst):.3f} "
        f"({worst.instance.label()})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="small DAGs, 2 seeds (smoke test)")
    parser.add_argument("--seeds", type=int, default=None, help=f"seeds per row (default {SEEDS})")
    parser.add_argument("--sizes", default=None, help="comma list of task counts")
    parser.add_argument("--slots", default=None, help="comma list of slot counts (default 5,8)")
    parser.add_argument("--families", default=None, help=f"comma list of {', '.join(FAMILIES)}")
    parser.add_argument(
        "--bound",
        choices=("simple", "tight"),
        default="simple",
        help="the bound of the table and the target: the forecast's max(critical path, "
        "work / slots) (default), or the tighter one",
    )
    args = parser.parse_args(argv)
    seeds = args.seeds if args.seeds is not None else (QUICK_SEEDS if args.quick else SEEDS)
    sizes = (
        tuple(int(size) for size in args.sizes.split(","))
        if args.sizes
        else (QUICK_SIZES if args.quick else SIZES)
    )
    slot_counts = tuple(int(s) for s in args.slots.split(",")) if args.slots else SLOTS
    families = tuple(args.families.split(",")) if args.families else FAMILIES
    unknown = [family for family in families if family not in dag_gen.FAMILIES]
    if unknown:
        parser.error(f"unknown families {unknown}; choose from {', '.join(FAMILIES)}")
    if seeds < 1 or min(sizes) < 1 or min(slot_counts) < 1:
        parser.error("--seeds, --sizes and --slots must be at least 1")
    tight = args.bound == "tight"

    started = time.perf_counter()
    results: list[Result] = []
    for instance in instances(families, sizes, slot_counts, seeds):
        plan = dag_gen.generate(instance.family, instance.n, instance.seed, instance.slots)
        results.extend(run_instance(instance, plan, STRATEGIES))
    elapsed = time.perf_counter() - started

    dags = len(results) // len(COLUMNS)
    print(
        f"{dags} DAGs ({', '.join(families)}; n = {', '.join(map(str, sizes))}; "
        f"slots = {', '.join(map(str, slot_counts))}; seeds 1–{seeds}) × {len(STRATEGIES)} "
        f"strategies, in {elapsed:.1f} s"
    )
    bound_name = "the tighter lower bound" if tight else "max(critical path, work / slots)"
    print(f"cells: mean and worst of makespan / {bound_name}; 1.000 = optimal")
    print(f"{REFERENCE}: a plain HLFET list scheduler written in this file, not pmtui")
    print()
    print_table(results, COLUMNS, tight=tight)

    def ratio(result: Result) -> float:
        return result.tight_ratio if tight else result.ratio

    target = [r for r in results if r.strategy == TARGET_STRATEGY.value]
    by_key = {(r.instance, r.strategy): r for r in results}
    same = sum(
        1 for r in target if abs(r.makespan_s - by_key[(r.instance, REFERENCE)].makespan_s) < 1e-6
    )
    mean = statistics.fmean(map(ratio, target))
    worst = max(target, key=ratio)
    print()
    print(_summary(f"{TARGET_STRATEGY.value:<14}", target, tight))
    print(_summary(f"{REFERENCE:<14}", [r for r in results if r.strategy == REFERENCE], tight))
    baseline = [r for r in results if r.strategy == BASELINE.value]
    print(_summary(f"{BASELINE.value:<14}", baseline, tight))
    print(f"{TARGET_STRATEGY.value} ends with {REFERENCE} on {same} of {len(target)} DAGs")
    met = mean <= TARGET_MEAN and ratio(worst) <= TARGET_WORST
    print(
        f"target: {TARGET_STRATEGY.value} mean ≤ {TARGET_MEAN:.2f} and worst ≤ "
        f"{TARGET_WORST:.2f} against {bound_name} — mean {mean:.3f}, worst {ratio(worst):.3f}: "
        f"{'MET' if met else 'NOT MET'}"
    )
    if met:
        return 0
    print()
    print(f"{TARGET_STRATEGY.value} missed its target; its worst DAGs:")
    for result in sorted(target, key=ratio, reverse=True)[:8]:
        reference = by_key[(result.instance, REFERENCE)]
        slack = result.tight_bound_s / result.lower_bound_s if result.lower_bound_s else 1.0
        print(
            f"  {ratio(result):.3f} ({REFERENCE} {ratio(reference):.3f}; the tighter bound is "
            f"{slack:.3f} × the simple one)  {result.instance.label()}: makespan "
            f"{result.makespan_s:.1f} s, simple bound {result.lower_bound_s:.1f} s, tighter "
            f"{result.tight_bound_s:.1f} s\n      {result.instance.command()}"
        )
    if not tight and any(r.tight_bound_s > TARGET_WORST * r.lower_bound_s + 1e-9 for r in target):
        print(
            f"note: where the tighter bound is over {TARGET_WORST:.2f} × the simple one, no "
            "schedule at all meets the worst-case target; --bound tight measures the "
            "scheduler rather than the bound"
        )
    return 1


if __name__ == "__main__":
    sys.exit(main())
