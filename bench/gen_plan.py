"""Generate a large, valid pmtui plan (or the equivalent Makefile) for stress tests and benchmarks.

    python bench/gen_plan.py --tasks 300 --seed 1 > demo_plans/stress-300.md
    python bench/gen_plan.py --tasks 10000 --seed 1 --format make > Makefile

The output depends only on `--tasks` and `--seed`. The plan has phases of every kind (plain,
`[PARALLEL]`, `[SEQUENTIAL]`), explicit `(depends: …)` pointing back to earlier tasks (so
it never has a cycle), priorities, estimates of 1–10 s, the `demo` agent or the seed 001
agents, some task bodies and some backticked file paths (one file per task, so no overlap
warnings).

`--format make` writes the same DAG as a GNU Makefile: one target per task whose
prerequisites are what the task waits for, recipe `@true`. A phase barrier ("wait for the
whole previous stage") is one phony `stage-K` target, as pmtui's own graph does it.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, field

SEED_AGENTS = (
    "swebok-engineer",
    "architect-agent",
    "qa-engineer",
    "error-handler",
    "performance-agent",
    "security-agent",
    "compliance-agent",
    "test-fixer-agent",
    "obsidian-test-agent",
    "ui-test-expert",
    "release-agent",
    "state-persistence-agent",
    "meta-agent",
    "agent-factory",
    "product-manager",
    "babok-agent",
    "ux-researcher",
    "technical-stabilization",
    "monitoring",
    "rollback",
    "alerts",
)
_VERBS = (
    "Refactor", "Document", "Test", "Profile", "Review", "Implement", "Migrate", "Audit",
    "Benchmark", "Harden", "Simplify", "Instrument", "Validate", "Port", "Cache",
)  # fmt: skip
_NOUNS = (
    "billing module", "search index", "login flow", "export job", "rate limiter",
    "settings page", "audit log", "email sender", "session store", "report builder",
    "upload handler", "webhook client", "feature flags", "retry policy", "metrics exporter",
)  # fmt: skip
_PHASE_NAMES = (
    "Discovery", "Design", "Build", "Hardening", "Integration", "Verification", "Docs",
    "Performance", "Cleanup", "Release prep", "Rollout", "Follow-up",
)  # fmt: skip
_DEPENDS_WINDOW = 200
"""Explicit dependencies are drawn from the last this-many tasks, so the DAG stays local."""


@dataclass
class GenTask:
    id: str
    title: str
    agent: str
    priority: str | None
    estimate: str
    depends: list[str] | None  # None: the phase barrier; []: (depends: none)
    file: str | None
    body: str | None


@dataclass
class GenPhase:
    number: int
    name: str
    mode: str  # "", "PARALLEL" or "SEQUENTIAL"
    tasks: list[GenTask] = field(default_factory=list)


def generate(tasks: int, seed: int) -> list[GenPhase]:
    """The phases of a plan with exactly `tasks` tasks; the same for the same seed."""
    if tasks < 1:
        raise ValueError("--tasks must be at least 1")
    rng = random.Random(seed)
    phases: list[GenPhase] = []
    earlier: list[str] = []
    made = 0
    while made < tasks:
        number = len(phases) + 1
        roll = rng.random()
        mode = "" if number == 1 or roll < 0.6 else ("PARALLEL" if roll < 0.85 else "SEQUENTIAL")
        size = rng.randint(3, 8) if mode == "SEQUENTIAL" else rng.randint(4, 30)
        size = min(size, tasks - made)
        phase = GenPhase(number, _PHASE_NAMES[(number - 1) % len(_PHASE_NAMES)], mode)
        for position in range(1, size + 1):
            task_id = f"{number}.{position}"
            phase.tasks.append(_task(rng, task_id, earlier))
            earlier.append(task_id)
        phases.append(phase)
        made += size
    return phases


def _task(rng: random.Random, task_id: str, earlier: list[str]) -> GenTask:
    depends: list[str] | None = None
    if earlier and rng.random() < 0.35:
        window = earlier[-_DEPENDS_WINDOW:]
        picked = rng.sample(window, min(len(window), rng.randint(1, 3)))
        depends = sorted(picked, key=lambda task: tuple(int(part) for part in task.split(".")))
    elif earlier and rng.random() < 0.02:
        depends = []
    roll = rng.random()
    priority = (
        "critical" if roll < 0.02 else "high" if roll < 0.2 else "low" if roll < 0.32 else None
    )
    tenths = rng.random() < 0.2
    estimate = f"{rng.randint(10, 99) / 10:g}s" if tenths else f"{rng.randint(1, 10)}s"
    agent = "demo" if rng.random() < 0.5 else rng.choice(SEED_AGENTS)
    slug = task_id.replace(".", "_")
    file = f"src/gen/mod_{slug}.py" if rng.random() < 0.25 else None
    body = None
    if rng.random() < 0.15:
        body = f"Generated task {task_id}: keep the change small and add a test for it."
    title = f"{rng.choice(_VERBS)} the {rng.choice(_NOUNS)}"
    return GenTask(task_id, title, agent, priority, estimate, depends, file, body)


def render_markdown(phases: list[GenPhase], command: str) -> str:
    """The plan as pmtui Markdown, with a comment saying how it was generated."""
    total = sum(len(phase.tasks) for phase in phases)
    lines = [
        f"<!-- Generated by `{command}`; do not edit by hand, regenerate it. -->",
        f"# Plan: Stress test with {total} generated tasks",
        "",
        f"Generated by `{command}` (deterministic for a seed).",
        "",
    ]
    for phase in phases:
        marker = f" [{phase.mode}]" if phase.mode else ""
        lines.append(f"## Phase {phase.number}: {phase.name}{marker}")
        for task in phase.tasks:
            title = task.title + (f" in `{task.file}`" if task.file else "")
            keys = [f"(agent: {task.agent})"]
            if task.depends is not None:
                keys.append(f"(depends: {', '.join(task.depends) or 'none'})")
            if task.priority:
                keys.append(f"(priority: {task.priority})")
            keys.append(f"(estimate: {task.estimate})")
            lines.append(f"- [ ] {task.id} {title} {' '.join(keys)}")
            if task.body:
                lines.append(f"    {task.body}")
        lines.append("")
    return "\n".join(lines)


def render_makefile(phases: list[GenPhase]) -> str:
    """The same DAG as a Makefile: a target per task, a phony `stage-K` per barrier."""
    stages: list[list[GenPhase]] = []
    for phase in phases:
        if phase.mode == "PARALLEL" and stages:
            stages[-1].append(phase)
        else:
            stages.append([phase])
    every = [task.id for phase in phases for task in phase.tasks]
    lines = [
        "# Generated by bench/gen_plan.py --format make: the plan's DAG as make targets.",
        ".PHONY: all " + " ".join(f"stage-{k}" for k in range(len(stages))),
        "all: " + " ".join(every),
        "",
    ]
    previous: list[str] = []
    for number, stage in enumerate(stages):
        stage_ids: list[str] = []
        used_barrier = False
        for phase in stage:
            above: str | None = None
            for task in phase.tasks:
                prerequisites: list[str] = []
                if task.depends is None:
                    if previous:
                        prerequisites.append(f"stage-{number}")
                        used_barrier = True
                else:
                    prerequisites.extend(task.depends)
                if phase.mode == "SEQUENTIAL" and above is not None and above not in prerequisites:
                    prerequisites.append(above)
                lines.append(f"{task.id}: {' '.join(prerequisites)}".rstrip())
                lines.append("\t@true")
                stage_ids.append(task.id)
                above = task.id
        if used_barrier:
            lines.append(f"stage-{number}: {' '.join(previous)}")
        previous = stage_ids
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=300, help="number of tasks (default 300)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--format", choices=("markdown", "make"), default="markdown", help="what to print"
    )
    args = parser.parse_args(argv)
    if args.tasks < 1:
        parser.error("--tasks must be at least 1")
    phases = generate(args.tasks, args.seed)
    if args.format == "make":
        sys.stdout.write(render_makefile(phases))
    else:
        command = f"python bench/gen_plan.py --tasks {args.tasks} --seed {args.seed}"
        sys.stdout.write(render_markdown(phases, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
