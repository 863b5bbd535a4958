"""`render_default_config`: the `pmtui.toml` that `pmtui init` writes."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace

import pytest

from pmtui.config.defaults import COMMENTS, default_settings
from pmtui.config.loader import ConfigSource, load_config
from pmtui.config.writer import render_default_config

_HEADER = re.compile(r"^\[([^\]]+)\]$")
_ASSIGNMENT = re.compile(r"^([A-Za-z0-9_-]+) = ")


@pytest.fixture(scope="module")
def text() -> str:
    return render_default_config()


def _assignments(text: str) -> list[tuple[str, str, int]]:
    """(table, key, line index) of every `key = value` line, in order."""
    found: list[tuple[str, str, int]] = []
    table = ""
    for index, line in enumerate(text.splitlines()):
        header = _HEADER.match(line)
        if header:
            table = header.group(1)
            continue
        assignment = _ASSIGNMENT.match(line)
        if assignment:
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
                expected[f"agents.{name}"] = list(agent)
        else:
            expected[section] = list(values)
    assert written == expected


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
        keys = next(iter(values.values())) if section == "agents" else values
        for key in keys:
            assert f"{section}.{key}" in COMMENTS


def test_rendered_config_starts_with_the_lookup_explanation(text: str) -> None:
    assert text.startswith("# pmtui configuration — every key with its default.\n")
    assert "next to the plan, then the repository root, then $XDG_CONFIG_HOME/pmtui/" in text


def test_rendered_lines_fit_an_editor_window(text: str) -> None:
    assert max(len(line) for line in text.splitlines()) <= 88


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
