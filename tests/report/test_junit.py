"""The `--junit` report, from hand-built `task_finished` notices."""

from __future__ import annotations

import os
import xml.dom.minidom
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pmtui.report.junit import _clean, render_junit, write_junit
from pmtui.scheduling.decisions import RunFinished, RunStatus, TaskFinished
from pmtui.scheduling.states import TaskState

DIRTY_TAIL = (
    "collecting tests",
    "\x1b[31mFAILED\x1b[0m test_x: 1 < 2 & a\x00b",
    "exit status 1",
)


def finished(
    task: str,
    status: TaskState,
    *,
    reason: str = "",
    exit_code: int | None = 0,
    attempt: int = 1,
    duration_s: float = 1.0,
    time: float = 10.0,
) -> TaskFinished:
    return TaskFinished(time, task, status, exit_code, reason, attempt, duration_s)


NOTICES = (
    finished("1.1", TaskState.DONE, duration_s=12.5),
    finished("2.1", TaskState.FAILED, reason="exit 1", exit_code=1, attempt=3, duration_s=4.25),
    finished("2.2", TaskState.CONFLICT, reason="conflict src/a.py", duration_s=7.0),
    finished("3.1", TaskState.SKIPPED, reason="dependency 2.1 failed", exit_code=None, attempt=0,
             duration_s=0.0),
    finished("3.2", TaskState.CANCELLED, reason="aborted", exit_code=None, duration_s=2.0),
)  # fmt: skip
TITLES = {
    "1.1": "Set up",
    "2.1": "Parse <input> & check",
    "2.2": "Merge",
    "3.1": "Ship",
    "3.2": "Docs",
}
AGENTS = {"1.1": "demo", "2.1": "claude", "2.2": "shell", "3.2": "demo"}
TAILS = {"2.1": DIRTY_TAIL, "2.2": ("CONFLICT (content): src/a.py",), "1.1": ("all good",)}
RUN = RunFinished(
    31.0,
    RunStatus.ABORTED,
    done=1,
    failed=1,
    skipped=1,
    cancelled=1,
    conflicts=1,
    duration_s=30.0,
    reason="abort by user",
)
STAMP = "2026-05-09T07:35:25+00:00"


def render(notices: tuple[TaskFinished, ...] = NOTICES) -> str:
    return render_junit(
        "feature",
        "Feature X",
        notices,
        RUN,
        titles=TITLES,
        agents=AGENTS,
        tails=TAILS,
        timestamp=STAMP,
    )


def cases(root: ET.Element) -> dict[str, ET.Element]:
    found: dict[str, ET.Element] = {}
    for case in root.iter("testcase"):
        task = case.attrib["name"].split(" ", 1)[0]
        assert task not in found
        found[task] = case
    return found


def properties(case: ET.Element) -> dict[str, str]:
    return {p.attrib["name"]: p.attrib["value"] for p in case.iterfind("properties/property")}


def test_the_suite_counts_match_the_notices() -> None:
    root = ET.fromstring(render())
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    for element in (root, suite):
        assert element.attrib["name"] == "Feature X"
        assert element.attrib["tests"] == "5"
        assert element.attrib["failures"] == "2"
        assert element.attrib["errors"] == "1"
        assert element.attrib["skipped"] == "1"
        assert element.attrib["time"] == "30.000"
    assert suite.attrib["timestamp"] == STAMP
    suite_properties = properties(suite)
    assert suite_properties == {
        "plan": "feature",
        "status": "aborted",
        "exit_code": "130",
        "reason": "abort by user",
    }


def test_one_testcase_per_task_in_order_with_titles_and_times() -> None:
    root = ET.fromstring(render())
    names = [case.attrib["name"] for case in root.iter("testcase")]
    assert names == [
        "1.1 Set up",
        "2.1 Parse <input> & check",
        "2.2 Merge",
        "3.1 Ship",
        "3.2 Docs",
    ]
    by_task = cases(root)
    assert {case.attrib["classname"] for case in by_task.values()} == {"feature"}
    assert {task: case.attrib["time"] for task, case in by_task.items()} == {
        "1.1": "12.500",
        "2.1": "4.250",
        "2.2": "7.000",
        "3.1": "0.000",
        "3.2": "2.000",
    }


def test_each_state_maps_to_its_junit_outcome() -> None:
    by_task = cases(ET.fromstring(render()))
    outcome_tags = {
        task: [child.tag for child in case if child.tag != "properties"]
        for task, case in by_task.items()
    }
    assert outcome_tags == {
        "1.1": [],
        "2.1": ["failure", "system-out"],
        "2.2": ["failure", "system-out"],
        "3.1": ["skipped"],
        "3.2": ["error"],
    }
    failure = by_task["2.1"].find("failure")
    assert failure is not None
    assert failure.attrib == {"message": "exit 1", "type": "exit"}
    conflict = by_task["2.2"].find("failure")
    assert conflict is not None
    assert conflict.attrib["type"] == "conflict"
    assert conflict.attrib["message"] == "conflict src/a.py"
    assert conflict.text == "CONFLICT (content): src/a.py"
    skipped = by_task["3.1"].find("skipped")
    assert skipped is not None
    assert skipped.attrib == {"message": "dependency 2.1 failed"}
    error = by_task["3.2"].find("error")
    assert error is not None
    assert error.attrib == {"message": "aborted", "type": "aborted"}


def test_properties_carry_agent_and_attempt() -> None:
    by_task = cases(ET.fromstring(render()))
    assert properties(by_task["2.1"]) == {
        "agent": "claude",
        "attempt": "3",
        "exit_code": "1",
        "status": "failed",
    }
    # Never started: no agent known, attempt 0, no exit code.
    assert properties(by_task["3.1"]) == {"attempt": "0", "status": "skipped"}


def test_the_tail_is_present_and_sanitized() -> None:
    document = render()
    assert "\x00" not in document
    assert "\x1b" not in document
    failed = cases(ET.fromstring(document))["2.1"]
    expected = "collecting tests\nFAILED test_x: 1 < 2 & ab\nexit status 1"
    failure = failed.find("failure")
    output = failed.find("system-out")
    assert failure is not None and output is not None
    assert failure.text == expected
    assert output.text == expected
    # Done tasks do not carry their log.
    assert "all good" not in document


def test_messages_and_names_are_sanitized_too() -> None:
    notices = (finished("4.1", TaskState.FAILED, reason="timeout\x07 30 s \x1b[1mhard\x1b[0m\x0c"),)
    document = render_junit(
        "p\x01lan",
        "",
        notices,
        RUN,
        titles={"4.1": "T\x02itle"},
        agents={"4.1": "a\x1fgent"},
        tails={"4.1": ("\ufffe\ud800line\x7f\x85",)},
        timestamp="now\x00",
    )
    root = ET.fromstring(document.encode())
    (case,) = root.iter("testcase")
    assert case.attrib["name"] == "4.1 Title"
    assert case.attrib["classname"] == "plan"
    failure = case.find("failure")
    assert failure is not None
    assert failure.attrib == {"message": "timeout 30 s hard", "type": "timeout"}
    assert failure.text == "line"
    assert properties(case)["agent"] == "agent"
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.attrib["name"] == "plan"
    assert suite.attrib["timestamp"] == "now"


def test_a_reopened_task_counts_once_with_its_last_notice() -> None:
    notices = (
        finished("1.1", TaskState.FAILED, reason="exit 2", exit_code=2, duration_s=3.0),
        finished("1.2", TaskState.SKIPPED, reason="dependency 1.1 failed", attempt=0),
        finished("1.1", TaskState.DONE, attempt=2, duration_s=5.0),
        finished("1.2", TaskState.DONE, duration_s=1.0),
    )
    root = ET.fromstring(render(notices))
    (suite,) = root.findall("testsuite")
    assert suite.attrib["tests"] == "2"
    assert suite.attrib["failures"] == "0"
    assert suite.attrib["skipped"] == "0"
    by_task = cases(root)
    assert list(by_task) == ["1.1", "1.2"]
    assert by_task["1.1"].attrib["time"] == "5.000"
    assert by_task["1.1"].find("failure") is None
    assert properties(by_task["1.1"])["attempt"] == "2"


def test_the_document_is_well_formed_for_minidom_and_declared() -> None:
    document = render()
    assert document.startswith("<?xml version='1.0' encoding='utf-8'?>\n<testsuites")
    assert document.endswith("</testsuites>\n")
    dom = xml.dom.minidom.parseString(document.encode("utf-8"))
    assert len(dom.getElementsByTagName("testcase")) == 5
    assert "\n    <testcase" in document  # indented


def test_the_output_is_deterministic() -> None:
    assert render() == render()


def test_an_empty_run_is_a_valid_empty_suite() -> None:
    root = ET.fromstring(render(()))
    (suite,) = root.findall("testsuite")
    assert suite.attrib["tests"] == "0"
    assert list(suite.iter("testcase")) == []


@pytest.mark.parametrize("duration", [float("nan"), float("inf"), -1.0])
def test_odd_durations_become_zero(duration: float) -> None:
    notices = (finished("1.1", TaskState.DONE, duration_s=duration),)
    (case,) = ET.fromstring(render(notices)).iter("testcase")
    assert case.attrib["time"] == "0.000"


def test_clean_text_keeps_tabs_newlines_and_unicode() -> None:
    assert _clean("a\tb\nc\rd é ✓ 😀") == "a\tb\nc\rd é ✓ 😀"


def test_write_junit_writes_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "report.xml"
    document = render()
    write_junit(target, document)
    assert target.read_text(encoding="utf-8") == document
    assert os.listdir(tmp_path) == ["report.xml"]
    assert target.stat().st_mode & 0o777 == 0o644
    write_junit(target, "<?xml version='1.0' encoding='utf-8'?>\n<testsuites />\n")
    assert os.listdir(tmp_path) == ["report.xml"]
    assert ET.parse(target).getroot().tag == "testsuites"


def test_write_junit_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.xml"
    target.write_text("old", encoding="utf-8")

    def fail(source: object, destination: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        write_junit(target, render())
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["report.xml"]


def test_write_junit_into_a_missing_folder_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write_junit(tmp_path / "missing" / "report.xml", render())
    assert os.listdir(tmp_path) == []
