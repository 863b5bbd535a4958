"""Task branches merged into the integration branch as trees, checked with the `git` CLI:
one commit per task on a linear history where it can, conflicts named with their type before
anything is written, and a branch that moved never overwritten (docs/design.md §6)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pmtui.vcs.merge import MergePlan, plan_merge, publish
from pmtui.vcs.threeway import Side
from pmtui.vcs.worktrees import commit_task, create_worktree
from tests.gitrepo import git
from tests.vcs.test_worktrees import RUN, repo  # noqa: F401 - the fixture

__all__ = ["repo"]

LINES = "".join(f"line {n}\n" for n in range(1, 11))
"""A file of ten lines: edits to its first and last lines are far apart."""

Change = Callable[[Path], object]


def rev(repo: Path, name: str) -> str:
    return git(repo, "rev-parse", name).strip()


def merge_task(
    repo: Path, integration: str, task_branch: str, message: str, *, auto_resolve: bool = True
) -> MergePlan:
    """Plan a task's merge and publish it, as the merge queue does with nothing in between."""
    plan = plan_merge(repo, integration, task_branch, message, auto_resolve=auto_resolve)
    if plan.result == "merged":
        assert publish(repo, plan)
    return plan


def task(repo: Path, task_id: str, change: Change, title: str = "change") -> str:
    """A task's worktree made from `main`, changed by `change`, committed by pmtui."""
    tree = create_worktree(repo, RUN, task_id, "main")
    change(tree.path)
    assert commit_task(tree, task_id, title) is not None
    return tree.branch


def writes(name: str, text: str | bytes) -> Change:
    def change(root: Path) -> None:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            (root / name).write_bytes(text)
        else:
            (root / name).write_text(text)

    return change


def deletes(name: str) -> Change:
    return lambda root: (root / name).unlink()


def commit_by_hand(repo: Path, name: str, text: str | bytes, message: str) -> str:
    """A commit made on `main` with git in the main checkout (first brought up to `main`)."""
    git(repo, "reset", "-q", "--hard")
    writes(name, text)(repo)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return rev(repo, "main")


def git_fails(repo: Path, *args: str) -> bool:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True)
    return done.returncode != 0


def loose_objects(repo: Path) -> str:
    return git(repo, "count-objects", "-v")


def test_tasks_changing_different_files_merge_one_commit_each_on_a_linear_history(
    repo: Path,
) -> None:
    first = task(repo, "1.1", writes("b.txt", "bee\n"), "Add bee")
    second = task(repo, "1.2", writes("c.txt", "see\n"), "Add see")
    one = merge_task(repo, "main", first, "merge 1.1")
    two = merge_task(repo, "main", second, "merge 1.2")
    assert (one.result, one.how) == ("merged", "fast-forward")
    assert (two.result, two.how) == ("merged", "replay")
    assert rev(repo, "main") == two.new.decode()
    assert git(repo, "show", "main:b.txt") == "bee\n" and git(repo, "show", "main:c.txt") == "see\n"
    assert git(repo, "log", "--format=%s", "main").split("\n")[:3] == [
        "1.2: Add see",
        "1.1: Add bee",
        "first",
    ]
    assert git(repo, "rev-list", "--merges", "main") == ""
    assert git(repo, "rev-list", "--count", "main").strip() == "3"
    # The replayed commit holds only its task's change, by pmtui, on top of the first task.
    assert git(repo, "show", "--name-only", "--format=", "main").split() == ["c.txt"]
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn", "main").strip() == (
        "pmtui <pmtui@localhost>|pmtui"
    )
    assert rev(repo, "main~1") == rev(repo, first)
    git(repo, "merge-base", "--is-ancestor", first, "main")
    git(repo, "fsck", "--strict")


def test_a_replayed_commit_keeps_the_agents_author_and_message(repo: Path) -> None:
    other = task(repo, "2.0", writes("z.txt", "zed\n"))
    tree = create_worktree(repo, RUN, "2.1", "main")
    (tree.path / "b.txt").write_text("bee\n")
    git(tree.path, "add", "b.txt")
    git(
        tree.path,
        "-c", "user.name=Agent", "-c", "user.email=agent@example.com",
        "commit", "-q", "-m", "Add bee\n\nBecause bees.",
    )  # fmt: skip
    assert merge_task(repo, "main", other, "merge 2.0").how == "fast-forward"
    result = merge_task(repo, "main", tree.branch, "merge 2.1")
    assert (result.result, result.how) == ("merged", "replay")
    shown = git(repo, "log", "-1", "--format=%an <%ae>%n%B", "main")
    assert shown.strip() == "Agent <agent@example.com>\nAdd bee\n\nBecause bees."
    assert git(repo, "log", "-1", "--format=%P", "main").strip() == rev(repo, other)
    git(repo, "fsck", "--strict")


def test_a_task_started_at_the_integration_head_fast_forwards(repo: Path) -> None:
    branch = task(repo, "3.1", writes("b.txt", "bee\n"))
    result = merge_task(repo, "main", branch, "merge 3.1")
    assert (result.result, result.how) == ("merged", "fast-forward")
    assert rev(repo, "main") == rev(repo, branch) == result.new.decode()
    again = merge_task(repo, "main", branch, "again")
    assert again.result == "up-to-date" and again.new == again.old and not again.moves


def test_two_tasks_editing_the_same_line_conflict_and_nothing_is_written(repo: Path) -> None:
    first = task(repo, "4.1", writes("a.txt", "first version\n"))
    second = task(repo, "4.2", writes("a.txt", "second version\n"))
    assert merge_task(repo, "main", first, "merge 4.1").result == "merged"
    before, tip = rev(repo, "main"), rev(repo, second)
    objects = loose_objects(repo)
    result = merge_task(repo, "main", second, "merge 4.2")
    assert result.result == "conflict" and not result.moves
    assert [(c.path, c.kind) for c in result.conflicts] == [("a.txt", "modify/modify")]
    assert result.new == result.old == before.encode()
    assert rev(repo, "main") == before
    assert git(repo, "show", "main:a.txt") == "first version\n"
    assert rev(repo, second) == tip  # the task's branch is intact
    assert git(repo, "show", f"{second}:a.txt") == "second version\n"
    assert loose_objects(repo) == objects
    git(repo, "fsck", "--strict")


CONFLICTS = {
    "modify/modify": (writes("a.txt", "mine\n"), writes("a.txt", "theirs\n"), "a.txt"),
    "add/add": (writes("n.txt", "one\n"), writes("n.txt", "two\n"), "n.txt"),
    "delete/modify": (deletes("a.txt"), writes("a.txt", "changed\n"), "a.txt"),
    "modify/delete": (writes("a.txt", "changed\n"), deletes("a.txt"), "a.txt"),
    "file/directory": (writes("d", "a file\n"), writes("d/x.txt", "in a folder\n"), "d"),
    "directory/file": (writes("d/x.txt", "in a folder\n"), writes("d", "a file\n"), "d"),
}
KIND = {"modify/delete": "delete/modify", "directory/file": "file/directory"}


@pytest.mark.parametrize("case", sorted(CONFLICTS))
def test_each_type_of_conflict_is_detected_and_named(repo: Path, case: str) -> None:
    merged_first, merged_last, path = CONFLICTS[case]
    first = task(repo, "5.1", merged_first)
    second = task(repo, "5.2", merged_last)
    assert merge_task(repo, "main", first, "first").result == "merged"
    before = rev(repo, "main")
    result = merge_task(repo, "main", second, "second")
    assert result.result == "conflict"
    assert [(c.path, c.kind) for c in result.conflicts] == [(path, KIND.get(case, case))]
    assert rev(repo, "main") == before


def two_edits_of_one_file(repo: Path, first_line: str, last_line: str) -> tuple[str, str]:
    """`lines.txt` committed on main; one task changes its first line, the other its last
    (or both the first, when `last_line` is empty)."""
    commit_by_hand(repo, "lines.txt", LINES, "ten lines")
    first = task(repo, "6.1", writes("lines.txt", LINES.replace("line 1\n", first_line)))
    second_text = (
        LINES.replace("line 10\n", last_line) if last_line else LINES.replace("line 1\n", "B\n")
    )
    second = task(repo, "6.2", writes("lines.txt", second_text))
    return first, second


def test_edits_far_apart_in_one_file_merge_by_line_only_with_auto_resolve(repo: Path) -> None:
    first, second = two_edits_of_one_file(repo, "FIRST\n", "LAST\n")
    assert merge_task(repo, "main", first, "merge 6.1").result == "merged"
    strict = plan_merge(repo, "main", second, "merge 6.2", auto_resolve=False)
    assert strict.result == "conflict"
    assert [(c.path, c.kind) for c in strict.conflicts] == [("lines.txt", "modify/modify")]
    plan = plan_merge(repo, "main", second, "merge 6.2", auto_resolve=True)
    assert (plan.result, plan.how, plan.merged_by_line) == ("merged", "replay", ("lines.txt",))
    assert publish(repo, plan)
    expected = LINES.replace("line 1\n", "FIRST\n").replace("line 10\n", "LAST\n")
    assert git(repo, "show", "main:lines.txt") == expected
    assert git(repo, "log", "--format=%s", "-2", "main").split("\n")[:2] == [
        "6.2: change",
        "6.1: change",
    ]
    git(repo, "fsck", "--strict")


@pytest.mark.parametrize("favor", [Side.OURS, Side.THEIRS])
def test_favor_resolves_a_real_conflict_to_that_side_and_merges_the_rest(
    repo: Path, favor: Side
) -> None:
    commit_by_hand(repo, "lines.txt", LINES, "ten lines")
    both = LINES.replace("line 1\n", "A\n").replace("line 10\n", "LAST\n")
    first = task(repo, "7.1", writes("lines.txt", both))
    second = task(repo, "7.2", writes("lines.txt", LINES.replace("line 1\n", "B\n")))
    assert merge_task(repo, "main", first, "merge 7.1").result == "merged"
    assert plan_merge(repo, "main", second, "merge 7.2").result == "conflict"
    plan = plan_merge(repo, "main", second, "merge 7.2", favor=favor)
    assert plan.result == "merged" and plan.conflicts == ()
    assert publish(repo, plan)
    winner = "A\n" if favor is Side.OURS else "B\n"
    assert git(repo, "show", "main:lines.txt") == both.replace("A\n", winner)
    git(repo, "fsck", "--strict")


@pytest.mark.parametrize("favor", [Side.OURS, Side.THEIRS])
def test_favor_settles_a_delete_modify_conflict_to_that_side(repo: Path, favor: Side) -> None:
    first = task(repo, "7.3", deletes("a.txt"))
    second = task(repo, "7.4", writes("a.txt", "kept\n"))
    assert merge_task(repo, "main", first, "merge 7.3").result == "merged"
    plan = plan_merge(repo, "main", second, "merge 7.4", favor=favor)
    assert plan.result == "merged"
    assert publish(repo, plan)
    files = git(repo, "ls-tree", "-r", "--name-only", "main").split()
    if favor is Side.THEIRS:
        assert git(repo, "show", "main:a.txt") == "kept\n"
    else:
        assert "a.txt" not in files


def test_planning_writes_nothing_and_publish_stores_the_merge(repo: Path) -> None:
    first = task(repo, "8.1", writes("b.txt", "bee\n"))
    second = task(repo, "8.2", writes("a.txt", "changed\n"))
    assert merge_task(repo, "main", first, "merge 8.1").result == "merged"
    before, objects = rev(repo, "main"), loose_objects(repo)
    plan = plan_merge(repo, "main", second, "merge 8.2")
    assert plan.result == "merged" and plan.moves
    assert (rev(repo, "main"), loose_objects(repo)) == (before, objects)
    assert git_fails(repo, "cat-file", "-e", plan.new.decode())
    assert publish(repo, plan)
    assert rev(repo, "main") == plan.new.decode()
    git(repo, "fsck", "--strict")


def test_publish_refuses_when_the_branch_moved_since_the_plan(repo: Path) -> None:
    first = task(repo, "9.1", writes("b.txt", "bee\n"))
    second = task(repo, "9.2", writes("c.txt", "see\n"))
    assert merge_task(repo, "main", first, "merge 9.1").result == "merged"
    plan = plan_merge(repo, "main", second, "merge 9.2")
    assert plan.result == "merged"
    meanwhile = commit_by_hand(repo, "m.txt", "meanwhile\n", "meanwhile")
    tip = rev(repo, second)
    assert publish(repo, plan) is False
    assert rev(repo, "main") == meanwhile
    assert git(repo, "log", "-1", "--format=%s", "main").strip() == "meanwhile"
    assert git_fails(repo, "cat-file", "-e", "main:c.txt")
    assert git(repo, "status", "--porcelain") == ""
    assert rev(repo, second) == tip
    git(repo, "fsck", "--strict")
    # Planned again on the branch as it is now, it goes in on top of the commit made meanwhile.
    again = plan_merge(repo, "main", second, "merge 9.2")
    assert again.old == meanwhile.encode()
    assert publish(repo, again)
    assert git(repo, "log", "--format=%s", "-3", "main").split("\n")[:3] == [
        "9.2: change",
        "meanwhile",
        "9.1: change",
    ]
    git(repo, "fsck", "--strict")


def test_an_agents_own_commits_come_in_by_a_merge_commit_and_none_is_lost(repo: Path) -> None:
    other = task(repo, "11.0", writes("z.txt", "zed\n"))
    tree = create_worktree(repo, RUN, "11.1", "main")
    (tree.path / "b.txt").write_text("bee\n")
    git(tree.path, "add", "b.txt")
    git(tree.path, "commit", "-q", "-m", "agent: one")
    one = rev(tree.path, "HEAD")
    (tree.path / "c.txt").write_text("see\n")
    git(tree.path, "add", "c.txt")
    git(tree.path, "commit", "-q", "-m", "agent: two")
    two = rev(tree.path, "HEAD")
    assert commit_task(tree, "11.1", "Two commits") is None
    assert merge_task(repo, "main", other, "merge 11.0").result == "merged"
    result = merge_task(repo, "main", tree.branch, "11.1: Two commits")
    assert (result.result, result.how) == ("merged", "merge-commit")
    assert git(repo, "log", "-1", "--format=%P", "main").split() == [rev(repo, other), two]
    assert git(repo, "log", "-1", "--format=%s|%an", "main").strip() == ("11.1: Two commits|pmtui")
    for commit in (one, two, rev(repo, other)):
        git(repo, "merge-base", "--is-ancestor", commit, "main")
    listed = git(repo, "ls-tree", "-r", "--name-only", "main").split()
    assert {"b.txt", "c.txt", "z.txt", "a.txt"} <= set(listed)
    git(repo, "fsck", "--strict")


def test_binary_files_changed_on_both_sides_conflict_even_far_apart(repo: Path) -> None:
    data = b"\0" + b"x\n" * 50
    commit_by_hand(repo, "blob.bin", data, "binary")
    first = task(repo, "12.1", writes("blob.bin", b"\0" + b"y\n" + b"x\n" * 49))
    second = task(repo, "12.2", writes("blob.bin", b"\0" + b"x\n" * 49 + b"z\n"))
    assert merge_task(repo, "main", first, "merge 12.1").result == "merged"
    result = plan_merge(repo, "main", second, "merge 12.2", auto_resolve=True)
    assert result.result == "conflict"
    assert [(c.path, c.kind) for c in result.conflicts] == [("blob.bin", "modify/modify")]


def test_a_missing_branch_is_a_key_error(repo: Path) -> None:
    with pytest.raises(KeyError):
        merge_task(repo, "main", "pmtui/none/0.0", "merge")
    with pytest.raises(KeyError):
        plan_merge(repo, "nope", "main", "merge")


def test_a_folder_emptied_by_two_tasks_between_them_leaves_no_empty_tree(repo: Path) -> None:
    git(repo, "reset", "-q", "--hard")
    (repo / "d").mkdir()
    (repo / "d" / "x").write_text("x\n")
    (repo / "d" / "y").write_text("y\n")
    git(repo, "add", "d")
    git(repo, "commit", "-q", "-m", "a folder of two")
    first = task(repo, "13.1", deletes("d/x"))
    second = task(repo, "13.2", deletes("d/y"))
    assert merge_task(repo, "main", first, "merge 13.1").result == "merged"
    assert merge_task(repo, "main", second, "merge 13.2").result == "merged"
    assert git(repo, "ls-tree", "--name-only", "main").split() == [".gitignore", "a.txt"]
