"""Render the full default `pmtui.toml` with a comment per key (`pmtui init`).

tomli-w writes every scalar, so the file loads back to exactly the defaults; lists are
joined inline around its output, and the comments added line by line. Pure: returns text.
"""

from __future__ import annotations

import textwrap
from typing import Any

import tomli_w

from pmtui.config.defaults import COMMENTS, default_settings

_HEADER = """\
# pmtui configuration — every key with its default.
# Lookup: next to the plan, then the repository root, then $XDG_CONFIG_HOME/pmtui/
# (~/.config/pmtui/); each file found is merged over the defaults (the nearest wins),
# so delete what you do not change.
# Units: durations 90s 5m 1h30m, sizes 256MB 1GiB, percentages 20.
"""


_WIDTH = 88
"""Longest line written, so the file reads well in an 80-100 column editor."""


def _comment(text: str) -> str:
    return "".join(f"# {line}\n" for line in textwrap.wrap(text, _WIDTH - 2))


def _value(value: Any) -> str:
    """One value in TOML; lists inline (`["npm", "ci"]`) as DESIGN.md §3 writes them."""
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return tomli_w.dumps({"v": value}).removeprefix("v = ").rstrip("\n")


def _assignment(key: str, value: Any) -> str:
    name = tomli_w.dumps({key: 0}).removesuffix(" = 0\n")
    line = f"{name} = {_value(value)}\n"
    if len(line) <= _WIDTH + 1 or not (isinstance(value, list) and value):
        return line
    # Too long for one line (the compat clusters): one item per line.
    items = "".join(f"    {_value(item)},\n" for item in value)
    return f"{name} = [\n{items}]\n"


def _table(header: str, values: dict[str, Any], comment_prefix: str) -> str:
    out = [f"{header}\n"]
    for key, value in values.items():
        out.append(_comment(COMMENTS[f"{comment_prefix}.{key}"]))
        out.append(_assignment(key, value))
    return "".join(out)


def render_default_config() -> str:
    """The text `pmtui init` writes: every key of every table, each with a comment."""
    settings = default_settings()
    parts = [_HEADER]
    for section, values in settings.items():
        parts.append("\n" + _comment(COMMENTS[section]))
        if section == "agents":
            for name, agent in values.items():
                header = tomli_w.dumps({"agents": {name: {}}}).strip()
                parts.append(_table(header, agent, "agents") + "\n")
            continue
        parts.append(_table(f"[{section}]", values, section))
    return "".join(parts).rstrip("\n") + "\n"
