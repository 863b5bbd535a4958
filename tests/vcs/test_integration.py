"""The integration branch found in a repository, and the main checkout brought along with each
merge — never over a file changed by hand there (docs/design.md §6); checked with the `git` CLI."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from dulwich.repo import Repo

from pmtui.vcs.integration import (
    Integration,
    IsolationUnavailable,
    find_integration,
    update_checkout,
)
from pmtui.vcs.merge import MergePlan, plan_merge, publish
from pmtui.vcs.workfiles import CheckoutBlocked, blocked_paths, tree_diff
from pmtui.vcs.worktrees import commit_task, create_worktree, tree_of
from tests.gitrepo import git
from tests.vcs.test_merge import Change, deletes, merge_task, writes
from tests.vcs.test_worktrees import RUN, repo  # noqa: F401 - the fixture

__all__ = ["repo"]


def planned(repo: Path, task_id: str, *edits: Change) -> MergePlan:
    """A task made from `main`, changed by `edits`, committed, its merge planned (not
    published)."""
    tree = create_worktree(repo, RUN, task_id, "main")
    for edit in edits:
        edit(tree.path)
    assert commit_task(tree, task_id, "change") is not None
    plan = plan_merge(repo, "main", tree.branch, f"merge {task_id}")
    assert plan.result == "merged"
    return plan


def landed(repo: Path, task_id: str, *edits: Change) -> tuple[Integration, bytes, bytes]:
    """The integration of `repo`, and the old and new commit of a task's merge, published."""
    integration = find_integration(repo, "")
    plan = planned(repo, task_id, *edits)
    assert publish(repo, plan)
    return integration, plan.old, plan.new


def blocked(integration: Integration, old: bytes, new: bytes) -> list[str]:
    """The main checkout's files changed by hand that moving it from `old` to `new` would
    overwrite, as `publish_checked_out` finds them."""
    with Repo(str(integration.repo_root)) as repo:
        before, after = tree_diff(repo.object_store, tree_of(repo, old), tree_of(repo, new))
        found = blocked_paths(
            integration.checkout, repo, before, after, before.keys() | after.keys()
        )
    return [os.fsdecode(path) for path in found]


def assert_checkout_matches_head(repo: Path) -> None:
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "diff", "HEAD") == ""
    assert git(repo, "diff", "--cached") == ""
    staged = [
        line.split()[:2] + line.split("\t")[1:] for line in git(repo, "ls-files", "-s").splitlines()
    ]
    tree = [
        [line.split()[0], line.split()[2], line.split("\t")[1]]
        for line in git(repo, "ls-tree", "-r", "HEAD").splitlines()
    ]
    assert staged == tree


@pytest.fixture
def excluded(tmp_path: Path) -> Path:
    """A repository whose `.pmtui/` is hidden by `.git/info/exclude`, not by `.gitignore`."""
    root = tmp_path / "excluded"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "me@example.com")
    git(root, "config", "user.name", "Me")
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "exclude").write_text(".pmtui/\n")
    (root / "a.txt").write_text("one\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


# find_integration


def test_the_integration_branch_is_the_current_one_by_default(repo: Path) -> None:
    found = find_integration(repo, "")
    assert found == Integration(repo, "main", True)
    assert found.head().decode() == git(repo, "rev-parse", "main").strip()
    assert found.checkout.index_path == repo / ".git" / "index"


def test_an_explicit_base_is_used_and_checked_out_only_if_it_is_the_current_branch(
    repo: Path,
) -> None:
    git(repo, "branch", "other")
    assert find_integration(repo, "other") == Integration(repo, "other", False)
    assert find_integration(repo, "main") == Integration(repo, "main", True)


def test_a_detached_head_without_a_base_is_refused(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    with pytest.raises(IsolationUnavailable, match="detached") as refused:
        find_integration(repo, "")
    assert "git switch" in refused.value.hint
    assert find_integration(repo, "main") == Integration(repo, "main", False)


def test_a_repository_without_a_commit_is_refused(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    with pytest.raises(IsolationUnavailable, match="no commit"):
        find_integration(tmp_path, "")


def test_a_base_naming_no_branch_is_refused(repo: Path) -> None:
    with pytest.raises(IsolationUnavailable, match="'nope' names no branch"):
        find_integration(repo, "nope")


def test_an_unreadable_git_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    with pytest.raises(IsolationUnavailable, match="cannot be read as a git repository"):
        find_integration(tmp_path, "")


def test_a_linked_worktree_is_refused(repo: Path) -> None:
    tree = create_worktree(repo, RUN, "0.1", "main")
    with pytest.raises(IsolationUnavailable, match="linked worktree"):
        find_integration(tree.path, "")


# update_checkout


def test_the_checkout_follows_the_branch_files_and_index(repo: Path) -> None:
    (repo / "gone").mkdir()
    (repo / "gone" / "x.txt").write_text("x\n")
    (repo / "run.sh").write_text("echo hi\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "more")

    def edit(root: Path) -> None:
        (root / "a.txt").write_text("one\ntwo\n")
        (root / "b.txt").write_text("bee\n")
        (root / "sub" / "deep").mkdir(parents=True)
        (root / "sub" / "deep" / "c.txt").write_text("see\n")
        (root / "gone" / "x.txt").unlink()
        (root / "gone").rmdir()
        (root / "run.sh").chmod(0o755)
        (root / "link").symlink_to("a.txt")

    integration = find_integration(repo, "")
    plan = planned(repo, "1.1", edit)
    assert blocked(integration, plan.old, plan.new) == []
    assert publish(repo, plan)
    written = update_checkout(integration, plan.old, plan.new)
    assert written == ["a.txt", "b.txt", "gone/x.txt", "link", "run.sh", "sub/deep/c.txt"]
    assert_checkout_matches_head(repo)
    assert (repo / "a.txt").read_text() == "one\ntwo\n"
    assert (repo / "sub" / "deep" / "c.txt").read_text() == "see\n"
    assert not (repo / "gone").exists()
    assert os.stat(repo / "run.sh").st_mode & stat.S_IXUSR
    assert os.readlink(repo / "link") == "a.txt"
    git(repo, "fsck", "--strict")


def test_replayed_merges_one_after_another_keep_the_checkout_in_step(repo: Path) -> None:
    integration = find_integration(repo, "")
    first = planned(repo, "2.1", writes("b.txt", "bee\n"))
    second_tree = create_worktree(repo, RUN, "2.2", "main")
    (second_tree.path / "a.txt").write_text("changed\n")
    commit_task(second_tree, "2.2", "change")
    assert publish(repo, first)
    update_checkout(integration, first.old, first.new)
    second = plan_merge(repo, "main", second_tree.branch, "merge 2.2")
    assert second.how == "replay"
    assert publish(repo, second)
    assert update_checkout(integration, second.old, second.new) == ["a.txt"]
    assert_checkout_matches_head(repo)


def test_a_checkout_of_another_branch_is_never_touched(repo: Path) -> None:
    git(repo, "switch", "-q", "-c", "elsewhere")
    integration = find_integration(repo, "main")
    assert not integration.checked_out
    plan = planned(repo, "3.1", writes("a.txt", "changed\n"))
    assert publish(repo, plan)
    assert blocked(integration, plan.old, plan.new) == []
    assert update_checkout(integration, plan.old, plan.new) == []
    assert (repo / "a.txt").read_text() == "one\n"
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("staged", [False, True], ids=["in-the-file", "staged"])
def test_a_hand_edit_blocks_the_checkout_update_and_nothing_is_written(
    repo: Path, staged: bool
) -> None:
    mine = b"mine, by hand\r\n\xff\x00 no newline"
    (repo / "a.txt").write_bytes(mine)
    if staged:
        git(repo, "add", "a.txt")
    before = [git(repo, "diff", *how, "HEAD") for how in (["--cached"], [])]
    index = (repo / ".git" / "index").read_bytes()
    integration = find_integration(repo, "")
    plan = planned(repo, "4.1", writes("a.txt", "theirs\n"), writes("b.txt", "bee\n"))
    assert blocked(integration, plan.old, plan.new) == ["a.txt"]
    assert publish(repo, plan)
    with pytest.raises(CheckoutBlocked) as refused:
        update_checkout(integration, plan.old, plan.new)
    assert refused.value.paths == ["a.txt"]
    assert "a.txt" in str(refused.value)
    assert (repo / "a.txt").read_bytes() == mine
    assert not (repo / "b.txt").exists()
    assert (repo / ".git" / "index").read_bytes() == index
    assert [git(repo, "diff", *how, plan.old.decode()) for how in (["--cached"], [])] == before


def test_a_hand_edit_of_a_file_the_merge_deletes_blocks_it(repo: Path) -> None:
    (repo / "a.txt").write_text("mine\n")
    integration, old, new = landed(repo, "4.2", deletes("a.txt"))
    assert blocked(integration, old, new) == ["a.txt"]
    with pytest.raises(CheckoutBlocked):
        update_checkout(integration, old, new)
    assert (repo / "a.txt").read_text() == "mine\n"


def test_a_hand_edit_the_merge_does_not_touch_is_left_alone(repo: Path) -> None:
    (repo / "a.txt").write_text("mine\n")
    integration, old, new = landed(repo, "5.1", writes("b.txt", "bee\n"))
    assert blocked(integration, old, new) == []
    assert update_checkout(integration, old, new) == ["b.txt"]
    assert (repo / "a.txt").read_text() == "mine\n"
    assert (repo / "b.txt").read_text() == "bee\n"
    assert git(repo, "status", "--porcelain") == " M a.txt\n"
    assert git(repo, "diff", "--cached", "HEAD") == ""


def test_a_hand_edit_equal_to_the_merge_is_not_in_the_way(repo: Path) -> None:
    (repo / "a.txt").write_text("same\n")
    integration, old, new = landed(repo, "5.2", writes("a.txt", "same\n"))
    assert blocked(integration, old, new) == []
    update_checkout(integration, old, new)
    assert_checkout_matches_head(repo)


def test_an_untracked_file_where_the_merge_adds_one_blocks_it(repo: Path) -> None:
    (repo / "b.txt").write_text("my own notes\n")
    integration, old, new = landed(repo, "6.1", writes("b.txt", "bee\n"))
    assert blocked(integration, old, new) == ["b.txt"]
    with pytest.raises(CheckoutBlocked):
        update_checkout(integration, old, new)
    assert (repo / "b.txt").read_text() == "my own notes\n"
    assert git(repo, "diff", "--cached", "--name-only", "HEAD").split() == ["b.txt"]


def test_an_untracked_file_where_the_merge_makes_a_folder_blocks_it(repo: Path) -> None:
    (repo / "docs").write_text("a file, by hand\n")
    integration, old, new = landed(repo, "6.2", writes("docs/guide.md", "guide\n"))
    assert blocked(integration, old, new) == ["docs/guide.md"]
    with pytest.raises(CheckoutBlocked):
        update_checkout(integration, old, new)
    assert (repo / "docs").read_text() == "a file, by hand\n"


def test_an_untracked_folder_where_the_merge_adds_a_file_blocks_it(repo: Path) -> None:
    (repo / "b.txt").mkdir()
    (repo / "b.txt" / "mine").write_text("keep\n")
    index = (repo / ".git" / "index").read_bytes()
    integration, old, new = landed(repo, "6.3", writes("a.txt", "two\n"), writes("b.txt", "b\n"))
    try:
        assert blocked(integration, old, new) == ["b.txt"]
        with pytest.raises(CheckoutBlocked):
            update_checkout(integration, old, new)
    finally:
        assert (repo / "b.txt" / "mine").read_text() == "keep\n"
    assert (repo / "a.txt").read_text() == "one\n"  # nothing written
    assert (repo / ".git" / "index").read_bytes() == index


def test_a_plan_file_and_an_excluded_pmtui_folder_are_left_alone(excluded: Path) -> None:
    plan_file = excluded / "plan.md"
    plan_file.write_text("# Plan\n\n- [ ] 1.1 Add bee\n")
    integration, old, new = landed(excluded, "7.1", writes("b.txt", "bee\n"))
    worktree = excluded / ".pmtui" / "worktrees" / RUN / "7.1"
    assert blocked(integration, old, new) == []
    assert update_checkout(integration, old, new) == ["b.txt"]
    assert git(excluded, "status", "--porcelain") == "?? plan.md\n"
    assert git(excluded, "diff", "HEAD") == ""
    assert plan_file.read_text() == "# Plan\n\n- [ ] 1.1 Add bee\n"
    assert (worktree / "b.txt").read_text() == "bee\n"
    assert f"worktree {worktree}\n" in git(excluded, "worktree", "list", "--porcelain")
    assert git(worktree, "status", "--porcelain") == ""
    git(excluded, "fsck", "--strict")


def test_merge_task_then_update_leaves_the_main_checkout_clean(repo: Path) -> None:
    integration = find_integration(repo, "")
    tree = create_worktree(repo, RUN, "8.1", "main")
    (tree.path / "a.txt").write_text("changed\n")
    commit_task(tree, "8.1", "change")
    result = merge_task(repo, "main", tree.branch, "merge 8.1")
    assert result.result == "merged"
    update_checkout(integration, result.old, result.new)
    assert_checkout_matches_head(repo)
    assert git(repo, "log", "-1", "--format=%s").strip() == "8.1: change"


def test_a_hand_edit_racing_the_last_index_write_stays_visible_to_git(repo: Path) -> None:
    git(repo, "config", "core.trustctime", "false")  # a test cannot set a ctime back
    notes = repo / "notes.txt"
    notes.write_text("note1\n")
    second = 1_577_836_800 * 1_000_000_000  # a second long past, as git records it
    os.utime(notes, ns=(second, second))
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-q", "-m", "notes")
    integration = find_integration(repo, "")
    plan = planned(repo, "9.1", writes("b.txt", "bee\n"))
    # Edited by hand, same size, in the second git last wrote the index: a racy entry.
    notes.write_text("note2\n")
    os.utime(notes, ns=(second, second))
    os.utime(repo / ".git" / "index", ns=(second, second))
    assert git(repo, "diff-files", "--name-only") == "notes.txt\n"  # git sees the edit
    assert publish(repo, plan)
    assert update_checkout(integration, plan.old, plan.new) == ["b.txt"]
    assert git(repo, "diff-files", "--name-only") == "notes.txt\n"
    assert git(repo, "status", "--porcelain") == " M notes.txt\n"
