"""What is installed of each agent's program: where it is, its version, its API key.

`pmtui agents` shows it all; a live run probes the versions of the agents it will use and
warns about a CLI older than the flags pmtui passes (they drift between versions: Codex
removed `--full-auto`). Probing runs `PROGRAM --version`, so it lives in the engine.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pmtui.config.defaults import PRESETS
from pmtui.config.model import AgentConfig, ParserKind
from pmtui.project import program_path

VERSION_TIMEOUT_S = 15.0
"""A CLI's `--version` (node start-up included) answers well within this."""

BUILTIN_AGENTS = frozenset({"shell", "demo"})
"""pmtui's own agents: their programs (sh, pmtui's Python) need no version check."""

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")

LOGIN_FILES: dict[ParserKind, tuple[str, ...]] = {
    ParserKind.CLAUDE: (".claude/.credentials.json",),
    ParserKind.CODEX: (".codex/auth.json",),
    ParserKind.GEMINI: (".gemini/oauth_creds.json",),
    ParserKind.OPENCODE: (".local/share/opencode/auth.json",),
}
"""Where each CLI keeps the login it made by its own means (then it needs no key variable)."""


class AgentKind(StrEnum):
    """Where an agent comes from."""

    PRESET = "preset"
    """A real agent CLI pmtui knows (claude, codex, gemini, aider, opencode)."""
    ROLE = "role"
    """A role: a text before the prompt, run by its base agent."""
    BUILTIN = "built-in"
    """shell and demo."""
    CUSTOM = "custom"
    """Defined in pmtui.toml."""


class KeyState(StrEnum):
    """Whether the agent has what it needs to reach its model."""

    SET = "set"
    LOGGED_IN = "logged-in"
    MISSING = "missing"
    """No key variable and no login file: fine only if the CLI logs in some other way."""
    NOT_NEEDED = "not-needed"


@dataclass(frozen=True, slots=True)
class ProgramInfo:
    """One agent as installed here."""

    name: str
    kind: AgentKind
    runs_as: str
    """The agent whose program it runs (itself, or a role's base)."""
    program: str
    path: str | None
    """None: not installed (not on PATH)."""
    version: str | None
    """None: not installed, or `--version` said nothing usable."""
    too_old: bool
    """Older than `min_version`: pmtui's flags may not work."""
    parser: ParserKind
    key: KeyState
    key_detail: str
    """The variable that is set, the login file found, or those looked for."""
    install: str


def version_of(path: str, timeout_s: float = VERSION_TIMEOUT_S) -> str | None:
    """The version a program reports with `--version` (`2.1.197`), or None."""
    try:
        done = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "NO_COLOR": "1"},
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found = _VERSION.search(done.stdout + "\n" + done.stderr)
    return found.group(0) if found else None


class VersionCache:
    """Versions already asked, kept in a JSON file: a program's version cannot change while
    its file does not (same real path, size and modification time), and asking costs a
    node start-up per agent CLI — at the start of every run.

    A missing, unreadable or damaged file is an empty cache; one that cannot be written is
    no error (the next run asks again).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            loaded = {}
        self._entries: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
        self._changed = False

    @staticmethod
    def _stamp(program: str) -> tuple[str, list[int]] | None:
        try:
            real = os.path.realpath(program)
            stat = os.stat(real)
        except OSError:
            return None
        return real, [stat.st_size, stat.st_mtime_ns]

    def version_of(self, program: str) -> str | None:
        """The program's version: remembered, else asked (`version_of`) and remembered."""
        stamp = self._stamp(program)
        if stamp is None:
            return version_of(program)
        real, mark = stamp
        entry = self._entries.get(real)
        if isinstance(entry, dict) and entry.get("stamp") == mark:
            remembered = entry.get("version")
            return remembered if isinstance(remembered, str) else None
        version = version_of(program)
        if version is not None:
            self._entries[real] = {"stamp": mark, "version": version}
            self._changed = True
        return version

    def save(self) -> None:
        """Write what was learnt (atomically; quietly not, when it cannot be written)."""
        if not self._changed:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".tmp")
            partial.write_text(json.dumps(self._entries, indent=1), encoding="utf-8")
            os.replace(partial, self.path)


def older_than(version: str, minimum: str) -> bool:
    """Whether `version` is below `minimum` (numeric parts compared; unreadable: False)."""
    have, want = _parts(version), _parts(minimum)
    if have is None or want is None:
        return False
    return have < want


def _parts(text: str) -> tuple[int, int, int] | None:
    found = _VERSION.search(text)
    if found is None:
        return None
    return (int(found.group(1)), int(found.group(2)), int(found.group(3) or 0))


def key_state(
    agent: AgentConfig, environ: Mapping[str, str], home: Path
) -> tuple[KeyState, str]:
    """Whether a key variable is set, or the CLI's own login file is there."""
    if not agent.api_key_env:
        return KeyState.NOT_NEEDED, ""
    if agent.env:
        environ = {**environ, **agent.env}
    for variable in agent.api_key_env:
        if environ.get(variable):
            return KeyState.SET, variable
    for relative in LOGIN_FILES.get(agent.parser, ()):
        if (home / relative).is_file():
            return KeyState.LOGGED_IN, f"~/{relative}"
    return KeyState.MISSING, " or ".join(agent.api_key_env)


def agent_kind(agent: AgentConfig) -> AgentKind:
    """Where an agent comes from: a preset, a role, shell/demo, or the user's own."""
    if agent.base or not agent.bound:
        return AgentKind.ROLE
    if agent.name in BUILTIN_AGENTS:
        return AgentKind.BUILTIN
    if agent.name in PRESETS and agent.parser.value == PRESETS[agent.name]["parser"]:
        return AgentKind.PRESET
    return AgentKind.CUSTOM


def probe(
    agents: Mapping[str, AgentConfig],
    names: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    cache: VersionCache | None = None,
) -> list[ProgramInfo]:
    """What is installed of each agent (all, or `names`), probing each program once (or
    not at all, for a version `cache` remembers)."""
    environ = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    chosen = [agents[name] for name in (names if names is not None else agents)]
    paths = {agent.name: program_path(agent) if agent.bound else None for agent in chosen}
    kinds = {agent.name: agent_kind(agent) for agent in chosen}
    # Only an agent CLI is asked its version: any other program (a user's `./deploy.sh`)
    # would simply run, `--version` or not.
    programs = sorted(
        {
            path
            for name, path in paths.items()
            if path is not None
            and agents[name].parser is not ParserKind.PROGRESS
            and agents[agents[name].base or name].name not in BUILTIN_AGENTS
        }
    )
    ask = version_of if cache is None else cache.version_of
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(programs)))) as pool:
        versions = dict(zip(programs, pool.map(ask, programs), strict=True))
    if cache is not None:
        cache.save()
    found: list[ProgramInfo] = []
    for agent in chosen:
        path = paths[agent.name]
        version = versions.get(path) if path is not None else None
        key, detail = key_state(agent, environ, home)
        found.append(
            ProgramInfo(
                name=agent.name,
                kind=kinds[agent.name],
                runs_as=agent.base or agent.name,
                program=agent.program,
                path=path,
                version=version,
                too_old=bool(version and agent.min_version)
                and older_than(version or "", agent.min_version),
                parser=agent.parser,
                key=key,
                key_detail=detail,
                install=agent.install,
            )
        )
    return found
