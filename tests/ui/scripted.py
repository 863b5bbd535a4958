"""A run told by scripted events, for the monitor's snapshots: no processes, no clock."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.screen import Screen

from pmtui.engine import events as ev
from pmtui.report.view import RunView, TaskInfo
from pmtui.ui.themes import load_themes, resolve_theme

NOW = 42.0
"""The fixed moment the snapshots show (seconds since the run started)."""

TASKS = [
    TaskInfo("1.1", "Compare OAuth providers", "product-manager", 6.0),
    TaskInfo("1.2", "Write user stories", "babok-agent", 5.0),
    TaskInfo("2.1", "Design the authorization-code flow", "architect-agent", 8.0, ("1.1",)),
    TaskInfo("3.2", "Implement the OAuth client", "swebok-engineer", 15.0, ("2.1",)),
    TaskInfo("3.3", "Add the linked-accounts model", "swebok-engineer", 10.0),
    TaskInfo("5.1", "Unit-test the OAuth client", "qa-engineer", 9.0, ("3.2",)),
    TaskInfo("5.6", "Load-test the callback", "performance-agent", 8.0),
    TaskInfo("6.2", "Bump the version", "release-agent", 5.0, ("5.1",)),
]

PHASES = {
    "1.1": "Discovery",
    "1.2": "Discovery",
    "2.1": "Design",
    "3.2": "Build",
    "3.3": "Build",
    "5.1": "Verify",
    "5.6": "Verify",
    "6.2": "Release",
}


def scripted_view(*, paused: bool = False, boosted: bool = False) -> RunView:
    """A run 42 s in: two done, one failed and retrying, three running, one waiting."""
    return RunView(TASKS).apply_all(script_events(paused=paused, boosted=boosted))


def script_events(*, paused: bool = False, boosted: bool = False) -> list[ev.Event]:
    """The events of `scripted_view`, in order."""
    script: list[ev.Event] = [
        ev.RunStarted(0.0, "20261125-101500-ab12", "feature.md", len(TASKS), 5),
        ev.TaskStarted(0.0, "1.1", "product-manager", 1, 1, "/repo"),
        ev.TaskStarted(0.0, "1.2", "babok-agent", 2, 1, "/repo"),
        ev.TaskFinished(6.0, "1.1", "done", 0, "", 1, 6.0),
        ev.TaskStarted(6.0, "2.1", "architect-agent", 1, 1, "/repo"),
        ev.TaskFinished(7.5, "1.2", "done", 0, "", 1, 7.5),
        ev.TaskStarted(14.0, "3.3", "swebok-engineer", 2, 1, "/repo"),
        ev.TaskFinished(15.0, "2.1", "done", 0, "", 1, 9.0),
        ev.TaskStarted(15.0, "3.2", "swebok-engineer", 1, 1, "/repo"),
        ev.TaskStarted(16.0, "5.6", "performance-agent", 3, 1, "/repo"),
        ev.TaskRetrying(30.0, "5.6", 2, "retry", 5.0, "exit 1"),
        ev.TaskWaiting(31.0, "6.2", "compatibility: release-agent waits for swebok-engineer"),
        ev.TaskProgress(40.0, "3.2", 75.0, "Implementing features", False),
        ev.TaskProgress(41.0, "3.3", 60.0, "", True),
        ev.TaskStarted(41.5, "5.1", "qa-engineer", 3, 1, "/repo"),
        ev.ResourcesSampled(
            41.9,
            4_000_000_000,
            68.0,
            False,
            (
                ev.TaskResources("3.2", 212_000_000, 35.0, True),
                ev.TaskResources("3.3", 180_000_000, 12.0, False),
                ev.TaskResources("5.1", 120_000_000, 21.0, False),
            ),
        ),
    ]
    if boosted:
        script.append(ev.BoostChanged(41.9, 8))
    if paused:
        script.append(ev.Paused(41.95))
    return script


def conflicted_view() -> RunView:
    """`scripted_view`, then two conflicts left (one with a task, one with a commit made by
    hand) and one merge waiting for hand edits in the main checkout."""
    return RunView(TASKS).apply_all(script_events() + conflict_events())


def conflict_events() -> list[ev.Event]:
    """What `conflicted_view` adds to `script_events`."""
    flow = ev.MergeConflict(
        "docs/oauth/flow.md",
        "modify/modify",
        "3.3",
        "Add the linked-accounts model",
        "2.1",
        "Design the authorization-code flow",
        "4f2a9c1",
    )
    models = ev.MergeConflict(
        "src/auth/models.py",
        "add/add",
        "3.3",
        "Add the linked-accounts model",
        "2.1",
        "Design the authorization-code flow",
        "4f2a9c1",
    )
    by_hand = ev.MergeConflict(
        "tests/test_client.py",
        "delete/modify",
        "5.1",
        "Unit-test the OAuth client",
        "",
        "Remove the old client tests",
        "b7e01d2",
    )
    waiting = (
        "src/auth/client.py changed by hand in /repo: the merge of 3.2 would overwrite it; "
        "commit or revert it and the merge goes on"
    )
    return [
        ev.MergeFinished(41.6, "3.3", "conflict", (flow, models)),
        ev.TaskFinished(
            41.6, "3.3", "conflict", 0, "conflict on docs/oauth/flow.md, src/auth/models.py "
            "with 2.1", 1, 27.6,
        ),
        ev.MergeWaiting(41.7, "3.2", ("src/auth/client.py",), waiting),
        ev.MergeFinished(41.8, "5.1", "conflict", (by_hand,)),
        ev.TaskFinished(
            41.8, "5.1", "conflict", 0, "conflict on tests/test_client.py with commit b7e01d2",
            1, 0.3,
        ),
    ]  # fmt: skip


class Host(App[None]):
    """Shows one screen, in pmtui's dark theme, over an empty default screen."""

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.shown = screen

    def on_mount(self) -> None:
        themes, _ = load_themes()
        spec, _, _ = resolve_theme("pmtui-dark", themes, ascii=False)
        assert spec.theme is not None
        self.register_theme(spec.theme)
        self.theme = spec.theme.name
        self.push_screen(self.shown)
