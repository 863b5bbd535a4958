"""Tokens and cost in the reports: `--junit` properties (from a `RunView` folded from
events), `pmtui history` and `pmtui status` (from a real store)."""

from __future__ import annotations

import json
import xml.dom.minidom
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC
from pathlib import Path

import pytest

from pmtui.engine import events
from pmtui.engine.events import TaskUsage
from pmtui.report.history import (
    history_json,
    render_history,
    render_status,
    status_json,
    usage_totals,
)
from pmtui.report.junit import _dollars, render_junit
from pmtui.report.view import RunView, TaskInfo
from pmtui.scheduling.decisions import RunFinished, RunStatus, TaskFinished
from pmtui.scheduling.states import TaskState
from pmtui.store.db import AttemptRecord, AttemptUsage, RunRecord, Store, TaskRow

T0 = 1_704_189_600.0
"""2024-01-02 10:00:00 UTC."""


def never_alive(_: RunRecord) -> bool:
    return False


# JUnit ------------------------------------------------------------------------------------


TASKS = [
    TaskInfo("1.1", "Set up", "claude", 10.0),
    TaskInfo("1.2", "Parse", "codex", 10.0),
    TaskInfo("2.1", "Script", "shell", 10.0),
]
RUN = RunFinished(
    60.0,
    RunStatus.FAILED,
    done=2,
    failed=1,
    skipped=0,
    cancelled=0,
    conflicts=0,
    duration_s=60.0,
)
STAMP = "2026-05-09T07:35:25+00:00"


def usage_event(
    task: str,
    attempt: int,
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_read_tokens: int = 0,
    cost_usd: float | None = None,
    turns: int | None = None,
    model: str = "",
    time: float = 5.0,
) -> TaskUsage:
    return TaskUsage(
        time,
        task,
        attempt,
        input_tokens,
        output_tokens,
        cache_read_tokens,
        cost_usd,
        turns,
        model,
    )


def folded_view() -> RunView:
    """1.1 runs twice on claude (both attempts report usage and cost, the first one's
    figures updated once); 1.2 reports tokens but no cost; 2.1 (a script) reports nothing."""
    return RunView(TASKS).apply_all(
        [
            events.RunStarted(0.0, "r1", "feature", 3, 2),
            events.TaskStarted(1.0, "1.1", "claude", 1, 1, "/w/1.1"),
            events.TaskStarted(1.0, "1.2", "codex", 2, 1, "/w/1.2"),
            usage_event("1.1", 1, input_tokens=500, output_tokens=100, cost_usd=0.01, turns=1),
            usage_event(
                "1.1",
                1,
                input_tokens=1000,
                output_tokens=200,
                cache_read_tokens=3000,
                cost_usd=0.02,
                turns=2,
                model="claude-sonnet",
                time=8.0,
            ),
            events.TaskRetrying(10.0, "1.1", 1, "retry", 1.0, "exit 1"),
            events.TaskStarted(11.0, "1.1", "claude", 1, 2, "/w/1.1"),
            usage_event(
                "1.1",
                2,
                input_tokens=2000,
                output_tokens=300,
                cache_read_tokens=4000,
                cost_usd=0.0342,
                turns=3,
                model="claude-opus",
                time=20.0,
            ),
            usage_event("1.2", 1, input_tokens=40_000, output_tokens=5_000, model="gpt"),
            events.TaskFinished(30.0, "1.1", "done", 0, "", 2, 19.0),
            events.TaskFinished(31.0, "1.2", "failed", 1, "exit 1", 1, 30.0),
            events.TaskStarted(31.0, "2.1", "shell", 2, 1, "/w/2.1"),
            events.TaskFinished(40.0, "2.1", "done", 0, "", 1, 9.0),
        ]
    )


NOTICES = (
    TaskFinished(30.0, "1.1", TaskState.DONE, 0, "", 2, 19.0),
    TaskFinished(31.0, "1.2", TaskState.FAILED, 1, "exit 1", 1, 30.0),
    TaskFinished(40.0, "2.1", TaskState.DONE, 0, "", 1, 9.0),
)


def render(usage: Mapping[str, Mapping[int, TaskUsage]] | None = None) -> str:
    extra = {} if usage is None else {"usage": usage}
    return render_junit(
        "feature",
        "Feature X",
        NOTICES,
        RUN,
        titles={info.id: info.title for info in TASKS},
        agents={info.id: info.agent for info in TASKS},
        tails={"1.2": ("boom",)},
        timestamp=STAMP,
        **extra,
    )


def view_usage(view: RunView) -> dict[str, dict[int, TaskUsage]]:
    """What the headless front end passes: each task's `TaskView.usage`."""
    return {task.id: task.usage for task in view.tasks}


def properties(element: ET.Element | None) -> dict[str, str]:
    assert element is not None
    return {p.attrib["name"]: p.attrib["value"] for p in element.iterfind("properties/property")}


def junit_cases(document: str) -> dict[str, ET.Element]:
    root = ET.fromstring(document)
    return {case.attrib["name"].split(" ", 1)[0]: case for case in root.iter("testcase")}


def test_junit_testcases_carry_the_task_usage_summed_over_attempts() -> None:
    view = folded_view()
    cases = junit_cases(render(view_usage(view)))
    assert properties(cases["1.1"]) == {
        "agent": "claude",
        "attempt": "2",
        "exit_code": "0",
        "status": "done",
        # Attempt 1's last figures (not its first) plus attempt 2's.
        "tokens": str(1000 + 200 + 3000 + 2000 + 300 + 4000),
        "input_tokens": "3000",
        "output_tokens": "500",
        "cache_read_tokens": "7000",
        "cost_usd": "0.0542",
        "turns": "5",
        "model": "claude-opus",
    }
    assert int(properties(cases["1.1"])["tokens"]) == view.task("1.1").tokens


def test_junit_an_unknown_cost_and_turns_are_left_out() -> None:
    cases = junit_cases(render(view_usage(folded_view())))
    assert properties(cases["1.2"]) == {
        "agent": "codex",
        "attempt": "1",
        "exit_code": "1",
        "status": "failed",
        "tokens": "45000",
        "input_tokens": "40000",
        "output_tokens": "5000",
        "cache_read_tokens": "0",
        "model": "gpt",
    }


def test_junit_a_task_without_usage_is_unchanged() -> None:
    with_usage = junit_cases(render(view_usage(folded_view())))
    without = junit_cases(render())
    assert properties(with_usage["2.1"]) == properties(without["2.1"])
    assert properties(without["2.1"]) == {
        "agent": "shell",
        "attempt": "1",
        "exit_code": "0",
        "status": "done",
    }


def test_junit_the_suite_carries_the_run_totals() -> None:
    view = folded_view()
    root = ET.fromstring(render(view_usage(view)))
    suite = properties(root.find("testsuite"))
    assert suite == {
        "plan": "feature",
        "status": "failed",
        "exit_code": "1",
        "tokens": str(view.tokens),
        "cost_usd": "0.0542",
    }
    assert view.cost_usd == pytest.approx(0.0542)
    # The top element carries no properties (as before).
    assert root.find("properties") is None


def test_junit_suite_without_any_known_cost_has_tokens_only() -> None:
    usage = {"1.2": {1: usage_event("1.2", 1, input_tokens=10, output_tokens=5)}}
    suite = properties(ET.fromstring(render(usage)).find("testsuite"))
    assert suite["tokens"] == "15"
    assert "cost_usd" not in suite


@pytest.mark.parametrize("usage", [None, {}, {"2.1": {}}])
def test_junit_without_usage_the_document_is_byte_for_byte_the_same(
    usage: Mapping[str, Mapping[int, TaskUsage]] | None,
) -> None:
    baseline = render()
    assert render(usage) == baseline
    assert "tokens" not in baseline and "cost_usd" not in baseline


def test_junit_with_usage_is_well_formed_deterministic_and_clean() -> None:
    usage = view_usage(folded_view())
    usage["2.1"] = {1: usage_event("2.1", 1, input_tokens=1, model="m\x1b[31mo\x00del\ufffe")}
    document = render(usage)
    assert document == render(usage)
    assert "\x1b" not in document and "\x00" not in document
    dom = xml.dom.minidom.parseString(document.encode("utf-8"))
    assert len(dom.getElementsByTagName("testcase")) == 3
    assert properties(junit_cases(document)["2.1"])["model"] == "model"
    # Each properties block comes first in its test case, sorted by name.
    for case in junit_cases(document).values():
        assert case[0].tag == "properties"
        names = [p.attrib["name"] for p in case.iterfind("properties/property")]
        assert names == sorted(names)


def test_junit_a_model_named_only_by_an_earlier_attempt_is_kept() -> None:
    usage = {
        "1.1": {
            2: usage_event("1.1", 2, input_tokens=1),
            1: usage_event("1.1", 1, input_tokens=1, model="first"),
        }
    }
    assert properties(junit_cases(render(usage))["1.1"])["model"] == "first"


def test_junit_non_finite_costs_are_not_written() -> None:
    usage = {"1.1": {1: usage_event("1.1", 1, input_tokens=7, cost_usd=float("nan"))}}
    document = render(usage)
    assert "nan" not in document.lower()
    assert "cost_usd" not in properties(junit_cases(document)["1.1"])


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0542, "0.0542"),
        (1.0, "1.0"),
        (0.0, "0.0"),
        (0.00001, "0.00001"),
        (12.3456789, "12.345679"),
    ],
)
def test_junit_costs_are_plain_decimals(value: float, text: str) -> None:
    assert _dollars(value) == text


# The store ----------------------------------------------------------------------------------


@dataclass
class Recorded:
    runs: list[RunRecord]
    tasks_by_run: dict[str, dict[str, TaskRow]]
    attempts_by_run: dict[str, list[AttemptRecord]]
    used: str
    """The run whose agents reported usage."""
    plain: str
    """An older run of a script: no usage, no sessions."""


SPECS = [("1.1", "First", "h1"), ("1.2", "Second", "h2"), ("2.1", "Third", "h3")]


def record_runs(root: Path) -> Recorded:
    with Store.open(root) as store:
        plain = store.new_run("plan.md", SPECS, 2, T0)
        store.attempt_started(plain, "1.1", 1, T0 + 1, 10, T0 + 1)
        store.attempt_agent(plain, "1.1", 1, "shell", None)
        store.attempt_ended(plain, "1.1", 1, T0 + 31, 0, "", 50_000_000)
        store.set_task_state(plain, "1.1", "done", "", 1)
        store.finish_run(plain, "ok", T0 + 60)

        used = store.new_run("plan.md", SPECS, 2, T0 + 100)
        # 1.1: cut off by pmtui (its session continued), then done in a second attempt.
        store.attempt_started(used, "1.1", 1, T0 + 101, 11, T0 + 101)
        store.attempt_agent(used, "1.1", 1, "claude", "sess-aaa")
        store.attempt_usage(
            used, "1.1", 1, AttemptUsage(1000, 200, 3000, 500, 0.05, 2, "claude-sonnet")
        )
        store.attempt_ended(used, "1.1", 1, T0 + 130, None, "timeout", None, interrupted=True)
        store.attempt_started(used, "1.1", 2, T0 + 131, 12, T0 + 131)
        store.attempt_agent(used, "1.1", 2, "claude", "sess-aaa")
        store.attempt_usage(used, "1.1", 2, AttemptUsage(2000, 300, 0, 0, 1.2, 3, "claude-sonnet"))
        store.attempt_ended(used, "1.1", 2, T0 + 160, 0, "", 80_000_000)
        store.set_task_state(used, "1.1", "done", "", 2)
        # 1.2: tokens but no cost, no session.
        store.attempt_started(used, "1.2", 1, T0 + 101, 13, T0 + 101)
        store.attempt_agent(used, "1.2", 1, "codex", None)
        store.attempt_usage(used, "1.2", 1, AttemptUsage(40_000, 5_000, model="gpt"))
        store.attempt_ended(used, "1.2", 1, T0 + 150, 1, "exit 1", None)
        store.set_task_state(used, "1.2", "failed", "exit 1", 1)
        # 2.1: a script, nothing to report.
        store.set_task_state(used, "2.1", "skipped", "dependency 1.2 failed", 0)
        store.finish_run(used, "failed", T0 + 170)

        runs = store.runs("plan.md", 20)
        return Recorded(
            runs,
            {run.id: store.task_states(run.id) for run in runs},
            {run.id: store.attempts(run.id) for run in runs},
            used,
            plain,
        )


@pytest.fixture
def recorded(tmp_path: Path) -> Recorded:
    return record_runs(tmp_path)


def words(line: str) -> list[str]:
    return line.split()


def test_usage_totals_of_the_store_attempts(recorded: Recorded) -> None:
    tokens, cost = usage_totals(recorded.attempts_by_run[recorded.used])
    # Cache writes (500) are kept apart: tokens are input, output and cache reads.
    assert tokens == (1000 + 200 + 3000) + (2000 + 300) + 45_000
    assert cost == pytest.approx(1.25)
    assert usage_totals(recorded.attempts_by_run[recorded.plain]) == (None, None)
    assert usage_totals([]) == (None, None)


# pmtui history ----------------------------------------------------------------------------


def test_history_shows_each_runs_cost_and_tokens(recorded: Recorded) -> None:
    text = render_history(
        recorded.runs,
        recorded.tasks_by_run,
        now=T0 + 999,
        plan="plan.md",
        alive=never_alive,
        tz=UTC,
        attempts_by_run=recorded.attempts_by_run,
    )
    newest, older = text.splitlines()
    assert words(newest) == [
        recorded.used,
        "2024-01-02",
        "10:01",
        "1m10s",
        "failed",
        "cost",
        "$1.25",
        "·",
        "52k",
        "tok",
        "3",
        "tasks:",
        "1",
        "done,",
        "1",
        "failed,",
        "1",
        "skipped",
    ]
    assert words(older)[:5] == [recorded.plain, "2024-01-02", "10:00", "1m", "ok"]
    assert words(older)[5:] == ["—", "3", "tasks:", "1", "done,", "2", "pending"]
    # The counts still line up under each other.
    assert newest.index("3 tasks") == older.index("3 tasks")


def test_history_without_usage_is_unchanged(recorded: Recorded) -> None:
    plain_runs = [run for run in recorded.runs if run.id == recorded.plain]
    arguments = (plain_runs, recorded.tasks_by_run)
    before = render_history(*arguments, now=T0, plan=None, alive=never_alive, tz=UTC)
    after = render_history(
        *arguments,
        now=T0,
        plan=None,
        alive=never_alive,
        tz=UTC,
        attempts_by_run=recorded.attempts_by_run,
    )
    assert after == before
    assert "tok" not in after and "cost" not in after


def test_history_names_an_unknown_cost(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        run_id = store.new_run("plan.md", SPECS[:1], 1, T0)
        store.attempt_started(run_id, "1.1", 1, T0, 10, T0)
        store.attempt_usage(run_id, "1.1", 1, AttemptUsage(950, 0))
        runs = store.runs()
        attempts = {run_id: store.attempts(run_id)}
    text = render_history(runs, {}, now=T0, plan=None, alive=never_alive, attempts_by_run=attempts)
    assert "cost — · 950 tok" in text
    ascii_text = render_history(
        runs, {}, now=T0, plan=None, alive=never_alive, attempts_by_run=attempts, ascii=True
    )
    assert ascii_text.isascii()


def test_history_json_always_has_tokens_and_cost(recorded: Recorded) -> None:
    objs = history_json(
        recorded.runs,
        recorded.tasks_by_run,
        now=T0 + 999,
        alive=never_alive,
        attempts_by_run=recorded.attempts_by_run,
    )
    assert json.loads(json.dumps(objs, allow_nan=False)) == objs
    by_id = {obj["run_id"]: obj for obj in objs}
    assert by_id[recorded.used]["tokens"] == 51_500
    assert by_id[recorded.used]["cost_usd"] == 1.25
    assert by_id[recorded.plain]["tokens"] is None
    assert by_id[recorded.plain]["cost_usd"] is None
    # Without the attempts (the default) both keys are there, unknown.
    bare = history_json(recorded.runs, recorded.tasks_by_run, now=T0, alive=never_alive)
    assert all(obj["tokens"] is None and obj["cost_usd"] is None for obj in bare)


# pmtui status -----------------------------------------------------------------------------


def status_of(recorded: Recorded, run_id: str) -> str:
    record = next(run for run in recorded.runs if run.id == run_id)
    return render_status(
        record,
        recorded.tasks_by_run[run_id],
        recorded.attempts_by_run[run_id],
        now=T0 + 999,
        alive=never_alive,
        tz=UTC,
    )


def test_status_shows_the_run_totals_and_each_tasks_cost_tokens_and_session(
    recorded: Recorded,
) -> None:
    lines = status_of(recorded, recorded.used).splitlines()
    assert words(lines[5]) == ["usage", "cost", "$1.25", "·", "52k", "tok"]
    assert lines[6] == ""
    header, *rows = lines[7:11]
    assert words(header) == [
        "task",
        "state",
        "attempts",
        "last",
        "attempt",
        "peak",
        "RSS",
        "cost",
        "tokens",
        "session",
        "reason",
    ]
    by_task = {words(row)[0]: words(row) for row in rows}
    # 1.1: both attempts' cost and tokens, the last attempt's session.
    assert by_task["1.1"] == ["1.1", "done", "2", "29s", "80MB", "$1.25", "6.5k", "sess-aaa"]
    assert by_task["1.2"] == ["1.2", "failed", "1", "49s", "—", "—", "45k", "—", "exit", "1"]
    assert by_task["2.1"][4:] == ["—", "—", "—", "—", "dependency", "1.2", "failed"]
    # The columns line up.
    assert header.index("cost") == rows[0].index("$1.25")
    assert header.index("tokens") == rows[0].index("6.5k") == rows[1].index("45k")
    assert header.index("session") == rows[0].index("sess-aaa")


def test_status_without_usage_is_unchanged(recorded: Recorded) -> None:
    text = status_of(recorded, recorded.plain)
    lines = text.splitlines()
    assert words(lines[4]) == ["slots", "2"]
    assert lines[5] == ""
    assert words(lines[6]) == [
        "task",
        "state",
        "attempts",
        "last",
        "attempt",
        "peak",
        "RSS",
        "reason",
    ]
    assert "usage" not in text and "tok" not in text and "session" not in text
    record = next(run for run in recorded.runs if run.id == recorded.plain)
    # As before agents reported anything: no agent, session or usage at all.
    bare = [
        replace(attempt, agent="", session_id=None, usage=None, interrupted=False)
        for attempt in recorded.attempts_by_run[recorded.plain]
    ]
    again = render_status(
        record, recorded.tasks_by_run[recorded.plain], bare, now=T0 + 999, alive=never_alive, tz=UTC
    )
    assert again == text


def test_status_shows_no_session_column_when_no_agent_named_one(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        run_id = store.new_run("plan.md", SPECS[:1], 1, T0)
        store.attempt_started(run_id, "1.1", 1, T0, 10, T0)
        store.attempt_agent(run_id, "1.1", 1, "aider", None)
        store.attempt_usage(run_id, "1.1", 1, AttemptUsage(1200, 300, cost_usd=0.014))
        record = store.run(run_id)
        tasks = store.task_states(run_id)
        attempts = store.attempts(run_id)
    assert record is not None
    text = render_status(record, tasks, attempts, now=T0 + 5, alive=lambda _: True)
    assert "session" not in text
    assert "usage    cost $0.014 · 1.5k tok" in text
    row = next(line for line in text.splitlines() if line.startswith("1.1"))
    assert "$0.014" in row and "1.5k" in row


def test_status_json_has_run_task_and_attempt_usage(recorded: Recorded) -> None:
    record = next(run for run in recorded.runs if run.id == recorded.used)
    obj = status_json(
        record,
        recorded.tasks_by_run[recorded.used],
        recorded.attempts_by_run[recorded.used],
        now=T0 + 999,
        alive=never_alive,
    )
    assert json.loads(json.dumps(obj, allow_nan=False)) == obj
    assert obj["tokens"] == 51_500
    assert obj["cost_usd"] == 1.25
    first, second, third = obj["task_list"]
    assert (first["tokens"], first["cost_usd"]) == (6_500, 1.25)
    assert (second["tokens"], second["cost_usd"]) == (45_000, None)
    assert (third["tokens"], third["cost_usd"]) == (None, None)
    assert third["attempt_list"] == [] and third["last_attempt"] is None
    cut, last = first["attempt_list"]
    assert first["last_attempt"] == last
    assert {key: cut[key] for key in ("number", "agent", "session_id", "interrupted")} == {
        "number": 1,
        "agent": "claude",
        "session_id": "sess-aaa",
        "interrupted": True,
    }
    assert (cut["tokens"], cut["cost_usd"], cut["exit_code"]) == (4_200, 0.05, None)
    assert cut["usage"] == {
        "input_tokens": 1000,
        "output_tokens": 200,
        "cache_read_tokens": 3000,
        "cache_write_tokens": 500,
        "cost_usd": 0.05,
        "turns": 2,
        "model": "claude-sonnet",
    }
    assert (last["number"], last["interrupted"], last["tokens"]) == (2, False, 2_300)
    (failed,) = second["attempt_list"]
    assert (failed["agent"], failed["session_id"], failed["cost_usd"]) == ("codex", None, None)
    assert failed["usage"]["turns"] is None


def test_status_json_without_usage_has_nulls(recorded: Recorded) -> None:
    record = next(run for run in recorded.runs if run.id == recorded.plain)
    obj = status_json(
        record,
        recorded.tasks_by_run[recorded.plain],
        recorded.attempts_by_run[recorded.plain],
        now=T0 + 999,
        alive=never_alive,
    )
    assert (obj["tokens"], obj["cost_usd"]) == (None, None)
    done = obj["task_list"][0]
    assert (done["tokens"], done["cost_usd"]) == (None, None)
    (only,) = done["attempt_list"]
    assert only == done["last_attempt"]
    assert only["agent"] == "shell"
    assert only["session_id"] is None
    assert only["interrupted"] is False
    assert (only["tokens"], only["cost_usd"], only["usage"]) == (None, None, None)
