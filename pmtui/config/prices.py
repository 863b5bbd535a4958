"""What an attempt cost, from its tokens and the `[prices]` table.

For agents that report tokens but no cost (Codex, Gemini CLI); Claude Code, opencode and
Aider report their own cost, which is used as it is.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pmtui.config.model import Price

MTOK = 1_000_000
"""Prices are per million tokens."""

_DOLLARS = re.compile(
    r"^[ \t]*\$?[ \t]*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)[ \t]*(?:usd|\$)?[ \t]*$", re.IGNORECASE
)
DOLLAR_EXAMPLES = "$2, 2, $2.50 or 2usd"

_VERSION_MARKS = ("-", "@")
"""What may follow a priced name in a longer model name: `gpt-5-2025-08-07`,
`gemini-2.5-pro@001`; never `.`, so `gpt-5.5` is not `gpt-5`."""


def price_of(prices: Mapping[str, Price], model: str) -> Price | None:
    """The price of `model`: its own, else that of the longest priced name it starts with
    followed by `-` or `@` (a dated or versioned name), else None (unknown).

    A provider prefix (`openai/gpt-5`, as opencode and Aider write models) is tried without
    it when the whole name has no price.
    """
    for name in (model, model.rsplit("/", 1)[-1]):
        if not name:
            continue
        if name in prices:
            return prices[name]
        best = ""
        for priced in prices:
            if (
                len(priced) > len(best)
                and len(name) > len(priced)
                and name.startswith(priced)
                and name[len(priced)] in _VERSION_MARKS
            ):
                best = priced
        if best:
            return prices[best]
    return None


def price_usage(
    prices: Mapping[str, Price],
    model: str,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int,
    *,
    cache_write_tokens: int = 0,
) -> float | None:
    """The cost in US dollars of tokens of `model`, or None when its price is unknown.

    Args:
        prices: `Config.prices`.
        model: The model the agent reported (or was given).
        input_tokens: Uncached input tokens.
        output_tokens: Output tokens, reasoning included.
        cache_read_tokens: Cached input tokens read back.
        cache_write_tokens: Input tokens written to a cache, priced as input.
    """
    price = price_of(prices, model)
    if price is None:
        return None
    return (
        (input_tokens + cache_write_tokens) * price.input_per_mtok
        + output_tokens * price.output_per_mtok
        + cache_read_tokens * price.cache_read_per_mtok
    ) / MTOK


def parse_dollars(text: str) -> float | None:
    """An amount of US dollars as a plan or the command line writes it (`$2`, `2`, `$2.50`,
    `2usd`, `2 USD`), or None when `text` is not one."""
    amount = _DOLLARS.match(text)
    return float(amount.group(1)) if amount is not None else None
