"""Immutable dataclasses of a parsed plan: Plan, Phase, Task."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Priority(StrEnum):
    """How urgent a task is; `critical` tasks may use the emergency boost slots."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Higher is more urgent."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.CRITICAL: 3}


class PhaseMode(StrEnum):
    """How a phase is ordered against its neighbours and within itself."""

    STAGED = "staged"
    """Plain phase: starts a new stage, its tasks wait for the previous stage."""
    PARALLEL = "parallel"
    """`[PARALLEL]`: joins the stage of the phase before it."""
    SEQUENTIAL = "sequential"
    """`[SEQUENTIAL]`: starts a new stage, and each task waits for the task above it."""


@dataclass(frozen=True, slots=True)
class TaskSource:
    """Where the parts of a task line are, for messages (1-based line and columns)."""

    line: int
    id_col: int
    agent_col: int = 0
    depends_cols: tuple[int, ...] = ()
    files_col: int = 0
    id_generated: bool = False
    """The task wrote no id and got `<phase>.<n>`."""


@dataclass(frozen=True, slots=True)
class Task:
    """One task of a plan, as written."""

    id: str
    """The id: written first on the line, given by `(id: …)`, or generated `<phase>.<n>`."""
    title: str
    """The task line without its id, checkbox and `(key: value)` groups."""
    phase: int
    """Index of the task's phase in `Plan.phases` (0-based)."""
    source: TaskSource
    done: bool = False
    """`[x]`: already done; counts as done for dependents."""
    agent: str | None = None
    """The `agent:` key; None means the configured default."""
    depends: tuple[str, ...] | None = None
    """Explicit dependencies; None means the phase barrier applies."""
    priority: Priority = Priority.NORMAL
    files: tuple[str, ...] = ()
    """Files the task touches: `files:` plus paths found in its text."""
    timeout_s: float | None = None
    retries: int | None = None
    estimate_s: float | None = None
    budget_usd: float | None = None
    """`(budget: $2)`: the most its agent may spend on it (this session's attempts); None:
    no limit of its own."""
    body: str = ""
    """The indented lines under the task, dedented."""
    script: str | None = None
    """The fenced `sh` block of the body, if any."""

    @property
    def prompt(self) -> str:
        """What the agent is asked to do: the title plus the body."""
        return f"{self.title}\n\n{self.body}" if self.body else self.title

    @property
    def line(self) -> int:
        """The 1-based line of the task in its plan."""
        return self.source.line


@dataclass(frozen=True, slots=True)
class Phase:
    """A `## ` heading and the tasks under it."""

    number: str
    """The phase's number as written (`2` in `Phase 2: Build`), else its position."""
    title: str
    mode: PhaseMode
    line: int
    tasks: tuple[Task, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    """A whole plan file."""

    path: str
    """The file name used in messages."""
    title: str
    phases: tuple[Phase, ...] = ()
    tasks: tuple[Task, ...] = field(default=())
    """Every task in file order."""

    def task(self, task_id: str) -> Task:
        """The first task with this id.

        Raises:
            KeyError: No task has this id.
        """
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(task_id)
