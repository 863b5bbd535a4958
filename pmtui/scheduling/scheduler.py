"""The scheduler: fed what happened, it answers what to do next (DESIGN.md §4).

Inputs are method calls, each with the time it happened: an attempt `finished`, a memory or
CPU reading, a user command (`pause`, `resume`, `retry`, `skip`, `set_boost`, `abort`).
`decide(now)` then returns the decisions to carry out (`Start`, `Stop`) and the notices of
what happened, in order. The engine drives it with real processes and the wall clock, the
simulator with estimates and a virtual clock: the same code decides both.

Pure: no I/O, no clock, no threads.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Mapping

from pmtui.config.units import format_duration, format_size
from pmtui.plan.files import shared_paths
from pmtui.plan.graph import PlanGraph, is_barrier
from pmtui.plan.model import Priority
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
)
from pmtui.scheduling.ladder import FailedAttempt, next_step, rate_limit_delay, retry_delay
from pmtui.scheduling.locks import FileLocks
from pmtui.scheduling.policies import sort_keys
from pmtui.scheduling.records import Chain, ReadyQueue, TaskRecord
from pmtui.scheduling.setup import SchedulerSetup
from pmtui.scheduling.states import TaskState, check_transition


class CommandRefused(Exception):  # noqa: N818 - reads as what happened
    """A user command that cannot apply now; the message says why, for the user."""


class SchedulerError(Exception):
    """The driver reported something impossible (an attempt that is not running)."""


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
        self._agent_backoff: dict[str, tuple[float, float]] = {}
        """Agent → (until, delay) while it backs off after a rate limit."""
        self._rate_limit_streak: dict[str, int] = {}
        """Agent → rate limits in a row (reset by a success)."""
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
        times.extend(until for until, _ in self._agent_backoff.values())
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
    ) -> None:
        """An attempt of `task_id` ended (or its stopped process is gone).

        Args:
            task_id: The task.
            now: When.
            outcome: How it ended.
            exit_code: The process's exit code, if it exited.
            reason: Why it failed, starting with a fixed word (`exit 1`, `timeout after 1s`).

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
        agent = self.setup.agents[task_id]
        if outcome is Outcome.SUCCEEDED:
            self._rate_limit_streak.pop(agent, None)
            self._finish(task_id, TaskState.DONE, "", now)
            return
        if outcome is Outcome.RATE_LIMITED:
            self._rate_limited(task_id, run, agent, now)
            return
        if reason:
            why = reason
        elif outcome is Outcome.CONFLICT:
            why = "conflict"
        else:
            why = f"exit {exit_code}" if exit_code is not None else "failed"
        self._after_failure(task_id, run, outcome, why, now)

    def memory_available(self, available: int | None, now: float) -> None:
        """A reading of the machine's available memory in bytes (None: unknown, no gate)."""
        was_gated = self._memory_gated()
        self._memory_available = available
        self._unmeasured.clear()
        if was_gated and not self._memory_gated():
            self._lift_waits("memory:")

    def cpu_saturated(self, saturated: bool, now: float) -> None:
        """Whether the machine's CPU is saturated: then no new task starts (none is killed)."""
        if self._cpu_saturated and not saturated:
            self._lift_waits("cpu:")
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
        self._lift_waits("paused")

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
            self._end_backoffs(now)
            if not self._aborted:
                if self._stopping:
                    # A task requeued while the pool drains (a rate limit) can never start.
                    self._stop_the_rest(now)
                else:
                    self._start_what_fits(now)
                self._announce_slots(now)
            if self._open == 0 and not self._resolving and (self._aborted or not self._slots):
                self._finish_run(now)
        outputs, self._outbox = self._outbox, []
        return outputs

    def _end_backoffs(self, now: float) -> None:
        while self._backoffs and self._backoffs[0][0] <= now:
            ready_at, task_id = heapq.heappop(self._backoffs)
            run = self._runs[task_id]
            if not self._stale_backoff(ready_at, task_id):
                self._transition(task_id, run, TaskState.READY)
                self._enqueue(task_id, run)
        for agent, (until, _) in list(self._agent_backoff.items()):
            if until <= now:
                del self._agent_backoff[agent]
                self._unpark(f"#rate:{agent}")

    def _start_what_fits(self, now: float) -> None:
        if self._alone:
            self._start_alone(now)
            return
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
            self._hold_front("paused", would_start, now)
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
            hold = self._hold(task_id)
            if hold is not None:
                self._wait(task_id, run, hold[0], hold[1], now)
                if not hold[1]:
                    index += 1  # still queued; a parked task left the queue by itself
                continue
            gate = self._resource_gate()
            if gate:
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
                self._wait(other, self._runs[other], reason, "", now)
        if run.state not in (TaskState.READY, TaskState.WAITING):
            return  # still in its back-off, or running alone now
        if self._slots:
            others = len(self._slots)
            self._wait(
                task_id,
                run,
                f"sequential: runs alone once the {others} running task"
                + ("s end" if others != 1 else " ends"),
                "",
                now,
            )
            return
        hold = ("paused", "") if self._paused else self._hold(task_id)
        if hold is not None:
            self._wait(task_id, run, hold[0], hold[1], now)
            return
        self._start(task_id, run, 1, now, alone=True)

    def _resource_gate(self) -> str:
        """Why the machine cannot take one more agent now, or "".

        With nothing of ours running, waiting cannot free what we hold: one task starts so
        the run always ends (as `make -l` starts a job when none runs, whatever the load).
        """
        if not self._slots:
            return ""
        if self._cpu_saturated:
            return "cpu: the machine's CPU is saturated"
        if self._memory_gated():
            return self._memory_reason()
        return ""

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

    def _hold_front(self, reason: str, count: int, now: float) -> None:
        """Mark the first `count` queued tasks that would start now as waiting for `reason`.

        Tasks parked behind a running task or a rate limit are not in the queue: they keep
        that reason, as they would not start anyway.
        """
        for index in range(min(count, len(self._queue))):
            task_id = self._queue.at(index)
            assert task_id is not None
            self._wait(task_id, self._runs[task_id], reason, "", now)

    def _hold(self, task_id: str) -> tuple[str, str] | None:
        """Why this task may not start beside the running ones: `(reason, blocker)`."""
        agent = self.setup.agents[task_id]
        backoff = self._agent_backoff.get(agent)
        if backoff is not None:
            reason = f"rate limit: {agent} backs off for {format_duration(backoff[1])}"
            return reason, f"#rate:{agent}"
        running = [(other, self.setup.agents[other]) for other in self._slots.values()]
        clash = self._compat.clash(agent, running)
        if clash is not None:
            return clash
        if task_id in self.setup.isolated or self._runs[task_id].partitioned:
            return None
        blocked = self._locks.blocker(
            agent, self.graph.tasks[task_id].files, self._compat.same_cluster
        )
        if blocked is not None:
            holder, path = blocked
            return f"file lock: {path} is in use", holder
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

    def _wait(self, task_id: str, run: TaskRecord, reason: str, blocker: str, now: float) -> None:
        """Hold a task back; with a `blocker`, park it out of the queue until that ends.

        A notice goes out only when the reason changes, so a task held by one rule after
        another (the next holder of the same lock) is announced once.
        """
        self._unregister_wait(task_id, run)
        if blocker:
            run.waiting_on = blocker
            self._waiting_on.setdefault(blocker, set()).add(task_id)
            self._dequeue(task_id, run)
        if run.state is TaskState.WAITING and run.reason == reason:
            return
        if run.state is not TaskState.WAITING:
            self._transition(task_id, run, TaskState.WAITING)
        run.reason = reason
        self._notify(TaskWaiting(now, task_id, reason))
        if run.chain is not None and run.chain.head == task_id:
            # Its followers are held by the same rule (rare: the rule changed).
            for follower in reversed(run.chain.followers):
                follower_run = self._runs[follower]
                if follower_run.state is TaskState.WAITING and follower_run.reason != reason:
                    follower_run.reason = reason
                    self._notify(TaskWaiting(now, follower, reason))

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
        return (self.setup.agents[task_id], self.graph.tasks[task_id].files, isolated, run.critical)

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

    def _lift_waits(self, reason_prefix: str) -> None:
        """A gate opened: tasks it held are ready again (and re-checked on `decide`)."""
        for index in range(len(self._queue)):
            task_id = self._queue.at(index)
            assert task_id is not None
            run = self._runs[task_id]
            if run.state is TaskState.WAITING and run.reason.startswith(reason_prefix):
                self._transition(task_id, run, TaskState.READY)
                run.reason = ""
                self._lifted_waits += 1

    def _start(self, task_id: str, run: TaskRecord, slot: int, now: float, *, alone: bool) -> None:
        self._transition(task_id, run, TaskState.RUNNING)
        self._unregister_wait(task_id, run)
        self._hand_over(task_id, run)
        run.reason = ""
        run.attempts += 1
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
            self._lift_waits("sequential:")
        self._unpark(task_id)

    def _rate_limited(self, task_id: str, run: TaskRecord, agent: str, now: float) -> None:
        run.attempts -= 1
        streak = self._rate_limit_streak.get(agent, 0) + 1
        self._rate_limit_streak[agent] = streak
        delay = rate_limit_delay(streak)
        current = self._agent_backoff.get(agent)
        if current is None or current[0] < now + delay:
            self._agent_backoff[agent] = (now + delay, delay)
        run.exit_code = None  # the attempt does not count
        self._transition(task_id, run, TaskState.WAITING)
        reason = f"rate limit: {agent} backs off for {format_duration(delay)}"
        run.reason = ""
        self._wait(task_id, run, reason, f"#rate:{agent}", now)

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
            self._finish(task_id, final, why, now)
            if final is TaskState.FAILED and (run.critical or self.setup.abort_on_failure):
                self.abort(now, self._abort_reason(task_id, run.critical, why))
            elif self.setup.fail_fast and not self._stopping:
                self._stopping = f"fail-fast: stopped after {task_id} {final}"
                self._stop_the_rest(now)
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
                self._lift_waits("sequential:")
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
                self._notify(TaskWaiting(now, dependent, run.reason))
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
        elif counts[TaskState.FAILED] or counts[TaskState.CANCELLED]:
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
            )
        )

    def _notify(self, output: Output) -> None:
        self._outbox.append(output)
