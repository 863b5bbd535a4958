"""The git commands of the command line: `pmtui demo --git`, `pmtui clean`, and the merge-queue
prediction of `pmtui check` and `--dry-run` (docs/design.md §6). Real repositories, checked with the
`git` CLI.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from pmtui.store.lock import RunLock
from tests.cli_support import run, task, write
from tests.gitrepo import git, make_repo


def readme_repo(path: Path) -> Path:
    return make_repo(path, {"README.md": "# Title\n\ntext\n"})


def branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--format=%(refname:short)").split()


def worktrees(repo: Path) -> list[str]:
    listed = git(repo, "worktree", "list", "--porcelain")
    return [line.split(" ", 1)[1] for line in listed.splitlines() if line.startswith("worktree ")]


# ---------------------------------------------------------------------------- demo --git


def test_the_git_demo_merges_in_parallel_and_keeps_one_conflict(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["demo", "--git", "--no-ui", "--keep"], capsys)
    assert code == 3, out + err
    repo = Path(re.search(r"in a new git repository, (\S+)\n", out).group(1))  # type: ignore[union-attr]
    try:
        assert "CONFLICT 1.4" in out or "CONFLICT 1.3" in out
        assert "both changed README.md (modify/modify)" in out
        assert "the history of main in" in out
        subjects = git(repo, "log", "--format=%s", "main").splitlines()
        assert subjects[-1] == "Start the demo project"
        assert {"1.1: Write the greeting module `src/greet.py`"} <= set(subjects)
        assert subjects.index("2.1: Call the greeting from `src/app.py`") < subjects.index(
            "1.1: Write the greeting module `src/greet.py`"
        )
        assert len(subjects) == 5  # four tasks changed something, one conflicted
        assert git(repo, "show", "main:src/app.py").startswith("from greet import greet")
        git(repo, "fsck", "--strict")
        assert len(worktrees(repo)) == 2  # main, and the conflicted task's, kept
    finally:
        subprocess.run(["rm", "-rf", str(repo.parent)], check=True)


def test_the_git_demo_removes_its_folder(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["demo", "--git", "--no-ui"], capsys)
    assert code == 3
    repo = Path(re.search(r"in a new git repository, (\S+)\n", out).group(1))  # type: ignore[union-attr]
    assert not repo.parent.exists()


def test_the_git_demo_dry_run_predicts_the_merge_queue_meeting(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["demo", "--git", "--dry-run"], capsys)
    assert code == 0
    assert "git-parallel.md: dry run" in out
    assert "tasks 1.3 and 1.4 may run at the same time in their own worktrees" in err
    assert "both change README.md: they meet in the merge queue" in err


# ---------------------------------------------------------------------------- clean


def conflicted_run(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run leaving two merged branches and one conflict (branch and worktree kept)."""
    wait = "until grep -q 'by 1.1' ../../../../README.md; do sleep 0.05; done; "
    write(
        repo / "plan.md",
        "## Phase 1 [PARALLEL]\n"
        + task("1.1", "First", "sed -i 's/Title/Title by 1.1/' README.md")
        + task("1.2", "Second", wait + "sed -i 's/Title/Title by 1.2/' README.md", " (retries: 0)")
        + task("1.3", "Other", "echo other > other.txt"),
    )
    code, _, err = run(["run", "plan.md", "--no-ui"], capsys)
    assert code == 3, err


def test_clean_removes_merged_branches_and_keeps_the_conflict(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = readme_repo(workdir)
    conflicted_run(repo, capsys)
    assert len(branches(repo)) == 4 and len(worktrees(repo)) == 2

    code, out, _ = run(["clean", "--dry-run"], capsys)
    assert code == 0
    assert len(re.findall(r"^would delete branch pmtui/\S+/1\.[13] \(merged\)$", out, re.M)) == 2
    assert re.search(r"^kept \.pmtui/worktrees/\S+/1\.2: its branch \S+ is not merged$", out, re.M)
    assert "git merge pmtui/" in out
    assert len(branches(repo)) == 4  # a dry run changes nothing

    code, out, _ = run(["clean"], capsys)
    assert code == 0
    assert len(re.findall(r"^deleted branch pmtui/\S+ \(merged\)$", out, re.M)) == 2
    kept = [name for name in branches(repo) if name != "main"]
    assert len(kept) == 1 and kept[0].endswith("/1.2")
    assert len(worktrees(repo)) == 2
    git(repo, "fsck", "--strict")

    # Once the user has dealt with it (here: dropped it), nothing is left to clean.
    git(repo, "worktree", "remove", "--force", worktrees(repo)[1])
    git(repo, "branch", "-D", kept[0])
    code, out, _ = run(["clean"], capsys)
    assert code == 0 and out.startswith("nothing to clean in ")
    assert not any((repo / ".pmtui" / "worktrees").iterdir())


def test_clean_removes_a_merged_worktree_a_killed_run_left_but_never_one_with_changes(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = readme_repo(workdir)
    for name in ("9.1", "9.2"):  # as a killed run leaves them: merged, worktree still there
        path = repo / ".pmtui" / "worktrees" / "run" / name
        git(repo, "worktree", "add", "-q", "-b", f"pmtui/run/{name}", str(path), "main")
        admin = Path(git(path, "rev-parse", "--absolute-git-dir").strip())
        admin.rename(admin.with_name(f"pmtui-run-{name}"))
        write(path / ".git", f"gitdir: {admin.with_name(f'pmtui-run-{name}')}\n")
        write(admin.with_name(f"pmtui-run-{name}") / "gitdir", f"{path / '.git'}\n")
    write(repo / ".pmtui" / "worktrees" / "run" / "9.2" / "notes.txt", "mine\n")
    code, out, _ = run(["clean"], capsys)
    assert code == 0, out
    assert "removed worktree .pmtui/worktrees/run/9.1" in out
    assert "deleted branch pmtui/run/9.1 (merged)" in out
    assert "kept .pmtui/worktrees/run/9.2: uncommitted changes (notes.txt)" in out
    assert (repo / ".pmtui" / "worktrees" / "run" / "9.2" / "notes.txt").read_text() == "mine\n"
    assert sorted(branches(repo)) == ["main", "pmtui/run/9.2"]
    git(repo, "fsck", "--strict")
    assert len(worktrees(repo)) == 2


def test_clean_prunes_the_record_of_a_worktree_deleted_by_hand(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = readme_repo(workdir)
    path = repo / ".pmtui" / "worktrees" / "run" / "1"
    git(repo, "worktree", "add", "-q", "-b", "pmtui/run/1", str(path), "main")
    admin = Path(git(path, "rev-parse", "--absolute-git-dir").strip())
    admin.rename(admin.with_name("pmtui-run-1"))
    subprocess.run(["rm", "-rf", str(path)], check=True)
    code, out, _ = run(["clean"], capsys)
    assert code == 0
    assert "pruned git's record of the missing worktree pmtui-run-1" in out
    assert "deleted branch pmtui/run/1 (merged)" in out
    assert worktrees(repo) == [str(repo)]


def test_clean_waits_for_a_live_run(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = readme_repo(workdir)
    (repo / ".pmtui").mkdir()
    with RunLock.acquire(repo, key="repository"):
        code, out, err = run(["clean"], capsys)
    assert code == 2
    assert "error:" in err and "hint: clean once that run has ended" in err


def test_clean_outside_a_repository_has_nothing_to_do(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["clean"], capsys)
    assert code == 0
    assert "nothing to clean" in out and "not in a git repository" in out


# ---------------------------------------------------------------------------- prediction


PLAN = (
    "## Phase 1 [PARALLEL]\n"
    + task("1.1", "Edit `src/a.py`", "echo a >> src/a.py")
    + task("1.2", "Also edit `src/a.py`", "echo b >> src/a.py")
    + task("1.3", "Edit `src/b.py`", "echo c >> src/b.py")
)


def test_check_predicts_tasks_meeting_in_the_merge_queue(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme_repo(workdir)
    write(workdir / "plan.md", PLAN)
    code, _, err = run(["check", "plan.md"], capsys)
    assert code == 0
    assert (
        "plan.md:6:7: warning: tasks 1.1 and 1.2 may run at the same time in their own worktrees"
        " and both change src/a.py: they meet in the merge queue, where the later merge may "
        "conflict"
    ) in err
    assert "add (depends: 1.1) to 1.2" in err
    assert "1.3" not in err
    code, _, err = run(["run", "plan.md", "--dry-run"], capsys)
    assert code == 0 and "meet in the merge queue" in err


def test_without_worktrees_the_same_plan_gets_the_file_lock_warning(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme_repo(workdir)
    write(workdir / "pmtui.toml", '[conflicts]\nisolation = "none"\n')
    write(workdir / "plan.md", PLAN)
    code, _, err = run(["check", "plan.md"], capsys)
    assert code == 0
    assert "merge queue" not in err
    assert "tasks 1.1 and 1.2 may run at the same time and both touch src/a.py" in err
