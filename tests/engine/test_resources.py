"""Resource sampling per process group, on real processes (the demo agent, a CPU burner)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress

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
def group(argv: list[str], env: Mapping[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """A process in its own process group (pgid == pid), whose whole group is killed after."""
    proc = subprocess.Popen(
        argv,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
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
        assert sample.rss_bytes >= 55 * MB
        assert sampler.peak_rss(proc.pid) >= sample.rss_bytes
        reason = over_memory(sample, 50 * MB)
        assert reason is not None
        assert reason.startswith("memory ")
        assert reason.endswith("MB over 50MB")
        assert over_memory(sample, 200 * MB) is None
        sampler.forget(proc.pid)
        assert sampler.peak_rss(proc.pid) == 0


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
        assert samples[proc.pid].rss_bytes >= 25 * MB
        assert samples[other.pid].processes == 1
        assert samples[other.pid].rss_bytes < samples[proc.pid].rss_bytes


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
        assert sampler.peak_rss(proc.pid) > 0  # kept until the attempt is forgotten


def test_no_groups_and_unknown_groups() -> None:
    sampler = GroupSampler()
    assert sampler.sample([]) == {}
    assert sampler.peak_rss(12345678) == 0
    sampler.forget(12345678)  # forgetting an unknown group is fine


def test_over_memory_and_cpu_thresholds() -> None:
    sample = GroupSample(pgid=1, rss_bytes=312 * MB, cpu_percent=25.0, processes=2)
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
    assert sample.rss_bytes > 0
