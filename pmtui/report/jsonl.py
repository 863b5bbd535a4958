"""`--json`: events as the JSON lines of docs/design.md §8, one compact object per line.

Every object starts with `"event"` (the stable name) and `"time"` (seconds since the run
started), then the event's fields in §8's order. Floats are rounded to 3 places (dollars to
6; a non-finite one, which JSON cannot carry, becomes `null`), enums are their string values
and sequences are lists. Pure: the caller writes the lines. Never imports textual.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from typing import Any

from pmtui.engine.events import Event

USD_PLACES = 6
"""Dollars keep 6 places (other floats 3): one step of an agent may cost a tenth of a cent."""


def _value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, float):
        return round(value, 3) if math.isfinite(value) else None
    if isinstance(value, tuple | list):
        return [_value(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return {field.name: _value(getattr(value, field.name)) for field in fields}
    return value


def event_json(event: Event) -> dict[str, Any]:
    """`{"event": name, "time": t, **fields}`, with exactly §8's keys in §8's order."""
    obj: dict[str, Any] = {"event": event.name, "time": _value(float(event.time))}
    for field in dataclasses.fields(event):
        if field.name != "time":
            value = getattr(event, field.name)
            # A float field given an int (`delay_s=5`) is still written as a float.
            is_float = field.type in ("float", float) and isinstance(value, int | float)
            if field.name.endswith("_usd") and isinstance(value, float) and math.isfinite(value):
                obj[field.name] = round(value, USD_PLACES)  # a step of an agent costs $0.0042
                continue
            obj[field.name] = _value(float(value) if is_float else value)
    return obj


_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})
"""Breaks `str.splitlines` honours but JSON leaves raw: escaped, so a line stays one line."""


def json_line(event: Event) -> str:
    """The event as one compact JSON line, ending in a newline (other UTF-8 kept as is)."""
    text = json.dumps(event_json(event), ensure_ascii=False, separators=(",", ":"))
    return text.translate(_LINE_BREAKS) + "\n"
