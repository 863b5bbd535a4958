"""Durations, sizes and percentages as plans and `pmtui.toml` write them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmtui.config.units import (
    UnitError,
    format_duration,
    format_size,
    parse_duration,
    parse_percent,
    parse_size,
)

# --- durations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("0.5s", 0.5),
        ("1.5m", 90.0),
        ("2s", 2.0),
        ("250ms", 0.25),
        ("30", 30.0),
        ("0", 0.0),
        ("2.5", 2.5),
        (".5s", 0.5),
        ("1h", 3600.0),
        ("1h30m15s", 5415.0),
        ("1m500ms", 60.5),
        ("1H30M", 5400.0),
        (" 5m ", 300.0),
        ("1h 30m", 5400.0),
    ],
)
def test_parse_duration_reads_the_units_plans_use(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_parse_duration_bare_number_means_seconds() -> None:
    assert parse_duration("30") == 30.0
    assert parse_duration("30") == parse_duration("30s")


@pytest.mark.parametrize(
    "text",
    ["5x", "-1s", "m", "1h x", "s", "1hh", "h1", "5m-", "1.s", "1..5s", "ms", "--5m"],
)
def test_parse_duration_rejects_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(UnitError) as caught:
        parse_duration(text)
    assert str(caught.value) == f"{text!r} is not a duration (use 90s, 5m, 1h30m, 0.5s or 1.5m)"


@pytest.mark.parametrize("text", ["", "   "])
def test_parse_duration_rejects_empty_text(text: str) -> None:
    with pytest.raises(UnitError, match=r"^empty duration \(use 90s, 5m"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["-1", "-0", "+5", "1e3", "1_000", "inf", "nan", "infinity"])
def test_parse_duration_bare_number_is_plain_digits_only(text: str) -> None:
    """float() would take all of these; a duration is digits with an optional decimal part."""
    with pytest.raises(UnitError, match="is not a duration"):
        parse_duration(text)


def test_parse_duration_refuses_digits_too_many_for_a_float() -> None:
    with pytest.raises(UnitError, match="is not a duration"):
        parse_duration("9" * 400)
    with pytest.raises(UnitError, match="is not a duration"):
        parse_duration("9" * 400 + "h")


def test_unit_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_duration("5x")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.5, "0.5s"),
        (2, "2s"),
        (45, "45s"),
        (59.94, "59.9s"),
        (59.96, "1m"),
        (60, "1m"),
        (90, "1m30s"),
        (150, "2m30s"),
        (300, "5m"),
        (3600, "1h"),
        (3900, "1h5m"),
        (5400, "1h30m"),
        (3659.6, "1h1m"),
        (3629, "1h"),
        (9751, "2h43m"),
        (86400, "24h"),
    ],
)
def test_format_duration_writes_the_way_plans_do(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("text", ["90s", "5m", "1h30m", "0.5s", "1.5m", "2s", "45s", "1h5m"])
def test_typical_durations_round_trip_exactly(text: str) -> None:
    seconds = parse_duration(text)
    assert parse_duration(format_duration(seconds)) == seconds


def _duration_resolution(seconds: float) -> float:
    """How far format_duration may round: tenths below a minute, seconds, then minutes."""
    if seconds < 59.95:
        return 0.05
    if seconds < 3600:
        return 0.5
    return 30.0


_duration_texts = st.one_of(
    st.integers(0, 10**6).map(str),
    st.builds(
        lambda h, m, s: f"{h}h{m}m{s}s",
        st.integers(0, 48),
        st.integers(0, 59),
        st.integers(0, 59),
    ),
    st.builds(lambda whole, tenth: f"{whole}.{tenth}s", st.integers(0, 5000), st.integers(0, 9)),
    st.builds(lambda whole, tenth: f"{whole}.{tenth}m", st.integers(0, 500), st.integers(0, 9)),
    st.builds(lambda ms: f"{ms}ms", st.integers(0, 10**7)),
)


@given(_duration_texts)
def test_formatted_duration_parses_back_within_rounding(text: str) -> None:
    seconds = parse_duration(text)
    back = parse_duration(format_duration(seconds))
    assert abs(back - seconds) <= _duration_resolution(seconds) + 1e-9


@given(st.floats(min_value=0, max_value=10**7, allow_nan=False))
def test_format_duration_is_stable_once_formatted(seconds: float) -> None:
    once = format_duration(seconds)
    assert format_duration(parse_duration(once)) == once


# --- sizes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("256MB", 256_000_000),
        ("1GiB", 2**30),
        ("512MiB", 512 * 2**20),
        ("1.5GB", 1_500_000_000),
        ("1024", 1024),
        ("1024B", 1024),
        ("1KB", 1000),
        ("1KiB", 1024),
        ("2TB", 2 * 1000**4),
        ("1TiB", 2**40),
        ("256mb", 256_000_000),
        (" 256 MB ", 256_000_000),
        ("0", 0),
    ],
)
def test_parse_size_reads_decimal_and_binary_units(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "size"),
    [("2.01MB", 2_010_000), ("4.35MB", 4_350_000), ("2.07GB", 2_070_000_000), ("1.1KB", 1100)],
)
def test_parse_size_decimals_are_exact_not_float_truncated(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "MB", "-1MB", "1XB", "256M", "1 GB B", "12 34", "1e3"])
def test_parse_size_rejects_what_is_not_a_size(text: str) -> None:
    with pytest.raises(UnitError) as caught:
        parse_size(text)
    assert str(caught.value) == f"{text!r} is not a size (use 256MB, 512MiB or 1GiB)"


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0B"),
        (999, "999B"),
        (1000, "1KB"),
        (1500, "1.5KB"),
        (256_000_000, "256MB"),
        (1_500_000_000, "1.5GB"),
        (2**30, "1.1GB"),
        (999_999, "1MB"),
        (3 * 1000**4, "3TB"),
    ],
)
def test_format_size_uses_decimal_units(size: int, text: str) -> None:
    assert format_size(size) == text


@pytest.mark.parametrize("text", ["256MB", "1.5GB", "512KB", "100B", "2TB"])
def test_typical_sizes_round_trip_exactly(text: str) -> None:
    assert format_size(parse_size(text)) == text


@given(st.integers(0, 10**15))
def test_formatted_size_parses_back_within_five_percent(size: int) -> None:
    back = parse_size(format_size(size))
    assert abs(back - size) <= size * 0.05


# --- percentages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "percent"),
    [("20%", 20.0), ("20", 20.0), ("0.5", 0.5), ("150%", 150.0), (" 20 % ", 20.0)],
)
def test_parse_percent_takes_a_number_with_or_without_the_sign(text: str, percent: float) -> None:
    assert parse_percent(text) == percent


@pytest.mark.parametrize("text", ["", "%", "x", "-5", "20%%", "20 percent", "9" * 400])
def test_parse_percent_rejects_what_is_not_a_percentage(text: str) -> None:
    with pytest.raises(UnitError) as caught:
        parse_percent(text)
    assert str(caught.value) == f"{text!r} is not a percentage (use 20 or 20%)"
