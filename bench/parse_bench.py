"""How fast does pmtui parse, validate and summarise a plan, next to GNU make on the same DAG?

    .venv/bin/python bench/parse_bench.py [--sizes 100,1000,10000] [--seed 1]

For each size it generates a plan with bench/gen_plan.py and the equivalent Makefile (one
target per task, prerequisites = what the task waits for, recipe `@true`), then measures:

- in-process: `load_project(path)` + `render_summary(project)`, best of a few repeats
  (imports already paid);
- whole process: `pmtui check FILE`, best of 3 (interpreter start-up and imports included);
- the reference: `make -n -f Makefile all` (make parses and plans the same DAG), best of 3;
- the floors: `python -c pass` and `make -n` on an empty Makefile.

It then says whether the target "10,000 tasks parsed, validated and summarized in under 1 s"
is met, and whether `pmtui check` imports textual (it must not). A benchmark, not a test:
nothing here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import gen_plan  # noqa: E402

from pmtui.plan.parser import parse_plan  # noqa: E402
from pmtui.plan.validate import validate_plan  # noqa: E402
from pmtui.project import load_project  # noqa: E402
from pmtui.report.check import render_summary  # noqa: E402

TARGET_TASKS = 10_000
TARGET_S = 1.0


def _pmtui_command() -> list[str]:
    script = Path(sys.executable).with_name("pmtui")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "pmtui"]


def best_wall(argv: list[str], repeats: int = 3, cwd: Path | None = None) -> float:
    """The fastest of `repeats` runs of a command, in seconds; fails loudly on a bad exit."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = subprocess.run(
            argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
        )
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(
                f"{' '.join(argv)} exited {result.returncode}:\n{result.stderr.decode()[-2000:]}"
            )
        best = min(best, elapsed)
    return best


def best_in_process(path: Path, repeats: int) -> tuple[float, int]:
    """Best time of load_project + render_summary, and the number of tasks parsed."""
    best = float("inf")
    tasks = 0
    for _ in range(repeats):
        start = time.perf_counter()
        project = load_project(path)
        render_summary(project)
        elapsed = time.perf_counter() - start
        if not project.ok:
            raise SystemExit(f"{path}: generated plan has errors: {project.errors[:3]}")
        assert project.plan is not None
        tasks = len(project.plan.tasks)
        best = min(best, elapsed)
    return best, tasks


def breakdown(path: Path, repeats: int = 3) -> tuple[float, float, float]:
    """Best seconds of each step on its own: parse, validate (graph + checks), summary."""
    project = load_project(path)
    assert project.config is not None
    text = path.read_text(encoding="utf-8")
    parse = validate = summary = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        plan, _ = parse_plan(text, str(path))
        parsed = time.perf_counter()
        validate_plan(plan, agents=project.config.agents.keys())
        validated = time.perf_counter()
        render_summary(project)
        done = time.perf_counter()
        parse = min(parse, parsed - start)
        validate = min(validate, validated - parsed)
        summary = min(summary, done - validated)
    return parse, validate, summary


def textual_imported_by_check(plan: Path) -> tuple[bool, list[str]]:
    """Run `pmtui check` in a fresh interpreter and list the textual modules it imported."""
    code = (
        "import sys\n"
        "from pmtui.cli import main\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['check', {str(plan)!r}])\n"
        "found = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(code, ' '.join(found))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    modules = out[1:]
    return bool(modules), modules


def import_time_top(limit: int = 5) -> tuple[float, list[tuple[float, str]]]:
    """`python -X importtime -c 'import pmtui.cli'`: its total ms, and the slowest packages.

    The packages are the top-level names (no dot, not pmtui) by cumulative import time.
    """
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import pmtui.cli"],
        capture_output=True,
        text=True,
        check=True,
    )
    total_ms = 0.0
    packages: dict[str, float] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        parts = line[len("import time:") :].split("|")
        cumulative_ms = int(parts[1]) / 1000
        name = parts[2].strip()
        if name in ("pmtui", "pmtui.cli"):
            total_ms += cumulative_ms
        elif "." not in name and not name.startswith("pmtui"):
            packages[name] = max(packages.get(name, 0.0), cumulative_ms)
    slowest = sorted(((ms, name) for name, ms in packages.items()), reverse=True)
    return total_ms, slowest[:limit]


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms" if seconds < 10 else f"{seconds:8.2f} s "


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="comma list of task counts")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    make = shutil.which("make")

    print(f"python {sys.version.split()[0]} · {sys.executable}")
    print(f"make   {_make_version(make)}")
    print(f"cpus   {os.cpu_count()}")
    print()

    with tempfile.TemporaryDirectory(prefix="pmtui-bench-") as tmp:
        folder = Path(tmp)
        (folder / "empty.mk").write_text("all:\n")
        # The generated plans name seed roles (swebok-engineer…): run them as the simulated
        # agent, or `pmtui check` reports each role as having no agent to run as.
        (folder / "pmtui.toml").write_text('[pool]\ndefault_agent = "demo"\n')
        floor_python = best_wall([sys.executable, "-c", "pass"], repeats=5)
        floor_make = best_wall([make, "-n", "-f", "empty.mk"], 5, folder) if make else None

        rows = []
        for size in sizes:
            phases = gen_plan.generate(size, args.seed)
            plan = folder / f"plan-{size}.md"
            plan.write_text(gen_plan.render_markdown(phases, f"gen_plan --tasks {size}"))
            makefile = folder / f"plan-{size}.mk"
            makefile.write_text(gen_plan.render_makefile(phases))

            repeats = 10 if size <= 1000 else 3
            in_process, tasks = best_in_process(plan, repeats)
            whole = best_wall([*_pmtui_command(), "check", str(plan)], 3)
            make_s = None
            if make:
                make_s = best_wall([make, "-n", "-f", makefile.name, "all"], 3, folder)
            rows.append((size, tasks, in_process, whole, make_s))

        largest = max(sizes)
        steps = breakdown(folder / f"plan-{largest}.md")
        textual, textual_modules = textual_imported_by_check(folder / f"plan-{sizes[0]}.md")

    print("size      tasks   pmtui in-proc   pmtui check   make -n        check/make  in-proc/make")
    print("-" * 92)
    for size, tasks, in_process, whole, make_s in rows:
        ratio_whole = f"{whole / make_s:8.1f}×" if make_s else "     n/a"
        ratio_in = f"{in_process / make_s:8.1f}×" if make_s else "     n/a"
        make_text = fmt_s(make_s) if make_s is not None else "       n/a"
        print(
            f"{size:>6}  {tasks:>7}  {fmt_s(in_process)}     {fmt_s(whole)}   {make_text}"
            f"   {ratio_whole}    {ratio_in}"
        )
    print("-" * 92)
    parse_s, validate_s, summary_s = steps
    print(
        f"in-process at {largest} tasks, step by step: parse {parse_s * 1000:.0f} ms, "
        f"validate {validate_s * 1000:.0f} ms, summary {summary_s * 1000:.0f} ms"
    )
    print(f"floor: python -c pass       {fmt_s(floor_python)}")
    if floor_make is not None:
        print(f"floor: make -n (empty file) {fmt_s(floor_make)}")
    print()

    target = [row for row in rows if row[0] == TARGET_TASKS]
    if target:
        _, _, in_process, whole, _ = target[0]
        print(
            f"target: {TARGET_TASKS:,} tasks parsed, validated and summarized in under "
            f"{TARGET_S:g} s —"
        )
        for label, seconds in (("in-process   ", in_process), ("whole process", whole)):
            print(f"  {label} {seconds:.3f} s  {'MET' if seconds < TARGET_S else 'NOT MET'}")
    else:
        print(f"target: not measured (add {TARGET_TASKS} to --sizes)")

    total_ms, slowest = import_time_top()
    print()
    print(
        f"imports: `import pmtui.cli` takes {total_ms:.0f} ms (python -X importtime); "
        "slowest packages it pulls in:"
    )
    for ms, name in slowest:
        print(f"  {ms:7.1f} ms  {name}")
    if textual:
        print(f"textual imported by `pmtui check`: YES (bad: {', '.join(textual_modules[:5])} …)")
    else:
        print("textual imported by `pmtui check`: no (good)")
    return 0


def _make_version(make: str | None) -> str:
    if make is None:
        return "not found (the make column is skipped)"
    out = subprocess.run([make, "--version"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else make


if __name__ == "__main__":
    sys.exit(main())
