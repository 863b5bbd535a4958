"""The monitor in a real terminal: `pmtui demo` in a detached tmux session, read with
`capture-pane`, driven with `send-keys`. `.ci/run` installs tmux; without it the test is
skipped with that reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux")

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install tmux)")


class Terminal:
    """A detached tmux session of its own (its own server socket), 100x30."""

    def __init__(self, command: str, cwd: Path) -> None:
        assert TMUX is not None
        self.socket = f"pmtui-test-{uuid.uuid4().hex[:8]}"
        self.base = [TMUX, "-L", self.socket]
        env = {**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm-256color"}
        env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8")
        subprocess.run(
            [
                *self.base,
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                "100",
                "-y",
                "30",
                "-c",
                str(cwd),
                command,
            ],
            check=True,
            env=env,
        )

    def screen(self) -> str:
        result = subprocess.run(
            [*self.base, "capture-pane", "-p", "-t", "t"], capture_output=True, text=True
        )
        return result.stdout

    def press(self, key: str) -> None:
        subprocess.run([*self.base, "send-keys", "-t", "t", key], check=True)

    def until(self, wanted: Callable[[str], bool], seconds: float = 20.0) -> str:
        """Read the screen until `wanted` holds (a bounded wait on a condition)."""
        deadline = time.monotonic() + seconds
        while True:
            screen = self.screen()
            if wanted(screen):
                return screen
            assert time.monotonic() < deadline, f"the screen never showed it:\n{screen}"
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Callable[[str], Terminal]]:
    opened: list[Terminal] = []

    def open_terminal(command: str) -> Terminal:
        opened.append(Terminal(command, tmp_path))
        return opened[-1]

    yield open_terminal
    for term in opened:
        term.close()


def marked(mark: str) -> list[psutil.Process]:
    """Live processes started under this test's marker (pmtui and everything it started)."""
    found = []
    for process in psutil.process_iter(["status"]):
        try:
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if process.environ().get("PMTUI_TEST_MARK") == mark:
                found.append(process)
        except psutil.Error:
            continue
    return found


def test_demo_in_a_terminal_pauses_and_quits_leaving_nothing(
    terminal: Callable[[str], Terminal], tmp_path: Path
) -> None:
    exit_file = tmp_path / "exit-code"
    mark = uuid.uuid4().hex
    term = terminal(
        f"PMTUI_TEST_MARK={mark} {sys.executable} -m pmtui demo --speed 2; "
        f"echo $? > {exit_file}; sleep 60"
    )
    term.until(lambda screen: "PARALLEL AGENT EXECUTION MONITOR" in screen)
    term.until(lambda screen: "⚡" in screen)  # agents run
    assert len(marked(mark)) >= 2  # pmtui and its agents carry the marker
    term.press("p")
    term.until(lambda screen: "PAUSED" in screen)
    term.press("q")
    term.until(lambda screen: "Quit while tasks run?" in screen)
    term.press("y")
    deadline = time.monotonic() + 20
    while not exit_file.exists():
        assert time.monotonic() < deadline, term.screen()
        time.sleep(0.1)
    assert exit_file.read_text().strip() == "130"
    screen = term.screen()
    assert "run aborted" in screen
    assert marked(mark) == []  # neither pmtui nor any agent it started is left
