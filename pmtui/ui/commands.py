"""Every key of the monitor as a command-palette command (ctrl+p), found by its words."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from pmtui.ui.app import PmtuiApp

COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("pause", "Pause / resume", "start no new task (p); again to resume"),
    ("hard_pause", "Hard pause / resume", "also stop the running agents (P)"),
    ("retry", "Retry the selected task", "run a failed task again (r)"),
    ("skip", "Skip the selected task", "and its dependents (s)"),
    ("abort", "Abort the run", "every agent stopped, state saved (a)"),
    ("boost", "Boost", "open or close the boost slots (b)"),
    ("logs", "Show the selected task's log", "its live output and dependencies (enter)"),
    ("gantt", "Timeline", "the run so far and the forecast of what remains (g)"),
    ("compare", "Agent comparison", "tasks, success, time, memory, CPU per agent (c)"),
    ("events", "Event log", "every event of the run (e)"),
    ("conflicts", "Conflicts", "the conflicts left and how to resolve them (x)"),
    ("help", "Help", "every key and glyph (?)"),
    ("theme", "Next theme", "cycle the colour themes (t)"),
    ("filter", "Filter the task table", "by id, title, agent or status (/)"),
    ("quit_run", "Quit", "asks first while tasks run (q)"),
)
"""(action, title, help) of each command; the action is the app's `action_<name>`."""


class MonitorCommands(Provider):
    """The monitor's actions in the command palette."""

    def _run(self, action: str) -> None:
        app: PmtuiApp = self.app  # type: ignore[assignment]
        app.call_next(getattr(app, f"action_{action}"))

    async def discover(self) -> Hits:
        for action, title, help_text in COMMANDS:
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for action, title, help_text in COMMANDS:
            score = matcher.match(f"{title} {help_text}")
            if score > 0:
                yield Hit(
                    score, matcher.highlight(title), partial(self._run, action), help=help_text
                )
