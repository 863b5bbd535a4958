"""A live run: drives the scheduler with real attempts (DESIGN.md §5).

One anyio task group holds every attempt. The loop asks the scheduler what to do
(`Scheduler.decide`), carries out its decisions (start an attempt, stop one) and passes its
notices on as events; it sleeps until something happens: an attempt ends, a back-off is
over (`next_wakeup`), the one-second resource tick, or an abort. No busy polling.

Not yet here: worktrees and merges, the estimated progress bar of silent agents, the CPU
saturation gate, pause/boost/skip commands from a front end.
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.abc
import anyio.to_thread

from pmtui.engine.events import Event, RunFinished, RunStarted, TaskProgress, from_notice
from pmtui.engine.process import (
    AttemptResult,
    AttemptSpec,
    StopRequest,
    parse_progress,
    render_argv,
    run_attempt,
)
from pmtui.engine.resources import GroupSampler, machine_sample, over_memory
from pmtui.project import Project
from pmtui.scheduling import decisions
from pmtui.scheduling.decisions import Outcome
from pmtui.scheduling.scheduler import Scheduler

TICK_S = 1.0
"""Seconds between resource samples (memory per group, available memory)."""

DEMO_MODULE = "pmtui.agents.demo"


@dataclass
class _Attempt:
    """One running attempt, as the loop knows it."""

    task: str
    stop: StopRequest
    pgid: int | None = None
    rate_limited: bool = False
    on_line: Callable[[str], None] | None = None
    on_start: Callable[[int], None] | None = None


@dataclass
class _Waker:
    """Wakes the loop: `poke` sets the event the loop is waiting on now."""

    event: anyio.Event = field(default_factory=anyio.Event)

    def poke(self) -> None:
        self.event.set()

    def renew(self) -> anyio.Event:
        self.event = anyio.Event()
        return self.event


async def run_plan(
    project: Project,
    *,
    max_parallel: int | None = None,
    fail_fast: bool = False,
    emit: Callable[[Event], None],
    workdir: Path,
    run_id: str,
    log_dir: Path,
    abort: anyio.Event | None = None,
    tick_s: float = TICK_S,
) -> RunFinished:
    """Run a validated plan to its end and return its `RunFinished` event (also emitted).

    Args:
        project: A project whose `ok` is true.
        max_parallel: `--max-parallel`.
        fail_fast: `--fail-fast`.
        emit: Receives every event, in order, starting with `RunStarted`.
        workdir: Where every task runs.
        run_id: Names the run (`PMTUI_RUN_ID`).
        log_dir: Receives `<task>.log` and `<task>.prompt` per task.
        abort: When set, the run is aborted: every attempt is stopped, open tasks cancelled.
        tick_s: Seconds between resource samples.

    Cancelling the caller aborts the run too (attempts' process groups are killed) and the
    cancellation goes on.
    """
    plan, graph, config = project.plan, project.graph, project.config
    assert plan is not None and graph is not None and config is not None
    setup = project.scheduler_setup(max_parallel, fail_fast)
    t0 = time.monotonic()

    def now() -> float:
        return time.monotonic() - t0

    scheduler = Scheduler(graph, setup, now=0.0)
    attempts: dict[str, _Attempt] = {}
    waker = _Waker()
    sampler = GroupSampler()
    plan_path = str(Path(plan.path).resolve())
    log_dir.mkdir(parents=True, exist_ok=True)
    finished_event: RunFinished | None = None
    emit(RunStarted(0.0, run_id, plan.path, len(graph.tasks), setup.slots))

    def workdir_of(_task: str) -> str:
        return str(workdir)

    async def attempt(start: decisions.Start, record: _Attempt) -> None:
        try:
            spec = prepare(start, record)
        except (OSError, ValueError) as error:
            report(record, Outcome.FAILED, None, f"exit 126: cannot start: {error}")
            return
        result = await run_attempt(
            spec, on_line=record.on_line, on_start=record.on_start, stop=record.stop
        )
        report(record, Outcome.RATE_LIMITED if record.rate_limited else None, result)

    def prepare(start: decisions.Start, record: _Attempt) -> AttemptSpec:
        task = graph.tasks[start.task]
        agent = config.agents[start.agent]
        prompt = task.prompt
        prompt_file = log_dir / f"{task.id}.prompt"
        prompt_file.write_text(prompt, encoding="utf-8")
        argv = render_argv(
            agent.command,
            {
                "prompt": prompt,
                "prompt_file": str(prompt_file),
                "script": task.script or "",
                "task_id": task.id,
                "workdir": str(workdir),
                "plan": plan_path,
            },
        )
        env = {
            "PMTUI_TASK_ID": task.id,
            "PMTUI_PLAN": plan_path,
            "PMTUI_WORKDIR": str(workdir),
            "PMTUI_ATTEMPT": str(start.attempt),
            "PMTUI_RUN_ID": run_id,
        }
        if DEMO_MODULE in agent.command:
            env["PMTUI_DEMO_SECONDS"] = str(setup.estimates.get(task.id, 2.0))
            if argv and argv[0] == "python":
                argv[0] = sys.executable
        pattern = re.compile(agent.rate_limit_pattern) if agent.rate_limit_pattern else None

        def on_line(line: str) -> None:
            progress = parse_progress(line)
            if progress is not None:
                emit(TaskProgress(now(), task.id, progress[0], progress[1], estimated=False))
            if pattern is not None and not record.stop.is_set() and pattern.search(line):
                record.rate_limited = True
                record.stop.set("rate limit")

        def on_start(pid: int) -> None:
            record.pgid = pid

        record.on_line = on_line
        record.on_start = on_start
        return AttemptSpec(
            argv=argv,
            cwd=workdir,
            log_path=log_dir / f"{task.id}.log",
            env=env,
            stdin=prompt if agent.stdin == "prompt" else None,
            timeout_s=config.timeout_for(start.agent, task.timeout_s),
        )

    def report(
        record: _Attempt, outcome: Outcome | None, result: AttemptResult | None, reason: str = ""
    ) -> None:
        if record.pgid is not None:
            sampler.forget(record.pgid)
        attempts.pop(record.task, None)
        exit_code = None if result is None else result.exit_code
        if result is not None:
            reason = result.reason
            if outcome is None:
                outcome = Outcome.SUCCEEDED if result.ok else Outcome.FAILED
        if not scheduler.finished_run:
            scheduler.finished(
                record.task,
                now(),
                outcome or Outcome.FAILED,
                exit_code=exit_code,
                reason=reason,
            )
        waker.poke()

    async def tick() -> None:
        while True:
            await anyio.sleep(tick_s)
            running = {a.pgid: a for a in attempts.values() if a.pgid is not None}
            machine = await anyio.to_thread.run_sync(machine_sample)
            samples = await anyio.to_thread.run_sync(sampler.sample, list(running))
            for pgid, sample in samples.items():
                reason = over_memory(sample, config.pool.memory_per_agent)
                if reason is not None and pgid in running:
                    running[pgid].stop.set(reason)
            if not scheduler.finished_run:
                scheduler.memory_available(machine.available_memory, now())
            waker.poke()

    async def watch_abort(event: anyio.Event) -> None:
        await event.wait()
        waker.poke()

    def carry_out(outputs: list[decisions.Output], tasks: anyio.abc.TaskGroup) -> None:
        nonlocal finished_event
        for output in outputs:
            if isinstance(output, decisions.Start):
                record = _Attempt(output.task, StopRequest())
                attempts[output.task] = record
                tasks.start_soon(attempt, output, record)
            elif isinstance(output, decisions.Stop):
                running = attempts.get(output.task)
                if running is not None:
                    running.stop.set(output.reason)
            event = from_notice(output, workdir_of=workdir_of)
            if event is not None:
                emit(event)
            if isinstance(event, RunFinished):
                finished_event = event

    def abort_now(reason: str = "aborted") -> list[decisions.Output]:
        scheduler.abort(now(), reason)
        for record in list(attempts.values()):
            record.stop.set(reason)
        return scheduler.decide(now())

    async with anyio.create_task_group() as tasks:
        helpers = anyio.CancelScope()

        async def helper_group() -> None:
            with helpers:
                async with anyio.create_task_group() as inner:
                    inner.start_soon(tick)
                    if abort is not None:
                        inner.start_soon(watch_abort, abort)

        tasks.start_soon(helper_group)
        try:
            while finished_event is None:
                wake = waker.renew()
                if abort is not None and abort.is_set() and not scheduler.finished_run:
                    carry_out(abort_now(), tasks)
                else:
                    carry_out(scheduler.decide(now()), tasks)
                if finished_event is not None:
                    break
                wakeup = scheduler.next_wakeup()
                delay = math.inf if wakeup is None else max(0.0, wakeup - now())
                with anyio.move_on_after(delay):
                    await wake.wait()
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                if not scheduler.finished_run:
                    carry_out(abort_now(), tasks)
            raise
        helpers.cancel()
    assert finished_event is not None
    return finished_event
