"""An attempt's tokens and cost, added up from what its agent reports, each counted once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmtui.agents.signals import Usage, UsageScope
from pmtui.engine.usage import UsageTally, added, session_total
from pmtui.store.db import AttemptUsage


def test_steps_add_up_with_their_costs() -> None:
    tally = UsageTally()
    tally.add(Usage(1200, 40, cost_usd=0.0042, model="m"))
    total = tally.add(Usage(1200, 40, cost_usd=0.0042))
    assert (total.input_tokens, total.output_tokens, total.model) == (2400, 80, "m")
    assert total.cost_usd == pytest.approx(0.0084)


def test_a_whole_attempt_figure_replaces_the_steps() -> None:
    tally = UsageTally()
    tally.add(Usage(1200, 1, model="claude-opus"))
    total = tally.add(Usage(2400, 80, cost_usd=0.014, turns=2, scope=UsageScope.ATTEMPT))
    assert (total.input_tokens, total.output_tokens, total.turns) == (2400, 80, 2)
    assert total.model == "claude-opus"  # named by a step, not by the total


def test_a_resumed_codex_session_counts_only_what_this_attempt_added() -> None:
    before = AttemptUsage(input_tokens=2400, output_tokens=80)
    tally = UsageTally(before)
    total = tally.add(Usage(4800, 160, scope=UsageScope.SESSION))
    assert (total.input_tokens, total.output_tokens) == (2400, 80)
    assert session_total(before, total) == AttemptUsage(4800, 160)


def test_unknown_costs_stay_unknown_and_a_known_one_wins() -> None:
    assert UsageTally().add(Usage(1, 1)).cost_usd is None
    assert added(AttemptUsage(cost_usd=None), AttemptUsage(cost_usd=0.5)).cost_usd == 0.5


counts = st.integers(min_value=0, max_value=10**9)


@given(st.lists(st.tuples(counts, counts), max_size=20))
def test_steps_always_total_their_sum(steps: list[tuple[int, int]]) -> None:
    tally = UsageTally()
    for inputs, outputs in steps:
        tally.add(Usage(inputs, outputs))
    assert tally.total.input_tokens == sum(step[0] for step in steps)
    assert tally.total.output_tokens == sum(step[1] for step in steps)


def test_a_session_is_continued_only_by_the_same_agent_running_the_same_program() -> None:
    from pmtui.config.loader import ConfigSource, load_config
    from pmtui.config.model import AgentConfig
    from pmtui.engine.runner import LastSession, continues, last_sessions
    from pmtui.store.db import AttemptRecord

    def role_on(base: str) -> AgentConfig:
        text = f'[pool]\ndefault_agent = "{base}"\n'
        config, _ = load_config([ConfigSource("pmtui.toml", text)])
        assert config is not None
        return config.agents["qa-engineer"]

    record = AttemptRecord(
        "r",
        "1.1",
        1,
        0.0,
        None,
        None,
        "",
        None,
        None,
        None,
        agent="qa-engineer",
        session_id="s",
        runs_as="claude",
    )
    (previous,) = last_sessions([record]).values()
    assert previous == LastSession("qa-engineer", "s", True, AttemptUsage(), "claude")
    assert continues(previous, role_on("claude"))
    # default_agent changed to codex since: a Claude session id means nothing to Codex.
    assert not continues(previous, role_on("codex"))
    plain_failure = LastSession("qa-engineer", "s", False, AttemptUsage(), "claude")
    assert not continues(plain_failure, role_on("claude"))
