"""`load_config`: the defaults of docs/design.md §3, deep merging, and every bad-config error."""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePath

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from pmtui.config.defaults import PRESET_ORDER, ROLE_TEXTS, default_settings
from pmtui.config.loader import ConfigSource, config_search_paths, load_config
from pmtui.config.model import AgentConfig, Config, Strategy
from pmtui.plan.errors import Problem

SEED_001_AGENTS = {
    "swebok-engineer",
    "architect-agent",
    "qa-engineer",
    "error-handler",
    "performance-agent",
    "security-agent",
    "compliance-agent",
    "test-fixer-agent",
    "obsidian-test-agent",
    "ui-test-expert",
    "release-agent",
    "state-persistence-agent",
    "meta-agent",
    "agent-factory",
    "product-manager",
    "babok-agent",
    "ux-researcher",
    "technical-stabilization",
    "monitoring",
    "rollback",
    "alerts",
}
CODE_MODIFYING = {
    "swebok-engineer",
    "architect-agent",
    "test-fixer-agent",
    "technical-stabilization",
    "rollback",
    "agent-factory",
}
DEMO = ("python", "-m", "pmtui.agents.demo")
PRESETS = {"claude", "codex", "gemini", "aider", "opencode"}
BOUND_TO_DEMO = '[pool]\ndefault_agent = "demo"\n'


def load(*texts: str) -> tuple[Config | None, list[Problem]]:
    """Load texts as sources named pmtui.toml, then near/pmtui.toml, … (farthest first)."""
    names = ["pmtui.toml", "near/pmtui.toml", "nearest/pmtui.toml"]
    return load_config([ConfigSource(names[i], text) for i, text in enumerate(texts)])


def config_of(*texts: str) -> Config:
    config, problems = load(*texts)
    assert problems == []
    assert config is not None
    return config


def error_of(*texts: str) -> str:
    """The one problem the texts have, rendered as the user sees it."""
    config, problems = load(*texts)
    assert config is None
    assert len(problems) == 1, [problem.render() for problem in problems]
    return problems[0].render()


def errors_of(*texts: str) -> list[str]:
    config, problems = load(*texts)
    assert config is None
    return [problem.render() for problem in problems]


@pytest.fixture(scope="module")
def defaults() -> Config:
    return config_of()


# --- the defaults reproduce docs/design.md §3 -----------------------------------------------------


def test_no_sources_gives_the_pool_defaults(defaults: Config) -> None:
    pool = defaults.pool
    assert pool.max_concurrent == 5
    assert pool.emergency_boost == 8
    assert pool.memory_per_agent == 4_000_000_000
    assert pool.cpu_per_agent == 20.0
    assert pool.default_timeout_s == 3600.0
    assert pool.strategy is Strategy.CRITICAL_PATH
    assert pool.default_agent == ""
    assert pool.workdir == ""
    assert pool.pause_mode == "soft"


def test_no_sources_gives_the_monitor_defaults(defaults: Config) -> None:
    monitor = defaults.monitor
    assert monitor.refresh_interval_s == 2.0
    assert monitor.detail_level == "high"
    assert monitor.show_performance is True
    assert monitor.theme == "pmtui-dark"


def test_no_sources_gives_the_conflicts_defaults(defaults: Config) -> None:
    conflicts = defaults.conflicts
    assert conflicts.auto_resolve is True
    assert conflicts.max_retries == 3
    assert conflicts.retry_delay_s == 1.0
    assert conflicts.fallback_mode == "sequential"
    assert conflicts.isolation == "auto"


def test_no_sources_gives_empty_isolation_and_merge_steps(defaults: Config) -> None:
    assert defaults.isolation.base == ""
    assert defaults.isolation.setup == ()
    assert defaults.isolation.copy_files == ()
    assert defaults.merge.check == ()


def test_no_sources_has_no_source_files(defaults: Config) -> None:
    assert defaults.sources == ()


def test_default_registry_is_the_seed_001_roles_plus_shell_demo_and_the_presets(
    defaults: Config,
) -> None:
    assert set(defaults.agents) == SEED_001_AGENTS | {"shell", "demo"} | PRESETS
    assert len(SEED_001_AGENTS) == 21
    assert set(ROLE_TEXTS) == SEED_001_AGENTS
    assert set(PRESET_ORDER) == PRESETS


def test_seed_agents_are_roles_with_no_agent_to_run_as_by_default(defaults: Config) -> None:
    """No silent simulator: without a default_agent a seed role cannot run (docs/design.md §3)."""
    for name in SEED_001_AGENTS:
        agent = defaults.agents[name]
        assert agent.name == name
        assert agent.command == ()
        assert agent.bound is False
        assert agent.program == ""
        assert agent.role == ROLE_TEXTS[name]
        assert agent.role != ""
        assert agent.timeout_s == 1800.0


def test_seed_roles_run_as_the_default_agent() -> None:
    config = config_of(BOUND_TO_DEMO)
    demo = config.agents["demo"]
    for name in SEED_001_AGENTS:
        agent = config.agents[name]
        assert agent.name == name
        assert agent.bound is True
        assert agent.base == "demo"
        assert agent.command == DEMO
        assert agent.stdin == "none"
        assert agent.rate_limit_pattern == ""
        assert agent.role == ROLE_TEXTS[name]
        assert agent.timeout_s == 1800.0
        assert agent.estimate_s == demo.estimate_s  # estimate "" = the base agent's
        assert agent.modifies_code is (name in CODE_MODIFYING)


def test_a_role_takes_its_base_agents_program_parser_and_estimate() -> None:
    config = config_of('[agents.qa-engineer]\nbase = "claude"\n')
    role, claude = config.agents["qa-engineer"], config.agents["claude"]
    assert role.base == "claude"
    assert role.command == claude.command
    assert role.parser == claude.parser
    assert role.provider == claude.provider == "anthropic"
    assert role.env == claude.env
    assert role.resume == claude.resume
    assert role.retries == claude.retries == 1
    assert role.estimate_s == claude.estimate_s
    assert role.timeout_s == 1800.0
    assert role.modifies_code is False
    assert role.role == ROLE_TEXTS["qa-engineer"]


def test_a_roles_own_base_wins_over_the_default_agent() -> None:
    config = config_of(BOUND_TO_DEMO + '[agents.qa-engineer]\nbase = "shell"\n')
    assert config.agents["qa-engineer"].base == "shell"
    assert config.agents["qa-engineer"].command == ("sh", "-c", "{script}")
    assert config.agents["product-manager"].base == "demo"


def test_a_new_role_needs_only_a_base_and_its_text() -> None:
    config = config_of('[agents.reviewer]\nbase = "demo"\nrole = "You review code."\n')
    reviewer = config.agents["reviewer"]
    assert (reviewer.base, reviewer.command, reviewer.role) == ("demo", DEMO, "You review code.")
    assert reviewer.modifies_code is False


def test_every_preset_is_a_real_agent_cli_tried_once_more_on_failure(defaults: Config) -> None:
    for name in PRESETS:
        agent = defaults.agents[name]
        assert agent.bound is True
        assert agent.program == name
        assert agent.base == ""
        assert agent.retries == 1
        assert agent.install != ""
        assert agent.api_key_env != ()


def test_exactly_the_six_seed_agents_modify_code(defaults: Config) -> None:
    modifying = {name for name in SEED_001_AGENTS if defaults.agents[name].modifies_code}
    assert modifying == CODE_MODIFYING


def test_builtin_shell_agent_runs_the_script_and_modifies_code(defaults: Config) -> None:
    shell = defaults.agents["shell"]
    assert shell.command == ("sh", "-c", "{script}")
    assert shell.modifies_code is True
    assert shell.timeout_s is None


def test_builtin_demo_agent_is_read_only(defaults: Config) -> None:
    demo = defaults.agents["demo"]
    assert demo.command == DEMO
    assert demo.modifies_code is False
    assert demo.timeout_s is None


def test_default_compatibility_matrix_is_seed_001s(defaults: Config) -> None:
    compat = defaults.compat
    assert compat.clusters == (
        frozenset({"error-handler", "qa-engineer", "performance-agent"}),
        frozenset({"swebok-engineer", "architect-agent"}),
        frozenset({"security-agent", "compliance-agent"}),
        frozenset({"test-fixer-agent", "obsidian-test-agent", "ui-test-expert"}),
    )
    assert compat.never_together == (frozenset({"meta-agent", "agent-factory"}),)
    assert compat.singleton == frozenset({"state-persistence-agent"})
    assert compat.exclusive_with_code == frozenset({"release-agent"})


def test_default_keys_are_the_monitor_keys_of_design_section_8(defaults: Config) -> None:
    assert dict(defaults.keys) == {
        "pause": "p",
        "hard_pause": "P",
        "retry": "r",
        "skip": "s",
        "abort": "a",
        "boost": "b",
        "logs": "enter",
        "gantt": "g",
        "compare": "c",
        "conflicts": "x",
        "events": "e",
        "theme": "t",
        "help": "?",
        "quit": "q",
    }


def test_empty_and_comment_only_sources_change_nothing(defaults: Config) -> None:
    config = config_of("", "# nothing here\n\n")
    assert replace(config, sources=()) == defaults
    assert config.sources == ("pmtui.toml", "near/pmtui.toml")


# --- deep merge ---------------------------------------------------------------------------


def test_agent_table_overrides_only_the_keys_it_sets(defaults: Config) -> None:
    config = config_of('[agents.qa-engineer]\ntimeout = "5m"\n')
    assert config.agents["qa-engineer"] == replace(defaults.agents["qa-engineer"], timeout_s=300.0)
    assert {name: agent for name, agent in config.agents.items() if name != "qa-engineer"} == {
        name: agent for name, agent in defaults.agents.items() if name != "qa-engineer"
    }


def test_section_key_overrides_only_that_key(defaults: Config) -> None:
    config = config_of("[pool]\nmax_concurrent = 3\n")
    assert config.pool == replace(defaults.pool, max_concurrent=3)
    assert config.monitor == defaults.monitor


def test_nearer_source_wins_over_a_farther_one() -> None:
    config = config_of(
        '[pool]\nmax_concurrent = 2\nstrategy = "fifo"\n',
        "[pool]\nmax_concurrent = 4\n",
    )
    assert config.pool.max_concurrent == 4
    assert config.pool.strategy is Strategy.FIFO


def test_nearer_agent_table_merges_over_a_farther_one() -> None:
    config = config_of(
        '[agents.reviewer]\ncommand = ["review", "{prompt}"]\n',
        '[agents.reviewer]\ntimeout = "10m"\n',
    )
    agent = config.agents["reviewer"]
    assert agent.command == ("review", "{prompt}")
    assert agent.timeout_s == 600.0


def test_nearer_role_table_merges_over_a_farther_one() -> None:
    config = config_of(
        '[agents.qa-engineer]\nbase = "demo"\n',
        '[agents.qa-engineer]\ntimeout = "10m"\n',
    )
    agent = config.agents["qa-engineer"]
    assert (agent.base, agent.command) == ("demo", DEMO)
    assert agent.timeout_s == 600.0


def test_a_seed_role_given_a_command_is_a_plain_agent_again() -> None:
    """The old style: `[agents.qa-engineer] command = [...]` (no base) still works."""
    config = config_of(
        '[agents.qa-engineer]\ncommand = ["claude", "-p", "{prompt}"]\n',
        '[agents.qa-engineer]\ntimeout = "10m"\n',
    )
    agent = config.agents["qa-engineer"]
    assert agent.bound is True
    assert agent.base == ""
    assert agent.command == ("claude", "-p", "{prompt}")
    assert agent.timeout_s == 600.0


def test_lists_replace_rather_than_append() -> None:
    config = config_of(
        '[isolation]\nsetup = ["npm", "ci"]\n[compat]\nsingleton = ["meta-agent"]\n',
        '[isolation]\nsetup = ["make"]\n',
    )
    assert config.isolation.setup == ("make",)
    assert config.compat.singleton == frozenset({"meta-agent"})


def test_compat_clusters_replace_the_default_clusters() -> None:
    config = config_of('[compat]\nclusters = [["qa-engineer", "security-agent"]]\n')
    assert config.compat.clusters == (frozenset({"qa-engineer", "security-agent"}),)
    assert config.compat.never_together == (frozenset({"meta-agent", "agent-factory"}),)


def test_new_agent_with_command_gets_the_agent_defaults() -> None:
    config = config_of('[agents.reviewer]\ncommand = ["review", "{prompt_file}"]\n')
    assert config.agents["reviewer"] == AgentConfig(
        name="reviewer",
        command=("review", "{prompt_file}"),
        modifies_code=True,
        timeout_s=None,
        estimate_s=120.0,
        stdin="none",
        rate_limit_pattern="",
        provider="reviewer",  # "" = its own: it shares rate limits with no other agent
    )


def test_new_agent_may_take_its_command_from_a_farther_source() -> None:
    config = config_of(
        '[agents.reviewer]\ncommand = ["review"]\n',
        '[agents.reviewer]\nstdin = "prompt"\n',
    )
    assert config.agents["reviewer"].command == ("review",)
    assert config.agents["reviewer"].stdin == "prompt"


def test_new_agent_can_be_used_in_compat_and_as_default_agent() -> None:
    config = config_of(
        '[agents.reviewer]\ncommand = ["review"]\nmodifies_code = false\n'
        '[compat]\nsingleton = ["reviewer"]\n[pool]\ndefault_agent = "reviewer"\n'
    )
    assert config.compat.singleton == frozenset({"reviewer"})
    assert config.pool.default_agent == "reviewer"


def test_dotted_keys_and_quoted_agent_names_merge_like_tables() -> None:
    config = config_of('pool.max_concurrent = 2\n[agents]\n"qa-engineer".timeout = "1m"\n')
    assert config.pool.max_concurrent == 2
    assert config.agents["qa-engineer"].timeout_s == 60.0


@pytest.mark.parametrize(
    ("text", "bytes_"),
    [('"512MiB"', 512 * 2**20), ('"1GB"', 10**9), ("1000000", 1_000_000)],
)
def test_memory_per_agent_takes_a_size_or_plain_bytes(text: str, bytes_: int) -> None:
    assert config_of(f"[pool]\nmemory_per_agent = {text}\n").pool.memory_per_agent == bytes_


@pytest.mark.parametrize(("text", "percent"), [("50", 50.0), ('"35%"', 35.0), ("12.5", 12.5)])
def test_cpu_per_agent_takes_a_number_or_a_percent_string(text: str, percent: float) -> None:
    assert config_of(f"[pool]\ncpu_per_agent = {text}\n").pool.cpu_per_agent == percent


@pytest.mark.parametrize(("text", "seconds"), [('"1h30m"', 5400.0), ("90", 90.0), ("0.5", 0.5)])
def test_durations_take_a_duration_string_or_seconds(text: str, seconds: float) -> None:
    assert config_of(f"[pool]\ndefault_timeout = {text}\n").pool.default_timeout_s == seconds


def test_retry_delay_may_be_zero() -> None:
    assert config_of('[conflicts]\nretry_delay = "0s"\n').conflicts.retry_delay_s == 0.0


def test_emergency_boost_equal_to_max_concurrent_is_allowed() -> None:
    config = config_of("[pool]\nmax_concurrent = 8\n")
    assert (config.pool.max_concurrent, config.pool.emergency_boost) == (8, 8)


def test_emergency_boost_is_checked_after_merging_every_source() -> None:
    config = config_of("[pool]\nemergency_boost = 2\n", "[pool]\nmax_concurrent = 1\n")
    assert (config.pool.max_concurrent, config.pool.emergency_boost) == (1, 2)


def test_a_bad_value_overridden_by_a_nearer_source_is_not_an_error() -> None:
    config = config_of("[pool]\nmax_concurrent = 0\n", "[pool]\nmax_concurrent = 2\n")
    assert config.pool.max_concurrent == 2


def test_remapped_key_frees_the_old_one() -> None:
    config = config_of('[keys]\npause = "space"\nhard_pause = "p"\n')
    assert config.keys["pause"] == "space"
    assert config.keys["hard_pause"] == "p"


@st.composite
def _parts_of_the_defaults(draw: st.DrawFn) -> dict[str, object]:
    """Any sections, agents and keys of the defaults, with their default values."""
    settings = default_settings()
    part: dict[str, object] = {}
    for section in draw(st.sets(st.sampled_from(sorted(settings)))):
        values = settings[section]
        chosen = draw(st.sets(st.sampled_from(sorted(values))))
        if section == "agents":
            part[section] = {
                name: {
                    key: values[name][key]
                    for key in draw(st.sets(st.sampled_from(sorted(values[name]))))
                }
                for name in chosen
            }
        else:
            part[section] = {key: values[key] for key in chosen}
    return part


@settings(deadline=None)
@given(_parts_of_the_defaults())
def test_any_part_of_the_defaults_written_back_changes_nothing(part: dict[str, object]) -> None:
    config = config_of(tomli_w.dumps(part))
    assert replace(config, sources=()) == config_of()


@settings(deadline=None)
@given(st.integers(-3, 12), st.integers(-3, 12))
def test_slots_are_valid_exactly_when_at_least_one_and_boost_not_below(
    slots: int, boost: int
) -> None:
    config, problems = load(f"[pool]\nmax_concurrent = {slots}\nemergency_boost = {boost}\n")
    valid = slots >= 1 and boost >= slots
    assert (config is not None) == valid
    assert all(problem.line in (2, 3) for problem in problems)
    if config is not None:
        assert (config.pool.max_concurrent, config.pool.emergency_boost) == (slots, boost)


# --- bad config: FILE:LINE: error: KEY.PATH: message, and a hint ---------------------------


def test_invalid_toml_is_reported_at_the_parsers_line() -> None:
    assert error_of("[pool]\nmax_concurrent = 5\n[monitor\ntheme = 'x'\n") == (
        "pmtui.toml:3: error: not valid TOML: Expected ']' at the end of a table declaration\n"
        "    hint: check the quotes, brackets and `key = value` form on this line "
        '(strings need quotes: timeout = "30m")'
    )


def test_unquoted_string_is_invalid_toml_on_its_line() -> None:
    assert error_of("# pmtui\n\n[pool]\ndefault_timeout = 30m\n").startswith(
        "pmtui.toml:4: error: not valid TOML: "
    )


def test_duplicate_key_is_invalid_toml_at_the_second_line() -> None:
    assert error_of("[pool]\nmax_concurrent = 5\nmax_concurrent = 6\n").startswith(
        "pmtui.toml:3: error: not valid TOML: Cannot overwrite a value"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [('[compat]\nclusters = [\n  ["qa-engineer",\n', 3), ('[pool]\ntheme = """\nx', 3)],
)
def test_toml_cut_off_is_reported_at_the_last_line(text: str, line: int) -> None:
    assert error_of(text).startswith(f"pmtui.toml:{line}: error: not valid TOML: ")


def test_unknown_section_suggests_the_closest() -> None:
    assert error_of("\n[pol]\nmax_concurrent = 5\n") == (
        "pmtui.toml:2: error: pol: unknown section\n    hint: did you mean 'pool'?"
    )


def test_unknown_section_without_a_close_match_lists_the_sections() -> None:
    assert error_of("[zzz]\n") == (
        "pmtui.toml:1: error: zzz: unknown section\n"
        "    hint: sections: pool, monitor, conflicts, isolation, merge, budget, prices, agents, "
        "compat, keys"
    )


def test_unknown_key_suggests_the_closest() -> None:
    assert error_of("\n[pool]\nstrategy = 'fifo'\nmax_concurent = 5\n") == (
        "pmtui.toml:4: error: pool.max_concurent: unknown key\n"
        "    hint: did you mean 'max_concurrent'?"
    )


def test_unknown_agent_key_suggests_the_closest() -> None:
    assert error_of('[agents.qa-engineer]\ntimout = "5m"\n') == (
        "pmtui.toml:2: error: agents.qa-engineer.timout: unknown key\n"
        "    hint: did you mean 'timeout'?"
    )


def test_unknown_key_without_a_close_match_lists_the_keys() -> None:
    assert error_of('[keys]\nfrobnicate = "x"\n') == (
        "pmtui.toml:2: error: keys.frobnicate: unknown key\n"
        "    hint: [keys] has pause, hard_pause, retry, skip, abort, boost, logs, gantt, "
        "compare, conflicts, events, theme, help, quit"
    )


def test_section_that_is_not_a_table() -> None:
    assert error_of("pool = 5\n") == (
        "pmtui.toml:1: error: pool: must be a table\n    hint: write it as [pool]"
    )


def test_agent_that_is_not_a_table() -> None:
    assert error_of("[agents]\nreviewer = 3\n") == (
        "pmtui.toml:2: error: agents.reviewer: must be a table\n"
        "    hint: write it as [agents.reviewer]"
    )


def test_every_shape_problem_of_a_file_is_reported_at_once() -> None:
    assert errors_of("[pol]\n[pool]\nmax = 1\n[agents.demo]\nfoo = 1\n") == [
        "pmtui.toml:1: error: pol: unknown section\n    hint: did you mean 'pool'?",
        "pmtui.toml:3: error: pool.max: unknown key\n"
        "    hint: [pool] has max_concurrent, emergency_boost, memory_per_agent, cpu_per_agent, "
        "default_timeout, strategy, default_agent, workdir, pause_mode",
        "pmtui.toml:5: error: agents.demo.foo: unknown key\n"
        "    hint: an agent has command, modifies_code, timeout, estimate, stdin, "
        "rate_limit_pattern, parser, provider, model, max_turns, args, env, resume, "
        "resume_on_failure, retries, api_key_env, install, min_version, base, role",
    ]


def test_string_where_a_whole_number_is_expected() -> None:
    assert error_of("\n[pool]\nmax_concurrent = '5'\n") == (
        "pmtui.toml:3: error: pool.max_concurrent: must be a whole number, not a string\n"
        "    hint: write the number without quotes: 5"
    )


def test_decimal_where_a_whole_number_is_expected() -> None:
    assert error_of("[conflicts]\nmax_retries = 2.0\n") == (
        "pmtui.toml:2: error: conflicts.max_retries: must be a whole number, "
        "not a decimal number\n    hint: e.g. 1"
    )


def test_boolean_is_not_a_whole_number() -> None:
    assert error_of("[pool]\nmax_concurrent = true\n") == (
        "pmtui.toml:2: error: pool.max_concurrent: must be a whole number, not a boolean\n"
        "    hint: e.g. 1"
    )


def test_number_where_a_boolean_is_expected() -> None:
    assert error_of("[monitor]\n\nshow_performance = 1\n") == (
        "pmtui.toml:3: error: monitor.show_performance: must be true or false, "
        "not a whole number\n    hint: write true or false"
    )


def test_number_where_a_string_is_expected() -> None:
    assert error_of("[isolation]\nbase = 1\n") == (
        "pmtui.toml:2: error: isolation.base: must be a string, not a whole number\n"
        '    hint: write it in quotes: "..."'
    )


def test_command_written_as_a_shell_string_is_refused() -> None:
    assert error_of('\n[agents.qa-engineer]\ncommand = "claude -p {prompt}"\n') == (
        "pmtui.toml:3: error: agents.qa-engineer.command: must be an argv list, not a string\n"
        '    hint: split it into words: ["npm", "test"], never "npm test" '
        "(pmtui runs no shell strings)"
    )


def test_merge_check_written_as_a_shell_string_is_refused() -> None:
    assert error_of('[merge]\ncheck = "make test"\n').startswith(
        "pmtui.toml:2: error: merge.check: must be an argv list, not a string\n"
    )


def test_empty_command_is_refused() -> None:
    assert error_of("[agents.reviewer]\ncommand = []\n") == (
        "pmtui.toml:2: error: agents.reviewer.command: must not be empty\n"
        '    hint: name the program first: ["my-agent", "{prompt}"]'
    )


def test_command_with_a_non_string_item_is_refused() -> None:
    assert error_of('[agents.demo]\ncommand = ["x", 1]\n') == (
        "pmtui.toml:2: error: agents.demo.command: must be a list of strings, but holds a "
        "whole number\n"
        '    hint: quote every item: ["a", "b"]'
    )


def test_agent_name_a_plan_cannot_write_is_refused() -> None:
    assert error_of('[agents."code reviewer"]\ncommand = ["x"]\n') == (
        "pmtui.toml:1: error: agents.code reviewer: not a usable agent name\n"
        "    hint: a plan names agents as (agent: NAME) with letters, digits, '.', '-' and '_' "
        "only, e.g. [agents.code-reviewer]"
    )


def test_bad_duration() -> None:
    assert error_of('[pool]\ndefault_timeout = "5x"\n') == (
        "pmtui.toml:2: error: pool.default_timeout: '5x' is not a duration "
        "(use 90s, 5m, 1h30m, 0.5s or 1.5m)\n"
        "    hint: write a duration such as 90s, 5m, 1h30m, 0.5s or 1.5m"
    )


def test_bad_agent_duration_names_the_agent_key_path() -> None:
    assert error_of('[agents.qa-engineer]\nestimate = "soon"\ntimeout = "5m"\n') == (
        "pmtui.toml:2: error: agents.qa-engineer.estimate: 'soon' is not a duration "
        "(use 90s, 5m, 1h30m, 0.5s or 1.5m)\n"
        "    hint: write a duration such as 90s, 5m, 1h30m, 0.5s or 1.5m"
    )


@pytest.mark.parametrize("value", ['"0s"', "0"])
def test_zero_timeout_is_refused(value: str) -> None:
    assert error_of(f"[pool]\ndefault_timeout = {value}\n") == (
        'pmtui.toml:2: error: pool.default_timeout: must be more than 0\n    hint: e.g. "30m"'
    )


def test_negative_duration_number_is_refused() -> None:
    assert error_of("[conflicts]\nretry_delay = -1\n") == (
        "pmtui.toml:2: error: conflicts.retry_delay: must not be negative, not -1\n"
        '    hint: e.g. "30m"'
    )


@pytest.mark.parametrize("value", ["inf", "nan", "+inf"])
def test_infinite_timeout_is_refused_so_every_run_ends(value: str) -> None:
    assert error_of(f"[pool]\ndefault_timeout = {value}\n").startswith(
        "pmtui.toml:2: error: pool.default_timeout: "
    )


@pytest.mark.parametrize("key", ["pool.default_timeout", "pool.cpu_per_agent"])
def test_integer_too_large_for_a_float_is_refused_not_a_crash(key: str) -> None:
    section, name = key.split(".")
    assert error_of(f"[{section}]\n{name} = {'9' * 400}\n").startswith(
        f"pmtui.toml:2: error: {key}: {'9' * 400} is not a "
    )


def test_boolean_is_not_a_duration() -> None:
    assert error_of("[monitor]\nrefresh_interval = true\n") == (
        "pmtui.toml:2: error: monitor.refresh_interval: must be a duration, not a boolean\n"
        '    hint: e.g. "30m" (90s, 5m, 1h30m, 0.5s or 1.5m)'
    )


def test_bad_size() -> None:
    assert error_of('[pool]\nmemory_per_agent = "256 megs"\n') == (
        "pmtui.toml:2: error: pool.memory_per_agent: '256 megs' is not a size "
        "(use 256MB, 512MiB or 1GiB)\n"
        "    hint: write a size such as 256MB, 512MiB or 1GiB"
    )


@pytest.mark.parametrize("value", ['"0MB"', "0", "-1"])
def test_zero_or_negative_memory_is_refused(value: str) -> None:
    assert error_of(f"[pool]\nmemory_per_agent = {value}\n").startswith(
        "pmtui.toml:2: error: pool.memory_per_agent: must be more than 0"
    )


def test_bad_percent() -> None:
    assert error_of('[pool]\ncpu_per_agent = "a lot"\n') == (
        "pmtui.toml:2: error: pool.cpu_per_agent: 'a lot' is not a percentage "
        "(use 20 or 20%)\n"
        '    hint: write a percentage of one core, e.g. 20 or "20%"'
    )


@pytest.mark.parametrize("value", ["0", '"0%"', "-5"])
def test_zero_or_negative_percent_is_refused(value: str) -> None:
    assert error_of(f"[pool]\ncpu_per_agent = {value}\n") == (
        "pmtui.toml:2: error: pool.cpu_per_agent: must be more than 0\n    hint: e.g. 20"
    )


def test_nan_percent_is_refused() -> None:
    assert error_of("[pool]\ncpu_per_agent = nan\n") == (
        "pmtui.toml:2: error: pool.cpu_per_agent: nan is not a percentage\n    hint: e.g. 20"
    )


def test_max_concurrent_zero_is_refused() -> None:
    assert error_of("\n[pool]\nmax_concurrent = 0\n") == (
        "pmtui.toml:3: error: pool.max_concurrent: must be at least 1, not 0\n"
        "    hint: use 1 or more"
    )


def test_negative_max_retries_is_refused() -> None:
    assert error_of("[conflicts]\nmax_retries = -1\n") == (
        "pmtui.toml:2: error: conflicts.max_retries: must be at least 0, not -1\n"
        "    hint: use 0 or more"
    )


def test_emergency_boost_below_max_concurrent_is_reported_at_the_boost() -> None:
    assert error_of("[pool]\nmax_concurrent = 4\nemergency_boost = 3\n") == (
        "pmtui.toml:3: error: pool.emergency_boost: 3 is fewer than max_concurrent (4)\n"
        "    hint: the boost adds slots: set emergency_boost to max_concurrent or more"
    )


def test_max_concurrent_above_the_default_boost_is_reported_at_max_concurrent() -> None:
    """The user wrote only max_concurrent; the error points at the line they wrote."""
    assert error_of("[pool]\n\nmax_concurrent = 10\n") == (
        "pmtui.toml:3: error: pool.max_concurrent: 10 is more than emergency_boost (8)\n"
        "    hint: the boost adds slots: also set emergency_boost = 10 or more"
    )


def test_boost_clash_is_reported_in_the_file_that_made_it() -> None:
    assert error_of("[pool]\nmax_concurrent = 3\n", "\n\n[pool]\nemergency_boost = 2\n") == (
        "near/pmtui.toml:4: error: pool.emergency_boost: 2 is fewer than max_concurrent (3)\n"
        "    hint: the boost adds slots: set emergency_boost to max_concurrent or more"
    )
    assert error_of("[pool]\nemergency_boost = 6\n", "[pool]\nmax_concurrent = 7\n") == (
        "near/pmtui.toml:2: error: pool.max_concurrent: 7 is more than emergency_boost (6)\n"
        "    hint: the boost adds slots: also set emergency_boost = 7 or more"
    )


def test_bad_strategy_suggests_the_closest() -> None:
    assert error_of('[pool]\nstrategy = "critcal-path"\n') == (
        "pmtui.toml:2: error: pool.strategy: 'critcal-path' is not one of critical-path, "
        "dependency-first, priority, fifo, cost-first\n"
        "    hint: did you mean 'critical-path'?"
    )


def test_bad_choice_without_a_close_match_lists_the_choices() -> None:
    assert error_of('[conflicts]\nfallback_mode = "panic"\n') == (
        "pmtui.toml:2: error: conflicts.fallback_mode: 'panic' is not one of sequential, abort\n"
        "    hint: use one of sequential, abort"
    )


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('[pool]\npause_mode = "firm"\n', "pool.pause_mode"),
        ('[monitor]\ndetail_level = "verbose"\n', "monitor.detail_level"),
        ('[conflicts]\nisolation = "docker"\n', "conflicts.isolation"),
        ('[agents.demo]\nstdin = "file"\n', "agents.demo.stdin"),
    ],
)
def test_every_choice_key_refuses_other_values(text: str, path: str) -> None:
    assert error_of(text).startswith(f"pmtui.toml:2: error: {path}: ")


def test_empty_theme_is_refused() -> None:
    assert error_of('[monitor]\ntheme = ""\n') == (
        "pmtui.toml:2: error: monitor.theme: must not be empty\n"
        '    hint: name one, e.g. "pmtui-dark"'
    )


def test_unknown_agent_in_compat_suggests_the_closest() -> None:
    assert error_of('\n[compat]\nsingleton = ["qa-enginer"]\n') == (
        "pmtui.toml:3: error: compat.singleton: unknown agent 'qa-enginer'\n"
        "    hint: did you mean 'qa-engineer'?"
    )


def test_unknown_agent_in_a_cluster_is_reported_at_the_clusters_line() -> None:
    assert error_of(
        '[compat]\nsingleton = []\nclusters = [\n  ["qa-engineer", "zzz-bot"],\n]\n'
    ) == (
        "pmtui.toml:3: error: compat.clusters: unknown agent 'zzz-bot'\n"
        "    hint: name agents defined under [agents.NAME]"
    )


def test_never_together_entry_that_is_not_a_pair() -> None:
    assert error_of(
        '[compat]\nnever_together = [["meta-agent", "agent-factory", "qa-engineer"]]\n'
    ) == (
        "pmtui.toml:2: error: compat.never_together: each entry must name exactly 2 agents, "
        "not 3\n"
        '    hint: write pairs: [["meta-agent", "agent-factory"]]'
    )


def test_never_together_of_names_instead_of_pairs() -> None:
    assert error_of('[compat]\nnever_together = ["meta-agent", "agent-factory"]\n') == (
        "pmtui.toml:2: error: compat.never_together: must be a list of lists of agent names, "
        "not a list\n"
        '    hint: e.g. [["qa-engineer", "error-handler"]]'
    )


def test_cluster_of_one_says_nothing() -> None:
    assert error_of('[compat]\nclusters = [["qa-engineer"]]\n') == (
        "pmtui.toml:2: error: compat.clusters: each entry must name at least 2 agents\n"
        "    hint: a group of one says nothing"
    )


def test_new_agent_without_command() -> None:
    assert error_of("\n[agents.reviewer]\nmodifies_code = false\n") == (
        "pmtui.toml:2: error: agents.reviewer: has no command\n"
        '    hint: give the program to run as an argv list: command = ["my-agent", '
        '"{prompt}"] under [agents.reviewer], or run it as another agent: '
        'base = "claude"'
    )


def test_empty_new_agent_table_is_reported_in_its_own_file() -> None:
    assert error_of("[pool]\nmax_concurrent = 3\n", "\n\n[agents.reviewer]\n") == (
        "near/pmtui.toml:3: error: agents.reviewer: has no command\n"
        '    hint: give the program to run as an argv list: command = ["my-agent", '
        '"{prompt}"] under [agents.reviewer], or run it as another agent: '
        'base = "claude"'
    )


def test_new_agent_without_command_is_not_also_unknown_in_compat() -> None:
    assert errors_of(
        '[agents.reviewer]\nstdin = "prompt"\n[compat]\nsingleton = ["reviewer"]\n'
    ) == [
        "pmtui.toml:1: error: agents.reviewer: has no command\n"
        '    hint: give the program to run as an argv list: command = ["my-agent", '
        '"{prompt}"] under [agents.reviewer], or run it as another agent: '
        'base = "claude"'
    ]


def test_bad_regex_in_rate_limit_pattern() -> None:
    assert error_of('[agents.qa-engineer]\n\nrate_limit_pattern = "429|(rate"\n') == (
        "pmtui.toml:3: error: agents.qa-engineer.rate_limit_pattern: not a valid regular "
        "expression: missing ), unterminated subpattern at position 4\n"
        '    hint: e.g. "429|rate limit"'
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[agents.demo]\n\nrate_limit_pattern = "429|(rate"\n', 3),
        (BOUND_TO_DEMO + '[agents.qa-engineer]\nrate_limit_pattern = "429|(rate"\n', 4),
    ],
)
def test_bad_regex_in_rate_limit_pattern_of_an_agent_or_a_bound_role(text: str, line: int) -> None:
    assert error_of(text).startswith(f"pmtui.toml:{line}: error: agents.")
    assert "rate_limit_pattern: not a valid regular expression" in error_of(text)


def test_good_rate_limit_pattern_is_kept() -> None:
    config = config_of(
        BOUND_TO_DEMO + '[agents.qa-engineer]\nrate_limit_pattern = "429|rate limit"\n'
        '[agents.demo]\nrate_limit_pattern = "busy"\n'
    )
    assert config.agents["qa-engineer"].rate_limit_pattern == "429|rate limit"
    assert config.agents["demo"].rate_limit_pattern == "busy"
    assert config.agents["product-manager"].rate_limit_pattern == "busy"  # from its base


# --- roles: base, default_agent ---------------------------------------------------------


def test_base_naming_an_unknown_agent_suggests_the_closest() -> None:
    assert error_of('[pool]\nmax_concurrent = 3\n\n[agents.qa-engineer]\nbase = "claud"\n') == (
        "pmtui.toml:5: error: agents.qa-engineer.base: qa-engineer cannot run as unknown "
        "agent 'claud'\n"
        "    hint: did you mean 'claude'?"
    )


def test_base_naming_a_role_is_an_error_at_the_base_line() -> None:
    rendered = error_of('\n[agents.qa-engineer]\nbase = "product-manager"\n')
    assert rendered.startswith("pmtui.toml:3: error: agents.qa-engineer.base: ")
    assert "'product-manager': that is a role itself" in rendered
    assert "hint: name an agent that runs a program" in rendered


def test_base_in_a_nearer_file_is_reported_in_that_file() -> None:
    assert error_of(BOUND_TO_DEMO, '[agents.reviewer]\nbase = "nobody"\nrole = "x"\n').startswith(
        "near/pmtui.toml:2: error: agents.reviewer.base: reviewer cannot run as unknown agent "
        "'nobody'\n"
    )


def test_command_and_base_together_is_an_error() -> None:
    assert error_of('[agents.reviewer]\ncommand = ["review"]\nbase = "demo"\n') == (
        "pmtui.toml:3: error: agents.reviewer.base: an agent has either a command or a base, "
        "not both\n"
        "    hint: drop base to run the command, or drop command to run reviewer as the agent "
        "'demo'"
    )


def test_default_agent_naming_a_role_is_an_error() -> None:
    assert error_of('[pool]\nworkdir = ""\ndefault_agent = "qa-engineer"\n') == (
        "pmtui.toml:3: error: pool.default_agent: 'qa-engineer' is a role, not an agent that "
        "runs a program\n"
        "    hint: name one that does: claude, codex, gemini, aider, opencode or shell"
    )


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('[agents.qa-engineer]\nmax_turns = "x"\n', "agents.qa-engineer.max_turns"),
        (BOUND_TO_DEMO + '[agents.qa-engineer]\nparser = "zzz"\n', "agents.qa-engineer.parser"),
    ],
    ids=["bad-override-of-an-unbound-role", "bad-program-key-of-a-bound-role"],
)
def test_a_bad_value_in_a_role_table_is_reported_bound_or_not(text: str, path: str) -> None:
    """A bad value is a config error where it is written, not later (when a default_agent
    appears) nor never (a key the role ignores)."""
    assert f"error: {path}: " in error_of(text)


def test_default_agent_may_be_a_preset() -> None:
    config = config_of('[pool]\ndefault_agent = "codex"\n')
    assert config.agents["swebok-engineer"].base == "codex"
    assert config.agents["swebok-engineer"].program == "codex"
    assert config.agents["swebok-engineer"].modifies_code is True


def test_two_actions_bound_to_one_key_is_reported_at_the_remapped_action() -> None:
    assert error_of('[keys]\nretry = "p"\n') == (
        "pmtui.toml:2: error: keys.retry: 'p' is already the key of pause\n"
        "    hint: give each action its own key"
    )


def test_key_clash_with_a_later_default_action_blames_the_users_line() -> None:
    assert error_of('[keys]\n\npause = "q"\n') == (
        "pmtui.toml:3: error: keys.pause: 'q' is already the key of quit\n"
        "    hint: give each action its own key"
    )


def test_key_clash_within_one_file_blames_the_later_line() -> None:
    assert error_of('[keys]\nquit = "z"\npause = "z"\n') == (
        "pmtui.toml:3: error: keys.pause: 'z' is already the key of quit\n"
        "    hint: give each action its own key"
    )


def test_key_clash_across_files_blames_the_nearer_file() -> None:
    assert error_of('[keys]\nquit = "z"\n', '\n[keys]\npause = "z"\n') == (
        "near/pmtui.toml:3: error: keys.pause: 'z' is already the key of quit\n"
        "    hint: give each action its own key"
    )


@pytest.mark.parametrize("value", ['""', '"ctrl c"'])
def test_key_that_is_not_a_key_name(value: str) -> None:
    assert error_of(f"[keys]\npause = {value}\n").startswith(
        f"pmtui.toml:2: error: keys.pause: {value[1:-1]!r} is not a key\n"
    )


def test_default_agent_unknown_suggests_the_closest() -> None:
    assert error_of('[pool]\nworkdir = ""\ndefault_agent = "qa-enginer"\n') == (
        "pmtui.toml:3: error: pool.default_agent: unknown agent 'qa-enginer'\n"
        "    hint: did you mean 'qa-engineer'?"
    )


def test_error_in_the_second_source_names_the_second_file() -> None:
    assert error_of(
        "[pool]\nmax_concurrent = 3\n",
        '# near\n\n[agents.qa-engineer]\ntimeout = "forever"\n',
    ) == (
        "near/pmtui.toml:4: error: agents.qa-engineer.timeout: 'forever' is not a duration "
        "(use 90s, 5m, 1h30m, 0.5s or 1.5m)\n"
        "    hint: write a duration such as 90s, 5m, 1h30m, 0.5s or 1.5m"
    )


def test_shape_error_in_the_second_source_names_the_second_file() -> None:
    assert error_of("[pool]\n", "\n[pool]\nslots = 3\n").startswith(
        "near/pmtui.toml:3: error: pool.slots: unknown key\n"
    )


def test_toml_error_in_the_second_source_names_the_second_file() -> None:
    assert error_of("[pool]\n", "[pool]\n\nmax_concurrent =\n").startswith(
        "near/pmtui.toml:3: error: not valid TOML: "
    )


def test_value_error_is_reported_where_the_nearest_source_set_it() -> None:
    assert error_of("[pool]\nmax_concurrent = 2\n", "\n[pool]\nmax_concurrent = 0\n") == (
        "near/pmtui.toml:3: error: pool.max_concurrent: must be at least 1, not 0\n"
        "    hint: use 1 or more"
    )


def test_every_value_error_is_reported_at_once() -> None:
    rendered = errors_of(
        '[pool]\nmax_concurrent = 0\nstrategy = "fast"\n[monitor]\nshow_performance = "yes"\n'
    )
    assert [line.split("\n")[0].split(": error: ")[0:2] for line in rendered] == [
        ["pmtui.toml:2", "pool.max_concurrent: must be at least 1, not 0"],
        [
            "pmtui.toml:3",
            "pool.strategy: 'fast' is not one of critical-path, dependency-first, priority, "
            "fifo, cost-first",
        ],
        ["pmtui.toml:5", "monitor.show_performance: must be true or false, not a string"],
    ]


def test_error_lines_follow_dotted_keys_and_inline_tables() -> None:
    assert error_of("pool.max_concurrent = 0\n").startswith(
        "pmtui.toml:1: error: pool.max_concurrent: "
    )
    assert error_of('\n[agents]\nqa-engineer = { timeout = "zz" }\n').startswith(
        "pmtui.toml:3: error: agents.qa-engineer.timeout: "
    )
    assert error_of('[agents."qa-engineer"]  # quoted\n\ntimeout = "zz"\n').startswith(
        "pmtui.toml:3: error: agents.qa-engineer.timeout: "
    )


def test_error_line_is_found_in_the_right_agent_table() -> None:
    text = '[agents.demo]\ntimeout = "1m"\n\n[agents.qa-engineer]\ntimeout = "zz"\n'
    assert error_of(text).startswith("pmtui.toml:5: error: agents.qa-engineer.timeout: ")


def test_problems_have_no_column_so_they_render_file_and_line() -> None:
    _, problems = load("[pool]\nmax_concurrent = 0\n")
    assert (problems[0].file, problems[0].line, problems[0].col) == ("pmtui.toml", 2, 0)


# --- Config.agent_for and Config.timeout_for ----------------------------------------------


def test_agent_for_prefers_the_tasks_own_agent(defaults: Config) -> None:
    assert defaults.agent_for("qa-engineer", has_script=True) == "qa-engineer"


def test_agent_for_without_default_agent_is_shell_for_scripts_else_no_agent(
    defaults: Config,
) -> None:
    """Never a silent simulator: a task with neither agent nor script has none ("")."""
    assert defaults.agent_for(None, has_script=True) == "shell"
    assert defaults.agent_for(None, has_script=False) == ""
    assert defaults.agent_for("", has_script=False) == ""


def test_agent_for_uses_the_configured_default_agent() -> None:
    config = config_of('[pool]\ndefault_agent = "demo"\n')
    assert config.agent_for(None, has_script=True) == "demo"
    assert config.agent_for(None, has_script=False) == "demo"
    assert config.agent_for("qa-engineer", has_script=False) == "qa-engineer"


def test_timeout_for_prefers_the_tasks_own_timeout(defaults: Config) -> None:
    assert defaults.timeout_for("qa-engineer", 42.0) == 42.0


def test_timeout_for_falls_back_to_the_agents_timeout(defaults: Config) -> None:
    assert defaults.timeout_for("qa-engineer", None) == 1800.0


def test_timeout_for_an_agent_without_timeout_is_the_pool_default() -> None:
    config = config_of('[pool]\ndefault_timeout = "2h"\n')
    assert config.timeout_for("demo", None) == 7200.0
    assert config.timeout_for("shell", None) == 7200.0


def test_timeout_for_an_unknown_agent_is_the_pool_default(defaults: Config) -> None:
    assert defaults.timeout_for("nobody", None) == 3600.0


def test_agent_timeout_emptied_by_the_user_falls_back_to_the_pool_default() -> None:
    config = config_of('[agents.qa-engineer]\ntimeout = ""\n')
    assert config.agents["qa-engineer"].timeout_s is None
    assert config.timeout_for("qa-engineer", None) == 3600.0


# --- config_search_paths ------------------------------------------------------------------


def test_search_paths_are_farthest_first_so_the_nearest_merges_last() -> None:
    assert config_search_paths(
        PurePath("/repo/plans"), PurePath("/repo"), PurePath("/home/u/.config")
    ) == [
        PurePath("/home/u/.config/pmtui/pmtui.toml"),
        PurePath("/repo/pmtui.toml"),
        PurePath("/repo/plans/pmtui.toml"),
    ]


def test_search_paths_without_a_repository_skip_the_root() -> None:
    assert config_search_paths(PurePath("/p"), None, PurePath("/x")) == [
        PurePath("/x/pmtui/pmtui.toml"),
        PurePath("/p/pmtui.toml"),
    ]


def test_search_paths_name_a_folder_once_when_the_plan_is_at_the_root() -> None:
    assert config_search_paths(PurePath("/repo"), PurePath("/repo"), PurePath("/x")) == [
        PurePath("/x/pmtui/pmtui.toml"),
        PurePath("/repo/pmtui.toml"),
    ]
