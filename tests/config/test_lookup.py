"""`load_config_for`: the real files of the lookup chain, next to the plan, at the repository
root and in `$XDG_CONFIG_HOME/pmtui/`, or the one file `--config` names."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmtui.project import load_config_for
from pmtui.store.files import find_repo_root


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty XDG config folder (never the real user's), and tmp_path as the cwd."""
    folder = tmp_path / "xdg"
    (folder / "pmtui").mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    monkeypatch.chdir(tmp_path)
    return folder


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository root (a `.git` folder with a HEAD) with a plan in `plans/`."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (root / "plans").mkdir()
    (root / "plans" / "plan.md").write_text("# Plan: x\n", encoding="utf-8")
    return root


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_no_files_anywhere_gives_the_defaults(repo: Path) -> None:
    config, problems = load_config_for(repo / "plans" / "plan.md", None)
    assert problems == []
    assert config is not None
    assert config.pool.max_concurrent == 5
    assert config.sources == ()


def test_plan_folder_beats_repo_root_beats_xdg(repo: Path, xdg: Path) -> None:
    write(
        xdg / "pmtui" / "pmtui.toml",
        "[pool]\nmax_concurrent = 1\nemergency_boost = 11\n"
        '[monitor]\ntheme = "xdg"\n[conflicts]\nmax_retries = 7\n',
    )
    write(repo / "pmtui.toml", '[pool]\nmax_concurrent = 2\n[monitor]\ntheme = "root"\n')
    write(repo / "plans" / "pmtui.toml", "[pool]\nmax_concurrent = 3\n")

    config, problems = load_config_for(repo / "plans" / "plan.md", None)

    assert problems == []
    assert config is not None
    assert config.pool.max_concurrent == 3
    assert config.monitor.theme == "root"
    assert config.conflicts.max_retries == 7
    assert config.pool.emergency_boost == 11
    assert config.sources == (
        "xdg/pmtui/pmtui.toml",
        "repo/pmtui.toml",
        "repo/plans/pmtui.toml",
    )


def test_repo_root_beats_xdg_when_the_plan_folder_has_none(repo: Path, xdg: Path) -> None:
    write(xdg / "pmtui" / "pmtui.toml", '[monitor]\ntheme = "xdg"\n')
    write(repo / "pmtui.toml", '[monitor]\ntheme = "root"\n')

    config, _ = load_config_for(repo / "plans" / "plan.md", None)

    assert config is not None
    assert config.monitor.theme == "root"
    assert config.sources == ("xdg/pmtui/pmtui.toml", "repo/pmtui.toml")


def test_xdg_file_alone_applies(repo: Path, xdg: Path) -> None:
    write(xdg / "pmtui" / "pmtui.toml", '[monitor]\ntheme = "xdg"\n')

    config, _ = load_config_for(repo / "plans" / "plan.md", None)

    assert config is not None
    assert config.monitor.theme == "xdg"


def test_plan_at_the_repo_root_reads_its_file_once(repo: Path) -> None:
    plan = write(repo / "plan.md", "# Plan: x\n")
    write(repo / "pmtui.toml", "[pool]\nmax_concurrent = 2\n")

    config, _ = load_config_for(plan, None)

    assert config is not None
    assert config.sources == ("repo/pmtui.toml",)


def test_plan_outside_any_repository_uses_its_folder_and_xdg(tmp_path: Path, xdg: Path) -> None:
    if find_repo_root(tmp_path) is not None:
        pytest.skip("tmp_path is inside a git repository")
    plan = write(tmp_path / "loose" / "plan.md", "# Plan: x\n")
    write(tmp_path / "loose" / "pmtui.toml", "[pool]\nmax_concurrent = 2\n")
    write(xdg / "pmtui" / "pmtui.toml", "[conflicts]\nmax_retries = 0\n")

    config, _ = load_config_for(plan, None)

    assert config is not None
    assert (config.pool.max_concurrent, config.conflicts.max_retries) == (2, 0)
    assert config.sources == ("xdg/pmtui/pmtui.toml", "loose/pmtui.toml")


def test_xdg_config_home_unset_falls_back_to_home_config(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    write(home / ".config" / "pmtui" / "pmtui.toml", '[monitor]\ntheme = "home"\n')
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(home))

    config, _ = load_config_for(repo / "plans" / "plan.md", None)

    assert config is not None
    assert config.monitor.theme == "home"


def test_plan_path_relative_to_the_cwd_finds_the_same_files(repo: Path) -> None:
    write(repo / "plans" / "pmtui.toml", "[pool]\nmax_concurrent = 3\n")

    config, _ = load_config_for(Path("repo/plans/plan.md"), None)

    assert config is not None
    assert config.pool.max_concurrent == 3


def test_config_option_uses_only_that_file(repo: Path, xdg: Path, tmp_path: Path) -> None:
    write(xdg / "pmtui" / "pmtui.toml", "[conflicts]\nmax_retries = 9\n")
    write(repo / "pmtui.toml", '[monitor]\ntheme = "root"\n')
    write(repo / "plans" / "pmtui.toml", "[pool]\nmax_concurrent = 3\n")
    chosen = write(tmp_path / "ci.toml", "[pool]\nmax_concurrent = 1\n")

    config, problems = load_config_for(repo / "plans" / "plan.md", chosen)

    assert problems == []
    assert config is not None
    assert config.pool.max_concurrent == 1
    assert config.monitor.theme == "pmtui-dark"
    assert config.conflicts.max_retries == 3
    assert config.sources == ("ci.toml",)


def test_missing_config_option_file_is_a_problem_naming_it(repo: Path) -> None:
    config, problems = load_config_for(repo / "plans" / "plan.md", Path("nope.toml"))

    assert config is None
    assert [problem.render() for problem in problems] == [
        "nope.toml:1: error: no such file\n"
        "    hint: check the path (it is relative to the current folder)"
    ]


def test_config_option_naming_a_folder_is_a_problem(repo: Path) -> None:
    config, problems = load_config_for(repo / "plans" / "plan.md", repo)

    assert config is None
    assert [(problem.file, problem.message) for problem in problems] == [
        ("repo", "is a folder, not a file")
    ]


def test_non_utf8_config_is_a_problem_at_its_line_and_column(repo: Path) -> None:
    (repo / "plans" / "pmtui.toml").write_bytes(b'[monitor]\ntheme = "caf\xe9"\n')

    config, problems = load_config_for(repo / "plans" / "plan.md", None)

    assert config is None
    assert [problem.render() for problem in problems] == [
        "repo/plans/pmtui.toml:2:13: error: is not UTF-8 text (byte 0xe9)\n"
        "    hint: save the file as UTF-8, or check that it is a text file"
    ]


def test_utf8_bom_is_accepted(repo: Path) -> None:
    (repo / "plans" / "pmtui.toml").write_bytes(b"\xef\xbb\xbf[pool]\nmax_concurrent = 2\n")

    config, problems = load_config_for(repo / "plans" / "plan.md", None)

    assert problems == []
    assert config is not None
    assert config.pool.max_concurrent == 2


def test_bad_value_in_a_found_file_is_reported_with_its_path_and_line(repo: Path) -> None:
    write(repo / "pmtui.toml", '[agents.qa-engineer]\n\ntimeout = "soon"\n')

    config, problems = load_config_for(repo / "plans" / "plan.md", None)

    assert config is None
    assert [problem.render().split("\n")[0] for problem in problems] == [
        "repo/pmtui.toml:3: error: agents.qa-engineer.timeout: 'soon' is not a duration "
        "(use 90s, 5m, 1h30m, 0.5s or 1.5m)"
    ]


def test_file_outside_the_cwd_is_shown_by_its_full_path(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(repo / "pmtui.toml", "[pool]\nmax_concurrent = 0\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    _, problems = load_config_for(repo / "plans" / "plan.md", None)

    assert [problem.file for problem in problems] == [str(repo / "pmtui.toml")]


def test_a_folder_named_pmtui_toml_in_the_chain_is_skipped(repo: Path) -> None:
    (repo / "plans" / "pmtui.toml").mkdir()

    config, problems = load_config_for(repo / "plans" / "plan.md", None)

    assert problems == []
    assert config is not None
    assert config.sources == ()
