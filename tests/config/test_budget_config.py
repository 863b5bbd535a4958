"""`[budget]` and `[prices."MODEL"]`: defaults, deep merging, every bad value with its line,
`pmtui init`'s text, and pricing an attempt's tokens."""

from __future__ import annotations

import tomllib

import pytest

from pmtui.config.defaults import PRICES, default_settings
from pmtui.config.loader import ConfigSource, load_config
from pmtui.config.model import BudgetConfig, Config, Price
from pmtui.config.prices import parse_dollars, price_of, price_usage
from pmtui.config.writer import render_default_config


def config_of(*texts: str) -> Config:
    names = ["pmtui.toml", "near/pmtui.toml"]
    config, problems = load_config([ConfigSource(names[i], text) for i, text in enumerate(texts)])
    assert problems == [], [problem.render() for problem in problems]
    assert config is not None
    return config


def errors_of(text: str) -> list[str]:
    config, problems = load_config([ConfigSource("pmtui.toml", text)])
    assert config is None
    return [problem.render() for problem in problems]


def error_of(text: str) -> str:
    [error] = errors_of(text)
    return error


# --------------------------------------------------------------------------- [budget]


def test_by_default_a_run_has_no_budget() -> None:
    assert config_of().budget == BudgetConfig(max_cost_usd=0.0, max_tokens=0)


def test_the_budget_takes_dollars_whole_or_not_and_tokens() -> None:
    assert config_of("[budget]\nmax_cost_usd = 5\nmax_tokens = 2000000\n").budget == BudgetConfig(
        5.0, 2_000_000
    )
    assert config_of("[budget]\nmax_cost_usd = 2.5\n").budget.max_cost_usd == 2.5


def test_a_nearer_file_overrides_only_the_budget_key_it_sets() -> None:
    config = config_of(
        "[budget]\nmax_cost_usd = 5\nmax_tokens = 100\n", "[budget]\nmax_tokens = 7\n"
    )
    assert config.budget == BudgetConfig(5.0, 7)


def test_a_dollar_string_is_refused_with_the_number_to_write() -> None:
    assert error_of('[pool]\nmax_concurrent = 5\n\n[budget]\nmax_cost_usd = "$5"\n') == (
        "pmtui.toml:5: error: budget.max_cost_usd: must be a number of dollars, not a string\n"
        "    hint: write the number without quotes or $: 5"
    )


def test_a_negative_budget_is_refused_on_its_line() -> None:
    assert error_of("[budget]\nmax_tokens = 5\nmax_cost_usd = -1\n") == (
        "pmtui.toml:3: error: budget.max_cost_usd: must not be negative, not -1\n"
        "    hint: use 0 or more"
    )


def test_a_token_budget_must_be_a_whole_number() -> None:
    assert error_of("[budget]\nmax_tokens = 1.5\n") == (
        "pmtui.toml:2: error: budget.max_tokens: must be a whole number, not a decimal number\n"
        "    hint: e.g. 1"
    )
    assert error_of("[budget]\nmax_tokens = -3\n").startswith(
        "pmtui.toml:2: error: budget.max_tokens: must be at least 0, not -3"
    )


@pytest.mark.parametrize("value", ["inf", "nan", "true", "[1]"])
def test_a_budget_that_is_no_amount_is_refused(value: str) -> None:
    assert error_of(f"[budget]\nmax_cost_usd = {value}\n").startswith(
        "pmtui.toml:2: error: budget.max_cost_usd: "
    )


def test_an_unknown_budget_key_suggests_the_closest() -> None:
    assert error_of("[budget]\nmax_cost = 5\n") == (
        "pmtui.toml:2: error: budget.max_cost: unknown key\n    hint: did you mean 'max_cost_usd'?"
    )


# --------------------------------------------------------------------------- [prices]


def test_default_prices_cover_the_agents_that_report_no_cost() -> None:
    prices = config_of().prices
    assert prices["gpt-5"] == Price(1.25, 10.0, pytest.approx(0.125))
    assert prices["gpt-5-mini"] == Price(0.25, 2.0, pytest.approx(0.025))
    assert prices["gemini-2.5-flash"] == Price(0.30, 2.50, pytest.approx(0.03))
    for model in ("gpt-5-codex", "gpt-5.5", "gemini-2.5-pro", "gemini-3.1-pro-preview"):
        assert model in prices


def test_a_user_price_replaces_only_the_keys_it_sets() -> None:
    config = config_of('[prices."gpt-5"]\noutput_per_mtok = 12\n')
    assert config.prices["gpt-5"] == Price(1.25, 12.0, pytest.approx(0.125))
    assert config.prices["gpt-5-mini"] == Price(0.25, 2.0, pytest.approx(0.025))


def test_the_cache_price_is_a_tenth_of_the_input_price_unless_given() -> None:
    config = config_of('[prices."gpt-5"]\ninput_per_mtok = 2\n')
    assert config.prices["gpt-5"].cache_read_per_mtok == pytest.approx(0.2)
    given = config_of('[prices."gpt-5"]\ncache_read_per_mtok = 0.5\n')
    assert given.prices["gpt-5"].cache_read_per_mtok == 0.5


def test_a_new_model_is_added_beside_the_defaults() -> None:
    config = config_of(
        '[prices."my-llm.v2"]\ninput_per_mtok = 3\noutput_per_mtok = 15\n'
        "cache_read_per_mtok = 0.3\n"
    )
    assert config.prices["my-llm.v2"] == Price(3.0, 15.0, 0.3)
    assert "gpt-5" in config.prices


def test_inline_tables_under_prices_work_as_well() -> None:
    config = config_of('[prices]\n"new-model" = { input_per_mtok = 1, output_per_mtok = 2 }\n')
    assert config.prices["new-model"] == Price(1.0, 2.0, 0.1)


def test_a_new_model_without_both_prices_is_reported_at_its_table() -> None:
    assert error_of('[pool]\nmax_concurrent = 5\n\n[prices."my-model"]\ninput_per_mtok = 1\n') == (
        "pmtui.toml:4: error: prices.my-model: missing output_per_mtok\n"
        '    hint: give both prices in dollars per million tokens: [prices."my-model"] '
        "input_per_mtok = 1.25, output_per_mtok = 10"
    )


def test_a_model_name_with_a_dot_is_quoted_in_the_key_path() -> None:
    text = '[prices."gpt-5.5"]\ninput_per_mtok = 1\noutput_per_mtok = -2\n'
    assert error_of(text) == (
        'pmtui.toml:3: error: prices."gpt-5.5".output_per_mtok: must not be negative, not -2\n'
        "    hint: use 0 or more"
    )


def test_an_unknown_price_key_is_reported_with_its_line_and_the_closest_key() -> None:
    assert error_of('[prices."gpt-5"]\ninput_per_mtok = 1\noutput_per_mtoken = 2\n') == (
        "pmtui.toml:3: error: prices.gpt-5.output_per_mtoken: unknown key\n"
        "    hint: did you mean 'output_per_mtok'?"
    )


def test_a_price_that_is_not_a_number_is_refused() -> None:
    assert error_of('[prices."gpt-5"]\ninput_per_mtok = "1.25"\n') == (
        "pmtui.toml:2: error: prices.gpt-5.input_per_mtok: must be a number of dollars, "
        "not a string\n"
        "    hint: write the number without quotes or $: 1.25"
    )


def test_a_price_that_is_not_a_table_is_refused() -> None:
    assert error_of('[prices]\n"gpt-5" = 1.25\n') == (
        'pmtui.toml:2: error: prices.gpt-5: must be a table\n    hint: write it as [prices."gpt-5"]'
    )


def test_every_price_problem_is_reported_at_once() -> None:
    text = (
        '[prices."a"]\ninput_per_mtok = -1\noutput_per_mtok = 1\n\n'
        '[prices."b"]\ninput_per_mtok = 1\noutput_per_mtok = "x"\n'
    )
    lines = [error.split(": error:")[0] for error in errors_of(text)]
    assert lines == ["pmtui.toml:2", "pmtui.toml:7"]


def test_a_zero_price_is_allowed() -> None:
    config = config_of('[prices."local"]\ninput_per_mtok = 0\noutput_per_mtok = 0\n')
    assert config.prices["local"] == Price(0.0, 0.0, 0.0)


# --------------------------------------------------------------------------- pmtui init


def test_init_writes_the_budget_and_one_line_per_model_price() -> None:
    text = render_default_config()
    assert "\n[budget]\n" in text
    assert '\n"gpt-5" = { input_per_mtok = 1.25, output_per_mtok = 10.0 }\n' in text
    assert '\n"gpt-5.5" = { ' in text
    data = tomllib.loads(text)
    assert data["prices"] == PRICES
    assert data["budget"] == default_settings()["budget"]


def test_init_says_the_prices_are_list_prices_and_how_names_match() -> None:
    text = render_default_config()
    prices = text[text.index("[prices]") - 100 : text.index('"gpt-5" =')]
    assert "list prices: check your provider's" in prices
    assert "gpt-5-2025-08-07" in prices


def test_the_written_prices_load_back_to_the_default_prices() -> None:
    assert config_of(render_default_config()).prices == config_of().prices


# --------------------------------------------------------------------------- pricing


PRICES_OF = {
    "gpt-5": Price(1.25, 10.0, 0.125),
    "gpt-5-mini": Price(0.25, 2.0, 0.025),
    "gpt-5.5": Price(2.0, 16.0, 0.2),
    "gemini-2.5-pro": Price(1.25, 10.0, 0.125),
}


def test_an_exact_model_name_prices_as_itself() -> None:
    assert price_of(PRICES_OF, "gpt-5-mini") == PRICES_OF["gpt-5-mini"]


def test_a_dated_or_versioned_name_prices_as_the_longest_name_it_starts_with() -> None:
    assert price_of(PRICES_OF, "gpt-5-2025-08-07") == PRICES_OF["gpt-5"]
    assert price_of(PRICES_OF, "gpt-5-mini-2025-08-07") == PRICES_OF["gpt-5-mini"]
    assert price_of(PRICES_OF, "gemini-2.5-pro@001") == PRICES_OF["gemini-2.5-pro"]


def test_a_name_that_goes_on_with_a_dot_or_a_letter_is_another_model() -> None:
    assert price_of(PRICES_OF, "gpt-5.5") == PRICES_OF["gpt-5.5"]
    assert price_of(PRICES_OF, "gpt-5.1") is None
    assert price_of(PRICES_OF, "gpt-50") is None
    assert price_of(PRICES_OF, "gpt") is None


def test_a_provider_prefix_is_tried_without_it() -> None:
    assert price_of(PRICES_OF, "openai/gpt-5-2025-08-07") == PRICES_OF["gpt-5"]


def test_an_unknown_or_empty_model_has_no_price() -> None:
    assert price_usage(PRICES_OF, "claude-sonnet-4", 1000, 1000, 0) is None
    assert price_usage(PRICES_OF, "", 1000, 1000, 0) is None


def test_usage_is_priced_per_million_tokens_with_cached_input_at_its_own_price() -> None:
    cost = price_usage(PRICES_OF, "gpt-5", 1_000_000, 100_000, 2_000_000)
    assert cost == pytest.approx(1.25 + 1.0 + 0.25)


def test_tokens_written_to_a_cache_are_priced_as_input() -> None:
    cost = price_usage(PRICES_OF, "gpt-5", 0, 0, 0, cache_write_tokens=2_000_000)
    assert cost == pytest.approx(2.5)


def test_no_tokens_cost_nothing() -> None:
    assert price_usage(PRICES_OF, "gpt-5", 0, 0, 0) == 0.0


def test_the_default_table_prices_a_dated_codex_model() -> None:
    assert price_usage(config_of().prices, "gpt-5-codex-2025-09-15", 0, 1_000_000, 0) == 10.0


@pytest.mark.parametrize(
    ("text", "dollars"),
    [
        ("$2", 2.0),
        ("2", 2.0),
        ("$2.50", 2.5),
        ("2usd", 2.0),
        ("2 USD", 2.0),
        (" $ 3 ", 3.0),
        (".5", 0.5),
        ("0", 0.0),
    ],
)
def test_dollars_are_read_as_plans_and_the_command_line_write_them(
    text: str, dollars: float
) -> None:
    assert parse_dollars(text) == dollars


@pytest.mark.parametrize("text", ["", "$", "two", "-1", "1e3", "2 dollars", "€2", "1,000"])
def test_what_is_not_an_amount_of_dollars(text: str) -> None:
    assert parse_dollars(text) is None
