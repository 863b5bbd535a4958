"""`pmtui run` as a user runs it: the dry run's text and JSON, its arguments and exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pmtui.cli import EXIT_BAD_INPUT, EXIT_OK, main
from tests.cli_support import demo_by_default, run, write

ROOT = Path(__file__).resolve().parent.parent
DEMO_PLANS = sorted((ROOT / "demo_plans").glob("*.md"))
JSON_KEYS = ["makespan_s", "lower_bound_s", "sequential_s", "slots", "schedule"]
USAGE = "must be a whole number of at least 1, e.g. --max-parallel 4"

SMALL = """\
# Plan: Small

## Phase 1: Build
- [ ] 1.1 Parse (estimate: 10s)
- [ ] 1.2 Render (estimate: 20s)
- [ ] 1.3 Store (estimate: 5s)

## Phase 2: Ship
- [ ] 2.1 Package (depends: 1.1) (estimate: 30s)
- [ ] 2.2 Announce (estimate: 4s)
"""


def usage_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run args that argparse must refuse; return stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    assert exit_info.value.code == EXIT_BAD_INPUT
    assert out == ""
    assert "Traceback" not in err
    return err


def dry_run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, _ = run(["run", *args, "--dry-run", "--json"], capsys)
    assert code == EXIT_OK
    assert out.endswith("\n") and out.count("\n") == 1, "exactly one JSON object on stdout"
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


def test_dry_run_prints_the_gantt_and_the_numbers(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "plan.md", SMALL)
    demo_by_default(workdir)
    code, out, err = run(["run", "plan.md", "--dry-run"], capsys)
    assert code == EXIT_OK
    assert err == ""
    assert out.startswith("plan.md: dry run")
    for slot in (1, 2, 3):
        assert f"slot {slot} │" in out
    assert "slot 4 │" not in out
    assert "└┬" in out and "0s" in out
    assert "makespan      40s" in out  # 1.1 (10s) then 2.1 (30s): the critical path
    assert "lower bound   40s = the critical path" in out
    assert "sequential    1m9s" in out
    assert "speedup       1.73× over sequential" in out
    assert "no predicted waits" in out


@pytest.mark.parametrize("columns", [40, 60, 80, 120, 200])
def test_the_chart_fits_the_terminal_width(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    _, out, _ = run(["run", str(ROOT / "demo_plans" / "stress-300.md"), "--dry-run"], capsys)
    chart = out.split("\n\n")[1]
    assert "│" in chart and "└" in chart
    assert max(len(line) for line in chart.splitlines()) <= columns


def test_dry_run_json_is_one_object_with_exactly_the_design_keys(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "plan.md", SMALL)
    demo_by_default(workdir)
    data = dry_run_json(["plan.md"], capsys)
    assert list(data) == JSON_KEYS
    assert data["makespan_s"] == 40.0
    assert data["lower_bound_s"] == 40.0
    assert data["sequential_s"] == 69.0
    assert data["slots"] == 5
    assert sorted(entry["task"] for entry in data["schedule"]) == [
        "1.1",
        "1.2",
        "1.3",
        "2.1",
        "2.2",
    ]
    for entry in data["schedule"]:
        assert list(entry) == ["task", "slot", "start_s", "end_s"]
    starts = [entry["start_s"] for entry in data["schedule"]]
    assert starts == sorted(starts)


def test_max_parallel_one_runs_everything_on_slot_one_back_to_back(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "plan.md", SMALL)
    demo_by_default(workdir)
    data = dry_run_json(["plan.md", "--max-parallel", "1"], capsys)
    assert data["slots"] == 1
    assert {entry["slot"] for entry in data["schedule"]} == {1}
    assert data["makespan_s"] == pytest.approx(data["sequential_s"])
    _, out, _ = run(["run", "plan.md", "--dry-run", "--max-parallel", "1"], capsys)
    assert "slot 1 │" in out and "slot 2" not in out
    assert "speedup       1.00× over sequential" in out


def test_max_parallel_sets_the_slots(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir / "plan.md", SMALL)
    demo_by_default(workdir)
    data = dry_run_json(["plan.md", "--max-parallel", "2"], capsys)
    assert data["slots"] == 2
    assert {entry["slot"] for entry in data["schedule"]} == {1, 2}


@pytest.mark.parametrize("value", ["0", "-3", "abc", "2.5", ""])
def test_max_parallel_must_be_a_whole_number_of_at_least_one(
    workdir: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    write(workdir / "plan.md", SMALL)
    demo_by_default(workdir)
    err = usage_error(["run", "plan.md", "--dry-run", "--max-parallel", value], capsys)
    assert "usage: pmtui run" in err
    assert f"argument --max-parallel: {USAGE}" in err


def test_keep_going_and_fail_fast_exclude_each_other(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "plan.md", SMALL)
    demo_by_default(workdir)
    err = usage_error(["run", "plan.md", "--dry-run", "--keep-going", "--fail-fast"], capsys)
    assert "not allowed with argument" in err
    for flag in ("--keep-going", "--fail-fast"):
        code, _, _ = run(["run", "plan.md", "--dry-run", flag], capsys)
        assert code == EXIT_OK


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (
            "## Phase 1\n- [ ] 1.1 A (depends: 1.2)\n- [ ] 1.2 B (depends: 1.1)\n",
            "dependency cycle",
        ),
        ("## Phase 1\n- [ ] 1.1 A (depends: 9.9)\n", "unknown task 9.9"),
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_a_rejected_plan_never_reaches_the_scheduler(
    workdir: Path, capsys: pytest.CaptureFixture[str], plan: str, message: str, as_json: bool
) -> None:
    write(workdir / "plan.md", plan)
    code, out, err = run(["run", "plan.md", "--dry-run", *(["--json"] if as_json else [])], capsys)
    assert code == EXIT_BAD_INPUT
    assert out == ""
    assert message in err and "error:" in err


def test_a_missing_plan_exits_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["run", "nowhere.md", "--dry-run"], capsys)
    assert code == EXIT_BAD_INPUT
    assert out == ""
    assert "nowhere.md" in err


def test_a_bad_config_exits_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir / "plan.md", SMALL)
    demo_by_default(workdir)
    write(workdir / "bad.toml", '[pool]\nmax_concurrent = "many"\n')
    code, out, err = run(["run", "plan.md", "--dry-run", "--config", "bad.toml"], capsys)
    assert code == EXIT_BAD_INPUT
    assert out == ""
    assert "bad.toml" in err and "max_concurrent" in err


def test_the_config_sets_the_slots(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir / "plan.md", SMALL)
    demo_by_default(workdir, "[pool]\nmax_concurrent = 2\n")
    assert dry_run_json(["plan.md"], capsys)["slots"] == 2


def test_warnings_go_to_stderr_and_json_stays_alone_on_stdout(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "plan.md",
        "## Phase 1\n- [ ] 1.1 Edit `src/a.py` (estimate: 3s)\n"
        "- [ ] 1.2 Also edit `src/a.py` (estimate: 2s)\n",
    )
    demo_by_default(workdir)
    code, out, err = run(["run", "plan.md", "--dry-run", "--json"], capsys)
    assert code == EXIT_OK
    assert "warning:" in err
    assert list(json.loads(out)) == JSON_KEYS


def test_running_live_runs_the_plan_headless(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 A\n  ```sh\n  exit 0\n  ```\n")
    code, out, err = run(["run", "plan.md"], capsys)
    assert code == EXIT_OK
    assert "comes with the engine" not in out + err
    assert "done    1.1" in out
    assert "run ok: 1 done" in out


def test_update_plan_ticks_the_tasks_the_run_did_and_keeps_every_other_byte(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "# Plan: Tick\r\n## Phase 1\r\n- [ ] 1.1 Works\r\n  ```sh\r\n  exit 0\r\n  ```\r\n"
        "- [ ] 1.2 Breaks (retries: 0)\r\n  ```sh\r\n  exit 4\r\n  ```\r\n"
        "## Phase 2\r\n- [ ] 2.1 Never runs\r\n  ```sh\r\n  exit 0\r\n  ```"
    )
    (workdir / "plan.md").write_bytes(text.encode())
    code, out, _ = run(["run", "plan.md", "--update-plan"], capsys)
    assert code == 1
    assert "ticked [x] on 1 task in plan.md" in out
    assert (workdir / "plan.md").read_bytes() == text.replace("- [ ] 1.1", "- [x] 1.1").encode()


def test_junit_has_one_case_per_task_and_the_failure_with_its_log(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import xml.etree.ElementTree as ET

    text = (
        "# Plan: CI\n## Phase 1\n- [ ] 1.1 Works\n  ```sh\n  exit 0\n  ```\n"
        "- [ ] 1.2 Breaks (retries: 0)\n  ```sh\n  echo 'assert 1 < 2 failed'; exit 4\n  ```\n"
        "## Phase 2\n- [ ] 2.1 Never runs\n  ```sh\n  exit 0\n  ```\n"
    )
    write(workdir / "plan.md", text)
    code, out, _ = run(["run", "plan.md", "--junit", "report.xml"], capsys)
    assert code == 1
    assert "junit: 3 test cases in report.xml" in out
    suite = ET.parse(workdir / "report.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    failure = suite.find("testcase[@name='1.2 Breaks']/failure")
    assert failure is not None
    assert failure.get("message") == "exit 4"
    assert "assert 1 < 2 failed" in (failure.text or "")


def test_an_unwritable_junit_path_is_reported_and_the_run_outcome_stands(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 A\n  ```sh\n  exit 0\n  ```\n")
    code, _, err = run(["run", "plan.md", "--junit", "missing/report.xml"], capsys)
    assert code == EXIT_OK
    assert "missing/report.xml: error: cannot write the JUnit report" in err


def test_without_update_plan_the_plan_is_left_alone(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "## Phase 1\n- [ ] 1.1 A\n  ```sh\n  exit 0\n  ```\n"
    write(workdir / "plan.md", text)
    assert run(["run", "plan.md"], capsys)[0] == EXIT_OK
    assert (workdir / "plan.md").read_text(encoding="utf-8") == text


def test_a_live_run_in_a_repository_works_at_its_root_and_keeps_pmtui_out_of_git(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / ".git").mkdir()
    (workdir / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (workdir / "plans").mkdir()
    script = "## Phase 1\n- [ ] 1.1 A\n  ```sh\n  pwd > where.txt\n  ```\n"
    write(workdir / "plans" / "plan.md", script)
    code, _, _ = run(["run", "plans/plan.md"], capsys)
    assert code == EXIT_OK
    assert (workdir / "where.txt").read_text(encoding="utf-8").strip() == str(workdir.resolve())
    assert len(list((workdir / ".pmtui" / "logs").iterdir())) == 1
    assert ".pmtui/" in (workdir / ".git" / "info" / "exclude").read_text(encoding="utf-8")


@pytest.mark.parametrize("plan", DEMO_PLANS, ids=lambda path: path.name)
def test_every_demo_plan_dry_runs_as_text(
    workdir: Path, capsys: pytest.CaptureFixture[str], plan: Path
) -> None:
    code, out, _ = run(["run", str(plan), "--dry-run"], capsys)
    assert code == EXIT_OK
    assert f"{plan.name}: dry run" in out
    assert re.search(r"^slot 1 +│", out, re.MULTILINE)
    for label in ("makespan", "lower bound", "sequential", "speedup", "slots", "waits"):
        assert f"  {label} " in out


@pytest.mark.parametrize("plan", DEMO_PLANS, ids=lambda path: path.name)
def test_every_demo_plan_dry_run_schedules_each_task_once_within_the_bounds(
    workdir: Path, capsys: pytest.CaptureFixture[str], plan: Path
) -> None:
    data = dry_run_json([str(plan)], capsys)
    assert list(data) == JSON_KEYS
    schedule = data["schedule"]
    tasks = [entry["task"] for entry in schedule]
    assert len(tasks) == len(set(tasks)), "estimates never fail, so one attempt per task"
    assert data["makespan_s"] == pytest.approx(max(entry["end_s"] for entry in schedule))
    assert data["makespan_s"] >= data["lower_bound_s"] - 1e-6
    assert data["makespan_s"] <= data["sequential_s"] + 1e-6
    for entry in schedule:
        assert 0 <= entry["start_s"] <= entry["end_s"]
        assert entry["slot"] >= 1


def test_demo_checks_then_dry_runs_the_feature_plan(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["demo", "--dry-run"], capsys)
    assert code == EXIT_OK
    assert "critical path" in out
    assert "feature.md: dry run" in out
    assert "makespan" in out and "speedup" in out


def test_a_live_run_prints_a_progress_line_every_refresh_interval(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", '[monitor]\nrefresh_interval = "0.2s"\n')
    write(
        workdir / "plan.md", "## Phase 1\n- [ ] 1.1 A (estimate: 1s)\n  ```sh\n  sleep 1\n  ```\n"
    )
    code, out, _ = run(["run", "plan.md"], capsys)
    assert code == EXIT_OK
    progress = [line for line in out.splitlines() if "] progress" in line]
    assert len(progress) >= 2
    assert all("running" in line and "/1" in line and "ETA" in line for line in progress)
    table = out[out.index("task ") :]
    assert "1.1 A" in table and "done" in table
    assert "agent" in table and "shell" in table


def test_a_store_folder_in_the_way_is_reported_not_a_traceback(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / ".pmtui", "not a folder\n")
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 A\n  ```sh\n  exit 0\n  ```\n")
    code, _, err = run(["run", "plan.md"], capsys)
    assert code == EXIT_BAD_INPUT
    assert ".pmtui: error: is a file, not a folder" in err
    assert "hint: move it away" in err
    assert "Traceback" not in err


def test_a_broken_store_file_is_reported_with_the_fix(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / ".pmtui").mkdir()
    write(workdir / ".pmtui" / "pmtui.db", "this is not sqlite " * 100)
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 A\n  ```sh\n  exit 0\n  ```\n")
    code, _, err = run(["run", "plan.md"], capsys)
    assert code == EXIT_BAD_INPUT
    assert "pmtui.db: error: is not a usable pmtui database" in err
    assert "mv " in err


# --- --budget ---------------------------------------------------------------------------------


def _project_run_with(
    args: list[str],
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """The project and options `pmtui run ARGS` hands to the headless front end (not run)."""
    import pmtui.report.headless as headless

    seen: list[Any] = []

    def fake_run_headless(project: Any, plan: Path, options: Any) -> int:
        seen.append((project, options))
        return EXIT_OK

    monkeypatch.setattr(headless, "run_headless", fake_run_headless)
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 A (agent: demo)\n")
    code, _, _ = run(["run", "plan.md", "--no-ui", *args], capsys)
    assert code == EXIT_OK
    [(project, options)] = seen
    return project, options


def test_budget_sets_the_runs_dollar_budget_over_the_config(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(workdir / "pmtui.toml", "[budget]\nmax_cost_usd = 1\nmax_tokens = 500\n")
    project, _ = _project_run_with(["--budget", "$7.50"], workdir, capsys, monkeypatch)
    assert (project.config.budget.max_cost_usd, project.config.budget.max_tokens) == (7.5, 500)
    setup = project.scheduler_setup()
    assert (setup.max_cost_usd, setup.max_tokens) == (7.5, 500)


def test_without_budget_the_config_budget_stands(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(workdir / "pmtui.toml", "[budget]\nmax_cost_usd = 3\n")
    project, _ = _project_run_with([], workdir, capsys, monkeypatch)
    assert project.scheduler_setup().max_cost_usd == 3.0


def test_resume_goes_on_with_the_budget_given_now(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(workdir / "pmtui.toml", "[budget]\nmax_cost_usd = 2\n")
    project, options = _project_run_with(
        ["--resume", "--budget", "10"], workdir, capsys, monkeypatch
    )
    assert options.resume
    assert project.scheduler_setup().max_cost_usd == 10.0


def test_budget_zero_lifts_the_configured_budget(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(workdir / "pmtui.toml", "[budget]\nmax_cost_usd = 2\n")
    project, _ = _project_run_with(["--budget", "0"], workdir, capsys, monkeypatch)
    assert project.scheduler_setup().max_cost_usd == 0.0


@pytest.mark.parametrize("value", ["abc", "-1", "", "5 EUR"])
def test_budget_must_be_an_amount_of_dollars(
    workdir: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    write(workdir / "plan.md", SMALL)
    err = usage_error(["run", "plan.md", "--dry-run", "--budget", value], capsys)
    assert "argument --budget: must be an amount in US dollars ($2, 2, $2.50 or 2usd)" in err


def test_a_dry_run_accepts_a_budget(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir / "plan.md", SMALL)
    demo_by_default(workdir)
    assert dry_run_json(["plan.md", "--budget", "5"], capsys)["slots"] == 5


def test_tasks_that_report_no_usage_run_whatever_the_budget(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 A\n  ```sh\n  exit 0\n  ```\n")
    code, out, _ = run(["run", "plan.md", "--budget", "0.01"], capsys)
    assert code == EXIT_OK
    assert "run ok: 1 done" in out
