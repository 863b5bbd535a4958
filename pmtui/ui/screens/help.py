"""The `?` screen: every key the monitor answers to, and what the status glyphs mean.

The keys are given, not read here: the app passes its active bindings (`binding_rows`), so
keys remapped in `[keys]` show as they are. Shows; never acts on the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from pmtui.ui.themes import Glyphs

LEGEND = (
    ("running", "Running", "agent actively executing"),
    ("done", "Complete", "agent finished successfully"),
    ("starting", "Starting", "agent initializing"),
    ("waiting", "Waiting", "held back (resources, compatibility, lock, pause)"),
    ("failed", "Failed", "agent encountered an error"),
    ("retrying", "Retrying", "agent retrying after a failure"),
    ("skipped", "Skipped", "skipped by you, or a dependency did not finish"),
    ("cancelled", "Cancelled", "stopped by an abort"),
    ("conflict", "Conflict", "its merge left a conflict (never resolved for you)"),
    ("idle", "Free", "an idle slot"),
    ("estimated_bar", "Estimated", "progress guessed from the estimate (~ before the %)"),
)
"""The status legend (seed 001's table, then pmtui's own states): glyph field, name, meaning."""


def binding_rows(app: App[Any]) -> list[tuple[str, str, str]]:
    """(key, action id, description) of each binding active on the app's current screen.

    Bindings without an id that the footer hides (a table's cursor keys) are left out.

    Args:
        app: The running app; remapped keys show as remapped.
    """
    rows = []
    for active in app.screen.active_bindings.values():
        binding = active.binding
        if binding.description and (binding.id is not None or binding.show):
            key = app.get_key_display(binding)
            rows.append((key, binding.id or binding.action, binding.description))
    return rows


def keys_table(bindings: Sequence[tuple[str, str, str]]) -> Table:
    """The keys as a table: key, what it does, its id (the name to remap it by in `[keys]`)."""
    table = Table(title="Keys", title_justify="left", expand=False, box=None, padding=(0, 2, 0, 0))
    table.add_column("Key", style="bold", no_wrap=True)
    table.add_column("Does")
    table.add_column(Text("Id in [keys]"), style="dim", no_wrap=True)
    for key, action, description in bindings:
        table.add_row(Text(key), Text(description), Text(action))
    return table


def legend_table(glyphs: Glyphs) -> Table:
    """The status glyphs of `glyphs`, each with its state and meaning."""
    table = Table(
        title="Status", title_justify="left", expand=False, box=None, padding=(0, 2, 0, 0)
    )
    table.add_column("", no_wrap=True)
    table.add_column("State", style="bold", no_wrap=True)
    table.add_column("Meaning")
    for field, name, meaning in LEGEND:
        table.add_row(Text(getattr(glyphs, field)), name, Text(meaning))
    return table


class HelpScreen(Screen[None]):
    """The keys and the glyph legend; `escape` or `q` goes back."""

    BINDINGS = [Binding("escape,q", "back", "Back", id="help.back")]
    DEFAULT_CSS = """
    HelpScreen > VerticalScroll {
        padding: 0 1;
    }
    HelpScreen Static {
        margin-bottom: 1;
    }
    """

    def __init__(self, bindings: Sequence[tuple[str, str, str]], glyphs: Glyphs) -> None:
        """A help screen.

        Args:
            bindings: (key, action id, description) rows, in the order to show them.
            glyphs: The theme's glyph set, for the legend.
        """
        super().__init__()
        self.key_rows = list(bindings)
        self.glyphs = glyphs

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(keys_table(self.key_rows), id="keys")
            yield Static(legend_table(self.glyphs), id="legend")
        yield Footer()

    def action_back(self) -> None:
        """Back to the screen underneath."""
        self.app.pop_screen()
