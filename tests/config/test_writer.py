"""`render_default_config`: the `pmtui.toml` that `pmtui init` writes."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace

import pytest

from pmtui.config.defaults import COMMENTS, PRICE_KEYS, default_settings
from pmtui.config.loader import ConfigSource, load_config
from pmtui.config.writer import render_default_config

_HEADER = re.compile(r"^\[([^\]]+)\]$")
_ASSIGNMENT = re.compile(r"^([A-Za-z0-9_-]+) = ")


@pytest.fixture(scope="module")
def text() -> str:
    return render_default_config()


def _assignments(text: str) -> list[tuple[str, str, int]]:
    """(table, key, line index) of every config key written, in order: a `key = value` line,
    or the header of a key's own sub-table (`[agents.claude.env]` is the key `env` of
    `agents.claude`; the variables in it are not config keys). `[prices]` holds model
    names, not keys: it is checked on its own."""
    found: list[tuple[str, str, int]] = []
    table = ""
    for index, line in enumerate(text.splitlines()):
        header = _HEADER.match(line)
        if header:
            table = header.group(1)
            if table.endswith(".env"):
                found.append((table.removesuffix(".env"), "env", index))
            continue
        assignment = _ASSIGNMENT.match(line)
        if assignment and not table.endswith(".env") and table != "prices":
            found.append((table, assignment.group(1), index))
    return found


def test_rendered_config_loads_back_to_exactly_the_defaults(text: str) -> None:
    assert tomllib.loads(text) == default_settings()


def test_rendered_config_loads_to_the_same_config_as_no_file(text: str) -> None:
    from_file, problems = load_config([ConfigSource("pmtui.toml", text)])
    from_nothing, _ = load_config([])
    assert problems == []
    assert from_file is not None
    assert from_file.sources == ("pmtui.toml",)
    assert replace(from_file, sources=()) == from_nothing


def test_every_key_of_every_table_is_written(text: str) -> None:
    written: dict[str, list[str]] = {}
    for table, key, _ in _assignments(text):
        written.setdefault(table, []).append(key)
    expected: dict[str, list[str]] = {}
    for section, values in default_settings().items():
        if section == "agents":
            for name, agent in values.items():
                # A non-empty env is a sub-table, written after the agent's other keys.
                keys = [key for key in agent if key != "env" or not agent["env"]]
                expected[f"agents.{name}"] = keys + (["env"] if agent.get("env") else [])
        elif section != "prices":
            expected[section] = list(values)
    assert written == expected
    assert tomllib.loads(text)["prices"] == default_settings()["prices"]


def test_every_key_has_its_comment_right_above_it(text: str) -> None:
    lines = text.splitlines()
    for table, key, index in _assignments(text):
        section = "agents" if table.startswith("agents.") else table
        comment = COMMENTS[f"{section}.{key}"]
        above: list[str] = []
        cursor = index - 1
        while lines[cursor].startswith("# "):
            above.insert(0, lines[cursor][2:])
            cursor -= 1
        assert above, f"{table}.{key} has no comment above it"
        assert " ".join(above) == comment


def test_every_section_opens_with_its_comment(text: str) -> None:
    lines = text.splitlines()
    for section in default_settings():
        first = next(
            index
            for index, line in enumerate(lines)
            if line == f"[{section}]" or line.startswith(f"[{section}.")
        )
        assert lines[first - 1] == f"# {COMMENTS[section]}"
        assert lines[first - 2] == ""


def test_every_key_and_section_of_the_defaults_has_a_comment() -> None:
    for section, values in default_settings().items():
        assert section in COMMENTS
        if section == "agents":  # agents, presets and roles: every key any of them has
            keys = {key for agent in values.values() for key in agent}
        elif section == "prices":  # model names: one comment says what each price is
            keys = {"MODEL", *PRICE_KEYS}
        else:
            keys = set(values)
        for key in keys:
            assert f"{section}.{key}" in COMMENTS


def test_rendered_config_starts_with_the_lookup_explanation(text: str) -> None:
    assert text.startswith("# pmtui configuration — every key with its default.\n")
    assert "next to the plan, then the repository root, then $XDG_CONFIG_HOME/pmtui/" in text


def test_rendered_lines_fit_an_editor_window(text: str) -> None:
    too_long = [line for line in text.splitlines() if len(line) > 88]
    assert too_long == []


def test_lists_are_written_inline_like_design_section_3(text: str) -> None:
    assert 'command = ["sh", "-c", "{script}"]\n' in text
    assert 'command = ["python", "-m", "pmtui.agents.demo"]\n' in text
    assert 'never_together = [["meta-agent", "agent-factory"]]\n' in text
    assert 'singleton = ["state-persistence-agent"]\n' in text
    assert "setup = []\n" in text


def test_a_list_too_long_for_one_line_has_one_item_per_line(text: str) -> None:
    assert (
        "clusters = [\n"
        '    ["error-handler", "qa-engineer", "performance-agent"],\n'
        '    ["swebok-engineer", "architect-agent"],\n'
        '    ["security-agent", "compliance-agent"],\n'
        '    ["test-fixer-agent", "obsidian-test-agent", "ui-test-expert"],\n'
        "]\n"
    ) in text


def test_rendered_config_ends_with_exactly_one_newline(text: str) -> None:
    assert text.endswith('quit = "q"\n')
    assert not text.endswith("\n\n")


def test_rendering_is_deterministic() -> None:
    assert render_default_config() == render_default_config()


def test_the_default_agent_found_by_init_is_written_and_binds_the_roles() -> None:
    text = render_default_config("claude")
    assert '\ndefault_agent = "claude"\n' in text
    config, problems = load_config([ConfigSource("pmtui.toml", text)])
    assert problems == []
    assert config is not None
    assert config.pool.default_agent == "claude"
    assert config.agents["qa-engineer"].base == "claude"


def test_no_agent_found_writes_an_empty_default_agent_with_the_hint_above_it() -> None:
    text = render_default_config("", missing_hint="install one: npm install -g x")
    lines = text.splitlines()
    index = lines.index('default_agent = ""')
    assert lines[index - 1] == "# install one: npm install -g x"
    assert tomllib.loads(text)["pool"]["default_agent"] == ""


def test_presets_are_written_with_their_inline_env_tables(text: str) -> None:
    assert tomllib.loads(text)["agents"]["gemini"]["env"] == {"GEMINI_CLI_TRUST_WORKSPACE": "true"}
    assert "env = {}\n" in text
