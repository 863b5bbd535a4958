"""Resource sampling per attempt, on real processes (the demo agent, a CPU burner, sleeps,
a descendant that leaves its group)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress

import psutil
import pytest

from pmtui.engine.resources import (
    GroupSample,
    GroupSampler,
    MachineSample,
    machine_sample,
    over_cpu,
    over_memory,
)

MB = 1000 * 1000
DEMO = [sys.executable, "-m", "pmtui.agents.demo"]
BURN = [sys.executable, "-u", "-c", "print('burning', flush=True)\nwhile True: pass"]


@contextmanager
def group(
    argv: list[str], env: Mapping[str, str] | None = None, *, stdin: bool = False
) -> Iterator[subprocess.Popen[str]]:
    """A process in its own process group (pgid == pid), whose whole group is killed after.

    With `stdin`, the test writes to its standard input (else it is /dev/null).
    """
    proc = subprocess.Popen(
        argv,
        env={**os.environ, **(env or {})},
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
        if proc.stdin is not None:
            proc.stdin.close()


def read_until(proc: subprocess.Popen[str], word: str) -> str:
    """Read the process's output up to the first line containing `word`."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if word in line:
            return line
    raise AssertionError(f"the process ended without printing {word!r}")


def demo_env(memory: str, **extra: str) -> dict[str, str]:
    return {
        "PMTUI_DEMO_MEMORY": memory,
        "PMTUI_DEMO_HANG": "1",
        "PMTUI_DEMO_SECONDS": "60",
        **extra,
    }


def test_a_group_using_memory_is_measured_and_over_a_limit() -> None:
    sampler = GroupSampler()
    with group(DEMO, demo_env("60MB")) as proc:
        read_until(proc, "allocated")
        samples = sampler.sample([proc.pid])
        sample = samples[proc.pid]
        assert sample.pgid == proc.pid
        assert sample.processes == 1
        assert sample.memory_bytes >= 55 * MB
        assert sampler.peak_memory(proc.pid) >= sample.memory_bytes
        reason = over_memory(sample, 50 * MB)
        assert reason is not None
        assert reason.startswith("memory ")
        assert reason.endswith("MB over 50MB")
        assert over_memory(sample, 200 * MB) is None
        sampler.forget(proc.pid)
        assert sampler.peak_memory(proc.pid) == 0


def test_every_process_of_the_group_counts() -> None:
    sampler = GroupSampler()
    with (
        group(DEMO, demo_env("30MB", PMTUI_DEMO_SPAWN="2")) as proc,
        group(DEMO, demo_env("")) as other,
    ):
        read_until(proc, "allocated")  # the helpers are started before the allocation
        read_until(other, "::progress::0")
        samples = sampler.sample([proc.pid, other.pid])
        assert samples[proc.pid].processes == 3
        assert samples[proc.pid].memory_bytes >= 25 * MB
        assert samples[other.pid].processes == 1
        assert samples[other.pid].memory_bytes < samples[proc.pid].memory_bytes


def test_cpu_is_measured_since_the_previous_sample() -> None:
    sampler = GroupSampler()
    with group(BURN) as proc:
        read_until(proc, "burning")
        sampler.sample([proc.pid])  # starts the measurement
        time.sleep(0.3)  # the measurement interval, not a wait for an event
        sample = sampler.sample([proc.pid])[proc.pid]
        assert sample.cpu_percent > 50
        assert over_cpu(sample, 20)
        assert not over_cpu(sample, 1000)


def test_a_vanished_or_zombie_group_is_absent() -> None:
    sampler = GroupSampler()
    with group(DEMO, demo_env("")) as proc:
        read_until(proc, "::progress::0")
        assert proc.pid in sampler.sample([proc.pid])
        os.killpg(proc.pid, signal.SIGKILL)
        # Wait until it is a zombie, without reaping it: still a member of its group.
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        assert sampler.sample([proc.pid]) == {}
        proc.wait(timeout=10)
        assert sampler.sample([proc.pid]) == {}
        assert sampler.peak_memory(proc.pid) > 0  # kept until the attempt is forgotten


def test_no_groups_and_unknown_groups() -> None:
    sampler = GroupSampler()
    assert sampler.sample([]) == {}
    assert sampler.peak_memory(12345678) == 0
    sampler.forget(12345678)  # forgetting an unknown group is fine


def test_over_memory_and_cpu_thresholds() -> None:
    sample = GroupSample(pgid=1, memory_bytes=312 * MB, cpu_percent=25.0, processes=2)
    assert over_memory(sample, 256 * MB) == "memory 312MB over 256MB"
    assert over_memory(sample, 312 * MB) is None
    assert over_cpu(sample, 20)
    assert not over_cpu(sample, 25)


def test_machine_sample_is_sane() -> None:
    machine_sample()  # the first call only starts the CPU measurement
    sample = machine_sample()
    assert isinstance(sample, MachineSample)
    assert sample.available_memory > 0
    assert 0.0 <= sample.cpu_percent <= 100.0
    assert machine_sample(saturation_percent=0.0).cpu_saturated
    assert not machine_sample(saturation_percent=101.0).cpu_saturated


def test_the_own_group_is_found() -> None:
    pgid = os.getpgid(0)
    sample = GroupSampler().sample([pgid])[pgid]
    assert sample.processes >= 1
    assert sample.memory_bytes > 0


# --------------------------------------------------------------------------- PSS, escaped


SLEEPS = 40
IDLE_SLEEPS = [
    sys.executable,
    "-u",
    "-c",
    # Popen returns once the child has exec'd: every sleep is resident when `ready` prints.
    "import subprocess, sys\n"
    f"for _ in range({SLEEPS}):\n"
    "    subprocess.Popen(['sleep', '3600'])\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read()\n",
]

ESCAPER = (
    "import os, sys\n"
    "os.setsid()\n"
    "ballast = bytearray(60_000_000)\n"
    "for offset in range(0, len(ballast), 4096): ballast[offset] = 1\n"
    "print('escaped', os.getpid(), flush=True)\n"
    "sys.stdin.read()  # until the leader is gone: its end closes this pipe\n"
)
LEADER = [
    sys.executable,
    "-u",
    "-c",
    # Starts the escaper when told (a line on stdin), relays its line, reaps it, then idles.
    "import subprocess, sys\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"
    f"child = subprocess.Popen([sys.executable, '-c', {ESCAPER!r}],\n"
    "                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)\n"
    "print(child.stdout.readline(), end='', flush=True)\n"
    "child.wait()\n"
    "print('reaped', flush=True)\n"
    "sys.stdin.read()\n",
]


def summed_rss(pgid: int) -> int:
    """What the sampler measured before PSS: the RSS of every member, summed."""
    total = 0
    for process in psutil.process_iter():
        with suppress(psutil.Error, OSError):
            if os.getpgid(process.pid) == pgid:
                total += process.memory_info().rss
    return total


def escape(proc: subprocess.Popen[str]) -> int:
    """Have the leader start the escaper; its pid once it is in its own session."""
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    pid = int(read_until(proc, "escaped").split()[1])
    assert os.getpgid(pid) != proc.pid  # it left the attempt's group
    return pid


def test_idle_sleeps_count_their_shared_pages_once() -> None:
    sampler = GroupSampler()
    with group(IDLE_SLEEPS, stdin=True) as proc:
        read_until(proc, "ready")
        sample = sampler.sample([proc.pid])[proc.pid]
        rss = summed_rss(proc.pid)
        assert sample.processes == 1 + SLEEPS
        # The sleeps share libc and their binary with each other: RSS counts those N times.
        assert 0 < sample.memory_bytes < rss / 2
        assert sampler.peak_memory(proc.pid) == sample.memory_bytes


def test_a_descendant_that_left_the_group_is_still_counted() -> None:
    sampler = GroupSampler()
    with group(LEADER, stdin=True) as proc:
        read_until(proc, "ready")
        escaped = escape(proc)
        try:
            sample = sampler.sample([proc.pid])[proc.pid]  # a group's first sample walks
            assert sample.processes == 2
            assert sample.memory_bytes >= 55 * MB
            assert [process.pid for process in sampler.escaped(proc.pid)] == [escaped]
        finally:
            os.kill(escaped, signal.SIGKILL)  # still the leader's child: the pid is its own
        read_until(proc, "reaped")
        assert sampler.escaped(proc.pid) == []
        sampler.forget(proc.pid)


def test_an_escaped_descendant_is_found_at_the_next_walk_and_kept_between_walks() -> None:
    sampler = GroupSampler(walk_every=2)
    with group(LEADER, stdin=True) as proc:
        read_until(proc, "ready")
        assert sampler.sample([proc.pid])[proc.pid].processes == 1  # walks: nothing left it
        escaped = escape(proc)
        try:
            assert sampler.sample([proc.pid])[proc.pid].processes == 1  # no walk this time
            found = sampler.sample([proc.pid])[proc.pid]  # walks
            assert found.processes == 2
            assert found.memory_bytes >= 55 * MB
            assert sampler.sample([proc.pid])[proc.pid].processes == 2  # kept, no walk
        finally:
            os.kill(escaped, signal.SIGKILL)
        read_until(proc, "reaped")  # gone for good: it no longer counts
        assert sampler.sample([proc.pid])[proc.pid].processes == 1


def test_a_process_allocating_200mb_is_measured_at_least_180mb() -> None:
    sampler = GroupSampler()
    with group(DEMO, demo_env("200MB")) as proc:
        read_until(proc, "allocated")
        sample = sampler.sample([proc.pid])[proc.pid]
        assert sample.memory_bytes >= 180 * MB
        assert over_memory(sample, 150 * MB) is not None


IDLE = [sys.executable, "-u", "-c", "import sys\nprint('ready', flush=True)\nsys.stdin.read()"]
"""A Python that allocates nothing once it printed `ready`: its RSS stays put."""


def test_rss_counts_for_a_process_whose_pss_cannot_be_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def denied(self: psutil.Process) -> object:
        raise psutil.AccessDenied(self.pid)

    with group(IDLE, stdin=True) as proc:
        read_until(proc, "ready")
        pss = GroupSampler().sample([proc.pid])[proc.pid].memory_bytes
        monkeypatch.setattr(psutil.Process, "memory_full_info", denied)
        rss = GroupSampler().sample([proc.pid])[proc.pid].memory_bytes
        assert rss == psutil.Process(proc.pid).memory_info().rss
        # It shares the interpreter's pages with this test's Python: PSS counts them half.
        assert pss < rss
