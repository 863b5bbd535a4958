"""A live run: drives the scheduler with real attempts (docs/design.md §5).

One anyio task group holds every attempt. The loop asks the scheduler what to do
(`Scheduler.decide`), carries out its decisions (start an attempt, stop one) and passes its
notices on as events; it sleeps until something happens: an attempt ends, a back-off is
over (`next_wakeup`), the one-second resource tick, a command (`RunControl`) or an abort.
No busy polling.

Every second the tick samples each attempt's process group (RSS over `memory_per_agent`
stops it; CPU over `cpu_per_agent` is flagged), feeds the scheduler the machine's available
memory and CPU saturation, and gives agents that never print `::progress::` an estimated bar.
Each state change goes to the store (`RunRecorder`) as it happens.

Attempts the scheduler isolates run in their task's worktree and land through the serial
merge queue before the scheduler hears they succeeded (`isolation.py`): a task is done for
its dependents only once its merge landed.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.abc
import anyio.to_thread
import psutil

from pmtui.agents.launch import build_launch
from pmtui.agents.parsers import make_parser
from pmtui.agents.parsers.base import OutputParser, ProgressParser, parse_progress_line
from pmtui.agents.signals import (
    Activity,
    AgentOutcome,
    Progress,
    RateLimited,
    RateLimitKind,
    Retrying,
    SessionStarted,
    Signal,
    Usage,
    Verdict,
)
from pmtui.config.model import AgentConfig
from pmtui.config.prices import price_usage
from pmtui.engine.control import RunControl
from pmtui.engine.events import (
    Event,
    ResourcesSampled,
    RunFinished,
    RunStarted,
    TaskProgress,
    TaskResources,
    TaskUsage,
    from_notice,
)
from pmtui.engine.groups import signal_group
from pmtui.engine.orphans import become_subreaper, end_adopted
from pmtui.engine.process import (
    AttemptResult,
    AttemptSpec,
    StopRequest,
    attempt_header,
    log_header,
    render_argv,
    run_attempt,
)
from pmtui.engine.recording import RunRecorder
from pmtui.engine.resources import GroupSampler, machine_sample, over_cpu, over_memory
from pmtui.engine.usage import UsageTally, session_total
from pmtui.project import DEMO_MODULE, Project
from pmtui.scheduling import decisions
from pmtui.scheduling.decisions import Outcome, WaitKind
from pmtui.scheduling.scheduler import CommandRefused, Scheduler
from pmtui.scheduling.setup import SchedulerSetup
from pmtui.scheduling.states import TaskState
from pmtui.store.db import AttemptRecord, AttemptUsage
from pmtui.vcs.strategies import Strategy

if TYPE_CHECKING:  # the git modules load only for a run with worktrees
    from pmtui.engine.isolation import GitIsolation, StepRunner

TICK_S = 1.0
"""Seconds between resource samples (memory and CPU per group, the machine's)."""

SATURATED_SAMPLES = 3
"""Samples in a row at full CPU before the machine counts as saturated: a burst of short
tasks (which saturate the CPU for a moment by spawning) must not throttle itself."""

ESTIMATED_CAP = 99.0
"""An estimated bar never reaches 100 % (docs/design.md §5): only the task's end does."""

RETRIES_BEFORE_REQUEUE = 2
"""An agent that says it is retrying a rate-limited request this many times is stopped and
requeued: pmtui owns the back-off (and every agent of the provider waits with it), instead
of the CLI retrying on its own for minutes (Gemini CLI: ten times over ~5 minutes)."""

RATE_LIMIT_STATUSES = frozenset({429, 503, 529})

MAX_RESET_WAIT_S = 8 * 86400.0
"""The longest wait a reported reset time makes (a weekly limit's, and a day over): a
`retry-after` of 1e17 s from a broken server must not be waited for, nor break the clock
arithmetic that shows the wait as a time of day."""

__all__ = ["CommandRefused", "Continuation", "RunControl", "run_plan"]


def end_escaped(processes: Iterable[psutil.Process]) -> None:
    """Kill what an attempt started in sessions of its own (killing its group missed them);
    psutil checks each pid is still that process."""
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.kill()


CLOCK_GRACE_S = 120.0
"""A time of day that passed less than this long ago is now, not tomorrow: agents print a
reset time cut to the minute (Codex: `try again at 1:00 AM` for a reset at 01:00:45)."""


def seconds_until(hour: int, minute: int, now: datetime.datetime | None = None) -> float:
    """Seconds from `now` (local time) to the next `hour:minute` — tomorrow's when today's
    has passed (an agent's "try again at 1:00 AM"); 0 when it passed just now."""
    now = now or datetime.datetime.now().astimezone()
    target = now.replace(hour=hour % 24, minute=minute % 60, second=0, microsecond=0)
    if target <= now:
        if (now - target).total_seconds() < CLOCK_GRACE_S:
            return 0.0
        target += datetime.timedelta(days=1)
    return (target - now).total_seconds()


RESUME_NOTE = (
    "(pmtui: your previous attempt at this task was interrupted. The files you changed are "
    "still here. Continue the task from where you stopped, and finish it.)"
)
"""Put before the task's prompt when an attempt continues an interrupted session."""


@dataclass(frozen=True, slots=True)
class LastSession:
    """The agent session a task's last attempt opened: what the next attempt may continue."""

    agent: str
    session_id: str
    interrupted: bool
    """pmtui ended the attempt (abort, timeout, rate limit, its own death): continue it."""
    total: AttemptUsage
    """The session's usage over all its attempts (Codex reports running totals)."""
    runs_as: str = ""
    """The agent whose program opened it (a role's base): another CLI cannot continue it."""


def last_sessions(attempts: Iterable[AttemptRecord]) -> dict[str, LastSession]:
    """Per task, the session of its last attempt (in start order), if that one opened one.

    An attempt whose end was never recorded (pmtui died) counts as interrupted.
    """
    last: dict[str, AttemptRecord] = {}
    totals: dict[str, AttemptUsage] = {}
    for attempt in attempts:
        last[attempt.task_id] = attempt
        if attempt.session_id is not None:
            own = attempt.usage or AttemptUsage()
            totals[attempt.session_id] = session_total(totals.get(attempt.session_id), own)
    return {
        task: LastSession(
            attempt.agent,
            attempt.session_id,
            attempt.interrupted or attempt.ended_at is None,
            totals[attempt.session_id],
            attempt.runs_as or attempt.agent,
        )
        for task, attempt in last.items()
        if attempt.session_id is not None
    }


def continues(previous: LastSession, agent: AgentConfig) -> bool:
    """Whether an attempt of `agent` continues the session of the task's last attempt: that
    attempt was interrupted (or failed, with `resume_on_failure`), ran the same agent with
    the same program (a role's base may have changed since), and the agent can resume."""
    if not agent.resume or previous.agent != agent.name:
        return False
    if previous.runs_as != (agent.base or agent.name):  # another CLI: not its session
        return False
    return previous.interrupted or agent.resume_on_failure


@dataclass(frozen=True, slots=True)
class Continuation:
    """What an unfinished run already did, for `--resume` (read from the store)."""

    done: frozenset[str]
    """Tasks that ended done: never rerun."""
    attempts: Mapping[str, int] = field(default_factory=dict)
    """Attempts per task so far: the next one is numbered on from there."""
    numbers: Mapping[str, int] = field(default_factory=dict)
    """The highest attempt number recorded per task (store rows stay unique)."""
    sessions: Mapping[str, LastSession] = field(default_factory=dict)
    """The agent session of each task's last attempt, to continue it."""
    spent_usd: float = 0.0
    """What the run's earlier sessions cost (known costs only): counts for its budget."""
    tokens: int = 0
    """The tokens the run's earlier sessions used."""


@dataclass
class _Attempt:
    """One running attempt, as the loop knows it."""

    task: str
    number: int
    """Unique per task (the store's and the log's); `shown` is what Start said."""
    shown: int
    stop: StopRequest
    began: float
    """Run time when the attempt was started."""
    estimate_s: float
    pgid: int | None = None
    rate_limited: bool = False
    reported_progress: bool = False
    identified: bool = False
    """Whether its process's creation time was recorded."""
    shown_estimate: int = -1
    """The last estimated percent sent, so an unchanged bar sends nothing."""
    paused_s: float = 0.0
    """Seconds spent stopped by a hard pause (they count neither for the timeout nor for
    the estimated bar)."""
    paused_since: float | None = None
    parser: OutputParser = field(default_factory=ProgressParser)
    """Reads this attempt's output (the agent's own format)."""
    agent: str = ""
    session_id: str | None = None
    """The agent's session, once it said (kept to resume it); from the start, the one it
    continues."""
    usage: UsageTally = field(default_factory=UsageTally)
    activity: str = ""
    """What the agent said it is doing last (the monitor's message)."""
    rate_limit: RateLimited | None = None
    """The rate limit that ended (or will end) this attempt."""
    retries_seen: int = 0
    runs_as: str = ""
    """The agent whose program runs (a role's base, else `agent`)."""
    resuming: LastSession | None = None
    """The session this attempt continues (None: a fresh session)."""
    model: str = ""
    """The model the agent was told to use (`model =`), for agents whose output names none."""
    shown_root: str = ""
    """The attempt's folder with a trailing `/`: cut from the paths agents print, so the
    monitor shows `src/auth.py`, not the worktree's long path."""

    def active_s(self, now: float) -> float:
        """Seconds it has been able to run."""
        paused = self.paused_s + (now - self.paused_since if self.paused_since is not None else 0)
        return max(0.0, now - self.began - paused)


@dataclass
class _Waker:
    """Wakes the loop: `poke` sets the event the loop is waiting on now."""

    event: anyio.Event = field(default_factory=anyio.Event)

    def poke(self) -> None:
        self.event.set()

    def renew(self) -> anyio.Event:
        self.event = anyio.Event()
        return self.event


class _LiveRun:
    """The state of one live run; `run_plan` is its entry point."""

    def __init__(
        self,
        project: Project,
        setup: SchedulerSetup,
        *,
        emit: Callable[[Event], None],
        workdir: Path,
        run_id: str,
        log_dir: Path,
        tick_s: float,
        recorder: RunRecorder | None,
        numbers: Mapping[str, int],
        agent_env: Mapping[str, str],
        sessions: Mapping[str, LastSession] | None = None,
        adopt_orphans: bool = False,
        isolation: GitIsolation | None = None,
    ) -> None:
        plan, graph, config = project.plan, project.graph, project.config
        assert plan is not None and graph is not None and config is not None
        self.plan, self.graph, self.config = plan, graph, config
        self.setup = setup
        self.emit = emit
        self.workdir = workdir
        self.run_id = run_id
        self.log_dir = log_dir
        self.tick_s = tick_s
        self.recorder = recorder
        self.numbers = dict(numbers)
        self.sessions: dict[str, LastSession] = dict(sessions or {})
        """The session of each task's last attempt (what its next attempt may continue)."""
        self.agent_env = dict(agent_env)
        self.adopt_orphans = adopt_orphans
        self.adopted: set[int] = set()
        """Descendants that left their attempt's group, adopted by pmtui (`orphans.py`)."""
        self.t0 = time.monotonic()
        self.scheduler = Scheduler(graph, setup, now=0.0)
        self.attempts: dict[str, _Attempt] = {}
        self.waker = _Waker()
        self.sampler = GroupSampler()
        self.plan_path = str(Path(plan.path).resolve())
        self.finished_event: RunFinished | None = None
        self.budget_skipped = 0
        """Tasks the run's budget left skipped (the run stays resumable)."""
        self.hard_paused = False
        self.saturated_streak = 0
        self.abort_reason = ""
        self.tasks: anyio.abc.TaskGroup | None = None
        self.isolation = isolation
        self.side_stops: set[StopRequest] = set()
        """Stop requests of work outside attempts (a conflict being resolved): aborted too."""

    def now(self) -> float:
        return time.monotonic() - self.t0

    # ------------------------------------------------------------------ commands

    def command(self, action: Callable[[float], None]) -> None:
        """Apply a scheduler command now and carry out what follows from it."""
        action(self.now())
        self.carry_out(self.scheduler.decide(self.now()))
        self.waker.poke()

    def pause(self, hard: bool | None) -> None:
        hard = self.config.pool.pause_mode == "hard" if hard is None else hard
        self.command(lambda now: self.scheduler.pause(now, hard=hard))
        if hard and not self.hard_paused:
            self.hard_paused = True
            now = self.now()
            for record in self.attempts.values():
                self._freeze(record, now)

    def resume(self) -> None:
        self.command(self.scheduler.resume)
        if self.hard_paused:
            self.hard_paused = False
            now = self.now()
            for record in self.attempts.values():
                if record.pgid is not None:
                    signal_group(record.pgid, signal.SIGCONT)
                record.stop.release_clock()
                if record.paused_since is not None:
                    record.paused_s += now - record.paused_since
                    record.paused_since = None

    def _freeze(self, record: _Attempt, now: float) -> None:
        if record.pgid is not None and record.paused_since is None:
            signal_group(record.pgid, signal.SIGSTOP)
            record.stop.hold_clock()
            record.paused_since = now

    def abort(self, reason: str) -> None:
        self.abort_reason = self.abort_reason or reason
        for stop in list(self.side_stops):
            stop.set(reason)
        self.waker.poke()

    async def resolve(self, task_id: str, strategy: Strategy) -> str:
        """Act on a conflict left (the conflicts screen's strategies); returns what happened.

        Raises:
            CommandRefused: The task is not in conflict, the run does not use worktrees, or
                the merge cannot be made that way (auto_merge on a real conflict, a failing
                `[merge] check`, the run ended or was aborted meanwhile).
        """
        if self.isolation is None:
            raise CommandRefused("this run does not use worktrees: there is no merge to resolve")
        if self.scheduler.finished_run:
            raise CommandRefused("the run has ended")
        if task_id not in self.graph.tasks:
            raise CommandRefused(f"no task {task_id} in this plan")
        state = self.scheduler.state(task_id)
        if state is not TaskState.CONFLICT:
            raise CommandRefused(f"task {task_id} is {state}: it has no conflict to resolve")
        if strategy is Strategy.RERUN:
            self.command(lambda now: self.scheduler.retry(task_id, now))
            return f"task {task_id} runs again on {self.isolation.settings.integration.branch}"
        if strategy is Strategy.MANUAL:
            return "\n".join(self.isolation.manual(task_id))
        from pmtui.engine.isolation import Stopped
        from pmtui.engine.resolution import resolve_refusal

        stop = StopRequest()
        self.scheduler.begin_resolution(task_id)  # the run does not end under the merge
        self.side_stops.add(stop)
        try:
            landing = await self.isolation.resolve(
                task_id, strategy, stop, self.side_runner(task_id, stop)
            )
            if landing.outcome is not Outcome.SUCCEEDED:
                raise CommandRefused(resolve_refusal(strategy, landing))
            try:
                self.scheduler.resolved(task_id, self.now(), strategy.value)
            except CommandRefused:  # aborted meanwhile: the merge stands, the store says so
                if self.recorder is not None:
                    number = self.scheduler.attempt_number(task_id)
                    self.recorder.task_state(task_id, "done", f"resolved: {strategy}", number)
                return (
                    f"task {task_id} merged ({strategy.value}); the run was aborted "
                    "meanwhile: --resume runs the tasks its conflict skipped"
                )
        except Stopped as error:
            raise CommandRefused(f"not resolved: {error}") from None
        finally:
            self.side_stops.discard(stop)
            self.scheduler.end_resolution(task_id)
            self.command(lambda _now: None)  # decide again: what was held may go on
        return f"task {task_id} merged ({strategy.value})"

    # ------------------------------------------------------------------ attempts

    def carry_out(self, outputs: list[decisions.Output]) -> None:
        for output in outputs:
            if isinstance(output, decisions.Start):
                self.start(output)
            elif isinstance(output, decisions.Stop):
                running = self.attempts.get(output.task)
                if running is not None:
                    running.stop.set(output.reason)
            if isinstance(output, decisions.TaskWaiting) and output.kind is WaitKind.RATE_LIMIT:
                output = self.until_wall_clock(output)
            event = from_notice(output, workdir_of=self.workdir_of(output))
            task_id = getattr(output, "task", None)
            if task_id is not None:
                self.save_state(task_id)
            if isinstance(event, RunFinished):
                # Emitted and saved by `run_plan` once every process group is gone.
                self.finished_event = event
                assert isinstance(output, decisions.RunFinished)
                self.budget_skipped = output.budget_skipped
            elif event is not None:
                self.emit(event)

    def until_wall_clock(self, waiting: decisions.TaskWaiting) -> decisions.TaskWaiting:
        """A rate-limit wait told as the time of day it ends: `rate limited (anthropic) until
        14:05` (the scheduler, which reads no clock, can only say how long it backs off)."""
        backoff = self.scheduler.rate_limit(waiting.task)
        if backoff is None:
            return waiting
        left = max(0.0, backoff.until - self.now())
        ends = time.localtime(time.time() + left)
        shown = time.strftime("%H:%M" if left >= 60 else "%H:%M:%S", ends)
        said = " (the reset time it reported)" if backoff.reported else ""
        reason = f"rate limited ({backoff.provider}) until {shown}{said}"
        return replace(waiting, reason=reason)

    def workdir_of(self, output: decisions.Output) -> Callable[[str], str]:
        isolated = isinstance(output, decisions.Start) and output.isolated
        isolation = self.isolation
        if isolated and isolation is not None:
            return lambda task: str(isolation.workdir(task))
        return lambda _task: str(self.workdir)

    def save_state(self, task_id: str) -> None:
        if self.recorder is not None:
            self.recorder.task_state(
                task_id,
                self.scheduler.state(task_id).value,
                self.scheduler.reason(task_id),
                self.scheduler.attempt_number(task_id),
            )

    def start(self, start: decisions.Start) -> None:
        # Start.attempt repeats after a rate limit (that attempt does not count): the store
        # and the log still tell the two processes apart.
        number = max(start.attempt, self.numbers.get(start.task, 0) + 1)
        self.numbers[start.task] = number
        record = _Attempt(
            start.task,
            number,
            start.attempt,
            StopRequest(),
            self.now(),
            self.setup.estimates.get(start.task, 0.0),
        )
        agent = self.config.agents.get(start.agent)
        if agent is not None:
            record.parser = make_parser(agent.parser)
            record.model = agent.model
            record.resuming = self.resumable(start.task, agent)
            if record.resuming is not None:
                record.usage = UsageTally(record.resuming.total)
                # Its session until the agent says otherwise: an attempt cut off before the
                # agent named it still leaves that session to continue.
                record.session_id = record.resuming.session_id
        record.agent = start.agent
        record.runs_as = (agent.base or agent.name) if agent is not None else start.agent
        self.attempts[start.task] = record
        assert self.tasks is not None
        self.tasks.start_soon(self.attempt, start, record)

    def resumable(self, task_id: str, agent: AgentConfig) -> LastSession | None:
        """The session the task's next attempt continues, if any (`continues`)."""
        previous = self.sessions.get(task_id)
        return previous if previous is not None and continues(previous, agent) else None

    async def attempt(self, start: decisions.Start, record: _Attempt) -> None:
        isolation = self.isolation if start.isolated else None
        cwd = self.workdir if isolation is None else isolation.workdir(start.task)
        if isolation is not None:
            from pmtui.engine.isolation import PrepareFailed, Stopped

            try:
                kept = await isolation.prepare(
                    start.task,
                    record.number,
                    self.step_runner(start, record),
                    keep=record.resuming is not None,
                )
                if not kept and record.resuming is not None:  # its worktree is gone
                    record.resuming, record.usage = None, UsageTally()
                    record.session_id = None
            except PrepareFailed as error:
                self.report(record, Outcome.FAILED, None, str(error))
                return
            except Exception as error:  # a bug of ours, or git in a state we cannot read
                reason = f"exit 126: pmtui could not prepare its worktree: {error!r}"
                self.report(record, Outcome.FAILED, None, reason)
                return
        record.shown_root = str(cwd).rstrip("/") + "/"
        try:
            spec = self.prepare(start, record, cwd)
        except (OSError, ValueError) as error:
            self.report(record, Outcome.FAILED, None, f"exit 126: cannot start: {error}")
            return
        try:
            result = await run_attempt(
                spec,
                on_line=self.line_handler(start, record),
                on_start=lambda pid: self.started(record, pid),
                stop=record.stop,
            )
        except Exception as error:  # a bug of ours: the task fails, the run goes on
            # (run_attempt has killed the attempt's group before this is raised)
            reason = f"exit 126: pmtui could not run it: {type(error).__name__}: {error}"
            self.report(record, Outcome.FAILED, None, reason)
            return
        verdict = record.parser.finish(result.exit_code, result.killed)
        outcome, reason = self.judge(record, result, verdict)
        if isolation is not None and outcome is Outcome.SUCCEEDED:
            record.reported_progress = True  # its bar is full: the merge queue's turn
            try:
                landing = await isolation.land(
                    start.task, record.number, record.stop, self.step_runner(start, record)
                )
            except Stopped as error:
                self.report(record, Outcome.FAILED, None, str(error) or "stopped")
                return
            except Exception as error:  # a bug of ours, or git in a state we cannot read
                reason = f"exit 126: pmtui could not merge it: {type(error).__name__}: {error}"
                self.report(record, Outcome.FAILED, None, reason)
                return
            self.report(record, landing.outcome, None, landing.reason, exit_code=result.exit_code)
            return
        resume_at = None
        if outcome is Outcome.RATE_LIMITED and record.rate_limit is not None:
            resume_at = self.reset_time(record.rate_limit)
        self.report(record, outcome, result, reason, resume_at=resume_at)

    def judge(
        self, record: _Attempt, result: AttemptResult, verdict: Verdict
    ) -> tuple[Outcome, str]:
        """How an attempt ended: the agent's own word (its parser) over the exit code alone.

        Returns the outcome and its reason ("" keeps the process's: `exit 1`, `timeout…`).
        """
        if record.rate_limited:  # pmtui stopped it: its rate_limit_pattern, or retries
            return Outcome.RATE_LIMITED, ""
        if verdict.outcome is AgentOutcome.RATE_LIMITED:
            record.rate_limit = verdict.rate_limit or record.rate_limit
            return Outcome.RATE_LIMITED, verdict.reason
        if result.killed:
            return Outcome.FAILED, ""
        if verdict.outcome is AgentOutcome.FAILED:
            return Outcome.FAILED, verdict.reason
        return Outcome.SUCCEEDED, ""

    def reset_time(self, limit: RateLimited) -> float | None:
        """The run time a rate limit ends at, from what the agent said (at most
        `MAX_RESET_WAIT_S` away); None: not said."""
        if limit.reset_at is not None:
            wait = limit.reset_at - time.time()
        elif limit.retry_after_s is not None:
            wait = limit.retry_after_s
        elif limit.reset_clock is not None:
            wait = seconds_until(limit.reset_clock.hour, limit.reset_clock.minute)
        else:
            return None
        return self.now() + min(max(0.0, wait), MAX_RESET_WAIT_S)

    def environment(self, start: decisions.Start, cwd: Path) -> dict[str, str]:
        """The agent's environment: pmtui's additions and docs/design.md §5's variables."""
        return {
            **self.agent_env,
            # Some agents (opencode) work in $PWD, not in their process's working directory:
            # the one pmtui inherited would be the main checkout, not the task's worktree.
            "PWD": str(cwd),
            "PMTUI_TASK_ID": start.task,
            "PMTUI_PLAN": self.plan_path,
            "PMTUI_WORKDIR": str(cwd),
            "PMTUI_ATTEMPT": str(start.attempt),
            "PMTUI_RUN_ID": self.run_id,
        }

    def step_runner(self, start: decisions.Start, record: _Attempt) -> StepRunner:
        """Runs an attempt's other commands (worktree setup, merge check) as the attempt:
        same log, stop request, timeout and environment; its group is the attempt's now."""
        from pmtui.engine.isolation import step_runner

        task = self.graph.tasks[start.task]
        return step_runner(
            self.log_dir / f"{task.id}.log",
            lambda cwd: self.environment(start, cwd),
            record.stop,
            timeout_s=self.config.timeout_for(start.agent, task.timeout_s),
            on_line=self.progress_handler(task.id),
            on_start=lambda pid: self.regrouped(record, pid),
        )

    def progress_handler(self, task_id: str) -> Callable[[str], None]:
        """Passes an attempt's other commands' `::progress::` lines on (nothing else)."""

        def on_line(line: str) -> None:
            progress = parse_progress_line(line)
            if progress is not None:
                self.emit(
                    TaskProgress(self.now(), task_id, progress.percent, progress.message, False)
                )

        return on_line

    def side_runner(self, task_id: str, stop: StopRequest) -> StepRunner:
        """Runs the merge check of a conflict being resolved (no attempt: its own stop)."""
        from pmtui.engine.isolation import step_runner

        task = self.graph.tasks[task_id]
        environment = {**self.agent_env, "PMTUI_TASK_ID": task_id, "PMTUI_RUN_ID": self.run_id}
        return step_runner(
            self.log_dir / f"{task_id}.log",
            lambda _cwd: environment,
            stop,
            timeout_s=self.config.timeout_for(self.setup.agents[task_id], task.timeout_s),
        )

    def regrouped(self, record: _Attempt, pid: int) -> None:
        """One of the attempt's other commands started: its group is the attempt's now."""
        record.pgid = pid
        record.identified = True
        if self.hard_paused:
            self._freeze(record, self.now())
        if self.recorder is not None:
            try:
                created: float | None = psutil.Process(pid).create_time()
            except psutil.Error:
                created = None
            self.recorder.attempt_regrouped(record.task, record.number, pid, created)

    def prepare(self, start: decisions.Start, record: _Attempt, cwd: Path) -> AttemptSpec:
        task = self.graph.tasks[start.task]
        agent = self.config.agents[start.agent]
        resuming = record.resuming
        prompt = task.prompt if resuming is None else f"{RESUME_NOTE}\n\n{task.prompt}"
        launch = build_launch(agent, prompt, None if resuming is None else resuming.session_id)
        prompt_file = self.log_dir / f"{task.id}.prompt"
        if any("{prompt_file}" in part for part in launch.command):
            prompt_file.write_text(launch.prompt, encoding="utf-8")
        argv = render_argv(
            launch.command,
            {
                "prompt": launch.prompt,
                "prompt_file": str(prompt_file),
                "script": task.script or "",
                "task_id": task.id,
                "workdir": str(cwd),
                "plan": self.plan_path,
            },
        )
        env = {**agent.env, **self.environment(start, cwd)}
        if DEMO_MODULE in agent.command:
            env["PMTUI_DEMO_SECONDS"] = str(self.setup.estimates.get(task.id, 2.0))
            if argv and argv[0] == "python":
                argv[0] = sys.executable
        header = None
        if record.number > 1:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            header = attempt_header(record.number, task.id, stamp)
            if resuming is not None:
                session = resuming.session_id
                header += "\n" + log_header(f"it continues the agent's session {session}")
        return AttemptSpec(
            argv=argv,
            cwd=cwd,
            log_path=self.log_dir / f"{task.id}.log",
            env=env,
            stdin=launch.prompt if launch.stdin_prompt else None,
            timeout_s=self.config.timeout_for(start.agent, task.timeout_s),
            log_header=header,
        )

    def line_handler(self, start: decisions.Start, record: _Attempt) -> Callable[[str], None]:
        agent = self.config.agents[start.agent]
        pattern = re.compile(agent.rate_limit_pattern) if agent.rate_limit_pattern else None

        def on_line(line: str) -> None:
            for said in record.parser.feed(line.replace(record.shown_root, "")):
                self.heard(record, said)
            if pattern is not None and not record.stop.is_set() and pattern.search(line):
                record.rate_limited = True
                record.stop.set("rate limit")

        return on_line

    def heard(self, record: _Attempt, said: Signal) -> None:
        """Act on one thing an agent's output said (the transcript is read from the log)."""
        task_id = record.task
        match said:
            case Progress():
                record.reported_progress = True
                self.emit(TaskProgress(self.now(), task_id, said.percent, said.message, False))
            case Activity():
                record.activity = said.message
                percent = float(max(record.shown_estimate, 0))
                self.emit(
                    TaskProgress(
                        self.now(), task_id, percent, said.message, not record.reported_progress
                    )
                )
            case SessionStarted():
                if said.session_id != record.session_id:
                    record.session_id = said.session_id
                    if self.recorder is not None and record.pgid is not None:
                        self.recorder.attempt_agent(
                            task_id, record.number, record.agent, said.session_id, record.runs_as
                        )
                        # Now, not at the loop's next wake-up: a pmtui killed from here on
                        # leaves a session that `--resume` continues.
                        self.recorder.flush()
            case Usage():
                if not said.model and record.model:
                    said = replace(said, model=record.model)
                total = self.priced(record.usage.add(said))
                if self.recorder is not None and record.pgid is not None:
                    self.recorder.attempt_usage(task_id, record.number, total)
                if not self.scheduler.finished_run:
                    # Over the task's own budget, the next decision stops it.
                    self.scheduler.spent(task_id, total.cost_usd, total.tokens, self.now())
                    self.waker.poke()
                self.emit(
                    TaskUsage(
                        self.now(),
                        task_id,
                        record.shown,
                        total.input_tokens,
                        total.output_tokens,
                        total.cache_read_tokens,
                        total.cost_usd,
                        total.turns,
                        total.model,
                    )
                )
            case Retrying():
                # Only a rate limit's retries: a connection refused or reset (no status) is
                # retried by the agent, which gives up by itself; requeued without counting,
                # it would loop for ever against an unreachable server.
                if said.status in RATE_LIMIT_STATUSES:
                    record.retries_seen += 1
                if record.retries_seen >= RETRIES_BEFORE_REQUEUE and not record.stop.is_set():
                    overloaded = said.status != 429
                    kind = RateLimitKind.OVERLOADED if overloaded else RateLimitKind.RATE
                    record.rate_limit = RateLimited(kind, said.message, said.status)
                    record.rate_limited = True
                    record.stop.set("rate limit")
            case RateLimited():
                record.rate_limit = said
            case _:
                pass

    def priced(self, usage: AttemptUsage) -> AttemptUsage:
        """The usage with its cost: as the agent reported it, else from `[prices]` by model
        (None when the model is not listed there)."""
        if usage.cost_usd is not None:
            return usage
        cost = price_usage(
            self.config.prices,
            usage.model,
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
        )
        return usage if cost is None else replace(usage, cost_usd=cost)

    def started(self, record: _Attempt, pid: int) -> None:
        record.pgid = pid
        if self.hard_paused:
            self._freeze(record, self.now())
        if self.recorder is not None:
            # The creation time (what tells a leftover from a reused pid after a crash) is
            # read at the first tick: most short tasks are gone before it, and reading it
            # here would cost a tenth of a short task's spawn.
            self.recorder.attempt_started(record.task, record.number, time.time(), pid, None)
            self.recorder.attempt_agent(
                record.task, record.number, record.agent, record.session_id, record.runs_as
            )
            # Committed now: a pmtui killed from here on leaves a group `--resume` must find.
            self.recorder.flush()

    def report(
        self,
        record: _Attempt,
        outcome: Outcome | None,
        result: AttemptResult | None,
        reason: str = "",
        *,
        exit_code: int | None = None,
        resume_at: float | None = None,
    ) -> None:
        peak_rss = None
        if record.pgid is not None:
            peak_rss = self.sampler.peak_memory(record.pgid) or None
            end_escaped(self.sampler.escaped(record.pgid))
            self.sampler.forget(record.pgid)
        self.attempts.pop(record.task, None)
        if result is not None:
            exit_code = result.exit_code
        if result is not None:
            reason = reason or result.reason
            if outcome is None:
                outcome = Outcome.SUCCEEDED if result.ok else Outcome.FAILED
            if outcome is Outcome.SUCCEEDED:
                reason = result.reason
        interrupted = outcome is Outcome.RATE_LIMITED or (result is not None and result.killed)
        self.remember_session(record, interrupted)
        if self.recorder is not None and record.pgid is not None:
            self.recorder.attempt_ended(
                record.task, record.number, time.time(), exit_code, reason, peak_rss, interrupted
            )
        if not self.scheduler.finished_run:
            self.scheduler.finished(
                record.task,
                self.now(),
                outcome or Outcome.FAILED,
                exit_code=exit_code,
                reason=reason,
                resume_at=resume_at,
            )
        self.waker.poke()

    def remember_session(self, record: _Attempt, interrupted: bool) -> None:
        """Keep the session the attempt had, for the task's next attempt to continue."""
        if record.session_id is None:
            self.sessions.pop(record.task, None)
            return
        before = record.resuming
        same = before is not None and before.session_id == record.session_id
        self.sessions[record.task] = LastSession(
            record.agent,
            record.session_id,
            interrupted,
            session_total(before.total if same and before else None, record.usage.total),
            record.runs_as,
        )

    # ------------------------------------------------------------------ the tick

    async def tick(self) -> None:
        cpu_per_agent = self.config.pool.cpu_per_agent
        limit = self.config.pool.memory_per_agent
        while True:
            await anyio.sleep(self.tick_s)
            running = {a.pgid: a for a in self.attempts.values() if a.pgid is not None}
            machine = await anyio.to_thread.run_sync(machine_sample)
            samples = await anyio.to_thread.run_sync(self.sampler.sample, list(running))
            now = self.now()
            usage = []
            for pgid, sample in samples.items():
                record = running.get(pgid)
                if record is None or self.attempts.get(record.task) is not record:
                    continue
                reason = over_memory(sample, limit)
                if reason is not None:
                    record.stop.set(reason)
                flagged = over_cpu(sample, cpu_per_agent)
                memory = sample.memory_bytes
                usage.append(TaskResources(record.task, memory, sample.cpu_percent, flagged))
            self.identify(running.values())
            if self.adopt_orphans:
                await anyio.to_thread.run_sync(self.end_orphans, False)
            self.saturated_streak = self.saturated_streak + 1 if machine.cpu_saturated else 0
            saturated = self.saturated_streak >= SATURATED_SAMPLES
            if self.scheduler.finished_run:
                continue
            self.scheduler.memory_available(machine.available_memory, now)
            self.scheduler.cpu_saturated(saturated, now)
            self.emit(
                ResourcesSampled(
                    now, machine.available_memory, machine.cpu_percent, saturated, tuple(usage)
                )
            )
            self.estimate_progress(now)
            self.waker.poke()

    def end_orphans(self, all_of_them: bool) -> None:
        """End what ended attempts left behind outside their groups (every one: at the end)."""
        running = [] if all_of_them else list(self.attempts.values())
        end_adopted(
            {record.pgid for record in running if record.pgid is not None},
            run_id=self.run_id,
            keep={(record.task, str(record.shown)) for record in running},
            adopted=self.adopted,
        )

    def identify(self, running: Iterable[_Attempt]) -> None:
        """Record the creation time of each running attempt's process, once."""
        if self.recorder is None:
            return
        for record in running:
            if record.identified or record.pgid is None:
                continue
            record.identified = True
            try:
                create_time = psutil.Process(record.pgid).create_time()
            except psutil.Error:
                continue
            self.recorder.attempt_identified(record.task, record.number, create_time)

    def estimate_progress(self, now: float) -> None:
        """Give every running agent that never reported progress its estimated bar."""
        for record in list(self.attempts.values()):
            if record.reported_progress or record.pgid is None:
                continue
            if record.estimate_s > 0:
                percent = min(ESTIMATED_CAP, 100.0 * record.active_s(now) / record.estimate_s)
            else:
                percent = ESTIMATED_CAP
            if int(percent) != record.shown_estimate:
                record.shown_estimate = int(percent)
                self.emit(
                    TaskProgress(now, record.task, float(int(percent)), record.activity, True)
                )

    # ------------------------------------------------------------------ the loop

    def abort_now(self) -> None:
        self.scheduler.abort(self.now(), self.abort_reason or "aborted")
        for record in list(self.attempts.values()):
            record.stop.set(self.abort_reason or "aborted")
        for stop in list(self.side_stops):
            stop.set(self.abort_reason or "aborted")
        self.carry_out(self.scheduler.decide(self.now()))

    async def loop(self, tasks: anyio.abc.TaskGroup) -> RunFinished:
        self.tasks = tasks
        try:
            while self.finished_event is None:
                wake = self.waker.renew()
                if self.abort_reason and not self.scheduler.finished_run:
                    self.abort_now()
                else:
                    self.carry_out(self.scheduler.decide(self.now()))
                if self.finished_event is not None:
                    break
                if self.recorder is not None:
                    self.recorder.flush()
                wakeup = self.scheduler.next_wakeup()
                delay = math.inf if wakeup is None else max(0.0, wakeup - self.now())
                with anyio.move_on_after(delay):
                    await wake.wait()
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                if not self.scheduler.finished_run:
                    self.abort_reason = self.abort_reason or "aborted"
                    self.abort_now()
            raise
        return self.finished_event


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
    control: RunControl | None = None,
    recorder: RunRecorder | None = None,
    continuation: Continuation | None = None,
    setup: SchedulerSetup | None = None,
    agent_env: Mapping[str, str] | None = None,
    adopt_orphans: bool = False,
    isolation: GitIsolation | None = None,
) -> RunFinished:
    """Run a validated plan to its end and return its `RunFinished` event (also emitted).

    Args:
        project: A project whose `ok` is true.
        max_parallel: `--max-parallel`.
        fail_fast: `--fail-fast`.
        emit: Receives every event, in order, starting with `RunStarted`.
        workdir: Where every task runs.
        run_id: Names the run (`PMTUI_RUN_ID`).
        log_dir: Receives `<task>.log` (every attempt, appended) and `<task>.prompt`.
        abort: When set, the run is aborted: every attempt is stopped, open tasks cancelled.
        tick_s: Seconds between resource samples.
        control: Receives the commands of a front end (pause, retry, skip, boost, abort).
        recorder: Saves every state change and attempt in the store.
        continuation: What the resumed run already did (done tasks, attempt numbers).
        setup: The scheduler's rules (default: the project's, with the options above);
            the estimates in it also size the estimated progress bars.
        agent_env: Added to every agent's environment (e.g. `PMTUI_DEMO_SPEED`).
        adopt_orphans: Make this process a child subreaper and end what attempts leave
            behind in sessions of their own (`orphans.py`). Process-wide, so for a pmtui
            process, not a test harness.
        isolation: The run's worktrees and merge queue: isolated attempts run in their
            task's worktree and are merged before they count as done. None: every task
            runs in `workdir`.

    Cancelling the caller aborts the run too (attempts' process groups are killed) and the
    cancellation goes on.
    """
    if setup is None:
        setup = project.scheduler_setup(max_parallel, fail_fast)
    if continuation is not None:
        setup = replace(
            setup,
            done_before=continuation.done,
            attempts_before=dict(continuation.attempts),
            spent_before_usd=continuation.spent_usd,
            tokens_before=continuation.tokens,
        )
    run = _LiveRun(
        project,
        setup,
        emit=emit,
        workdir=workdir,
        run_id=run_id,
        log_dir=log_dir,
        tick_s=tick_s,
        recorder=recorder,
        numbers={} if continuation is None else continuation.numbers,
        sessions=None if continuation is None else continuation.sessions,
        agent_env=agent_env or {},
        adopt_orphans=adopt_orphans and become_subreaper(),
        isolation=isolation,
    )
    if isolation is not None:
        isolation.emit, isolation.now = emit, run.now
    log_dir.mkdir(parents=True, exist_ok=True)
    emit(RunStarted(0.0, run_id, run.plan.path, len(run.graph.tasks), setup.slots))

    async def watch_abort(event: anyio.Event) -> None:
        await event.wait()
        run.abort("aborted")

    try:
        async with anyio.create_task_group() as tasks:
            run.tasks = tasks
            if control is not None:
                control._attach(run)
            helpers = anyio.CancelScope()

            async def helper_group() -> None:
                with helpers:
                    async with anyio.create_task_group() as inner:
                        inner.start_soon(run.tick)
                        if abort is not None:
                            inner.start_soon(watch_abort, abort)

            tasks.start_soon(helper_group)
            finished = await run.loop(tasks)
            helpers.cancel()
        # Here every attempt has reported and every process group is gone.
    finally:
        if isolation is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(isolation.close)
        if run.adopt_orphans:
            run.end_orphans(True)
        if recorder is not None:
            recorder.flush()
            if run.finished_event is not None:
                # Tasks the budget skipped are work left: `--resume --budget N` goes on.
                leftover = run.budget_skipped > 0
                recorder.run_finished(run.finished_event.status, time.time(), resumable=leftover)
    emit(finished)
    return finished
