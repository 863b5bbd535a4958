"""The forecast of what remains of a run in progress, from a plan's graph and setup."""

from __future__ import annotations

import pytest

from pmtui.report.remaining import NOTHING_REMAINS, forecast_of_remaining, forecast_remaining
from tests.scheduling.helpers import graph_of, setup_of

CHAIN = """
## Phase 1: Chain [SEQUENTIAL]
- [ ] 1.1 First (agent: demo)
- [ ] 1.2 Second (agent: demo)
- [ ] 1.3 Third (agent: demo)
"""


def test_done_tasks_are_not_forecast_again() -> None:
    graph = graph_of(CHAIN)
    setup = setup_of(graph, estimates={"1.1": 5.0, "1.2": 7.0, "1.3": 11.0})
    result = forecast_of_remaining(graph, setup, {"1.1"})
    assert [attempt.task for attempt in result.simulation.attempts] == ["1.2", "1.3"]
    assert result.makespan_s == 18.0
    assert result.sequential_s == 18.0
    assert result.critical_path.seconds == 18.0


def test_a_running_task_counts_only_what_is_left_of_its_estimate() -> None:
    graph = graph_of(CHAIN)
    setup = setup_of(graph, estimates={"1.1": 5.0, "1.2": 7.0, "1.3": 11.0})
    result = forecast_of_remaining(graph, setup, {"1.1"}, running_for={"1.2": 4.0})
    assert result.makespan_s == 14.0
    overdue = forecast_of_remaining(graph, setup, {"1.1"}, running_for={"1.2": 60.0})
    assert overdue.makespan_s == 11.0


def test_the_text_has_a_line_of_numbers_then_the_chart() -> None:
    graph = graph_of(CHAIN)
    setup = setup_of(graph, estimates={"1.1": 5.0, "1.2": 7.0, "1.3": 11.0})
    text = forecast_remaining(graph, setup, {"1.1"}, width=60)
    lines = text.splitlines()
    assert lines[0].startswith("about 18s more for 2 tasks on 5 slots")
    assert lines[1].startswith("slot 1 │1.2━")
    assert "1.3━" in lines[1]
    assert "1.1" not in text
    assert all(len(line) <= 60 for line in lines[1:])


@pytest.mark.parametrize("width", [40, 80])
def test_nothing_remains_once_every_task_ended(width: int) -> None:
    graph = graph_of(CHAIN)
    setup = setup_of(graph)
    assert forecast_remaining(graph, setup, set(graph.tasks), width=width) == NOTHING_REMAINS
