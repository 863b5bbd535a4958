"""The summary table and the agent comparison, rendered from views of hand-built events."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmtui.engine import events as ev
from pmtui.report.summary import render_agent_stats, render_summary_table
from pmtui.report.view import RunView, TaskInfo

WIDTHS = range(60, 201)


def cells(line: str) -> int:
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in line
    )


def finished_run() -> RunView:
    """Five tasks on two agents: done, failed with a messy reason, skipped, conflict, done."""
    view = RunView(
        [
            TaskInfo("1.1", "Write the plan parser", "claude", 60.0),
            TaskInfo("1.2", "Wire the command line interface into the runner", "codex", 120.0),
            TaskInfo("2.1", "Document every option", "claude", 30.0),
            TaskInfo("2.2", "Merge the two halves", "codex", 30.0),
            TaskInfo("2.3", "Polish", "claude", 30.0),
        ]
    )
    view.apply_all(
        [
            ev.RunStarted(0.0, "run-1", "plan.md", 5, 2),
            ev.TaskStarted(0.0, "1.1", "claude", 1, 1, "/w"),
            ev.TaskStarted(0.0, "1.2", "codex", 2, 1, "/w"),
            ev.ResourcesSampled(
                1.0,
                2_000_000_000,
                50.0,
                False,
                (
                    ev.TaskResources("1.1", 212_000_000, 50.0, False),
                    ev.TaskResources("1.2", 96_000_000, 150.0, True),
                ),
            ),
            ev.TaskFinished(27.7, "1.1", "done", 0, "", 1, 27.7),
            ev.TaskRetrying(30.0, "1.2", 2, "retry", 1.0, "exit 1"),
            ev.TaskStarted(31.0, "1.2", "codex", 2, 2, "/w"),
            ev.TaskFinished(
                62.0,
                "1.2",
                "failed",
                1,
                "exit 1\n\x1b[31mTraceback (most recent call last):\x1b[0m\r\n  File\tx\x07",
                2,
                31.0,
            ),
            ev.TaskFinished(62.0, "2.1", "skipped", None, "dependency 1.2 failed", 0, 0.0),
            ev.TaskStarted(62.0, "2.2", "codex", 1, 1, "/w"),
            ev.TaskFinished(80.0, "2.2", "conflict", 0, "conflict on b.txt with 2.1", 1, 18.0),
            ev.TaskStarted(80.0, "2.3", "claude", 1, 1, "/w"),
            ev.TaskFinished(92.3, "2.3", "done", 0, "", 1, 12.3),
            ev.RunFinished(93.0, "failed", 2, 1, 1, 1, 93.0),
        ]
    )
    return view


def running_run() -> RunView:
    view = RunView(
        [
            TaskInfo("1", "Long task 日本語のタイトル " * 4, "claude", 100.0),
            TaskInfo("2", "Quiet", "demo", 50.0),
            TaskInfo("3", "Held", "demo", 50.0),
        ]
    )
    view.apply_all(
        [
            ev.TaskStarted(0.0, "1", "claude", 1, 1, "/w"),
            ev.TaskProgress(5.0, "1", 42.0, "Implementing\nfeatures \x1b]0;title\x07", False),
            ev.TaskStarted(0.0, "2", "demo", 2, 1, "/w"),
            ev.TaskWaiting(1.0, "3", "memory 120MB left, needs 256MB"),
        ]
    )
    return view


def rows(table: str, *, totals: bool = True) -> dict[str, list[str]]:
    """Each row's cells (split on two or more spaces), by the row's first word; the summary's
    totals line is left out."""
    lines = table.splitlines()[:-1] if totals else table.splitlines()
    return {line.split()[0]: re.split(r"\s{2,}", line.strip()) for line in lines}


def test_the_summary_has_a_header_a_row_per_task_in_plan_order_and_totals() -> None:
    table = render_summary_table(finished_run(), width=120)
    lines = table.splitlines()
    assert lines[0].split() == ["task", "status", "tries", "time", "peak", "RSS", "reason"]
    assert [line.split()[0] for line in lines[1:6]] == ["1.1", "1.2", "2.1", "2.2", "2.3"]
    assert len(lines) == 7
    assert lines[-1].startswith("run failed: 5 tasks: 2 done, 1 failed, 1 skipped, 1 conflict")
    assert "elapsed 1m33s" in lines[-1]
    assert "peak RSS 308MB" in lines[-1]


def test_each_row_shows_status_attempts_duration_peak_rss_and_reason() -> None:
    table = rows(render_summary_table(finished_run(), width=160))
    assert table["1.1"] == ["1.1 Write the plan parser", "done", "1", "27.7s", "212MB"]
    failed = table["1.2"]
    assert failed[1:5] == ["FAILED", "2", "31s", "96MB"]
    assert failed[5].startswith("exit 1 Traceback (most recent call last): File x")
    assert table["2.1"][1:] == ["skipped", "0", "0s", "—", "dependency 1.2 failed"]
    assert table["2.2"][1:] == ["CONFLICT", "1", "18s", "—", "conflict on b.txt with 2.1"]


def test_running_and_waiting_rows_show_progress_and_the_waiting_reason() -> None:
    table = rows(render_summary_table(running_run(), width=200, now=10.0))
    assert table["1"][1:5] == ["running", "1", "10s", "—"]
    assert table["1"][5] == "42% Implementing features"
    assert table["2"][5] == "20%"
    assert table["3"][1:] == ["waiting", "0", "—", "—", "memory 120MB left, needs 256MB"]


@pytest.mark.parametrize("ascii_only", [False, True])
@pytest.mark.parametrize("make", [finished_run, running_run])
def test_every_summary_line_fits_every_width_from_60_to_200(
    make: Callable[[], RunView], ascii_only: bool
) -> None:
    view = make()
    for width in WIDTHS:
        for render in (render_summary_table, render_agent_stats):
            text = render(view, width=width, ascii=ascii_only)
            assert all(cells(line) <= width for line in text.splitlines()), (width, text)


def test_long_reasons_are_cut_with_an_ellipsis() -> None:
    lines = render_summary_table(finished_run(), width=60).splitlines()
    failed = next(line for line in lines if line.startswith("1.2"))
    assert failed.endswith("…")
    assert "Traceback" not in failed or len(failed) <= 60


def test_the_task_column_keeps_ids_when_narrow() -> None:
    lines = render_summary_table(running_run(), width=60).splitlines()
    assert [line.split()[0] for line in lines[1:4]] == ["1", "2", "3"]


@pytest.mark.parametrize("make", [finished_run, running_run])
def test_ascii_mode_is_pure_ascii(make: Callable[[], RunView]) -> None:
    view = make()
    for width in (60, 100, 200):
        for text in (
            render_summary_table(view, width=width, ascii=True),
            render_agent_stats(view, width=width, ascii=True),
        ):
            assert text.isascii()
            assert "—" not in text and "…" not in text


def test_ascii_mode_escapes_other_characters_and_cuts_with_dots() -> None:
    assert "\\u65e5" in render_summary_table(running_run(), width=200, ascii=True)
    table = render_summary_table(running_run(), width=60, ascii=True)
    assert "..." in table


def test_no_control_character_or_escape_survives() -> None:
    for view in (finished_run(), running_run()):
        for text in (render_summary_table(view, width=200), render_agent_stats(view, width=200)):
            for line in text.splitlines():
                assert not re.search("[\x00-\x1f\x7f-\x9f]", line), line


def test_a_task_never_sampled_shows_a_dash_for_peak_rss() -> None:
    view = RunView([TaskInfo("1", "One", "demo", 1.0)])
    view.apply(ev.TaskFinished(1.0, "1", "done", 0, "", 1, 1.0))
    assert rows(render_summary_table(view))["1"][4] == "—"
    assert rows(render_summary_table(view, ascii=True))["1"][4] == "-"


def test_agent_stats_show_tasks_done_failed_rate_mean_duration_rss_and_cpu() -> None:
    lines = render_agent_stats(finished_run(), width=120).splitlines()
    assert lines[0].split() == [
        "agent",
        "tasks",
        "done",
        "failed",
        "success",
        "mean",
        "peak",
        "RSS",
        "CPU",
    ]
    assert lines[1].split() == [
        "claude",
        "3",
        "2",
        "0",
        "██████████",
        "100%",
        "20s",
        "212MB",
        "50%",
    ]
    assert lines[2].split() == ["codex", "2", "0", "2", "░░░░░░░░░░", "0%", "—", "96MB", "150%"]
    assert len(lines) == 3


def test_agent_stats_bar_shows_the_success_rate() -> None:
    view = RunView([TaskInfo(str(n), "t", "a", 1.0) for n in range(4)])
    for n, status in enumerate(["done", "done", "done", "failed"]):
        view.apply(ev.TaskFinished(1.0, str(n), status, 0, "", 1, 1.0))
    line = render_agent_stats(view, width=120).splitlines()[1]
    assert "████████░░  75%" in line
    ascii_line = render_agent_stats(view, width=120, ascii=True).splitlines()[1]
    assert "########..  75%" in ascii_line


def test_agent_stats_drop_the_bar_before_squeezing_the_agent_name() -> None:
    view = RunView([TaskInfo("1", "t", "a-rather-long-agent", 1.0)])
    view.apply(ev.TaskFinished(1.0, "1", "done", 0, "", 1, 1.0))
    wide = render_agent_stats(view, width=120).splitlines()[1]
    narrower = render_agent_stats(view, width=75).splitlines()[1]
    narrow = render_agent_stats(view, width=70).splitlines()[1]
    assert "█" * 10 in wide
    assert "a-rather-long-agent" in narrower and "█" * 5 + " " in narrower
    assert "a-rather-long-agent" in narrow and "█" not in narrow


def test_agents_without_results_show_dashes() -> None:
    view = RunView([TaskInfo("1", "t", "idle", 1.0)])
    assert rows(render_agent_stats(view), totals=False)["idle"] == [
        "idle",
        "1",
        "0",
        "0",
        "—",
        "—",
        "—",
        "—",
    ]


def test_an_empty_plan_renders_a_header_and_totals() -> None:
    table = render_summary_table(RunView([]), width=60)
    assert table.splitlines()[-1].startswith("0 tasks: 0 done, 0 failed")
    assert render_agent_stats(RunView([])).splitlines()[0].startswith("agent")


@given(
    texts=st.lists(st.text(max_size=80), min_size=1, max_size=4),
    width=st.integers(60, 200),
    ascii_only=st.booleans(),
)
def test_any_text_fits_on_one_line_per_row(texts: list[str], width: int, ascii_only: bool) -> None:
    view = RunView([TaskInfo(f"t{n}", text, text, 10.0) for n, text in enumerate(texts)])
    for n, text in enumerate(texts):
        view.apply(ev.TaskFinished(1.0, f"t{n}", "failed", 1, text, 1, 1.0))
    summary = render_summary_table(view, width=width, ascii=ascii_only).split("\n")
    agents = render_agent_stats(view, width=width, ascii=ascii_only).split("\n")
    assert len(summary) == len(texts) + 2
    assert len(agents) == len(set(texts)) + 1
    for lines in (summary, agents):
        for line in lines:
            assert cells(line) <= width
            assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", line)
            assert line.isascii() or not ascii_only


def test_a_long_run_lists_only_the_tasks_that_did_not_end_done() -> None:
    infos = [TaskInfo(f"t{n}", f"Task {n}", "shell", 1.0) for n in range(5)]
    view = RunView(infos)
    for n in range(5):
        view.apply(
            ev.TaskFinished(
                float(n), f"t{n}", "done" if n != 3 else "failed", 0, "exit 1" * (n == 3), 1, 1.0
            )
        )
    table = render_summary_table(view, width=100, max_rows=4)
    assert "t3 Task 3" in table and "t1 Task 1" not in table
    assert "(4 tasks that ended done are not listed; `pmtui status` shows all)" in table
    assert "t1 Task 1" in render_summary_table(view, width=100, max_rows=5)
