"""The full-screen monitor (docs/design.md §8): the seed-001 box, the task table, the keys.

The engine runs in the app's own event loop (a worker): its events update the `RunView` the
widgets draw from, and the keys act on it through `RunControl`. Nothing here decides or
starts anything. Without an engine the app shows a view as it is (snapshot tests).
"""

from __future__ import annotations

import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import DataTable, Footer, Input

from pmtui.config.model import ParserKind
from pmtui.engine.control import RunControl
from pmtui.engine.events import Event, ResourcesSampled, RunFinished, TaskProgress, TaskUsage
from pmtui.plan.graph import PlanGraph
from pmtui.report.lines import event_line
from pmtui.report.remaining import forecast_remaining
from pmtui.report.view import RunView
from pmtui.scheduling.decisions import RunStatus
from pmtui.scheduling.scheduler import CommandRefused
from pmtui.scheduling.setup import SchedulerSetup
from pmtui.ui.commands import MonitorCommands
from pmtui.ui.screens.compare import CompareScreen
from pmtui.ui.screens.confirm import Confirm
from pmtui.ui.screens.conflicts import ConflictsScreen
from pmtui.ui.screens.events import EventLogScreen
from pmtui.ui.screens.help import HelpScreen, binding_rows
from pmtui.ui.screens.task_log import TaskLogScreen
from pmtui.ui.screens.timeline import TimelineScreen
from pmtui.ui.themes import Glyphs
from pmtui.ui.widgets.monitor import Monitor
from pmtui.ui.widgets.tasks import TaskTable

Engine = Callable[[Callable[[Event], None]], Awaitable[RunFinished]]
"""Runs the plan, giving each event to the callback; returns the `run_finished` event."""

REDRAW_S = 0.25
"""Redraws are throttled to this: a flood of output events never makes keys lag."""

TABLE_REDRAW_S = 1.0
"""The task table follows running tasks' progress (percent, message, time) this often: a
table redraw renders every cell, and streaming agents change some cell at every redraw.
A task changing state is shown at the next redraw all the same."""

PROGRESS_EVENTS = (TaskProgress, TaskUsage, ResourcesSampled)
"""Events that change how far running tasks are, not what state any task is in."""

EXIT_ABORTED = RunStatus.ABORTED.exit_code

EVENT_LINES = 5_000
"""Event lines kept for the event log screen."""


class PmtuiApp(App[int]):
    """The live monitor of one run; its return value is the run's exit code."""

    TITLE = "pmtui"
    BINDINGS = [
        Binding("p", "pause", "Pause/resume", id="pause"),
        Binding("P", "hard_pause", "Hard pause", id="hard_pause"),
        Binding("r", "retry", "Retry", id="retry"),
        Binding("s", "skip", "Skip", id="skip"),
        Binding("a", "abort", "Abort", id="abort"),
        Binding("b", "boost", "Boost", id="boost"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("enter", "logs", "Logs", id="logs"),
        Binding("g", "gantt", "Gantt", id="gantt"),
        Binding("c", "compare", "Compare", id="compare"),
        Binding("e", "events", "Events", id="events", show=False),
        Binding("x", "conflicts", "Conflicts", id="conflicts", show=False),
        Binding("t", "theme", "Theme", id="theme", show=False),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit_run", "Quit", id="quit"),
        Binding("ctrl+c", "quit_run", "Quit", id="quit.ctrl_c", show=False, priority=True),
    ]
    COMMANDS = App.COMMANDS | {MonitorCommands}
    CSS = """
    Screen {
        layout: vertical;
    }
    TaskTable {
        height: 1fr;
    }
    #filter {
        dock: bottom;
        display: none;
    }
    #filter.shown {
        display: block;
    }
    """

    def __init__(
        self,
        view: RunView,
        *,
        glyphs: Glyphs,
        control: RunControl | None = None,
        engine: Engine | None = None,
        phases: Mapping[str, str] | None = None,
        clock: Callable[[], float] | None = None,
        ascii: bool = False,  # noqa: A002
        keymap: Mapping[str, str] | None = None,
        theme: Theme | None = None,
        notices: Sequence[str] = (),
        themes: Sequence[Theme] = (),
        log_dir: Path | None = None,
        graph: PlanGraph | None = None,
        setup: SchedulerSetup | None = None,
        parsers: Mapping[str, ParserKind] | None = None,
    ) -> None:
        """A monitor of `view`.

        Args:
            view: The run's facts, updated by the engine's events.
            glyphs: The theme's glyph set.
            control: Where the keys' commands go (None: a view only).
            engine: Started on mount; each of its events updates the view.
            phases: Each task's phase name, by task id.
            clock: Seconds since the run started (default: since the app started).
            ascii: Plain ASCII in the monitor's title.
            keymap: Binding id → key (`[keys]` of pmtui.toml).
            theme: The Textual theme to show (default: Textual's own).
            notices: Shown as notifications once the app is up (bad theme files, resume notes).
            themes: The colour themes `t` cycles through.
            log_dir: Where the run writes `<task>.log` (the log screen follows it).
            graph: The plan's graph and `setup` its rules: the timeline's forecast.
            parsers: How each agent prints its output, by agent name: a real agent's task
                log opens on its transcript.
        """
        super().__init__()
        self.view = view
        self.glyphs = glyphs
        self.control = control
        self.engine = engine
        self.phases = dict(phases or {})
        started = time.monotonic()
        self.clock = clock or (lambda: time.monotonic() - started)
        self.ascii = ascii
        self.keymap = dict(keymap or {})
        self.chosen_theme = theme
        self.notices = list(notices)
        self.themes_to_cycle = list(themes)
        self.log_dir = log_dir
        self.graph = graph
        self.setup = setup
        self.parsers = dict(parsers or {})
        self.event_lines: deque[str] = deque(maxlen=EVENT_LINES)
        """The readable line of each event (the event log screen), the newest last."""
        self.finished: RunFinished | None = None
        self.quitting = False
        self._dirty = True
        self._table_stale = True
        """A task changed state since the table was drawn: draw it at the next redraw."""
        self._table_drawn_at = 0.0

    def compose(self) -> ComposeResult:
        yield Monitor(self.glyphs, ascii=self.ascii, id="monitor")
        yield TaskTable(self.glyphs, self.phases, id="tasks")
        yield Input(placeholder="filter tasks: id, title, agent, status…", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        for theme in self.themes_to_cycle:
            self.register_theme(theme)
        if self.chosen_theme is not None:
            self.register_theme(self.chosen_theme)
            self.theme = self.chosen_theme.name
        if self.keymap:
            self.set_keymap(self.keymap)
        self.query_one(Monitor).conflicts_key = self.get_key_display(
            Binding(self.keymap.get("conflicts", "x").split(",")[0], "conflicts")
        )
        for notice in self.notices:
            self.notify(notice, timeout=10)
        self.redraw()
        self.set_interval(REDRAW_S, self.redraw_if_needed)
        if self.engine is not None:
            self.drive(self.engine)
            self.watch_signals()

    # ------------------------------------------------------------------ the run

    @work(exclusive=True, group="engine")
    async def drive(self, engine: Engine) -> None:
        """Run the engine; when it ends, keep the summary on screen until `q`."""
        finished = await engine(self.take_event)
        self.finished = finished
        self.redraw()
        if self.quitting:
            self.exit(EXIT_ABORTED if finished.status == RunStatus.ABORTED.value else 0)
        else:
            self.notify(f"run {finished.status}: press q to leave", timeout=30)

    @work(group="signals")
    async def watch_signals(self) -> None:
        """SIGTERM and SIGHUP (the terminal went away) abort, as `a` does, without asking."""
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGHUP) as signals:
            async for _ in signals:
                self.abort_and_quit()

    def take_event(self, event: Event) -> None:
        """An event of the engine: update the view now, redraw at the next tick."""
        self.view.apply(event)
        line = event_line(event, ascii=self.ascii)
        if line is not None:
            self.event_lines.append(line)
            if isinstance(self.screen, EventLogScreen):
                self.screen.append(line)
        self._dirty = True
        if not isinstance(event, PROGRESS_EVENTS):
            self._table_stale = True

    def redraw_if_needed(self) -> None:
        if self._dirty or self.view.running():
            self.redraw(whole=False)

    def redraw(self, *, whole: bool = True) -> None:
        """Draw the monitor, the table and the screen on top from the view; the periodic
        redraw (`whole=False`) leaves the table alone for progress it drew less than
        `TABLE_REDRAW_S` ago."""
        if not self.is_running:  # a timer firing while the app shuts down
            return
        self._dirty = False
        now = self.clock()
        try:
            self.query_one(Monitor).update_from(self.view, now)
            table_due = now - self._table_drawn_at >= TABLE_REDRAW_S or now < self._table_drawn_at
            if whole or self._table_stale or table_due:
                self._table_stale = False
                self._table_drawn_at = now
                self.query_one(TaskTable).update_from(self.view, now)
        except NoMatches:
            return
        screen = self.screen
        if isinstance(screen, CompareScreen | ConflictsScreen):
            screen.refresh_from(self.view)
        elif isinstance(screen, TimelineScreen):
            screen.refresh_from(self.view, now)
        elif isinstance(screen, TaskLogScreen):
            screen.update_task(
                self.view.task(screen.task_view.id), self._dependencies(screen.task_view.id)
            )

    # ------------------------------------------------------------------ screens

    def _toggle(self, kind: type[Screen[Any]], make: Callable[[], Screen[Any]]) -> None:
        """Show a screen, or go back from it when it is the one shown."""
        if isinstance(self.screen, Confirm):
            return  # a question is open: it is answered first
        if isinstance(self.screen, kind):
            self.pop_screen()
            return
        while len(self.screen_stack) > 1:  # one screen over the monitor at a time
            self.pop_screen()
        self.push_screen(make())

    def _dependencies(self, task_id: str) -> list[tuple[str, str]]:
        known = {task.id for task in self.view.tasks}
        task = self.view.task(task_id)
        return [
            (dep, self.view.task(dep).status.value) for dep in task.depends or () if dep in known
        ]

    @on(DataTable.RowSelected, "#tasks")
    def row_chosen(self) -> None:
        """`enter` on the task table (the table takes the key before the app's binding)."""
        self.action_logs()

    def action_logs(self) -> None:
        """The selected task's live log and its dependencies."""
        if isinstance(self.screen, TaskLogScreen):
            return
        task_id = self._selected()
        if task_id is None:
            return
        if self.log_dir is None:
            self.notify("no logs: this view is not of a live run", severity="warning")
            return
        log = self.log_dir / f"{task_id}.log"
        task = self.view.task(task_id)
        self._toggle(
            TaskLogScreen,
            lambda: TaskLogScreen(
                task,
                log,
                self._dependencies(task_id),
                parser=self.parsers.get(task.agent),
                ascii=self.ascii,
            ),
        )

    def action_gantt(self) -> None:
        """The timeline of the run so far, and the forecast of what remains."""
        self._toggle(
            TimelineScreen, lambda: TimelineScreen(self.view, self._forecast(), now=self.clock())
        )

    def _forecast(self) -> list[str] | None:
        if self.graph is None or self.setup is None:
            return None
        now = self.clock()
        done = {task.id for task in self.view.tasks if task.final}
        running = {task.id: task.running_for(now) for task in self.view.running()}
        text = forecast_remaining(
            self.graph, self.setup, done, running_for=running, width=max(self.size.width - 4, 40)
        )
        return text.splitlines()

    def action_compare(self) -> None:
        """The agents compared: tasks, success, time, memory, CPU."""
        self._toggle(CompareScreen, lambda: CompareScreen(self.view, self.glyphs))

    def action_conflicts(self) -> None:
        """The conflicts left, the merges waiting for hand edits, and the ways out."""
        resolver = self.control.resolve if self.control is not None else None
        self._toggle(ConflictsScreen, lambda: ConflictsScreen(self.view, resolver))

    @on(ConflictsScreen.Resolved)
    def conflict_resolved(self) -> None:
        """After the run a strategy changes the view without an event: redraw now."""
        self._dirty = True
        self.redraw()

    def action_events(self) -> None:
        """Every event of the run, as the headless lines."""
        self._toggle(EventLogScreen, lambda: EventLogScreen(list(self.event_lines)))

    def action_help(self) -> None:
        """Every key, and what the glyphs mean."""
        rows = binding_rows(self)
        self._toggle(HelpScreen, lambda: HelpScreen(rows, self.glyphs))

    # ------------------------------------------------------------------ keys

    def _command(self, action: Callable[[RunControl], None]) -> None:
        if self.control is None or self.finished is not None:
            self.notify("the run has ended", severity="warning")
            return
        try:
            action(self.control)
        except CommandRefused as refused:
            self.notify(str(refused), severity="warning")
        self.redraw()  # a key shows its effect at once, not at the next throttled redraw

    def action_pause(self) -> None:
        """Pause (config's pause_mode) or resume."""
        self._command(lambda control: control.resume() if control.paused else control.pause())

    def action_hard_pause(self) -> None:
        """Pause and SIGSTOP the running agents, or resume them."""
        self._command(
            lambda control: control.resume() if control.paused else control.pause(hard=True)
        )

    def _selected(self) -> str | None:
        task = self.query_one(TaskTable).selected_task()
        if task is None:
            self.notify("no task selected", severity="warning")
        return task

    def action_retry(self) -> None:
        """Run the selected failed task again."""
        task = self._selected()
        if task is not None:
            self._command(lambda control: control.retry(task))

    def action_skip(self) -> None:
        """Skip the selected task and its dependents."""
        task = self._selected()
        if task is not None:
            self._command(lambda control: control.skip(task))

    def action_boost(self) -> None:
        """Open or close the emergency-boost slots."""
        self._command(lambda control: control.boost())

    def action_abort(self) -> None:
        """Ask, then abort the run and quit (state saved, exit 130)."""
        if self.finished is not None or self.control is None:
            self.notify("the run has ended", severity="warning")
            return
        self.push_screen(
            Confirm("Abort the run?\nEvery agent is stopped; the state is saved (--resume)."),
            self._confirmed,
        )

    def action_quit_run(self) -> None:
        """Leave: at once when the run has ended, else ask first (as abort)."""
        if self.finished is not None:
            self.exit(RunStatus(self.finished.status).exit_code)
        elif self.control is None or self.engine is None:
            self.exit(0)
        else:
            self.push_screen(
                Confirm(
                    "Quit while tasks run?\nThe run is aborted; its state is saved (--resume)."
                ),
                self._confirmed,
            )

    def action_filter(self) -> None:
        """Show the filter field under the table (enter keeps the filter, escape clears it)."""
        field = self.query_one("#filter", Input)
        field.add_class("shown")
        field.focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self, changed: Input.Changed) -> None:
        self.query_one(TaskTable).set_filter(changed.value, self.view, self.clock())

    @on(Input.Submitted, "#filter")
    def filter_kept(self) -> None:
        field = self.query_one("#filter", Input)
        if not field.value:
            field.remove_class("shown")
        self.query_one(TaskTable).focus()

    def on_key(self, event: events.Key) -> None:
        field = self.query_one("#filter", Input)
        if event.key == "escape" and field.has_focus:
            field.value = ""
            field.remove_class("shown")
            self.query_one(TaskTable).focus()
            event.stop()

    def action_theme(self) -> None:
        """Switch to the next colour theme."""
        names = [theme.name for theme in self.themes_to_cycle]
        if not names:
            self.notify("no other theme", severity="warning")
            return
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"theme: {self.theme}", timeout=2)

    def _confirmed(self, yes: bool | None) -> None:
        if yes:
            self.abort_and_quit()

    def abort_and_quit(self) -> None:
        """Abort the run; leave with 130 once every agent is stopped (at most seconds)."""
        self.quitting = True
        if self.finished is not None:
            self.exit(RunStatus(self.finished.status).exit_code)
        elif self.control is not None:
            self.control.abort()
