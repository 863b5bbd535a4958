"""Shared test set-up: deterministic hypothesis, and no reach into the developer's own config."""

from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("pmtui", derandomize=True, database=None, deadline=None)
settings.load_profile("pmtui")


@pytest.fixture(autouse=True)
def isolated_user_config(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `~/.config/pmtui/pmtui.toml` on the developer's machine must not change any result.

    Subprocesses inherit the patched environment too.
    """
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(Path(home) / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(Path(home) / ".cache"))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current folder with no user config in reach and an 80-column terminal."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("COLUMNS", "80")
    return tmp_path
