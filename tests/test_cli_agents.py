"""`pmtui agents`, and the version check of the agent CLIs a live run uses.

Fake CLIs on PATH print a version as the real ones do (`2.1.197 (Claude Code)`), so these
tests need no CLI installed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli_support import run, write


def fake_cli(folder: Path, name: str, version: str) -> Path:
    """An executable `name` that answers `--version` with `version` and does nothing else."""
    folder.mkdir(exist_ok=True)
    program = folder / name
    program.write_text(f'#!/bin/sh\necho "{version}"\n', encoding="utf-8")
    program.chmod(0o755)
    return program


@pytest.fixture
def bin_dir(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = workdir / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", os.pathsep.join([str(folder), "/usr/bin", "/bin"]))
    for variable in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "CODEX_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(workdir / "home"))
    return folder


def test_agents_lists_programs_versions_parsers_and_keys(
    bin_dir: Path,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    claude = fake_cli(bin_dir, "claude", "2.1.197 (Claude Code)")
    fake_cli(bin_dir, "codex", "codex-cli 0.171.0")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    (workdir / "home" / ".codex").mkdir(parents=True)
    (workdir / "home" / ".codex" / "auth.json").write_text("{}", encoding="utf-8")
    write(workdir / "pmtui.toml", '[pool]\ndefault_agent = "claude"\n')
    code, out, _ = run(["agents"], capsys)
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line and line[0] != " "}
    assert str(claude) in rows["claude"] and "2.1.197" in rows["claude"]
    assert "ANTHROPIC_API_KEY set" in rows["claude"]
    assert "logged in (~/.codex/auth.json)" in rows["codex"]
    assert "gemini: not installed" in rows["gemini"]
    assert "role → claude" in rows["qa-engineer"]
    assert "claude-stream-json" in rows["qa-engineer"]
    assert "default agent: claude" in out
    assert "gemini: not installed; install it with: npm install -g @google/gemini-cli" in out
    code, out, _ = run(["agents", "--json"], capsys)
    found = {agent["name"]: agent for agent in json.loads(out)["agents"]}
    assert found["codex"]["version"] == "0.171.0" and found["codex"]["key"] == "logged-in"
    assert found["gemini"]["path"] is None
    assert found["swebok-engineer"]["runs_as"] == "claude"


def test_a_missing_key_is_a_note_not_an_error(
    bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_cli(bin_dir, "claude", "2.1.197 (Claude Code)")
    code, out, _ = run(["agents"], capsys)
    assert code == 0
    assert "claude: no ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN or CLAUDE_CODE_OAUTH_TOKEN" in out
    assert "fine if claude is logged in some other way" in out
    assert "default agent: none" in out


def test_a_bad_config_is_reported_by_agents_with_its_line(
    bin_dir: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", '[agents.claude]\nparser = "json"\n')
    code, _, err = run(["agents"], capsys)
    assert code == 2
    assert "pmtui.toml:2: error: agents.claude.parser: 'json' is not one of" in err


def test_a_too_old_cli_is_warned_about_before_the_run(
    bin_dir: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Old enough that pmtui's flags may be refused: a warning, and the run still goes on.
    program = fake_cli(bin_dir, "claude", "1.0.3 (Claude Code)")
    write(
        workdir / "pmtui.toml",
        f'[agents.claude]\ncommand = ["{program}", "-p", "{{prompt}}"]\n'
        'parser = "claude-stream-json"\nmodifies_code = false\n',
    )
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Hello (agent: claude)\n")
    code, out, err = run(["run", "plan.md", "--no-ui"], capsys)
    assert "warning: " in err and "1.0.3 is older than 2.1.0" in err
    assert "npm install -g @anthropic-ai/claude-code" in err
    # The fake prints no result: Claude Code's output without one is a failure, not a success.
    assert code == 1
    assert "FAILED  1.1  agent error: no result (attempt 2)" in out  # presets retry once


def test_an_unknown_agent_name_is_a_check_error_with_the_closest_preset(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Hello (agent: claud)\n")
    code, _, err = run(["check", "plan.md"], capsys)
    assert code == 2
    assert "plan.md:2:25: error: task 1.1 uses unknown agent 'claud'" in err
    assert "did you mean 'claude'?" in err


def test_a_programs_version_is_asked_once_until_its_file_changes(tmp_path: Path) -> None:
    from pmtui.engine.programs import VersionCache

    asked = tmp_path / "asked"
    program = tmp_path / "cli"
    program.write_text(f'#!/bin/sh\necho x >> "{asked}"\necho "cli 2.1.197"\n', encoding="utf-8")
    program.chmod(0o755)
    cache_file = tmp_path / ".pmtui" / "versions.json"
    first = VersionCache(cache_file)
    assert first.version_of(str(program)) == "2.1.197"
    first.save()
    cache = VersionCache(cache_file)
    assert cache.version_of(str(program)) == "2.1.197"
    cache.save()
    assert asked.read_text().count("x") == 1  # the second run did not start it
    program.write_text(program.read_text().replace("2.1.197", "2.2.0"), encoding="utf-8")
    assert VersionCache(cache_file).version_of(str(program)) == "2.2.0"
    cache_file.write_text("{not json", encoding="utf-8")  # damaged: asked again, no crash
    assert VersionCache(cache_file).version_of(str(program)) == "2.2.0"
    assert asked.read_text().count("x") == 3
