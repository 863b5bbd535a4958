"""Theme files: the shipped ones load and register in Textual; bad ones are skipped with a
problem naming the file and line; unknown names fall back; ASCII when the terminal wants it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from textual.app import App

from pmtui.store.files import bundled
from pmtui.ui.themes import (
    ASCII_GLYPHS,
    DEFAULT_THEME,
    FALLBACK,
    GLYPH_KEYS,
    Glyphs,
    ThemeSpec,
    load_themes,
    resolve_theme,
    wants_ascii,
)

SHIPPED = sorted(path.stem for path in bundled("themes").glob("*.toml"))
COLOUR_THEMES = [name for name in SHIPPED if name != "ascii"]

GOOD = """\
[theme]
name = "mine"
dark = false
primary = "#123456"

[glyphs]
running = "R"
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_themes_are_the_four_of_the_design() -> None:
    assert SHIPPED == ["ascii", "high-contrast", "pmtui-dark", "pmtui-light"]


def test_every_shipped_theme_loads_without_problems(tmp_path: Path) -> None:
    themes, problems = load_themes(tmp_path / "none")
    assert problems == []
    assert sorted(themes) == SHIPPED
    for name in COLOUR_THEMES:
        assert themes[name].theme is not None
        assert themes[name].theme.name == name  # type: ignore[union-attr]
        assert themes[name].source == bundled("themes") / f"{name}.toml"
    assert themes["ascii"].theme is None
    assert themes["ascii"].glyphs == ASCII_GLYPHS


def test_the_glyph_defaults_and_fallback_are_pmtui_dark_as_shipped(tmp_path: Path) -> None:
    themes, _ = load_themes(tmp_path)
    dark = themes[DEFAULT_THEME]
    assert dark.glyphs == Glyphs()
    assert dark.theme == FALLBACK.theme


def test_every_shipped_file_sets_every_glyph() -> None:
    for path in bundled("themes").glob("*.toml"):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        assert sorted(data["glyphs"]) == sorted(GLYPH_KEYS), path.name


@pytest.mark.anyio
@pytest.mark.parametrize("name", COLOUR_THEMES)
async def test_a_shipped_theme_registers_in_a_textual_app(name: str, tmp_path: Path) -> None:
    themes, _ = load_themes(tmp_path)
    found = themes[name].theme
    assert found is not None
    theme = found

    class Tiny(App[None]):
        def on_mount(self) -> None:
            self.register_theme(theme)
            self.theme = name

    app = Tiny()
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        assert app.theme == name
        assert app.current_theme.primary == theme.primary
        assert app.current_theme.dark == theme.dark


def test_a_user_theme_overrides_a_bundled_one(tmp_path: Path) -> None:
    user = tmp_path / "themes"
    path = write(user, "anything.toml", GOOD.replace('"mine"', '"pmtui-dark"'))
    themes, problems = load_themes(user)
    assert problems == []
    spec = themes["pmtui-dark"]
    assert spec.source == path
    assert spec.theme is not None and spec.theme.primary == "#123456"
    assert spec.glyphs.running == "R"
    assert spec.glyphs.done == Glyphs().done  # unset glyphs keep the defaults
    assert themes["pmtui-light"].source == bundled("themes") / "pmtui-light.toml"


def test_user_themes_are_read_from_xdg_config_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    write(tmp_path / "xdg" / "pmtui" / "themes", "mine.toml", GOOD)
    themes, problems = load_themes()
    assert problems == []
    assert "mine" in themes


BAD = [
    pytest.param('[theme]\nname = "bad"\nprimary = "#5fafff\n', 3, "not valid TOML", id="syntax"),
    pytest.param(
        '[theme]\nname = "bad"\nprimary = "#5fafff"\nprimery = "#5fafff"\n',
        4,
        "unknown key 'theme.primery'",
        id="unknown-theme-key",
    ),
    pytest.param(
        '[theme]\nname = "bad"\nprimary = "#5fafff"\n\n[colours]\nx = 1\n',
        5,
        "unknown key 'colours'",
        id="unknown-table",
    ),
    pytest.param(
        '[theme]\nname = "bad"\nprimary = "#5fafff"\nerror = "not-a-colour"\n',
        4,
        "'not-a-colour' is not a colour",
        id="bad-colour",
    ),
    pytest.param(
        '[theme]\nname = "bad"\nprimary = 12\n', 3, "must be a colour string", id="colour-type"
    ),
    pytest.param('# x\n[theme]\nprimary = "#5fafff"\n', 2, "has no name", id="missing-name"),
    pytest.param('[theme]\nname = "bad"\ndark = true\n', 1, "no primary colour", id="no-primary"),
    pytest.param('[theme]\nname = "bad"\nprimary = "#5fafff"\ndark = "yes"\n', 4, "true or false"),
    pytest.param(
        '[theme]\nname = "bad one"\nprimary = "#5fafff"\n', 2, "must be a word", id="bad-name"
    ),
    pytest.param('[glyphs]\nrunning = ">"\ndone = "done"\n', 3, "not one symbol", id="glyph-word"),
    pytest.param('[glyphs]\nrunning = ""\n', 2, "not one symbol", id="glyph-empty"),
    pytest.param('[glyphs]\nrunning = "\\t"\n', 2, "not one symbol", id="glyph-control"),
    pytest.param('[glyphs]\nbar_full = "✅"\n', 2, "at most 1 cell", id="wide-bar"),
    pytest.param("[glyphs]\nrunning = 1\n", 2, "must be a string", id="glyph-type"),
    pytest.param('[glyphs]\nrunnig = ">"\n', 2, "unknown glyph 'runnig'", id="unknown-glyph"),
    pytest.param("# nothing here\n", 1, "neither [theme] nor [glyphs]", id="empty"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD)
def test_a_bad_file_is_a_problem_at_its_line_and_is_skipped(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    user = tmp_path / "themes"
    bad = write(user, "bad.toml", text)
    write(user, "good.toml", GOOD)
    themes, problems = load_themes(user)
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.path, problem.line) == (str(bad), line)
    assert message in problem.message
    assert problem.hint
    rendered = problem.render()
    assert rendered.startswith(f"{bad}:{line}: error: ")
    assert "\n    hint: " in rendered
    assert "bad" not in themes
    assert sorted(themes) == sorted([*SHIPPED, "mine"])


def test_the_hint_suggests_the_closest_key(tmp_path: Path) -> None:
    write(tmp_path, "bad.toml", '[theme]\nname = "bad"\nprimary = "red"\nforground = "red"\n')
    _, problems = load_themes(tmp_path)
    assert problems[0].hint == "did you mean 'foreground'?"


def test_a_file_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'[theme]\nname = "\xff"\n')
    themes, problems = load_themes(tmp_path)
    assert [(p.path, p.line) for p in problems] == [(str(bad), 2)]
    assert "not UTF-8" in problems[0].message
    assert sorted(themes) == SHIPPED


def test_a_broken_user_override_leaves_the_bundled_theme(tmp_path: Path) -> None:
    write(tmp_path, "pmtui-dark.toml", '[theme]\nname = "pmtui-dark"\nprimary = "nope"\n')
    themes, problems = load_themes(tmp_path)
    assert len(problems) == 1
    assert themes["pmtui-dark"].source == bundled("themes") / "pmtui-dark.toml"


def test_two_user_files_with_one_name_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", GOOD)
    second = write(tmp_path, "b.toml", GOOD)
    themes, problems = load_themes(tmp_path)
    assert [(p.path, p.line) for p in problems] == [(str(second), 2)]
    assert "already defined" in problems[0].message
    assert themes["mine"].source == tmp_path / "a.toml"


def test_theme_variables_are_passed_to_textual(tmp_path: Path) -> None:
    write(tmp_path, "v.toml", GOOD + '\n[theme.variables]\n"footer-key-foreground" = "#ff0000"\n')
    themes, problems = load_themes(tmp_path)
    assert problems == []
    theme = themes["mine"].theme
    assert theme is not None and theme.variables == {"footer-key-foreground": "#ff0000"}


def test_resolve_a_known_theme(tmp_path: Path) -> None:
    themes, _ = load_themes(tmp_path)
    spec, glyphs, warning = resolve_theme("pmtui-light", themes, ascii=False)
    assert spec.name == "pmtui-light"
    assert glyphs == Glyphs()
    assert warning is None


def test_an_unknown_theme_falls_back_to_the_default_with_a_warning(tmp_path: Path) -> None:
    themes, _ = load_themes(tmp_path)
    spec, glyphs, warning = resolve_theme("solarised", themes, ascii=False)
    assert spec.name == DEFAULT_THEME
    assert glyphs == Glyphs()
    assert warning is not None
    assert "solarised" in warning
    for name in SHIPPED:
        assert name in warning


def test_the_default_survives_even_with_no_themes_at_all() -> None:
    spec, glyphs, warning = resolve_theme("pmtui-dark", {}, ascii=False)
    assert spec == FALLBACK
    assert glyphs == Glyphs()
    assert warning is not None


def test_ascii_swaps_the_glyphs_but_keeps_the_colours(tmp_path: Path) -> None:
    themes, _ = load_themes(tmp_path)
    spec, glyphs, warning = resolve_theme("high-contrast", themes, ascii=True)
    assert spec.name == "high-contrast"
    assert glyphs == ASCII_GLYPHS
    assert warning is None
    assert all(character.isascii() for key in GLYPH_KEYS for character in getattr(glyphs, key))


def test_ascii_uses_a_user_override_of_the_ascii_set(tmp_path: Path) -> None:
    write(tmp_path, "ascii.toml", '[glyphs]\nrunning = "*"\n')
    themes, _ = load_themes(tmp_path)
    _, glyphs, _ = resolve_theme("pmtui-dark", themes, ascii=True)
    assert glyphs.running == "*"


def test_ascii_works_without_any_ascii_file() -> None:
    _, glyphs, _ = resolve_theme("pmtui-dark", {DEFAULT_THEME: FALLBACK}, ascii=True)
    assert glyphs == ASCII_GLYPHS


def test_naming_a_glyph_set_keeps_the_default_colours(tmp_path: Path) -> None:
    themes, _ = load_themes(tmp_path)
    spec, glyphs, warning = resolve_theme("ascii", themes, ascii=False)
    assert spec.name == DEFAULT_THEME and spec.theme is not None
    assert glyphs == ASCII_GLYPHS
    assert warning is None


def test_a_glyph_only_user_file_over_the_default_does_not_lose_its_colours(
    tmp_path: Path,
) -> None:
    write(tmp_path, "pmtui-dark.toml", '[glyphs]\nrunning = "*"\n')
    themes, problems = load_themes(tmp_path)
    assert problems == []
    spec, glyphs, _ = resolve_theme("pmtui-dark", themes, ascii=False)
    assert isinstance(spec, ThemeSpec) and spec.theme == FALLBACK.theme
    assert glyphs.running == "*"


@pytest.mark.parametrize(
    ("environ", "encoding", "expected"),
    [
        ({"LANG": "en_US.UTF-8"}, "utf-8", False),
        ({"LANG": "C.UTF-8"}, "utf-8", False),
        ({"LANG": "de_DE.utf8@euro"}, "UTF-8", False),
        ({"LC_CTYPE": "en_US.UTF-8"}, "utf-8", False),
        ({"LC_ALL": "C.UTF-8", "LANG": "C"}, "utf-8", False),
        ({"LANG": "en_US.UTF-8"}, None, False),
        ({}, "utf-8", True),
        ({"LANG": "C"}, "utf-8", True),
        ({"LANG": "POSIX"}, "utf-8", True),
        ({"LANG": "en_US.ISO-8859-1"}, "utf-8", True),
        ({"LANG": "en_US"}, "utf-8", True),
        ({"LC_ALL": "C", "LANG": "en_US.UTF-8"}, "utf-8", True),
        ({"LC_CTYPE": "C", "LANG": "en_US.UTF-8"}, "utf-8", True),
        ({"LC_ALL": "", "LC_CTYPE": "", "LANG": "en_US.UTF-8"}, "utf-8", False),
        ({"LANG": "en_US.UTF-8"}, "ascii", True),
        ({"LANG": "en_US.UTF-8"}, "latin-1", True),
        ({"LANG": "en_US.UTF-8"}, "nonsense-codec", True),
    ],
)
def test_wants_ascii(environ: dict[str, str], encoding: str | None, expected: bool) -> None:
    assert wants_ascii(environ, encoding) is expected
