"""Task branches merged into the integration branch without touching a checkout, checked with
the `git` CLI; conflicts found before anything is written (DESIGN.md §6)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pmtui.vcs.merge import merge_task
from pmtui.vcs.worktrees import commit_task, create_worktree
from tests.vcs.test_worktrees import RUN, git, repo  # noqa: F401 - the fixture

__all__ = ["repo"]


def task_editing(repo: Path, task_id: str, name: str, text: str, base: str = "main") -> str:
    tree = create_worktree(repo, RUN, task_id, base)
    (tree.path / name).write_text(text)
    assert commit_task(tree, task_id, f"edit {name}") is not None
    return tree.branch


def test_tasks_changing_different_files_all_merge_one_commit_each(repo: Path) -> None:
    first = task_editing(repo, "1.1", "b.txt", "bee\n")
    second = task_editing(repo, "1.2", "c.txt", "see\n")
    one = merge_task(repo, "main", first, "merge 1.1")
    two = merge_task(repo, "main", second, "merge 1.2")
    assert (one.result, two.result) == ("merged", "merged")
    assert git(repo, "rev-parse", "main").strip() == two.commit.decode()  # type: ignore[union-attr]
    assert git(repo, "show", "main:b.txt") == "bee\n" and git(repo, "show", "main:c.txt") == "see\n"
    subjects = git(repo, "log", "--format=%s", "main").strip().split("\n")
    # 1.1 fast-forwarded main; 1.2, made beside it, came in by a merge commit.
    assert subjects[0] == "merge 1.2"
    assert sorted(subjects[1:]) == ["1.1: edit b.txt", "1.2: edit c.txt", "first"]
    assert git(repo, "merge-base", "--is-ancestor", second, "main") == ""
    git(repo, "fsck", "--strict")


def test_a_task_on_the_current_base_fast_forwards(repo: Path) -> None:
    branch = task_editing(repo, "2.1", "b.txt", "bee\n")
    result = merge_task(repo, "main", branch, "merge 2.1")
    assert result.result == "merged"
    assert git(repo, "rev-parse", "main").strip() == git(repo, "rev-parse", branch).strip()
    assert merge_task(repo, "main", branch, "again").result == "up-to-date"


def test_two_tasks_editing_the_same_line_conflict_and_nothing_is_written(repo: Path) -> None:
    first = task_editing(repo, "3.1", "a.txt", "first version\n")
    second = task_editing(repo, "3.2", "a.txt", "second version\n")
    assert merge_task(repo, "main", first, "merge 3.1").result == "merged"
    before = git(repo, "rev-parse", "main").strip()
    result = merge_task(repo, "main", second, "merge 3.2")
    assert result.result == "conflict"
    assert [(c.path, c.kind) for c in result.conflicts] == [("a.txt", "modify/modify")]
    assert git(repo, "rev-parse", "main").strip() == before
    assert git(repo, "show", "main:a.txt") == "first version\n"
    assert git(repo, "log", "-1", "--format=%s", second).strip() == "3.2: edit a.txt"  # kept
    git(repo, "fsck", "--strict")


def test_a_missing_branch_is_a_key_error(repo: Path) -> None:
    with pytest.raises(KeyError):
        merge_task(repo, "main", "pmtui/none/0.0", "merge")


def test_a_branch_moved_during_the_merge_is_not_overwritten(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dulwich import porcelain

    mine = task_editing(repo, "4.1", "b.txt", "bee\n")
    task_editing(repo, "4.0", "z.txt", "zed\n")
    real_merge_tree = porcelain.merge_tree

    def merge_tree_while_someone_commits(*args: object, **kwargs: object) -> object:
        result = real_merge_tree(*args, **kwargs)  # type: ignore[arg-type]
        (repo / "a.txt").write_text("someone else\n")  # another writer, meanwhile
        git(repo, "commit", "-q", "-am", "meanwhile")
        return result

    # 4.1 does not start at main's tip once main has moved: a real three-way merge.
    git(repo, "commit", "-q", "--allow-empty", "-m", "main moves on")
    monkeypatch.setattr(porcelain, "merge_tree", merge_tree_while_someone_commits)
    result = merge_task(repo, "main", mine, "merge 4.1")
    assert result.result == "moved"
    assert git(repo, "log", "-1", "--format=%s", "main").strip() == "meanwhile"
    monkeypatch.setattr(porcelain, "merge_tree", real_merge_tree)
    assert merge_task(repo, "main", mine, "merge 4.1").result == "merged"
    git(repo, "fsck", "--strict")


def test_each_conflict_is_named_with_its_type(repo: Path) -> None:

    def task(task_id: str, change: Callable[[Path], None]) -> str:
        tree = create_worktree(repo, RUN, task_id, "main")
        change(tree.path)
        assert commit_task(tree, task_id, "change") is not None
        return tree.branch

    def kinds(first: str, second: str) -> list[tuple[str, str]]:
        assert merge_task(repo, "main", first, "first").result == "merged"
        result = merge_task(repo, "main", second, "second")
        assert result.result == "conflict"
        return [(c.path, c.kind) for c in result.conflicts]

    added = task("5.1", lambda p: (p / "n.txt").write_text("one\n"))
    added_too = task("5.2", lambda p: (p / "n.txt").write_text("two\n"))
    assert kinds(added, added_too) == [("n.txt", "add/add")]
    git(repo, "reset", "-q", "--hard", "main")
    deleted = task("5.3", lambda p: (p / "a.txt").unlink())
    modified = task("5.4", lambda p: (p / "a.txt").write_text("changed\n"))
    assert kinds(deleted, modified) == [("a.txt", "delete/modify")]


def test_a_file_meeting_a_directory_is_a_file_directory_conflict(repo: Path) -> None:
    def as_file(path: Path) -> None:
        (path / "d").write_text("a file\n")

    def as_dir(path: Path) -> None:
        (path / "d").mkdir()
        (path / "d" / "x.txt").write_text("in a folder\n")

    first = create_worktree(repo, RUN, "6.1", "main")
    as_file(first.path)
    commit_task(first, "6.1", "file")
    second = create_worktree(repo, RUN, "6.2", "main")
    as_dir(second.path)
    commit_task(second, "6.2", "dir")
    assert merge_task(repo, "main", first.branch, "first").result == "merged"
    result = merge_task(repo, "main", second.branch, "second")
    assert result.result == "conflict"
    assert {c.kind for c in result.conflicts} == {"file/directory"}
