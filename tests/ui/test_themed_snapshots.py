"""Every screen of the monitor, reached by its key from the real app, in the dark, light and
ASCII themes, at 80x24 and 120x40. The clock is fixed and the run is scripted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pmtui.report.lines import event_line
from pmtui.ui.app import PmtuiApp
from pmtui.ui.themes import load_themes, resolve_theme
from tests.ui.scripted import NOW, PHASES, script_events, scripted_view

SIZES = [(80, 24), (120, 40)]
THEMES = ["pmtui-dark", "pmtui-light", "ascii"]
SCREENS = {"logs": "enter", "timeline": "g", "compare": "c", "events": "e", "help": "question_mark"}
RUN_ID = "20261125-101500-ab12"


def app_for(theme: str, log_dir: Path) -> PmtuiApp:
    themes, problems = load_themes()
    assert problems == []
    ascii_glyphs = theme == "ascii"
    spec, glyphs, _ = resolve_theme(
        "pmtui-dark" if ascii_glyphs else theme, themes, ascii=ascii_glyphs
    )
    app = PmtuiApp(
        scripted_view(),
        glyphs=glyphs,
        phases=PHASES,
        clock=lambda: NOW,
        ascii=ascii_glyphs,
        theme=spec.theme,
        log_dir=log_dir,
    )
    for event in script_events():
        line = event_line(event, ascii=ascii_glyphs)
        if line is not None:
            app.event_lines.append(line)
    return app


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(
    snap_compare: Any, tmp_path: Path, screen: str, theme: str, size: tuple[int, int]
) -> None:
    log_dir = tmp_path / RUN_ID
    log_dir.mkdir()
    (log_dir / "1.1.log").write_text(
        "Comparing Google, GitHub and Microsoft\nscopes: openid email profile\n"
        "::progress::80 writing docs/oauth/providers.md\ndone\n",
        encoding="utf-8",
    )
    app = app_for(theme, log_dir)
    assert snap_compare(app, press=[SCREENS[screen]], terminal_size=size)
