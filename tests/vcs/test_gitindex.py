"""The fast index reader and writer agree with git, byte for byte where git is the judge."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pmtui.vcs.gitindex import read_index, write_index
from tests.gitrepo import git
from tests.vcs.test_worktrees import repo  # noqa: F401 - the fixture

__all__ = ["repo"]


@pytest.fixture
def big(repo: Path) -> Path:  # noqa: F811 - the fixture above
    for folder in range(3):
        (repo / f"d{folder}").mkdir()
        for number in range(40):
            (repo / f"d{folder}" / f"f{number}.txt").write_text(f"{folder} {number}\n")
    (repo / ("a-name-that-is-rather-long" * 3)).write_text("long\n")
    (repo / "run.sh").write_text("#!/bin/sh\n")
    (repo / "run.sh").chmod(0o755)
    os.symlink("a.txt", repo / "link")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "more")
    return repo


def stages(repo: Path) -> str:
    return git(repo, "ls-files", "--stage", "--debug")


@pytest.mark.parametrize("version", ["2", "3"])
def test_what_is_read_and_written_back_is_what_git_wrote(big: Path, version: str) -> None:
    git(big, "update-index", "--index-version", version)
    index = big / ".git" / "index"
    before = stages(big)
    entries = read_index(index)
    assert len(entries) == len(git(big, "ls-files").split())
    assert entries[b"run.sh"].mode == 0o100755 and entries[b"link"].mode == 0o120000
    write_index(index, entries)
    assert stages(big) == before  # every field git shows, stat data included
    assert git(big, "status", "--porcelain") == ""
    git(big, "fsck", "--strict")


def test_an_index_of_format_4_is_read_through_dulwich(big: Path) -> None:
    git(big, "update-index", "--index-version", "4")
    entries = read_index(big / ".git" / "index")
    assert b"d2/f39.txt" in entries and len(entries) == len(git(big, "ls-files").split())
    write_index(big / ".git" / "index", entries)  # written back as format 2: git reads it
    assert git(big, "status", "--porcelain") == ""


def test_conflicted_stages_are_left_out(big: Path) -> None:
    git(big, "checkout", "-q", "-b", "other")
    (big / "a.txt").write_text("other\n")
    git(big, "commit", "-q", "-am", "other")
    git(big, "checkout", "-q", "main")
    (big / "a.txt").write_text("main\n")
    git(big, "commit", "-q", "-am", "main")
    merged = subprocess.run(["git", "-C", str(big), "merge", "-q", "other"], capture_output=True)
    assert merged.returncode != 0
    entries = read_index(big / ".git" / "index")
    assert b"a.txt" not in entries and b"run.sh" in entries


def test_no_index_reads_as_empty(tmp_path: Path) -> None:
    assert read_index(tmp_path / "index") == {}
