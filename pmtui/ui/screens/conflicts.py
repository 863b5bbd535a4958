"""The `x` screen: the conflicts a run left, and seed 004's ways out of them (docs/design.md §6).

```
CONFLICTS · 1 task in conflict
 Task  Title        Paths       Other side
 1.2   Second edit  shared.txt  1.1 “First edit”
1.2 “Second edit” and 1.1 “First edit” both changed shared.txt (modify/modify)
 f  use_first   keep what was merged first where the two clash
 l  use_last    take 1.2's version where the two clash
```

Every task left in conflict (`RunView.conflicted`) is a row; the selected one is explained
path by path, with the strategies and their keys. A key hands the strategy to the run
(`RunControl.resolve`, given as `resolver`) in an app worker, so the screen never waits and
a merge under way is not cancelled when the screen closes. Merges waiting for hand edits in
the main checkout are listed too: only the user can unblock them. Nothing is decided here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from pmtui.engine.events import MergeConflict
from pmtui.report.lines import clean_text, explain_conflict
from pmtui.report.view import RunView, TaskView
from pmtui.scheduling.scheduler import CommandRefused
from pmtui.vcs.strategies import Strategy

Resolver = Callable[[str, Strategy], Awaitable[str]]
"""Carries out a strategy for a task left in conflict (`RunControl.resolve`); returns what
was done, or raises `CommandRefused` with the reason."""

NO_CONFLICTS = "No conflicts. Tasks whose merge conflicts are listed here."

COLUMNS = (("task", "Task"), ("title", "Title"), ("paths", "Paths"), ("other", "With"))
"""Column key and label of the table of conflicts, in order (`conflict_cells`)."""

CELLS = 24
"""Width of the table's title and paths columns; longer text is cut with `…`."""


@dataclass(frozen=True, slots=True)
class StrategyKey:
    """One strategy of the screen: its key, and what it does to the selected task."""

    key: str
    strategy: Strategy
    does: str
    """What it does; `{task}` stands for the selected task's id."""


STRATEGIES = (
    StrategyKey("f", Strategy.USE_FIRST, "keep what was merged first where the two clash"),
    StrategyKey("l", Strategy.USE_LAST, "take {task}'s version where the two clash"),
    StrategyKey("p", Strategy.USE_PRIORITY, "the task of higher priority wins (a tie: the first)"),
    StrategyKey("m", Strategy.AUTO_MERGE, "merge only if the three-way merge is clean"),
    StrategyKey("r", Strategy.RERUN, "run {task} again on the integration branch as it is now"),
    StrategyKey("M", Strategy.MANUAL, "keep the branch; show the git commands to finish by hand"),
)
"""The strategies in the order shown (seed 004's, docs/design.md §6)."""


def other_side(conflict: MergeConflict) -> str:
    """What changed the path first: `1.1 “First edit”`, or a commit made by hand."""
    if conflict.other_task:
        return f"{clean_text(conflict.other_task)} “{clean_text(conflict.other_title)}”"
    if conflict.other_commit:
        return f"commit {clean_text(conflict.other_commit)} “{clean_text(conflict.other_title)}”"
    return "the integration branch"


def other_id(conflict: MergeConflict) -> str:
    """The other side in short: the task's id, or `commit 1a2b3c4`."""
    if conflict.other_task:
        return clean_text(conflict.other_task)
    if conflict.other_commit:
        return f"commit {clean_text(conflict.other_commit)}"
    return "the integration branch"


def conflict_cells(task: TaskView) -> tuple[str, str, str, str]:
    """A conflicted task's row: id, title, its paths, and the other sides in short."""
    paths = ", ".join(dict.fromkeys(clean_text(item.path) for item in task.conflicts))
    others = ", ".join(dict.fromkeys(other_id(item) for item in task.conflicts))
    return clean_text(task.id), _cut(clean_text(task.title)), _cut(paths), others


def _cut(text: str) -> str:
    return text if len(text) <= CELLS else text[: CELLS - 1] + "…"


def explain(task: TaskView) -> str:
    """The one-line explanation (`report.lines.explain_conflict`), else the task's reason."""
    if task.conflicts:
        return explain_conflict(task.conflicts)
    return f"{clean_text(task.id)} “{clean_text(task.title)}”: {clean_text(task.reason)}"


def paths_table(task: TaskView) -> Table:
    """Each conflicting path with its type and what changed it first."""
    table = Table(box=None, padding=(0, 2, 0, 0), expand=False)
    table.add_column("Path", style="bold", overflow="fold")
    table.add_column("Type", no_wrap=True)
    table.add_column("Changed first by", overflow="fold")
    for item in task.conflicts:
        table.add_row(Text(clean_text(item.path)), item.type, Text(other_side(item)))
    return table


def strategies_table(task_id: str) -> Table:
    """The strategies, each with its key, for the task `task_id`."""
    table = Table(
        title="Resolve with", title_justify="left", box=None, padding=(0, 2, 0, 0), expand=False
    )
    table.add_column("Key", style="bold", no_wrap=True)
    table.add_column("Strategy", no_wrap=True)
    table.add_column("Does")
    for item in STRATEGIES:
        table.add_row(item.key, item.strategy.value, Text(item.does.format(task=task_id)))
    return table


def detail(task: TaskView, steps: str | None = None, busy: Strategy | None = None) -> Group:
    """What the screen shows of the selected conflict.

    Args:
        task: A task left in conflict.
        steps: The git commands `manual` gave for it, if asked.
        busy: The strategy being carried out for it, if any.
    """
    parts: list[RenderableType] = [Text(explain(task), style="bold"), Text("")]
    if task.conflicts:
        parts += [paths_table(task), Text("")]
    if busy is not None:
        parts += [Text(f"{busy.value}: under way…", style="italic"), Text("")]
    parts.append(strategies_table(clean_text(task.id)))
    if steps:
        parts += [Text(""), Text("To finish it by hand (y copies them):", style="bold")]
        parts.append(Text(steps, no_wrap=True, overflow="ellipsis"))
    return Group(*parts)


def waiting_text(view: RunView) -> Text | None:
    """The merges waiting for hand edits in the main checkout, one line each, cut to the
    width (their task's log has it whole); None when there is none."""
    waiting = [task for task in view.tasks if task.merge_waiting]
    if not waiting:
        return None
    text = Text("Merges waiting for your hand edits in the main checkout:", style="bold")
    for task in waiting:
        text.append(f"\n  {clean_text(task.id)}: {clean_text(task.merge_waiting)}", "not bold")
    return text


def title_line(view: RunView) -> str:
    """The title bar: how many conflicts and waiting merges there are."""
    conflicts = len(view.conflicted())
    waiting = sum(bool(task.merge_waiting) for task in view.tasks)
    parts = [f"{conflicts} task{'s' if conflicts != 1 else ''} in conflict"]
    if waiting:
        parts.append(f"{waiting} merge{'s' if waiting != 1 else ''} waiting for hand edits")
    return "CONFLICTS · " + " · ".join(parts)


class ConflictsScreen(Screen[None]):
    """The conflicts left and the waiting merges; `refresh_from(view)` redraws it, a
    strategy's key acts on the selected conflict, `escape` or `q` goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(
                item.key,
                f"resolve('{item.strategy.value}')",
                item.strategy.value,
                id=f"conflicts.{item.strategy.value}",
            )
            for item in STRATEGIES
        ),
        Binding("y", "copy_steps", "Copy commands", id="conflicts.copy", show=False),
        Binding("escape,q", "back", "Back", id="conflicts.back"),
    ]
    DEFAULT_CSS = """
    ConflictsScreen #title {
        background: $boost;
        padding: 0 1;
    }
    ConflictsScreen #empty, ConflictsScreen #waiting {
        padding: 0 1;
        margin-top: 1;
    }
    ConflictsScreen #waiting {
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ConflictsScreen #conflicts {
        height: auto;
        max-height: 8;
        margin-top: 1;
    }
    ConflictsScreen VerticalScroll {
        height: 1fr;
        padding: 0 1;
        margin-top: 1;
    }
    """

    class Resolved(Message):
        """A strategy was carried out (the view may have changed without an event)."""

        def __init__(self, task: str, strategy: Strategy, message: str) -> None:
            super().__init__()
            self.task = task
            self.strategy = strategy
            self.message = message
            """What the run said was done."""

    def __init__(self, view: RunView, resolver: Resolver | None = None) -> None:
        """The conflicts of `view`.

        Args:
            view: The run's facts.
            resolver: Carries out a strategy (None: a view only, the keys say so).
        """
        super().__init__()
        self.run_view = view
        self.resolver = resolver
        self.steps: dict[str, str] = {}
        """The git commands `manual` gave, by task id."""
        self.busy: dict[str, Strategy] = {}
        """The strategy being carried out, by task id."""

    def compose(self) -> ComposeResult:
        yield Static(title_line(self.run_view), id="title")
        yield Static(id="waiting")
        yield Static(NO_CONFLICTS, id="empty")
        table: DataTable[str] = DataTable(cursor_type="row", id="conflicts")
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        with VerticalScroll():
            yield Static(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self._fill()

    def refresh_from(self, view: RunView) -> None:
        """Show `view`'s conflicts now (the app calls this as events arrive)."""
        self.run_view = view
        if self.is_mounted:
            self._fill()

    def selected(self) -> TaskView | None:
        """The conflicted task under the cursor."""
        table: DataTable[str] = self.query_one("#conflicts", DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        assert row_key.value is not None
        return self.run_view.task(row_key.value)

    def _fill(self) -> None:
        view = self.run_view
        conflicted = view.conflicted()
        self.query_one("#title", Static).update(title_line(view))
        waiting = waiting_text(view)
        self.query_one("#waiting", Static).update(waiting or "")
        self.query_one("#waiting").display = waiting is not None
        self.query_one("#empty").display = not conflicted
        table: DataTable[str] = self.query_one("#conflicts", DataTable)
        table.display = bool(conflicted)
        self.query_one(VerticalScroll).display = bool(conflicted)
        rows = [conflict_cells(task) for task in conflicted]
        shown = [key.value for key in table.rows]
        if shown != [row[0] for row in rows]:
            chosen = self.selected()
            table.clear()
            for row in rows:
                table.add_row(*row, key=row[0])
            ids = [row[0] for row in rows]
            if chosen is not None and chosen.id in ids:
                table.move_cursor(row=ids.index(chosen.id))
        else:
            for row in rows:
                for (column, _), value in zip(COLUMNS[1:], row[1:], strict=True):
                    table.update_cell(row[0], column, value)
        self._show_detail()

    def _show_detail(self) -> None:
        task = self.selected()
        shown: RenderableType = ""
        if task is not None:
            shown = detail(task, self.steps.get(task.id), self.busy.get(task.id))
        self.query_one("#detail", Static).update(shown)

    @on(DataTable.RowHighlighted, "#conflicts")
    def row_highlighted(self) -> None:
        self._show_detail()

    # ------------------------------------------------------------------ keys

    def action_resolve(self, name: str) -> None:
        """Carry out the strategy `name` for the selected conflict, without waiting for it."""
        strategy = Strategy(name)
        task = self.selected()
        if task is None:
            self.notify("no conflict to resolve", severity="warning")
            return
        if self.resolver is None:
            self.notify("no run to act on: this view is not of a live run", severity="warning")
            return
        if task.id in self.busy:
            self.notify(f"{task.id}: {self.busy[task.id].value} is under way", severity="warning")
            return
        self.busy[task.id] = strategy
        self._show_detail()
        # An app worker, not the screen's: closing the screen must not cancel a merge.
        self.app.run_worker(
            self._resolve(self.resolver, task.id, strategy),
            name=f"resolve {task.id}",
            group="resolve",
        )

    async def _resolve(self, resolver: Resolver, task_id: str, strategy: Strategy) -> None:
        try:
            message = await resolver(task_id, strategy)
        except CommandRefused as refused:
            self.app.notify(str(refused), title=f"{task_id}: {strategy.value}", severity="error")
            return
        except Exception as error:  # a failed merge must not take the monitor (and run) down
            self.app.notify(
                f"{strategy.value} failed: {error}", title=task_id, severity="error", timeout=30
            )
            return
        finally:
            self.busy.pop(task_id, None)
            if self._open:
                self._show_detail()
        if strategy is Strategy.MANUAL:
            self.steps[task_id] = message
            self.app.notify(
                "the git commands to finish it by hand are on the conflicts screen",
                title=task_id,
            )
        else:
            self.app.notify(message, title=f"{task_id}: {strategy.value}", timeout=10)
        self.app.post_message(self.Resolved(task_id, strategy, message))
        if self._open:
            self._fill()

    @property
    def _open(self) -> bool:
        """Whether the screen is still up (a resolve may end after it was closed)."""
        return self.is_mounted and self in self.app.screen_stack

    def action_copy_steps(self) -> None:
        """Copy the selected conflict's git commands (after `manual`) to the clipboard."""
        task = self.selected()
        steps = self.steps.get(task.id) if task is not None else None
        if not steps:
            self.notify("no commands to copy: press M first", severity="warning")
            return
        self.app.copy_to_clipboard(steps)
        self.notify("the git commands were copied", timeout=3)

    def action_back(self) -> None:
        """Back to the monitor."""
        self.app.pop_screen()
