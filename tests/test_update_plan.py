"""`update_plan`: tick the tasks that ended done, where they are in the plan now."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmtui.project import load_project, update_plan
from pmtui.store.files import SourceError

PLAN = """# Plan: Tick

## Phase 1: Build
- [ ] 1.1 Parse
- [x] 1.2 Already done
- [ ] 1.3 Render
    - [ ] not a task: body text of 1.3
"""


def test_done_tasks_are_ticked_and_nothing_else_changes(tmp_path: Path) -> None:
    plan = tmp_path / "plan.md"
    plan.write_bytes(PLAN.replace("\n", "\r\n").encode())
    assert update_plan(plan, ["1.1", "1.2", "1.3", "9.9"]) == 2
    expected = PLAN.replace("- [ ] 1.1", "- [x] 1.1").replace("- [ ] 1.3", "- [x] 1.3")
    assert plan.read_bytes() == expected.replace("\n", "\r\n").encode()
    project = load_project(plan)
    assert project.plan is not None
    assert all(task.done for task in project.plan.tasks)


def test_a_plan_edited_during_the_run_is_ticked_where_the_task_is_now(tmp_path: Path) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text(PLAN, encoding="utf-8")
    edited = PLAN.replace("## Phase 1: Build\n", "## Phase 1: Build\n- [ ] 0.9 Added later\n")
    plan.write_text(edited, encoding="utf-8")
    assert update_plan(plan, ["1.3"]) == 1
    assert plan.read_text(encoding="utf-8") == edited.replace("- [ ] 1.3", "- [x] 1.3")


def test_a_missing_plan_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        update_plan(tmp_path / "gone.md", ["1.1"])
