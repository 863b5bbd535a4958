"""Live runs with git isolation: worktrees per task, the serial merge queue, conflicts
(docs/design.md §6). Real repositories in `tmp_path`, real `shell` tasks, checked with the `git`
CLI.

Nothing sleeps to wait for something: a pmtui subprocess is followed through its `--json`
lines; where an agent must wait for another task's merge, the agent itself waits on the
main checkout (bounded by its timeout).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from pmtui.store.db import MERGE_LANDED, MERGE_PENDING, MergeRecord, Store
from tests.cli_support import JsonEvent, demo_by_default, finished, json_events, run, task, write
from tests.engine.test_live_runs import dead, is_event, pmtui, wait_dead
from tests.gitrepo import git, make_repo

FAST = '[conflicts]\nretry_delay = "0.05s"\n'


@pytest.fixture
def repo(workdir: Path) -> Path:
    """A repository with one commit on `main`, checked out; the plan will be untracked."""
    return make_repo(
        workdir,
        {
            "common.txt": "line 1\nline 2\nline 3\nline 4\nline 5\n",
            ".gitignore": ".env\n.setup-done\n",
        },
    )


def subjects(repo: Path) -> list[str]:
    return git(repo, "log", "--format=%s", "main").strip().splitlines()


def events_of(task_id: str, events: list[JsonEvent]) -> list[str]:
    return [event["event"] for event in events if event.get("task") == task_id]


def as_if_killed(store: Store, run_id: str, task_id: str) -> None:
    """Make the store say what a pmtui killed while `task_id` ran leaves: the task running,
    the run unfinished."""
    store.set_task_state(run_id, task_id, "running", "", 1)
    store.set_run_status(run_id, "running")
    store.unfinish_run(run_id)


def status(repo: Path) -> list[str]:
    """`git status --porcelain` lines, but the test helper's own stderr file."""
    lines = git(repo, "status", "--porcelain").splitlines()
    return [line for line in lines if line != "?? pmtui-stderr.txt"]


def assert_git_agrees(repo: Path) -> None:
    """fsck clean, no worktree left but the main one, nothing changed in the main checkout
    but the untracked plan (and pmtui's own folder, excluded)."""
    git(repo, "fsck", "--strict")
    listed = git(repo, "worktree", "list", "--porcelain")
    assert listed.count("worktree ") == 1, listed
    assert status(repo) == ["?? plan.md"]


def test_parallel_tasks_merge_one_commit_each_in_dependency_order(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        repo / "plan.md",
        "## Phase 1: Build [PARALLEL]\n"
        + task("1.1", "Write b", "echo bee > b.txt")
        + task("1.2", "Write c", "echo see > c.txt")
        + task("1.3", "Edit line 5", "sed -i 's/line 5/line five/' common.txt")
        + "## Phase 2: Use\n"
        + task("2.1", "Copy b", "cp b.txt d.txt", " (depends: 1.1)"),
    )
    code, out, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 0, err
    events = json_events(out)
    for task_id in ("1.1", "1.2", "1.3", "2.1"):
        mine = events_of(task_id, events)
        assert mine.index("merge_finished") < mine.index("task_finished")
        merge = next(e for e in events if e["event"] == "merge_finished" and e["task"] == task_id)
        assert (merge["result"], merge["conflicts"]) == ("merged", [])
        started = next(e for e in events if e["event"] == "task_started" and e["task"] == task_id)
        assert started["workdir"].startswith(str(repo / ".pmtui" / "worktrees"))
        assert started["workdir"].endswith(f"/{task_id}")
    # One commit per task, linear, and 2.1 after the 1.1 it needs.
    history = subjects(repo)
    assert sorted(history) == sorted(
        ["first", "1.1: Write b", "1.2: Write c", "1.3: Edit line 5", "2.1: Copy b"]
    )
    assert history.index("2.1: Copy b") < history.index("1.1: Write b")
    assert git(repo, "rev-list", "--merges", "main") == ""
    assert git(repo, "show", "main:d.txt") == "bee\n"  # 2.1 saw its dependency's file
    assert (repo / "d.txt").read_text() == "bee\n"  # and the main checkout shows it all
    assert "line five" in (repo / "common.txt").read_text()
    assert_git_agrees(repo)
    branches = git(repo, "branch", "--merged", "main", "--list", "pmtui/*").split()
    assert len(branches) == 4  # kept until `pmtui clean`, each merged


def test_same_line_edits_leave_one_conflict_explained_exit_3(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 1.2 waits until 1.1's merge shows in the main checkout, so 1.2 is the one to conflict.
    wait_for_first = "until grep -q 'by 1.1' ../../../../common.txt; do sleep 0.05; done; "
    write(
        repo / "plan.md",
        "## Phase 1 [PARALLEL]\n"
        + task("1.1", "First edit", "sed -i 's/line 2/line 2 by 1.1/' common.txt")
        + task(
            "1.2",
            "Second edit",
            wait_for_first + "sed -i 's/line 2/line 2 by 1.2/' common.txt",
            " (retries: 0) (timeout: 20s)",
        )
        + "## Phase 2\n"
        + task("2.1", "After the second", "echo x > x.txt", " (depends: 1.2)")
        + task("2.2", "Independent", "echo y > y.txt", " (depends: 1.1)"),
    )
    code, out, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 3, err
    events = json_events(out)
    done = finished(events)
    assert done["1.1"]["status"] == "done" and done["2.2"]["status"] == "done"
    assert done["1.2"]["status"] == "conflict"
    assert done["1.2"]["reason"] == "conflict on common.txt with 1.1"
    assert done["2.1"]["status"] == "skipped"
    merge = next(e for e in events if e["event"] == "merge_finished" and e["task"] == "1.2")
    assert merge["result"] == "conflict"
    (conflict,) = merge["conflicts"]
    assert conflict["path"] == "common.txt" and conflict["type"] == "modify/modify"
    assert (conflict["task"], conflict["title"]) == ("1.2", "Second edit")
    assert (conflict["other_task"], conflict["other_title"]) == ("1.1", "First edit")
    assert events[-1]["status"] == "conflict" and events[-1]["conflicts"] == 1
    # The loser's branch and worktree are kept, with its work committed.
    branch = next(b for b in git(repo, "branch", "--list", "pmtui/*").split() if b.endswith("1.2"))
    assert "line 2 by 1.2" in git(repo, "show", f"{branch}:common.txt")
    assert git(repo, "log", "-1", "--format=%s", branch).strip() == "1.2: Second edit"
    assert len(list((repo / ".pmtui" / "worktrees").glob("*/1.2"))) == 1
    assert "line 2 by 1.1\n" in (repo / "common.txt").read_text()
    git(repo, "fsck", "--strict")
    # The readable output (stderr with --json) explains it and says how to finish by hand.
    assert "1.2 “Second edit” and 1.1 “First edit” both changed common.txt" in err
    assert f"git merge {branch}" in err


def test_a_conflict_with_attempts_left_reruns_on_the_new_base(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo / "pmtui.toml", FAST)
    git(repo, "add", "pmtui.toml")
    git(repo, "commit", "-q", "-m", "config")
    second = (
        "until grep -q 'by 1.1' ../../../../common.txt; do sleep 0.05; done; "
        "if grep -q 'by 1.1' common.txt; then echo 'saw 1.1' > saw.txt; "
        "else sed -i 's/line 2/line 2 by 1.2/' common.txt; fi"
    )
    write(
        repo / "plan.md",
        "## Phase 1 [PARALLEL]\n"
        + task("1.1", "First edit", "sed -i 's/line 2/line 2 by 1.1/' common.txt")
        + task("1.2", "Second edit", second, " (retries: 1) (timeout: 20s)"),
    )
    code, out, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 0, err
    events = json_events(out)
    retry = next(e for e in events if e["event"] == "task_retrying" and e["task"] == "1.2")
    assert retry["reason"] == "conflict on common.txt with 1.1"
    assert retry["attempt"] == 2
    assert finished(events)["1.2"]["attempt"] == 2
    assert git(repo, "show", "main:saw.txt") == "saw 1.1\n"  # attempt 2 started from 1.1's merge
    kept = git(repo, "for-each-ref", "--format=%(refname)", "refs/pmtui/")
    assert kept.strip().endswith("/1.2/attempt-1")  # the conflicting attempt is kept
    assert "line 2 by 1.2" in git(repo, "show", f"{kept.strip()}:common.txt")
    git(repo, "fsck", "--strict")


def test_a_failing_merge_check_reverts_the_merge_and_keeps_the_branch(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        repo / "pmtui.toml",
        '[merge]\ncheck = ["sh", "-c", "test ! -e broken.txt && echo checked > .checked"]\n'
        "[conflicts]\nmax_retries = 0\n",
    )
    write(
        repo / "plan.md",
        "## Phase 1\n"
        + task("1.1", "Fine", "echo fine > fine.txt")
        + "## Phase 2\n"
        + task("2.1", "Breaks it", "echo bad > broken.txt"),
    )
    before = git(repo, "rev-parse", "main").strip()
    code, out, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 1, err
    events = json_events(out)
    done = finished(events)
    assert done["1.1"]["status"] == "done"
    assert done["2.1"]["status"] == "failed"
    assert done["2.1"]["reason"] == "merge check failed: exit 1"
    merge = next(e for e in events if e["event"] == "merge_finished" and e["task"] == "2.1")
    assert merge["result"] == "check-failed"
    assert subjects(repo) == ["1.1: Fine", "first"]  # 2.1 never reached main
    assert git(repo, "rev-parse", "main~1").strip() == before
    branch = next(b for b in git(repo, "branch", "--list", "pmtui/*").split() if b.endswith("2.1"))
    assert git(repo, "show", f"{branch}:broken.txt") == "bad\n"  # the branch is kept
    assert not (repo / "broken.txt").exists()
    git(repo, "fsck", "--strict")


def test_a_hand_edit_in_the_main_checkout_is_never_overwritten(repo: Path) -> None:
    script = (
        "until test -e ../../../../go; do sleep 0.05; done; "
        "sed -i 's/line 5/line 5 by the task/' common.txt"
    )
    write(repo / "plan.md", "## Phase 1\n" + task("1.1", "Edit", script, " (timeout: 20s)"))
    with pmtui(["run", "plan.md", "--json"], repo) as child:
        child.until(is_event("task_started", "1.1"))
        hand = "line 1 by hand\nline 2\nline 3\nline 4\nline 5\n"
        write(repo / "common.txt", hand)
        write(repo / "go", "")
        waiting = child.until(is_event("merge_waiting", "1.1"))
        assert waiting["paths"] == ["common.txt"]
        assert "changed by hand" in waiting["reason"]
        assert (repo / "common.txt").read_text() == hand  # untouched while it waits
        git(repo, "commit", "-q", "-am", "my own edit")  # the user commits: the merge goes on
        assert child.finish() == 0, child.stderr()
    merged = (repo / "common.txt").read_text()
    assert merged == "line 1 by hand\nline 2\nline 3\nline 4\nline 5 by the task\n"
    assert subjects(repo) == ["1.1: Edit", "my own edit", "first"]
    git(repo, "fsck", "--strict")
    assert status(repo) == ["?? go", "?? plan.md"]


def test_an_aborted_task_keeps_its_uncommitted_work_on_disk(repo: Path) -> None:
    script = 'echo half > work.txt; echo "::progress::50 half way"; sleep 60'
    write(repo / "plan.md", "## Phase 1\n" + task("1.1", "Long", script))
    with pmtui(["run", "plan.md", "--json"], repo) as child:
        started = child.until(is_event("task_started", "1.1"))
        child.until(is_event("task_progress", "1.1"))
        child.process.send_signal(signal.SIGINT)
        assert child.finish() == 130
    worktree = Path(started["workdir"])
    assert (worktree / "work.txt").read_text() == "half\n"
    assert git(worktree, "status", "--porcelain") == "?? work.txt\n"
    assert subjects(repo) == ["first"]


def test_kill_9_mid_merge_then_resume_lands_the_merge_whole(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = '[merge]\ncheck = ["sh", "-c", "echo \\"::progress::1 check $$\\"; sleep 60"]\n'
    write(repo / "pmtui.toml", config)
    write(repo / "plan.md", "## Phase 1\n" + task("1.1", "Edit", "echo new > new.txt"))
    before = git(repo, "rev-parse", "main").strip()
    with pmtui(["run", "plan.md", "--json"], repo) as child:
        check = child.until(lambda e: e.get("message", "").startswith("check "))
        check_pid = int(check["message"].split()[1])
        child.process.send_signal(signal.SIGKILL)
        assert child.process.wait(timeout=10) == -signal.SIGKILL
    # Mid-merge: the branch has not moved, nothing is half-written.
    assert git(repo, "rev-parse", "main").strip() == before
    git(repo, "fsck", "--strict")
    assert not dead(check_pid)  # the dead pmtui's check lives on, until the resume
    write(repo / "pmtui.toml", '[merge]\ncheck = ["true"]\n')
    code, out, err = run(["run", "plan.md", "--resume", "--json"], capsys)
    assert code == 0, err
    assert wait_dead(check_pid)
    assert finished(json_events(out))["1.1"]["status"] == "done"
    assert subjects(repo) == ["1.1: Edit", "first"]
    assert (repo / "new.txt").read_text() == "new\n"
    git(repo, "fsck", "--strict")
    assert status(repo) == ["?? plan.md", "?? pmtui.toml"]


def test_a_merge_that_landed_before_pmtui_died_counts_on_resume(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The other side of a kill -9 mid-merge: the branch moved, the checkout did not."""
    write(repo / "plan.md", "## Phase 1\n" + task("1.1", "Edit", "echo new > new.txt"))
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 0
    landed = git(repo, "rev-parse", "main").strip()
    before = git(repo, "rev-parse", "main~1").strip()
    # Back to the state of a pmtui killed between moving the branch and the checkout.
    git(repo, "reset", "-q", "--hard", before)
    git(repo, "update-ref", "refs/heads/main", landed)
    assert git(repo, "status", "--porcelain").startswith("D  new.txt")  # the checkout lags
    with Store.open(repo) as store:
        (merge,) = store.merges(MERGE_LANDED)
        store.merge_state(
            MergeRecord(**{**merge.__dict__, "state": MERGE_PENDING})  # type: ignore[arg-type]
        )
        as_if_killed(store, merge.run_id, "1.1")
    code, out, err = run(["run", "plan.md", "--resume", "--json"], capsys)
    assert code == 0, err
    assert "the merge of task 1.1 had landed before pmtui died" in err
    result = finished(json_events(out))["1.1"]
    assert result["status"] == "done" and result["reason"] == "done before the resume"
    assert git(repo, "rev-parse", "main").strip() == landed
    assert status(repo) == ["?? plan.md"]


def test_setup_and_copy_files_prepare_each_new_worktree(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo / ".env", "SECRET=1\n")
    write(
        repo / "pmtui.toml",
        '[isolation]\ncopy_files = [".env"]\nsetup = ["sh", "-c", "echo ready > .setup-done"]\n',
    )
    script = "cat .env .setup-done > seen.txt"
    write(repo / "plan.md", "## Phase 1\n" + task("1.1", "Look", script))
    code, _, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 0, err
    assert git(repo, "show", "main:seen.txt") == "SECRET=1\nready\n"
    assert "setup-done" not in git(repo, "ls-tree", "-r", "--name-only", "main")


def test_a_failing_setup_fails_the_attempt_with_its_reason(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        repo / "pmtui.toml",
        '[isolation]\nsetup = ["sh", "-c", "exit 4"]\n[conflicts]\nmax_retries = 0\n',
    )
    write(repo / "plan.md", "## Phase 1\n" + task("1.1", "Never runs", "echo ran > ran.txt"))
    code, out, _ = run(["run", "plan.md", "--json"], capsys)
    assert code == 1
    result = finished(json_events(out))["1.1"]
    assert result["reason"] == "exit 4 ([isolation] setup failed)"
    assert subjects(repo) == ["first"]


def test_read_only_agents_run_in_the_main_checkout(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo / "plan.md", "## Phase 1\n- [ ] 1.1 Review (agent: qa-engineer) (estimate: 0.1s)\n")
    demo_by_default(repo)  # the read-only role runs as the simulated agent
    code, out, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 0, err
    events = json_events(out)
    started = next(e for e in events if e["event"] == "task_started")
    assert started["workdir"] == str(repo.resolve())
    assert not any(e["event"] == "merge_finished" for e in events)


def test_isolation_none_shares_the_checkout_and_takes_file_locks(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo / "pmtui.toml", '[conflicts]\nisolation = "none"\n')
    write(repo / "plan.md", "## Phase 1\n" + task("1.1", "Here", "pwd > where.txt"))
    code, _, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 0, err
    assert (repo / "where.txt").read_text().strip() == str(repo.resolve())
    assert subjects(repo) == ["first"]


def test_a_detached_head_turns_auto_isolation_off_with_a_note(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(repo, "checkout", "-q", "--detach")
    write(repo / "plan.md", "## Phase 1\n" + task("1.1", "Here", "pwd > where.txt"))
    code, _, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 0, err
    assert "isolation off: HEAD is detached" in err
    assert (repo / "where.txt").read_text().strip() == str(repo.resolve())


def test_isolation_worktree_in_a_repository_without_a_commit_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(workdir, "init", "-q", "-b", "main")
    write(workdir / "pmtui.toml", '[conflicts]\nisolation = "worktree"\n')
    write(workdir / "plan.md", "## Phase 1\n" + task("1.1", "Here", "true"))
    code, out, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 2
    assert out == ""
    assert "plan.md: error: the repository" in err and "has no commit yet" in err
    assert "hint: make a first commit" in err


def test_an_abort_while_a_merge_waits_for_hand_edits_ends_at_once(repo: Path) -> None:
    script = (
        f"until test -e {'../' * 4}go; do sleep 0.05; done; "
        "sed -i 's/line 5/line 5 by the task/' common.txt"
    )
    write(repo / "plan.md", "## Phase 1\n" + task("1.1", "Edit", script, " (timeout: 20s)"))
    before = git(repo, "rev-parse", "main")
    with pmtui(["run", "plan.md", "--json"], repo) as child:
        child.until(is_event("task_started", "1.1"))
        write(repo / "common.txt", "by hand\n")
        write(repo / "go", "")
        child.until(is_event("merge_waiting", "1.1"))
        child.process.send_signal(signal.SIGINT)
        assert child.finish() == 130
        ended = [e for e in child.events if e["event"] == "task_finished"]
    assert [(e["task"], e["status"]) for e in ended] == [("1.1", "cancelled")]
    assert git(repo, "rev-parse", "main") == before
    assert (repo / "common.txt").read_text() == "by hand\n"
    branch = next(b for b in git(repo, "branch", "--list", "pmtui/*").split() if b.endswith("1.1"))
    assert "line 5 by the task" in git(repo, "show", f"{branch}:common.txt")  # its work kept


CONTINUING_AGENT = """\
import json, os, sys, time
print(json.dumps({"type": "system", "subtype": "init", "session_id": "sess-1"}), flush=True)
if "--resume" not in sys.argv:
    with open(".env", "a") as env:
        env.write("EDITED=by the agent\\n")
    time.sleep(60)  # interrupted by its timeout
with open("seen.txt", "w") as seen:
    seen.write(open(".env").read())
print(json.dumps({"type": "result", "subtype": "success", "is_error": False, "result": "ok",
                  "session_id": "sess-1", "usage": {}}), flush=True)
"""


def test_a_continued_session_keeps_its_worktree_and_copy_files_leave_it_alone(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The agent edits a file copy_files brings in, then is cut off by its timeout: the next
    # attempt continues its session in the same worktree, the edit still there.
    write(repo / ".env", "SECRET=1\n")
    agent = repo.parent / "agent.py"
    write(agent, CONTINUING_AGENT)
    write(
        repo / "pmtui.toml",
        f'[isolation]\ncopy_files = [".env"]\n[agents.resumer]\ncommand = ["{sys.executable}", '
        f'"{agent}", "-p", "{{prompt}}"]\nparser = "claude-stream-json"\n'
        'resume = ["--resume", "{session_id}"]\nretries = 1\n',
    )
    write(repo / "plan.md", "## Phase 1\n- [ ] 1.1 Edit (agent: resumer) (timeout: 1s)\n")
    code, out, err = run(["run", "plan.md", "--json"], capsys)
    assert code == 0, err
    assert finished(json_events(out))["1.1"]["attempt"] == 2
    assert git(repo, "show", "main:seen.txt") == "SECRET=1\nEDITED=by the agent\n"
