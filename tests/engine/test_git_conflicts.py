"""Resolving a conflict left by the merge queue with seed 004's strategies, on the engine:
during a live run (`RunControl.resolve`) and after it ended (`LiveRun.resolve_after`, then
`--resume`). Real repositories, real `shell` tasks, checked with the `git` CLI.

The conflict is made deterministic by its agent: the second task waits until the first one's
merge shows in the main checkout. A third task holds the run open until the test lets it go.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

from pmtui.engine.control import RunControl
from pmtui.engine.events import Event, RunFinished, TaskFinished
from pmtui.project import load_project
from pmtui.report.headless import HeadlessOptions, LiveRun, start_live_run
from pmtui.scheduling.scheduler import CommandRefused
from pmtui.store.db import Store
from pmtui.vcs.conflicts import Strategy
from tests.cli_support import finished, json_events, task, write
from tests.engine.test_git_runs import subjects
from tests.engine.test_live_runs import REPO
from tests.gitrepo import git, make_repo

pytestmark = pytest.mark.anyio

MAIN = "../../../../"
"""The main checkout, seen from a task's worktree (`.pmtui/worktrees/<run>/<task>`)."""

FIRST = task("1.1", "First edit", "sed -i 's/line 2/line 2 by 1.1/' common.txt")
SECOND = task(
    "1.2",
    "Second edit",
    f"until grep -q 'by 1.1' {MAIN}common.txt; do sleep 0.05; done; "
    "sed -i 's/line 2/line 2 by 1.2/' common.txt; echo more > second.txt",
    " (retries: 0) (timeout: 20s)",
)
HOLD = task(
    "1.3", "Hold the run", f"until test -e {MAIN}release; do sleep 0.05; done", " (timeout: 30s)"
)
AFTER = task("2.1", "After the second", "echo after > after.txt", " (depends: 1.2)")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def repo(workdir: Path) -> Path:
    return make_repo(workdir, {"common.txt": "line 1\nline 2\nline 3\n"})


class Running:
    """A live run in this process, with the moment its conflict appears."""

    def __init__(self, live: LiveRun) -> None:
        self.live = live
        self.control = RunControl()
        self.conflict = anyio.Event()
        self.finals: list[TaskFinished] = []
        self.result: RunFinished | None = None

    def emit(self, event: Event) -> None:
        self.live.record(event)
        if isinstance(event, TaskFinished):
            self.finals.append(event)
            if event.status == "conflict":
                self.conflict.set()


@asynccontextmanager
async def live_run(repo: Path, plan: str) -> AsyncIterator[Running]:
    write(repo / "plan.md", plan)
    project = load_project(repo / "plan.md")
    options = HeadlessOptions(adopt_orphans=False)
    live = start_live_run(project, repo / "plan.md", options, io.StringIO())
    assert isinstance(live, LiveRun)
    running = Running(live)
    try:
        async with anyio.create_task_group() as tasks:

            async def drive() -> None:
                running.result = await live.run(running.emit, running.control)

            tasks.start_soon(drive)
            with anyio.fail_after(30):
                await running.conflict.wait()
            yield running
    finally:
        live.session.close()


async def test_use_last_during_the_run_lands_the_second_version_and_runs_its_dependents(
    repo: Path,
) -> None:
    async with live_run(
        repo, "## Phase 1 [PARALLEL]\n" + FIRST + SECOND + HOLD + "## Phase 2\n" + AFTER
    ) as running:
        message = await running.control.resolve("1.2", Strategy.USE_LAST)
        write(repo / "release", "")
    assert message == "task 1.2 merged (use_last)"
    assert running.result is not None and running.result.status == "ok"
    statuses = {event.task: event.status for event in running.finals}
    assert statuses == {"1.1": "done", "1.2": "done", "1.3": "done", "2.1": "done"}
    assert "line 2 by 1.2\n" in git(repo, "show", "main:common.txt")
    assert git(repo, "show", "main:second.txt") == "more\n"
    assert git(repo, "show", "main:after.txt") == "after\n"
    assert (repo / "common.txt").read_text() == "line 1\nline 2 by 1.2\nline 3\n"
    git(repo, "fsck", "--strict")


async def test_use_first_keeps_the_first_version_and_takes_the_rest(repo: Path) -> None:
    async with live_run(repo, "## Phase 1 [PARALLEL]\n" + FIRST + SECOND + HOLD) as running:
        assert await running.control.resolve("1.2", Strategy.USE_FIRST) == (
            "task 1.2 merged (use_first)"
        )
        write(repo / "release", "")
    assert "line 2 by 1.1\n" in git(repo, "show", "main:common.txt")
    assert git(repo, "show", "main:second.txt") == "more\n"  # its other change merged


async def test_auto_merge_refuses_a_real_conflict_and_changes_nothing(repo: Path) -> None:
    async with live_run(repo, "## Phase 1 [PARALLEL]\n" + FIRST + SECOND + HOLD) as running:
        before = git(repo, "rev-parse", "main")
        with pytest.raises(CommandRefused, match="a real conflict, which is never resolved"):
            await running.control.resolve("1.2", Strategy.AUTO_MERGE)
        assert git(repo, "rev-parse", "main") == before
        steps = await running.control.resolve("1.2", Strategy.MANUAL)
        assert "git merge pmtui/" in steps and "common.txt" in steps
        with pytest.raises(CommandRefused, match="it has no conflict to resolve"):
            await running.control.resolve("1.1", Strategy.USE_LAST)
        write(repo / "release", "")
    assert running.result is not None and running.result.status == "conflict"


async def test_rerun_runs_the_task_again_on_the_new_base(repo: Path) -> None:
    async with live_run(repo, "## Phase 1 [PARALLEL]\n" + FIRST + SECOND + HOLD) as running:
        message = await running.control.resolve("1.2", Strategy.RERUN)
        assert message == "task 1.2 runs again on main"
        write(repo / "release", "")
    assert running.result is not None
    # Rerun on main with 1.1 merged: its sed finds no `line 2` alone and changes only the rest.
    assert [event.status for event in running.finals if event.task == "1.2"] == [
        "conflict",
        "done",
    ]
    assert git(repo, "show", "main:second.txt") == "more\n"


async def test_after_the_run_a_resolution_lands_and_resume_runs_the_skipped(repo: Path) -> None:
    async with live_run(
        repo, "## Phase 1 [PARALLEL]\n" + FIRST + SECOND + "## Phase 2\n" + AFTER
    ) as running:
        pass
    assert running.result is not None and running.result.status == "conflict"
    # The run has ended: the control hands the resolution to the front end's `after_run`.
    running.control.after_run = running.live.resolve_after
    live = running.live
    write(repo / "plan.md", live.plan.read_text())
    with Store.open(repo) as store:
        live.session.store = store
        message = await running.control.resolve("1.2", Strategy.USE_LAST)
        assert "task 1.2 merged (use_last)" in message and "--resume" in message
        row = store.task_states(live.session.run_id)["1.2"]
        assert (row.state, row.reason) == ("done", "resolved: use_last")
    assert "line 2 by 1.2\n" in git(repo, "show", "main:common.txt")
    # (pmtui's own event loop: in a thread, as this test already runs one)
    # (a pmtui process of its own: this test's event loop holds the main thread)
    resumed = subprocess.run(
        [sys.executable, "-m", "pmtui", "run", "plan.md", "--resume", "--json"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    done = finished(json_events(resumed.stdout))
    assert done["2.1"]["status"] == "done" and done["1.2"]["reason"] == "done before the resume"
    assert git(repo, "show", "main:after.txt") == "after\n"
    assert subjects(repo)[0] == "2.1: After the second"
