"""How the monitor looks: every screen at 80x24 and 120x40, from scripted events.

The clock is fixed and the view is filled before the app starts, so the SVGs are stable.
Update them only after reading the diff: `pytest tests/ui --snapshot-update`.
"""

from __future__ import annotations

from typing import Any

import pytest

from pmtui.ui.app import PmtuiApp
from pmtui.ui.themes import ASCII_GLYPHS, load_themes, resolve_theme
from tests.ui.scripted import NOW, PHASES, scripted_view

SIZES = [(80, 24), (120, 40)]


def monitor(*, theme: str = "pmtui-dark", ascii: bool = False, **view: bool) -> PmtuiApp:  # noqa: A002
    themes, problems = load_themes()
    assert problems == []
    spec, glyphs, _ = resolve_theme(theme, themes, ascii=ascii)
    return PmtuiApp(
        scripted_view(**view),
        glyphs=ASCII_GLYPHS if ascii else glyphs,
        phases=PHASES,
        clock=lambda: NOW,
        ascii=ascii,
        theme=spec.theme,
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_main_screen_dark(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(monitor(), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_main_screen_light(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(monitor(theme="pmtui-light"), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_main_screen_ascii(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(monitor(ascii=True), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_main_screen_paused_and_boosted(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(monitor(paused=True, boosted=True), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_the_abort_question(snap_compare: Any, size: tuple[int, int]) -> None:
    from pmtui.engine.control import RunControl

    app = monitor()
    app.control = RunControl()  # a control, so `a` asks (nothing is attached: nothing runs)
    assert snap_compare(app, press=["a"], terminal_size=size)
