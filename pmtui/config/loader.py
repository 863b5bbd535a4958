"""Build a `Config` from the built-in defaults and the `pmtui.toml` texts found.

Every file is deep-merged over the defaults, nearest last (so nearest wins);
`[agents.NAME]` overrides only the keys it sets. Problems name the file, the line and the
key path (`agents.qa-engineer.timeout`).

Pure: the texts are handed in; finding and reading files is the caller's job.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any

from pmtui.config.defaults import (
    AGENT_KEYS,
    PRICE_KEYS,
    ROLE_KEYS,
    ROLE_OVERRIDES,
    default_settings,
)
from pmtui.config.model import (
    AgentConfig,
    BudgetConfig,
    CompatConfig,
    Config,
    ConflictsConfig,
    IsolationConfig,
    MergeConfig,
    MonitorConfig,
    ParserKind,
    PoolConfig,
    Price,
    Strategy,
)
from pmtui.config.units import (
    DURATION_EXAMPLES,
    SIZE_EXAMPLES,
    UnitError,
    parse_duration,
    parse_percent,
    parse_size,
)
from pmtui.plan.errors import Problem, did_you_mean

CONFIG_NAME = "pmtui.toml"
CACHE_READ_SHARE = 0.1
"""Cached input's price as a share of the input price, when a model's price omits it."""
_AGENT_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
KeyPath = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConfigSource:
    """One configuration file's name and text."""

    path: str
    text: str


class _Invalid(Exception):
    """A value failed its check; message and hint go into a Problem."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def config_search_paths(
    plan_dir: PurePath, repo_root: PurePath | None, xdg_config_home: PurePath
) -> list[PurePath]:
    """Where `pmtui.toml` is looked up, farthest first (so the nearest is merged last).

    Args:
        plan_dir: The folder holding the plan.
        repo_root: The root of the git repository holding the plan, if any.
        xdg_config_home: `$XDG_CONFIG_HOME`, or `~/.config`.
    """
    nearest_first = [plan_dir / CONFIG_NAME]
    if repo_root is not None:
        nearest_first.append(repo_root / CONFIG_NAME)
    nearest_first.append(xdg_config_home / "pmtui" / CONFIG_NAME)
    unique = list(dict.fromkeys(nearest_first))
    unique.reverse()
    return unique


def load_config(sources: Sequence[ConfigSource]) -> tuple[Config | None, list[Problem]]:
    """Merge the sources (farthest first) over the defaults and validate the result.

    Returns:
        The config, or None with every problem found.
    """
    builder = _Builder(sources)
    return builder.build()


class _Builder:
    def __init__(self, sources: Sequence[ConfigSource]) -> None:
        self.sources = list(sources)
        self.settings: dict[str, Any] = default_settings()
        self.builtin_agents = frozenset(self.settings["agents"])
        self.origin: dict[KeyPath, int] = {}
        """The source that set each value last (the nearest)."""
        self.tables: dict[KeyPath, int] = {}
        """The nearest source that opened each table, even an empty one."""
        self.problems: list[Problem] = []

    def build(self) -> tuple[Config | None, list[Problem]]:
        for index, source in enumerate(self.sources):
            data = self._parse(source)
            if data is not None and self._check_shape(data, index):
                self._merge(self.settings, data, (), index)
        if self.problems:
            return None, self.problems
        config = self._convert()
        if self.problems or config is None:
            return None, self.problems
        return config, []

    def _parse(self, source: ConfigSource) -> dict[str, Any] | None:
        try:
            return tomllib.loads(source.text)
        except tomllib.TOMLDecodeError as error:
            text = str(error)
            where = re.search(r"\(at line (\d+), column (\d+)\)", text)
            line = int(where.group(1)) if where else 1
            message = re.sub(r"\s*\(at line \d+, column \d+\)|\s*\(at end of document\)", "", text)
            if "end of document" in text:
                line = max(1, len(source.text.splitlines()))
            self.problems.append(
                Problem(
                    source.path,
                    line,
                    0,
                    f"not valid TOML: {message}",
                    "check the quotes, brackets and `key = value` form on this line "
                    '(strings need quotes: timeout = "30m")',
                )
            )
            return None

    def _report(self, index: int, path: KeyPath, message: str, hint: str) -> None:
        source = self.sources[index]
        line = key_line(source.text, path)
        self.problems.append(Problem(source.path, line, 0, f"{dotted(path)}: {message}", hint))

    def _check_shape(self, data: dict[str, Any], index: int) -> bool:
        """Unknown sections and keys, and sections that are not tables."""
        defaults = default_settings()
        before = len(self.problems)
        for section, content in data.items():
            if section not in defaults:
                self._report(
                    index,
                    (section,),
                    "unknown section",
                    did_you_mean(section, defaults, "sections: " + ", ".join(defaults)),
                )
                continue
            if not isinstance(content, dict):
                self._report(index, (section,), "must be a table", f"write it as [{section}]")
                continue
            if section == "agents":
                for name, agent in content.items():
                    self._check_agent_shape(index, name, agent)
                continue
            if section == "prices":
                for model, price in content.items():
                    self._check_price_shape(index, model, price)
                continue
            for key in content:
                if key not in defaults[section]:
                    self._report(
                        index,
                        (section, key),
                        "unknown key",
                        did_you_mean(
                            key,
                            defaults[section],
                            f"[{section}] has " + ", ".join(defaults[section]),
                        ),
                    )
        return len(self.problems) == before

    def _check_agent_shape(self, index: int, name: str, agent: Any) -> None:
        if not _AGENT_NAME.match(name):
            self._report(
                index,
                ("agents", name),
                "not a usable agent name",
                "a plan names agents as (agent: NAME) with letters, digits, '.', '-' and '_' "
                "only, e.g. [agents.code-reviewer]",
            )
            return
        if not isinstance(agent, dict):
            self._report(index, ("agents", name), "must be a table", f"write it as [agents.{name}]")
            return
        known = {**AGENT_KEYS, **ROLE_KEYS}
        for key in agent:
            if key not in known:
                self._report(
                    index,
                    ("agents", name, key),
                    "unknown key",
                    did_you_mean(key, known, "an agent has " + ", ".join(known)),
                )

    def _check_price_shape(self, index: int, model: str, price: Any) -> None:
        path = ("prices", model)
        if not model.strip():
            self._report(index, path, "not a model name", 'name the model: [prices."gpt-5"]')
            return
        if not isinstance(price, dict):
            self._report(index, path, "must be a table", f'write it as [prices."{model}"]')
            return
        for key in price:
            if key not in PRICE_KEYS:
                self._report(
                    index,
                    (*path, key),
                    "unknown key",
                    did_you_mean(key, PRICE_KEYS, "a price has " + ", ".join(PRICE_KEYS)),
                )

    def _merge(
        self, into: dict[str, Any], data: Mapping[str, Any], path: KeyPath, index: int
    ) -> None:
        for key, value in data.items():
            here = (*path, key)
            if isinstance(value, dict):
                self.tables[here] = index
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                self._merge(into[key], value, here, index)
            elif isinstance(value, dict) and path in (("agents",), ("prices",)):
                into[key] = {}
                self._merge(into[key], value, here, index)
            else:
                into[key] = value
                self.origin[here] = index

    def _locate(self, path: KeyPath) -> int | None:
        """The nearest source that set `path`, a value inside it, or the table holding it."""
        for length in range(len(path), 0, -1):
            if path[:length] in self.origin:
                return self.origin[path[:length]]
        inside = [index for known, index in self.origin.items() if known[: len(path)] == path]
        if inside:
            return max(inside)
        for length in range(len(path), 0, -1):
            if path[:length] in self.tables:
                return self.tables[path[:length]]
        return None

    def _blame(self, *paths: KeyPath) -> KeyPath:
        """Of values that clash, the one written last: nearest source, then latest line.

        A built-in default never is the one to change when a user's value clashes with it.
        """

        def written(path: KeyPath) -> tuple[int, int]:
            index = self.origin.get(path)
            if index is None:
                return (-1, 0)
            return (index, key_line(self.sources[index].text, path))

        return max(paths, key=written)

    def _value(self, path: KeyPath, check: Callable[[Any], Any]) -> Any:
        node: Any = self.settings
        for key in path:
            node = node[key]
        try:
            return check(node)
        except _Invalid as invalid:
            index = self._locate(path)
            if index is None:
                raise AssertionError(f"built-in default {path} is invalid") from invalid
            self._report(index, path, invalid.message, invalid.hint)
            return None

    def _convert(self) -> Config | None:
        pool = self._pool()
        agents = self._agents()
        compat = self._compat(agents)
        config = Config(
            pool=pool,
            monitor=MonitorConfig(
                refresh_interval_s=self._value(("monitor", "refresh_interval"), _positive_duration),
                detail_level=self._value(
                    ("monitor", "detail_level"), _choice("full", "high", "medium", "low")
                ),
                show_performance=self._value(("monitor", "show_performance"), _bool),
                theme=self._value(("monitor", "theme"), _name),
            ),
            conflicts=ConflictsConfig(
                auto_resolve=self._value(("conflicts", "auto_resolve"), _bool),
                max_retries=self._value(("conflicts", "max_retries"), _int_at_least(0)),
                retry_delay_s=self._value(("conflicts", "retry_delay"), _duration),
                rate_limit_backoff_s=self._value(
                    ("conflicts", "rate_limit_backoff"), _positive_duration
                ),
                fallback_mode=self._value(
                    ("conflicts", "fallback_mode"), _choice("sequential", "abort")
                ),
                isolation=self._value(
                    ("conflicts", "isolation"), _choice("auto", "worktree", "none")
                ),
            ),
            isolation=IsolationConfig(
                base=self._value(("isolation", "base"), _string),
                setup=self._value(("isolation", "setup"), _argv(allow_empty=True)),
                copy_files=self._value(("isolation", "copy_files"), _string_list),
            ),
            merge=MergeConfig(check=self._value(("merge", "check"), _argv(allow_empty=True))),
            agents=agents,
            compat=compat,
            keys=self._keys(),
            sources=tuple(source.path for source in self.sources),
            budget=BudgetConfig(
                max_cost_usd=self._value(("budget", "max_cost_usd"), _dollars),
                max_tokens=self._value(("budget", "max_tokens"), _int_at_least(0)),
            ),
            prices=self._prices(),
        )
        default = agents.get(pool.default_agent)
        if default is not None and (default.base or not default.bound):
            self._report_at(
                ("pool", "default_agent"),
                f"'{pool.default_agent}' is a role, not an agent that runs a program",
                "name one that does: claude, codex, gemini, aider, opencode or shell",
            )
        if pool.default_agent and pool.default_agent not in agents:
            self._report_at(
                ("pool", "default_agent"),
                f"unknown agent '{pool.default_agent}'",
                did_you_mean(pool.default_agent, agents, "define it under [agents.NAME]"),
            )
        return None if self.problems else config

    def _report_at(self, path: KeyPath, message: str, hint: str) -> None:
        index = self._locate(path)
        self._report(0 if index is None else index, path, message, hint)

    def _pool(self) -> PoolConfig:
        max_concurrent = self._value(("pool", "max_concurrent"), _int_at_least(1))
        boost = self._value(("pool", "emergency_boost"), _int_at_least(1))
        if max_concurrent is not None and boost is not None and boost < max_concurrent:
            boost_path, slots_path = ("pool", "emergency_boost"), ("pool", "max_concurrent")
            if self._blame(boost_path, slots_path) == boost_path:
                self._report_at(
                    boost_path,
                    f"{boost} is fewer than max_concurrent ({max_concurrent})",
                    "the boost adds slots: set emergency_boost to max_concurrent or more",
                )
            else:
                self._report_at(
                    slots_path,
                    f"{max_concurrent} is more than emergency_boost ({boost})",
                    f"the boost adds slots: also set emergency_boost = {max_concurrent} or more",
                )
        return PoolConfig(
            max_concurrent=max_concurrent,
            emergency_boost=boost,
            memory_per_agent=self._value(("pool", "memory_per_agent"), _size),
            cpu_per_agent=self._value(("pool", "cpu_per_agent"), _percent),
            default_timeout_s=self._value(("pool", "default_timeout"), _positive_duration),
            strategy=self._value(("pool", "strategy"), _strategy),
            default_agent=self._value(("pool", "default_agent"), _string),
            workdir=self._value(("pool", "workdir"), _string),
            pause_mode=self._value(("pool", "pause_mode"), _choice("soft", "hard")),
        )

    def _agents(self) -> dict[str, AgentConfig]:
        """Every agent: programs first, then roles, each resolved onto its base agent."""
        agents: dict[str, AgentConfig] = {}
        roles: list[str] = []
        for name, table in self.settings["agents"].items():
            path = ("agents", name)
            if "command" in table:
                if table.get("base"):
                    self._report_at(
                        (*path, "base"),
                        "an agent has either a command or a base, not both",
                        f"drop base to run the command, or drop command to run {name} as "
                        f"the agent '{table['base']}'",
                    )
                    continue
            elif "base" in table:
                roles.append(name)
                continue
            else:
                self._report_at(
                    path,
                    "has no command",
                    f'give the program to run as an argv list: command = ["my-agent", '
                    f'"{{prompt}}"] under [agents.{name}], or run it as another agent: '
                    f'base = "claude"',
                )
                continue
            for key, value in AGENT_KEYS.items():
                table.setdefault(key, value)
            if table.get("estimate") == "":  # a seed role given a command of its own
                table["estimate"] = AGENT_KEYS["estimate"]
            table.setdefault("role", "")
            program = self._program(name, table)
            if program is not None:
                agents[name] = program
        for name in roles:
            role = self._role(name, agents)
            if role is not None:
                agents[name] = role
        return agents

    def _program(self, name: str, table: Mapping[str, Any]) -> AgentConfig | None:
        """An agent that runs a program of its own (`command`)."""
        path = ("agents", name)
        parser = self._value((*path, "parser"), _parser_kind)
        max_turns = self._value((*path, "max_turns"), _int_at_least(0))
        model = self._value((*path, "model"), _string)
        if max_turns and parser is not None and parser is not ParserKind.CLAUDE:
            self._report_at(
                (*path, "max_turns"),
                f"only Claude Code has a turn limit, and {name} is read as {parser}",
                "drop max_turns, or pass the CLI's own flag in args",
            )
        if model and parser is ParserKind.PROGRESS:
            self._report_at(
                (*path, "model"),
                "pmtui passes a model with the CLI's own flag, and this agent has no known CLI",
                'put the flag in args (args = ["--model", "NAME"]), or set parser to the '
                "CLI's format",
            )
        retries = self._value((*path, "retries"), _int_at_least(-1))
        return AgentConfig(
            name=name,
            command=self._value((*path, "command"), _argv(allow_empty=False)),
            modifies_code=self._value((*path, "modifies_code"), _bool),
            timeout_s=self._value((*path, "timeout"), _optional_duration),
            estimate_s=self._value((*path, "estimate"), _duration),
            stdin=self._value((*path, "stdin"), _choice("none", "prompt")),
            rate_limit_pattern=self._value((*path, "rate_limit_pattern"), _regex),
            parser=parser or ParserKind.PROGRESS,
            provider=self._value((*path, "provider"), _string) or name,
            model=model or "",
            max_turns=max_turns or None,
            args=self._value((*path, "args"), _argv(allow_empty=True)) or (),
            env=self._value((*path, "env"), _environment) or {},
            resume=self._value((*path, "resume"), _argv(allow_empty=True)) or (),
            retries=None if retries is None or retries < 0 else retries,
            resume_on_failure=bool(self._value((*path, "resume_on_failure"), _bool)),
            role=self._value((*path, "role"), _string) or "",
            api_key_env=self._value((*path, "api_key_env"), _string_list) or (),
            install=self._value((*path, "install"), _string) or "",
            min_version=self._value((*path, "min_version"), _string) or "",
        )

    def _role(self, name: str, programs: Mapping[str, AgentConfig]) -> AgentConfig | None:
        """A role: its base agent's program with the role's text and its own limits.

        A role whose base is unset runs as `[pool] default_agent`; with neither it is
        unbound (no command), which `pmtui check` reports for the tasks that use it.
        """
        path = ("agents", name)
        table = self.settings["agents"][name]
        for key, value in ROLE_KEYS.items():
            table.setdefault(key, value)
        base_name = self._value((*path, "base"), _string) or ""
        default = self.settings["pool"].get("default_agent")
        resolved = base_name or (default if isinstance(default, str) else "")
        modifies_code = self._value((*path, "modifies_code"), _bool)
        timeout = self._value((*path, "timeout"), _optional_duration)
        estimate = self._value((*path, "estimate"), _optional_duration)
        text = self._value((*path, "role"), _string) or ""
        self._refuse_program_keys(name, table)
        overridden = self._role_overrides(name, table)
        base = programs.get(resolved) if resolved else None
        if base is None and base_name:
            if resolved in self.settings["agents"]:
                why = f"'{resolved}': that is a role itself"
                hint = "name an agent that runs a program: claude, codex, gemini, aider, opencode"
            else:
                why = f"unknown agent '{resolved}'"
                hint = did_you_mean(resolved, programs, "define it under [agents.NAME]")
            self._report_at((*path, "base"), f"{name} cannot run as {why}", hint)
            return None
        if base is None:  # no base, no usable default_agent (a bad one is reported there)
            return AgentConfig(
                name=name,
                command=(),
                modifies_code=bool(modifies_code),
                timeout_s=timeout,
                estimate_s=estimate or float(_duration(AGENT_KEYS["estimate"])),
                stdin="none",
                rate_limit_pattern="",
                role=text,
            )
        role = replace(
            base,
            name=name,
            modifies_code=bool(modifies_code),
            timeout_s=timeout if timeout is not None else base.timeout_s,
            estimate_s=estimate if estimate is not None else base.estimate_s,
            base=resolved,
            role=text,
        )
        if "env" in overridden:
            overridden["env"] = {**base.env, **overridden["env"]}
        return replace(role, **overridden)

    def _role_overrides(self, name: str, table: Mapping[str, Any]) -> dict[str, Any]:
        """The base agent's settings a role replaces, checked whether or not it is bound."""
        path = ("agents", name)
        checks: dict[str, Callable[[Any], Any]] = {
            "model": _string,
            "max_turns": _int_at_least(0),
            "args": _argv(allow_empty=True),
            "env": _environment,
            "retries": _int_at_least(-1),
            "rate_limit_pattern": _regex,
            "resume_on_failure": _bool,
        }
        overridden: dict[str, Any] = {}
        for key in ROLE_OVERRIDES:
            if key not in table:
                continue
            value = self._value((*path, key), checks[key])
            if value is None and key not in ("retries",):
                continue
            if key == "max_turns":
                value = value or None
            elif key == "retries":
                value = None if value is None or value < 0 else value
            overridden[key] = value
        return overridden

    def _refuse_program_keys(self, name: str, table: Mapping[str, Any]) -> None:
        """A role runs its base's program: keys only a program has are a mistake there."""
        for key in table:
            if key in AGENT_KEYS and key not in ROLE_OVERRIDES and key not in ROLE_KEYS:
                base = table.get("base") or "BASE"
                self._report_at(
                    ("agents", name, key),
                    f"{name} is a role: it runs its base agent's program, which has the {key}",
                    f"set {key} under [agents.{base}], or give {name} a command of its own "
                    "(then drop base)",
                )

    def _compat(self, agents: Mapping[str, AgentConfig]) -> CompatConfig:
        def known(names: Sequence[str], path: KeyPath) -> None:
            for name in names:
                if name not in agents and name in self.settings["agents"]:
                    continue
                if name not in agents:
                    self._report_at(
                        path,
                        f"unknown agent '{name}'",
                        did_you_mean(name, agents, "name agents defined under [agents.NAME]"),
                    )

        clusters = self._value(("compat", "clusters"), _groups(minimum=2, exact=None))
        never = self._value(("compat", "never_together"), _groups(minimum=2, exact=2))
        singleton = self._value(("compat", "singleton"), _string_list)
        exclusive = self._value(("compat", "exclusive_with_code"), _string_list)
        for group in clusters or ():
            known(sorted(group), ("compat", "clusters"))
        for group in never or ():
            known(sorted(group), ("compat", "never_together"))
        known(singleton or (), ("compat", "singleton"))
        known(exclusive or (), ("compat", "exclusive_with_code"))
        return CompatConfig(
            clusters=clusters or (),
            never_together=never or (),
            singleton=frozenset(singleton or ()),
            exclusive_with_code=frozenset(exclusive or ()),
        )

    def _prices(self) -> dict[str, Price]:
        """Every model's price; a model new to the defaults must give input and output."""
        prices: dict[str, Price] = {}
        for model, table in self.settings["prices"].items():
            path = ("prices", model)
            missing = [key for key in PRICE_KEYS[:2] if key not in table]
            if missing:
                self._report_at(
                    path,
                    f"missing {' and '.join(missing)}",
                    f'give both prices in dollars per million tokens: [prices."{model}"] '
                    "input_per_mtok = 1.25, output_per_mtok = 10",
                )
                continue
            input_price = self._value((*path, "input_per_mtok"), _dollars)
            output_price = self._value((*path, "output_per_mtok"), _dollars)
            cache_price = (
                self._value((*path, "cache_read_per_mtok"), _dollars)
                if "cache_read_per_mtok" in table
                else None
            )
            if input_price is None or output_price is None:
                continue
            if cache_price is None:
                cache_price = input_price * CACHE_READ_SHARE
            prices[model] = Price(input_price, output_price, cache_price)
        return prices

    def _keys(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        seen: dict[str, str] = {}
        for action in self.settings["keys"]:
            key = self._value(("keys", action), _key)
            if key is None:
                continue
            if key in seen:
                first, second = seen[key], action
                if self._blame(("keys", first), ("keys", second)) == ("keys", first):
                    first, second = second, first
                self._report_at(
                    ("keys", second),
                    f"'{key}' is already the key of {first}",
                    "give each action its own key",
                )
            seen[key] = action
            keys[action] = key
        return keys


def key_line(text: str, path: KeyPath) -> int:
    """The line where `path` is set in a TOML text (best effort; 1 if not found)."""
    table: KeyPath = ()
    best_line, best_length = 1, 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", line)
        if header:
            table = _split_dotted(header.group(1))
            candidate = table
        else:
            assignment = re.match(
                r"^((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=",
                line,
            )
            if not assignment:
                continue
            candidate = (*table, *_split_dotted(assignment.group(1)))
        common = 0
        for mine, wanted in zip(candidate, path, strict=False):
            if mine != wanted:
                break
            common += 1
        if common == len(candidate) and common > best_length:
            best_line, best_length = number, common
            if common == len(path):
                return number
    return best_line


def dotted(path: KeyPath) -> str:
    """A key path for messages; a part holding a dot is quoted, as TOML writes it:
    `prices."gpt-5.5".input_per_mtok`."""
    return ".".join(f'"{part}"' if "." in part else part for part in path)


def _split_dotted(key: str) -> KeyPath:
    parts = re.findall(r"\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_-]+)", key)
    return tuple(next(part for part in groups if part) if any(groups) else "" for groups in parts)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"must be a string, not {_describe(value)}", 'write it in quotes: "..."')
    return value


def _name(value: Any) -> str:
    text = _string(value)
    if not text.strip():
        raise _Invalid("must not be empty", 'name one, e.g. "pmtui-dark"')
    return text


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"must be true or false, not {_describe(value)}", "write true or false")
    return value


def _int_at_least(minimum: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            hint = f"e.g. {max(minimum, 1)}"
            if isinstance(value, str) and value.strip().isdigit():
                hint = f"write the number without quotes: {value.strip()}"
            raise _Invalid(f"must be a whole number, not {_describe(value)}", hint)
        if value < minimum:
            raise _Invalid(f"must be at least {minimum}, not {value}", f"use {minimum} or more")
        return value

    return check


def _choice(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = _string(value)
        if text not in choices:
            raise _Invalid(
                f"'{text}' is not one of {', '.join(choices)}",
                did_you_mean(text, choices, "use one of " + ", ".join(choices)),
            )
        return text

    return check


def _strategy(value: Any) -> Strategy:
    return Strategy(_choice(*(strategy.value for strategy in Strategy))(value))


def _duration(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not _finite(value):
            raise _Invalid(f"{value} is not a duration", 'write a duration such as "30m"')
        if value < 0:
            raise _Invalid(f"must not be negative, not {value}", 'e.g. "30m"')
        return float(value)
    if not isinstance(value, str):
        raise _Invalid(
            f"must be a duration, not {_describe(value)}", f'e.g. "30m" ({DURATION_EXAMPLES})'
        )
    try:
        return parse_duration(value)
    except UnitError as error:
        raise _Invalid(str(error), f"write a duration such as {DURATION_EXAMPLES}") from error


def _positive_duration(value: Any) -> float:
    seconds = _duration(value)
    if seconds <= 0:
        raise _Invalid("must be more than 0", 'e.g. "30m"')
    return seconds


def _optional_duration(value: Any) -> float | None:
    if value == "":
        return None
    return _positive_duration(value)


def _size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise _Invalid(f"must be more than 0, not {value}", 'e.g. "256MB"')
        return value
    if not isinstance(value, str):
        raise _Invalid(f"must be a size, not {_describe(value)}", f'e.g. "256MB" ({SIZE_EXAMPLES})')
    try:
        size = parse_size(value)
    except UnitError as error:
        raise _Invalid(str(error), f"write a size such as {SIZE_EXAMPLES}") from error
    if size <= 0:
        raise _Invalid("must be more than 0", 'e.g. "256MB"')
    return size


def _percent(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not _finite(value):
            raise _Invalid(f"{value} is not a percentage", "e.g. 20")
        percent = float(value)
    elif isinstance(value, str):
        try:
            percent = parse_percent(value)
        except UnitError as error:
            raise _Invalid(
                str(error), 'write a percentage of one core, e.g. 20 or "20%"'
            ) from error
    else:
        raise _Invalid(f"must be a percentage, not {_describe(value)}", "e.g. 20")
    if percent <= 0:
        raise _Invalid("must be more than 0", "e.g. 20")
    return percent


def _dollars(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = "a number of US dollars, e.g. 5 or 2.50"
        if isinstance(value, str):
            number = value.strip().lstrip("$").strip()
            if re.fullmatch(r"\d+(?:\.\d*)?", number):
                hint = f"write the number without quotes or $: {number}"
        raise _Invalid(f"must be a number of dollars, not {_describe(value)}", hint)
    if not _finite(value):
        raise _Invalid(f"{value} is not an amount of dollars", "e.g. 5 or 2.50")
    if value < 0:
        raise _Invalid(f"must not be negative, not {value}", "use 0 or more")
    return float(value)


def _string_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Invalid(f"must be a list of strings, not {_describe(value)}", 'e.g. ["a", "b"]')
    for item in value:
        if not isinstance(item, str):
            raise _Invalid(
                f"must be a list of strings, but holds {_describe(item)}",
                'quote every item: ["a", "b"]',
            )
    return tuple(value)


def _argv(*, allow_empty: bool) -> Callable[[Any], tuple[str, ...]]:
    def check(value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            raise _Invalid(
                "must be an argv list, not a string",
                'split it into words: ["npm", "test"], never "npm test" (pmtui runs no shell '
                "strings)",
            )
        argv = _string_list(value)
        if not argv and not allow_empty:
            raise _Invalid("must not be empty", 'name the program first: ["my-agent", "{prompt}"]')
        return argv

    return check


def _groups(*, minimum: int, exact: int | None) -> Callable[[Any], tuple[frozenset[str], ...]]:
    def check(value: Any) -> tuple[frozenset[str], ...]:
        if not isinstance(value, list) or not all(isinstance(group, list) for group in value):
            raise _Invalid(
                f"must be a list of lists of agent names, not {_describe(value)}",
                'e.g. [["qa-engineer", "error-handler"]]',
            )
        groups: list[frozenset[str]] = []
        for group in value:
            names = _string_list(group)
            if exact is not None and len(names) != exact:
                raise _Invalid(
                    f"each entry must name exactly {exact} agents, not {len(names)}",
                    'write pairs: [["meta-agent", "agent-factory"]]',
                )
            if len(names) < minimum:
                raise _Invalid(
                    f"each entry must name at least {minimum} agents", "a group of one says nothing"
                )
            groups.append(frozenset(names))
        return tuple(groups)

    return check


def _parser_kind(value: Any) -> ParserKind:
    return ParserKind(_choice(*(kind.value for kind in ParserKind))(value))


def _environment(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _Invalid(
            f"must be a table of strings, not {_describe(value)}",
            'e.g. env = { ANTHROPIC_BASE_URL = "http://127.0.0.1:8080" }',
        )
    for key, item in value.items():
        if not isinstance(item, str):
            raise _Invalid(
                f"{key} must be a string, not {_describe(item)}", f'quote it: {key} = "{item}"'
            )
    return dict(value)


def _regex(value: Any) -> str:
    text = _string(value)
    try:
        re.compile(text)
    except re.error as error:
        raise _Invalid(
            f"not a valid regular expression: {error}", 'e.g. "429|rate limit"'
        ) from error
    return text


def _key(value: Any) -> str:
    text = _string(value)
    if not text or any(char.isspace() for char in text):
        raise _Invalid(f"'{text}' is not a key", 'a key name such as "p", "P", "enter" or "f5"')
    return text


def _finite(value: float) -> bool:
    """Whether a TOML number is an ordinary number (not inf, nan or beyond a float)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _describe(value: Any) -> str:
    kinds = {
        bool: "a boolean",
        int: "a whole number",
        float: "a decimal number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }
    return kinds.get(type(value), type(value).__name__)
