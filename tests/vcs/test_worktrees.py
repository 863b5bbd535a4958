"""A worktree per task, through dulwich, checked with the real `git` CLI (docs/design.md §6)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmtui.vcs.worktrees import (
    WorktreeDirty,
    WorktreeError,
    branch_name,
    changes,
    commit_task,
    create_worktree,
    ref_component,
    remove_worktree,
)
from tests.gitrepo import git, make_repo

RUN = "20261125-101500-ab12"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"a.txt": "one\n", ".gitignore": ".pmtui/\n"})


def test_a_task_gets_its_own_worktree_on_its_own_branch(repo: Path) -> None:
    tree = create_worktree(repo, RUN, "2.1", "main")
    assert tree.path == repo / ".pmtui" / "worktrees" / RUN / "2.1"
    assert tree.branch == f"pmtui/{RUN}/2.1"
    assert (tree.path / "a.txt").read_text() == "one\n"
    listed = git(repo, "worktree", "list", "--porcelain")
    assert f"worktree {tree.path}" in listed and f"branch refs/heads/{tree.branch}" in listed
    assert git(repo, "rev-parse", tree.branch).strip() == git(repo, "rev-parse", "main").strip()
    assert changes(tree.path) == []


def test_what_the_task_changed_is_committed_by_pmtui_on_its_branch(repo: Path) -> None:
    tree = create_worktree(repo, RUN, "2.1", "main")
    (tree.path / "a.txt").write_text("one\ntwo\n")
    (tree.path / "new").mkdir()
    (tree.path / "new" / "b.txt").write_text("bee\n")
    assert changes(tree.path) == ["a.txt", "new/b.txt"]
    commit = commit_task(tree, "2.1", "Add the second line")
    assert commit is not None
    log = git(repo, "log", "-1", "--format=%an <%ae>|%s", tree.branch).strip()
    assert log == "pmtui <pmtui@localhost>|2.1: Add the second line"
    shown = git(repo, "show", "--name-only", "--format=", tree.branch).split()
    assert sorted(shown) == ["a.txt", "new/b.txt"]
    assert git(repo, "show", f"{tree.branch}:new/b.txt") == "bee\n"
    assert changes(tree.path) == []
    assert git(repo, "rev-parse", "main").strip() != commit.decode()  # main is untouched
    git(repo, "fsck", "--strict")


def test_nothing_to_commit_when_the_task_changed_nothing_or_committed_itself(
    repo: Path,
) -> None:
    tree = create_worktree(repo, RUN, "2.2", "main")
    assert commit_task(tree, "2.2", "Read only") is None
    (tree.path / "c.txt").write_text("see\n")
    git(tree.path, "add", "c.txt")
    git(tree.path, "commit", "-q", "-m", "the agent's own commit")
    assert commit_task(tree, "2.2", "Committed itself") is None
    assert git(repo, "log", "-1", "--format=%s", tree.branch).strip() == "the agent's own commit"


def test_a_worktree_with_uncommitted_work_is_never_removed(repo: Path) -> None:
    tree = create_worktree(repo, RUN, "2.3", "main")
    (tree.path / "a.txt").write_text("changed by hand\n")
    (tree.path / "untracked.txt").write_text("mine\n")
    with pytest.raises(WorktreeDirty) as refused:
        remove_worktree(repo, tree)
    assert refused.value.changes == ["a.txt", "untracked.txt"]
    assert "has uncommitted changes (a.txt, untracked.txt)" in str(refused.value)
    assert (tree.path / "a.txt").read_text() == "changed by hand\n"
    assert (tree.path / "untracked.txt").exists()


def test_a_committed_worktree_is_removed_and_its_branch_kept(repo: Path) -> None:
    tree = create_worktree(repo, RUN, "2.4", "main")
    (tree.path / "a.txt").write_text("done\n")
    commit_task(tree, "2.4", "Finish")
    remove_worktree(repo, tree)
    assert not tree.path.exists()
    assert str(tree.path) not in git(repo, "worktree", "list")
    assert git(repo, "log", "-1", "--format=%s", tree.branch).strip() == "2.4: Finish"
    git(repo, "fsck", "--strict")


def test_a_worktree_starts_from_the_base_it_is_given(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    (repo / "a.txt").write_text("two\n")
    git(repo, "commit", "-q", "-am", "second")
    tree = create_worktree(repo, RUN, "3.1", first)
    assert (tree.path / "a.txt").read_text() == "one\n"
    with pytest.raises(KeyError, match="no branch or commit nope"):
        create_worktree(repo, RUN, "3.2", "nope")


def test_ids_are_verbatim_in_branch_names_when_legal_else_made_legal(repo: Path) -> None:
    assert branch_name(RUN, "2.1") == f"pmtui/{RUN}/2.1"
    for task_id in [
        "a b",
        "x..y",
        "t~1^2:3",
        "what?*",
        "[x]",
        "back\\slash",
        ".hidden",
        "a.lock",
        "@",
    ]:
        name = branch_name(RUN, task_id)
        subprocess.run(["git", "check-ref-format", f"refs/heads/{name}"], check=True)


@given(st.text(min_size=1, max_size=30))
def test_every_task_id_gives_a_legal_ref_component(task_id: str) -> None:
    component = ref_component(task_id)
    assert component and "/" not in component
    name = f"refs/heads/pmtui/run/{component}"
    result = subprocess.run(["git", "check-ref-format", name], capture_output=True)
    assert result.returncode == 0, (task_id, component)


def test_a_branch_that_exists_is_never_moved(repo: Path) -> None:
    tree = create_worktree(repo, RUN, "4.1", "main")
    (tree.path / "a.txt").write_text("work\n")
    commit = commit_task(tree, "4.1", "Work")
    assert commit is not None
    with pytest.raises(WorktreeError, match="already exists"):  # its folder is in the way
        create_worktree(repo, RUN, "4.1", "main")
    remove_worktree(repo, tree)
    with pytest.raises(ValueError, match="already exists"):  # and so is its branch
        create_worktree(repo, RUN, "4.1", "main")
    assert git(repo, "rev-parse", tree.branch).strip() == commit.decode()
