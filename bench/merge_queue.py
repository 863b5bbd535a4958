"""How much git work does pmtui do per task (worktree, commit, merge), next to the `git` CLI?

    .venv/bin/python bench/merge_queue.py [--tasks 50] [--folders 20] [--files 100] [--width 5]
        [--repeats 3] [--dir DIR] [--quick] [--gate]

It makes, before anything is timed, a repository of 2,000 small files (20 folders × 100
files, one commit on `main`, its objects packed as after a clone) and copies it fresh for
every side and every round, so both sides start from identical repositories. 50 tasks each
change a different file, one task after the other (the merge queue is serial):

- pmtui, calling its vcs layer in this process as a live run does (pmtui/engine/isolation.py):
  create = `Integration.head` + `prepare_worktree(root, run, task, head, attempt=1)`;
  commit = `open_worktree` + `commit_task` (GitIsolation.land);
  merge = `open_worktree` + `plan_merge` + `store_objects` + `publish_checked_out` (the hand
  edit check, the branch's compare-and-swap and the main checkout's update, which has `main`
  checked out: GitIsolation._merge);
  remove = `retire_worktree` (kept as a spare for the next task, which `prepare_worktree` then
  switches to its base writing only the files that differ) + `move_branch` to the landed
  commit (GitIsolation._tidy); at the end `drop_spares` (GitIsolation.close), its time shared
  out over the tasks' removals. The run's journal in the store is not git work and is left
  out;
- the `git` CLI, one process per step: create = `git worktree add -b <branch> <path> main`;
  commit = `git -C <path> commit -am <message>`; merge = `git merge --no-edit <branch>` in the
  main checkout (which updates it); remove = `git worktree remove <path>`.

The task's edit (a line appended to its file) is the same on both sides and is not timed.
Two variants: `sequential` (each worktree made from `main` as it is then: every merge is a
fast-forward) and `waves of 5` (the worktrees of 5 tasks made from the same base, then
committed and merged one by one: pmtui replays 4 of 5 on a moved base, git makes 4 real
merge commits). Each side's repository is checked at the end: `git fsck --strict` passes,
`git worktree list` shows only the main worktree, exactly the tasks' files differ from the
first commit, they hold the edits in the main checkout, and `git status --porcelain` is clean
(pmtui's untracked `.pmtui/` aside).

Both sides run side by side in lock-step: each step of a task on one side, then the same
step on the other, who goes first alternating, so a slow moment of the machine (a
neighbour, the disk's write-back: creating 2,000 files on a virtual disk can take 60 ms or
1.5 s depending on the moment) falls on both. The whole comparison runs 3 times (the order
swapped every round); each side's best round (least total) is shown: per-task median and
mean of every phase. The repositories are made in /dev/shm (memory) when it can be written,
else in the temp folder: on a virtual disk the time to create 2,000 files swings 10 to 20
times from one minute to the next whatever writes them, and would decide the ratio alone;
in memory what is left is the tools' own work. `--dir` makes them elsewhere (`--dir /tmp`:
on the disk).

Target: pmtui's per-task git overhead ≤ the git CLI's — the mean per-task total, pmtui / git
≤ 1.00, in both variants. With `--gate` the exit status is 1 when it is missed; without it
the script exits 0 whatever the figures (it is a benchmark).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from pmtui.vcs.integration import Integration, find_integration, publish_checked_out
from pmtui.vcs.merge import MergePlan, move_branch, plan_merge, store_objects
from pmtui.vcs.worktrees import (
    Worktree,
    commit_task,
    drop_spares,
    open_worktree,
    prepare_worktree,
    retire_worktree,
)

TARGET_RATIO = 1.0
TARGET_TASKS = 50
RUN_ID = "20260101-000000-bench"
PHASES = ("create", "commit", "merge", "remove")
PHASE_NOTES = {
    "create": "worktree",
    "commit": "",
    "merge": "+ main checkout",
    "remove": "worktree",
    "total": "",
}
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@localhost",
    "GIT_TERMINAL_PROMPT": "0",
}


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run `git args` in `cwd`; its stdout. Fails loudly on a bad exit."""
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env or GIT_ENV, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(
            f"git {' '.join(args[:6])} in {cwd} exited {result.returncode}:\n"
            f"{result.stdout[-1000:]}{result.stderr[-2000:]}"
        )
    return result.stdout


@dataclass(frozen=True, slots=True)
class Task:
    index: int
    id: str
    path: str
    """The file it changes, relative to the repository."""

    @property
    def title(self) -> str:
        return f"Change {self.path}"

    @property
    def message(self) -> str:
        return f"{self.id}: {self.title}"

    @property
    def line(self) -> bytes:
        return f"changed by task {self.id}\n".encode()


def make_tasks(tasks: int, folders: int, files: int) -> list[Task]:
    """Task k changes file k // folders of folder k % folders: each a different file, spread
    over the folders."""
    return [
        Task(k, f"t{k + 1:03}", f"d{k % folders:02}/f{k // folders:03}.txt") for k in range(tasks)
    ]


def default_dir() -> str | None:
    """/dev/shm when it is a folder that can be written, else None (the temp folder)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


def make_template(root: Path, folders: int, files: int) -> str:
    """A repository of folders × files small files, one commit on `main`, objects packed;
    returns the commit. The files' times are set a minute back, so that no index entry of
    it or of its copies is ever racily clean."""
    root.mkdir()
    past = time.time() - 60
    for folder in range(folders):
        (root / f"d{folder:02}").mkdir()
        for number in range(files):
            path = root / f"d{folder:02}" / f"f{number:03}.txt"
            path.write_text(
                f"folder {folder} file {number}\n" + "".join(f"line {n}\n" for n in range(8))
            )
            os.utime(path, (past, past))
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "bench")
    git(root, "config", "user.email", "bench@localhost")
    git(root, "add", "-A")
    fixed = {**GIT_ENV, "GIT_AUTHOR_DATE": "1700000000 +0000"}
    fixed["GIT_COMMITTER_DATE"] = "1700000000 +0000"
    git(root, "commit", "-q", "-m", "start", env=fixed)
    git(root, "repack", "-a", "-d", "-q")
    git(root, "prune-packed")
    return git(root, "rev-parse", "main").strip()


def fresh_copy(template: Path, dest: Path) -> None:
    """A copy of the template whose index knows its files' new inodes (not timed)."""
    shutil.copytree(template, dest, symlinks=True)
    git(dest, "update-index", "-q", "--refresh")


def edit(path: Path, task: Task) -> None:
    """The task's work: a line appended to its file."""
    with open(path, "ab") as handle:
        handle.write(task.line)


class Side:
    """One side's four steps of a task; `how` counts how its merges went."""

    name = ""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.how: Counter[str] = Counter()

    def create(self, task: Task) -> Path:
        raise NotImplementedError

    def commit(self, task: Task) -> None:
        raise NotImplementedError

    def merge(self, task: Task) -> None:
        raise NotImplementedError

    def remove(self, task: Task) -> None:
        raise NotImplementedError

    def finish(self) -> float:
        """After every task: the seconds of what is the tasks' work (shared out over their
        removals); anything else is not timed."""
        return 0.0


class PmtuiSide(Side):
    """pmtui's vcs layer, called as GitIsolation.prepare, land, _merge and _tidy call it."""

    name = "pmtui"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.integration: Integration = find_integration(root, "")
        if not self.integration.checked_out:
            raise SystemExit(f"{root}: main is not checked out in the main checkout")
        self.landed: dict[str, tuple[Worktree, MergePlan]] = {}

    def create(self, task: Task) -> Path:
        base = self.integration.head()
        prepared = prepare_worktree(self.root, RUN_ID, task.id, base, attempt=1, title=task.title)
        return prepared.worktree.path

    def _open(self, task: Task) -> Worktree:
        worktree = open_worktree(self.root, RUN_ID, task.id)
        if worktree is None:
            raise SystemExit(f"pmtui: the worktree of {task.id} is gone")
        return worktree

    def commit(self, task: Task) -> None:
        worktree = self._open(task)
        if commit_task(worktree, task.id, task.title) is None:
            raise SystemExit(f"pmtui: nothing committed for {task.id}")

    def merge(self, task: Task) -> None:
        integration = self.integration
        worktree = self._open(task)
        plan = plan_merge(self.root, integration.branch, worktree.branch, task.message)
        if plan.result != "merged" or not plan.moves:
            raise SystemExit(f"pmtui: the merge of {task.id} ended {plan.result}")
        store_objects(self.root, plan)
        publication = publish_checked_out(integration, plan)
        if not publication.landed:
            why = publication.reason or "main moved"
            raise SystemExit(f"pmtui: the merge of {task.id} did not land: {why}")
        self.landed[task.id] = (worktree, plan)
        self.how[plan.how] += 1

    def remove(self, task: Task) -> None:
        worktree, plan = self.landed.pop(task.id)
        retire_worktree(self.root, worktree)
        if plan.moves and plan.how != "fast-forward":
            move_branch(self.root, worktree.branch, plan.task_tip, plan.new)

    def finish(self) -> float:
        start = time.perf_counter()
        drop_spares(self.root)
        return time.perf_counter() - start


class GitSide(Side):
    """The git CLI, one process per step; worktrees beside the repository."""

    name = "git"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.trees = root.parent / f"{root.name}-worktrees"
        self.trees.mkdir()
        self.merged = 0

    def create(self, task: Task) -> Path:
        path = self.trees / task.id
        git(self.root, "worktree", "add", "-b", f"bench/{task.id}", str(path), "main")
        return path

    def commit(self, task: Task) -> None:
        git(self.root, "-C", str(self.trees / task.id), "commit", "-am", task.message)

    def merge(self, task: Task) -> None:
        git(self.root, "merge", "--no-edit", f"bench/{task.id}")
        self.merged += 1

    def remove(self, task: Task) -> None:
        git(self.root, "worktree", "remove", str(self.trees / task.id))

    def finish(self) -> float:
        merges = int(git(self.root, "rev-list", "--merges", "--count", "main"))
        self.how["merge-commit"] = merges
        self.how["fast-forward"] = self.merged - merges
        return 0.0


@dataclass
class Phases:
    """Per-task seconds of each phase, in task order."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    how: Counter[str] = field(default_factory=Counter)

    def total(self) -> list[float]:
        return [sum(step) for step in zip(*(self.seconds[name] for name in PHASES), strict=True)]

    def of(self, name: str) -> list[float]:
        return self.total() if name == "total" else self.seconds[name]


def steps(tasks: list[Task], width: int) -> list[tuple[str, Task]]:
    """Every step of every task in order, `width` worktrees at a time from the same base."""
    order: list[tuple[str, Task]] = []
    for first in range(0, len(tasks), width):
        wave = tasks[first : first + width]
        order += [("create", task) for task in wave]
        for task in wave:
            order += [("commit", task), ("merge", task), ("remove", task)]
    return order


def drive(sides: list[Side], tasks: list[Task], width: int, flip: bool) -> list[Phases]:
    """Run every task through both sides in lock-step: each step on one side then the same
    step on the other, who goes first alternating, so that a slow moment of the machine (the
    disk's write-back, a neighbour) falls on both. Each step is timed on its own; the task's
    edit follows its create, untimed."""
    seconds = [{name: [0.0] * len(tasks) for name in PHASES} for _ in sides]
    clock = time.perf_counter
    for number, (phase, task) in enumerate(steps(tasks, width)):
        turn = list(enumerate(sides))
        if (number % 2 == 1) != flip:
            turn.reverse()
        for which, side in turn:
            step: Callable[[Task], object] = getattr(side, phase)
            start = clock()
            made = step(task)
            seconds[which][phase][task.index] = clock() - start
            if phase == "create":
                assert isinstance(made, Path)
                edit(made / task.path, task)
    for which, side in enumerate(sides):
        share = side.finish() / len(tasks)
        seconds[which]["remove"] = [spent + share for spent in seconds[which]["remove"]]
    return [Phases(spent, Counter(side.how)) for spent, side in zip(seconds, sides, strict=True)]


def verify(side: Side, initial: str, tasks: list[Task], template: Path) -> None:
    """The repository after a side's run is whole and holds every task's edit on main."""
    root, label = side.root, side.name
    fsck = subprocess.run(
        ["git", "fsck", "--strict", "--no-progress"],
        cwd=root,
        env=GIT_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    if fsck.returncode != 0:
        raise SystemExit(f"{label}: git fsck --strict failed:\n{fsck.stdout}{fsck.stderr}")
    trees = [line for line in git(root, "worktree", "list", "--porcelain").splitlines()]
    listed = [line for line in trees if line.startswith("worktree ")]
    if listed != [f"worktree {root}"]:
        raise SystemExit(f"{label}: git worktree list shows more than the main one: {listed}")
    changed = sorted(git(root, "diff", "--name-only", initial, "main").split())
    if changed != sorted(task.path for task in tasks):
        raise SystemExit(f"{label}: main changes {len(changed)} files, not the {len(tasks)}")
    for task in tasks:
        expected = (template / task.path).read_bytes() + task.line
        if (root / task.path).read_bytes() != expected:
            raise SystemExit(f"{label}: {task.path} in the main checkout lacks its edit")
    status = [
        line for line in git(root, "status", "--porcelain").splitlines() if line != "?? .pmtui/"
    ]
    if status:
        raise SystemExit(f"{label}: git status is not clean: {status[:5]}")
    if git(root, "symbolic-ref", "HEAD").strip() != "refs/heads/main":
        raise SystemExit(f"{label}: the main checkout left main")


SIDES: dict[str, type[Side]] = {"pmtui": PmtuiSide, "git": GitSide}


def run_round(
    folder: Path, template: Path, initial: str, tasks: list[Task], width: int, flip: bool
) -> dict[str, Phases]:
    """Both sides on fresh copies of the template, in lock-step; each checked after."""
    roots = {name: folder / name for name in SIDES}
    for root in roots.values():
        fresh_copy(template, root)
    sides = [SIDES[name](roots[name]) for name in SIDES]
    results = drive(sides, tasks, width, flip)
    for side in sides:
        verify(side, initial, tasks, template)
    for root in roots.values():
        shutil.rmtree(root)
        shutil.rmtree(root.parent / f"{root.name}-worktrees", ignore_errors=True)
    return {side.name: phases for side, phases in zip(sides, results, strict=True)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=None, help="tasks (default 50; quick 6)")
    parser.add_argument("--folders", type=int, default=None, help="folders (default 20; quick 4)")
    parser.add_argument("--files", type=int, default=None, help="files a folder (100; quick 25)")
    parser.add_argument("--width", type=int, default=None, help="worktrees a wave (5; quick 3)")
    parser.add_argument("--repeats", type=int, default=None, help="best of (default 3; quick 1)")
    parser.add_argument(
        "--dir", default=None, help="where the repositories are made (default /dev/shm, else temp)"
    )
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--gate", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    tasks_n = args.tasks if args.tasks is not None else (6 if args.quick else TARGET_TASKS)
    folders = args.folders if args.folders is not None else (4 if args.quick else 20)
    files = args.files if args.files is not None else (25 if args.quick else 100)
    width = args.width if args.width is not None else (3 if args.quick else 5)
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    if min(tasks_n, folders, files, width, repeats) < 1:
        parser.error("--tasks, --folders, --files, --width and --repeats must be at least 1")
    if tasks_n > folders * files:
        parser.error("--tasks must be at most --folders × --files (one file a task)")
    if shutil.which("git") is None:
        raise SystemExit("git is not on PATH")
    git_version = git(Path.cwd(), "--version").split()[-1]
    print(
        f"python {sys.version.split()[0]} · cpus {os.cpu_count()} · git {git_version} · "
        f"dulwich {version('dulwich')} · {tasks_n} tasks, one file each, in a "
        f"{folders * files:,}-file repository ({folders} folders × {files} files)"
    )
    tasks = make_tasks(tasks_n, folders, files)
    variants = {"sequential": 1}
    if width > 1:
        variants[f"waves of {width}"] = width
    results: dict[str, dict[str, list[Phases]]] = {
        variant: {name: [] for name in SIDES} for variant in variants
    }
    where = args.dir if args.dir is not None else default_dir()
    with tempfile.TemporaryDirectory(prefix="pmtui-bench-merge-queue-", dir=where) as tmp:
        folder = Path(tmp)
        print(f"repositories made in {folder.parent}")
        template = folder / "template"
        initial = make_template(template, folders, files)
        for round_ in range(repeats):
            for variant, wide in variants.items():
                flip = round_ % 2 == 1
                for name, phases in run_round(folder, template, initial, tasks, wide, flip).items():
                    results[variant][name].append(phases)

    def ms(values: list[float]) -> tuple[float, float]:
        return statistics.median(values) * 1000, statistics.fmean(values) * 1000

    verdicts: list[tuple[str, float]] = []
    for variant, wide in variants.items():
        best = {
            name: min(rounds, key=lambda p: sum(p.total()))
            for name, rounds in results[variant].items()
        }
        pmtui, gitcli = best["pmtui"], best["git"]
        if wide == 1:
            about = "a task at a time, each worktree from main as it is then"
        else:
            about = f"the worktrees of {wide} tasks from one base, then commit + merge one by one"
        print(f"\n{variant}: {about}")
        print(f"per task, ms, each side's best of {repeats} (interleaved):")
        print(
            f"  {'phase':<26}{'pmtui':>17}{'git CLI':>19}{'pmtui / git':>19}\n"
            f"  {'':<26}{'median':>9}{'mean':>8}{'median':>11}{'mean':>8}"
            f"{'median':>11}{'mean':>8}"
        )
        for phase in (*PHASES, "total"):
            mine, theirs = ms(pmtui.of(phase)), ms(gitcli.of(phase))
            label = f"{phase} ({PHASE_NOTES[phase]})" if PHASE_NOTES[phase] else phase
            print(
                f"  {label:<26}{mine[0]:9.2f}{mine[1]:8.2f}{theirs[0]:11.2f}{theirs[1]:8.2f}"
                f"{mine[0] / theirs[0]:10.2f}×{mine[1] / theirs[1]:7.2f}×"
            )
        whole = sum(pmtui.total()), sum(gitcli.total())
        print(f"  all {tasks_n} tasks: pmtui {whole[0]:.3f} s, git CLI {whole[1]:.3f} s")

        def hows(counts: Counter[str]) -> str:
            return ", ".join(f"{count} {how}" for how, count in sorted(counts.items()) if count)

        print(f"  merges: pmtui {hows(pmtui.how)}; git {hows(gitcli.how)}")
        verdicts.append((variant, whole[0] / whole[1]))

    print()
    print("target: pmtui's per-task git overhead ≤ the git CLI's (mean per-task total)")
    met = True
    note = "" if tasks_n == TARGET_TASKS else f" (at {tasks_n} tasks; the target is for 50)"
    for variant, ratio in verdicts:
        ok = ratio <= TARGET_RATIO
        met = met and ok
        print(
            f"  {variant}: pmtui / git {ratio:.2f} × — target ≤ {TARGET_RATIO:.2f}: "
            f"{'MET' if ok else 'NOT MET'}{note}"
        )
    return 1 if args.gate and not met else 0


if __name__ == "__main__":
    sys.exit(main())
