"""Helpers the agent-output parsers share.

Reading a JSON event without trusting its shape, naming a tool call the way the monitor shows
it (`Edit src/auth.py`, `Bash: pytest -q`), cutting text to one line or a few lines, reading a
time of day an agent named, and the verdicts every parser gives alike. Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pmtui.agents.parsers.base import rate_limit_reason
from pmtui.agents.signals import AgentOutcome, ClockTime, RateLimited, Verdict

JsonObject = dict[str, object]
"""One decoded JSON event (keys are always strings in JSON)."""

ACTIVITY_WIDTH = 60
"""How long a monitor row's message may be."""
REASON_WIDTH = 120
"""How long the agent's own text may be inside a failure reason."""
RESULT_LINES = 5
"""How many lines of a tool's result the transcript keeps."""
ASSISTANT_LINES = 40
"""How many lines of the model's text the transcript keeps (a runaway answer stays bounded)."""
LINE_WIDTH = 200
"""How long one transcript line may be."""

_SPACES = re.compile(r"\s+")
_ABSOLUTE = re.compile(r"^(?:/|[A-Za-z]:[\\/]|\\\\)")
_SEPARATORS = re.compile(r"[\\/]+")
_SHELL_WRAPPER = re.compile(r"^(?:\S*/)?(?:ba|z|da)?sh\s+-l?c\s+(.+)$", re.DOTALL)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?:\s*([AaPp])\.?\s*[Mm]\.?)?(?![\d:])")


# --- reading JSON without trusting its shape ---------------------------------------------


def json_object(line: str) -> JsonObject | None:
    """The JSON object on a line; None for anything else (text, an array, broken JSON)."""
    stripped = line.strip()
    if not stripped.startswith("{"):
        return None
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):
        return None  # broken, truncated or absurdly nested: the line is in the log anyway
    return value if isinstance(value, dict) else None


def get_str(event: JsonObject, key: str) -> str:
    """A string field, "" when absent or of another type."""
    value = event.get(key)
    return value if isinstance(value, str) else ""


def get_int(event: JsonObject, key: str) -> int | None:
    """A whole-number field (an integral float counts), None otherwise."""
    value = event.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def get_float(event: JsonObject, key: str) -> float | None:
    """A numeric field as a float, None otherwise."""
    value = event.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None


def count(event: JsonObject, key: str) -> int:
    """A token count: a non-negative whole number, 0 when absent or odd."""
    value = get_int(event, key)
    return value if value is not None and value > 0 else 0


def get_obj(event: JsonObject, key: str) -> JsonObject:
    """An object field, {} when absent or of another type."""
    value = event.get(key)
    return value if isinstance(value, dict) else {}


def get_objects(event: JsonObject, key: str) -> list[JsonObject]:
    """The objects in a list field (other items skipped), [] when absent."""
    value = event.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def get_strs(event: JsonObject, key: str) -> list[str]:
    """The strings in a list field (other items skipped), [] when absent."""
    value = event.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


# --- cutting text --------------------------------------------------------------------------


def one_line(text: str, limit: int = ACTIVITY_WIDTH) -> str:
    """The first non-blank line, spaces collapsed, cut to `limit` with `…` when anything is
    left out (a further line, or the line's end)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    line = _SPACES.sub(" ", lines[0]).strip()
    if len(line) > limit:
        return line[: max(limit - 1, 0)].rstrip() + "…"
    if len(lines) > 1:
        return line + " …"
    return line


def cut_lines(text: str, max_lines: int = RESULT_LINES, width: int = LINE_WIDTH) -> str:
    """At most `max_lines` lines of `text` (each at most `width`), then how many were left."""
    lines = text.strip("\n").splitlines()
    kept = [line if len(line) <= width else line[: width - 1] + "…" for line in lines[:max_lines]]
    left = len(lines) - len(kept)
    if left > 0:
        kept.append(f"… ({left} more line{'s' if left > 1 else ''})")
    return "\n".join(kept)


def short_path(path: str) -> str:
    """A path as the monitor shows it: an absolute path keeps its last two components below
    its top folder (`/repo/hello.txt` → `hello.txt`, `/home/u/p/src/a.py` → `src/a.py`), since
    the parser does not know the attempt's folder; a relative path stays as it is."""
    path = path.strip()
    if not _ABSOLUTE.match(path):
        return path if len(path) <= ACTIVITY_WIDTH else "…" + path[-(ACTIVITY_WIDTH - 1) :]
    parts = [part for part in _SEPARATORS.split(path) if part]
    if parts and parts[0].endswith(":"):
        parts = parts[1:]  # a Windows drive
    if len(parts) > 1:
        parts = parts[1:]  # the top folder (/repo, /home, /tmp) says nothing
    return "/".join(parts[-2:])


def shell_command(command: str) -> str:
    """A shell command without the `/bin/bash -lc "…"` wrapper agents put around it."""
    command = command.strip()
    match = _SHELL_WRAPPER.match(command)
    if match is None:
        return command
    inner = match.group(1).strip()
    if len(inner) >= 2 and inner[0] == inner[-1] == '"':
        return re.sub(r'\\(["\\$`])', r"\1", inner[1:-1])
    if len(inner) >= 2 and inner[0] == inner[-1] == "'":
        return inner[1:-1].replace("'\\''", "'")
    return inner


# --- naming tool calls ---------------------------------------------------------------------

_SHELL = "Bash"
_TOOL_NAMES = {
    "write": "Write",
    "write_file": "Write",
    "writefile": "Write",
    "create": "Write",
    "edit": "Edit",
    "multiedit": "Edit",
    "replace": "Edit",
    "edit_file": "Edit",
    "str_replace": "Edit",
    "patch": "Edit",
    "apply_patch": "Edit",
    "read": "Read",
    "read_file": "Read",
    "readfile": "Read",
    "read_many_files": "Read",
    "view": "Read",
    "bash": _SHELL,
    "shell": _SHELL,
    "run_shell_command": _SHELL,
    "exec_command": _SHELL,
    "local_shell": _SHELL,
    "grep": "Grep",
    "search_file_content": "Grep",
    "glob": "Glob",
    "ls": "List",
    "list": "List",
    "list_directory": "List",
    "webfetch": "WebFetch",
    "web_fetch": "WebFetch",
    "websearch": "WebSearch",
    "web_search": "WebSearch",
    "google_web_search": "WebSearch",
    "todowrite": "TodoWrite",
    "write_todos": "TodoWrite",
    "task": "Task",
}
_PATH_KEYS = (
    "file_path",
    "filePath",
    "notebook_path",
    "absolute_path",
    "path",
    "dir_path",
    "directory",
)
_DETAIL_KEYS: dict[str, tuple[str, ...]] = {
    _SHELL: ("command", "cmd"),
    "Grep": ("pattern", "query"),
    "Glob": ("pattern",),
    "WebFetch": ("url",),
    "WebSearch": ("query",),
    "Task": ("description", "prompt"),
}
_ANY_KEYS = (*_PATH_KEYS, "command", "pattern", "url", "query", "description", "prompt")


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call as people read it: a tool name and its main argument, shortened."""

    tool: str
    detail: str = ""

    @property
    def label(self) -> str:
        """`Edit src/auth.py`, `Bash: pytest -q`, or the bare tool name."""
        if not self.detail:
            return self.tool
        if self.tool == _SHELL:
            return f"{self.tool}: {self.detail}"
        return f"{self.tool} {self.detail}"


def tool_call(name: str, arguments: JsonObject) -> ToolCall:
    """Name a tool call: the agent's tool name made common (`write_file` → `Write`) and the
    argument that says what it works on (the file, the command, the pattern)."""
    tool = _TOOL_NAMES.get(name.lower(), name) or "tool"
    if tool == _SHELL:
        command = _command_text(arguments)
        return ToolCall(tool, one_line(shell_command(command)) if command else "")
    for key in _DETAIL_KEYS.get(tool, ()):
        value = get_str(arguments, key)
        if value:
            return ToolCall(tool, one_line(value))
    for key in _ANY_KEYS:
        value = get_str(arguments, key)
        if value:
            shown = short_path(value) if key in _PATH_KEYS else value
            return ToolCall(tool, one_line(shown))
    return ToolCall(tool)


def _command_text(arguments: JsonObject) -> str:
    """A shell tool's command, given as a string or as an argv list."""
    for key in ("command", "cmd"):
        value = arguments.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            words = [word for word in value if isinstance(word, str)]
            return shell_command(" ".join(words)) if words else ""
    return ""


def joined_labels(calls: list[ToolCall]) -> str:
    """Several tool calls in one reason: `Write a.txt, Bash: rm x`."""
    return ", ".join(call.label for call in calls)


# --- times the agents name -----------------------------------------------------------------


def parse_clock(text: str) -> ClockTime | None:
    """A time of day at the start of `text`: `1:00 AM`, `12:30 pm`, `13:05`; else None."""
    match = _CLOCK.match(text.strip())
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    meridiem = (match.group(3) or "").lower()
    if minute > 59:
        return None
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    elif hour > 23:
        return None
    return ClockTime(hour, minute)


_DURATION_PART = re.compile(
    r"(\d+(?:\.\d+)?)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b", re.I
)
_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def parse_duration(text: str) -> float | None:
    """Seconds in `4 days 3 hours`, `2h 5m`, `30 seconds`; None when none is named."""
    parts = _DURATION_PART.findall(text)
    if not parts:
        return None
    return sum(float(amount) * _UNIT_SECONDS[unit[0].lower()] for amount, unit in parts)


# --- verdicts every parser gives alike -----------------------------------------------------


def failed(reason: str) -> Verdict:
    """A failure with its reason."""
    return Verdict(AgentOutcome.FAILED, reason)


def rate_limited(limit: RateLimited) -> Verdict:
    """Turned away by the provider: requeued, not counted."""
    return Verdict(AgentOutcome.RATE_LIMITED, rate_limit_reason(limit), limit)


def killed_verdict(limit: RateLimited | None) -> Verdict:
    """pmtui ended the attempt: the engine has its own reason (timeout, stop), unless the
    agent was being turned away by a rate limit, which is why it stalled."""
    return rate_limited(limit) if limit is not None else failed("")


def agent_error(text: str) -> str:
    """`agent error: <the agent's message, first line, ≤120 chars>`."""
    line = one_line(text, REASON_WIDTH).removesuffix(" …")
    return f"agent error: {line}" if line else "agent error"


NO_RESULT = "agent error: no result"
"""The agent exited 0 without ever saying it finished."""
