"""The conflicts screen (`x`): how it looks from a scripted run, and what its keys do.

The look is snapshotted at 80x24 and 120x40 from `scripted.conflicted_view` with the clock
fixed. The keys are checked twice: with a stand-in resolver (which strategy reaches the run
for which task, refusals, a merge under way) and on real runs in a real git repository,
where the effect is read back with the `git` CLI and from the engine's events.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import anyio
import pytest
from rich.console import Console
from textual.widgets import DataTable, Static

from pmtui.engine import events as ev
from pmtui.engine.events import Event
from pmtui.project import load_project
from pmtui.report.headless import HeadlessOptions, LiveRun, start_live_run
from pmtui.report.view import RunView
from pmtui.scheduling.scheduler import CommandRefused
from pmtui.scheduling.states import TaskState
from pmtui.ui.app import PmtuiApp
from pmtui.ui.commands import COMMANDS
from pmtui.ui.live import KEYS, live_app
from pmtui.ui.screens.conflicts import (
    NO_CONFLICTS,
    STRATEGIES,
    ConflictsScreen,
    conflict_cells,
    detail,
    other_side,
)
from pmtui.ui.screens.help import binding_rows
from pmtui.ui.themes import Glyphs
from pmtui.ui.widgets.monitor import Monitor, conflicts_hint, render_monitor
from pmtui.ui.widgets.tasks import TaskTable
from pmtui.vcs.strategies import Strategy
from tests.cli_support import task, write
from tests.gitrepo import git, make_repo
from tests.ui.scripted import TASKS, Host, conflict_events, conflicted_view, scripted_view
from tests.ui.test_keys import until
from tests.ui.test_snapshots import monitor

SIZES = [(80, 24), (120, 40)]
size_ids = pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")

STEPS = (
    "cd /repo\n"
    "git merge pmtui/20261125-101500-ab12/3.3\n"
    "# edit docs/oauth/flow.md src/auth/models.py to resolve the conflict, then:\n"
    "git add docs/oauth/flow.md src/auth/models.py && git commit --no-edit"
)
"""What `manual` answers in the scripted runs."""


class Resolver:
    """A stand-in for `RunControl.resolve`: records each call, answers or refuses."""

    def __init__(self, answer: str = "done", refusal: str = "") -> None:
        self.calls: list[tuple[str, Strategy]] = []
        self.answer = answer
        self.refusal = refusal
        self.gate: anyio.Event | None = None
        """When set, each call waits for it (a merge under way)."""
        self.ended: list[str] = []

    async def __call__(self, task_id: str, strategy: Strategy) -> str:
        self.calls.append((task_id, strategy))
        if self.gate is not None:
            await self.gate.wait()
        if self.refusal:
            raise CommandRefused(self.refusal)
        self.ended.append(task_id)
        return STEPS if strategy is Strategy.MANUAL else self.answer


def notices(app: Any) -> list[tuple[str, str]]:
    """(message, severity) of each notification the app has shown."""
    return [(n.message, n.severity) for n in app._notifications]


# ---------------------------------------------------------------------- look


@size_ids
def test_conflicts_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(Host(ConflictsScreen(conflicted_view())), terminal_size=size)


@size_ids
def test_conflicts_screen_without_conflicts(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(Host(ConflictsScreen(scripted_view())), terminal_size=size)


def test_conflicts_screen_after_manual_shows_the_git_commands(snap_compare: Any) -> None:
    async def press_manual(pilot: Any) -> None:
        await pilot.press("M")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        pilot.app.clear_notifications()  # a toast's timer is no part of the look
        await pilot.pause()

    screen = ConflictsScreen(conflicted_view(), Resolver())
    assert snap_compare(Host(screen), terminal_size=(120, 40), run_before=press_manual)


def test_main_screen_hints_at_the_conflicts(snap_compare: Any) -> None:
    app = monitor()
    app.view = conflicted_view()
    assert snap_compare(app, terminal_size=(80, 24))


# ---------------------------------------------------------------------- what it shows


def test_each_conflict_names_both_tasks_the_paths_their_types_and_the_other_side() -> None:
    view = conflicted_view()
    first, second = view.conflicted()
    assert conflict_cells(first) == (
        "3.3", "Add the linked-accounts…", "docs/oauth/flow.md, src…", "2.1",
    )  # fmt: skip
    assert conflict_cells(second)[3] == "commit b7e01d2"
    assert other_side(second.conflicts[0]) == "commit b7e01d2 “Remove the old client tests”"
    text = _plain(detail(first))
    assert "3.3 “Add the linked-accounts model” and 2.1 “Design the authorization-code flow”" in (
        text
    )
    assert "docs/oauth/flow.md  modify/modify" in text
    assert "src/auth/models.py  add/add" in text
    for item in STRATEGIES:
        assert f"{item.key}    {item.strategy.value}" in text
    assert "take 3.3's version" in text


def test_manual_steps_and_a_strategy_under_way_show_in_the_detail() -> None:
    task = conflicted_view().conflicted()[0]
    text = _plain(detail(task, STEPS, Strategy.USE_LAST))
    assert "use_last: under way" in text
    assert "git merge pmtui/20261125-101500-ab12/3.3" in text


def test_the_monitor_hints_at_conflicts_only_when_there_are_some() -> None:
    assert conflicts_hint(scripted_view(), Glyphs(), "x") == ""
    view = conflicted_view()
    assert conflicts_hint(view, Glyphs(), "x") == (
        "⚔ 2 conflicts, 1 merge waiting for hand edits — press x"
    )
    assert "press k" in str(render_monitor(view, 42.0, Glyphs(), 100, conflicts_key="k"))
    assert "press" not in str(render_monitor(scripted_view(), 42.0, Glyphs(), 100))


# ---------------------------------------------------------------------- keys, stand-in run


@pytest.mark.anyio
@pytest.mark.parametrize(("key", "strategy"), [(item.key, item.strategy) for item in STRATEGIES])
async def test_each_strategy_key_resolves_the_selected_conflict(
    key: str, strategy: Strategy
) -> None:
    resolver = Resolver(answer="task 5.1 merged")
    screen = ConflictsScreen(conflicted_view(), resolver)
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        await pilot.press("down", key)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert resolver.calls == [("5.1", strategy)]
        steps = shown(screen, "#detail")
        if strategy is Strategy.MANUAL:
            assert "git merge pmtui/" in steps
            assert screen.steps == {"5.1": STEPS}
            await pilot.press("y")
            assert pilot.app.clipboard == STEPS
        else:
            assert ("task 5.1 merged", "information") in notices(pilot.app)
            assert "git merge" not in steps
            await pilot.press("y")
            assert ("no commands to copy: press M first", "warning") in notices(pilot.app)


@pytest.mark.anyio
async def test_a_refusal_is_shown_as_an_error() -> None:
    resolver = Resolver(refusal="auto_merge cannot merge it: a real conflict")
    screen = ConflictsScreen(conflicted_view(), resolver)
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        await pilot.press("m")
        await pilot.app.workers.wait_for_complete()
        assert ("auto_merge cannot merge it: a real conflict", "error") in notices(pilot.app)
        assert screen.busy == {}


@pytest.mark.anyio
async def test_a_second_key_while_a_merge_is_under_way_is_refused() -> None:
    resolver = Resolver()
    resolver.gate = anyio.Event()
    screen = ConflictsScreen(conflicted_view(), resolver)
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        await pilot.press("l")
        await until(pilot, lambda: bool(resolver.calls))
        assert "use_last: under way" in shown(screen, "#detail")
        await pilot.press("f")
        assert resolver.calls == [("3.3", Strategy.USE_LAST)]
        assert ("3.3: use_last is under way", "warning") in notices(pilot.app)
        resolver.gate.set()
        await pilot.app.workers.wait_for_complete()
        assert resolver.ended == ["3.3"]


@pytest.mark.anyio
async def test_closing_the_screen_does_not_cancel_a_merge_under_way() -> None:
    app = monitor()
    app.view = conflicted_view()
    resolver = Resolver()
    resolver.gate = anyio.Event()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = ConflictsScreen(app.view, resolver)
        await app.push_screen(screen)
        await pilot.press("l")
        await until(pilot, lambda: bool(resolver.calls))
        await pilot.press("escape")
        assert not isinstance(app.screen, ConflictsScreen)
        resolver.gate.set()
        await app.workers.wait_for_complete()
        assert resolver.ended == ["3.3"]


@pytest.mark.anyio
async def test_the_monitor_is_redrawn_after_a_resolve_that_sent_no_event() -> None:
    app = monitor()
    app.view = RunView(TASKS).apply_all(conflict_events())  # nothing runs: no redraw ticks

    async def resolve_after(task_id: str, strategy: Strategy) -> str:
        # As `LiveRun.resolve_after` does once the run has ended: the view, no event.
        app.view.apply(ev.TaskFinished(50.0, task_id, "done", 0, f"resolved: {strategy}", 1, 0))
        return f"task {task_id} merged"

    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(ConflictsScreen(app.view, resolve_after))
        table = app.query_one(TaskTable)
        assert "conflict" in str(table.get_cell("3.3", "status"))
        await pilot.press("l")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "done" in str(table.get_cell("3.3", "status"))


@pytest.mark.anyio
async def test_a_view_without_a_run_says_so() -> None:
    screen = ConflictsScreen(conflicted_view())
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await pilot.press("l")
        assert any("not of a live run" in message for message, _ in notices(pilot.app))


@pytest.mark.anyio
async def test_the_screen_follows_the_view_and_says_when_nothing_is_left() -> None:
    view = conflicted_view()
    screen = ConflictsScreen(view)
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        table: DataTable[str] = screen.query_one("#conflicts", DataTable)
        assert table.row_count == 2 and not screen.query_one("#empty").display
        await pilot.press("down")
        view.apply(ev.TaskFinished(43.0, "3.3", "done", 0, "resolved: use_last", 1, 0.0))
        screen.refresh_from(view)
        await pilot.pause()
        assert table.row_count == 1
        assert screen.selected() is view.task("5.1")  # the selection stayed on its task
        view.apply(ev.MergeFinished(43.5, "3.2", "merged", ()))
        view.apply(ev.TaskFinished(44.0, "5.1", "done", 0, "resolved: use_first", 1, 0.0))
        screen.refresh_from(view)
        await pilot.pause()
        assert screen.query_one("#empty").display
        assert shown(screen, "#empty").strip() == NO_CONFLICTS
        assert not screen.query_one("#waiting").display
        assert not table.display


# ---------------------------------------------------------------------- the key in the app


@pytest.mark.anyio
async def test_x_opens_the_screen_from_the_monitor_and_x_closes_it() -> None:
    app = monitor()
    app.view = RunView(TASKS).apply_all(conflict_events())
    async with app.run_test(size=(120, 40)) as pilot:
        assert ("x", "conflicts", "Conflicts") in binding_rows(app)
        await pilot.press("x")
        assert isinstance(app.screen, ConflictsScreen)
        await pilot.press("x")
        assert not isinstance(app.screen, ConflictsScreen)
        await pilot.press("x")
        await pilot.press("q")  # back, as on the other screens
        assert not isinstance(app.screen, ConflictsScreen) and app.is_running


@pytest.mark.anyio
async def test_a_remapped_key_opens_the_screen_and_the_hint_names_it() -> None:
    app = monitor()
    app.view = conflicted_view()
    app.keymap = {"conflicts": "k"}
    async with app.run_test(size=(120, 40)) as pilot:
        assert "press k" in str(app.query_one(Monitor).render())
        await pilot.press("k")
        assert isinstance(app.screen, ConflictsScreen)


def test_the_conflicts_screen_is_in_the_palette_and_its_key_can_be_remapped() -> None:
    assert "conflicts" in [action for action, _, _ in COMMANDS]
    assert "conflicts" in KEYS


# ---------------------------------------------------------------------- keys, real runs

WAIT_FOR_FIRST = "until grep -q 'by 1.1' ../../../../common.txt; do sleep 0.05; done; "
"""1.2 waits until 1.1's merge shows in the main checkout, so 1.2 is the one to conflict."""

HOLD = "while [ ! -e ../../../../gate ]; do sleep 0.05; done"
"""A task that keeps the run going until the test creates `gate` at the repository root."""


@pytest.fixture
def repo(workdir: Path) -> Path:
    """A repository with one commit on `main`, checked out; the plan will be untracked."""
    return make_repo(workdir, {"common.txt": "line 1\nline 2\nline 3\n"})


class GitRun:
    """A plan where 1.2 conflicts with 1.1 on `common.txt` and 2.1 depends on 1.2; with
    `hold`, task 1.3 keeps the run going until `release`. The monitor is the one `pmtui run`
    shows (`live_app`): the same `RunControl`, `after_run` and view."""

    def __init__(self, repo: Path, *, hold: bool) -> None:
        self.repo = repo
        plan = (
            "## Phase 1 [PARALLEL]\n"
            + task("1.1", "First edit", "sed -i 's/line 2/line 2 by 1.1/' common.txt")
            + task(
                "1.2",
                "Second edit",
                WAIT_FOR_FIRST + "sed -i 's/line 2/line 2 by 1.2/' common.txt",
                " (retries: 0) (timeout: 20s)",
            )
            + (task("1.3", "Hold", HOLD, " (timeout: 30s)") if hold else "")
            + "## Phase 2\n"
            + task("2.1", "After the second", "echo x > x.txt", " (depends: 1.2)")
        )
        write(repo / "plan.md", plan)
        project = load_project(repo / "plan.md")
        assert project.ok
        err = io.StringIO()
        live = start_live_run(project, repo / "plan.md", HeadlessOptions(adopt_orphans=False), err)
        assert isinstance(live, LiveRun), err.getvalue()
        self.live = live
        self.app, self.result = live_app(project, live, None)
        self.events: list[Event] = []
        taken = self.app.take_event

        def seen(event: Event) -> None:
            self.events.append(event)
            taken(event)

        self.app.take_event = seen  # type: ignore[method-assign]

    @property
    def view(self) -> RunView:
        return self.live.view

    def status(self, task_id: str) -> TaskState:
        return self.view.task(task_id).status

    def named(self, name: str, task_id: str) -> list[Event]:
        return [e for e in self.events if e.name == name and getattr(e, "task", "") == task_id]

    def release(self) -> None:
        (self.repo / "gate").touch()

    def close(self) -> None:
        self.live.session.close()


@pytest.fixture
def held(repo: Path) -> Any:
    run = GitRun(repo, hold=True)
    yield run
    run.release()
    run.close()


@pytest.fixture
def ended(repo: Path) -> Any:
    run = GitRun(repo, hold=False)
    yield run
    run.close()


async def open_conflict(run: GitRun, pilot: Any, finished: bool) -> ConflictsScreen:
    """Wait for 1.2's conflict (and the run's end if `finished`), then press `x`."""
    await until(pilot, lambda: run.status("1.2") is TaskState.CONFLICT, 30)
    if finished:
        await until(pilot, lambda: bool(run.result), 30)
    await pilot.press("x")
    screen = run.app.screen
    assert isinstance(screen, ConflictsScreen)
    assert screen.selected() is run.view.task("1.2")
    return screen


def messages(app: PmtuiApp, severity: str) -> list[str]:
    return [message for message, level in notices(app) if level == severity]


@pytest.mark.anyio
async def test_l_during_the_run_lands_the_second_version_and_runs_the_dependents(
    held: GitRun,
) -> None:
    async with held.app.run_test(size=(120, 40)) as pilot:
        await open_conflict(held, pilot, finished=False)
        assert held.status("2.1") is TaskState.SKIPPED
        await pilot.press("l")
        await until(pilot, lambda: held.status("1.2") is TaskState.DONE, 30)
        assert "line 2 by 1.2" in git(held.repo, "show", "main:common.txt")
        assert "task 1.2 merged (use_last)" in messages(held.app, "information")
        await until(pilot, lambda: held.status("2.1") is TaskState.DONE, 30)
        assert git(held.repo, "show", "main:x.txt") == "x\n"  # the skipped dependent ran
        assert held.view.conflicted() == []
        assert "No conflicts." in shown(held.app.screen, "#empty")
        held.release()
        await until(pilot, lambda: bool(held.result), 30)
        await pilot.press("escape", "q")
    assert held.app.return_value == 0
    git(held.repo, "fsck", "--strict")


@pytest.mark.anyio
async def test_l_after_the_run_lands_it_and_tells_to_resume(ended: GitRun) -> None:
    async with ended.app.run_test(size=(120, 40)) as pilot:
        await open_conflict(ended, pilot, finished=True)
        table = ended.app.screen_stack[0].query_one(TaskTable)
        assert "conflict" in str(table.get_cell("1.2", "status"))
        await pilot.press("l")
        await until(pilot, lambda: ended.status("1.2") is TaskState.DONE, 30)
        assert "line 2 by 1.2" in git(ended.repo, "show", "main:common.txt")
        (message,) = [m for m in messages(ended.app, "information") if "merged" in m]
        assert "task 1.2 merged (use_last)" in message and "--resume" in message
        assert ended.status("2.1") is TaskState.SKIPPED  # it runs with --resume
        # The task table under the screen shows it too.
        await until(pilot, lambda: "done" in str(table.get_cell("1.2", "status")))
        await pilot.press("escape", "q")
    git(ended.repo, "fsck", "--strict")


@pytest.mark.anyio
async def test_shift_m_shows_the_git_commands_and_changes_nothing(ended: GitRun) -> None:
    async with ended.app.run_test(size=(120, 40)) as pilot:
        screen = await open_conflict(ended, pilot, finished=True)
        before = git(ended.repo, "rev-parse", "main")
        await pilot.press("M")
        await until(pilot, lambda: "1.2" in screen.steps, 30)
        assert "git merge pmtui/" in screen.steps["1.2"]
        assert "git merge pmtui/" in shown(screen, "#detail")
        assert git(ended.repo, "rev-parse", "main") == before
        assert ended.status("1.2") is TaskState.CONFLICT
        await pilot.press("escape", "q")


@pytest.mark.anyio
async def test_m_refuses_a_real_conflict_and_changes_nothing(held: GitRun) -> None:
    async with held.app.run_test(size=(120, 40)) as pilot:
        await open_conflict(held, pilot, finished=False)
        before = git(held.repo, "rev-parse", "main")
        await pilot.press("m")
        await until(pilot, lambda: bool(messages(held.app, "error")), 30)
        (refusal,) = messages(held.app, "error")
        assert "auto_merge cannot merge it" in refusal and "real conflict" in refusal
        assert git(held.repo, "rev-parse", "main") == before
        assert "line 2 by 1.1" in git(held.repo, "show", "main:common.txt")
        assert held.status("1.2") is TaskState.CONFLICT
        assert held.app.screen.query_one("#conflicts", DataTable).row_count == 1
        held.release()
        await until(pilot, lambda: bool(held.result), 30)
        await pilot.press("escape", "q")
    assert held.app.return_value == 3


@pytest.mark.anyio
async def test_r_during_the_run_runs_the_task_again_on_the_new_base(held: GitRun) -> None:
    async with held.app.run_test(size=(120, 40)) as pilot:
        await open_conflict(held, pilot, finished=False)
        await pilot.press("r")
        await until(pilot, lambda: len(held.named("task_started", "1.2")) == 2, 30)
        await until(pilot, lambda: held.status("1.2") is TaskState.DONE, 30)
        assert [e.attempt for e in held.named("task_started", "1.2")] == [1, 2]  # type: ignore[attr-defined]
        # Attempt 2 started from 1.1's merge: its edit lands on top of it, no conflict.
        assert "line 2 by 1.2 by 1.1" in git(held.repo, "show", "main:common.txt")
        assert any("runs again" in m for m in messages(held.app, "information"))
        await until(pilot, lambda: held.status("2.1") is TaskState.DONE, 30)
        held.release()
        await until(pilot, lambda: bool(held.result), 30)
        await pilot.press("escape", "q")
    assert held.app.return_value == 0


def _plain(renderable: Any) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(renderable, markup=False)
    return console.export_text()


def shown(screen: Any, selector: str) -> str:
    """The text a screen's `Static` shows."""
    return _plain(screen.query_one(selector, Static).content)
