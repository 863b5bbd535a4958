"""The scheduler's bookkeeping: one record per task, and the ready queue in strategy order.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Mapping

from pmtui.scheduling.decisions import WaitKind
from pmtui.scheduling.policies import SortKey
from pmtui.scheduling.states import TaskState


class TaskRecord:
    """The scheduler's record of one task (mutable: it changes with every event)."""

    __slots__ = (
        "attempt_isolated",
        "attempts",
        "budget_stopped",
        "chain",
        "critical",
        "exit_code",
        "earlier_attempts",
        "last_failure",
        "last_duration_s",
        "partitioned",
        "ran_beside_others",
        "ready_at",
        "reason",
        "shared_files",
        "skip_cause",
        "slot",
        "started_at",
        "state",
        "wait_kind",
        "waiting_on",
    )

    def __init__(self, state: TaskState, critical: bool) -> None:
        self.state = state
        self.critical = critical
        self.reason = ""
        """Why it waits, or why it ended."""
        self.wait_kind: WaitKind | None = None
        """What holds it back, while it is `waiting`."""
        self.budget_stopped = False
        """Its own budget is spent: its attempt is stopped and no other one starts."""
        self.attempts = 0
        self.earlier_attempts = 0
        """Attempts made before a resume: shown numbers are `earlier_attempts + attempts`."""
        self.slot = 0
        """The slot it holds (0: none); kept while a stopped process dies."""
        self.started_at = 0.0
        self.last_duration_s = 0.0
        self.exit_code: int | None = None
        self.last_failure = ""
        """Why its last attempt failed."""
        self.ran_beside_others = False
        self.shared_files = False
        self.partitioned = False
        self.attempt_isolated = False
        self.ready_at = 0.0
        self.skip_cause = ""
        """The dependency whose end skipped it ("" when skipped by the user or fail-fast)."""
        self.waiting_on = ""
        """What holds it back until it ends: a running task's id, or `#rate:<provider>` while
        that agent backs off. Such a task is parked out of the ready queue till then.
        `#chain`: it follows the head of its `chain`."""
        self.chain: Chain | None = None
        """The chain it heads or follows, if any."""


class Chain:
    """Waiting tasks alike in every way that decides a hold, queued as one.

    Tasks of one agent, with the same files, isolation and priority class get the same
    answer from every hold rule at any moment, and the first of them in strategy order is
    always asked first. So only the head is queued; the followers take its place one at a
    time when it starts or ends. A long queue behind one lock or one singleton agent then
    costs the scheduler the same at each start, however long it is.
    """

    __slots__ = ("followers", "head")

    def __init__(self, head: str, followers: list[str]) -> None:
        self.head = head
        self.followers = followers
        """In reverse strategy order: the next head is `followers[-1]`. Tasks that ended
        meanwhile are skipped when their turn comes."""


class ReadyQueue:
    """Ready and waiting tasks in strategy order; insertion and removal by binary search."""

    def __init__(self, keys: Mapping[str, SortKey]) -> None:
        self._keys = keys
        self._sorted: list[tuple[SortKey, str]] = []
        self._members: set[str] = set()

    def add(self, task_id: str) -> None:
        if task_id not in self._members:
            self._members.add(task_id)
            insort(self._sorted, (self._keys[task_id], task_id))

    def remove(self, task_id: str) -> None:
        if task_id in self._members:
            self._members.discard(task_id)
            del self._sorted[bisect_left(self._sorted, (self._keys[task_id], task_id))]

    def key(self, task_id: str) -> SortKey:
        """The strategy's sort key of a task."""
        return self._keys[task_id]

    def at(self, index: int) -> str | None:
        return self._sorted[index][1] if index < len(self._sorted) else None

    def __len__(self) -> int:
        return len(self._sorted)
