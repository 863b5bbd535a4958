"""Memory and CPU of running attempts, measured per process group (docs/design.md §3, §5).

Every attempt runs in its own process group, so the group owns nearly every descendant: one
pass over the process table (`os.getpgid` per pid, ~2.6 ms, far cheaper than walking each
tree) finds the members. A descendant that left the group (`setsid`, a shell's job control)
is found by a walk down from the group's processes (one parent map per walk, ~28 ms), made
every few samples only; once found it is kept and measured like a member until it ends.

Memory is PSS (`/proc/PID/smaps_rollup`): a page shared by N processes counts 1/N in each, so
the sum over a tree counts it once (200 idle `sleep`s are not 200 × their RSS). A process whose
PSS cannot be read (another user's, or not Linux) counts its RSS.

The runner calls `GroupSampler.sample` every second and kills a group over
`memory_per_agent` (`over_memory`); CPU over `cpu_per_agent` is only flagged (`over_cpu`), and
a saturated machine (`machine_sample`) starts no new task.

Plain synchronous functions, no event loop: the runner calls them from a thread or the loop.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import psutil

from pmtui.config.units import format_size

SATURATION_PERCENT = 95.0
"""System-wide CPU use (averaged over cores) from which the machine counts as saturated."""
WALK_EVERY = 5
"""Samples between two walks for descendants that left their group (the first sample of a
group walks too): an escaped process is counted at most this many samples late."""

_GONE = (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess)
_HAS_PSS = psutil.LINUX
"""Elsewhere `memory_full_info` has no PSS and is slow (macOS computes USS page by page)."""


@dataclass(frozen=True, slots=True)
class GroupSample:
    """One attempt's processes (its group and the descendants that left it) at one moment."""

    pgid: int
    memory_bytes: int
    """Proportional set size (PSS) of every live process, summed: shared pages count once.
    RSS for a process whose PSS cannot be read."""
    cpu_percent: float
    """CPU since the previous sample, summed over the processes; 100 = one core busy."""
    processes: int
    """Live (not zombie) processes counted, escaped descendants included."""


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
    """Samples attempts by process group, keeping `psutil.Process` objects between samples.

    `cpu_percent(None)` measures since the previous call on the same object, so the objects
    are kept per group; a pid whose process changed (a reused pid: another creation time)
    gets a new object. A process's first sample reports 0 % CPU. Safe to call from any one
    thread at a time or several (a lock serialises the passes).
    """

    def __init__(self, walk_every: int = WALK_EVERY) -> None:
        self._walk_every = max(walk_every, 1)
        self._processes: dict[int, dict[int, psutil.Process]] = {}
        """Per group, the members seen by the last sample."""
        self._escaped: dict[int, dict[int, psutil.Process]] = {}
        """Per group, descendants found in another group, kept while they run."""
        self._until_walk: dict[int, int] = {}
        """Per group, samples left before the next walk (0: walk now)."""
        self._peaks: dict[int, int] = {}
        self._lock = threading.Lock()

    def sample(self, pgids: Collection[int]) -> dict[int, GroupSample]:
        """Measure the given process groups in one pass over the process table.

        Zombies and processes that vanish or deny access mid-pass are skipped quietly; a group
        with no live process left (member or escaped descendant) is absent from the result.

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
            walking = [pgid for pgid in wanted if self._until_walk.get(pgid, 0) <= 0]
            if walking:
                self._walk(walking, members)
            result: dict[int, GroupSample] = {}
            for pgid in wanted:
                self._until_walk[pgid] = (
                    self._walk_every if pgid in walking else self._until_walk[pgid]
                ) - 1
                sample = self._sample_group(pgid, members.get(pgid, ()))
                if sample is not None:
                    self._peaks[pgid] = max(self._peaks.get(pgid, 0), sample.memory_bytes)
                    result[pgid] = sample
            return result

    def _sample_group(self, pgid: int, pids: Iterable[int]) -> GroupSample | None:
        cache = self._processes.get(pgid, {})
        kept: dict[int, psutil.Process] = {}
        memory = 0
        cpu = 0.0
        count = 0
        for pid in pids:
            measured = _measure(cache.get(pid), pid)
            if measured is None:
                continue
            process, process_memory, process_cpu = measured
            kept[pid] = process
            memory += process_memory
            cpu += process_cpu
            count += 1
        # Only this pass's processes are kept: exited pids do not pile up.
        self._processes[pgid] = kept
        escaped = self._escaped.get(pgid, {})
        for pid, cached in list(escaped.items()):
            measured = None if pid in kept else _measure(cached, pid, reuse_only=True)
            if measured is None:  # ended, or back in the group (counted there)
                del escaped[pid]
                continue
            _, process_memory, process_cpu = measured
            memory += process_memory
            cpu += process_cpu
            count += 1
        if not count:
            return None
        return GroupSample(pgid, memory, cpu, count)

    def _walk(self, pgids: Collection[int], members: Mapping[int, list[int]]) -> None:
        """Find descendants of the groups' processes that left their group.

        One parent map serves every group walked (a `children(recursive=True)` per tree
        would read the whole process table once per tree).
        """
        children: dict[int, list[int]] = {}
        for process in psutil.process_iter(["ppid"]):
            parent = process.info.get("ppid")
            if isinstance(parent, int):
                children.setdefault(parent, []).append(process.pid)
        in_a_group = {pid for pids in members.values() for pid in pids}
        for pgid in pgids:
            escaped = self._escaped.setdefault(pgid, {})
            # The leader may have exited (its orphans' parent is then init or a subreaper), so
            # the walk starts from every live process of the attempt still known. An ended
            # escaped process is left out: its pid may be another process's by now.
            alive = [pid for pid, process in escaped.items() if process.is_running()]
            stack = [*members.get(pgid, ()), *alive]
            seen: set[int] = set()
            while stack:
                pid = stack.pop()
                if pid in seen:
                    continue
                seen.add(pid)
                for child in children.get(pid, ()):
                    stack.append(child)
                    if child not in in_a_group and child not in escaped:
                        try:
                            escaped[child] = psutil.Process(child)
                        except _GONE:
                            continue

    def escaped(self, pgid: int) -> list[psutil.Process]:
        """The group's descendants found outside it and still running: `killpg` misses them,
        so whoever stops the attempt ends these too (`Process.kill` checks the pid is still
        theirs)."""
        with self._lock:
            kept = self._escaped.get(pgid, {})
            return [process for process in kept.values() if process.is_running()]

    def peak_memory(self, pgid: int) -> int:
        """The highest memory (PSS) sampled for a group since first sampled (0 if never)."""
        with self._lock:
            return self._peaks.get(pgid, 0)

    def forget(self, pgid: int) -> None:
        """Drop what is kept for a group whose attempt ended (pgids are reused)."""
        with self._lock:
            self._processes.pop(pgid, None)
            self._escaped.pop(pgid, None)
            self._until_walk.pop(pgid, None)
            self._peaks.pop(pgid, None)


def _measure(
    cached: psutil.Process | None, pid: int, *, reuse_only: bool = False
) -> tuple[psutil.Process, int, float] | None:
    """Memory (PSS, else RSS) and CPU of one process, reusing its cached object.

    Args:
        cached: The object kept from an earlier sample, if any.
        pid: The process.
        reuse_only: The pid is only known through `cached`: a new process on that pid is
            not the one found (None then).

    Returns:
        The object to keep, its memory in bytes and its CPU percent; None if it is gone or
        a zombie.
    """
    try:
        # `is_running` compares creation times, so a reused pid gets a fresh object.
        if cached is not None and cached.is_running():
            process = cached
        elif reuse_only:
            return None
        else:
            process = psutil.Process(pid)
        with process.oneshot():
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            return process, _memory(process), process.cpu_percent(None)
    except _GONE:
        return None


def _memory(process: psutil.Process) -> int:
    """PSS when it can be read, else RSS (another user's process denies smaps)."""
    if _HAS_PSS:
        try:
            return int(process.memory_full_info().pss)
        except psutil.AccessDenied:
            pass
    return int(process.memory_info().rss)


def machine_sample(saturation_percent: float = SATURATION_PERCENT) -> MachineSample:
    """Available memory and system-wide CPU; the first call's CPU is 0 (nothing to compare)."""
    cpu = psutil.cpu_percent(None)
    return MachineSample(
        available_memory=psutil.virtual_memory().available,
        cpu_percent=cpu,
        cpu_saturated=cpu >= saturation_percent,
    )


def over_memory(sample: GroupSample, limit_bytes: int) -> str | None:
    """The failure reason when an attempt's memory is over the limit (`memory 312MB over 256MB`).

    Returns:
        The reason, starting with the fixed word `memory` (docs/design.md §5); None within
        the limit.
    """
    if sample.memory_bytes <= limit_bytes:
        return None
    return f"memory {format_size(sample.memory_bytes)} over {format_size(limit_bytes)}"


def over_cpu(sample: GroupSample, cpu_per_agent: float) -> bool:
    """Whether a group uses more CPU than `cpu_per_agent` (percent of one core): flag only.

    A task is never killed for CPU (docs/design.md §3); the UI shows the flag.
    """
    return sample.cpu_percent > cpu_per_agent
