"""The run lock: a second pmtui is refused, naming the first; a dead holder frees it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmtui.store.lock import LockHeld, RunLock, lock_name

HOLD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pmtui.store.lock import RunLock
    lock = RunLock.acquire(Path(sys.argv[1]), key=sys.argv[2])
    print("held", flush=True)
    sys.stdin.read()  # hold until the parent closes stdin or kills us
    """
)

TRY = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pmtui.store.lock import LockHeld, RunLock
    try:
        RunLock.acquire(Path(sys.argv[1]), key=sys.argv[2])
    except LockHeld as held:
        print(held.pid, held, sep="\\n")
        sys.exit(3)
    """
)


@pytest.fixture
def holders() -> Iterator[list[subprocess.Popen[str]]]:
    """Child processes holding locks; all killed and reaped after the test."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
        if child.stdin is not None:
            child.stdin.close()
        if child.stdout is not None:
            child.stdout.close()


def hold_in_child(root: Path, key: str, holders: list[subprocess.Popen[str]]) -> int:
    """Start a process that takes the lock; return its pid once it holds it."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root), key],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    holders.append(child)
    assert child.stdout is not None
    assert child.stdout.readline() == "held\n"
    return child.pid


def test_a_second_acquire_in_another_process_is_refused_naming_the_holder(
    tmp_path: Path, holders: list[subprocess.Popen[str]]
) -> None:
    pid = hold_in_child(tmp_path, "repo", holders)
    with pytest.raises(LockHeld) as caught:
        RunLock.acquire(tmp_path, key="repo")
    assert caught.value.pid == pid
    assert f"another pmtui (pid {pid}) is running here; wait for it or stop it" in str(caught.value)
    assert caught.value.lock_path == tmp_path / ".pmtui" / "lock-repo"


def test_another_process_is_refused_while_this_one_holds_the_lock(tmp_path: Path) -> None:
    with RunLock.acquire(tmp_path, key="repo") as lock:
        assert lock.held
        result = subprocess.run(
            [sys.executable, "-c", TRY, str(tmp_path), "repo"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 3, result.stderr
        pid_line, message = result.stdout.splitlines()
        assert int(pid_line) == os.getpid()
        assert f"pid {os.getpid()}" in message
    assert not lock.held


def test_the_lock_is_freed_when_its_holder_is_sigkilled(
    tmp_path: Path, holders: list[subprocess.Popen[str]]
) -> None:
    hold_in_child(tmp_path, "repo", holders)
    with pytest.raises(LockHeld):
        RunLock.acquire(tmp_path, key="repo")
    holders[0].kill()
    assert holders[0].wait(timeout=30) == -9
    with RunLock.acquire(tmp_path, key="repo") as lock:
        assert (tmp_path / ".pmtui" / "lock-repo").read_text() == f"{os.getpid()}\n"
        assert lock.held


def test_release_lets_the_next_one_in_and_is_idempotent(tmp_path: Path) -> None:
    lock = RunLock.acquire(tmp_path, key="repo")
    with pytest.raises(LockHeld):  # flock is per open file: a second open conflicts here too
        RunLock.acquire(tmp_path, key="repo")
    lock.release()
    lock.release()
    RunLock.acquire(tmp_path, key="repo").release()


def test_different_keys_do_not_conflict(tmp_path: Path) -> None:
    with RunLock.acquire(tmp_path, key="plans/a.md"), RunLock.acquire(tmp_path, key="plans_a.md"):
        pass


def test_keys_are_made_safe_file_names() -> None:
    assert lock_name("repo") == "lock-repo"
    unsafe = lock_name("../../etc/passwd")
    assert "/" not in unsafe and unsafe.startswith("lock-etc_passwd-")
    assert lock_name("plans/a.md") != lock_name("plans_a.md")
    assert len(lock_name("x" * 500)) < 80
    assert lock_name("").startswith("lock-default")


def test_a_file_where_the_store_folder_goes_is_a_store_error(tmp_path: Path) -> None:
    from pmtui.store.db import StoreError

    (tmp_path / ".pmtui").write_text("x")
    with pytest.raises(StoreError):
        RunLock.acquire(tmp_path, key="repo")
