"""Before a live run starts: take the lock, open the store, start a new run or resume one.

docs/design.md §7: one pmtui per repository (else per plan); `pmtui run PLAN` always starts a new
run; `--resume` continues the newest unfinished run of the plan — done tasks are not rerun
(a done task whose text changed is warned about; `--rerun ID` forces it), new tasks run,
removed ones are dropped, tasks that were running start again with the next attempt number,
and the process groups the dead pmtui left behind are found (pgid + creation time) and killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from pmtui.engine.groups import group_alive, kill_group
from pmtui.engine.recording import RunRecorder
from pmtui.engine.runner import Continuation, last_sessions
from pmtui.plan.model import Task
from pmtui.project import Project
from pmtui.store.db import AttemptRecord, Store, StoreError, TaskSpec
from pmtui.store.files import find_repo_root
from pmtui.store.lock import RunLock

if TYPE_CHECKING:  # the git modules load only for a run with worktrees
    from pmtui.vcs.integration import Integration

CREATE_TIME_SLACK_S = 0.05
"""psutil's creation times are rounded to clock ticks: equal within this is the same process."""
SPAWN_SLACK_S = 0.5
"""A process created this close to an attempt's recorded start is that attempt's."""


class SessionError(Exception):
    """The run cannot start as asked; `message` says why, `hint` what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(f"{message}; {hint}")
        self.message = message
        self.hint = hint


@dataclass
class Session:
    """A held lock and an open store, with the run this pmtui records into."""

    store: Store
    lock: RunLock
    run_id: str
    recorder: RunRecorder
    continuation: Continuation | None = None
    notes: list[str] = field(default_factory=list)
    """What the user should know before the run (changed done tasks, dropped tasks)."""
    leftovers: list[AttemptRecord] = field(default_factory=list)
    """Attempts of the resumed run whose end was never saved: their groups may still live."""

    def close(self) -> None:
        """Close the store and let the next pmtui in."""
        self.store.close()
        self.lock.release()


def task_hash(task: Task) -> str:
    """What `--resume` compares to tell whether a done task's text changed."""
    text = "\0".join(
        [task.title, task.body, task.agent or "", ",".join(task.depends or ()), task.script or ""]
    )
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def lock_key(plan_path: Path) -> str:
    """One lock per repository, else one per plan (docs/design.md §7)."""
    return "repository" if find_repo_root(plan_path.parent) is not None else str(plan_path)


def open_session(
    project: Project,
    plan_path: Path,
    workdir: Path,
    *,
    slots: int,
    resume: bool = False,
    rerun: Sequence[str] = (),
    integration: Integration | None = None,
) -> Session:
    """Lock, open the store and begin (or take over) the run.

    With worktrees (`integration`), the merges a killed pmtui left half-done are reconciled
    first: a task whose merge landed counts as done.

    Raises:
        LockHeld: Another pmtui runs here (its pid is named).
        StoreError: The store cannot be used.
        SessionError: `--resume` has nothing to resume, or `--rerun` names no task.
    """
    assert project.plan is not None
    plan_path = plan_path.resolve()
    if rerun and not resume:
        raise SessionError("--rerun only applies to a resumed run", "add --resume, or drop --rerun")
    unknown = [task_id for task_id in rerun if task_id not in {t.id for t in project.plan.tasks}]
    if unknown:
        raise SessionError(
            f"--rerun {unknown[0]}: no task {unknown[0]} in {plan_path.name}",
            "name a task id of the plan (pmtui check lists them)",
        )
    lock = RunLock.acquire(workdir, key=lock_key(plan_path))
    try:
        store = Store.open(workdir)
    except StoreError:
        lock.release()
        raise
    try:
        recovered = []
        if integration is not None:
            from pmtui.engine.recovery import recover_merges

            recovered = recover_merges(store, integration)
        # Read before a resume drops removed tasks (their attempts go with them).
        leftovers = _leftovers(store, plan_path, whole_store=lock_key(plan_path) == "repository")
        session = _resume(store, lock, project, plan_path, slots, rerun) if resume else None
        if session is None:
            specs = [(t.id, t.title, task_hash(t)) for t in project.plan.tasks]
            run_id = store.new_run(str(plan_path), specs, slots, time.time())
            session = Session(store, lock, run_id, RunRecorder(store, run_id))
        session.leftovers = leftovers
        session.notes[:0] = recovered
    except BaseException:
        store.close()
        lock.release()
        raise
    return session


def _resume(
    store: Store,
    lock: RunLock,
    project: Project,
    plan_path: Path,
    slots: int,
    rerun: Sequence[str],
) -> Session:
    assert project.plan is not None
    earlier = store.last_unfinished_run(str(plan_path))
    if earlier is None:
        raise SessionError(
            f"no unfinished run of {plan_path.name} to resume",
            f"start a new one: pmtui run {plan_path.name}",
        )
    rows = store.task_states(earlier.id)
    notes: list[str] = []
    done: set[str] = set()
    entering: list[TaskSpec] = []
    for task in project.plan.tasks:
        row = rows.get(task.id)
        digest = task_hash(task)
        if row is not None and row.state == "done" and task.id not in rerun:
            done.add(task.id)
            if row.text_hash != digest:
                notes.append(
                    f"task {task.id} changed since it was done; it is not run again "
                    f"(add --rerun {task.id} to run it again)"
                )
            continue
        entering.append((task.id, task.title, digest))
        if row is None:
            notes.append(f"task {task.id} is new in the plan: it will run")
        elif task.id in rerun:
            notes.append(f"task {task.id} was done; it runs again (--rerun)")
    removed = [task_id for task_id in rows if task_id not in {t.id for t in project.plan.tasks}]
    if removed:
        notes.append(f"dropped from the run (no longer in the plan): {', '.join(removed)}")
        store.drop_tasks(earlier.id, removed)
    store.add_tasks(earlier.id, entering)
    numbers: dict[str, int] = {}
    recorded = store.attempts(earlier.id)
    for attempt in recorded:
        numbers[attempt.task_id] = max(numbers.get(attempt.task_id, 0), attempt.number)
    continuation = Continuation(
        done=frozenset(done),
        attempts={task_id: row.attempts for task_id, row in rows.items()},
        numbers=numbers,
        sessions=last_sessions(recorded),
        spent_usd=sum(a.usage.cost_usd or 0.0 for a in recorded if a.usage is not None),
        tokens=sum(a.usage.tokens for a in recorded if a.usage is not None),
    )
    store.reopen_run(earlier.id, slots)
    return Session(store, lock, earlier.id, RunRecorder(store, earlier.id), continuation, notes)


def _leftovers(store: Store, plan_path: Path, *, whole_store: bool) -> list[AttemptRecord]:
    """Attempts of dead runs whose end was never saved: their groups may still be alive.

    A run is dead when its pmtui is: every unfinished run under the lock this pmtui holds
    (the repository's, or this plan's), and other plans' runs whose pid is gone from this host.
    """
    host = socket.gethostname()
    found: list[AttemptRecord] = []
    for run in store.unfinished_runs():
        ours = whole_store or run.plan_path == str(plan_path)
        if ours or (run.host == host and not psutil.pid_exists(run.pid)):
            found += store.attempts(run.id, unended_only=True)
    return found


def _same_process(attempt: AttemptRecord, pid: int) -> bool | None:
    """Whether `pid` is still the attempt's process (None: that pid is not in use).

    By its creation time when it was recorded; else (pmtui died within a second of the
    start) by the start time of the attempt, which the spawn follows within milliseconds.
    """
    try:
        started = psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return None
    except psutil.Error:
        return False
    if attempt.create_time is not None:
        return abs(started - attempt.create_time) <= CREATE_TIME_SLACK_S
    # psutil adds the boot time, which Linux gives in whole seconds (rounded down): its
    # creation times read up to a second early.
    return attempt.started_at - 1.0 - SPAWN_SLACK_S <= started <= attempt.started_at + SPAWN_SLACK_S


async def kill_leftovers(session: Session) -> list[str]:
    """Kill the process groups a dead pmtui left running, and close their attempts.

    The attempts are those of every dead run (see `_leftovers`), not only a resumed one: a
    new run after a crash must not work beside the dead run's agents. A group is the dead
    run's when its leader is the very process started (same creation time), or when the
    leader is gone but the group still has members: Linux does not give a new process a pid
    that is still some group's id, so such a group cannot be a stranger's.

    Returns:
        One line per group killed, for the user.
    """
    killed: list[str] = []
    for attempt in session.leftovers:
        pgid = attempt.pgid
        if pgid is not None:
            same = _same_process(attempt, pgid)
            ours = same is True or (same is None and group_alive(pgid))
            if ours and await kill_group(pgid) is not None:
                killed.append(
                    f"killed the leftover processes of task {attempt.task_id} "
                    f"(attempt {attempt.number}, process group {pgid})"
                )
        with contextlib.suppress(KeyError, StoreError):  # KeyError: dropped by the resume
            session.store.attempt_ended(
                attempt.run_id,
                attempt.task_id,
                attempt.number,
                time.time(),
                None,
                "aborted: pmtui died",
                None,
                interrupted=True,
            )
    return killed
