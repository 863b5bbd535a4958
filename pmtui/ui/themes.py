"""Themes: Textual colours and a glyph set, read from `themes/*.toml` (docs/design.md §8).

The bundled themes are read first, then `$XDG_CONFIG_HOME/pmtui/themes/*.toml`; a user
file whose theme has the same name replaces the bundled one. A file with only `[glyphs]`
(like `ascii.toml`) is a glyph set named after the file. A bad file becomes a
`ThemeProblem` and is skipped: themes never stop pmtui from starting.
"""

from __future__ import annotations

import codecs
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from textual.color import Color, ColorParseError
from textual.theme import Theme

from pmtui.config.loader import key_line
from pmtui.plan.errors import Problem, Severity, did_you_mean
from pmtui.store.files import SourceError, bundled, read_text, xdg_config_home

DEFAULT_THEME = "pmtui-dark"
ASCII_THEME = "ascii"

COLOUR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
THEME_KEYS = ("name", "dark", *COLOUR_KEYS, "variables")
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_BAR_GLYPHS = frozenset({"bar_full", "bar_empty", "estimated_bar"})


@dataclass(frozen=True, slots=True)
class Glyphs:
    """The symbols drawn for task states and bars (defaults: pmtui-dark's)."""

    running: str = "⚡"
    done: str = "✅"
    starting: str = "🔄"
    waiting: str = "⏸"
    failed: str = "❌"
    retrying: str = "🔧"
    skipped: str = "⏭"
    cancelled: str = "⛔"
    conflict: str = "⚔"
    idle: str = "·"
    bar_full: str = "█"
    bar_empty: str = "░"
    estimated_bar: str = "▒"


GLYPH_KEYS = tuple(field.name for field in fields(Glyphs))

ASCII_GLYPHS = Glyphs(
    running=">",
    done="+",
    starting="~",
    waiting="=",
    failed="x",
    retrying="r",
    skipped="-",
    cancelled="!",
    conflict="#",
    idle=".",
    bar_full="#",
    bar_empty=".",
    estimated_bar=":",
)


@dataclass(frozen=True, slots=True)
class ThemeSpec:
    """One theme file: its Textual theme (None for a glyphs-only file) and glyph set."""

    name: str
    theme: Theme | None
    glyphs: Glyphs
    source: Path | None
    """The file it was read from (None for the built-in fallback)."""


@dataclass(frozen=True, slots=True)
class ThemeProblem:
    """A theme file that was skipped; line is 1-based."""

    path: str
    line: int
    message: str
    hint: str

    def render(self) -> str:
        """`PATH:LINE: error: MESSAGE` and an indented hint, like every pmtui problem."""
        return self.as_problem().render()

    def as_problem(self, severity: Severity = Severity.ERROR) -> Problem:
        """The same problem as a `pmtui.plan.errors.Problem`."""
        return Problem(self.path, self.line, 0, self.message, self.hint, severity)


FALLBACK = ThemeSpec(
    DEFAULT_THEME,
    Theme(
        name=DEFAULT_THEME,
        dark=True,
        primary="#5fafff",
        secondary="#af87ff",
        accent="#ffaf5f",
        warning="#ffd75f",
        error="#ff5f5f",
        success="#5fd75f",
        foreground="#e4e4e4",
        background="#1c1c1c",
        surface="#262626",
        panel="#303030",
    ),
    Glyphs(),
    None,
)
"""pmtui-dark as shipped, used if its file is missing or broken."""


def user_themes_dir() -> Path:
    """`$XDG_CONFIG_HOME/pmtui/themes` (`~/.config/pmtui/themes` by default)."""
    return xdg_config_home() / "pmtui" / "themes"


def load_themes(
    user_dir: Path | None = None,
) -> tuple[dict[str, ThemeSpec], list[ThemeProblem]]:
    """Read the bundled themes, then the user's (same name: the user's wins).

    Args:
        user_dir: The user's theme folder (default `user_themes_dir()`); it may not exist.

    Returns:
        The themes by name, and a problem for each file that was skipped.
    """
    themes: dict[str, ThemeSpec] = {}
    problems: list[ThemeProblem] = []
    try:
        folders = [bundled("themes")]
    except FileNotFoundError as error:
        problems.append(ThemeProblem("themes/", 1, str(error), "reinstall pmtui"))
        folders = []
    folders.append(user_themes_dir() if user_dir is None else user_dir)
    for folder in folders:
        seen: dict[str, Path] = {}
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            spec, problem = load_theme_file(path)
            if problem is None and spec is not None and spec.name in seen:
                problem = ThemeProblem(
                    str(path),
                    key_line(path.read_text(encoding="utf-8"), ("theme", "name")),
                    f"theme '{spec.name}' is already defined by {seen[spec.name]}",
                    "give each theme its own name",
                )
            if problem is not None:
                problems.append(problem)
            elif spec is not None:
                seen[spec.name] = path
                themes[spec.name] = spec
    return themes, problems


def load_theme_file(path: Path) -> tuple[ThemeSpec | None, ThemeProblem | None]:
    """One theme file, or the first problem that makes it unusable."""
    shown = str(path)
    try:
        text = read_text(path, shown)
    except SourceError as error:
        return None, ThemeProblem(error.path, max(error.line, 1), error.message, error.hint)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return None, _syntax_problem(shown, text, error)
    try:
        return _build(path, data), None
    except _Invalid as invalid:
        return None, ThemeProblem(
            shown, key_line(text, invalid.where), invalid.message, invalid.hint
        )


def resolve_theme(
    name: str,
    themes: Mapping[str, ThemeSpec],
    *,
    ascii: bool,  # noqa: A002 - the name of the --ascii option
) -> tuple[ThemeSpec, Glyphs, str | None]:
    """The theme to show, its glyph set and a warning (None if all went as asked).

    An unknown name gives the default theme and a warning naming the known ones. Naming a
    glyphs-only set (`ascii`) keeps the default colours with that set's glyphs. The spec
    returned always has a Textual theme.

    Args:
        name: The theme asked for (config, `--theme` or `t`).
        themes: From `load_themes`.
        ascii: Use the ASCII glyphs (`--ascii`, or `wants_ascii()`), whatever the theme.
    """
    default = themes.get(DEFAULT_THEME, FALLBACK)
    if default.theme is None:
        default = FALLBACK
    warning = None
    chosen = themes.get(name)
    if chosen is None:
        known = ", ".join(sorted(themes)) or DEFAULT_THEME
        warning = f"unknown theme '{name}' (known: {known}); using {DEFAULT_THEME}"
        chosen = default
    spec = chosen if chosen.theme is not None else default
    glyphs = chosen.glyphs
    if ascii:
        ascii_spec = themes.get(ASCII_THEME)
        glyphs = ascii_spec.glyphs if ascii_spec is not None else ASCII_GLYPHS
    return spec, glyphs, warning


def wants_ascii(environ: Mapping[str, str], stdout_encoding: str | None) -> bool:
    """Whether the terminal may not show UTF-8: draw ASCII glyphs instead.

    The locale is `LC_ALL`, else `LC_CTYPE`, else `LANG` (an empty value counts as unset,
    as in POSIX); none set means the C locale, which is not UTF-8. A known stdout encoding
    that is not UTF-8 also means ASCII; None (unknown) leaves it to the locale.
    """
    locale = next((environ[key] for key in ("LC_ALL", "LC_CTYPE", "LANG") if environ.get(key)), "C")
    codeset = locale.partition(".")[2].partition("@")[0]
    if not _is_utf8(codeset):
        return True
    return stdout_encoding is not None and not _is_utf8(stdout_encoding)


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


class _Invalid(Exception):
    """A bad key or value; `where` is its TOML key path, for the line number."""

    def __init__(self, where: tuple[str, ...], message: str, hint: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message
        self.hint = hint


def _syntax_problem(shown: str, text: str, error: tomllib.TOMLDecodeError) -> ThemeProblem:
    raw = str(error)
    where = re.search(r"\(at line (\d+), column (\d+)\)", raw)
    line = int(where.group(1)) if where else 1
    if "end of document" in raw:
        line = max(1, len(text.splitlines()))
    message = re.sub(r"\s*\(at line \d+, column \d+\)|\s*\(at end of document\)", "", raw)
    return ThemeProblem(
        shown,
        line,
        f"not valid TOML: {message}",
        'check the quotes, brackets and `key = value` form on this line (primary = "#5fafff")',
    )


def _build(path: Path, data: dict[str, Any]) -> ThemeSpec:
    for key in data:
        if key not in ("theme", "glyphs"):
            raise _Invalid(
                (key,), f"unknown key '{key}'", did_you_mean(key, ("theme", "glyphs"), _TABLES)
            )
    if "theme" not in data and "glyphs" not in data:
        raise _Invalid((), "defines neither [theme] nor [glyphs]", _TABLES)
    glyphs = _glyphs(data.get("glyphs", {}))
    if "theme" not in data:
        return ThemeSpec(path.stem, None, glyphs, path)
    theme = _theme(data["theme"])
    return ThemeSpec(theme.name, theme, glyphs, path)


_TABLES = "a theme file has a [theme] table (name, dark and colours) and a [glyphs] table"


def _table(value: Any, where: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(where, f"'{where[-1]}' must be a table", f"write it as [{'.'.join(where)}]")
    return value


def _theme(value: Any) -> Theme:
    table = _table(value, ("theme",))
    for key in table:
        if key not in THEME_KEYS:
            raise _Invalid(
                ("theme", key),
                f"unknown key 'theme.{key}'",
                did_you_mean(key, THEME_KEYS, f"[theme] keys are: {', '.join(THEME_KEYS)}"),
            )
    name = table.get("name")
    if name is None:
        raise _Invalid(("theme",), "[theme] has no name", 'add name = "my-theme" under [theme]')
    if not isinstance(name, str) or not _NAME.match(name):
        raise _Invalid(
            ("theme", "name"),
            f"theme.name must be a word, not {name!r}",
            "use letters, digits, '.', '_' and '-' (it is typed after --theme)",
        )
    if "primary" not in table:
        raise _Invalid(
            ("theme",), "[theme] has no primary colour", 'add primary = "#5fafff" under [theme]'
        )
    colours: dict[str, str] = {}
    for key in COLOUR_KEYS:
        if key in table:
            colours[key] = _colour(table[key], key)
    dark = table.get("dark", True)
    if not isinstance(dark, bool):
        raise _Invalid(
            ("theme", "dark"), "theme.dark must be true or false", "write dark = true (no quotes)"
        )
    variables = _table(table.get("variables", {}), ("theme", "variables"))
    for key, setting in variables.items():
        if not isinstance(setting, str):
            raise _Invalid(
                ("theme", "variables", key),
                f"theme.variables.{key} must be a string",
                'write it in quotes: "..."',
            )
    theme = Theme(
        name=name,
        dark=dark,
        variables=dict(variables),
        primary=colours["primary"],
        secondary=colours.get("secondary"),
        accent=colours.get("accent"),
        warning=colours.get("warning"),
        error=colours.get("error"),
        success=colours.get("success"),
        foreground=colours.get("foreground"),
        background=colours.get("background"),
        surface=colours.get("surface"),
        panel=colours.get("panel"),
        boost=colours.get("boost"),
    )
    try:
        theme.to_color_system().generate()
    except (ColorParseError, ValueError, TypeError) as error:
        raise _Invalid(
            ("theme",), f"Textual cannot use these colours: {error}", "check the colours"
        ) from None
    return theme


def _colour(value: Any, key: str) -> str:
    hint = 'write a colour such as "#5fafff", "rgb(95,175,255)" or "ansi_blue"'
    if not isinstance(value, str):
        raise _Invalid(("theme", key), f"theme.{key} must be a colour string", hint)
    try:
        Color.parse(value)
    except ColorParseError:
        raise _Invalid(("theme", key), f"theme.{key}: '{value}' is not a colour", hint) from None
    return value


def _glyphs(value: Any) -> Glyphs:
    table = _table(value, ("glyphs",))
    chosen: dict[str, str] = {}
    for key, glyph in table.items():
        if key not in GLYPH_KEYS:
            raise _Invalid(
                ("glyphs", key),
                f"unknown glyph '{key}'",
                did_you_mean(key, GLYPH_KEYS, f"glyphs are: {', '.join(GLYPH_KEYS)}"),
            )
        chosen[key] = _glyph(glyph, key)
    return Glyphs(**chosen)


def _glyph(value: Any, key: str) -> str:
    cells = 1 if key in _BAR_GLYPHS else 2
    hint = (
        f"write one character{' one cell wide' if cells == 1 else ''} in quotes: "
        f'{key} = "{getattr(ASCII_GLYPHS, key)}"'
    )
    if not isinstance(value, str):
        raise _Invalid(("glyphs", key), f"glyphs.{key} must be a string", hint)
    width = cell_len(value)
    if (
        _symbols(value) != 1
        or len(value) > 8
        or not 1 <= width <= cells
        or any(unicodedata.category(char) in ("Cc", "Zs", "Zl", "Zp") for char in value)
    ):
        raise _Invalid(
            ("glyphs", key),
            f"glyphs.{key} = {value!r} is not one symbol at most {cells} cell"
            f"{'s' if cells > 1 else ''} wide",
            hint,
        )
    return value


def _symbols(text: str) -> int:
    """How many visible symbols: marks, variation selectors and joined emoji don't count."""
    count = 0
    joined = False
    for char in text:
        code = ord(char)
        attached = (
            unicodedata.combining(char)
            or unicodedata.category(char) in ("Mn", "Me", "Mc")
            or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF
        )
        if char == "\u200d":
            joined = True
            continue
        if not attached and not joined:
            count += 1
        joined = False
    return count
