"""The main checkout and the spare worktrees under conditions the other tests do not set up:
a git command of the user's at work, a merge the user is resolving, another branch checked
out, tasks prepared at once, files git converts. Real repositories in `tmp_path`, checked
with the `git` CLI."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from pmtui.vcs.integration import (
    IsolationUnavailable,
    find_integration,
    publish_checked_out,
    update_checkout,
)
from pmtui.vcs.worktrees import prepare_worktree, retire_worktree
from tests.gitrepo import git, make_repo
from tests.vcs.test_integration import planned
from tests.vcs.test_merge import writes
from tests.vcs.test_prepare import rev
from tests.vcs.test_worktrees import RUN, repo  # noqa: F401 - the fixture

__all__ = ["repo"]


def test_a_held_index_lock_never_leaves_the_branch_moved_and_the_index_behind(
    repo: Path,
) -> None:
    integration = find_integration(repo, "")
    plan = planned(repo, "1.1", writes("b.txt", "bee\n"))
    before = rev(repo, "main")
    lock = repo / ".git" / "index.lock"
    lock.write_bytes(b"")  # a git command of the user's is at work in the main checkout
    try:
        publication = publish_checked_out(integration, plan)
    finally:
        lock.unlink()
    assert not publication.landed
    assert "is locked" in publication.reason and "index.lock" in publication.reason
    assert rev(repo, "main") == before
    assert not (repo / "b.txt").exists()  # nothing written
    assert publish_checked_out(integration, plan).landed  # once the command is done
    assert git(repo, "status", "--porcelain") == ""  # checkout and index follow


def test_a_merge_in_progress_in_the_main_checkout_keeps_its_conflicts(repo: Path) -> None:
    integration = find_integration(repo, "")
    git(repo, "switch", "-q", "-c", "side")
    (repo / "a.txt").write_text("side\n")
    git(repo, "commit", "-q", "-am", "side")
    git(repo, "switch", "-q", "main")
    (repo / "a.txt").write_text("mine\n")
    git(repo, "commit", "-q", "-am", "mine")
    merging = subprocess.run(["git", "-C", str(repo), "merge", "-q", "side"], capture_output=True)
    assert merging.returncode == 1  # the user is in a conflict on a.txt
    unmerged = git(repo, "ls-files", "-u")
    assert len(unmerged.splitlines()) == 3
    plan = planned(repo, "1.2", writes("b.txt", "bee\n"))  # the task touches b.txt only
    publication = publish_checked_out(integration, plan)
    assert not publication.landed  # it waits until the user is done
    assert "a merge is in progress" in publication.reason
    assert git(repo, "ls-files", "-u") == unmerged  # the user's conflict is still there
    assert not (repo / "b.txt").exists()


def test_a_main_checkout_switched_to_another_branch_mid_run_is_left_alone(repo: Path) -> None:
    integration = find_integration(repo, "")
    assert integration.checked_out
    plan = planned(repo, "1.1", writes("b.txt", "bee\n"))
    git(repo, "switch", "-q", "-c", "other")  # the user goes on with something else
    assert publish_checked_out(integration, plan).landed
    assert git(repo, "show", "main:b.txt") == "bee\n"
    assert git(repo, "status", "--porcelain") == ""  # `other` is as the user left it
    assert not (repo / "b.txt").exists()


def test_tasks_prepared_at_once_from_one_spare_all_get_a_worktree(repo: Path) -> None:
    first = prepare_worktree(repo, RUN, "8.0", "main", attempt=1, title="T").worktree
    retire_worktree(repo, first)  # one spare, as after the first merged task of a run
    ids = [f"8.{number}" for number in range(1, 7)]
    errors: dict[str, BaseException] = {}
    start = threading.Barrier(len(ids), timeout=10)

    def prepare(task_id: str) -> None:
        start.wait()  # all at once, as the worker threads of a parallel phase
        try:
            prepare_worktree(repo, RUN, task_id, "main", attempt=1, title="T")
        except BaseException as error:  # noqa: BLE001 - reported below
            errors[task_id] = error

    threads = [threading.Thread(target=prepare, args=(task_id,)) for task_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == {}
    for task_id in ids:
        path = repo / ".pmtui" / "worktrees" / RUN / task_id
        assert git(path, "status", "--porcelain") == ""
        assert (path / "a.txt").read_text() == "one\n"
    assert len(git(repo, "worktree", "list").splitlines()) == 1 + len(ids)
    git(repo, "fsck", "--strict")


@pytest.mark.parametrize(
    ("files", "config", "said"),
    [
        ({".gitattributes": "*.txt text eol=crlf\n"}, {}, "eol=crlf in .gitattributes"),
        ({"sub/.gitattributes": "*.bin filter=lfs\n"}, {}, "filter=lfs in sub/.gitattributes"),
        ({}, {"core.autocrlf": "true"}, "core.autocrlf = true"),
    ],
)
def test_a_repository_where_git_converts_files_on_checkout_gets_no_worktrees(
    tmp_path: Path, files: dict[str, str], config: dict[str, str], said: str
) -> None:
    root = make_repo(tmp_path / "conv", {"a.txt": "one\n", **files})
    for key, value in config.items():
        git(root, "config", key, value)
    with pytest.raises(IsolationUnavailable) as raised:
        find_integration(root, "")
    assert said in raised.value.message and "hand edits" in raised.value.message
    assert 'isolation = "none"' in raised.value.hint


def test_line_endings_normalized_only_on_commit_leave_worktrees_on(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "auto", {".gitattributes": "* text=auto\n# eol=crlf\n"})
    assert find_integration(root, "").branch == "main"


def test_after_a_crash_the_checkout_follows_the_branch_but_keeps_hand_edits(
    repo: Path,
) -> None:
    integration = find_integration(repo, "")
    plan = planned(repo, "1.3", writes("a.txt", "one by the task\n"), writes("b.txt", "bee\n"))
    before = rev(repo, "main")
    git(repo, "update-ref", "refs/heads/main", plan.new.decode())  # moved; pmtui died here
    (repo / "a.txt").write_text("one by hand\n")  # and the user edited the file meanwhile
    written = update_checkout(integration, before.encode(), plan.new, keep_hand_edits=True)
    assert written == ["b.txt"]
    assert (repo / "a.txt").read_text() == "one by hand\n"  # never overwritten
    assert (repo / "b.txt").read_text() == "bee\n"
    # The index follows the branch: the hand edit shows as a change on top of the merge.
    assert git(repo, "status", "--porcelain") == " M a.txt\n"
    assert git(repo, "diff", "--cached") == ""
