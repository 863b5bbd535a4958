"""The commands a front end gives a live run: the keys of docs/design.md §8 as method calls.

The TUI's keys and the headless front end's signals go through `RunControl`; the run it is
attached to carries them out on its event loop (`runner.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from pmtui.scheduling.scheduler import CommandRefused
from pmtui.vcs.strategies import Strategy

if TYPE_CHECKING:
    from pmtui.engine.runner import _LiveRun


class RunControl:
    """The commands a front end gives a live run (docs/design.md §8 keys).

    Call from the run's event loop. A command the run cannot follow (retrying a task that
    did not fail, any command after the end) raises `CommandRefused` with a sentence for the
    user; `abort` is always accepted, also before the run started.
    """

    def __init__(self) -> None:
        self._run: _LiveRun | None = None
        self._abort_reason = ""
        self.after_run: Callable[[str, Strategy], Awaitable[str]] | None = None
        """Resolves a conflict once the run has ended (set by the front end that can)."""

    def _attach(self, run: _LiveRun) -> None:
        self._run = run
        if self._abort_reason:
            run.abort(self._abort_reason)

    def _live(self) -> _LiveRun:
        if self._run is None:
            raise CommandRefused("the run has not started yet")
        return self._run

    @property
    def paused(self) -> bool:
        """Whether no new task starts."""
        return self._run is not None and self._run.scheduler.paused

    @property
    def boosted(self) -> bool:
        """Whether the manual boost is on."""
        return self._run is not None and self._run.scheduler.boosted

    def pause(self, *, hard: bool | None = None) -> None:
        """Start no new task; `hard` (default: `pause_mode = "hard"`) also SIGSTOPs running ones."""
        self._live().pause(hard)

    def resume(self) -> None:
        """Start tasks again (and SIGCONT the ones a hard pause stopped)."""
        self._live().resume()

    def retry(self, task_id: str) -> None:
        """Run a failed or conflicted task again now (its skipped dependents reopen)."""
        self._live().command(lambda now: self._live().scheduler.retry(task_id, now))

    def skip(self, task_id: str) -> None:
        """Skip a task that has not ended (stopping it if it runs) and its dependents."""
        self._live().command(lambda now: self._live().scheduler.skip(task_id, now))

    def boost(self, on: bool | None = None) -> None:
        """Open the boost slots (`emergency_boost`) for any task, or close them; None toggles."""
        run = self._live()
        wanted = not run.scheduler.boosted if on is None else on
        run.command(lambda now: run.scheduler.set_boost(wanted, now))

    def abort(self, reason: str = "aborted") -> None:
        """Stop everything: every process group killed, open tasks cancelled, exit 130."""
        if self._run is None:
            self._abort_reason = self._abort_reason or reason
        else:
            self._run.abort(reason)

    async def resolve(self, task_id: str, strategy: Strategy) -> str:
        """Act on a task left in conflict with one of seed 004's strategies; returns what
        was done (for `manual`, the git commands). After the run, `after_run` does it.

        Raises:
            CommandRefused: It cannot be done (the message says why).
        """
        run = self._live()
        if run.finished_event is not None or run.scheduler.finished_run:
            if self.after_run is None:
                raise CommandRefused("the run has ended")
            return await self.after_run(task_id, strategy)
        return await run.resolve(task_id, strategy)
