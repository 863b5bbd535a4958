"""The scheduler: fed what happened, it answers what to do next (docs/design.md §4).

Inputs are method calls, each with the time it happened: an attempt `finished`, what it
`spent` so far, a memory or CPU reading, a user command (`pause`, `resume`, `retry`, `skip`,
`set_boost`, `abort`).
`decide(now)` then returns the decisions to carry out (`Start`, `Stop`) and the notices of
what happened, in order. The engine drives it with real processes and the wall clock, the
simulator with estimates and a virtual clock: the same code decides both.

Pure: no I/O, no clock, no threads.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Mapping
from typing import NamedTuple

from pmtui.config.units import format_duration, format_size
from pmtui.plan.files import shared_paths
from pmtui.plan.graph import PlanGraph, is_barrier
from pmtui.plan.model import Priority
from pmtui.scheduling.budget import RunBudget, Spending, SpendingStatus, task_budget_reason
from pmtui.scheduling.compat import Compatibility
from pmtui.scheduling.decisions import (
    BoostChanged,
    Outcome,
    Output,
    Paused,
    Resumed,
    RetryStep,
    RunFinished,
    RunStatus,
    Start,
    Stop,
    TaskFinished,
    TaskRetrying,
    TaskWaiting,
    WaitKind,
)
from pmtui.scheduling.ladder import (
    FailedAttempt,
    RateLimitBackoff,
    next_step,
    rate_limit_backoff,
    retry_delay,
)
from pmtui.scheduling.locks import FileLocks
from pmtui.scheduling.policies import sort_keys
from pmtui.scheduling.records import Chain, ReadyQueue, TaskRecord
from pmtui.scheduling.setup import SchedulerSetup
from pmtui.scheduling.states import TaskState, check_transition


class CommandRefused(Exception):  # noqa: N818 - reads as what happened
    """A user command that cannot apply now; the message says why, for the user."""


class SchedulerError(Exception):
    """The driver reported something impossible (an attempt that is not running)."""


class Hold(NamedTuple):
    """Why a task may not start now; with a `blocker` it is parked out of the ready queue
    until that ends (a running task's id, `#rate:<provider>`, `#budget`)."""

    kind: WaitKind
    reason: str
    blocker: str = ""


_BUDGET = "#budget"
"""The blocker of tasks the run's budget holds: it never ends, they end skipped instead."""


class Scheduler:
    """Decides which task starts where and when, and what happens after each attempt."""

    def __init__(self, graph: PlanGraph, setup: SchedulerSetup, *, now: float = 0.0) -> None:
        self.graph = graph
        self.setup = setup
        self._compat = Compatibility(setup.compat, setup.code_agents)
        self._locks = FileLocks()
        self._random = random.Random(setup.seed)
        keys = sort_keys(graph, setup.estimates, setup.strategy)
        self._queue = ReadyQueue(keys)
        """Tasks that may start as soon as a slot is free (parked ones are out of it)."""
        self._critical_queue = ReadyQueue(keys)
        """The critical tasks of `_queue`: the only ones the emergency boost slots take."""
        self._runs: dict[str, TaskRecord] = {}
        self._outbox: list[Output] = []
        self._slots: dict[int, str] = {}
        """Slot number → the task holding it."""
        self._started_at_time = now
        self._open = 0
        self._backoffs: list[tuple[float, str]] = []
        """`(ready_at, task)` of tasks in back-off; stale entries are skipped."""
        self._rate_limits: dict[str, RateLimitBackoff] = {}
        """Provider → its back-off after a rate limit, while it lasts."""
        self._rate_limit_streak: dict[str, int] = {}
        """Provider → rate limits in a row (reset by a success of any of its tasks)."""
        self._alone: list[str] = []
        """Tasks whose next attempt runs alone, first one first."""
        self._waiting_on: dict[str, set[str]] = {}
        """Blocker (see `TaskRecord.waiting_on`) → the tasks parked behind it."""
        self._paused = False
        self._hard_paused = False
        self._manual_boost = False
        self._announced_slots = setup.slots
        self._memory_available: int | None = None
        self._unmeasured: set[str] = set()
        """Tasks started since the last memory reading and still running: the reading cannot
        show what they will use yet, so each counts as `memory_per_agent` taken."""
        self._cpu_saturated = False
        self._stopping = ""
        """Why no new task starts any more (fail-fast), or ""."""
        self._aborted = ""
        self._finished = False
        self._lifted_waits = 0
        self._resolving: set[str] = set()
        """Conflicted tasks whose resolution is under way: the run does not end before."""
        self._unmet: dict[str, int] = {}
        self._budget = RunBudget(setup.max_cost_usd, setup.max_tokens)
        self._spending = Spending(setup.spent_before_usd, setup.tokens_before)
        self._budget_skipped = 0
        """Tasks skipped because the run's budget was spent."""
        self._to_stop: list[str] = []
        """Tasks over their own budget whose attempt `decide` stops (if it still runs)."""
        self._init_tasks(now)

    # ------------------------------------------------------------------ set-up

    def _init_tasks(self, now: float) -> None:
        done_before = self.setup.done_before
        for task_id, task in self.graph.tasks.items():
            done = task.done or task_id in done_before
            run = TaskRecord(
                TaskState.DONE if done else TaskState.PENDING, task.priority is Priority.CRITICAL
            )
            run.earlier_attempts = self.setup.attempts_before.get(task_id, 0)
            self._runs[task_id] = run
            if done:
                run.reason = "already done" if task.done else "done before the resume"
                self._notify(
                    TaskFinished(
                        now, task_id, TaskState.DONE, None, run.reason, run.earlier_attempts, 0
                    )
                )
            else:
                self._open += 1
        graph = self.graph.graph
        for node in graph.nodes:
            self._unmet[node] = graph.in_degree(node)
        for task_id, run in self._runs.items():
            if run.state is TaskState.DONE:
                self._satisfy(task_id)
        for node in graph.nodes:
            if is_barrier(node) and graph.in_degree(node) == 0:
                self._satisfy(node)
        for task_id, run in self._runs.items():
            if run.state is TaskState.PENDING and self._unmet[task_id] == 0:
                self._make_ready(task_id)

    # ------------------------------------------------------------------ queries

    @property
    def states(self) -> Mapping[str, TaskState]:
        """The state of every task, by id."""
        return {task_id: run.state for task_id, run in self._runs.items()}

    def state(self, task_id: str) -> TaskState:
        """The state of one task."""
        return self._runs[task_id].state

    def reason(self, task_id: str) -> str:
        """Why a task waits, or why it ended ("" otherwise)."""
        return self._runs[task_id].reason

    def blocker(self, task_id: str) -> str:
        """The running task a waiting task waits for ("" when none)."""
        run = self._runs[task_id]
        if run.waiting_on == "#chain" and run.chain is not None:
            return self.blocker(run.chain.head)
        return "" if run.waiting_on.startswith("#") else run.waiting_on

    def attempts(self, task_id: str) -> int:
        """How many attempts of the task have started (rate-limited ones not counted)."""
        return self._runs[task_id].attempts

    def attempt_number(self, task_id: str) -> int:
        """The number of the task's latest attempt (0 before its first), counting those
        before a resume or a user retry: what `Start.attempt` said."""
        run = self._runs[task_id]
        return run.earlier_attempts + run.attempts

    @property
    def running(self) -> Mapping[str, int]:
        """Tasks holding a slot, with their slot number."""
        return {task_id: slot for slot, task_id in sorted(self._slots.items())}

    @property
    def usable_slots(self) -> int:
        """The slots open now: normal ones, or the boosted count."""
        return self._announced_slots

    @property
    def paused(self) -> bool:
        """Whether new starts are paused by the user."""
        return self._paused

    @property
    def boosted(self) -> bool:
        """Whether the user turned the boost on."""
        return self._manual_boost

    @property
    def lifted_waits(self) -> int:
        """How many waits ended without a notice (a gate opened); grows, never resets."""
        return self._lifted_waits

    @property
    def rate_limits(self) -> Mapping[str, RateLimitBackoff]:
        """The providers backing off now, by provider (ended ones leave on `decide`)."""
        return dict(self._rate_limits)

    def rate_limit(self, task_id: str) -> RateLimitBackoff | None:
        """The back-off of the task's provider, if it backs off: what a front end shows as
        `rate limited (anthropic) until 14:05` (the pure reason cannot name a wall time)."""
        return self._rate_limits.get(self.setup.provider_of(task_id))

    @property
    def spending(self) -> SpendingStatus:
        """What the run has spent so far (earlier sessions included), against its budget."""
        spending = self._spending
        return SpendingStatus(
            spending.cost_usd,
            spending.tokens,
            self._budget,
            self._budget_reached(),
            frozenset(spending.unpriced),
        )

    def task_spent(self, task_id: str) -> float:
        """What a task spent in US dollars against its own budget (this session's attempts
        since the user last retried it)."""
        return self._spending.task_cost(task_id)

    def wait_kind(self, task_id: str) -> WaitKind | None:
        """What holds a waiting task back (None when it is not waiting)."""
        run = self._runs[task_id]
        return run.wait_kind if run.state is TaskState.WAITING else None

    @property
    def finished_run(self) -> bool:
        """Whether `RunFinished` has been returned."""
        return self._finished

    def next_wakeup(self) -> float | None:
        """The next time `decide` has something to do without any input (a back-off ends)."""
        if self._finished:
            return None
        while self._backoffs and self._stale_backoff(*self._backoffs[0]):
            heapq.heappop(self._backoffs)
        times = [self._backoffs[0][0]] if self._backoffs else []
        times.extend(backoff.until for backoff in self._rate_limits.values())
        return min(times) if times else None

    def _stale_backoff(self, ready_at: float, task_id: str) -> bool:
        run = self._runs[task_id]
        return run.state is not TaskState.RETRYING or run.ready_at != ready_at

    # ------------------------------------------------------------------ inputs

    def finished(
        self,
        task_id: str,
        now: float,
        outcome: Outcome,
        *,
        exit_code: int | None = None,
        reason: str = "",
        resume_at: float | None = None,
    ) -> None:
        """An attempt of `task_id` ended (or its stopped process is gone).

        Args:
            task_id: The task.
            now: When.
            outcome: How it ended.
            exit_code: The process's exit code, if it exited.
            reason: Why it failed, starting with a fixed word (`exit 1`, `timeout after 1s`).
            resume_at: For a rate limit, the reset time the agent reported (same clock as
                `now`): its provider backs off until then instead of the exponential delay.

        Raises:
            SchedulerError: The task holds no slot.
        """
        run = self._runs.get(task_id)
        if run is None or run.slot == 0:
            raise SchedulerError(f"task {task_id} has no running attempt to finish")
        self._release(task_id, run, still_alone=outcome is Outcome.RATE_LIMITED)
        if run.state.final:
            return  # stopped by a skip or an abort: it already ended
        run.last_duration_s = max(0.0, now - run.started_at)
        run.exit_code = exit_code
        provider = self.setup.provider_of(task_id)
        if outcome is Outcome.SUCCEEDED:
            self._rate_limit_streak.pop(provider, None)
            self._finish(task_id, TaskState.DONE, "", now)
            return
        if run.budget_stopped:
            # Over its own budget: it ends here, whatever the ladder would have tried.
            budget = task_budget_reason(self.setup.task_budgets[task_id])
            if outcome is Outcome.CONFLICT:
                self._failed_for_good(task_id, run, TaskState.CONFLICT, reason or budget, now)
            else:
                self._failed_for_good(task_id, run, TaskState.FAILED, budget, now)
            return
        if outcome is Outcome.RATE_LIMITED:
            self._rate_limited(task_id, run, provider, now, resume_at)
            return
        if reason:
            why = reason
        elif outcome is Outcome.CONFLICT:
            why = "conflict"
        else:
            why = f"exit {exit_code}" if exit_code is not None else "failed"
        self._after_failure(task_id, run, outcome, why, now)

    def spent(self, task_id: str, cost_usd: float | None, tokens: int, now: float) -> None:
        """What the task's current attempt has spent so far, as its agent reported it.

        The figures are the attempt's running totals: each call replaces the previous figure
        of the same attempt (the task's latest), and the figures of its earlier attempts are
        kept. Call it on every usage report of a running attempt (a report that comes after
        the attempt's end still counts for that attempt). The run's totals are the sum over
        every attempt, earlier sessions (`SchedulerSetup.spent_before_usd`) included.

        When the run's budget is reached, no new agent task starts (they wait, then end
        skipped once nothing else can run). When the task's own `(budget: $N)` is reached, a
        `Stop` comes from the next `decide`; report the attempt's end with `finished` as
        usual: the task then ends `failed` (`budget $N spent`) and is not retried.

        Args:
            task_id: The task.
            cost_usd: The attempt's cost so far in US dollars: the agent's own, else priced
                from `[prices]` (`pmtui.config.prices.price_usage`); None when unknown (the
                last known figure stands, the tokens still count).
            tokens: The attempt's tokens so far: input, output and cache.
            now: When.

        Raises:
            SchedulerError: No task has this id.
        """
        run = self._runs.get(task_id)
        if run is None:
            raise SchedulerError(f"no task {task_id} to count spending for")
        self._spending.report(task_id, cost_usd, tokens)
        budget = self.setup.task_budgets.get(task_id)
        if (
            budget is None
            or run.budget_stopped
            or run.state.final
            or self._spending.task_cost(task_id) < budget
        ):
            return
        if run.slot:
            run.budget_stopped = True
            self._to_stop.append(task_id)
        elif run.state in (TaskState.READY, TaskState.WAITING, TaskState.RETRYING):
            # A late report between two attempts: the next one never starts.
            run.budget_stopped = True
            self._failed_for_good(task_id, run, TaskState.FAILED, task_budget_reason(budget), now)

    def memory_available(self, available: int | None, now: float) -> None:
        """A reading of the machine's available memory in bytes (None: unknown, no gate)."""
        was_gated = self._memory_gated()
        self._memory_available = available
        self._unmeasured.clear()
        if was_gated and not self._memory_gated():
            self._lift_waits(WaitKind.MEMORY)

    def cpu_saturated(self, saturated: bool, now: float) -> None:
        """Whether the machine's CPU is saturated: then no new task starts (none is killed)."""
        if self._cpu_saturated and not saturated:
            self._lift_waits(WaitKind.CPU)
        self._cpu_saturated = saturated

    # ------------------------------------------------------------------ commands

    def pause(self, now: float, *, hard: bool = False) -> None:
        """Stop starting tasks; `hard` also asks the driver to stop running ones (SIGSTOP)."""
        self._refuse_if_over()
        if self._paused and self._hard_paused == hard:
            return
        self._paused = True
        self._hard_paused = hard
        self._notify(Paused(now, hard))

    def resume(self, now: float) -> None:
        """Start tasks again after a pause."""
        self._refuse_if_over()
        if not self._paused:
            return
        self._paused = False
        self._hard_paused = False
        self._notify(Resumed(now))
        self._lift_waits(WaitKind.PAUSED)

    def retry(self, task_id: str, now: float) -> None:
        """Retry a failed (or conflicted) task now: a new attempt, the retry budget counted
        afresh (its attempt numbers go on: logs and the store tell the attempts apart).

        Dependents it skipped are reopened.
        """
        self._refuse_if_over()
        run = self._run_of(task_id)
        if run.state not in (TaskState.FAILED, TaskState.CONFLICT):
            raise CommandRefused(
                f"task {task_id} is {run.state}: only a failed or conflicted task can be retried"
            )
        if self._stopping:
            raise CommandRefused(f"no task starts any more: {self._stopping}")
        self._transition(task_id, run, TaskState.READY)
        self._open += 1
        run.earlier_attempts += run.attempts
        run.attempts = 0
        run.reason = ""
        run.ran_beside_others = False
        run.budget_stopped = False
        self._spending.restart_task(task_id)
        number = run.earlier_attempts + 1
        self._notify(TaskRetrying(now, task_id, number, RetryStep.RETRY, 0.0, "retried by user"))
        self._enqueue(task_id, run)
        self._reopen_dependents(task_id, now)

    def begin_resolution(self, task_id: str) -> None:
        """The user chose how to resolve a conflicted task's conflict and its merge is under
        way: the run does not end before `end_resolution` (or `resolved`)."""
        self._refuse_if_over()
        run = self._run_of(task_id)
        if run.state is not TaskState.CONFLICT:
            raise CommandRefused(
                f"task {task_id} is {run.state}: only a task left in conflict can be resolved"
            )
        if task_id in self._resolving:
            raise CommandRefused(f"task {task_id} is being resolved already")
        self._resolving.add(task_id)

    def end_resolution(self, task_id: str) -> None:
        """The resolution of a task's conflict ended (landed or not): the run may end."""
        self._resolving.discard(task_id)

    def resolved(self, task_id: str, now: float, how: str) -> None:
        """A conflicted task's merge landed by the user's choice (`how`, e.g. `use_last`): it
        is done, and the dependents its conflict skipped are reopened.

        Raises:
            CommandRefused: The task is not in conflict, or the run ended (or was aborted).
        """
        self._refuse_if_over()
        run = self._run_of(task_id)
        if run.state is not TaskState.CONFLICT:
            raise CommandRefused(
                f"task {task_id} is {run.state}: only a task left in conflict can be resolved"
            )
        self._resolving.discard(task_id)
        self._transition(task_id, run, TaskState.DONE)
        run.reason = f"resolved: {how}"
        self._notify(
            TaskFinished(
                now,
                task_id,
                TaskState.DONE,
                run.exit_code,
                run.reason,
                run.earlier_attempts + run.attempts,
                run.last_duration_s,
            )
        )
        self._reopen_dependents(task_id, now)
        self._satisfy(task_id)

    def skip(self, task_id: str, now: float) -> None:
        """Skip a task that has not ended (stopping it if it runs), and its dependents."""
        self._refuse_if_over()
        run = self._run_of(task_id)
        if run.state.final:
            raise CommandRefused(f"task {task_id} is already {run.state}")
        self._finish(task_id, TaskState.SKIPPED, "skipped by user", now)

    def set_boost(self, on: bool, now: float) -> None:
        """Turn the manual boost on (slots up to `emergency_boost` for any task) or off."""
        self._refuse_if_over()
        if self.setup.boost_slots <= self.setup.slots:
            raise CommandRefused(
                f"no boost slots: emergency_boost ({self.setup.boost_slots}) is not above "
                f"the {self.setup.slots} normal slots"
            )
        changed = self._manual_boost != on
        self._manual_boost = on
        self._announce_slots(now, manual_changed=changed)

    def abort(self, now: float, reason: str = "aborted") -> None:
        """Stop everything: running attempts are stopped, every open task is cancelled."""
        if self._finished or self._aborted:
            return
        self._aborted = reason
        for task_id in self.graph.tasks:
            if not self._runs[task_id].state.final:
                self._finish(task_id, TaskState.CANCELLED, reason, now, cascade=False)

    def _refuse_if_over(self) -> None:
        if self._finished or self._aborted:
            raise CommandRefused("the run has ended")

    def _run_of(self, task_id: str) -> TaskRecord:
        run = self._runs.get(task_id)
        if run is None:
            raise CommandRefused(f"no task {task_id} in this plan")
        return run

    # ------------------------------------------------------------------ deciding

    def decide(self, now: float) -> list[Output]:
        """What to do now, and everything that happened since the last call, in order."""
        if not self._finished:
            self._stop_over_budget(now)
            self._end_backoffs(now)
            if not self._aborted:
                if self._stopping:
                    # A task requeued while the pool drains (a rate limit) can never start.
                    self._stop_the_rest(now)
                else:
                    self._start_what_fits(now)
                    self._end_for_budget(now)
                self._announce_slots(now)
            if self._open == 0 and not self._resolving and (self._aborted or not self._slots):
                self._finish_run(now)
        outputs, self._outbox = self._outbox, []
        return outputs

    def _stop_over_budget(self, now: float) -> None:
        """Stop the attempts of tasks that spent their own budget, if they still run."""
        for task_id in self._to_stop:
            run = self._runs[task_id]
            if run.slot and run.state is TaskState.RUNNING and run.budget_stopped:
                budget = self.setup.task_budgets[task_id]
                self._notify(Stop(now, task_id, task_budget_reason(budget)))
        self._to_stop.clear()

    def _end_backoffs(self, now: float) -> None:
        while self._backoffs and self._backoffs[0][0] <= now:
            ready_at, task_id = heapq.heappop(self._backoffs)
            run = self._runs[task_id]
            if not self._stale_backoff(ready_at, task_id):
                self._transition(task_id, run, TaskState.READY)
                self._enqueue(task_id, run)
        for provider, backoff in list(self._rate_limits.items()):
            if backoff.until <= now:
                del self._rate_limits[provider]
                self._unpark(f"#rate:{provider}")

    def _start_what_fits(self, now: float) -> None:
        while self._alone:
            first = self._alone[0]
            self._start_alone(now)
            if self._alone and self._alone[0] == first:
                return
            # (The task to run alone ended for the budget: the next one, or the others, go on.)
        # Counts, not lists of slot numbers: `--max-parallel` may be large.
        normal_slots = self.setup.slots
        in_normal = sum(1 for slot in self._slots if slot <= normal_slots)
        free_normal = normal_slots - in_normal
        free_boost = self.setup.boost_slots - normal_slots - (len(self._slots) - in_normal)
        if not self._manual_boost:
            # Tasks the manual boost let into slots 6–8 count against the normal slots once it
            # is off, so no more than `slots` run; critical tasks there are the emergency boost.
            overflow = sum(
                1
                for slot, task_id in self._slots.items()
                if slot > normal_slots and not self._runs[task_id].critical
            )
            free_normal = max(free_normal - overflow, 0)
        would_start = free_normal + free_boost * self._manual_boost
        if self._paused:
            self._hold_front(Hold(WaitKind.PAUSED, "paused"), would_start, now)
            return
        queue = self._queue
        index = 0
        while free_normal or free_boost:
            if not free_normal and not self._manual_boost and queue is self._queue:
                queue, index = self._critical_queue, 0  # only boost slots are left
            task_id = queue.at(index)
            if task_id is None:
                return
            run = self._runs[task_id]
            hold = self._hold(task_id, now)
            if hold is not None:
                self._wait(task_id, run, hold, now)
                if not hold.blocker:
                    index += 1  # still queued; a parked task left the queue by itself
                continue
            gate = self._resource_gate()
            if gate is not None:
                self._hold_front(gate, would_start, now)
                return
            if free_normal:
                free_normal -= 1
                slot = self._lowest_free_slot(1)
            else:
                free_boost -= 1
                slot = self._lowest_free_slot(normal_slots + 1)
            self._start(task_id, run, slot, now, alone=False)

    def _lowest_free_slot(self, first: int) -> int:
        """The lowest slot number from `first` on that no task holds."""
        slot = first
        while slot in self._slots:
            slot += 1
        return slot

    def _start_alone(self, now: float) -> None:
        """The sequential rung: drain the pool, run the first task of `_alone` by itself."""
        task_id = self._alone[0]
        run = self._runs[task_id]
        free = self.setup.slots - sum(1 for slot in self._slots if slot <= self.setup.slots)
        for index in range(min(free + 1, len(self._queue))):
            other = self._queue.at(index)
            if other is not None and other != task_id:
                reason = f"sequential: {task_id} runs alone first"
                self._wait(other, self._runs[other], Hold(WaitKind.SEQUENTIAL, reason), now)
        if run.state not in (TaskState.READY, TaskState.WAITING):
            return  # still in its back-off, or running alone now
        if self._slots:
            others = len(self._slots)
            reason = f"sequential: runs alone once the {others} running task" + (
                "s end" if others != 1 else " ends"
            )
            self._wait(task_id, run, Hold(WaitKind.SEQUENTIAL, reason), now)
            return
        if self._held_by_budget(task_id):
            # Everything else waits for it, and it will never start: it ends now.
            self._skip_for_budget(task_id, now)
            return
        hold = Hold(WaitKind.PAUSED, "paused") if self._paused else self._hold(task_id, now)
        if hold is not None:
            self._wait(task_id, run, hold, now)
            return
        self._start(task_id, run, 1, now, alone=True)

    def _budget_reached(self) -> bool:
        return self._budget.reached(self._spending.cost_usd, self._spending.tokens)

    def _held_by_budget(self, task_id: str) -> bool:
        """Whether the run's budget keeps this task from starting (agent tasks only)."""
        return task_id in self.setup.metered and self._budget_reached()

    def _budget_reason(self) -> str:
        return self._budget.reason(self._spending.cost_usd, self._spending.tokens)

    def _skip_for_budget(self, task_id: str, now: float) -> None:
        self._budget_skipped += 1
        self._finish(task_id, TaskState.SKIPPED, self._budget_reason(), now)

    def _end_for_budget(self, now: float) -> None:
        """When nothing else can run, the tasks the run's budget holds end skipped.

        "Nothing else": no task runs (so no dependency will end done, no spending change),
        no conflict is being resolved, and every task that is not pending is an agent task,
        which the budget keeps from starting now and for the rest of the run.
        """
        if self._slots or self._resolving or not self._budget_reached():
            return
        held: list[str] = []
        for task_id, run in self._runs.items():
            if run.state.final or run.state is TaskState.PENDING:
                continue
            if task_id not in self.setup.metered:
                return  # it may still start (after a back-off, a pause…)
            held.append(task_id)
        for task_id in held:
            if not self._runs[task_id].state.final:
                self._skip_for_budget(task_id, now)

    def _resource_gate(self) -> Hold | None:
        """Why the machine cannot take one more agent now, or None.

        With nothing of ours running, waiting cannot free what we hold: one task starts so
        the run always ends (as `make -l` starts a job when none runs, whatever the load).
        """
        if not self._slots:
            return None
        if self._cpu_saturated:
            return Hold(WaitKind.CPU, "cpu: the machine's CPU is saturated")
        if self._memory_gated():
            return Hold(WaitKind.MEMORY, self._memory_reason())
        return None

    def _memory_gated(self) -> bool:
        if self._memory_available is None or not self._slots:
            return False
        budget = self._memory_available - len(self._unmeasured) * self.setup.memory_per_agent
        return budget < self.setup.memory_per_agent

    def _memory_reason(self) -> str:
        available = self._memory_available or 0
        return (
            f"memory: {format_size(max(available, 0))} available, "
            f"{format_size(self.setup.memory_per_agent)} needed per agent"
        )

    def _hold_front(self, hold: Hold, count: int, now: float) -> None:
        """Mark the first `count` queued tasks that would start now as held by `hold`.

        Tasks parked behind a running task or a rate limit are not in the queue: they keep
        that reason, as they would not start anyway.
        """
        for index in range(min(count, len(self._queue))):
            task_id = self._queue.at(index)
            assert task_id is not None
            self._wait(task_id, self._runs[task_id], hold, now)

    def _hold(self, task_id: str, now: float) -> Hold | None:
        """Why this task may not start beside the running ones."""
        if self._held_by_budget(task_id):
            return Hold(WaitKind.BUDGET, self._budget_reason(), _BUDGET)
        agent = self.setup.agents[task_id]
        backoff = self._rate_limits.get(self.setup.provider_of(task_id))
        if backoff is not None:
            return Hold(
                WaitKind.RATE_LIMIT, _rate_limit_reason(backoff, now), f"#rate:{backoff.provider}"
            )
        running = [(other, self.setup.agents[other]) for other in self._slots.values()]
        clash = self._compat.clash(agent, running)
        if clash is not None:
            return Hold(WaitKind.COMPATIBILITY, *clash)
        if task_id in self.setup.isolated or self._runs[task_id].partitioned:
            return None
        blocked = self._locks.blocker(
            agent, self.graph.tasks[task_id].files, self._compat.same_cluster
        )
        if blocked is not None:
            holder, path = blocked
            return Hold(WaitKind.FILE_LOCK, f"file lock: {path} is in use", holder)
        return None

    # ------------------------------------------------------------------ transitions

    def _transition(self, task_id: str, run: TaskRecord, target: TaskState) -> None:
        check_transition(task_id, run.state, target)
        if target not in (TaskState.READY, TaskState.WAITING):
            self._dequeue(task_id, run)
        run.state = target

    def _enqueue(self, task_id: str, run: TaskRecord) -> None:
        """Put a task that just became ready (or stopped being parked) into the ready queue."""
        self._queue.add(task_id)
        if run.critical:
            self._critical_queue.add(task_id)

    def _dequeue(self, task_id: str, run: TaskRecord) -> None:
        self._queue.remove(task_id)
        if run.critical:
            self._critical_queue.remove(task_id)

    def _make_ready(self, task_id: str) -> None:
        run = self._runs[task_id]
        self._transition(task_id, run, TaskState.READY)
        self._enqueue(task_id, run)

    def _wait(self, task_id: str, run: TaskRecord, hold: Hold, now: float) -> None:
        """Hold a task back; with a `blocker`, park it out of the queue until that ends.

        A notice goes out only when the reason changes, so a task held by one rule after
        another (the next holder of the same lock) is announced once.
        """
        self._unregister_wait(task_id, run)
        kind, reason, blocker = hold
        if blocker:
            run.waiting_on = blocker
            self._waiting_on.setdefault(blocker, set()).add(task_id)
            self._dequeue(task_id, run)
        if run.state is TaskState.WAITING and run.reason == reason:
            return
        if run.state is not TaskState.WAITING:
            self._transition(task_id, run, TaskState.WAITING)
        run.reason = reason
        run.wait_kind = kind
        self._notify(TaskWaiting(now, task_id, reason, kind))
        if run.chain is not None and run.chain.head == task_id:
            # Its followers are held by the same rule (rare: the rule changed).
            for follower in reversed(run.chain.followers):
                follower_run = self._runs[follower]
                if follower_run.state is TaskState.WAITING and follower_run.reason != reason:
                    follower_run.reason = reason
                    follower_run.wait_kind = kind
                    self._notify(TaskWaiting(now, follower, reason, kind))

    def _unregister_wait(self, task_id: str, run: TaskRecord) -> None:
        if run.waiting_on:
            self._waiting_on.get(run.waiting_on, set()).discard(task_id)
            run.waiting_on = ""

    def _unpark(self, blocker: str) -> None:
        """`blocker` ended: the tasks parked behind it go back into the queue, still
        waiting with their reason until `decide` checks them again.

        Alike tasks go back as one `Chain`: only its head is queued.
        """
        alike: dict[tuple[object, ...], list[str]] = {}
        for waiter in self._waiting_on.pop(blocker, ()):
            run = self._runs[waiter]
            run.waiting_on = ""
            if run.state is not TaskState.WAITING:
                continue
            if run.chain is not None:  # the head of a chain: its followers come along
                self._enqueue(waiter, run)
                continue
            alike.setdefault(self._hold_profile(waiter, run), []).append(waiter)
        for members in alike.values():
            members.sort(key=self._queue.key)
            head = members[0]
            self._enqueue(head, self._runs[head])
            if len(members) > 1:
                chain = Chain(head, members[:0:-1])
                for member in members:
                    self._runs[member].chain = chain
                for follower in members[1:]:
                    self._runs[follower].waiting_on = "#chain"

    def _hold_profile(self, task_id: str, run: TaskRecord) -> tuple[object, ...]:
        """What `_hold` and the slot rules look at: tasks alike in it are treated alike."""
        isolated = task_id in self.setup.isolated or run.partitioned
        metered = task_id in self.setup.metered
        agent = self.setup.agents[task_id]
        return (agent, self.graph.tasks[task_id].files, isolated, run.critical, metered)

    def _hand_over(self, task_id: str, run: TaskRecord) -> None:
        """The head of a chain starts or ends: the next follower still waiting is queued."""
        chain = run.chain
        run.chain = None
        if chain is None or chain.head != task_id:
            return
        while chain.followers:
            follower = chain.followers.pop()
            follower_run = self._runs[follower]
            if follower_run.state is TaskState.WAITING:
                chain.head = follower
                follower_run.waiting_on = ""
                if not chain.followers:
                    follower_run.chain = None
                self._enqueue(follower, follower_run)
                return

    def _lift_waits(self, kind: WaitKind) -> None:
        """A gate opened: tasks it held are ready again (and re-checked on `decide`)."""
        for index in range(len(self._queue)):
            task_id = self._queue.at(index)
            assert task_id is not None
            run = self._runs[task_id]
            if run.state is TaskState.WAITING and run.wait_kind is kind:
                self._transition(task_id, run, TaskState.READY)
                run.reason = ""
                self._lifted_waits += 1

    def _start(self, task_id: str, run: TaskRecord, slot: int, now: float, *, alone: bool) -> None:
        self._transition(task_id, run, TaskState.RUNNING)
        self._unregister_wait(task_id, run)
        self._hand_over(task_id, run)
        run.reason = ""
        run.attempts += 1
        self._spending.new_attempt(task_id)
        run.slot = slot
        run.started_at = now
        run.attempt_isolated = task_id in self.setup.isolated or run.partitioned
        run.shared_files = False
        run.exit_code = None
        agent = self.setup.agents[task_id]
        files = self.graph.tasks[task_id].files
        for other in self._slots.values():
            other_run = self._runs[other]
            other_run.ran_beside_others = True
            run.ran_beside_others = True
            # Locks keep apart every other pair that shares files.
            other_files = self.graph.tasks[other].files
            if (
                files
                and other_files
                and (
                    run.attempt_isolated
                    or other_run.attempt_isolated
                    or self._compat.same_cluster(agent, self.setup.agents[other])
                )
                and shared_paths(files, other_files)
            ):
                other_run.shared_files = True
                run.shared_files = True
        self._slots[slot] = task_id
        if not run.attempt_isolated:
            self._locks.take(task_id, agent, files)
        self._unmeasured.add(task_id)
        number = run.earlier_attempts + run.attempts
        self._notify(Start(now, task_id, agent, slot, number, run.attempt_isolated, alone))

    def _release(self, task_id: str, run: TaskRecord, *, still_alone: bool) -> None:
        """Free the slot and locks of a task whose process ended; wake what it held back."""
        self._slots.pop(run.slot, None)
        self._unmeasured.discard(task_id)
        run.slot = 0
        self._locks.release(task_id)
        if self._alone and self._alone[0] == task_id and (run.state.final or not still_alone):
            self._alone.pop(0)
            self._lift_waits(WaitKind.SEQUENTIAL)
        self._unpark(task_id)

    def _rate_limited(
        self, task_id: str, run: TaskRecord, provider: str, now: float, resume_at: float | None
    ) -> None:
        """Requeue the attempt without counting it; the provider backs off (a later end
        replaces the current back-off, an earlier one does not shorten it)."""
        run.attempts -= 1
        streak = self._rate_limit_streak.get(provider, 0) + 1
        self._rate_limit_streak[provider] = streak
        first = self.setup.rate_limit_backoff_s
        backoff = rate_limit_backoff(provider, now, streak, resume_at, first)
        current = self._rate_limits.get(provider)
        blocker = f"#rate:{provider}"
        if current is None or current.until < backoff.until:
            self._rate_limits[provider] = backoff
            # Tasks already parked behind the provider wait longer now: say so.
            for waiter in sorted(self._waiting_on.get(blocker, ())):
                waiting = self._runs[waiter]
                hold = Hold(WaitKind.RATE_LIMIT, _rate_limit_reason(backoff, now), blocker)
                self._wait(waiter, waiting, hold, now)
        else:
            backoff = current
        run.exit_code = None  # the attempt does not count
        self._transition(task_id, run, TaskState.WAITING)
        run.reason = ""
        self._wait(
            task_id, run, Hold(WaitKind.RATE_LIMIT, _rate_limit_reason(backoff, now), blocker), now
        )

    def _after_failure(
        self, task_id: str, run: TaskRecord, outcome: Outcome, why: str, now: float
    ) -> None:
        final = TaskState.CONFLICT if outcome is Outcome.CONFLICT else TaskState.FAILED
        step = None
        if not self._stopping:
            step = next_step(
                FailedAttempt(
                    attempts_made=run.attempts,
                    attempts_allowed=1 + self.setup.retries_of(task_id),
                    ran_beside_others=run.ran_beside_others,
                    shared_files=run.shared_files or outcome is Outcome.CONFLICT,
                    isolated=run.attempt_isolated,
                    can_isolate=self.setup.can_isolate,
                    sequential_allowed=not self.setup.abort_on_failure,
                )
            )
        if step is None:
            self._failed_for_good(task_id, run, final, why, now)
            return
        delay = 0.0
        if step is RetryStep.SEQUENTIAL:
            self._alone.append(task_id)
        else:
            delay = retry_delay(run.attempts, self.setup.retry_delay_s, self._random.uniform(-1, 1))
            if step is RetryStep.PARTITION:
                run.partitioned = True
        self._transition(task_id, run, TaskState.RETRYING)
        run.reason = why
        run.last_failure = why
        run.ready_at = now + delay
        heapq.heappush(self._backoffs, (run.ready_at, task_id))
        number = run.earlier_attempts + run.attempts + 1
        self._notify(TaskRetrying(now, task_id, number, step, delay, why))

    def _failed_for_good(
        self, task_id: str, run: TaskRecord, final: TaskState, why: str, now: float
    ) -> None:
        """The task ends failed (or in conflict) with no attempt left: a critical task's
        failure, or any under `fallback_mode = "abort"`, aborts; `--fail-fast` stops."""
        self._finish(task_id, final, why, now)
        if final is TaskState.FAILED and (run.critical or self.setup.abort_on_failure):
            self.abort(now, self._abort_reason(task_id, run.critical, why))
        elif self.setup.fail_fast and not self._stopping:
            self._stopping = f"fail-fast: stopped after {task_id} {final}"
            self._stop_the_rest(now)

    @staticmethod
    def _abort_reason(task_id: str, critical: bool, why: str) -> str:
        cause = "critical task" if critical else "fallback_mode is abort:"
        return f"aborted: {cause} {task_id} failed ({why})"

    def _finish(
        self, task_id: str, state: TaskState, reason: str, now: float, *, cascade: bool = True
    ) -> None:
        """Put a task in a final state; skip its dependents when it did not end done."""
        run = self._runs[task_id]
        if run.slot and state is not TaskState.DONE:
            # Its process still runs: stop it; the slot frees when the driver reports the end.
            self._notify(Stop(now, task_id, reason))
            run.last_duration_s = max(0.0, now - run.started_at)
        self._transition(task_id, run, state)
        self._unregister_wait(task_id, run)
        self._hand_over(task_id, run)
        if task_id in self._alone and not run.slot:
            # (A task stopped while running alone leaves `_alone` when its process is gone.)
            first = self._alone[0] == task_id
            self._alone.remove(task_id)
            if first:
                self._lift_waits(WaitKind.SEQUENTIAL)
        run.reason = reason
        self._open -= 1
        self._notify(
            TaskFinished(
                now,
                task_id,
                state,
                run.exit_code,
                reason,
                run.earlier_attempts + run.attempts,
                run.last_duration_s if run.attempts else 0.0,
            )
        )
        if state is TaskState.DONE:
            self._satisfy(task_id)
        elif cascade:
            self._skip_dependents(task_id, state, now)

    def _satisfy(self, node: str) -> None:
        """`node` is done: its dependents have one dependency less to wait for."""
        stack = [node]
        while stack:
            current = stack.pop()
            for successor in self.graph.graph.successors(current):
                self._unmet[successor] -= 1
                if self._unmet[successor]:
                    continue
                if is_barrier(successor):
                    stack.append(successor)
                elif self._runs[successor].state is TaskState.PENDING:
                    self._make_ready(successor)

    def _skip_dependents(self, task_id: str, state: TaskState, now: float) -> None:
        """Skip every open task that waits for `task_id`, directly or not."""
        ended = "ended in conflict" if state is TaskState.CONFLICT else str(state)
        # (node to expand, the task whose end skips what waits on that node, how it ended)
        stack: list[tuple[str, str, str]] = [(task_id, task_id, ended)]
        seen_barriers: set[str] = set()
        while stack:
            current, cause, how = stack.pop()
            for successor in self.graph.graph.successors(current):
                if is_barrier(successor):
                    if successor not in seen_barriers:
                        seen_barriers.add(successor)
                        stack.append((successor, cause, how))
                    continue
                run = self._runs[successor]
                if run.state.final:
                    continue
                run.skip_cause = cause
                reason = f"dependency {cause} {how}"
                self._finish(successor, TaskState.SKIPPED, reason, now, cascade=False)
                stack.append((successor, successor, "skipped"))

    def _reopen_dependents(self, task_id: str, now: float) -> None:
        """Undo the skips caused by `task_id`, now that it is retried."""
        stack = [task_id]
        while stack:
            cause = stack.pop()
            for dependent in self.graph.dependents(cause):
                run = self._runs[dependent]
                if run.state is not TaskState.SKIPPED or not run.skip_cause:
                    continue  # skipped by the user or by fail-fast: stays skipped
                blocking = next(
                    (
                        other
                        for other in self.graph.dependencies(dependent)
                        if self._runs[other].state.blocks_dependents
                    ),
                    None,
                )
                if blocking is not None:
                    run.skip_cause = blocking
                    continue
                self._transition(dependent, run, TaskState.PENDING)
                run.reason = f"dependency {cause} retried"
                run.skip_cause = ""
                self._open += 1
                self._notify(TaskWaiting(now, dependent, run.reason, WaitKind.DEPENDENCY))
                stack.append(dependent)

    def _stop_the_rest(self, now: float) -> None:
        """Fail-fast: every task that is not running ends now; running ones finish."""
        aborting = ""
        for task_id in self.graph.tasks:
            run = self._runs[task_id]
            if run.state.final or run.slot:
                continue
            if run.attempts:  # its last attempt failed and the next one will not come
                self._finish(task_id, TaskState.FAILED, run.last_failure, now, cascade=False)
                if not aborting and (run.critical or self.setup.abort_on_failure):
                    aborting = self._abort_reason(task_id, run.critical, run.last_failure)
            else:
                self._finish(task_id, TaskState.SKIPPED, self._stopping, now, cascade=False)
        if aborting:
            self.abort(now, aborting)

    def _announce_slots(self, now: float, *, manual_changed: bool = False) -> None:
        """Tell when the usable slot count changes (boost opened or closed)."""
        critical_boosted = any(
            slot > self.setup.slots and self._runs[task_id].critical
            for slot, task_id in self._slots.items()
        )
        boosted = self._manual_boost or critical_boosted
        slots = self.setup.boost_slots if boosted else self.setup.slots
        if slots != self._announced_slots or manual_changed:
            self._announced_slots = slots
            self._notify(BoostChanged(now, slots, self._manual_boost))

    def _finish_run(self, now: float) -> None:
        counts = {state: 0 for state in TaskState}
        for run in self._runs.values():
            counts[run.state] += 1
        if self._aborted:
            status = RunStatus.ABORTED
        elif counts[TaskState.FAILED] or counts[TaskState.CANCELLED] or self._budget_skipped:
            status = RunStatus.FAILED
        elif counts[TaskState.CONFLICT]:
            status = RunStatus.CONFLICT
        else:
            status = RunStatus.OK
        self._finished = True
        self._notify(
            RunFinished(
                now,
                status,
                done=counts[TaskState.DONE],
                failed=counts[TaskState.FAILED],
                skipped=counts[TaskState.SKIPPED],
                cancelled=counts[TaskState.CANCELLED],
                conflicts=counts[TaskState.CONFLICT],
                duration_s=now - self._started_at_time,
                reason=self._aborted,
                budget_skipped=self._budget_skipped,
            )
        )

    def _notify(self, output: Output) -> None:
        self._outbox.append(output)


def _rate_limit_reason(backoff: RateLimitBackoff, now: float) -> str:
    """`rate limited (anthropic): back off 4m10s`: the time left from `now`.

    A front end that knows the wall clock shows `until 14:05` from `Scheduler.rate_limit`.
    """
    left = format_duration(max(backoff.until - now, 0.0))
    return f"rate limited ({backoff.provider}): back off {left}"
