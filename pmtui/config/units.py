"""Parse the human units of plans and config: durations, sizes and percentages.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

_NUMBER = re.compile(r"^(?:\d+(?:\.\d+)?|\.\d+)$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(ms|h|m|s)", re.IGNORECASE)
_SECONDS_PER_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_BYTES_PER_UNIT = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")

DURATION_EXAMPLES = "90s, 5m, 1h30m, 0.5s or 1.5m"
SIZE_EXAMPLES = "256MB, 512MiB or 1GiB"


class UnitError(ValueError):
    """A value that is not a valid duration, size or percentage."""


def parse_duration(text: str) -> float:
    """Parse a duration such as `90s`, `1.5m` or `1h30m` into seconds.

    Args:
        text: The duration as written; a bare number means seconds.

    Returns:
        The duration in seconds (never negative).

    Raises:
        UnitError: The text is not a duration.
    """
    compact = text.strip().replace(" ", "")
    if not compact:
        raise UnitError(f"empty duration (use {DURATION_EXAMPLES})")
    # A bare number is seconds; float() alone would also take "1e3", "inf" and "-5".
    if _NUMBER.match(compact):
        return _finite(float(compact), text, "duration", DURATION_EXAMPLES)
    position = 0
    total = 0.0
    for match in _DURATION_PART.finditer(compact):
        if match.start() != position:
            break
        total += float(match.group(1)) * _SECONDS_PER_UNIT[match.group(2).lower()]
        position = match.end()
    if position != len(compact) or position == 0:
        raise UnitError(f"{text!r} is not a duration (use {DURATION_EXAMPLES})")
    return _finite(total, text, "duration", DURATION_EXAMPLES)


def parse_size(text: str) -> int:
    """Parse a size such as `256MB` (decimal) or `1GiB` (binary) into bytes.

    Raises:
        UnitError: The text is not a size.
    """
    match = _SIZE.match(text)
    if match is None:
        raise UnitError(f"{text!r} is not a size (use {SIZE_EXAMPLES})")
    unit = (match.group(2) or "B").lower()
    # Decimal, so "2.01MB" is 2,010,000 bytes and not float's 2,009,999.
    return int(Decimal(match.group(1)) * _BYTES_PER_UNIT[unit])


def parse_percent(text: str) -> float:
    """Parse a percentage such as `20%` or `20` into a number of percent.

    Raises:
        UnitError: The text is not a percentage.
    """
    match = _PERCENT.match(text)
    if match is None:
        raise UnitError(f"{text!r} is not a percentage (use 20 or 20%)")
    return _finite(float(match.group(1)), text, "percentage", "20 or 20%")


def _finite(number: float, text: str, kind: str, examples: str) -> float:
    """The number, unless its digits are too many for a float (it became inf)."""
    if not math.isfinite(number):
        raise UnitError(f"{text!r} is not a {kind} (use {examples})")
    return number


def format_duration(seconds: float) -> str:
    """Format seconds the way plans write them: `45s`, `2m30s`, `1h5m`, `0.5s`."""
    if round(seconds, 1) < 60:
        whole = round(seconds, 1)
        return f"{int(whole)}s" if whole == int(whole) else f"{whole}s"
    rounded = int(round(seconds))
    if rounded < 3600:
        minutes, secs = divmod(rounded, 60)
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    # From an hour on, to the nearest minute (rounded, not truncated: 2h42m31s is 2h43m).
    hours, minutes = divmod(int(seconds / 60 + 0.5), 60)
    return f"{hours}h{minutes}m" if minutes else f"{hours}h"


def format_size(size: int) -> str:
    """Format bytes with the decimal units the config uses: `256MB`, `1.5GB`."""
    if size < 1000:
        return f"{size}B"
    for unit, factor in (("TB", 1000**4), ("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        # Rounded first, so 999,999 bytes is "1MB" and not "1000.0KB".
        value = round(size / factor, 1)
        if value >= 1:
            return f"{value:.0f}{unit}" if value == int(value) else f"{value:.1f}{unit}"
    return f"{size}B"


def format_tokens(tokens: int) -> str:
    """A token count as people read it: `950`, `45k`, `1.2M`."""
    if tokens < 1000:
        return str(tokens)
    if tokens < 1_000_000:
        value = round(tokens / 1000, 1)
        return f"{value:.0f}k" if value >= 10 or value == int(value) else f"{value:.1f}k"
    value = round(tokens / 1_000_000, 1)
    return f"{value:.0f}M" if value == int(value) else f"{value:.1f}M"


def format_cost(usd: float) -> str:
    """Dollars: `$1.23`; under a dollar with three decimals (`$0.014`), so small runs show."""
    if usd >= 1 or usd == 0:
        return f"${usd:,.2f}"
    return f"${usd:.3f}"
