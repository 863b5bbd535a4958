"""Render the full default `pmtui.toml` with a comment per key (`pmtui init`).

tomli-w writes every scalar, so the file loads back to exactly the defaults; lists are
joined inline around its output, and the comments added line by line. Pure: returns text.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import tomli_w

from pmtui.config.defaults import COMMENTS, PRICE_KEYS, default_settings

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
    """One value in TOML; lists inline (`["npm", "ci"]`) as docs/design.md §3 writes them."""
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        pairs = ", ".join(f"{_key(key)} = {_value(item)}" for key, item in value.items())
        return "{ " + pairs + " }"
    return tomli_w.dumps({"v": value}).removeprefix("v = ").rstrip("\n")


def _key(key: str) -> str:
    return tomli_w.dumps({key: 0}).removesuffix(" = 0\n")


def _assignment(key: str, value: Any) -> str:
    name = _key(key)
    line = f"{name} = {_value(value)}\n"
    if len(line) > _WIDTH + 1 and isinstance(value, str) and "\\" not in value:
        return f"{name} = {_folded(value)}\n"
    if len(line) <= _WIDTH + 1 or not (isinstance(value, list) and value):
        return line
    # Too long for one line (the compat clusters): one item per line.
    items = "".join(f"    {_value(item)},\n" for item in value)
    return f"{name} = [\n{items}]\n"


def _folded(text: str) -> str:
    """A long string as a TOML multi-line string whose line ends are folded away (a `\\` at
    a line's end drops the break and the next line's indent), so it loads back unchanged."""
    words = textwrap.wrap(text, _WIDTH - 6, break_long_words=False, break_on_hyphens=False)
    quoted = [_value(word)[1:-1] for word in words]  # escaped as in a basic string
    return '"""\\\n' + " \\\n".join(quoted) + '"""'


def _table(
    header: str, values: dict[str, Any], comment_prefix: str, note: str | None = None
) -> str:
    out = [f"{header}\n"]
    tables: list[str] = []
    for key, value in values.items():
        comment = _comment(COMMENTS[f"{comment_prefix}.{key}"])
        if isinstance(value, dict) and value:  # a table of its own, after the other keys
            pairs = "".join(_assignment(name, item) for name, item in value.items())
            tables.append(f"{comment}[{header.strip('[]')}.{_key(key)}]\n{pairs}")
            continue
        out.append(comment)
        if note is not None and key == "default_agent":
            out.append(_comment(note))
        out.append(_assignment(key, value))
    return "".join(out) + "".join(tables)


def _prices(prices: dict[str, dict[str, float]]) -> str:
    """`[prices]`: one model a line (an inline table; a name is always quoted, as most hold
    a dot), under one comment for the keys."""
    keys = "; ".join(f"{key}: {COMMENTS[f'prices.{key}']}" for key in PRICE_KEYS)
    lines = ["[prices]\n", _comment(COMMENTS["prices.MODEL"]), _comment(keys)]
    for model, price in prices.items():
        lines.append(f"{json.dumps(model)} = {_value(price)}\n")
    return "".join(lines)


def render_default_config(default_agent: str = "", missing_hint: str = "") -> str:
    """The text `pmtui init` writes: every key of every table, each with a comment.

    Args:
        default_agent: The agent written as `[pool] default_agent` (the first agent CLI
            found installed); "" leaves it empty.
        missing_hint: Said in a comment above it when `default_agent` is "" (how to install
            an agent CLI).
    """
    settings = default_settings()
    settings["pool"]["default_agent"] = default_agent
    parts = [_HEADER]
    for section, values in settings.items():
        parts.append("\n" + _comment(COMMENTS[section]))
        if section == "agents":
            for name, agent in values.items():
                header = tomli_w.dumps({"agents": {name: {}}}).strip()
                parts.append(_table(header, agent, "agents") + "\n")
            continue
        if section == "prices":
            parts.append(_prices(values))
            continue
        note = missing_hint if section == "pool" and not default_agent and missing_hint else None
        parts.append(_table(f"[{section}]", values, section, note))
    return "".join(parts).rstrip("\n") + "\n"
