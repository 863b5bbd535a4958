"""Does the monitor keep up when agents flood it, and stay idle when they are quiet?

    .venv/bin/python bench/ui_flood.py [--seconds 20] [--agents 8] [--quick] [--gate]

The real monitor (`PmtuiApp`, headless through Textual's `run_test` at 200x60) over a real
run: `--agents` shell tasks each printing `::progress::` lines as fast as they can for
`--seconds` (every line is a `task_progress` event), then the same number of quiet tasks
that only sleep. It measures, in this one process (engine and UI together, as in `pmtui run`):

- start to first frame: a fresh interpreter importing what the monitor needs, plus the
  time from creating the app to the monitor's first drawing;
- frames per second while flooded: the monitor's redraws (headless, Textual paints no
  terminal, so a frame here is the monitor and table updated from the view);
- event-to-screen latency: from an event's arrival to the next frame, p50 and p99 (the
  monitor redraws at most every 0.25 s on its own: this is that throttle at work);
- key-to-screen latency while flooded: `b` (boost) pressed 20 times, each until a frame
  shows the new slot count, p50 and p99 (a key redraws at once);
- CPU of the process, percent of one core, flooded and quiet.

Targets: key to screen under 100 ms p99 while flooded; under 20 % of one core when quiet;
first frame under 1 s. `--gate`: exit 1 when one is missed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import psutil

from pmtui.engine.control import RunControl
from pmtui.engine.events import Event, RunFinished
from pmtui.engine.runner import run_plan
from pmtui.project import load_project
from pmtui.report.view import RunView, plan_tasks
from pmtui.ui.app import PmtuiApp
from pmtui.ui.themes import Glyphs
from pmtui.ui.widgets.monitor import Monitor

KEY_PRESSES = 20
TARGET_KEY_P99_MS = 100.0
TARGET_QUIET_CPU = 20.0
TARGET_FIRST_FRAME_S = 1.0

FLOOD = 'i=0; while [ ! -e stop ]; do i=$((i+1)); echo "::progress::$((i % 100)) step $i"; done'
"""Progress lines as fast as a shell loop prints them, until the benchmark says stop."""
QUIET = "while [ ! -e done ]; do sleep 0.2; done"
"""An agent that is alive but silent, until the benchmark says done."""


def plan_text(agents: int) -> str:
    lines = ["# Plan: ui flood", "", "## Phase 1: Flood"]
    for index in range(agents):
        lines += [f"- [ ] f{index} Flood {index} (depends: none)", "    ```sh"]
        lines += ["    " + FLOOD, "    ```"]
    for index in range(agents):
        lines += [f"- [ ] q{index} Quiet {index} (depends: f{index})", "    ```sh"]
        lines += ["    " + QUIET, "    ```"]
    return "\n".join(lines) + "\n"


def stage(name: str) -> None:
    """Say where the benchmark is (on stderr), so a stall shows where it is."""
    print(f"  … {name}", file=sys.stderr, flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def measure(folder: Path, agents: int, seconds: int) -> dict[str, float]:
    (folder / "plan.md").write_text(plan_text(agents))
    (folder / "pmtui.toml").write_text(
        f"[pool]\nmax_concurrent = {agents}\nemergency_boost = {agents + 2}\n"
    )
    project = load_project(folder / "plan.md")
    assert project.ok and project.plan is not None and project.config is not None
    setup = project.scheduler_setup()
    view = RunView(plan_tasks(project.plan, project.config, setup.estimates))
    control = RunControl()
    frames: list[float] = []
    slots_shown: list[tuple[float, int]] = []
    """(time, slots) of each frame: when a boost first showed."""
    pending: list[float] = []  # arrival times of events not yet on screen
    latencies: list[float] = []
    flooding = {"on": True}

    original_update = Monitor.update_from

    def update_from(self: Monitor, shown: RunView, now: float) -> None:
        at = time.perf_counter()
        frames.append(at)
        slots_shown.append((at, shown.slots))
        if flooding["on"]:
            latencies.extend(at - t for t in pending)
        pending.clear()
        original_update(self, shown, now)

    Monitor.update_from = update_from  # type: ignore[method-assign]

    async def engine(emit: Callable[[Event], None]) -> RunFinished:
        def timed(event: Event) -> None:
            pending.append(time.perf_counter())
            emit(event)

        return await run_plan(
            project,
            emit=timed,
            workdir=folder,
            run_id="bench",
            log_dir=folder / "logs",
            control=control,
            setup=setup,
        )

    created = time.perf_counter()
    app = PmtuiApp(view, glyphs=Glyphs(), control=control, engine=engine)
    me = psutil.Process()
    results: dict[str, float] = {}
    try:
        async with app.run_test(size=(200, 60)) as pilot:
            while not frames:
                await pilot.pause(0.01)
            results["first_frame_s"] = frames[0] - created
            stage("first frame")
            while not view.running():
                await pilot.pause(0.05)
            stage("agents running")
            flood_start, cpu_start = time.perf_counter(), me.cpu_times()
            frames_at_start = len(frames)
            keys: list[float] = []
            for _ in range(KEY_PRESSES):
                wanted = setup.slots if view.slots > setup.slots else setup.boost_slots
                pressed = time.perf_counter()
                # As a terminal would: the key arrives, nobody waits for the app to be idle
                # (Pilot's press does, and a flooded app seldom is).
                app.simulate_key("b")
                with anyio.move_on_after(5):
                    while view.slots != wanted:
                        await pilot.pause(0.001)
                shown_at = next(
                    (at for at, slots in slots_shown if at >= pressed and slots == wanted), None
                )
                keys.append((shown_at or time.perf_counter()) - pressed)
                stage(f"key {len(keys)}: {keys[-1] * 1000:.0f} ms")
                await pilot.pause(seconds / KEY_PRESSES)
            (folder / "stop").touch()
            while any(task.id.startswith("f") and not task.final for task in view.tasks):
                await pilot.pause(0.05)
            flood_wall = time.perf_counter() - flood_start
            stage("flood over")
            cpu = me.cpu_times()
            results["flood_cpu_pct"] = (
                100 * (cpu.user + cpu.system - cpu_start.user - cpu_start.system) / flood_wall
            )
            results["fps"] = (len(frames) - frames_at_start) / flood_wall
            results["events_per_s"] = len(latencies) / flood_wall
            results["event_p50_ms"] = 1000 * percentile(latencies, 0.5)
            results["event_p99_ms"] = 1000 * percentile(latencies, 0.99)
            results["key_p50_ms"] = 1000 * percentile(keys, 0.5)
            results["key_p99_ms"] = 1000 * percentile(keys, 0.99)
            flooding["on"] = False
            while len(view.running()) < agents:
                await pilot.pause(0.05)
            await pilot.pause(1.0)  # the quiet tasks settle
            quiet_start, cpu_start = time.perf_counter(), me.cpu_times()
            await pilot.pause(min(5.0, seconds / 2))
            quiet_wall = time.perf_counter() - quiet_start
            cpu = me.cpu_times()
            results["quiet_cpu_pct"] = (
                100 * (cpu.user + cpu.system - cpu_start.user - cpu_start.system) / quiet_wall
            )
            (folder / "done").touch()
            while app.finished is None:
                await pilot.pause(0.05)
    finally:
        Monitor.update_from = original_update  # type: ignore[method-assign]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=None, help="flood for this long")
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--gate", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    seconds = args.seconds or (3 if args.quick else 20)
    imports = [sys.executable, "-c", "import pmtui.cli, pmtui.ui.live"]
    started = time.perf_counter()
    subprocess.run(imports, check=True)
    import_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="pmtui-bench-ui-") as tmp:
        results = anyio.run(measure, Path(tmp), args.agents, seconds)
    results["first_frame_s"] += import_s
    print(f"python {sys.version.split()[0]} · {args.agents} agents flooding for {seconds}s")
    print(
        f"  start to first frame          {results['first_frame_s'] * 1000:8.0f} ms"
        f"   (of which starting Python and importing: {import_s * 1000:.0f} ms)"
    )
    print(f"  frames per second (flooded)   {results['fps']:8.1f}")
    print(f"  events per second (flooded)   {results['events_per_s']:8.0f}")
    print(
        f"  event to screen               p50 {results['event_p50_ms']:6.1f} ms"
        f"   p99 {results['event_p99_ms']:6.1f} ms"
    )
    print(
        f"  key to screen (flooded)       p50 {results['key_p50_ms']:6.1f} ms"
        f"   p99 {results['key_p99_ms']:6.1f} ms"
    )
    flooded, quiet = results["flood_cpu_pct"], results["quiet_cpu_pct"]
    print(f"  CPU, % of one core: flooded {flooded:5.1f}   quiet {quiet:5.1f}")
    checks = [
        ("key to screen p99 < 100 ms", results["key_p99_ms"] < TARGET_KEY_P99_MS),
        ("quiet CPU < 20 % of a core", results["quiet_cpu_pct"] < TARGET_QUIET_CPU),
        ("first frame < 1 s", results["first_frame_s"] < TARGET_FIRST_FRAME_S),
    ]
    for name, met in checks:
        print(f"target: {name}: {'MET' if met else 'NOT MET'}")
    return 1 if args.gate and not all(met for _, met in checks) else 0


if __name__ == "__main__":
    raise SystemExit(main())
