"""Render the full default `pmtui.toml` with a comment per key (`pmtui init`).

tomli-w writes every value, so the file loads back to exactly the defaults; the comments
are added line by line around its output. Pure: returns text.
"""

from __future__ import annotations

from typing import Any

import tomli_w

from pmtui.config.defaults import COMMENTS, default_settings

_HEADER = """\
# pmtui configuration — every key with its default.
# Lookup: next to the plan, then the repository root, then ~/.config/pmtui/pmtui.toml;
# each file found is merged over the defaults (the nearest wins), so delete what you
# do not change. Units: durations 90s 5m 1h30m, sizes 256MB 1GiB, percentages 20.
"""


def _comment(text: str) -> str:
    return f"# {text}\n"


def _table(header: str, values: dict[str, Any], comment_prefix: str) -> str:
    out = [f"{header}\n"]
    for key, value in values.items():
        out.append(_comment(COMMENTS[f"{comment_prefix}.{key}"]))
        out.append(tomli_w.dumps({key: value}))
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
