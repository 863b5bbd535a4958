"""The seed 001 compatibility matrix, rule by rule, with the default config's agents."""

from __future__ import annotations

import itertools

import pytest

from pmtui.config.model import CompatConfig
from pmtui.scheduling.compat import Compatibility
from pmtui.scheduling.decisions import Outcome
from pmtui.scheduling.scheduler import Scheduler
from pmtui.scheduling.simulator import simulate
from tests.scheduling.helpers import (
    CODE_AGENTS,
    CONFIG,
    scheduler_of,
    scripted,
    started,
    waiting,
)

CLUSTERS = [
    ("error-handler", "qa-engineer", "performance-agent"),
    ("swebok-engineer", "architect-agent"),
    ("security-agent", "compliance-agent"),
    ("test-fixer-agent", "obsidian-test-agent", "ui-test-expert"),
]
CLUSTER_PAIRS = [pair for cluster in CLUSTERS for pair in itertools.combinations(cluster, 2)]
READ_ONLY = ("product-manager", "qa-engineer", "monitoring", "security-agent", "babok-agent")


def two_tasks(first: str, second: str, files: str = "") -> Scheduler:
    """Two tasks of one phase (free to run together but for the matrix)."""
    key = f" (files: {files})" if files else ""
    return scheduler_of(
        f"""
        ## Phase 1: Together
        - [ ] 1.1 First (agent: {first}){key}
        - [ ] 1.2 Second (agent: {second}){key}
        """
    )


def assert_second_waits_for_first(scheduler: Scheduler) -> None:
    outputs = scheduler.decide(0)
    assert started(outputs) == ["1.1"]
    reason = waiting(outputs)["1.2"]
    assert reason.startswith("compatibility:")
    assert reason.endswith("is running)")  # names the agent in the way
    assert scheduler.blocker("1.2") == "1.1"
    scheduler.finished("1.1", 5, Outcome.SUCCEEDED, exit_code=0)
    assert started(scheduler.decide(5)) == ["1.2"]


def test_default_config_has_the_seed_001_matrix() -> None:
    assert set(CONFIG.compat.clusters) == {frozenset(cluster) for cluster in CLUSTERS}
    assert CONFIG.compat.never_together == (frozenset({"meta-agent", "agent-factory"}),)
    assert CONFIG.compat.singleton == frozenset({"state-persistence-agent"})
    assert CONFIG.compat.exclusive_with_code == frozenset({"release-agent"})


def test_default_config_code_agents_are_the_six_seed_ones_shell_and_the_presets() -> None:
    code = {name for name, agent in CONFIG.agents.items() if agent.modifies_code}
    assert code == {*CODE_AGENTS, "shell", "claude", "codex", "gemini", "aider", "opencode"}


# --------------------------------------------------------------------------- clusters


def test_error_handler_qa_engineer_and_performance_agent_run_together_on_the_same_file() -> None:
    scheduler = scheduler_of(
        """
        ## Phase 1: Investigate
        - [ ] 1.1 Look at the errors (agent: error-handler) (files: src/app.py)
        - [ ] 1.2 Run the suite (agent: qa-engineer) (files: src/app.py)
        - [ ] 1.3 Profile it (agent: performance-agent) (files: src/app.py)
        """
    )
    outputs = scheduler.decide(0)
    assert started(outputs) == ["1.1", "1.2", "1.3"]
    assert waiting(outputs) == {}


@pytest.mark.parametrize(("first", "second"), CLUSTER_PAIRS)
def test_cluster_mates_take_no_file_lock_against_each_other(first: str, second: str) -> None:
    for a, b in ((first, second), (second, first)):
        outputs = two_tasks(a, b, files="src/shared.py").decide(0)
        assert started(outputs) == ["1.1", "1.2"]


@pytest.mark.parametrize(("first", "second"), CLUSTER_PAIRS)
def test_cluster_mates_share_a_cluster_both_ways(first: str, second: str) -> None:
    compat = Compatibility(CONFIG.compat, frozenset(CODE_AGENTS))
    assert compat.same_cluster(first, second)
    assert compat.same_cluster(second, first)


def test_agents_of_different_clusters_do_lock_shared_files() -> None:
    scheduler = two_tasks("error-handler", "security-agent", files="src/app.py")
    outputs = scheduler.decide(0)
    assert started(outputs) == ["1.1"]
    assert waiting(outputs)["1.2"] == "file lock: src/app.py is in use"
    assert scheduler.blocker("1.2") == "1.1"


def test_an_agent_outside_every_cluster_shares_no_cluster_even_with_itself() -> None:
    compat = Compatibility(CONFIG.compat, frozenset(CODE_AGENTS))
    assert not compat.same_cluster("product-manager", "product-manager")
    assert not compat.same_cluster("product-manager", "qa-engineer")
    assert not compat.same_cluster("qa-engineer", "security-agent")


def test_cluster_mates_still_lock_files_against_a_third_agent_outside_the_cluster() -> None:
    scheduler = scheduler_of(
        """
        ## Phase 1: Investigate
        - [ ] 1.1 Look (agent: error-handler) (files: src/app.py)
        - [ ] 1.2 Test (agent: qa-engineer) (files: src/app.py)
        - [ ] 1.3 Plan (agent: product-manager) (files: src/app.py)
        """
    )
    outputs = scheduler.decide(0)
    assert started(outputs) == ["1.1", "1.2"]
    assert waiting(outputs)["1.3"] == "file lock: src/app.py is in use"
    assert scheduler.blocker("1.3") in {"1.1", "1.2"}


# --------------------------------------------------------------------------- never_together


@pytest.mark.parametrize(
    ("first", "second"), [("meta-agent", "agent-factory"), ("agent-factory", "meta-agent")]
)
def test_meta_agent_and_agent_factory_never_run_together(first: str, second: str) -> None:
    scheduler = two_tasks(first, second)
    outputs = scheduler.decide(0)
    assert started(outputs) == ["1.1"]
    assert "never runs together with" in waiting(outputs)["1.2"]
    scheduler.finished("1.1", 5, Outcome.SUCCEEDED, exit_code=0)
    assert started(scheduler.decide(5)) == ["1.2"]


@pytest.mark.parametrize(
    ("first", "second"), [("meta-agent", "agent-factory"), ("agent-factory", "meta-agent")]
)
def test_never_together_reason_names_the_agent_in_the_way(first: str, second: str) -> None:
    assert_second_waits_for_first(two_tasks(first, second))


def test_two_meta_agents_may_run_together() -> None:
    assert started(two_tasks("meta-agent", "meta-agent").decide(0)) == ["1.1", "1.2"]


# --------------------------------------------------------------------------- singleton


def test_state_persistence_agent_is_a_singleton() -> None:
    scheduler = two_tasks("state-persistence-agent", "state-persistence-agent")
    outputs = scheduler.decide(0)
    assert "singleton" in waiting(outputs)["1.2"]
    assert_second_waits_for_first(two_tasks("state-persistence-agent", "state-persistence-agent"))


def test_singleton_instances_never_overlap_in_a_whole_run() -> None:
    scheduler = scheduler_of(
        """
        ## Phase 1: Save
        - [ ] 1.1 Save a (agent: state-persistence-agent)
        - [ ] 1.2 Save b (agent: state-persistence-agent)
        - [ ] 1.3 Save c (agent: state-persistence-agent)
        - [ ] 1.4 Watch (agent: monitoring)
        """
    )
    result = simulate(scheduler, scripted(durations={"1.1": 7, "1.2": 3, "1.3": 5}))
    saves = sorted(
        (a.start_s, a.end_s) for a in result.attempts if a.agent == "state-persistence-agent"
    )
    assert len(saves) == 3
    for (_, end), (start, _) in itertools.pairwise(saves):
        assert start >= end
    watch = next(a for a in result.attempts if a.task == "1.4")
    assert watch.start_s == 0


def test_a_singleton_runs_beside_other_agents() -> None:
    outputs = two_tasks("state-persistence-agent", "monitoring").decide(0)
    assert started(outputs) == ["1.1", "1.2"]


# --------------------------------------------------------------------------- exclusive_with_code


@pytest.mark.parametrize("code_agent", CODE_AGENTS)
def test_release_agent_waits_while_a_code_modifying_agent_runs(code_agent: str) -> None:
    scheduler = two_tasks(code_agent, "release-agent")
    outputs = scheduler.decide(0)
    assert "modifies code" in waiting(outputs)["1.2"]
    assert_second_waits_for_first(two_tasks(code_agent, "release-agent"))


@pytest.mark.parametrize("code_agent", CODE_AGENTS)
def test_a_code_modifying_agent_waits_while_release_agent_runs(code_agent: str) -> None:
    scheduler = two_tasks("release-agent", code_agent)
    outputs = scheduler.decide(0)
    assert "release-agent" in waiting(outputs)["1.2"]
    assert_second_waits_for_first(two_tasks("release-agent", code_agent))


@pytest.mark.parametrize("read_only", READ_ONLY)
def test_release_agent_runs_beside_a_read_only_agent(read_only: str) -> None:
    for first, second in (("release-agent", read_only), (read_only, "release-agent")):
        outputs = two_tasks(first, second).decide(0)
        assert started(outputs) == ["1.1", "1.2"]
        assert waiting(outputs) == {}


def test_release_agent_never_overlaps_code_changes_in_a_whole_run() -> None:
    scheduler = scheduler_of(
        """
        ## Phase 1: Mixed
        - [ ] 1.1 Build (agent: swebok-engineer)
        - [ ] 1.2 Release (agent: release-agent)
        - [ ] 1.3 Fix tests (agent: test-fixer-agent)
        - [ ] 1.4 Announce (agent: product-manager)
        """
    )
    result = simulate(scheduler, scripted(durations={"1.1": 5, "1.3": 20, "1.4": 30}))
    release = next(a for a in result.attempts if a.task == "1.2")
    for attempt in result.attempts:
        if attempt.agent in CODE_AGENTS:
            assert attempt.end_s <= release.start_s or attempt.start_s >= release.end_s
    assert release.start_s == 20


def test_two_code_agents_outside_one_cluster_run_together() -> None:
    assert started(two_tasks("swebok-engineer", "rollback").decide(0)) == ["1.1", "1.2"]


# --------------------------------------------------------------------------- the class itself


def test_clash_with_nothing_running_is_none() -> None:
    compat = Compatibility(CONFIG.compat, frozenset(CODE_AGENTS))
    assert compat.clash("release-agent", []) is None


def test_clash_returns_the_reason_and_the_task_in_the_way() -> None:
    compat = Compatibility(CONFIG.compat, frozenset(CODE_AGENTS))
    running = [("2.1", "product-manager"), ("2.2", "rollback")]
    clash = compat.clash("release-agent", running)
    assert clash is not None
    reason, blocker = clash
    assert blocker == "2.2"
    assert reason.startswith("compatibility:")
    assert reason.endswith("(rollback is running)")


def test_an_unconstrained_agent_never_clashes() -> None:
    compat = Compatibility(CONFIG.compat, frozenset(CODE_AGENTS))
    everyone = [(f"t{i}", name) for i, name in enumerate(CONFIG.agents)]
    assert compat.clash("product-manager", everyone) is None


def test_a_never_together_group_of_one_agent_keeps_two_instances_apart() -> None:
    rules = CompatConfig(never_together=(frozenset({"alerts"}),))
    compat = Compatibility(rules, frozenset())
    clash = compat.clash("alerts", [("1.1", "alerts")])
    assert clash is not None
    assert "never runs together with another alerts" in clash[0]


def test_an_empty_matrix_allows_everything() -> None:
    compat = Compatibility(CompatConfig(), frozenset(CODE_AGENTS))
    assert compat.clash("release-agent", [("1.1", "swebok-engineer")]) is None
    assert not compat.same_cluster("qa-engineer", "error-handler")
