"""`pmtui run` on a terminal: the live run shown in the monitor, its summary printed after.

The same `LiveRun` as the headless front end (lock, store, resume, engine), so both show the
same facts from the same events and end with the same exit code (docs/design.md §8).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from pmtui.engine.control import RunControl
from pmtui.engine.events import Event, RunFinished, TaskFinished
from pmtui.project import Project
from pmtui.report.headless import HeadlessOptions, LiveRun, start_live_run
from pmtui.scheduling.decisions import RunStatus
from pmtui.ui.app import PmtuiApp
from pmtui.ui.themes import load_themes, resolve_theme

KEYS = (
    "pause",
    "hard_pause",
    "retry",
    "skip",
    "abort",
    "boost",
    "logs",
    "gantt",
    "compare",
    "conflicts",
    "events",
    "theme",
    "help",
    "quit",
)
"""The `[keys]` actions of pmtui.toml: each is the id of one of the monitor's bindings."""


def run_tui(project: Project, plan: Path, options: HeadlessOptions, theme: str | None) -> int:
    """Run the plan live in the monitor; returns the run's exit code."""
    live = start_live_run(project, plan, options, sys.stderr)
    if isinstance(live, int):
        return live
    try:
        app, result = live_app(project, live, theme)
        code = app.run()
        if not result:  # the app ended first: the engine was cancelled, and so aborted
            return RunStatus.ABORTED.exit_code
        sys.stdout.write(live.report(result[0]))
        return code if code is not None else RunStatus(result[0].status).exit_code
    finally:
        live.session.close()


def live_app(
    project: Project, live: LiveRun, theme: str | None
) -> tuple[PmtuiApp, list[RunFinished]]:
    """The monitor over `live`, its keys wired to the run (and, once it ended, its conflicts
    to `LiveRun.resolve_after`); the list gets the `run_finished` event when the run ends.

    Args:
        project: The loaded project.
        live: The run, started by `start_live_run`.
        theme: The theme asked for (`--theme`), else the config's.
    """
    assert project.plan is not None and project.config is not None
    options = live.options
    themes, problems = load_themes()
    spec, glyphs, warning = resolve_theme(
        theme or project.config.monitor.theme, themes, ascii=options.ascii
    )
    notices = [problem.render() for problem in problems]
    notices += [warning] if warning else []
    notices += live.notes
    control = RunControl()
    control.after_run = live.resolve_after
    result: list[RunFinished] = []

    async def engine(emit: Callable[[Event], None]) -> RunFinished:
        for line in await live.clean_up():
            notices.append(line)

        def forward(event: Event) -> None:
            if isinstance(event, TaskFinished):
                live.finals.append(event)
            emit(event)

        finished = await live.run(forward, control)
        result.append(finished)
        return finished

    app = PmtuiApp(
        live.view,
        glyphs=glyphs,
        control=control,
        engine=engine,
        phases={task.id: project.plan.phases[task.phase].title for task in project.plan.tasks},
        ascii=options.ascii,
        keymap={action: key for action, key in project.config.keys.items() if action in KEYS},
        theme=spec.theme,
        notices=notices,
        themes=[theme.theme for theme in themes.values() if theme.theme is not None],
        log_dir=live.log_dir,
        graph=project.graph,
        setup=live.setup,
        parsers={name: agent.parser for name, agent in project.config.agents.items()},
    )
    return app, result
