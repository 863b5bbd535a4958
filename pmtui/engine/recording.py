"""A live run's writes to the store: every state change and attempt, committed as it happens.

The runner reports what happens; this turns it into `Store` rows (docs/design.md §7) so that a
`kill -9` loses nothing a later `--resume` needs. Writes queue up while the run's loop works
through one wake-up and are committed together before it waits again (`flush`): one commit
per wake-up instead of four per task, and nothing waits in memory while the loop sleeps.

A store that fails mid-run (disk full, the folder made read-only) must not take the run down
with it: the first failure is kept in `error`, recording stops, and the front end says that
this run cannot be resumed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from pmtui.store.db import MERGE_LANDED, AttemptUsage, MergeRecord, Store, StoreError

ABORTED = "aborted"


class RunRecorder:
    """Writes one run's progress into the store; forgiving of a store that breaks."""

    def __init__(self, store: Store, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.error: StoreError | None = None
        """The first store failure; nothing is written after it."""
        self._saved: dict[str, tuple[str, str, int]] = {}
        self._queue: list[Callable[[], object]] = []

    def _write(self, action: Callable[[], object]) -> None:
        if self.error is None:
            self._queue.append(action)

    def flush(self) -> None:
        """Commit every queued write in one transaction."""
        if not self._queue:
            return
        queue, self._queue = self._queue, []
        if self.error is not None:
            return
        try:
            with self.store.batch():
                for action in queue:
                    action()
        except StoreError as error:
            self.error = error
        except (KeyError, sqlite3.IntegrityError) as error:  # a bug; the run goes on
            self.error = StoreError(
                str(self.store.path), f"inconsistent record ({error})", "please report this bug"
            )

    def task_state(self, task_id: str, state: str, reason: str, attempts: int) -> None:
        """Save a task's state, unless it is what was saved last (one commit per change)."""
        row = (state, reason, attempts)
        if self._saved.get(task_id) == row:
            return
        self._saved[task_id] = row
        self._write(
            lambda: self.store.set_task_state(self.run_id, task_id, state, reason, attempts)
        )

    def attempt_started(
        self,
        task_id: str,
        number: int,
        started_at: float,
        pgid: int | None,
        create_time: float | None,
    ) -> None:
        """An attempt's process started; `pgid` + `create_time` find it again after a crash."""
        self._write(
            lambda: self.store.attempt_started(
                self.run_id, task_id, number, started_at, pgid, create_time
            )
        )

    def attempt_identified(self, task_id: str, number: int, create_time: float) -> None:
        """The creation time of a running attempt's process, read after its start."""
        self._write(
            lambda: self.store.attempt_identified(self.run_id, task_id, number, create_time)
        )

    def attempt_ended(
        self,
        task_id: str,
        number: int,
        ended_at: float,
        exit_code: int | None,
        reason: str,
        peak_rss: int | None,
        interrupted: bool = False,
    ) -> None:
        """An attempt's process group is gone (`interrupted`: pmtui ended it)."""
        self._write(
            lambda: self.store.attempt_ended(
                self.run_id, task_id, number, ended_at, exit_code, reason, peak_rss, interrupted
            )
        )

    def attempt_regrouped(
        self, task_id: str, number: int, pgid: int, create_time: float | None
    ) -> None:
        """An attempt started another process group (its worktree's setup, the merge check):
        after a crash, `--resume` finds that one."""
        self._write(
            lambda: self.store.attempt_regrouped(self.run_id, task_id, number, pgid, create_time)
        )
        self.flush()

    def attempt_agent(
        self, task_id: str, number: int, agent: str, session_id: str | None, runs_as: str = ""
    ) -> None:
        """Save the agent an attempt runs (and whose program), and the session it opened."""
        self._write(
            lambda: self.store.attempt_agent(
                self.run_id, task_id, number, agent, session_id, runs_as
            )
        )

    def attempt_usage(self, task_id: str, number: int, usage: AttemptUsage) -> None:
        """Save the tokens and cost an attempt used so far."""
        self._write(lambda: self.store.attempt_usage(self.run_id, task_id, number, usage))

    def merge(self, merge: MergeRecord) -> None:
        """A merge's journal entry, committed at once: it must survive a `kill -9`."""
        self._write(lambda: self.store.merge_state(merge))
        self.flush()

    def landed_merges(self) -> list[MergeRecord]:
        """Every merge that landed in this store, oldest first (empty once the store broke)."""
        if self.error is not None:
            return []
        try:
            return self.store.merges(MERGE_LANDED)
        except StoreError as error:
            self.error = error
            return []

    def run_finished(self, status: str, now: float, *, resumable: bool = False) -> None:
        """The run ended (written at once). An aborted run stays resumable (`--resume`), as
        does one that left work undone on purpose (`resumable`: its budget ran out)."""
        if status == ABORTED or resumable:
            self._write(lambda: self.store.set_run_status(self.run_id, status))
        else:
            self._write(lambda: self.store.finish_run(self.run_id, status, now))
        self.flush()
