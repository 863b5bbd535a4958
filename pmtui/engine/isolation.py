"""Git isolation in a live run (docs/design.md §6): each isolated attempt in its own worktree,
then the serial merge queue.

`prepare` gives an attempt its worktree on `pmtui/<run>/<task>`, started from the
integration branch as it is now (the task's dependencies are merged by then), with
`[isolation] copy_files` and `setup` applied. `land` commits what the attempt changed and
merges it — one merge at a time: conflicts are found before anything is written, `[merge]
check` runs on the merged files in the task's worktree before the branch moves (a failing
check leaves the branch where it was), the integration branch moves by compare-and-swap,
and the main checkout follows — unless a file there was changed by hand, when the merge waits
and says so (`merge_waiting`). Each merge is journalled in the store before the branch moves,
so a pmtui killed mid-merge is reconciled on its next start (`recovery.py`); a conflict
resolved once the run has ended goes through `resolution.py`.

The git work runs in worker threads (dulwich is blocking); the loop only waits.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import anyio
import anyio.to_thread
from dulwich.file import FileLocked
from dulwich.repo import Repo

from pmtui.config.model import Config
from pmtui.engine.events import Event, MergeConflict, MergeFinished, MergeWaiting, TaskProgress
from pmtui.engine.process import (
    AttemptResult,
    AttemptSpec,
    StopRequest,
    log_header,
    run_attempt,
)
from pmtui.engine.recording import RunRecorder
from pmtui.plan.model import Priority, Task
from pmtui.scheduling.decisions import Outcome
from pmtui.store.db import MERGE_ABANDONED, MERGE_LANDED, MERGE_PENDING, MergeRecord
from pmtui.store.files import find_repo_root
from pmtui.vcs.conflicts import Strategy, find_culprits, manual_steps
from pmtui.vcs.integration import (
    Integration,
    IsolationUnavailable,
    Publication,
    find_integration,
    publish_checked_out,
)
from pmtui.vcs.merge import MergePlan, move_branch, plan_merge, store_objects
from pmtui.vcs.threeway import Side
from pmtui.vcs.workfiles import switch, tree_diff
from pmtui.vcs.worktrees import (
    Worktree,
    WorktreeDirty,
    WorktreeError,
    commit_task,
    drop_spares,
    open_worktree,
    prepare_worktree,
    remove_worktree,
    retire_worktree,
    tree_of,
    worktree_path,
)

HAND_EDIT_RECHECK_S = 1.0
"""How often a merge waiting on files changed by hand looks again."""

StepRunner = Callable[[Sequence[str], Path, str], Awaitable[AttemptResult]]
"""Runs one command for an attempt (setup, merge check) in its own process group, logged
under a header line: `(argv, cwd, header)`."""


def step_runner(
    log_path: Path,
    environment: Callable[[Path], Mapping[str, str]],
    stop: StopRequest,
    *,
    timeout_s: float | None = None,
    on_line: Callable[[str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> StepRunner:
    """A `StepRunner` whose commands go to the task's log, with the environment it gives
    for their folder, ended by `stop` or `timeout_s`."""

    async def run(argv: Sequence[str], cwd: Path, header: str) -> AttemptResult:
        spec = AttemptSpec(
            argv=list(argv),
            cwd=cwd,
            log_path=log_path,
            env=environment(cwd),
            timeout_s=timeout_s,
            log_header=header,
        )
        return await run_attempt(spec, on_line=on_line, on_start=on_start, stop=stop)

    return run


@dataclass(frozen=True, slots=True)
class IsolationSettings:
    """What a run with worktrees needs to know (from `[isolation]`, `[merge]`, `[conflicts]`)."""

    integration: Integration
    setup: tuple[str, ...] = ()
    copy_files: tuple[str, ...] = ()
    check: tuple[str, ...] = ()
    auto_resolve: bool = True
    subfolder: Path = Path()
    """Where tasks run inside a checkout (`[pool] workdir` relative to the repository)."""


def isolation_settings(
    config: Config, workdir: Path
) -> tuple[IsolationSettings | None, IsolationUnavailable | None]:
    """Worktree settings for a run in `workdir` under `config`, or why worktrees cannot be
    used there."""
    repo_root = find_repo_root(workdir)
    if repo_root is None:
        return None, IsolationUnavailable(
            f"the working folder {workdir} is not in a git repository",
            "run `git init` there, or set [pool] workdir inside the repository",
        )
    try:
        integration = find_integration(repo_root.resolve(), config.isolation.base)
    except IsolationUnavailable as error:
        return None, error
    settings = IsolationSettings(
        integration,
        setup=config.isolation.setup,
        copy_files=config.isolation.copy_files,
        check=config.merge.check,
        auto_resolve=config.conflicts.auto_resolve,
        subfolder=workdir.resolve().relative_to(repo_root.resolve()),
    )
    return settings, None


class PrepareFailed(Exception):
    """An attempt's worktree could not be made ready; the message is the failure reason."""


class Stopped(Exception):  # noqa: N818 - reads as what happened
    """The attempt was stopped (skip, abort) while it waited for the merge queue."""


@dataclass(frozen=True, slots=True)
class Landing:
    """How an attempt's merge ended, for the scheduler."""

    outcome: Outcome
    reason: str = ""


@dataclass
class _Waiting:
    shown: tuple[str, ...] = ()
    """What the user was last told the merge waits for."""


@dataclass
class GitIsolation:
    """The worktrees and the merge queue of one run."""

    settings: IsolationSettings
    run_id: str
    tasks: Mapping[str, Task]
    emit: Callable[[Event], None]
    now: Callable[[], float]
    recorder: RunRecorder | None = None
    log_dir: Path | None = None
    queue: anyio.Lock = field(default_factory=anyio.Lock)
    """One merge at a time, first come first served."""
    landed: dict[bytes, tuple[bytes, str]] = field(default_factory=dict)
    """Each landed merge: the commit it moved the branch to → (the one before, the task)."""
    conflicted: dict[str, tuple[MergeConflict, ...]] = field(default_factory=dict)
    """Tasks left in conflict, with the explanation (the conflicts screen lists them)."""
    recycle: bool = True
    """Whether a merged task's worktree is kept as a spare for the next task (during the
    run: making a worktree from a spare writes only the files that differ)."""

    def __post_init__(self) -> None:
        if self.recorder is not None:
            for merge in self.recorder.landed_merges():
                self.landed[merge.new.encode()] = (merge.old.encode(), merge.task_id)

    @property
    def root(self) -> Path:
        """The repository's root."""
        return self.settings.integration.repo_root

    def workdir(self, task_id: str) -> Path:
        """Where an isolated attempt of the task runs."""
        return worktree_path(self.root, self.run_id, task_id) / self.settings.subfolder

    # ------------------------------------------------------------------ an attempt

    async def prepare(
        self, task_id: str, attempt: int, run_step: StepRunner, *, keep: bool = False
    ) -> bool:
        """Make the task's worktree ready for `attempt`; with `keep`, the earlier attempt's
        worktree is kept as it is, when there is one (its agent session goes on there).

        Returns:
            Whether the earlier attempt's worktree was kept.

        Raises:
            PrepareFailed: With the reason the attempt fails for.
        """
        task = self.tasks[task_id]
        integration = self.settings.integration
        try:
            base = await anyio.to_thread.run_sync(integration.head)
            prepared = await anyio.to_thread.run_sync(
                lambda: prepare_worktree(
                    self.root,
                    self.run_id,
                    task_id,
                    base,
                    attempt=attempt,
                    title=task.title,
                    keep=keep,
                )
            )
            # Not into a kept worktree: the agent may have changed those files there.
            if self.settings.copy_files and not prepared.continued:
                await anyio.to_thread.run_sync(self._copy_files, prepared.worktree.path)
        except (WorktreeError, KeyError, OSError, ValueError, FileLocked) as error:
            raise PrepareFailed(f"exit 126: cannot prepare the worktree: {error}") from None
        if prepared.kept:
            self._log(task_id, f"pmtui: the work of the earlier attempt is kept as {prepared.kept}")
        if prepared.continued:
            self._log(task_id, "pmtui: the earlier attempt's worktree is kept as it was")
        if prepared.created and self.settings.setup:
            header = log_header(f"[isolation] setup of {prepared.worktree.path}")
            result = await run_step(self.settings.setup, self.workdir(task_id), header)
            if not result.ok:
                raise PrepareFailed(f"{result.reason} ([isolation] setup failed)")
        return prepared.continued

    def _copy_files(self, worktree: Path) -> None:
        """`[isolation] copy_files`: each file the globs match in the main checkout."""
        for pattern in self.settings.copy_files:
            for source in sorted(self.root.glob(pattern)):
                relative = source.relative_to(self.root)
                if not source.is_file() or relative.parts[:1] in ((".git",), (".pmtui",)):
                    continue
                target = worktree / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)

    async def land(
        self, task_id: str, attempt: int, stop: StopRequest, run_step: StepRunner
    ) -> Landing:
        """Commit what the attempt changed and merge it through the queue.

        Raises:
            Stopped: The attempt was stopped before its merge began.
        """
        task = self.tasks[task_id]
        self._progress(task_id, "committing its changes")
        worktree = await anyio.to_thread.run_sync(
            lambda: open_worktree(self.root, self.run_id, task_id)
        )
        if worktree is None:
            return Landing(Outcome.FAILED, "exit 126: its worktree is gone")
        try:
            await anyio.to_thread.run_sync(lambda: commit_task(worktree, task_id, task.title))
        except (WorktreeError, OSError) as error:
            return Landing(Outcome.FAILED, f"exit 126: cannot commit its work: {error}")
        self._progress(task_id, "waiting for the merge queue")
        if not await _acquire(self.queue, stop):
            raise Stopped(stop.reason)
        try:
            return await self._merge(task_id, worktree, attempt, stop, run_step, favor=None)
        finally:
            self.queue.release()

    async def _merge(
        self,
        task_id: str,
        worktree: Worktree,
        attempt: int,
        stop: StopRequest,
        run_step: StepRunner | None,
        *,
        favor: Side | None,
        auto_resolve: bool | None = None,
        how: str = "",
    ) -> Landing:
        """Merge the task's branch (the queue is held): plan, check, publish, update the
        main checkout, clean up. Waits while files it would write were changed by hand."""
        task = self.tasks[task_id]
        integration = self.settings.integration
        branch = f"{task_id}: {task.title}"
        waiting = _Waiting()
        while True:
            if stop.is_set():
                raise Stopped(stop.reason)
            self._progress(task_id, "merging")
            plan = await anyio.to_thread.run_sync(
                partial(
                    plan_merge,
                    self.root,
                    integration.branch,
                    worktree.branch,
                    branch,
                    auto_resolve=self.settings.auto_resolve
                    if auto_resolve is None
                    else auto_resolve,
                    favor=favor,
                )
            )
            if plan.result == "conflict":
                details = await anyio.to_thread.run_sync(self._explain, task_id, plan)
                self.conflicted[task_id] = details
                self.emit(MergeFinished(self.now(), task_id, "conflict", details))
                self._log(task_id, "pmtui: " + conflict_reason(details))
                return Landing(Outcome.CONFLICT, conflict_reason(details))
            checked = False
            if plan.moves and self.settings.check and run_step is not None:
                failed = await self._check(task_id, worktree, plan, run_step)
                if failed:
                    self.emit(MergeFinished(self.now(), task_id, "check-failed", ()))
                    return Landing(Outcome.FAILED, f"merge check failed: {failed}")
                checked = True
            if plan.moves:
                landed = False
                try:
                    publication = await self._publish(task_id, attempt, plan)
                    landed = publication.landed
                    if not landed and publication.reason:
                        await self._wait(task_id, publication, waiting, stop)
                finally:
                    if checked and not landed:
                        # The worktree holds the checked merge: back to the task's own
                        # commit, so the next try (or a stop) starts from its work again.
                        with anyio.CancelScope(shield=True):
                            await anyio.to_thread.run_sync(self._unmerge, worktree, plan)
                if not landed:
                    continue  # it waited, or the branch moved: plan it again
            result = "merged" if plan.moves else "up-to-date"
            await anyio.to_thread.run_sync(self._tidy, task_id, worktree, plan, checked)
            self.conflicted.pop(task_id, None)
            self.emit(MergeFinished(self.now(), task_id, result, ()))
            note = f" ({how})" if how else ""
            self._log(task_id, f"pmtui: {result} into {integration.branch}{note}")
            return Landing(Outcome.SUCCEEDED)

    async def _check(
        self, task_id: str, worktree: Worktree, plan: MergePlan, run_step: StepRunner
    ) -> str:
        """Run `[merge] check` on the merged files in the task's worktree; "" when it passed,
        else why it failed (the worktree is put back to the task's own commit)."""
        self._progress(task_id, "running the merge check")
        await anyio.to_thread.run_sync(store_objects, self.root, plan)  # the merge's files
        await anyio.to_thread.run_sync(self._show, worktree, plan.task_tip, plan.new)
        header = log_header(f"[merge] check of task {task_id} on the merged result")
        try:
            result = await run_step(self.settings.check, self.workdir(task_id), header)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._unmerge, worktree, plan)
            raise
        if result.ok:
            return ""
        await anyio.to_thread.run_sync(self._unmerge, worktree, plan)
        return result.reason

    def _unmerge(self, worktree: Worktree, plan: MergePlan) -> None:
        """The task's worktree back to the task's own commit (what the check left there in
        pmtui's own worktree is not anybody's work)."""
        self._show(worktree, plan.new, plan.task_tip, force=True)

    def _show(
        self, worktree: Worktree, shown: bytes, wanted: bytes, *, force: bool = False
    ) -> None:
        """Switch the task's worktree from commit `shown` to commit `wanted`."""
        with Repo(str(self.root)) as repo:
            old, new = tree_diff(repo.object_store, tree_of(repo, shown), tree_of(repo, wanted))
            switch(repo.object_store, worktree.checkout, repo, old, new, force=force)

    async def _wait(
        self, task_id: str, publication: Publication, waiting: _Waiting, stop: StopRequest
    ) -> None:
        """Tell the user once what the merge waits for, then look again in a moment."""
        key = (*publication.waiting_on, publication.reason)
        if key != waiting.shown:
            waiting.shown = key
            self.emit(MergeWaiting(self.now(), task_id, publication.waiting_on, publication.reason))
            self._progress(task_id, "merge waits: " + publication.reason.split(":", 1)[0])
        with anyio.move_on_after(HAND_EDIT_RECHECK_S):
            await stop.wait()

    async def _publish(self, task_id: str, attempt: int, plan: MergePlan) -> Publication:
        """Journal, then land the merge (branch and main checkout), then journal again;
        nothing is left changed when it did not land."""
        integration = self.settings.integration
        record = MergeRecord(
            self.run_id,
            task_id,
            attempt,
            integration.branch,
            plan.old.decode(),
            plan.new.decode(),
            MERGE_PENDING,
            time.time(),
        )
        self._journal(record)
        with anyio.CancelScope(shield=True):
            publication = await anyio.to_thread.run_sync(publish_checked_out, integration, plan)
            state = MERGE_LANDED if publication.landed else MERGE_ABANDONED
            self._journal(replace(record, state=state, at=time.time()))
        if publication.landed:
            self.landed[plan.new] = (plan.old, task_id)
        return publication

    def _tidy(self, task_id: str, worktree: Worktree, plan: MergePlan, checked: bool) -> None:
        """After a merge landed: the task's branch points at what landed (so git sees it
        merged) and its worktree goes, unless something uncommitted is in it."""
        moves_branch = plan.moves and plan.how != "fast-forward"
        if checked and moves_branch:
            move_branch(self.root, worktree.branch, plan.task_tip, plan.new)
        try:
            if self.recycle:
                retire_worktree(self.root, worktree)
            else:
                remove_worktree(self.root, worktree)
        except WorktreeDirty as error:
            self._log(task_id, f"pmtui: worktree kept: {error}")
        if not checked and moves_branch:
            move_branch(self.root, worktree.branch, plan.task_tip, plan.new)

    def _explain(self, task_id: str, plan: MergePlan) -> tuple[MergeConflict, ...]:
        paths = [conflict.path for conflict in plan.conflicts]
        culprits = find_culprits(self.root, plan.old, plan.base, paths, self.landed)
        task = self.tasks[task_id]
        details = []
        for conflict in plan.conflicts:
            culprit = culprits.get(conflict.path)
            other = culprit.task if culprit is not None else ""
            subject = culprit.subject if culprit is not None else ""
            if other in self.tasks:
                other_title = self.tasks[other].title
            elif other and subject.startswith(f"{other}: "):
                other_title = subject[len(other) + 2 :]
            else:
                other_title = subject
            details.append(
                MergeConflict(
                    path=conflict.path,
                    type=conflict.kind,
                    task=task_id,
                    title=task.title,
                    other_task=other,
                    other_title=other_title,
                    other_commit=culprit.commit[:7].decode() if culprit is not None else "",
                )
            )
        return tuple(details)

    def close(self) -> None:
        """The run is over: spare worktrees go (no worktree of a merged task is left), and
        later merges (a conflict resolved after the run) remove theirs."""
        self.recycle = False
        drop_spares(self.root)

    # ------------------------------------------------------------------ conflicts left

    async def resolve(
        self, task_id: str, strategy: Strategy, stop: StopRequest, run_step: StepRunner | None
    ) -> Landing:
        """Land a conflicted task's branch by `strategy` (use_first, use_last, use_priority,
        auto_merge); `CONFLICT` when auto_merge meets a real conflict."""
        favor: Side | None
        auto_resolve: bool | None = None
        if strategy is Strategy.USE_FIRST:
            favor = Side.OURS
        elif strategy is Strategy.USE_LAST:
            favor = Side.THEIRS
        elif strategy is Strategy.USE_PRIORITY:
            favor = self._by_priority(task_id)
        elif strategy is Strategy.AUTO_MERGE:
            favor, auto_resolve = None, True
        else:
            raise ValueError(f"{strategy} is not a merge strategy")
        worktree = await anyio.to_thread.run_sync(open_worktree, self.root, self.run_id, task_id)
        if worktree is None:
            return Landing(Outcome.FAILED, "exit 126: its worktree is gone")
        if not await _acquire(self.queue, stop):
            raise Stopped(stop.reason)
        try:
            return await self._merge(
                task_id,
                worktree,
                0,
                stop,
                run_step,
                favor=favor,
                auto_resolve=auto_resolve,
                how=strategy.value,
            )
        finally:
            self.queue.release()

    def _by_priority(self, task_id: str) -> Side:
        """The side of the higher-priority task; the first merged wins a tie, and always
        against a commit made by hand."""
        mine = _rank(self.tasks[task_id].priority)
        others = [
            _rank(self.tasks[conflict.other_task].priority)
            for conflict in self.conflicted.get(task_id, ())
            if conflict.other_task in self.tasks
        ]
        hand_made = any(not conflict.other_task for conflict in self.conflicted.get(task_id, ()))
        if others and not hand_made and mine > max(others):
            return Side.THEIRS
        return Side.OURS

    def manual(self, task_id: str) -> list[str]:
        """The git commands to finish the task's merge by hand (its branch is kept)."""
        integration = self.settings.integration
        worktree = open_worktree(self.root, self.run_id, task_id)
        return manual_steps(
            self.root,
            integration.branch,
            worktree.branch if worktree is not None else "",
            [conflict.path for conflict in self.conflicted.get(task_id, ())],
            worktree.path if worktree is not None else None,
            checked_out=integration.checked_out,
        )

    # ------------------------------------------------------------------ helpers

    def _progress(self, task_id: str, message: str) -> None:
        self.emit(TaskProgress(self.now(), task_id, 100.0, message, False))

    def _journal(self, record: MergeRecord) -> None:
        if self.recorder is not None:
            self.recorder.merge(record)

    def _log(self, task_id: str, line: str) -> None:
        if self.log_dir is None:
            return
        with contextlib.suppress(OSError):
            self.log_dir.mkdir(parents=True, exist_ok=True)
            with (self.log_dir / f"{task_id}.log").open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")


def _rank(priority: Priority) -> int:
    return list(Priority).index(priority)


def conflict_reason(details: Sequence[MergeConflict]) -> str:
    """docs/design.md §5's reason: `conflict on b.txt with 3.1` (paths and others listed)."""
    paths = list(dict.fromkeys(detail.path for detail in details))
    others = list(
        dict.fromkeys(
            detail.other_task or (f"commit {detail.other_commit}" if detail.other_commit else "")
            for detail in details
        )
    )
    others = [other for other in others if other]
    shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return f"conflict on {shown}" + (f" with {' and '.join(others)}" if others else "")


async def _acquire(lock: anyio.Lock, stop: StopRequest) -> bool:
    """Take the lock in turn, unless the attempt is stopped first."""
    if stop.is_set():
        return False
    got = False
    async with anyio.create_task_group() as tasks:

        async def watch() -> None:
            await stop.wait()
            tasks.cancel_scope.cancel()

        tasks.start_soon(watch)
        await lock.acquire()
        got = True
        tasks.cancel_scope.cancel()
    return got
