"""The task state machine: which moves are legal, which states are final (docs/design.md §4)."""

from __future__ import annotations

import itertools

import pytest

from pmtui.scheduling.states import (
    FINAL_STATES,
    LEGAL_TRANSITIONS,
    IllegalTransition,
    TaskState,
    check_transition,
)

LEGAL = sorted(
    (current, target) for current, targets in LEGAL_TRANSITIONS.items() for target in targets
)
ILLEGAL = sorted(
    (current, target)
    for current, target in itertools.product(TaskState, repeat=2)
    if target not in LEGAL_TRANSITIONS[current]
)


def test_every_state_has_a_row_in_the_transition_table() -> None:
    assert set(LEGAL_TRANSITIONS) == set(TaskState)


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_legal_transition_is_accepted(current: TaskState, target: TaskState) -> None:
    check_transition("2.1", current, target)


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_transition_is_rejected_naming_the_task_and_both_states(
    current: TaskState, target: TaskState
) -> None:
    with pytest.raises(IllegalTransition) as raised:
        check_transition("2.1", current, target)
    message = str(raised.value)
    assert message.startswith(f"task 2.1: cannot go from {current} to {target}")
    assert (raised.value.task_id, raised.value.current, raised.value.target) == (
        "2.1",
        current,
        target,
    )


def test_the_design_happy_path_is_legal() -> None:
    path = [TaskState.PENDING, TaskState.READY, TaskState.WAITING, TaskState.RUNNING]
    path += [TaskState.RETRYING, TaskState.READY, TaskState.RUNNING, TaskState.DONE]
    for current, target in itertools.pairwise(path):
        check_transition("t1", current, target)


def test_no_state_goes_to_itself() -> None:
    for state in TaskState:
        assert state not in LEGAL_TRANSITIONS[state]


@pytest.mark.parametrize("state", [TaskState.DONE, TaskState.CANCELLED])
def test_done_and_cancelled_are_dead_ends_and_the_message_says_so(state: TaskState) -> None:
    assert LEGAL_TRANSITIONS[state] == frozenset()
    with pytest.raises(IllegalTransition, match="nothing: it is final"):
        check_transition("4.1", state, TaskState.READY)


def test_illegal_transition_message_lists_what_is_allowed() -> None:
    with pytest.raises(IllegalTransition) as raised:
        check_transition("1.1", TaskState.PENDING, TaskState.RUNNING)
    assert "cancelled, ready, skipped" in str(raised.value)


def test_a_failed_or_conflicted_task_can_be_reopened_by_a_user_retry() -> None:
    for state in (TaskState.FAILED, TaskState.CONFLICT):
        check_transition("1.1", state, TaskState.READY)


def test_a_skipped_task_can_only_be_reopened_to_pending() -> None:
    assert LEGAL_TRANSITIONS[TaskState.SKIPPED] == frozenset({TaskState.PENDING})


def test_a_rate_limited_attempt_goes_from_running_back_to_waiting() -> None:
    check_transition("1.1", TaskState.RUNNING, TaskState.WAITING)


@pytest.mark.parametrize(
    "state",
    [TaskState.PENDING, TaskState.READY, TaskState.WAITING, TaskState.RUNNING, TaskState.RETRYING],
)
def test_every_open_state_may_be_skipped_or_cancelled(state: TaskState) -> None:
    check_transition("1.1", state, TaskState.SKIPPED)
    check_transition("1.1", state, TaskState.CANCELLED)


def test_final_states_are_done_failed_skipped_cancelled_and_conflict() -> None:
    expected = {"done", "failed", "skipped", "cancelled", "conflict"}
    assert {str(state) for state in FINAL_STATES} == expected
    assert {str(state) for state in TaskState if state.final} == expected


@pytest.mark.parametrize(
    "state",
    [TaskState.PENDING, TaskState.READY, TaskState.WAITING, TaskState.RUNNING, TaskState.RETRYING],
)
def test_passing_states_are_not_final(state: TaskState) -> None:
    assert not state.final
    assert not state.blocks_dependents


@pytest.mark.parametrize(
    ("state", "blocks"),
    [
        (TaskState.DONE, False),
        (TaskState.FAILED, True),
        (TaskState.SKIPPED, True),
        (TaskState.CANCELLED, True),
        (TaskState.CONFLICT, True),
    ],
)
def test_every_final_state_but_done_blocks_dependents(state: TaskState, blocks: bool) -> None:
    assert state.blocks_dependents is blocks


def test_state_values_are_the_json_names() -> None:
    assert [str(state) for state in TaskState] == [
        "pending",
        "ready",
        "waiting",
        "running",
        "retrying",
        "done",
        "failed",
        "skipped",
        "cancelled",
        "conflict",
    ]
