"""Task states and the transitions between them (docs/design.md §4).

`pending → ready → running → done | failed | skipped | cancelled | conflict`, with the passing
states `waiting` (ready but held back, always with a reason) and `retrying` (between a failed
attempt and the next). Pure: no I/O, no clock.
"""

from __future__ import annotations

from enum import StrEnum


class TaskState(StrEnum):
    """Where a task is in its life."""

    PENDING = "pending"
    """Waits for its dependencies."""
    READY = "ready"
    """Its dependencies are done; it waits only for a free slot."""
    WAITING = "waiting"
    """Ready but held back: compatibility, file lock, memory, paused, back-off…"""
    RUNNING = "running"
    RETRYING = "retrying"
    """An attempt failed and another one is coming (after a back-off)."""
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    """Stopped by an abort."""
    CONFLICT = "conflict"
    """Its merge left a conflict."""

    @property
    def final(self) -> bool:
        """Whether the task has ended (a user's retry may still reopen a failure)."""
        return self in FINAL_STATES

    @property
    def blocks_dependents(self) -> bool:
        """Whether dependents of a task ending here are skipped."""
        return self in FINAL_STATES and self is not TaskState.DONE


FINAL_STATES = frozenset(
    {
        TaskState.DONE,
        TaskState.FAILED,
        TaskState.SKIPPED,
        TaskState.CANCELLED,
        TaskState.CONFLICT,
    }
)

_LEAVING_ANY_OPEN_STATE = {TaskState.SKIPPED, TaskState.CANCELLED}

LEGAL_TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.PENDING: frozenset({TaskState.READY, *_LEAVING_ANY_OPEN_STATE}),
    # A task whose last attempt failed ends failed when `--fail-fast` stops the run before
    # its next attempt: from its back-off, or ready again after it.
    TaskState.READY: frozenset(
        {TaskState.RUNNING, TaskState.WAITING, TaskState.FAILED, *_LEAVING_ANY_OPEN_STATE}
    ),
    TaskState.WAITING: frozenset(
        {TaskState.RUNNING, TaskState.READY, TaskState.FAILED, *_LEAVING_ANY_OPEN_STATE}
    ),
    TaskState.RUNNING: frozenset(
        {
            TaskState.DONE,
            TaskState.FAILED,
            TaskState.CONFLICT,
            TaskState.RETRYING,
            # A rate-limited attempt is requeued without counting as an attempt.
            TaskState.WAITING,
            *_LEAVING_ANY_OPEN_STATE,
        }
    ),
    TaskState.RETRYING: frozenset(
        {
            TaskState.READY,
            TaskState.WAITING,
            TaskState.RUNNING,
            TaskState.FAILED,
            *_LEAVING_ANY_OPEN_STATE,
        }
    ),
    TaskState.DONE: frozenset(),
    # The user's "retry now" reopens a failed task.
    TaskState.FAILED: frozenset({TaskState.READY, TaskState.PENDING}),
    # A conflict the user resolves (use_first, use_last…) lands the task's merge: done.
    TaskState.CONFLICT: frozenset({TaskState.READY, TaskState.PENDING, TaskState.DONE}),
    # A task skipped because a dependency failed is reopened when that dependency is retried.
    TaskState.SKIPPED: frozenset({TaskState.PENDING}),
    TaskState.CANCELLED: frozenset(),
}
"""For each state, the states a task may go to next."""


class IllegalTransition(Exception):  # noqa: N818 - the name reads as what happened
    """A task was asked to move between two states that are not connected."""

    def __init__(self, task_id: str, current: TaskState, target: TaskState) -> None:
        allowed = ", ".join(sorted(LEGAL_TRANSITIONS[current])) or "nothing: it is final"
        super().__init__(
            f"task {task_id}: cannot go from {current} to {target} (from {current} it may go "
            f"to {allowed})"
        )
        self.task_id = task_id
        self.current = current
        self.target = target


def check_transition(task_id: str, current: TaskState, target: TaskState) -> None:
    """Raise `IllegalTransition` unless `current → target` is legal."""
    if target not in LEGAL_TRANSITIONS[current]:
        raise IllegalTransition(task_id, current, target)
