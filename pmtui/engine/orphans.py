"""Descendants that left their attempt's process group: adopted, then ended with the run.

Killing an attempt's process group ends everything it started — unless a descendant made
its own session (`setsid`, as daemons such as `gpg-agent` or a test database do). Such a
process would outlive the run. As a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`), pmtui
becomes the parent of every orphaned descendant instead of PID 1, so it can find them: its
children that are not a running attempt's leader. Their environment still names the task
and attempt that started them (`PMTUI_TASK_ID`, `PMTUI_ATTEMPT`), so each is ended with its
attempt, and whatever is left with the run. Adopted processes that die are reaped here too.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
from collections.abc import Collection

import psutil

PR_SET_CHILD_SUBREAPER = 36

_GONE = (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, ProcessLookupError)


def become_subreaper() -> bool:
    """Adopt orphaned descendants from now on (Linux); False where it is not possible."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def end_adopted(
    leaders: Collection[int],
    *,
    run_id: str,
    keep: Collection[tuple[str, str]] = (),
    adopted: set[int],
) -> list[int]:
    """Kill (SIGKILL) the adopted descendants of this run, and reap them.

    Args:
        leaders: Pids of attempts still running: pmtui's own children, never touched.
        run_id: Only processes whose environment names this run are this run's.
        keep: `(task id, attempt)` of attempts still running: what they started lives on.
        adopted: The pids adopted so far; updated. Only these are reaped when they die (a
            zombie child pmtui did not adopt is someone's `Popen`, which must reap it).

    Returns:
        The pids killed.
    """
    killed: list[int] = []
    for _ in range(8):  # a killed daemon's own children are adopted next: go round again
        found = False
        for child in _children():
            pid = child.pid
            if pid in leaders:
                continue
            try:
                zombie = child.status() == psutil.STATUS_ZOMBIE
                env = {} if zombie else child.environ()
            except _GONE:
                zombie, env = True, {}
            if zombie:
                if pid in adopted:
                    _reap(pid)
                    adopted.discard(pid)
                continue
            if env.get("PMTUI_RUN_ID") != run_id:
                continue
            adopted.add(pid)
            if (env.get("PMTUI_TASK_ID", ""), env.get("PMTUI_ATTEMPT", "")) in keep:
                continue
            found = True
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, 0)
            adopted.discard(pid)
        if not found:
            break
    return killed


def _children() -> list[psutil.Process]:
    try:
        return psutil.Process().children()
    except psutil.Error:
        return []


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
