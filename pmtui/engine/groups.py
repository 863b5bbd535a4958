"""Process groups: signal them, tell whether one still lives, end one for good.

Every attempt runs in a session of its own, so its process group holds every descendant that
did not leave it: ending an attempt means ending its group (SIGTERM, a grace, SIGKILL).
Zombies count as gone: they run nothing, and in a container PID 1 may never reap orphans.
"""

from __future__ import annotations

import os
import signal
import time

import anyio
import psutil

GRACE_S = 2.0
"""Seconds between SIGTERM and SIGKILL to a process group (docs/design.md §5)."""
KILL_WAIT_S = 1.0
"""Seconds to wait for a SIGKILLed group to be gone before giving up on it."""
POLL_FIRST_S = 0.002
POLL_MAX_S = 0.05


def signal_group(pgid: int, signum: int) -> bool:
    """Send a signal to every process of a group.

    Returns:
        False when the group is gone or none of its processes may be signalled.
    """
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def group_alive(pgid: int) -> bool:
    """Whether a process group has a process that is not a zombie."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    # Zombies are members until reaped, and orphans may never be (a container's PID 1).
    for pid in psutil.pids():
        try:
            if os.getpgid(pid) == pgid and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return True
        except (OSError, psutil.Error):
            continue
    return False


async def kill_group(pgid: int, grace_s: float = GRACE_S) -> str | None:
    """End every process of a group: SIGTERM, up to `grace_s` to exit, then SIGKILL.

    Safe to call on a group that is gone. Stopped processes (a hard pause) get SIGCONT too,
    so they can act on the SIGTERM.

    Returns:
        The last signal sent (`SIGTERM` or `SIGKILL`); None when there was nothing to signal.
    """
    if not signal_group(pgid, signal.SIGTERM):
        return None
    signal_group(pgid, signal.SIGCONT)
    if await _gone_within(pgid, grace_s):
        return "SIGTERM"
    signal_group(pgid, signal.SIGKILL)
    await _gone_within(pgid, KILL_WAIT_S)
    return "SIGKILL"


async def _gone_within(pgid: int, seconds: float) -> bool:
    """Poll until the group has no live process (True) or `seconds` have passed (False)."""
    deadline = time.monotonic() + seconds
    delay = POLL_FIRST_S
    while group_alive(pgid):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        await anyio.sleep(min(delay, remaining))
        delay = min(delay * 2, POLL_MAX_S)
    return True
