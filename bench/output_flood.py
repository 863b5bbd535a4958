"""Does pmtui's memory stay flat when its agents flood it with output?

    .venv/bin/python bench/output_flood.py [--sizes 50000,100000,200000] [--agents 8]
        [--quick] [--gate]

For each size it writes, in a temporary folder, a plan of 8 independent tasks, each printing
that many lines as fast as it can (`seq 1 N | sed 's/^/line of output number /'`, about 30
bytes a line), and runs the real CLI as a subprocess: `python -m pmtui run PLAN --no-ui
--json --max-parallel 8`. While it runs, psutil samples the pmtui process itself every 50 ms
(not its agents: they live in their own process groups):

- peak RSS of the pmtui process (MB);
- its CPU time, user + system, read as soon as `run_finished` arrives on its stdout (its
  agents' time, `children_*`, excluded); the kernel's figure for pmtui plus every agent it
  reaped (`os.wait4` rusage) is shown beside it;
- the bytes of the task logs it wrote (`.pmtui/logs/<run>/*.log` in the plan's folder).

The reference runs the same 8 commands 8 at a time with `xargs -P8`, each redirected into
its own file (`sh -c 'CMD > FILE'`: output straight to disk, nothing read by a supervisor):
the wall clock floor of producing and storing that output.

Target: pmtui's peak RSS under 150 MB at every size, and flat: the largest size's peak
≤ 1.2 × the smallest size's + 10 MB. With `--gate` the exit status is 1 when it is missed;
otherwise 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

PYTHON = sys.executable
MB = 1024 * 1024
SAMPLE_S = 0.05
TARGET_RSS_MB = 150.0
FLAT_FACTOR = 1.2
FLAT_SLACK_MB = 10.0
CONFIG = """\
[pool]
default_timeout = "10m"
"""


def flood_command(lines: int) -> str:
    return f"seq 1 {lines} | sed 's/^/line of output number /'"


def render_plan(agents: int, lines: int) -> str:
    out = [f"# Plan: output flood, {agents} agents × {lines} lines", "", "## Phase 1: All"]
    for index in range(agents):
        out += [
            f"- [ ] t{index} Flood {index} (depends: none)",
            "    ```sh",
            f"    {flood_command(lines)}",
            "    ```",
        ]
    return "\n".join(out) + "\n"


@dataclass
class Sample:
    wall_s: float
    peak_rss_mb: float
    cpu_s: float
    cpu_with_agents_s: float
    log_bytes: int
    events: int


def run_pmtui(folder: Path, plan: Path, agents: int) -> Sample:
    """One pmtui run, its pmtui process sampled every 50 ms until it exits."""
    argv = [PYTHON, "-m", "pmtui", "run", str(plan), "--no-ui", "--json"]
    argv += ["--max-parallel", str(agents)]
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    watched = psutil.Process(proc.pid)
    peak = 0
    cpu_s = 0.0
    done = threading.Event()
    lock = threading.Lock()

    def sample() -> None:
        nonlocal peak, cpu_s
        try:
            rss = watched.memory_info().rss
            times = watched.cpu_times()
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            return
        with lock:
            peak = max(peak, rss)
            cpu_s = max(cpu_s, times.user + times.system)

    def sampler() -> None:
        while not done.wait(SAMPLE_S):
            sample()

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    finished: dict[str, object] | None = None
    events = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        if not line.strip():
            continue
        events += 1
        event = json.loads(line)
        if event.get("event") == "run_finished":
            finished = event
            sample()  # CPU and RSS at the end of the run, before the process exits
    done.set()
    thread.join()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0 or finished is None or finished.get("done") != agents:
        raise SystemExit(f"pmtui run exited {proc.returncode}, run_finished {finished}")
    logs = sum(path.stat().st_size for path in (folder / ".pmtui" / "logs").glob("*/*.log"))
    return Sample(
        wall_s=wall,
        peak_rss_mb=peak / MB,
        cpu_s=cpu_s,
        cpu_with_agents_s=usage.ru_utime + usage.ru_stime,
        log_bytes=logs,
        events=events,
    )


def run_xargs(folder: Path, agents: int, lines: int) -> float | None:
    """Wall seconds of the same commands through xargs, each into its own file."""
    xargs = shutil.which("xargs")
    if xargs is None:
        return None
    out = folder / "xargs-out"
    out.mkdir(exist_ok=True)
    commands = "".join(f"{flood_command(lines)} > {out}/t{index}.log\n" for index in range(agents))
    start = time.perf_counter()
    subprocess.run(
        [xargs, f"-P{agents}", "-d", "\n", "-I{}", "sh", "-c", "{}"],
        input=commands.encode(),
        check=True,
    )
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--sizes", default=None, help="lines per agent, comma list (50000,100000,200000)"
    )
    parser.add_argument("--agents", type=int, default=8, help="tasks and slots (default 8)")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (2000,5000)")
    parser.add_argument("--gate", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    sizes_text = args.sizes or ("2000,5000" if args.quick else "50000,100000,200000")
    try:
        sizes = [int(size) for size in sizes_text.split(",") if size.strip()]
    except ValueError:
        parser.error("--sizes takes a comma list of integers")
    if not sizes or min(sizes) < 1 or args.agents < 1:
        parser.error("--sizes and --agents must be at least 1")
    print(
        f"python {sys.version.split()[0]} · psutil {psutil.__version__} · cpus {os.cpu_count()}"
        f" · {args.agents} agents at once, each `{flood_command(0).replace(' 0 ', ' N ')}`"
    )
    print(
        f"  {'lines/agent':>11} {'log MB':>8}   {'peak RSS':>9} {'CPU pmtui':>10}"
        f" {'+agents':>8} {'MB/CPU s':>9}   {'pmtui wall':>10} {'xargs wall':>10} {'ratio':>6}"
    )
    results: list[Sample] = []
    for lines in sizes:
        with tempfile.TemporaryDirectory(prefix="pmtui-bench-flood-") as tmp:
            folder = Path(tmp)
            plan = folder / "plan.md"
            plan.write_text(render_plan(args.agents, lines))
            (folder / "pmtui.toml").write_text(CONFIG)
            subprocess.run(
                [PYTHON, "-m", "pmtui", "check", str(plan)],
                cwd=folder,
                stdout=subprocess.DEVNULL,
                check=True,
            )
            sample = run_pmtui(folder, plan, args.agents)
            xargs_s = run_xargs(folder, args.agents, lines)
        results.append(sample)
        log_mb = sample.log_bytes / MB
        rate = log_mb / sample.cpu_s if sample.cpu_s else float("inf")
        xargs_cells = f"{'—':>10} {'—':>6}"
        if xargs_s is not None:
            xargs_cells = f"{xargs_s:9.2f}s {sample.wall_s / xargs_s:5.1f}×"
        print(
            f"  {lines:>11,} {log_mb:8.1f}   {sample.peak_rss_mb:6.1f} MB {sample.cpu_s:9.2f}s"
            f" {sample.cpu_with_agents_s:7.2f}s {rate:9.1f}   {sample.wall_s:9.2f}s {xargs_cells}"
        )
    print("  (peak RSS and CPU: the pmtui process alone; +agents: pmtui and every agent it reaped)")
    smallest, largest = results[0].peak_rss_mb, results[-1].peak_rss_mb
    peak = max(sample.peak_rss_mb for sample in results)
    flat_limit = FLAT_FACTOR * smallest + FLAT_SLACK_MB
    under = peak < TARGET_RSS_MB
    flat = largest <= flat_limit
    print()
    print(
        f"target: peak RSS < {TARGET_RSS_MB:g} MB — {peak:.1f} MB: {'MET' if under else 'NOT MET'}"
    )
    print(
        f"target: flat, largest size ≤ {FLAT_FACTOR:g} × smallest + {FLAT_SLACK_MB:g} MB "
        f"({flat_limit:.1f} MB) — {largest:.1f} MB: {'MET' if flat else 'NOT MET'}"
    )
    return 1 if args.gate and not (under and flat) else 0


if __name__ == "__main__":
    sys.exit(main())
