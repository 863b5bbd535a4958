"""The headless front end (`--no-ui`, or stdout not a terminal), docs/design.md §8.

Takes the lock and the store (`engine.session`), runs the plan with the engine, and shows
it as readable lines — one per event, a progress line every `refresh_interval`, then the
summary table and per-agent statistics — or, with `--json`, the JSON lines on stdout and
the readable output on stderr. SIGINT and SIGTERM abort the run: every process group is
killed, the state is saved and pmtui exits 130. Never imports textual.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import anyio
import anyio.abc

from pmtui.config.units import format_duration
from pmtui.engine.events import Event, MergeFinished, RunFinished, TaskFinished
from pmtui.engine.runner import RunControl, run_plan
from pmtui.engine.session import Session, SessionError, kill_leftovers, open_session
from pmtui.project import Project, run_workdir, update_plan
from pmtui.report.jsonl import json_line
from pmtui.report.lines import clean_text, event_line, explain_conflict, finish_line, progress_line
from pmtui.report.summary import render_agent_stats, render_summary_table
from pmtui.report.view import RunView, plan_tasks
from pmtui.scheduling.decisions import RunStatus
from pmtui.scheduling.scheduler import CommandRefused
from pmtui.scheduling.setup import SchedulerSetup
from pmtui.scheduling.states import TaskState
from pmtui.store.db import Store, StoreError, store_dir
from pmtui.store.files import SourceError
from pmtui.vcs.strategies import Strategy

if TYPE_CHECKING:  # the git modules load only for a run with worktrees
    from pmtui.engine.isolation import GitIsolation, IsolationSettings

EXIT_CANNOT_START = 2
"""The run could not start (lock held, store unusable, nothing to resume): like bad input."""

SUMMARY_ROWS = 60
"""Above this many tasks the summary lists only those that did not end done."""

JUNIT_TAIL_LINES = 50
"""Log lines of a failed task that go into its JUnit failure."""


@dataclass(frozen=True, slots=True)
class HeadlessOptions:
    """The `pmtui run` options a live headless run uses."""

    max_parallel: int | None = None
    fail_fast: bool = False
    as_json: bool = False
    junit: Path | None = None
    update_plan: bool = False
    resume: bool = False
    rerun: tuple[str, ...] = ()
    ascii: bool = False
    width: int = 100
    agent_env: tuple[tuple[str, str], ...] = ()
    """Added to every agent's environment (`pmtui demo --speed` sets `PMTUI_DEMO_SPEED`)."""
    adopt_orphans: bool = True
    """Become a child subreaper to end descendants that left their group (process-wide)."""
    resumable: bool = True
    """Whether to tell how to resume an aborted run (not for the demo's temporary folder)."""


class _Sink:
    """A stream the run writes to. A reader that went away (`pmtui run --json | head`)
    aborts the run once, with the state saved, instead of crashing pmtui."""

    def __init__(self, stream: TextIO, control: RunControl) -> None:
        self.stream = stream
        self.control = control
        self.gone = False

    def write(self, text: str) -> None:
        if self.gone:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, OSError):
            self.gone = True
            self._silence()
            self.control.abort("aborted: the output was closed")

    def _silence(self) -> None:
        """Point the stream at /dev/null, so Python's flush at exit does not complain."""
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, io.UnsupportedOperation):
            pass


class _PlanHistory:
    """The store as the estimates' history of this plan (stored by its resolved path)."""

    def __init__(self, store: Store, plan_path: Path) -> None:
        self.store = store
        self.plan_path = str(plan_path.resolve())

    def successful_durations(self, plan_path: str, task_id: str, limit: int) -> Sequence[float]:
        try:
            return self.store.successful_durations(self.plan_path, task_id, limit)
        except StoreError:
            return []


@dataclass
class LiveRun:
    """Everything a live run needs once the lock is held and the store is open; each front
    end (these headless lines, the TUI) drives the same one."""

    project: Project
    plan: Path
    options: HeadlessOptions
    session: Session
    workdir: Path
    setup: SchedulerSetup
    view: RunView
    log_dir: Path
    started: str
    """The wall-clock start, ISO 8601 (JUnit's timestamp)."""
    finals: list[TaskFinished] = field(default_factory=list)
    isolation: GitIsolation | None = None
    """The run's worktrees and merge queue (None: every task runs in `workdir`)."""

    def record(self, event: Event) -> None:
        """Fold an event into the view (and keep each task's `task_finished`)."""
        self.view.apply(event)
        if isinstance(event, TaskFinished):
            self.finals.append(event)

    async def clean_up(self) -> list[str]:
        """Kill what a dead run left behind (before `run`); one line per group killed."""
        return [f"pmtui: {line}" for line in await kill_leftovers(self.session)]

    async def run(self, emit: Callable[[Event], None], control: RunControl) -> RunFinished:
        """Run the plan with the engine to its end."""
        return await run_plan(
            self.project,
            emit=emit,
            workdir=self.workdir,
            run_id=self.session.run_id,
            log_dir=self.log_dir,
            control=control,
            recorder=self.session.recorder,
            continuation=self.session.continuation,
            setup=self.setup,
            agent_env=dict(self.options.agent_env),
            adopt_orphans=self.options.adopt_orphans,
            isolation=self.isolation,
        )

    async def resolve_after(self, task_id: str, strategy: Strategy) -> str:
        """Resolve a conflict once the run has ended (the conflicts screen after the run):
        the merge lands now, and `--resume` runs the dependents its conflict skipped."""
        if self.isolation is None:
            raise CommandRefused("this run does not use worktrees: there is no merge to resolve")
        try:
            view_task = self.view.task(task_id)
        except KeyError:
            raise CommandRefused(f"no task {task_id} in this plan") from None
        if view_task.status is not TaskState.CONFLICT:
            raise CommandRefused(f"task {task_id} is {view_task.status}: it has no conflict")
        resume = f"pmtui run {self.plan} --resume"
        from pmtui.engine.isolation import Stopped
        from pmtui.engine.resolution import resolve_after_run

        try:
            message = await resolve_after_run(
                self.isolation, self.session.store, task_id, strategy, self.log_dir, resume
            )
        except Stopped as error:
            raise CommandRefused(str(error)) from None
        if strategy not in (Strategy.MANUAL, Strategy.RERUN):
            now = self.view.elapsed()
            self.record(MergeFinished(now, task_id, "merged", ()))
            self.record(
                TaskFinished(now, task_id, "done", 0, f"resolved: {strategy}", view_task.attempt, 0)
            )
        return message

    def conflicts_report(self) -> str:
        """Each conflict left, explained, with the git commands to finish it by hand."""
        conflicted = self.view.conflicted()
        if not conflicted or self.isolation is None:
            return ""
        lines = ["conflicts left (their branches and worktrees are kept):"]
        for task in conflicted:
            explained = explain_conflict(task.conflicts) if task.conflicts else task.reason
            lines.append(f"  {clean_text(task.id)}: {explained}")
            lines.append("    to finish it by hand:")
            lines += [f"      {step}" for step in self.isolation.manual(task.id)]
        return "\n".join(lines) + "\n"

    def _budget_left_work(self) -> bool:
        """Whether the run ended with work left and stays resumable: its budget ran out (the
        store keeps such a run unfinished, as it does an aborted one)."""
        try:
            record = self.session.store.run(self.session.run_id)
        except StoreError:
            return False
        return record is not None and record.finished_at is None

    @property
    def notes(self) -> list[str]:
        """What the user should know before the run (the resume's findings)."""
        return self.session.notes

    def report(self, finished: RunFinished) -> str:
        """The end of the run: summary table, agents, outcome, then `--update-plan` and
        `--junit` done (their outcome in the text)."""
        options = self.options
        table = render_summary_table(
            self.view, width=options.width, ascii=options.ascii, max_rows=SUMMARY_ROWS
        )
        agents = render_agent_stats(self.view, width=options.width, ascii=options.ascii)
        parts = [f"\n{table.rstrip()}\n\n{agents.rstrip()}\n\n{_outcome(finished, self.log_dir)}"]
        conflicts = self.conflicts_report()
        if conflicts:
            parts.append(finish_line(conflicts, options.ascii))
        if self.session.recorder.error is not None:
            error = self.session.recorder.error
            parts.append(
                f"{error.path}: warning: the run store failed mid-run ({error.message}); "
                "this run cannot be resumed\n"
            )
        elif finished.status == RunStatus.ABORTED.value and options.resumable:
            parts.append(f"resume with: pmtui run {self.plan} --resume\n")
        elif options.resumable and self._budget_left_work():
            parts.append(
                f"the budget ran out with work left; raise it and go on: pmtui run {self.plan} "
                "--resume --budget USD\n"
            )
        if options.update_plan:
            parts.append(_tick_done(self.plan, self.finals, self.session))
        if options.junit is not None:
            parts.append(
                _junit(
                    self.project,
                    options.junit,
                    self.finals,
                    finished,
                    self.log_dir,
                    self.started,
                    self.view,
                )
            )
        return "".join(parts)


def start_live_run(
    project: Project, plan: Path, options: HeadlessOptions, err: TextIO
) -> LiveRun | int:
    """Check the working folder, take the lock, open the store and begin (or resume) the
    run; an exit code (with the error written to `err`) when it cannot start."""
    assert project.plan is not None and project.config is not None
    workdir = run_workdir(project, plan)
    if not workdir.is_dir():
        err.write(
            f"{plan}: error: the working folder {workdir} ([pool] workdir) does not exist\n"
            "    hint: create it, or fix `workdir` under [pool] in pmtui.toml "
            '(a relative path starts at the plan\'s folder; "" means the repository root)\n'
        )
        return EXIT_CANNOT_START
    slots = options.max_parallel or project.config.pool.max_concurrent
    settings: IsolationSettings | None = None
    notes: list[str] = []
    if project.isolation:
        from pmtui.engine.isolation import isolation_settings

        settings, unavailable = isolation_settings(project.config, workdir)
        if unavailable is not None:
            if project.config.conflicts.isolation == "worktree":
                err.write(f"{plan}: error: {unavailable.message}\n    hint: {unavailable.hint}\n")
                return EXIT_CANNOT_START
            notes.append(
                f"isolation off: {unavailable.message}; tasks share {workdir} and take file "
                f"locks (to use worktrees: {unavailable.hint})"
            )
    try:
        logs = store_dir(workdir) / "logs"
        try:
            logs.mkdir(exist_ok=True)
        except OSError as error:
            raise StoreError(
                str(logs),
                f"cannot be created: {error.strerror or error}",
                "move away what is in the way; pmtui keeps each task's output there",
            ) from None
        session = open_session(
            project,
            plan,
            workdir,
            slots=slots,
            resume=options.resume,
            rerun=options.rerun,
            integration=None if settings is None else settings.integration,
        )
    except StoreError as error:  # LockHeld too: its message names the other pmtui's pid
        err.write(f"{error.path}: error: {error.message}\n    hint: {error.hint}\n")
        return EXIT_CANNOT_START
    except SessionError as error:
        err.write(f"{plan}: error: {error.message}\n    hint: {error.hint}\n")
        return EXIT_CANNOT_START
    session.notes[:0] = notes
    setup = project.scheduler_setup(
        options.max_parallel,
        options.fail_fast,
        history=_PlanHistory(session.store, plan),
        isolation=settings is not None,
    )
    view = RunView(plan_tasks(project.plan, project.config, setup.estimates, project.graph))
    log_dir = workdir / ".pmtui" / "logs" / session.run_id
    isolation = None
    if settings is not None:
        from pmtui.engine.isolation import GitIsolation

        isolation = GitIsolation(
            settings,
            session.run_id,
            project.graph.tasks if project.graph is not None else {},
            emit=view.apply,
            now=view.elapsed,
            recorder=session.recorder,
            log_dir=log_dir,
        )
    return LiveRun(
        project,
        plan,
        options,
        session,
        workdir,
        setup,
        view,
        log_dir,
        time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        isolation=isolation,
    )


def run_headless(
    project: Project,
    plan: Path,
    options: HeadlessOptions,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the plan live and headless; returns the exit code of docs/design.md §8."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    live = start_live_run(project, plan, options, err)
    if isinstance(live, int):
        return live
    try:
        return _run(live, out, err if options.as_json else out)
    finally:
        live.session.close()


def _run(live: LiveRun, out: TextIO, readable: TextIO) -> int:
    options = live.options
    view = live.view
    control = RunControl()
    sinks = {id(out): _Sink(out, control), id(readable): _Sink(readable, control)}
    json_sink, text = sinks[id(out)], sinks[id(readable)]
    for note in live.notes:
        text.write(f"pmtui: {note}\n")

    def emit(event: Event) -> None:
        live.record(event)
        if options.as_json:
            json_sink.write(json_line(event))
        line = event_line(event, ascii=options.ascii)
        if line is not None:
            text.write(line + "\n")

    assert live.project.config is not None
    refresh_s = live.project.config.monitor.refresh_interval_s

    async def progress_lines() -> None:
        clock = time.monotonic()
        while True:
            await anyio.sleep(refresh_s)
            now = time.monotonic() - clock
            text.write(
                progress_line(
                    now,
                    view.done,
                    view.total,
                    len(view.running()),
                    view.eta_s(now),
                    percent=view.overall_percent(now),
                    ascii=options.ascii,
                )
                + "\n"
            )

    async def main() -> RunFinished:
        async with anyio.create_task_group() as tasks:

            async def on_signals(*, task_status: anyio.abc.TaskStatus[None]) -> None:
                # SIGHUP too: a closed terminal or a dropped SSH session must not leave the
                # agents (in their own sessions, they get no hangup) running.
                wanted = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
                with anyio.open_signal_receiver(*wanted) as signals:
                    task_status.started()
                    async for _ in signals:
                        control.abort()

            # Listening before the first event is out: a script reacting to it with SIGTERM
            # must get an abort, not Python's default death.
            await tasks.start(on_signals)
            if refresh_s > 0:
                tasks.start_soon(progress_lines)
            for line in await live.clean_up():
                text.write(line + "\n")
            finished = await live.run(emit, control)
            tasks.cancel_scope.cancel()
        return finished

    finished = anyio.run(main)
    text.write(live.report(finished))
    if json_sink.gone or text.gone:
        with contextlib.suppress(OSError):
            sys.stderr.write(
                "pmtui: the output was closed (its reader went away): the run was aborted, "
                f"its state saved; continue it with: pmtui run {live.plan} --resume\n"
            )
    return RunStatus(finished.status).exit_code


def _outcome(finished: RunFinished, log_dir: Path) -> str:
    return (
        f"run {finished.status}: {finished.done} done, {finished.failed} failed, "
        f"{finished.skipped} skipped, {finished.conflicts} conflicts "
        f"in {format_duration(finished.duration_s)}\nlogs: {log_dir}\n"
    )


def _tick_done(plan: Path, finals: Sequence[TaskFinished], session: Session) -> str:
    """`--update-plan`: tick `[x]` on the tasks this run did; the run's outcome stands."""
    done_before = session.continuation.done if session.continuation is not None else frozenset()
    done = [
        event.task
        for event in finals
        if event.status == "done" and (event.attempt > 0 or event.task in done_before)
    ]
    try:
        ticked = update_plan(plan, done)
    except SourceError as error:
        sys.stderr.write(
            f"{error.path}: error: {error.message}\n    hint: {error.hint}\n"
            "    (the run itself is recorded in its logs; tick the tasks by hand)\n"
        )
        return ""
    return f"plan: ticked [x] on {ticked} task{'s' * (ticked != 1)} in {plan}\n"


def _junit(
    project: Project,
    target: Path,
    finals: Sequence[TaskFinished],
    finished: RunFinished,
    log_dir: Path,
    started: str,
    view: RunView,
) -> str:
    """`--junit FILE`: the run as JUnit XML, one test case per task, failures with their logs."""
    from pmtui.report.junit import render_junit, write_junit
    from pmtui.scheduling import decisions
    from pmtui.scheduling.states import TaskState

    assert project.plan is not None
    notices = [
        decisions.TaskFinished(
            event.time,
            event.task,
            TaskState(event.status),
            event.exit_code,
            event.reason,
            event.attempt,
            event.duration_s,
        )
        for event in finals
    ]
    run = decisions.RunFinished(
        finished.time,
        RunStatus(finished.status),
        done=finished.done,
        failed=finished.failed,
        skipped=finished.skipped,
        cancelled=sum(notice.status is TaskState.CANCELLED for notice in notices),
        conflicts=finished.conflicts,
        duration_s=finished.duration_s,
    )
    tails: dict[str, list[str]] = {}
    for notice in notices:
        log = log_dir / f"{notice.task}.log"
        if notice.status is not TaskState.DONE and log.is_file():
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
            tails[notice.task] = lines[-JUNIT_TAIL_LINES:]
    xml = render_junit(
        Path(project.plan.path).name,
        project.plan.title,
        notices,
        run,
        titles={task.id: task.title for task in project.plan.tasks},
        agents={task.id: project.agent_of(task) for task in project.plan.tasks},
        tails=tails,
        usage={task.id: task.usage for task in view.tasks if task.usage},
        timestamp=started,
    )
    try:
        write_junit(target, xml)
    except OSError as error:
        sys.stderr.write(
            f"{target}: error: cannot write the JUnit report: {error.strerror or error}\n"
            "    hint: pass --junit a path in a folder you can write to\n"
        )
        return ""
    return f"junit: {len(notices)} test cases in {target}\n"
