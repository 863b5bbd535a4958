"""`RunView`: the facts every front end shows, folded from hand-built events."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmtui.config.loader import load_config
from pmtui.engine import events as ev
from pmtui.plan.graph import PlanGraph
from pmtui.plan.parser import parse_plan
from pmtui.report.view import ESTIMATED_CAP, RunView, TaskInfo, plan_tasks
from pmtui.scheduling.states import TaskState


def info(task: str, estimate: float = 100.0, agent: str = "claude", **extra: object) -> TaskInfo:
    return TaskInfo(task, f"title of {task}", agent, estimate, **extra)  # type: ignore[arg-type]


def started(
    time: float, task: str, *, slot: int = 1, attempt: int = 1, agent: str = "claude"
) -> ev.TaskStarted:
    return ev.TaskStarted(time, task, agent, slot, attempt, "/repo")


def finished(
    time: float, task: str, status: str = "done", *, attempt: int = 1, reason: str = ""
) -> ev.TaskFinished:
    code = 0 if status == "done" else None
    return ev.TaskFinished(time, task, status, code, reason, attempt, time)


def progress(time: float, task: str, percent: float, *, estimated: bool = False) -> ev.TaskProgress:
    return ev.TaskProgress(time, task, percent, f"at {percent}", estimated)


def sample(time: float, *usages: tuple[str, int, float, bool]) -> ev.ResourcesSampled:
    return ev.ResourcesSampled(
        time, 4_000_000_000, 37.5, False, tuple(ev.TaskResources(*usage) for usage in usages)
    )


def test_a_new_view_has_every_task_pending_in_plan_order() -> None:
    view = RunView([info("2"), info("1"), info("3")])
    assert [task.id for task in view.tasks] == ["2", "1", "3"]
    assert all(task.status is TaskState.PENDING for task in view.tasks)
    assert view.total == 3 and view.done == 0 and view.finished_count == 0
    assert not view.finished


def test_run_started_boost_pause_and_resume_are_run_facts() -> None:
    view = RunView([info("1")])
    view.apply(ev.RunStarted(0.0, "run-7", "plan.md", 1, 4))
    assert (view.run_id, view.plan, view.slots, view.paused) == ("run-7", "plan.md", 4, False)
    view.apply(ev.BoostChanged(1.0, 8))
    view.apply(ev.Paused(2.0))
    assert view.slots == 8 and view.paused
    view.apply(ev.Resumed(3.0))
    assert not view.paused
    assert view.elapsed() == 3.0
    assert view.elapsed(now=10.0) == 10.0
    assert view.elapsed(now=1.0) == 3.0


def test_waiting_keeps_its_reason_and_starting_clears_it() -> None:
    view = RunView([info("1")])
    view.apply(ev.TaskWaiting(1.0, "1", "memory 200MB left"))
    task = view.task("1")
    assert task.status is TaskState.WAITING and task.waiting_reason == "memory 200MB left"
    view.apply(started(2.0, "1", slot=3, agent="codex"))
    assert task.status is TaskState.RUNNING
    assert (task.slot, task.attempt, task.started_at, task.agent) == (3, 1, 2.0, "codex")
    assert task.waiting_reason == ""
    assert view.running() == [task]


def test_a_requeued_running_task_leaves_its_slot() -> None:
    view = RunView([info("1")])
    view.apply_all([started(1.0, "1"), ev.TaskWaiting(2.0, "1", "rate limited")])
    task = view.task("1")
    assert task.status is TaskState.WAITING and task.slot is None and task.started_at is None
    assert view.running() == []


def test_retrying_records_the_step_reason_and_next_start_then_a_new_attempt_resets_progress() -> (
    None
):
    view = RunView([info("1")])
    view.apply_all(
        [
            started(1.0, "1"),
            progress(2.0, "1", 60),
            ev.TaskRetrying(3.0, "1", 2, "partition", 5.0, "exit 1"),
        ]
    )
    task = view.task("1")
    assert task.status is TaskState.RETRYING
    assert (task.retry_step, task.retry_at, task.reason) == ("partition", 8.0, "exit 1")
    assert task.slot is None and task.percent is None and task.attempt == 1
    view.apply(started(8.0, "1", slot=2, attempt=2))
    assert task.status is TaskState.RUNNING and task.attempt == 2 and task.slot == 2
    assert task.percent is None and not task.reported and task.started_at == 8.0
    assert task.retry_step == "" and task.retry_at is None


@pytest.mark.parametrize("status", ["done", "failed", "skipped", "cancelled", "conflict"], ids=str)
def test_task_finished_sets_each_final_state(status: str) -> None:
    view = RunView([info("1")])
    view.apply_all([started(1.0, "1"), finished(9.0, "1", status, attempt=2, reason="why")])
    task = view.task("1")
    assert task.status == status and task.final
    assert (task.duration_s, task.finished_at, task.reason, task.attempt) == (9.0, 9.0, "why", 2)
    assert task.slot is None and view.running() == []
    assert view.finished_count == 1
    assert view.done == (status == "done")


def test_a_task_that_never_started_keeps_attempt_zero() -> None:
    view = RunView([info("1")])
    view.apply(finished(1.0, "1", "skipped", attempt=0, reason="dependency 0 failed"))
    assert view.task("1").attempt == 0
    assert view.task("1").status is TaskState.SKIPPED


def test_an_unknown_final_status_shows_as_failed_with_its_reason() -> None:
    view = RunView([info("1")])
    view.apply(finished(1.0, "1", "exploded", reason="who knows"))
    assert view.task("1").status is TaskState.FAILED
    assert view.task("1").reason == "who knows"


def test_events_of_a_task_the_plan_did_not_list_add_a_row() -> None:
    view = RunView([info("1")])
    view.apply(started(1.0, "9"))
    assert [task.id for task in view.tasks] == ["1", "9"]
    assert view.task("9").status is TaskState.RUNNING


def test_tasks_with_known_dependencies_become_ready_when_they_are_done() -> None:
    view = RunView([info("1", depends=()), info("2", depends=("1",)), info("3")])
    assert view.task("1").status is TaskState.READY
    assert view.task("2").status is TaskState.PENDING
    assert view.task("3").status is TaskState.PENDING
    view.apply_all([started(1.0, "1"), finished(2.0, "1")])
    assert view.task("2").status is TaskState.READY
    assert view.task("3").status is TaskState.PENDING


def test_a_failed_dependency_does_not_make_a_task_ready() -> None:
    view = RunView([info("1", depends=()), info("2", depends=("1",))])
    view.apply(finished(2.0, "1", "failed"))
    assert view.task("2").status is TaskState.PENDING


def test_counts_list_every_state() -> None:
    view = RunView([info("1"), info("2"), info("3")])
    view.apply_all([started(1.0, "1"), ev.TaskWaiting(1.0, "2", "paused")])
    counts = view.counts()
    assert set(counts) == set(TaskState)
    assert counts[TaskState.RUNNING] == 1
    assert counts[TaskState.WAITING] == 1
    assert counts[TaskState.PENDING] == 1
    assert sum(counts.values()) == 3


def test_running_is_ordered_by_slot() -> None:
    view = RunView([info("a"), info("b"), info("c")])
    view.apply_all(
        [started(1.0, "a", slot=3), started(1.0, "b", slot=1), started(1.0, "c", slot=2)]
    )
    assert [task.id for task in view.running()] == ["b", "c", "a"]


def test_resources_keep_peak_rss_cpu_mean_and_max_and_the_over_cpu_flag() -> None:
    view = RunView([info("1"), info("2")])
    view.apply_all(
        [
            started(0.0, "1"),
            started(0.0, "2", slot=2),
            sample(1.0, ("1", 100_000_000, 50.0, False), ("2", 10_000_000, 10.0, False)),
            sample(2.0, ("1", 300_000_000, 150.0, True), ("2", 20_000_000, 30.0, False)),
            sample(3.0, ("1", 200_000_000, 100.0, False)),
        ]
    )
    task = view.task("1")
    assert task.peak_rss == 300_000_000 and task.rss == 200_000_000
    assert task.cpu_mean == pytest.approx(100.0) and task.cpu_max == 150.0
    assert task.cpu_percent == 100.0
    assert task.over_cpu
    assert not view.task("2").over_cpu and view.task("2").peak_rss == 20_000_000
    assert view.memory_available == 4_000_000_000 and view.cpu_percent == 37.5
    assert view.peak_total_rss == 320_000_000


def test_a_late_sample_of_a_finished_task_is_ignored() -> None:
    view = RunView([info("1")])
    view.apply_all(
        [
            started(0.0, "1"),
            sample(1.0, ("1", 100, 20.0, False)),
            finished(2.0, "1"),
            sample(3.0, ("1", 999, 90.0, True)),
        ]
    )
    task = view.task("1")
    assert task.peak_rss == 100 and task.cpu_samples == 1 and not task.over_cpu


def test_a_task_never_sampled_has_no_rss_or_cpu() -> None:
    task = RunView([info("1")]).task("1")
    assert task.peak_rss is None and task.cpu_mean is None and task.cpu_max is None


def test_progress_is_clamped_and_knows_reported_from_estimated() -> None:
    view = RunView([info("1")])
    view.apply_all([started(0.0, "1"), progress(1.0, "1", 30, estimated=True)])
    task = view.task("1")
    assert task.percent == 30 and task.estimated and not task.reported
    view.apply(progress(2.0, "1", 140))
    assert task.percent == 100 and not task.estimated and task.reported
    view.apply(progress(3.0, "1", -5))
    assert task.percent == 0


def test_overall_percent_weights_tasks_by_estimate() -> None:
    view = RunView([info("big", 300.0), info("small", 100.0)])
    assert view.overall_percent() == 0.0
    view.apply_all([started(0.0, "small"), finished(10.0, "small")])
    assert view.overall_percent() == pytest.approx(25.0)
    view.apply_all([started(10.0, "big"), progress(11.0, "big", 50)])
    assert view.overall_percent() == pytest.approx(25.0 + 75.0 * 0.5)


def test_failed_and_skipped_tasks_count_as_complete() -> None:
    view = RunView([info("1"), info("2"), info("3"), info("4")])
    view.apply_all([finished(1.0, "1", "failed"), finished(1.0, "2", "skipped")])
    assert view.overall_percent() == pytest.approx(50.0)


def test_a_silent_running_task_counts_its_elapsed_share_capped_at_99() -> None:
    view = RunView([info("1", 100.0), info("2", 100.0)])
    view.apply(started(0.0, "1"))
    assert view.task_percent(view.task("1"), now=40.0) == pytest.approx(40.0)
    assert view.overall_percent(now=40.0) == pytest.approx(20.0)
    assert view.task_percent(view.task("1"), now=500.0) == ESTIMATED_CAP
    assert view.overall_percent(now=500.0) == pytest.approx(ESTIMATED_CAP / 2)


def test_a_reported_percent_wins_over_elapsed_time() -> None:
    view = RunView([info("1", 100.0)])
    view.apply_all([started(0.0, "1"), progress(1.0, "1", 10)])
    assert view.overall_percent(now=90.0) == pytest.approx(10.0)


def test_tasks_without_an_estimate_weigh_the_mean_of_the_known_ones() -> None:
    view = RunView([info("1", 100.0), info("2", 300.0), info("3", 0.0)])
    assert view.weight(view.task("3")) == pytest.approx(200.0)
    view.apply(finished(1.0, "3"))
    assert view.overall_percent() == pytest.approx(100 * 200 / 600)
    equal = RunView([info("a", 0.0), info("b", 0.0)])
    equal.apply(finished(1.0, "a"))
    assert equal.overall_percent() == pytest.approx(50.0)


def test_an_empty_or_finished_run_is_at_100_percent() -> None:
    assert RunView([]).overall_percent() == 100.0
    view = RunView([info("1")])
    view.apply(ev.RunFinished(5.0, "aborted", 0, 0, 0, 0, 5.0))
    assert view.finished and view.status == "aborted"
    assert view.overall_percent() == 100.0 and view.eta_s() == 0.0
    assert view.elapsed(now=99.0) == 5.0


def test_eta_is_none_before_any_progress_then_a_number() -> None:
    view = RunView([info("1", 100.0), info("2", 100.0)])
    assert view.eta_s() is None
    view.apply(ev.RunStarted(0.0, "r", "p.md", 2, 2))
    view.apply(started(0.0, "1"))
    assert view.eta_s(now=0.0) is None
    view.apply(progress(10.0, "1", 50))
    # 25 % in 10 s: 30 s more at that rate.
    assert view.eta_s() == pytest.approx(30.0)
    view.apply(finished(20.0, "1"))
    assert view.eta_s() == pytest.approx(20.0)


def test_eta_is_never_less_than_the_longest_running_task_still_needs() -> None:
    view = RunView([info("short", 10.0), info("long", 1000.0)])
    view.apply_all(
        [
            started(0.0, "short"),
            started(0.0, "long", slot=2),
            finished(10.0, "short"),
            progress(10.0, "long", 1),
        ]
    )
    # The run's rate alone says 10 s × 98 / 2 ≈ 490 s; "long" needs 10 s × 99 / 1 = 990 s.
    assert view.eta_s() == pytest.approx(990.0)


def test_eta_of_a_silent_task_is_at_least_its_estimate_left() -> None:
    view = RunView([info("1", 100.0)])
    view.apply(started(0.0, "1"))
    assert view.eta_s(now=20.0) == pytest.approx(80.0)


def test_estimated_progress_covers_only_silent_running_tasks() -> None:
    view = RunView([info("quiet", 100.0), info("chatty", 100.0), info("idle", 100.0)])
    view.apply_all(
        [started(0.0, "quiet"), started(0.0, "chatty", slot=2), progress(1.0, "chatty", 5)]
    )
    assert view.estimated_progress(25.0) == [("quiet", pytest.approx(25.0))]
    assert view.estimated_progress(1000.0) == [("quiet", ESTIMATED_CAP)]


def test_estimated_progress_events_do_not_stop_the_estimate() -> None:
    view = RunView([info("1", 100.0)])
    view.apply_all([started(0.0, "1"), progress(10.0, "1", 10, estimated=True)])
    assert view.estimated_progress(20.0) == [("1", pytest.approx(20.0))]


def test_estimated_progress_starts_again_with_each_attempt() -> None:
    view = RunView([info("1", 100.0)])
    view.apply_all(
        [
            started(0.0, "1"),
            progress(1.0, "1", 90),
            ev.TaskRetrying(2.0, "1", 2, "retry", 0.0, "exit 1"),
            started(2.0, "1", attempt=2),
        ]
    )
    assert view.estimated_progress(12.0) == [("1", pytest.approx(10.0))]


def test_a_task_without_an_estimate_gets_the_capped_bar() -> None:
    view = RunView([info("1", 0.0)])
    view.apply(started(0.0, "1"))
    assert view.estimated_progress(0.5) == [("1", pytest.approx(50.0))]
    assert view.estimated_progress(5.0) == [("1", ESTIMATED_CAP)]


def test_merge_results_are_kept() -> None:
    view = RunView([info("1")])
    conflict = ev.MergeConflict("a.txt", "add/add", "1", "One", "2", "Two", "abcdef0")
    view.apply(ev.MergeWaiting(0.5, "1", ("a.txt",), "a.txt changed by hand"))
    assert view.task("1").merge_waiting == "a.txt changed by hand"
    view.apply(ev.MergeFinished(1.0, "1", "conflict", (conflict,)))
    assert view.task("1").merge_result == "conflict"
    assert view.task("1").conflicts == (conflict,)
    assert view.task("1").merge_waiting == ""


def test_agent_stats_count_success_mean_duration_peak_rss_and_cpu() -> None:
    view = RunView([info("1"), info("2"), info("3"), info("4"), info("5", agent="codex")])
    view.apply_all(
        [
            started(0.0, "1"),
            started(0.0, "2", slot=2),
            sample(1.0, ("1", 100, 40.0, False), ("2", 300, 80.0, False)),
            sample(2.0, ("1", 200, 60.0, False)),
            ev.TaskFinished(10.0, "1", "done", 0, "", 1, 10.0),
            ev.TaskFinished(30.0, "2", "done", 0, "", 1, 30.0),
            ev.TaskFinished(31.0, "3", "conflict", None, "conflict on a with 1", 1, 1.0),
            ev.TaskFinished(31.0, "4", "skipped", None, "dependency 3 failed", 0, 0.0),
        ]
    )
    claude, codex = view.agent_stats()
    assert (claude.agent, claude.tasks, claude.done, claude.failed) == ("claude", 4, 2, 1)
    assert claude.success_rate == pytest.approx(200 / 3)
    assert claude.mean_duration_s == pytest.approx(20.0)
    assert claude.peak_rss == 300
    assert claude.mean_cpu == pytest.approx(60.0)
    assert (codex.tasks, codex.done, codex.failed) == (1, 0, 0)
    assert codex.success_rate is None and codex.mean_duration_s is None
    assert codex.peak_rss is None and codex.mean_cpu is None


def test_plan_tasks_reads_ids_titles_agents_estimates_and_dependencies() -> None:
    plan, problems = parse_plan(
        "# P\n## Phase 1\n- [ ] 1.1 First (agent: codex)\n- [ ] 1.2 Second\n"
        "## Phase 2\n- [ ] 2.1 Third\n",
        "plan.md",
    )
    config, _ = load_config([])
    assert not problems and config is not None
    tasks = plan_tasks(plan, config, {"1.1": 30.0}, PlanGraph(plan))
    assert [task.id for task in tasks] == ["1.1", "1.2", "2.1"]
    assert tasks[0].agent == "codex" and tasks[0].estimate_s == 30.0
    assert tasks[1].estimate_s == 0.0 and tasks[1].title == "Second"
    assert tasks[2].depends == ("1.1", "1.2")
    view = RunView(tasks)
    assert view.task("1.1").status is TaskState.READY
    assert view.task("2.1").status is TaskState.PENDING


STATUSES = ["done", "failed", "skipped", "cancelled", "conflict"]


@given(
    estimates=st.lists(st.floats(0.0, 1e4), min_size=1, max_size=8),
    data=st.data(),
)
def test_overall_percent_stays_in_range_and_never_drops_as_tasks_finish(
    estimates: list[float], data: st.DataObject
) -> None:
    ids = [str(index) for index in range(len(estimates))]
    view = RunView([info(task, estimate) for task, estimate in zip(ids, estimates, strict=True)])
    order = data.draw(st.permutations(ids))
    for task in order:
        if data.draw(st.booleans()):
            view.apply(started(0.0, task))
            percent = data.draw(st.floats(-10.0, 200.0))
            view.apply(progress(1.0, task, percent, estimated=data.draw(st.booleans())))
    now = data.draw(st.floats(0.0, 1e5))
    before = view.overall_percent(now)
    assert 0.0 <= before <= 100.0
    for task in order:
        view.apply(finished(1.0, task, data.draw(st.sampled_from(STATUSES))))
        after = view.overall_percent(now)
        assert 0.0 <= after <= 100.0
        assert after >= before - 1e-9
        before = after
    assert before == pytest.approx(100.0)


def test_every_attempt_is_kept_as_a_span_with_its_slot_and_end() -> None:
    view = RunView([TaskInfo("1.1", "One", "demo", 5.0), TaskInfo("1.2", "Two", "demo", 5.0)])
    view.apply_all(
        [
            ev.RunStarted(0.0, "run", "plan.md", 2, 5),
            ev.TaskStarted(0.0, "1.1", "demo", 1, 1, "/w"),
            ev.TaskRetrying(2.0, "1.1", 2, "retry", 1.0, "exit 1"),
            ev.TaskStarted(3.0, "1.1", "demo", 2, 2, "/w"),
            ev.TaskStarted(3.0, "1.2", "demo", 1, 1, "/w"),
            ev.TaskFinished(4.0, "1.1", "done", 0, "", 2, 1.0),
        ]
    )
    spans = [(s.task, s.slot, s.attempt, s.start, s.end, s.ended) for s in view.spans]
    assert spans == [
        ("1.1", 1, 1, 0.0, 2.0, "retrying"),
        ("1.1", 2, 2, 3.0, 4.0, "done"),
        ("1.2", 1, 1, 3.0, None, ""),
    ]
