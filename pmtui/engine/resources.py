"""Memory and CPU of running attempts, measured per process group (DESIGN.md §3, §5).

Every attempt runs in its own process group, so the group is the unit that owns every
descendant: one pass over the process table (`os.getpgid` per pid, ~2.6 ms, far cheaper than
walking each tree) sums RSS and CPU per group. The runner calls `GroupSampler.sample` every
second and kills a group over `memory_per_agent` (`over_memory`); CPU over `cpu_per_agent` is
only flagged (`over_cpu`), and a saturated machine (`machine_sample`) starts no new task.

Plain synchronous functions, no event loop: the runner calls them from a thread or the loop.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection
from dataclasses import dataclass

import psutil

from pmtui.config.units import format_size

SATURATION_PERCENT = 95.0
"""System-wide CPU use (averaged over cores) from which the machine counts as saturated."""

_GONE = (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess)


@dataclass(frozen=True, slots=True)
class GroupSample:
    """One process group at one moment."""

    pgid: int
    rss_bytes: int
    """Resident memory of every live process of the group, summed."""
    cpu_percent: float
    """CPU since the previous sample, summed over the group; 100 = one core busy."""
    processes: int
    """Live (not zombie) processes counted."""


@dataclass(frozen=True, slots=True)
class MachineSample:
    """The whole machine at one moment."""

    available_memory: int
    """Bytes that can be given to processes without swapping (`virtual_memory().available`)."""
    cpu_percent: float
    """System-wide CPU since the previous call, averaged over cores (0–100)."""
    cpu_saturated: bool
    """At or over the saturation threshold: start no new task now."""


class GroupSampler:
    """Samples process groups, keeping `psutil.Process` objects between samples.

    `cpu_percent(None)` measures since the previous call on the same object, so the objects
    are kept per group; a pid whose process changed (a reused pid: another creation time)
    gets a new object. A process's first sample reports 0 % CPU. Safe to call from any one
    thread at a time or several (a lock serialises the passes).
    """

    def __init__(self) -> None:
        self._processes: dict[int, dict[int, psutil.Process]] = {}
        self._peaks: dict[int, int] = {}
        self._lock = threading.Lock()

    def sample(self, pgids: Collection[int]) -> dict[int, GroupSample]:
        """Measure the given process groups in one pass over the process table.

        Zombies and processes that vanish or deny access mid-pass are skipped quietly; a group
        with no live process left is absent from the result.

        Returns:
            A sample per group that still has a live process, by pgid.
        """
        wanted = set(pgids)
        if not wanted:
            return {}
        members: dict[int, list[int]] = {}
        for pid in psutil.pids():
            try:
                pgid = os.getpgid(pid)
            except OSError:  # gone since the listing
                continue
            if pgid in wanted:
                members.setdefault(pgid, []).append(pid)
        with self._lock:
            result: dict[int, GroupSample] = {}
            for pgid in wanted:
                cache = self._processes.get(pgid, {})
                kept: dict[int, psutil.Process] = {}
                rss = 0
                cpu = 0.0
                count = 0
                for pid in members.get(pgid, ()):
                    measured = _measure(cache.get(pid), pid)
                    if measured is None:
                        continue
                    process, process_rss, process_cpu = measured
                    kept[pid] = process
                    rss += process_rss
                    cpu += process_cpu
                    count += 1
                # Only this pass's processes are kept: exited pids do not pile up.
                self._processes[pgid] = kept
                if count:
                    self._peaks[pgid] = max(self._peaks.get(pgid, 0), rss)
                    result[pgid] = GroupSample(pgid, rss, cpu, count)
            return result

    def peak_rss(self, pgid: int) -> int:
        """The highest RSS sampled for a group since it was first sampled (0 if never)."""
        with self._lock:
            return self._peaks.get(pgid, 0)

    def forget(self, pgid: int) -> None:
        """Drop what is kept for a group whose attempt ended (pgids are reused)."""
        with self._lock:
            self._processes.pop(pgid, None)
            self._peaks.pop(pgid, None)


def _measure(cached: psutil.Process | None, pid: int) -> tuple[psutil.Process, int, float] | None:
    """RSS and CPU of one process, reusing its cached object; None if gone or a zombie."""
    try:
        # `is_running` compares creation times, so a reused pid gets a fresh object.
        process = cached if cached is not None and cached.is_running() else psutil.Process(pid)
        with process.oneshot():
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            return process, process.memory_info().rss, process.cpu_percent(None)
    except _GONE:
        return None


def machine_sample(saturation_percent: float = SATURATION_PERCENT) -> MachineSample:
    """Available memory and system-wide CPU; the first call's CPU is 0 (nothing to compare)."""
    cpu = psutil.cpu_percent(None)
    return MachineSample(
        available_memory=psutil.virtual_memory().available,
        cpu_percent=cpu,
        cpu_saturated=cpu >= saturation_percent,
    )


def over_memory(sample: GroupSample, limit_bytes: int) -> str | None:
    """The failure reason when a group's RSS is over the limit (`memory 312MB over 256MB`).

    Returns:
        The reason, starting with the fixed word `memory` (DESIGN.md §5); None within the limit.
    """
    if sample.rss_bytes <= limit_bytes:
        return None
    return f"memory {format_size(sample.rss_bytes)} over {format_size(limit_bytes)}"


def over_cpu(sample: GroupSample, cpu_per_agent: float) -> bool:
    """Whether a group uses more CPU than `cpu_per_agent` (percent of one core): flag only.

    A task is never killed for CPU (DESIGN.md §3); the UI shows the flag.
    """
    return sample.cpu_percent > cpu_per_agent
