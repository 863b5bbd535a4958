"""A task's worktree made ready for each attempt: created, or reset to the integration branch
with whatever the earlier attempt left kept under `refs/pmtui/`; what the task changed is
committed by git's rules (ignore files, racy stat); checked with the `git` CLI (docs/design.md §6).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pmtui.vcs.workfiles import read_index
from pmtui.vcs.worktrees import (
    WorktreeError,
    commit_task,
    create_worktree,
    drop_spares,
    open_worktree,
    prepare_worktree,
    remove_worktree,
    retire_worktree,
)
from tests.gitrepo import git
from tests.vcs.test_worktrees import RUN, repo  # noqa: F401 - the fixture

__all__ = ["repo"]


def rev(repo: Path, name: str) -> str:
    return git(repo, "rev-parse", name).strip()


def commit_on_main(repo: Path, name: str, text: str, message: str) -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return rev(repo, "main")


def kept_refs(repo: Path) -> list[str]:
    return git(repo, "for-each-ref", "--format=%(refname)", "refs/pmtui/").split()


def prune_dry_run(repo: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "worktree", "prune", "--dry-run", "-v"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout + done.stderr


def test_the_first_attempt_creates_the_worktree_on_its_branch(repo: Path) -> None:
    prepared = prepare_worktree(repo, RUN, "1.1", "main", attempt=1, title="Do it")
    tree = prepared.worktree
    assert prepared.created and prepared.kept == ""
    assert tree.path == repo / ".pmtui" / "worktrees" / RUN / "1.1"
    assert tree.admin == repo / ".git" / "worktrees" / f"pmtui-{RUN}-1.1"
    assert tree.base.decode() == rev(repo, "main")
    listed = git(repo, "worktree", "list", "--porcelain").split("\n\n")
    entry = next(block for block in listed if block.startswith(f"worktree {tree.path}\n"))
    assert entry.splitlines()[1:] == [
        f"HEAD {rev(repo, 'main')}",
        f"branch refs/heads/{tree.branch}",
    ]
    assert git(tree.path, "status", "--porcelain") == ""
    assert git(tree.path, "rev-parse", "--abbrev-ref", "HEAD").strip() == tree.branch
    assert prune_dry_run(repo) == ""
    assert open_worktree(repo, RUN, "1.1") == tree
    assert open_worktree(repo, RUN, "9.9") is None
    git(repo, "fsck", "--strict")


def test_uncommitted_work_of_an_attempt_is_kept_and_the_next_starts_from_the_new_base(
    repo: Path,
) -> None:
    first = prepare_worktree(repo, RUN, "2.1", "main", attempt=1, title="Do it").worktree
    (first.path / "a.txt").write_text("attempt one\n")
    (first.path / "notes").mkdir()
    (first.path / "notes" / "new.txt").write_text("new\n")
    meanwhile = commit_on_main(repo, "m.txt", "merged meanwhile\n", "another task")
    again = prepare_worktree(repo, RUN, "2.1", "main", attempt=2, title="Do it")
    assert not again.created
    assert again.kept == f"refs/pmtui/{RUN}/2.1/attempt-1"
    assert kept_refs(repo) == [again.kept]
    assert git(repo, "show", f"{again.kept}:a.txt") == "attempt one\n"
    assert git(repo, "show", f"{again.kept}:notes/new.txt") == "new\n"
    assert git(repo, "log", "-1", "--format=%s|%an", again.kept).strip() == (
        "2.1: Do it (left by attempt 1)|pmtui"
    )
    assert git(repo, "log", "-1", "--format=%P", again.kept).strip() == first.base.decode()
    tree = again.worktree
    assert tree.base.decode() == meanwhile == rev(repo, tree.branch)
    assert git(tree.path, "status", "--porcelain", "--ignored") == ""
    assert (tree.path / "a.txt").read_text() == "one\n"
    assert (tree.path / "m.txt").read_text() == "merged meanwhile\n"
    assert not (tree.path / "notes").exists()
    assert git(tree.path, "diff", "HEAD") == ""
    git(repo, "fsck", "--strict")


def test_an_attempts_own_commits_are_kept_too(repo: Path) -> None:
    first = prepare_worktree(repo, RUN, "2.2", "main", attempt=1, title="Do it").worktree
    (first.path / "b.txt").write_text("bee\n")
    git(first.path, "add", "b.txt")
    git(first.path, "commit", "-q", "-m", "the agent's own")
    mine = rev(first.path, "HEAD")
    again = prepare_worktree(repo, RUN, "2.2", "main", attempt=2, title="Do it")
    assert rev(repo, again.kept) == mine
    assert not (again.worktree.path / "b.txt").exists()
    assert git(again.worktree.path, "status", "--porcelain") == ""


def test_an_attempt_that_changed_nothing_keeps_no_ref(repo: Path) -> None:
    prepare_worktree(repo, RUN, "3.1", "main", attempt=1, title="Do it")
    moved = commit_on_main(repo, "m.txt", "meanwhile\n", "another task")
    again = prepare_worktree(repo, RUN, "3.1", "main", attempt=2, title="Do it")
    assert (again.created, again.kept) == (False, "")
    assert kept_refs(repo) == []
    assert rev(repo, again.worktree.branch) == moved
    assert (again.worktree.path / "m.txt").read_text() == "meanwhile\n"
    assert git(again.worktree.path, "status", "--porcelain") == ""


def test_work_already_in_the_base_is_not_kept_again(repo: Path) -> None:
    first = prepare_worktree(repo, RUN, "3.2", "main", attempt=1, title="Do it").worktree
    (first.path / "b.txt").write_text("bee\n")
    done = commit_task(first, "3.2", "Do it")
    assert done is not None
    git(repo, "merge", "-q", "--ff-only", first.branch)  # it landed
    again = prepare_worktree(repo, RUN, "3.2", "main", attempt=2, title="Do it")
    assert again.kept == "" and kept_refs(repo) == []
    assert rev(repo, again.worktree.branch) == done.decode()


def test_each_attempts_leftovers_get_their_own_ref(repo: Path) -> None:
    tree = prepare_worktree(repo, RUN, "3.3", "main", attempt=1, title="T").worktree
    kept = []
    for attempt in (2, 3):
        (tree.path / "a.txt").write_text(f"attempt {attempt - 1}\n")
        kept.append(prepare_worktree(repo, RUN, "3.3", "main", attempt=attempt, title="T").kept)
    assert kept == [f"refs/pmtui/{RUN}/3.3/attempt-1", f"refs/pmtui/{RUN}/3.3/attempt-2"]
    assert [git(repo, "show", f"{ref}:a.txt") for ref in kept] == ["attempt 1\n", "attempt 2\n"]
    (tree.path / "a.txt").write_text("attempt 2 again\n")
    twice = prepare_worktree(repo, RUN, "3.3", "main", attempt=3, title="T").kept
    assert twice == f"refs/pmtui/{RUN}/3.3/attempt-2-2"
    assert git(repo, "show", f"{twice}:a.txt") == "attempt 2 again\n"


def test_a_removed_worktree_is_gone_for_git_too(repo: Path) -> None:
    tree = prepare_worktree(repo, RUN, "4.1", "main", attempt=1, title="Do it").worktree
    (tree.path / "b.txt").write_text("bee\n")
    commit_task(tree, "4.1", "Do it")
    remove_worktree(repo, tree)
    assert str(tree.path) not in git(repo, "worktree", "list", "--porcelain")
    assert prune_dry_run(repo) == ""
    assert not tree.path.exists() and not tree.admin.exists()
    assert not (repo / ".pmtui" / "worktrees" / RUN).exists()
    assert git(repo, "show", f"{tree.branch}:b.txt") == "bee\n"
    assert open_worktree(repo, RUN, "4.1") is None
    again = prepare_worktree(repo, RUN, "4.1", "main", attempt=2, title="Do it")
    assert again.created and again.kept == f"refs/pmtui/{RUN}/4.1/attempt-1"
    assert not (again.worktree.path / "b.txt").exists()


def test_a_half_made_worktree_is_made_again(repo: Path) -> None:
    tree = create_worktree(repo, RUN, "5.1", "main")
    (tree.admin / "index").unlink()  # cut short before its index was written
    (tree.path / "a.txt").unlink()
    assert open_worktree(repo, RUN, "5.1") is None
    prepared = prepare_worktree(repo, RUN, "5.1", "main", attempt=1, title="Do it")
    assert prepared.created and prepared.kept == ""
    assert (prepared.worktree.path / "a.txt").read_text() == "one\n"
    assert git(prepared.worktree.path, "status", "--porcelain") == ""
    assert prune_dry_run(repo) == ""
    git(repo, "fsck", "--strict")


def test_a_foreign_folder_in_the_way_is_refused_and_left_untouched(repo: Path) -> None:
    folder = repo / ".pmtui" / "worktrees" / RUN / "6.1"
    folder.mkdir(parents=True)
    (folder / "mine.txt").write_text("mine\n")
    (folder / ".git").write_text("gitdir: /somewhere/else\n")
    with pytest.raises(WorktreeError, match="in the way"):
        prepare_worktree(repo, RUN, "6.1", "main", attempt=1, title="Do it")
    assert sorted(path.name for path in folder.iterdir()) == [".git", "mine.txt"]
    assert (folder / "mine.txt").read_text() == "mine\n"
    assert (folder / ".git").read_text() == "gitdir: /somewhere/else\n"
    assert str(folder) not in git(repo, "worktree", "list")


def test_commit_task_follows_the_ignore_files_and_takes_untracked_files(repo: Path) -> None:
    (repo / ".gitignore").write_text(".pmtui/\n*.log\nbuild/\n")
    (repo / "src").mkdir()
    (repo / "src" / ".gitignore").write_text("*.tmp\n!keep.tmp\n")
    (repo / "src" / "code.py").write_text("print()\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "ignore rules")
    tree = create_worktree(repo, RUN, "7.1", "main")
    for name, text in {
        "debug.log": "noise\n",
        "build/out.bin": "built\n",
        "src/scratch.tmp": "scratch\n",
        "src/keep.tmp": "kept\n",
        "src/new.py": "new\n",
        "top.txt": "untracked\n",
    }.items():
        (tree.path / name).parent.mkdir(parents=True, exist_ok=True)
        (tree.path / name).write_text(text)
    commit = commit_task(tree, "7.1", "Add things")
    assert commit is not None
    files = git(repo, "show", "--name-only", "--format=", tree.branch).split()
    assert sorted(files) == ["src/keep.tmp", "src/new.py", "top.txt"]
    assert git(tree.path, "status", "--porcelain") == ""
    ignored = git(tree.path, "status", "--porcelain", "--ignored").splitlines()
    assert sorted(ignored) == ["!! build/", "!! debug.log", "!! src/scratch.tmp"]
    assert (tree.path / "debug.log").exists()


def test_commit_task_follows_the_repositorys_info_exclude(repo: Path) -> None:
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text("secret.env\n")
    tree = create_worktree(repo, RUN, "7.2", "main")
    (tree.path / "secret.env").write_text("TOKEN=hunter2\n")
    (tree.path / "b.txt").write_text("bee\n")
    assert git(tree.path, "status", "--porcelain") == "?? b.txt\n"
    assert commit_task(tree, "7.2", "Add bee") is not None
    assert git(repo, "show", "--name-only", "--format=", tree.branch).split() == ["b.txt"]


def test_leftovers_of_an_attempt_are_committed_by_the_worktrees_own_ignore_rules(
    repo: Path,
) -> None:
    tree = prepare_worktree(repo, RUN, "7.3", "main", attempt=1, title="T").worktree
    (tree.path / ".gitignore").write_text(".pmtui/\n*.log\n")
    (tree.path / "debug.log").write_text("noise\n")
    (tree.path / "b.txt").write_text("bee\n")
    assert git(tree.path, "status", "--porcelain") == " M .gitignore\n?? b.txt\n"
    kept = prepare_worktree(repo, RUN, "7.3", "main", attempt=2, title="T").kept
    files = git(repo, "show", "--name-only", "--format=", kept).split()
    assert sorted(files) == [".gitignore", "b.txt"]


def test_a_same_size_edit_right_after_checkout_is_still_committed(repo: Path) -> None:
    tree = create_worktree(repo, RUN, "8.1", "main")
    target = tree.path / "a.txt"
    entry = read_index(tree.admin / "index")[b"a.txt"]
    assert isinstance(entry.mtime, tuple)
    tick = entry.mtime[0] * 1_000_000_000 + entry.mtime[1]
    inode = os.stat(target).st_ino
    target.write_text("two\n")  # same size as "one\n", same inode
    # Within one clock tick of the checkout: the file's stat still matches its index entry,
    # and the index was written in that same tick.
    os.utime(target, ns=(tick, tick))
    os.utime(tree.admin / "index", ns=(tick, tick))
    assert os.stat(target).st_ino == inode and os.stat(target).st_size == entry.size
    commit = commit_task(tree, "8.1", "Same size")
    assert commit is not None
    assert git(repo, "show", f"{tree.branch}:a.txt") == "two\n"
    assert git(tree.path, "status", "--porcelain") == ""


def test_a_same_size_edit_in_the_next_attempt_is_kept(repo: Path) -> None:
    prepare_worktree(repo, RUN, "8.2", "main", attempt=1, title="T")
    commit_on_main(repo, "m.txt", "meanwhile\n", "another task")
    tree = prepare_worktree(repo, RUN, "8.2", "main", attempt=2, title="T").worktree
    target = tree.path / "m.txt"
    entry = read_index(tree.admin / "index")[b"m.txt"]
    assert isinstance(entry.mtime, tuple)
    tick = entry.mtime[0] * 1_000_000_000 + entry.mtime[1]
    target.write_text("MEANWHILE\n")
    os.utime(target, ns=(tick, tick))
    os.utime(tree.admin / "index", ns=(tick, tick))
    kept = prepare_worktree(repo, RUN, "8.2", "main", attempt=3, title="T").kept
    assert kept and git(repo, "show", f"{kept}:m.txt") == "MEANWHILE\n"


# ---------------------------------------------------------------------------- spares


def worktree_paths(repo: Path) -> list[str]:
    listed = git(repo, "worktree", "list", "--porcelain")
    return [line.split(" ", 1)[1] for line in listed.splitlines() if line.startswith("worktree ")]


def test_a_retired_worktree_is_the_next_tasks_with_only_the_changed_files_written(
    repo: Path,
) -> None:
    first = prepare_worktree(repo, RUN, "9.1", "main", attempt=1, title="T").worktree
    (first.path / "b.txt").write_text("bee\n")
    assert commit_task(first, "9.1", "Bee") is not None
    untouched = os.stat(first.path / "a.txt").st_ino
    retire_worktree(repo, first)
    assert not first.path.exists()
    (spare,) = (repo / ".pmtui" / "worktrees" / ".spare").iterdir()
    assert str(spare) in worktree_paths(repo)  # git sees the spare, detached
    commit_on_main(repo, "c.txt", "see\n", "c on main")
    second = prepare_worktree(repo, RUN, "9.2", "main", attempt=1, title="T")
    assert second.created
    tree = second.worktree
    assert not spare.exists()
    assert os.stat(tree.path / "a.txt").st_ino == untouched  # not written again
    assert (tree.path / "c.txt").read_text() == "see\n"
    assert not (tree.path / "b.txt").exists()  # 9.1's file is not 9.2's base
    assert git(tree.path, "status", "--porcelain") == ""
    assert git(tree.path, "rev-parse", "--abbrev-ref", "HEAD").strip() == tree.branch
    assert sorted(worktree_paths(repo)) == sorted([str(repo), str(tree.path)])
    git(repo, "fsck", "--strict")


def test_a_worktree_with_untracked_or_ignored_files_is_removed_not_kept(repo: Path) -> None:
    tree = prepare_worktree(repo, RUN, "9.3", "main", attempt=1, title="T").worktree
    (tree.path / ".gitignore").write_text("*.log\n")
    assert commit_task(tree, "9.3", "Ignore logs") is not None
    (tree.path / "build.log").write_text("noise\n")  # ignored: not work, but not pristine
    retire_worktree(repo, tree)
    assert not tree.path.exists()
    assert not (repo / ".pmtui" / "worktrees" / ".spare").exists()
    assert worktree_paths(repo) == [str(repo)]


def test_drop_spares_leaves_no_worktree(repo: Path) -> None:
    for name in ("9.4", "9.5"):
        tree = prepare_worktree(repo, RUN, name, "main", attempt=1, title="T").worktree
        retire_worktree(repo, tree)
    assert len(worktree_paths(repo)) == 2  # the second reused the first's spare
    assert drop_spares(repo) == 1
    assert worktree_paths(repo) == [str(repo)]
    assert not (repo / ".pmtui" / "worktrees" / ".spare").exists()
    git(repo, "worktree", "prune", "--dry-run", "-v")
    git(repo, "fsck", "--strict")
