"""File locks for tasks that share one workspace.

Two tasks whose file sets overlap (globs and folders included) never run at once in a
shared workspace. Tasks isolated in worktrees take none: the merge queue catches their
conflicts instead. Agents of one compatibility cluster take no locks against each other.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable

from pmtui.plan.files import shared_paths


class FileLocks:
    """Which running task holds which files."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[str, tuple[str, ...]]] = {}  # task → (agent, files)

    def take(self, task_id: str, agent: str, files: tuple[str, ...]) -> None:
        """Lock `files` for `task_id` (nothing to do for a task without files)."""
        if files:
            self._held[task_id] = (agent, files)

    def release(self, task_id: str) -> None:
        """Drop every lock of `task_id`."""
        self._held.pop(task_id, None)

    def holders(self) -> dict[str, tuple[str, ...]]:
        """The files each holding task locks."""
        return {task_id: files for task_id, (_, files) in self._held.items()}

    def blocker(
        self,
        agent: str,
        files: tuple[str, ...],
        exempt: Callable[[str, str], bool],
    ) -> tuple[str, str] | None:
        """The first `(holder task, shared path)` keeping `files` from being locked, or None.

        Args:
            agent: The agent of the task asking.
            files: The files it touches.
            exempt: `exempt(agent, holder_agent)`: the two never lock each other out.
        """
        if not files:
            return None
        for holder, (holder_agent, held) in self._held.items():
            if exempt(agent, holder_agent):
                continue
            shared = shared_paths(files, held)
            if shared:
                return holder, shared[0]
        return None
