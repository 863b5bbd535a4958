"""Which folder is a git repository's root: what git itself would say."""

from __future__ import annotations

from pathlib import Path

from pmtui.store.files import find_repo_root
from tests.gitrepo import git


def test_a_repository_is_found_from_a_folder_inside_it(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    assert find_repo_root(inner) == tmp_path


def test_an_empty_git_folder_is_not_a_repository(tmp_path: Path) -> None:
    # Codex's sandbox leaves such mount points in every folder it may write to (/tmp too).
    (tmp_path / ".git").mkdir()
    inner = tmp_path / "plans"
    inner.mkdir()
    assert find_repo_root(inner) is None


def test_a_worktree_git_file_marks_its_root(tmp_path: Path) -> None:
    main = tmp_path / "main"
    main.mkdir()
    git(main, "init", "-q", "-b", "main")
    git(
        main,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "init",
    )
    git(main, "worktree", "add", "-q", str(tmp_path / "other"))
    assert find_repo_root(tmp_path / "other") == tmp_path / "other"


def test_a_stray_git_file_is_not_a_repository(tmp_path: Path) -> None:
    (tmp_path / ".git").write_text("not a gitdir line\n", encoding="utf-8")
    assert find_repo_root(tmp_path) is None
