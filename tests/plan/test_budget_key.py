"""The `(budget: $N)` task key: the most a task's agent may spend on it (docs/design.md §2, §4)."""

from __future__ import annotations

import pytest

from pmtui.plan.errors import Severity
from pmtui.plan.parser import KNOWN_KEYS, parse_plan


def budget_of(line: str) -> float | None:
    plan, problems = parse_plan(f"## Phase 1: Work\n{line}\n", "plan.md")
    assert problems == [], [problem.render() for problem in problems]
    [task] = plan.tasks
    return task.budget_usd


def error_of(line: str) -> str:
    _, problems = parse_plan(f"## Phase 1: Work\n{line}\n", "plans/p.md")
    [problem] = problems
    assert problem.severity is Severity.ERROR
    return problem.render()


@pytest.mark.parametrize(
    ("value", "dollars"),
    [("$2", 2.0), ("2", 2.0), ("$2.50", 2.5), ("2usd", 2.0), ("2 USD", 2.0), ("$0.25", 0.25)],
)
def test_a_budget_is_an_amount_of_dollars_written_as_people_write_it(
    value: str, dollars: float
) -> None:
    assert budget_of(f"- [ ] 1.1 Implement (agent: claude) (budget: {value})") == dollars


def test_a_task_without_the_key_has_no_budget_of_its_own() -> None:
    assert budget_of("- [ ] 1.1 Implement (agent: claude)") is None


def test_the_key_stays_out_of_the_title_and_goes_with_the_others_in_any_order() -> None:
    plan, problems = parse_plan(
        "## Phase 1: Work\n- [ ] 1.1 Implement (budget: $3) the parser (retries: 0)\n"
    )
    assert problems == []
    [task] = plan.tasks
    assert (task.title, task.budget_usd, task.retries) == ("Implement the parser", 3.0, 0)


def test_a_budget_that_is_no_amount_is_an_error_at_its_value() -> None:
    assert error_of("- [ ] 1.1 Implement (budget: two dollars)") == (
        "plans/p.md:2:30: error: bad budget 'two dollars': budget must be an amount in dollars\n"
        "    hint: e.g. (budget: $2) or (budget: 2.50): the task is stopped, and fails, once its "
        "agent has spent that much"
    )


@pytest.mark.parametrize("value", ["-1", "$", "1e3", "€2", "2 EUR"])
def test_other_amounts_are_errors_too(value: str) -> None:
    assert f"error: bad budget '{value}': budget must be an amount in dollars" in error_of(
        f"- [ ] 1.1 Implement (budget: {value})"
    )


@pytest.mark.parametrize("value", ["0", "$0", "0.00usd"])
def test_a_zero_budget_is_an_error(value: str) -> None:
    assert error_of(f"- [ ] 1.1 Implement (budget: {value})") == (
        "plans/p.md:2:30: error: budget must be more than $0\n"
        "    hint: give the task an amount to spend, e.g. (budget: $2), or drop the key"
    )


def test_a_budget_given_twice_keeps_the_first() -> None:
    plan, problems = parse_plan("## P\n- [ ] 1.1 Do (budget: $1) (budget: $9)\n")
    assert [problem.message for problem in problems] == ["key 'budget' is given twice"]
    assert plan.tasks[0].budget_usd == 1.0


def test_budget_is_a_known_key_and_close_misspellings_are_suggested() -> None:
    assert "budget" in KNOWN_KEYS
    _, problems = parse_plan("## P\n- [ ] 1.1 Do (budjet: $1)\n")
    [problem] = problems
    assert problem.message == "unknown key 'budjet'"
    assert problem.hint.startswith("did you mean 'budget'?")
