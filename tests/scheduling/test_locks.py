"""File locks: tasks sharing files in one workspace never run at once (docs/design.md §4)."""

from __future__ import annotations

import itertools

import pytest

from pmtui.scheduling.decisions import Outcome, Start
from pmtui.scheduling.locks import FileLocks
from pmtui.scheduling.simulator import simulate
from tests.scheduling.helpers import of_type, scheduler_of, scripted, started, waiting


def never_exempt(_agent: str, _holder: str) -> bool:
    return False


def two_readers(first_files: str, second_files: str) -> str:
    """Two read-only agents of no common cluster, with the given `files:`."""
    return f"""
        ## Phase 1: Read
        - [ ] 1.1 Plan it (agent: product-manager) (files: {first_files})
        - [ ] 1.2 Audit it (agent: security-agent) (files: {second_files})
        """


@pytest.mark.parametrize(
    ("first", "second", "path"),
    [
        ("src/a.py", "src/a.py", "src/a.py"),
        ("src/auth/", "src/auth/session.py", "src/auth/session.py"),
        ("src/auth/session.py", "src/auth/", "src/auth/"),
        ("src/*.py", "src/app.py", "src/app.py"),
        ("src/**/*.py", "src/auth/deep/x.py", "src/auth/deep/x.py"),
        ("docs/a.md, src/a.py", "src/a.py, tests/t.py", "src/a.py"),
    ],
    ids=["same-path", "folder-then-file", "file-then-folder", "glob", "deep-glob", "one-of-two"],
)
def test_overlapping_files_wait_for_the_holder(first: str, second: str, path: str) -> None:
    scheduler = scheduler_of(two_readers(first, second))
    outputs = scheduler.decide(0)
    assert started(outputs) == ["1.1"]
    assert waiting(outputs) == {"1.2": f"file lock: {path} is in use"}
    assert scheduler.blocker("1.2") == "1.1"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("src/a.py", "src/b.py"),
        ("src/auth/", "src/authz/x.py"),
        ("src/*.py", "src/deep/a.py"),
        ("docs/**", "src/a.md"),
    ],
)
def test_disjoint_files_run_together(first: str, second: str) -> None:
    outputs = scheduler_of(two_readers(first, second)).decide(0)
    assert started(outputs) == ["1.1", "1.2"]
    assert waiting(outputs) == {}


def test_tasks_without_files_never_wait_for_a_lock() -> None:
    scheduler = scheduler_of(
        """
        ## Phase 1: Read
        - [ ] 1.1 Plan it (agent: product-manager) (files: src/a.py)
        - [ ] 1.2 Audit (agent: security-agent)
        - [ ] 1.3 Watch (agent: monitoring)
        """
    )
    assert started(scheduler.decide(0)) == ["1.1", "1.2", "1.3"]


def test_the_lock_is_released_when_the_holder_ends() -> None:
    scheduler = scheduler_of(two_readers("src/a.py", "src/a.py"))
    assert started(scheduler.decide(0)) == ["1.1"]
    assert started(scheduler.decide(3)) == []
    scheduler.finished("1.1", 5, Outcome.SUCCEEDED, exit_code=0)
    outputs = scheduler.decide(5)
    assert started(outputs) == ["1.2"]


@pytest.mark.parametrize("outcome", [Outcome.FAILED, Outcome.CONFLICT])
def test_the_lock_is_released_when_the_holder_fails(outcome: Outcome) -> None:
    scheduler = scheduler_of(
        """
        ## Phase 1: Read
        - [ ] 1.1 Plan it (agent: product-manager) (files: src/a.py) (retries: 0)
        - [ ] 1.2 Audit it (agent: security-agent) (files: src/a.py)
        """
    )
    scheduler.decide(0)
    scheduler.finished("1.1", 5, outcome, exit_code=1)
    assert started(scheduler.decide(5)) == ["1.2"]


def test_the_lock_is_kept_while_a_skipped_holder_is_still_dying() -> None:
    scheduler = scheduler_of(two_readers("src/a.py", "src/a.py"))
    scheduler.decide(0)
    scheduler.skip("1.1", 1)
    assert started(scheduler.decide(1)) == []
    scheduler.finished("1.1", 2, Outcome.FAILED, reason="signal SIGTERM")
    assert started(scheduler.decide(2)) == ["1.2"]


def test_isolated_tasks_take_no_locks() -> None:
    scheduler = scheduler_of(
        two_readers("src/a.py", "src/a.py"), isolated=frozenset({"1.1", "1.2"})
    )
    outputs = scheduler.decide(0)
    assert started(outputs) == ["1.1", "1.2"]
    assert all(start.isolated for start in of_type(outputs, Start))


def test_a_shared_workspace_task_runs_beside_an_isolated_one_on_the_same_file() -> None:
    scheduler = scheduler_of(two_readers("src/a.py", "src/a.py"), isolated=frozenset({"1.1"}))
    outputs = scheduler.decide(0)
    assert [(start.task, start.isolated) for start in of_type(outputs, Start)] == [
        ("1.1", True),
        ("1.2", False),
    ]


def test_a_waiter_starts_as_soon_as_the_holder_ends_in_a_whole_run() -> None:
    scheduler = scheduler_of(
        """
        ## Phase 1: Edit
        - [ ] 1.1 One (agent: product-manager) (files: src/a.py)
        - [ ] 1.2 Two (agent: security-agent) (files: src/a.py)
        - [ ] 1.3 Three (agent: monitoring) (files: src/a.py)
        - [ ] 1.4 Elsewhere (agent: alerts) (files: src/b.py)
        """
    )
    result = simulate(scheduler, scripted(durations={"1.1": 4, "1.2": 6, "1.3": 2, "1.4": 30}))
    on_a = sorted((a.start_s, a.end_s) for a in result.attempts if a.task != "1.4")
    assert on_a == [(0, 4), (4, 10), (10, 12)]
    for (_, end), (start, _) in itertools.pairwise(on_a):
        assert start >= end
    assert {wait.kind for wait in result.waits} == {"file lock"}


# --------------------------------------------------------------------------- FileLocks itself


def test_file_locks_report_holder_and_shared_path() -> None:
    locks = FileLocks()
    locks.take("1.1", "product-manager", ("src/auth/",))
    assert locks.holders() == {"1.1": ("src/auth/",)}
    assert locks.blocker("qa-engineer", ("src/auth/x.py",), never_exempt) == (
        "1.1",
        "src/auth/x.py",
    )
    assert locks.blocker("qa-engineer", ("docs/x.md",), never_exempt) is None


def test_file_locks_for_a_task_without_files_hold_nothing() -> None:
    locks = FileLocks()
    locks.take("1.1", "product-manager", ())
    assert locks.holders() == {}
    assert locks.blocker("qa-engineer", (), never_exempt) is None


def test_file_locks_release_drops_every_lock_of_the_task() -> None:
    locks = FileLocks()
    locks.take("1.1", "product-manager", ("src/a.py", "src/b.py"))
    locks.release("1.1")
    locks.release("1.1")  # releasing twice is harmless
    assert locks.blocker("qa-engineer", ("src/b.py",), never_exempt) is None


def test_file_locks_exempt_pairs_never_block() -> None:
    locks = FileLocks()
    locks.take("1.1", "qa-engineer", ("src/a.py",))

    def mates(agent: str, holder: str) -> bool:
        return {agent, holder} == {"qa-engineer", "error-handler"}

    assert locks.blocker("error-handler", ("src/a.py",), mates) is None
    assert locks.blocker("product-manager", ("src/a.py",), mates) == ("1.1", "src/a.py")
