"""A conflict left by the merge queue, resolved after its run ended (the conflicts screen
once the monitor shows the summary): the merge lands now, the store says the task is done,
and the run is reopened so that `--resume` runs what the conflict skipped.
"""

from __future__ import annotations

from pathlib import Path

from pmtui.engine.isolation import GitIsolation, Landing, step_runner
from pmtui.engine.process import StopRequest
from pmtui.scheduling.decisions import Outcome
from pmtui.scheduling.scheduler import CommandRefused
from pmtui.store.db import Store
from pmtui.vcs.strategies import Strategy


def resolve_refusal(strategy: Strategy, landing: Landing) -> str:
    """Why a strategy could not land a conflicted task's merge, for the user."""
    if landing.outcome is Outcome.CONFLICT:
        return (
            f"{strategy.value} cannot merge it: {landing.reason}, a real conflict, which is "
            "never resolved automatically; choose use_first, use_last, rerun or manual"
        )
    return f"{strategy.value} did not merge it: {landing.reason}"


async def resolve_after_run(
    isolation: GitIsolation,
    store: Store,
    task_id: str,
    strategy: Strategy,
    log_dir: Path,
    resume_hint: str,
) -> str:
    """Resolve a conflict once its run has ended: the merge lands now (the task counts as
    done in the store) and the run is reopened, so `--resume` runs the dependents the
    conflict skipped. Returns what was done.

    Raises:
        CommandRefused: The strategy could not merge it.
    """
    run_id = isolation.run_id
    if strategy is Strategy.MANUAL:
        return "\n".join(isolation.manual(task_id))
    if strategy is Strategy.RERUN:
        store.unfinish_run(run_id)
        return f"task {task_id} runs again with: {resume_hint}"
    stop = StopRequest()
    environment = {"PMTUI_TASK_ID": task_id, "PMTUI_RUN_ID": run_id}
    run_step = step_runner(log_dir / f"{task_id}.log", lambda _cwd: environment, stop)
    landing = await isolation.resolve(task_id, strategy, stop, run_step)
    if landing.outcome is not Outcome.SUCCEEDED:
        raise CommandRefused(resolve_refusal(strategy, landing))
    row = store.task_states(run_id).get(task_id)
    store.set_task_state(
        run_id, task_id, "done", f"resolved: {strategy.value}", row.attempts if row else 0
    )
    store.unfinish_run(run_id)
    return (
        f"task {task_id} merged ({strategy.value}); the tasks its conflict skipped run with: "
        f"{resume_hint}"
    )
