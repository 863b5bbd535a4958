"""Every key of the monitor, pressed in a real app over a real run: the effect is checked
on the engine (what started, what runs, what the processes do), not only on the screen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import psutil
import pytest

from pmtui.engine.control import RunControl
from pmtui.engine.events import Event, RunFinished
from pmtui.engine.runner import run_plan
from pmtui.project import load_project
from pmtui.report.view import RunView, plan_tasks
from pmtui.ui.app import PmtuiApp
from pmtui.ui.themes import Glyphs
from pmtui.ui.widgets.tasks import TaskTable
from tests.cli_support import task, write
from tests.processes import group_stopped

GATE = "while [ ! -e gate ]; do sleep 0.05; done"
"""A task script that runs until the test creates the file `gate`."""


class Run:
    """A plan in `folder`, the monitor app over its live run, and what the engine said."""

    def __init__(self, folder: Path, plan: str, config: str = "") -> None:
        self.folder = folder
        write(folder / "plan.md", plan)
        if config:
            write(folder / "pmtui.toml", config)
        project = load_project(folder / "plan.md")
        assert project.ok and project.plan is not None and project.config is not None
        setup = project.scheduler_setup()
        self.view = RunView(plan_tasks(project.plan, project.config, setup.estimates))
        self.control = RunControl()
        self.events: list[Event] = []

        async def engine(emit: Callable[[Event], None]) -> RunFinished:
            def both(event: Event) -> None:
                self.events.append(event)
                emit(event)

            return await run_plan(
                project,
                emit=both,
                workdir=folder,
                run_id="ui-test",
                log_dir=folder / "logs",
                control=self.control,
                tick_s=0.2,
                setup=setup,
            )

        self.app = PmtuiApp(self.view, glyphs=Glyphs(), control=self.control, engine=engine)

    def named(self, name: str, task_id: str | None = None) -> list[Event]:
        return [
            e
            for e in self.events
            if e.name == name and (task_id is None or getattr(e, "task", None) == task_id)
        ]

    def pids(self, task_id: str) -> list[int]:
        """Pids a task printed as `::progress::1 pid N`."""
        return [
            int(e.message.split()[1])  # type: ignore[attr-defined]
            for e in self.named("task_progress", task_id)
            if e.message.startswith("pid ")  # type: ignore[attr-defined]
        ]

    def open_gate(self) -> None:
        (self.folder / "gate").touch()


async def until(pilot: object, condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Let the app run until `condition` holds (a bounded wait on a condition)."""
    with anyio.fail_after(seconds):
        while not condition():
            await pilot.pause(0.02)  # type: ignore[attr-defined]


async def finish(run: Run, pilot: object) -> None:
    """Let the gated tasks end, wait for the run's end, and leave with `q`."""
    run.open_gate()
    await until(pilot, lambda: bool(run.named("run_finished")))
    await pilot.press("q")  # type: ignore[attr-defined]


def select(app: PmtuiApp, task_id: str) -> None:
    table = app.query_one(TaskTable)
    table.move_cursor(row=table.get_row_index(task_id))


ONE_GATED = "## Phase 1\n" + task("1.1", "Gated", f'echo "::progress::1 pid $$"; {GATE}')


@pytest.mark.anyio
async def test_p_pauses_so_no_task_starts_and_p_again_resumes(tmp_path: Path) -> None:
    run = Run(tmp_path, ONE_GATED + task("1.2", "After", "exit 0", " (depends: 1.1)"))
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(run.named("task_started", "1.1")))
        await pilot.press("p")
        assert run.control.paused
        await until(pilot, lambda: run.view.paused)
        run.open_gate()
        await until(pilot, lambda: bool(run.named("task_finished", "1.1")))
        await pilot.pause(0.5)
        assert run.named("task_started", "1.2") == [], "a task started while paused"
        assert "PAUSED" in str(pilot.app.query_one("#monitor").render())
        await pilot.press("p")
        await until(pilot, lambda: bool(run.named("run_finished")))
        assert [e.task for e in run.named("task_started")] == ["1.1", "1.2"]  # type: ignore[attr-defined]
        await pilot.press("q")
    assert run.app.return_value == 0


@pytest.mark.anyio
async def test_shift_p_stops_the_agents_processes_until_resumed(tmp_path: Path) -> None:
    run = Run(tmp_path, ONE_GATED)
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(run.pids("1.1")))
        (pid,) = run.pids("1.1")
        await pilot.press("P")
        await until(pilot, lambda: group_stopped(pid))
        await pilot.press("P")
        await until(pilot, lambda: not group_stopped(pid))
        await finish(run, pilot)
    assert run.app.return_value == 0


@pytest.mark.anyio
async def test_s_skips_the_selected_running_task_and_its_dependents(tmp_path: Path) -> None:
    run = Run(tmp_path, ONE_GATED + task("1.2", "After", "exit 0", " (depends: 1.1)"))
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(run.pids("1.1")))
        (pid,) = run.pids("1.1")
        select(run.app, "1.1")
        await pilot.press("s")
        await until(pilot, lambda: bool(run.named("run_finished")))
        ends = {e.task: e for e in run.named("task_finished")}  # type: ignore[attr-defined]
        assert ends["1.1"].status == "skipped" and ends["1.1"].reason == "skipped by user"  # type: ignore[attr-defined]
        assert ends["1.2"].status == "skipped"  # type: ignore[attr-defined]
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
        await pilot.press("q")
    assert run.app.return_value == 0  # skipped is not a failure (docs/design.md §8)


@pytest.mark.anyio
async def test_r_retries_the_selected_failed_task(tmp_path: Path) -> None:
    plan = "## Phase 1\n" + task("1.1", "Flaky", "test -e fixed", " (retries: 0)")
    run = Run(tmp_path, plan + task("1.2", "Open", GATE))
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(run.named("task_finished", "1.1")))
        (tmp_path / "fixed").touch()
        select(run.app, "1.1")
        await pilot.press("r")
        await until(pilot, lambda: len(run.named("task_finished", "1.1")) == 2)
        assert [e.attempt for e in run.named("task_started", "1.1")] == [1, 2]  # type: ignore[attr-defined]
        assert run.named("task_finished", "1.1")[-1].status == "done"  # type: ignore[attr-defined]
        await finish(run, pilot)
    assert run.app.return_value == 0


@pytest.mark.anyio
async def test_r_on_a_task_that_did_not_fail_is_refused_with_a_notice(tmp_path: Path) -> None:
    run = Run(tmp_path, ONE_GATED)
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(run.named("task_started", "1.1")))
        select(run.app, "1.1")
        await pilot.press("r")
        assert any("only a failed" in n.message for n in run.app._notifications)
        assert len(run.named("task_started", "1.1")) == 1
        await finish(run, pilot)


@pytest.mark.anyio
async def test_b_opens_the_boost_slots_and_b_again_closes_them(tmp_path: Path) -> None:
    run = Run(tmp_path, ONE_GATED)
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(run.named("task_started", "1.1")))
        await pilot.press("b")
        assert run.control.boosted
        await until(pilot, lambda: run.view.slots == 8)
        assert "[8+:" in str(pilot.app.query_one("#monitor").render())
        await pilot.press("b")
        await until(pilot, lambda: run.view.slots == 5)
        await finish(run, pilot)


@pytest.mark.anyio
async def test_a_then_y_aborts_kills_every_process_and_exits_130(tmp_path: Path) -> None:
    run = Run(tmp_path, ONE_GATED + task("1.2", "Also", f'echo "::progress::1 pid $$"; {GATE}'))
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(run.pids("1.1") + run.pids("1.2")) == 2)
        pids = run.pids("1.1") + run.pids("1.2")
        await pilot.press("a")
        await pilot.press("y")
        await until(pilot, lambda: bool(run.named("run_finished")))
    assert run.app.return_value == 130
    assert run.named("run_finished")[0].status == "aborted"  # type: ignore[attr-defined]
    assert all(not psutil.pid_exists(p) or psutil.Process(p).status() == "zombie" for p in pids)


@pytest.mark.anyio
async def test_a_then_n_keeps_the_run_going(tmp_path: Path) -> None:
    run = Run(tmp_path, ONE_GATED)
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(run.named("task_started", "1.1")))
        await pilot.press("a")
        await pilot.press("n")
        await pilot.pause(0.3)
        assert run.named("run_finished") == []
        run.open_gate()
        await until(pilot, lambda: bool(run.named("run_finished")))
        assert run.named("run_finished")[0].status == "ok"  # type: ignore[attr-defined]
        await pilot.press("q")
    assert run.app.return_value == 0


@pytest.mark.anyio
async def test_q_while_running_asks_and_enter_confirms_the_abort(tmp_path: Path) -> None:
    run = Run(tmp_path, ONE_GATED)
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(run.pids("1.1")))
        (pid,) = run.pids("1.1")
        await pilot.press("q")
        await pilot.press("escape")
        assert run.named("run_finished") == []
        await pilot.press("q")
        await pilot.press("enter")
        await until(pilot, lambda: bool(run.named("run_finished")))
    assert run.app.return_value == 130
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


@pytest.mark.anyio
async def test_after_the_run_q_leaves_at_once_with_the_runs_exit_code(tmp_path: Path) -> None:
    run = Run(
        tmp_path, "## Phase 1\n" + task("1.1", "Fails", "exit 3"), "[conflicts]\nmax_retries = 0\n"
    )
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(run.named("run_finished")))
        assert "FINISHED: failed" in str(pilot.app.query_one("#monitor").render())
        await pilot.press("q")
    assert run.app.return_value == 1


@pytest.mark.anyio
async def test_keys_follow_the_keymap_of_the_config(tmp_path: Path) -> None:
    run = Run(tmp_path, ONE_GATED)
    run.app.keymap = {"pause": "z"}
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(run.named("task_started", "1.1")))
        await pilot.press("p")
        assert not run.control.paused
        await pilot.press("z")
        assert run.control.paused
        await pilot.press("z")
        await finish(run, pilot)


@pytest.mark.anyio
async def test_slash_filters_the_task_table_and_escape_clears_it(tmp_path: Path) -> None:
    plan = ONE_GATED + task("1.2", "Other work", "exit 0") + task("1.3", "More", "exit 0")
    run = Run(tmp_path, plan)
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(run.named("task_finished")) == 2)
        table = run.app.query_one(TaskTable)
        assert table.row_count == 3
        await pilot.press("slash")
        for key in "other":
            await pilot.press(key)
        assert table.row_count == 1 and table.selected_task() == "1.2"
        await pilot.press("enter")
        assert table.row_count == 1 and table.has_focus
        await pilot.press("slash")
        await pilot.press("escape")
        assert table.row_count == 3
        await finish(run, pilot)


@pytest.mark.anyio
async def test_t_cycles_the_themes(tmp_path: Path) -> None:
    from pmtui.ui.themes import load_themes

    run = Run(tmp_path, ONE_GATED)
    themes, _ = load_themes()
    run.app.themes_to_cycle = [spec.theme for spec in themes.values() if spec.theme is not None]
    names = [theme.name for theme in run.app.themes_to_cycle]
    async with run.app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        first = run.app.theme
        assert first in names
        await pilot.press("t")
        assert run.app.theme in names and run.app.theme != first
        await finish(run, pilot)


@pytest.mark.anyio
async def test_the_command_palette_pauses_the_run(tmp_path: Path) -> None:
    run = Run(tmp_path, ONE_GATED)
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(run.named("task_started", "1.1")))
        await pilot.press("ctrl+p")
        for key in "pause":
            await pilot.press(key)
        await pilot.pause(0.3)  # the palette searches in the background
        await pilot.press("enter")
        await until(pilot, lambda: run.control.paused)
        await pilot.press("p")
        await finish(run, pilot)


@pytest.mark.anyio
async def test_the_event_log_keeps_a_readable_line_per_event(tmp_path: Path) -> None:
    run = Run(tmp_path, ONE_GATED)
    async with run.app.run_test(size=(120, 40)) as pilot:
        run.open_gate()
        await until(pilot, lambda: bool(run.named("run_finished")))
        lines = list(run.app.event_lines)
        assert any("start   1.1" in line for line in lines)
        assert lines[-1].split()[2] == "finish"
        await pilot.press("q")


@pytest.mark.anyio
async def test_enter_shows_the_selected_tasks_live_log_and_escape_goes_back(
    tmp_path: Path,
) -> None:
    from pmtui.ui.screens.task_log import TaskLogScreen

    script = f'echo "first line"; echo "::progress::1 pid $$"; {GATE}; echo "after the gate"'
    run = Run(tmp_path, "## Phase 1\n" + task("1.1", "Talks", script))
    run.app.log_dir = tmp_path / "logs"
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(run.pids("1.1")))
        select(run.app, "1.1")
        await pilot.press("enter")
        assert isinstance(run.app.screen, TaskLogScreen)
        screen = run.app.screen
        await until(pilot, lambda: "first line" in screen.lines)
        run.open_gate()
        await until(pilot, lambda: "after the gate" in screen.lines)
        await pilot.press("escape")
        assert not isinstance(run.app.screen, TaskLogScreen)
        await until(pilot, lambda: bool(run.named("run_finished")))
        await pilot.press("q")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("key", "screen_name"),
    [
        ("g", "TimelineScreen"),
        ("c", "CompareScreen"),
        ("e", "EventLogScreen"),
        ("question_mark", "HelpScreen"),
    ],
)
async def test_each_screen_opens_by_its_key_and_closes_by_it_again(
    tmp_path: Path, key: str, screen_name: str
) -> None:
    run = Run(tmp_path, ONE_GATED)
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(run.named("task_started", "1.1")))
        await pilot.press(key)
        assert type(run.app.screen).__name__ == screen_name
        await pilot.press("p")  # the run's keys still act from another screen
        assert run.control.paused
        await pilot.press("p")
        await pilot.press(key)
        assert type(run.app.screen).__name__ == "Screen"
        await finish(run, pilot)
    assert run.app.return_value == 0


@pytest.mark.anyio
async def test_the_event_log_screen_follows_the_run(tmp_path: Path) -> None:
    from pmtui.ui.screens.events import EventLogScreen

    run = Run(tmp_path, ONE_GATED)
    async with run.app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(run.named("task_started", "1.1")))
        await pilot.press("e")
        screen = run.app.screen
        assert isinstance(screen, EventLogScreen)
        run.open_gate()
        await until(pilot, lambda: bool(run.named("run_finished")))
        await pilot.pause(0.1)
        assert any(" finish " in line for line in screen.event_lines)
        await pilot.press("escape")
        await pilot.press("q")


@pytest.mark.anyio
async def test_a_bad_theme_file_becomes_a_notification_not_a_crash(tmp_path: Path) -> None:
    from pmtui.ui.themes import load_themes, resolve_theme

    user = tmp_path / "themes"
    user.mkdir()
    write(user / "broken.toml", '[theme]\nname = "broken"\nprimary = "not a colour"\n')
    themes, problems = load_themes(user)
    spec, glyphs, warning = resolve_theme("broken", themes, ascii=False)
    assert spec.name == "pmtui-dark" and warning is not None
    notices = [problem.render() for problem in problems] + [warning]
    run = Run(tmp_path, ONE_GATED)
    run.app.notices = notices
    run.app.chosen_theme = spec.theme
    async with run.app.run_test(size=(120, 40)) as pilot:
        shown = [notification.message for notification in run.app._notifications]
        assert any(f"{user / 'broken.toml'}:3: error" in message for message in shown)
        assert any("unknown theme 'broken'" in message for message in shown)
        assert run.app.theme == "pmtui-dark"
        await finish(run, pilot)
    assert run.app.return_value == 0
