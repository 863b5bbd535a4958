"""A conflict explained: who changed each path on the integration branch since the task started
(a task pmtui merged, or a commit made by hand), and the git commands to finish it by hand,
run here with the `git` CLI (docs/design.md §6)."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from pmtui.vcs.conflicts import Culprit, Strategy, find_culprits, manual_steps
from pmtui.vcs.merge import plan_merge
from pmtui.vcs.worktrees import commit_task, create_worktree
from tests.gitrepo import git
from tests.vcs.test_merge import commit_by_hand, merge_task, rev, task, writes
from tests.vcs.test_worktrees import RUN, repo  # noqa: F401 - the fixture

__all__ = ["repo"]


def test_culprits_name_the_task_that_landed_and_the_subject_of_a_hand_commit(
    repo: Path,
) -> None:
    commit_by_hand(repo, "b.txt", "bee\n", "add b")
    first = task(repo, "1.1", writes("a.txt", "first\n"), "Reword a")
    second = task(
        repo, "1.2", lambda root: [writes(n, "second\n")(root) for n in ("a.txt", "b.txt")]
    )
    landed = merge_task(repo, "main", first, "merge 1.1")
    assert landed.how == "fast-forward"
    by_hand = commit_by_hand(repo, "b.txt", "by hand\n", "Fix b by hand\n\nWith a body.")
    commit_by_hand(repo, "c.txt", "unrelated\n", "Unrelated")
    plan = plan_merge(repo, "main", second, "merge 1.2")
    assert plan.result == "conflict"
    paths = [c.path for c in plan.conflicts]
    assert paths == ["a.txt", "b.txt"]
    found = find_culprits(repo, plan.old, plan.base, paths, {landed.new: (landed.old, "1.1")})
    assert found == {
        "a.txt": Culprit(landed.new, "1.1", "1.1: Reword a"),
        "b.txt": Culprit(by_hand.encode(), "", "Fix b by hand"),
    }


def test_every_commit_of_a_task_that_landed_several_is_its_own(repo: Path) -> None:
    tree = create_worktree(repo, RUN, "2.1", "main")
    other = task(repo, "2.2", writes("b.txt", "theirs\n"))
    (tree.path / "b.txt").write_text("agent one\n")
    git(tree.path, "add", "b.txt")
    git(tree.path, "commit", "-q", "-m", "agent: b")
    (tree.path / "z.txt").write_text("later\n")
    git(tree.path, "add", "z.txt")
    git(tree.path, "commit", "-q", "-m", "agent: z")
    assert commit_task(tree, "2.1", "Two commits") is None
    landed = merge_task(repo, "main", tree.branch, "2.1: Two commits")
    assert landed.how == "fast-forward"
    plan = plan_merge(repo, "main", other, "merge 2.2")
    assert [c.path for c in plan.conflicts] == ["b.txt"]
    found = find_culprits(repo, plan.old, plan.base, ["b.txt"], {landed.new: (landed.old, "2.1")})
    assert found == {"b.txt": Culprit(rev(repo, "main~1").encode(), "2.1", "agent: b")}


def test_a_path_nobody_changed_since_the_base_has_no_culprit(repo: Path) -> None:
    base = rev(repo, "main")
    commit_by_hand(repo, "b.txt", "bee\n", "add b")
    head = rev(repo, "main").encode()
    assert find_culprits(repo, head, base.encode(), ["a.txt", "b.txt"], {}) == {
        "b.txt": Culprit(head, "", "add b")
    }


def test_manual_steps_merge_the_branch_and_name_the_paths(repo: Path) -> None:
    tree = create_worktree(repo, RUN, "3.1", "main")
    steps = manual_steps(
        repo, "main", tree.branch, ["a.txt", "my notes.txt"], tree.path, checked_out=True
    )
    assert steps[0] == f"cd {shlex.quote(str(repo))}"
    assert f"git merge {tree.branch}" in steps
    assert not any(step.startswith("git switch") for step in steps)
    assert any("a.txt" in step and "'my notes.txt'" in step for step in steps)
    assert "git add a.txt 'my notes.txt' && git commit --no-edit" in steps
    assert any(step.startswith(f"git worktree remove {tree.path}") for step in steps)
    elsewhere = manual_steps(repo, "main", tree.branch, ["a.txt"], None, checked_out=False)
    assert "git switch main" in elsewhere
    assert elsewhere.index("git switch main") < elsewhere.index(f"git merge {tree.branch}")
    assert not any("worktree" in step for step in elsewhere)


def test_the_manual_steps_finish_a_real_conflict_with_git(repo: Path) -> None:
    first = task(repo, "4.1", writes("a.txt", "first\n"))
    tree = create_worktree(repo, RUN, "4.2", "main")
    (tree.path / "a.txt").write_text("second\n")
    commit_task(tree, "4.2", "change")
    assert merge_task(repo, "main", first, "merge 4.1").result == "merged"
    plan = plan_merge(repo, "main", tree.branch, "merge 4.2")
    paths = [c.path for c in plan.conflicts]
    git(repo, "reset", "-q", "--hard")  # the checkout follows the branch, as pmtui keeps it
    steps = manual_steps(repo, "main", tree.branch, paths, tree.path, checked_out=True)
    merge, _, add, remove = steps[1:]

    def run(step: str) -> int:
        return subprocess.run(["sh", "-c", step], cwd=repo, capture_output=True).returncode

    assert run(merge) == 1  # git stops at the conflict
    assert "a.txt" in git(repo, "diff", "--name-only", "--diff-filter=U")
    (repo / "a.txt").write_text("both\n")
    assert run(add) == 0
    assert run(remove) == 0
    assert git(repo, "show", "main:a.txt") == "both\n"
    assert git(repo, "log", "-1", "--format=%P", "main").split()[1] == plan.task_tip.decode()
    assert str(tree.path) not in git(repo, "worktree", "list")
    assert git(repo, "branch", "--list", tree.branch) == ""
    git(repo, "fsck", "--strict")


def test_the_strategies_are_the_seeds_names() -> None:
    assert [strategy.value for strategy in Strategy] == [
        "use_first",
        "use_last",
        "use_priority",
        "auto_merge",
        "rerun",
        "manual",
    ]
