"""Git isolation in a live run at its edges: a checked merge that waits, a pmtui killed right
after a merge landed, a git lock an agent left, a resolution the run would end under. Real
repositories, real `shell` tasks, checked with the `git` CLI; no sleeps to wait."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import anyio
import pytest

from pmtui.engine import isolation as isolation_module
from pmtui.engine.control import RunControl
from pmtui.engine.events import Event, MergeWaiting, RunFinished, TaskFinished
from pmtui.engine.isolation import GitIsolation, IsolationSettings
from pmtui.engine.process import AttemptResult, StopRequest
from pmtui.project import load_project
from pmtui.report.headless import HeadlessOptions, LiveRun, start_live_run
from pmtui.scheduling.decisions import Outcome
from pmtui.scheduling.scheduler import CommandRefused
from pmtui.store.db import MERGE_LANDED, Store
from pmtui.vcs.integration import find_integration
from pmtui.vcs.strategies import Strategy
from tests.cli_support import finished, json_events, run, task, write
from tests.engine.test_git_runs import as_if_killed
from tests.gitrepo import git, make_repo

RUN = "20261125-101500-ab12"
MAIN = "../../../../"
"""The main checkout, seen from a task's worktree (`.pmtui/worktrees/<run>/<task>`)."""
FAST = '[conflicts]\nretry_delay = "0.05s"\n'


@pytest.fixture
def repo(workdir: Path) -> Path:
    return make_repo(
        workdir,
        {"common.txt": "line 1\nline 2\nline 3\n", "a.txt": "one\n", ".gitignore": ".pmtui/\n"},
    )


def ok() -> AttemptResult:
    return AttemptResult(0, None, "exit 0", False, 0.0, (), 0, None, 0.0)


@pytest.mark.anyio
async def test_a_checked_merge_that_waited_for_a_hand_edit_lands_once_it_is_reverted(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(isolation_module, "HAND_EDIT_RECHECK_S", 0.01)
    integration = find_integration(repo, "")
    checks: list[Path] = []

    async def run_step(argv: object, cwd: Path, header: str) -> AttemptResult:
        checks.append(cwd)
        return ok()

    def emit(event: Event) -> None:
        if isinstance(event, MergeWaiting):
            git(repo, "checkout", "--", "a.txt")  # the user reverts the hand edit

    tasks = {"1.1": SimpleNamespace(title="Edit", priority=None)}
    iso = GitIsolation(
        IsolationSettings(integration, check=("true",)),
        RUN,
        tasks,  # type: ignore[arg-type]
        emit=emit,
        now=lambda: 0.0,
    )
    await iso.prepare("1.1", 1, run_step)
    write(iso.workdir("1.1") / "a.txt", "one by the task\n")
    write(repo / "other.txt", "other\n")  # main moves on: the merge is a replay, not a ff
    git(repo, "add", "other.txt")
    git(repo, "commit", "-q", "-m", "other")
    write(repo / "a.txt", "one by hand\n")  # the file the merge must write
    with anyio.fail_after(20):
        landing = await iso.land("1.1", 1, StopRequest(), run_step)
    assert landing.outcome is Outcome.SUCCEEDED, landing.reason
    assert git(repo, "show", "main:a.txt") == "one by the task\n"
    assert git(repo, "show", "main:other.txt") == "other\n"
    assert git(repo, "status", "--porcelain") == ""


def test_a_landed_merge_whose_task_was_not_saved_done_is_not_run_again(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo / "plan.md", "## Phase 1\n" + task("1.1", "Append", "echo new >> log.txt"))
    code, _, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 0, err
    assert git(repo, "show", "main:log.txt") == "new\n"
    # The state of a pmtui killed right after journalling the merge `landed` (the task's
    # `done` is still queued in the recorder): the task row says running, the run is open.
    with Store.open(repo) as store:
        as_if_killed(store, store.merges(MERGE_LANDED)[0].run_id, "1.1")
    code, out, err = run(["run", "plan.md", "--resume", "--json"], capsys)
    assert code == 0, err
    assert git(repo, "show", "main:log.txt") == "new\n"  # not appended twice
    assert finished(json_events(out))["1.1"]["reason"] == "done before the resume"


def test_a_stale_index_lock_in_a_worktree_fails_the_attempt_not_the_run(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo / "pmtui.toml", FAST)
    script = (
        'if test "$PMTUI_ATTEMPT" = 1; then echo half > half.txt; '
        'touch "$(git rev-parse --git-dir)/index.lock"; exit 1; fi; echo done > done.txt'
    )
    write(repo / "plan.md", "## Phase 1\n" + task("1.1", "Flaky", script, " (retries: 1)"))
    code, out, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 1, err  # the task fails (its worktree is locked); the run ends normally
    assert finished(json_events(out))["1.1"]["status"] == "failed"


@pytest.mark.anyio
async def test_a_resolution_whose_run_ends_meanwhile_is_not_refused_after_landing(
    repo: Path,
) -> None:
    block = f"{MAIN}block-check"
    write(
        repo / "pmtui.toml",
        '[merge]\ncheck = ["sh", "-c", '
        f'"if test -e {block}; then touch {MAIN}checking; '
        f'until test -e {MAIN}checked; do sleep 0.05; done; fi"]\n',
    )
    first = task("1.1", "First edit", "sed -i 's/line 2/line 2 by 1.1/' common.txt")
    second = task(
        "1.2",
        "Second edit",
        f"until grep -q 'by 1.1' {MAIN}common.txt; do sleep 0.05; done; "
        "sed -i 's/line 2/line 2 by 1.2/' common.txt",
        " (retries: 0) (timeout: 20s)",
    )
    hold = task(  # fails when released: it never needs the merge queue the resolution holds
        "1.3",
        "Hold the run",
        f"until test -e {MAIN}release; do sleep 0.05; done; exit 1",
        " (retries: 0) (timeout: 30s)",
    )
    write(repo / "plan.md", "## Phase 1 [PARALLEL]\n" + first + second + hold)
    project = load_project(repo / "plan.md")
    live = start_live_run(
        project, repo / "plan.md", HeadlessOptions(adopt_orphans=False), io.StringIO()
    )
    assert isinstance(live, LiveRun)
    control = RunControl()
    conflict = anyio.Event()
    outcome: dict[str, object] = {}

    def emit(event: Event) -> None:
        live.record(event)
        if isinstance(event, TaskFinished) and event.status == "conflict":
            conflict.set()

    async def until(condition: object) -> None:
        with anyio.fail_after(30):
            while not condition():  # type: ignore[operator]
                await anyio.sleep(0.02)

    try:
        async with anyio.create_task_group() as tasks:

            async def drive() -> None:
                outcome["run"] = await live.run(emit, control)

            async def resolve() -> None:
                try:
                    outcome["resolve"] = await control.resolve("1.2", Strategy.USE_LAST)
                except CommandRefused as error:
                    outcome["resolve"] = error

            tasks.start_soon(drive)
            with anyio.fail_after(30):
                await conflict.wait()
            write(repo / "block-check", "")
            tasks.start_soon(resolve)
            await until(lambda: (repo / "checking").exists())  # the resolution's check runs
            write(repo / "release", "")  # 1.3 ends: nothing but the resolution is open
            await until(lambda: live.view.task("1.3").final)
            assert "run" not in outcome  # the run waits for the resolution under way
            write(repo / "checked", "")
            await until(lambda: "resolve" in outcome and "run" in outcome)
    finally:
        live.session.close()
    assert outcome["resolve"] == "task 1.2 merged (use_last)"
    run_finished = outcome["run"]
    assert isinstance(run_finished, RunFinished) and run_finished.status == "failed"  # 1.3
    assert "line 2 by 1.2\n" in git(repo, "show", "main:common.txt")
    assert live.view.task("1.2").status.value == "done"
