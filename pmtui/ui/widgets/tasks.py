"""The task table under the monitor: one row per task, updated cell by cell."""

from __future__ import annotations

from collections.abc import Mapping

from textual.widgets import DataTable

from pmtui.config.units import format_duration
from pmtui.report.view import RunView, TaskView
from pmtui.ui.themes import Glyphs
from pmtui.ui.widgets.monitor import status_glyph

COLUMNS = (
    ("id", "id", None),
    ("status", "status", 12),
    ("tries", "tries", 5),
    ("time", "time", 6),
    ("agent", "agent", 17),
    ("title", "title", 28),
    ("reason", "reason", 48),
    ("phase", "phase", 14),
)
"""What matters most comes first: at 80 columns the last ones scroll into view."""
TITLE_CELLS = 28
REASON_CELLS = 48


def _cut(text: str, cells: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= cells else text[: cells - 1] + "…"


class TaskTable(DataTable[str]):
    """Every task of the plan; the cursor selects the task `r` and `s` act on."""

    def __init__(self, glyphs: Glyphs, phases: Mapping[str, str], *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.glyphs = glyphs
        self.phases = phases
        self.filter_text = ""
        """Only tasks whose id, title, agent, status or phase contain it are shown."""
        self._shown: dict[str, tuple[str, ...]] = {}

    def set_filter(self, text: str, view: RunView, now: float) -> None:
        """Show only the tasks matching `text` (case-insensitive; "" shows all)."""
        if text.strip().lower() == self.filter_text:
            return
        self.filter_text = text.strip().lower()
        self.clear()
        self._shown = {}
        self.update_from(view, now)

    def on_mount(self) -> None:
        for label, key, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def selected_task(self) -> str | None:
        """The id of the task under the cursor."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def update_from(self, view: RunView, now: float) -> None:
        """Add rows for new tasks and change the cells that changed."""
        for task in view.tasks:
            cells = self._cells(view, task, now)
            if self.filter_text and self.filter_text not in " ".join(cells).lower():
                if task.id in self._shown:
                    self.remove_row(task.id)
                    del self._shown[task.id]
                continue
            shown = self._shown.get(task.id)
            if shown is None:
                self.add_row(*cells, key=task.id)
            elif shown != cells:
                for (_, key, _), old, new in zip(COLUMNS, shown, cells, strict=True):
                    if old != new:
                        self.update_cell(task.id, key, new)
            self._shown[task.id] = cells

    def _cells(self, view: RunView, task: TaskView, now: float) -> tuple[str, ...]:
        if task.duration_s is not None and task.final:
            duration = format_duration(task.duration_s)
        elif task.started_at is not None:
            duration = format_duration(task.running_for(now))
        else:
            duration = ""
        reason = task.waiting_reason or task.reason
        if task.status.value == "running":
            percent = view.task_percent(task, now)
            reason = f"{percent:.0f}% {task.message}".strip()
        return (
            task.id,
            f"{status_glyph(task, self.glyphs, now)} {task.status.value}",
            str(task.attempt),
            duration,
            task.agent,
            _cut(task.title, TITLE_CELLS),
            _cut(reason, REASON_CELLS),
            self.phases.get(task.id, ""),
        )
