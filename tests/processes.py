"""Looking at the processes a test's run started."""

from __future__ import annotations

import os

import psutil


def group_stopped(pgid: int) -> bool:
    """Whether a process group is stopped: some member stopped, none able to run. (A shell
    caught in `vfork` while its new child was stopped before its `exec` waits in disk-sleep
    until that child goes on: it is stopped too.)"""
    members = []
    for process in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(process.pid) == pgid:
                members.append(process.info["status"])
        except (ProcessLookupError, psutil.Error):
            continue
    held = (psutil.STATUS_STOPPED, psutil.STATUS_DISK_SLEEP, psutil.STATUS_ZOMBIE)
    return psutil.STATUS_STOPPED in members and all(status in held for status in members)
