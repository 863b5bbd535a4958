"""Estimates: history median of the last 5, else `estimate:`, else the agent's
(docs/design.md §4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from pmtui.config.loader import ConfigSource, load_config
from pmtui.config.model import AgentConfig, Config
from pmtui.plan.model import Plan
from pmtui.plan.parser import parse_plan
from pmtui.scheduling.estimates import HISTORY_DEPTH, NoHistory, estimate_task, estimate_tasks
from tests.scheduling.helpers import CONFIG

PLAN = """\
# Plan: Estimates

## Phase 1: Work
- [ ] 1.1 Own estimate (agent: swebok-engineer) (estimate: 90s)
- [ ] 1.2 Agent estimate (agent: swebok-engineer)
- [ ] 1.3 Default agent's estimate
- [ ] 1.4 Shell by default
    ```sh
    make test
    ```
- [ ] 1.5 Decimal estimate (agent: demo) (estimate: 1.5m)
"""


class FakeHistory:
    """Newest-first successful durations per task; records what it was asked."""

    def __init__(self, durations: Mapping[str, Sequence[float]]) -> None:
        self.durations = durations
        self.asked: list[tuple[str, str, int]] = []

    def successful_durations(self, plan_path: str, task_id: str, limit: int) -> Sequence[float]:
        self.asked.append((plan_path, task_id, limit))
        return list(self.durations.get(task_id, ()))[:limit]


def demo_by_default() -> Config:
    """The defaults with `[pool] default_agent = "demo"`."""
    config, problems = load_config([ConfigSource("pmtui.toml", '[pool]\ndefault_agent = "demo"\n')])
    assert config is not None, problems
    return config


DEMO_BY_DEFAULT = demo_by_default()


def plan(path: str = "plans/feature.md") -> Plan:
    parsed, problems = parse_plan(PLAN, path)
    assert problems == []
    return parsed


def test_without_history_a_task_estimate_wins_over_the_agent_estimate() -> None:
    assert estimate_tasks(plan(), CONFIG)["1.1"] == 90.0


def test_without_history_or_task_estimate_the_agent_estimate_is_used() -> None:
    assert CONFIG.agents["swebok-engineer"].estimate_s == 120.0
    assert estimate_tasks(plan(), CONFIG)["1.2"] == 120.0


def test_a_task_without_agent_takes_the_default_agents_estimate() -> None:
    estimates = estimate_tasks(plan(), DEMO_BY_DEFAULT)
    assert estimates["1.3"] == DEMO_BY_DEFAULT.agents["demo"].estimate_s == 10.0
    assert estimates["1.4"] == DEMO_BY_DEFAULT.agents["demo"].estimate_s


def test_without_default_agent_a_script_task_takes_shells_estimate_and_others_none() -> None:
    """A task with no agent at all is a `pmtui check` error; its estimate is 0, not a guess."""
    estimates = estimate_tasks(plan(), CONFIG)
    assert estimates["1.3"] == 0.0
    assert estimates["1.4"] == CONFIG.agents["shell"].estimate_s


def test_a_role_bound_to_the_default_agent_takes_the_agents_estimate() -> None:
    assert (
        estimate_tasks(plan(), DEMO_BY_DEFAULT)["1.2"] == DEMO_BY_DEFAULT.agents["demo"].estimate_s
    )


def test_decimal_task_estimates_are_seconds() -> None:
    assert estimate_tasks(plan(), CONFIG)["1.5"] == 90.0


def test_history_median_wins_over_everything() -> None:
    history = FakeHistory({"1.1": [30.0, 10.0, 20.0], "1.2": [7.0]})
    estimates = estimate_tasks(plan(), DEMO_BY_DEFAULT, history)
    assert estimates["1.1"] == 20.0
    assert estimates["1.2"] == 7.0
    assert estimates["1.3"] == DEMO_BY_DEFAULT.agents["demo"].estimate_s


def test_history_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    history = FakeHistory({"1.2": [10.0, 40.0, 20.0, 30.0]})
    assert estimate_tasks(plan(), CONFIG, history)["1.2"] == 25.0


def test_only_the_last_five_successful_runs_count() -> None:
    assert HISTORY_DEPTH == 5
    # Newest first: the last five are 1…5 (median 3); the old 100s are ignored.
    history = FakeHistory({"1.2": [1.0, 2.0, 3.0, 4.0, 5.0, 100.0, 100.0, 100.0]})
    assert estimate_tasks(plan(), CONFIG, history)["1.2"] == 3.0


def test_only_the_first_five_are_used_even_if_the_history_returns_more() -> None:
    class Overgenerous(FakeHistory):
        def successful_durations(self, plan_path: str, task_id: str, limit: int) -> Sequence[float]:
            return [1.0, 2.0, 3.0, 4.0, 5.0, 100.0, 100.0]

    assert estimate_tasks(plan(), CONFIG, Overgenerous({}))["1.2"] == 3.0


def test_history_is_asked_by_plan_path_and_task_id_for_five_runs() -> None:
    history = FakeHistory({})
    estimate_tasks(plan("plans/feature.md"), CONFIG, history)
    assert history.asked == [
        ("plans/feature.md", task_id, 5) for task_id in ("1.1", "1.2", "1.3", "1.4", "1.5")
    ]


def test_no_history_returns_nothing() -> None:
    assert list(NoHistory().successful_durations("plan.md", "1.1", 5)) == []


def test_estimate_task_of_an_unknown_agent_is_zero() -> None:
    task = plan().task("1.2")
    assert estimate_task(replace(task, agent="nobody"), "plan.md", CONFIG, NoHistory()) == 0.0


def test_a_changed_agent_estimate_in_config_is_used() -> None:
    agents = dict(CONFIG.agents)
    agents["swebok-engineer"] = AgentConfig(
        name="swebok-engineer",
        command=("true",),
        modifies_code=True,
        timeout_s=None,
        estimate_s=300.0,
        stdin="none",
        rate_limit_pattern="",
    )
    config = replace(CONFIG, agents=agents)
    assert estimate_tasks(plan(), config)["1.2"] == 300.0


def test_duplicate_ids_are_estimated_by_their_first_definition() -> None:
    text = """\
## Phase 1: Work
- [ ] 1.1 First (agent: demo) (estimate: 5s)
- [ ] 1.1 Second (agent: demo) (estimate: 50s)
"""
    parsed, _ = parse_plan(text, "plan.md")
    assert estimate_tasks(parsed, CONFIG) == {"1.1": 5.0}
