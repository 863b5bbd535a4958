"""Fixtures of the tests that run agent CLIs: a repository to work in, a HOME for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fresh git repository with one commit."""
    return make_repo(tmp_path / "repo", {"README.md": "# demo\n"})


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The agents' HOME (their sessions are kept there, so a resume must reuse it)."""
    return tmp_path / "home"
