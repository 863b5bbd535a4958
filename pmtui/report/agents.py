"""`pmtui agents`: every agent, what it runs, and whether that is installed and can log in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pmtui.engine.programs import AgentKind, KeyState, ProgramInfo

_KEY_TEXT = {
    KeyState.SET: "{detail} set",
    KeyState.LOGGED_IN: "logged in ({detail})",
    KeyState.MISSING: "no key",
    KeyState.NOT_NEEDED: "-",
}


def render_agents(found: Sequence[ProgramInfo], default_agent: str) -> str:
    """A table of the agents (programs first, then roles) and what to do about gaps."""
    ordered = sorted(found, key=lambda info: (info.kind is AgentKind.ROLE, _rank(info)))
    rows = [("AGENT", "KIND", "PROGRAM", "VERSION", "PARSER", "API KEY")]
    for info in ordered:
        kind = info.kind.value
        if info.kind is AgentKind.ROLE:
            kind = f"role → {info.runs_as}" if info.runs_as != info.name else "role (unbound)"
        program = info.path or (f"{info.program}: not installed" if info.program else "-")
        version = info.version or "-"
        if info.too_old:
            version += " (too old)"
        key = _KEY_TEXT[info.key].format(detail=info.key_detail)
        parser = info.parser.value if info.path or info.program else "-"
        rows.append((info.name, kind, program, version, parser, key))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.append("")
    lines.append(
        f"default agent: {default_agent}" if default_agent
        else 'default agent: none (set default_agent = "claude" under [pool] in pmtui.toml; '
        "roles and tasks without (agent: ...) need one)"
    )
    lines.extend(_advice(ordered))
    return "\n".join(lines) + "\n"


def _rank(info: ProgramInfo) -> int:
    return [AgentKind.PRESET, AgentKind.BUILTIN, AgentKind.CUSTOM, AgentKind.ROLE].index(info.kind)


def _advice(found: Sequence[ProgramInfo]) -> list[str]:
    advice: list[str] = []
    programs = [info for info in found if info.kind is not AgentKind.ROLE]
    for info in programs:
        if info.path is None and info.program:
            how = info.install or f"put {info.program} on PATH"
            advice.append(f"{info.name}: not installed; install it with: {how}")
        elif info.too_old:
            advice.append(
                f"{info.name}: version {info.version} is older than pmtui knows; its flags may "
                f"differ: update it{' (' + info.install + ')' if info.install else ''}"
            )
        elif info.key is KeyState.MISSING:
            advice.append(
                f"{info.name}: no {info.key_detail} set and no login found; fine if "
                f"{info.program} is logged in some other way"
            )
    return advice


def agents_json(found: Sequence[ProgramInfo], default_agent: str) -> dict[str, Any]:
    """`pmtui agents --json`: the same facts as one object."""
    return {
        "default_agent": default_agent,
        "agents": [
            {
                "name": info.name,
                "kind": info.kind.value,
                "runs_as": info.runs_as,
                "program": info.program,
                "path": info.path,
                "version": info.version,
                "too_old": info.too_old,
                "parser": info.parser.value,
                "key": info.key.value,
                "key_detail": info.key_detail,
                "install": info.install,
            }
            for info in found
        ],
    }
