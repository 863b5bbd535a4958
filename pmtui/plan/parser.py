"""Parse the Markdown plan format of docs/design.md §2 into a `Plan`.

Pure: takes text, returns a Plan and the problems found on the way; never raises on bad
input. Checks that need the whole plan (dependencies, cycles, agents) live in `validate`.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field

from pmtui.config.prices import parse_dollars
from pmtui.config.units import DURATION_EXAMPLES, UnitError, parse_duration
from pmtui.plan.errors import Problem, Severity, closest, did_you_mean
from pmtui.plan.model import Phase, PhaseMode, Plan, Priority, Task, TaskSource

KNOWN_KEYS = (
    "id",
    "agent",
    "depends",
    "priority",
    "files",
    "timeout",
    "retries",
    "estimate",
    "budget",
)

# Patterns end in a greedy `(.*)`: trailing blanks are stripped in code, because a lazy
# group followed by `\s*$` backtracks quadratically over a long run of spaces.
_TASK_LINE = re.compile(r"^ ?[-*+][ \t]+\[([ xX])\][ \t]+(\S.*)$")
_EMPTY_TASK_LINE = re.compile(r"^ ?[-*+][ \t]+\[[ xX]\][ \t]*$")
_LOOSE_TASK_LINE = re.compile(
    r"^ ?(?:[-*+]|\d+[.)])[ \t]*\[[ \t]*[xX]?[ \t]*\]"  # `- [] x`, `-[ ] x`, `1. [ ] x`
)
_INDENTED_TASK_LINE = re.compile(r"^[ \t]+(?=[-*+][ \t]+\[[ xX]\])")
_PHASE_HEADING = re.compile(r"^##[ \t]+(.*)$")
_TITLE_HEADING = re.compile(r"^#[ \t]+(.*)$")
_SUBHEADING_PHASE = re.compile(r"^#{3,6}[ \t]+((?:phase|stage|step)[ \t]+\w+)", re.IGNORECASE)
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+-]*)")
_KEY_GROUP = re.compile(r"\([ \t]*([A-Za-z][\w-]*)[ \t]*:(?!//)([^()]*)\)")
_MARKER = re.compile(r"\[([A-Za-z]+)\]")
_NUMBERED_PHASE = re.compile(
    r"^(?:phase|stage|step|part)[ \t]+(\w+(?:\.\w+)*)[ \t]*(?:[:.)\-–—][ \t]*|[ \t]+|$)(.*)$",
    re.IGNORECASE | re.ASCII,
)
_LEADING_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)[.:)]?[ \t]+(.*)$")
_ID_CHARS = re.compile(r"^[A-Za-z0-9._-]+$")
_WORD = re.compile(r"\S+")
_WHOLE_NUMBER = re.compile(r"^[ \t]*([0-9]+)[ \t]*$")
_BACKTICKED = re.compile(r"`([^`\s]+)`")
_BARE_PATH = re.compile(r"(?<![\w/.~-])((?:\./)?(?:src|tests?|docs)/[\w./*-]*[\w*])")
_FILE_EXTENSION = re.compile(r"(?:^|[^/.]|/)\.[A-Za-z][A-Za-z0-9]{0,4}$")
"""A file name: an extension of up to 5 characters (`app.py`, `x.h`) or a dotfile (`.env`);
not `config.timeout`."""
_NOT_FILES = frozenset({"e.g", "i.e"})
_SCRIPT_LANGUAGES = frozenset({"sh", "bash", "shell"})
_PHASE_MARKERS = {"PARALLEL": PhaseMode.PARALLEL, "SEQUENTIAL": PhaseMode.SEQUENTIAL}
_PRIORITIES = tuple(priority.value for priority in Priority)
TASK_EXAMPLE = "- [ ] 1.1 Describe the task (agent: demo)"


def _heading_text(text: str) -> str:
    """A heading's text without trailing blanks and an optional closing run of `#`."""
    text = text.rstrip(" \t")
    without_hashes = text.rstrip("#")
    if without_hashes != text and (not without_hashes or without_hashes[-1] in " \t"):
        text = without_hashes.rstrip(" \t")
    return text


def is_written_id(word: str) -> bool:
    """The id rule: a word with a digit and only letters, digits, `.`, `-`, `_`."""
    return any(char.isdigit() for char in word) and _ID_CHARS.match(word) is not None


def is_legal_id(word: str) -> bool:
    """Whether `(id: …)` may name a task this way."""
    return _ID_CHARS.match(word) is not None


def extract_files(text: str) -> list[str]:
    """File paths mentioned in task text: backtick-quoted paths and `src/`, `tests/`, `docs/`.

    A backtick-quoted word counts when it looks like a path (has a `/` or a file extension);
    `make test` or `--flag` do not. Paths come in the order they are mentioned.
    """
    found: list[tuple[int, str]] = []
    for match in _BACKTICKED.finditer(text):
        word = match.group(1).rstrip(".,;:")
        if word.startswith("-") or "://" in word or "(" in word:
            continue
        if word.lower() in _NOT_FILES:
            continue
        if "/" in word or _FILE_EXTENSION.search(word):
            found.append((match.start(1), normalize_path(word)))
    for match in _BARE_PATH.finditer(text):
        found.append((match.start(1), normalize_path(match.group(1).rstrip(".,;:"))))
    found.sort(key=lambda item: item[0])
    return [path for _, path in found if is_plausible_path(path)]


MAX_PATH_CHARS = 4096
MAX_PATH_DEPTH = 64
"""Longer or deeper than this is no real path; comparing such entries costs quadratic time."""


def is_plausible_path(path: str) -> bool:
    """Whether a path entry is short and shallow enough to be a real path."""
    return len(path) <= MAX_PATH_CHARS and path.count("/") <= MAX_PATH_DEPTH


def normalize_path(path: str) -> str:
    """One spelling per path: no leading `./`, no doubled slashes."""
    while path.startswith("./"):
        path = path[2:]
    return re.sub(r"/{2,}", "/", path)


@dataclass
class _PendingTask:
    """A task line and the lines gathered under it, before it becomes a `Task`."""

    line: int
    text: str
    text_col: int
    done: bool
    phase: int
    body_lines: list[str] = field(default_factory=list)


@dataclass
class _PendingPhase:
    number: str
    title: str
    mode: PhaseMode
    line: int
    tasks: list[_PendingTask] = field(default_factory=list)
    numbered: bool = True
    """Whether the heading gave the number; else it is the next free position."""


class _Parser:
    """One pass over the lines; collects phases, task lines and their bodies."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.lines = [line.rstrip("\r") for line in text.split("\n")]
        self.problems: list[Problem] = []
        self.title = ""
        self.phases: list[_PendingPhase] = []
        self._leading_phase = False
        """Whether `phases[0]` holds tasks written before any `## ` heading."""

    def error(self, line: int, col: int, message: str, hint: str) -> None:
        self.problems.append(Problem(self.path, line, col, message, hint))

    def run(self) -> Plan:
        self._scan()
        self._number_leading_phase()
        self._number_unnumbered_phases()
        tasks: list[Task] = []
        phases: list[Phase] = []
        for index, pending_phase in enumerate(self.phases):
            phase_tasks = tuple(
                self._build_task(pending, index, position, pending_phase.number)
                for position, pending in enumerate(pending_phase.tasks, start=1)
            )
            tasks.extend(phase_tasks)
            phases.append(
                Phase(
                    number=pending_phase.number,
                    title=pending_phase.title,
                    mode=pending_phase.mode,
                    line=pending_phase.line,
                    tasks=phase_tasks,
                )
            )
        return Plan(path=self.path, title=self.title, phases=tuple(phases), tasks=tuple(tasks))

    def _number_unnumbered_phases(self) -> None:
        """Give a phase without a number its position, or the next number no heading took,
        so generated ids (`<phase>.<n>`) never collide with a numbered phase's."""
        taken = {phase.number for phase in self.phases if phase.numbered}
        for position, phase in enumerate(self.phases, start=1):
            if phase.numbered:
                continue
            candidate = position
            while str(candidate) in taken:
                candidate += 1
            phase.number = str(candidate)
            taken.add(phase.number)

    def _number_leading_phase(self) -> None:
        """Number the phase of tasks written before any heading so its ids stay unique.

        It is `1` unless a heading claims that number (`## Phase 1: …` after a few loose
        tasks); then `0`, so generated ids such as `1.1` are not made twice.
        """
        taken = {phase.number for phase in self.phases[1:] if phase.numbered}
        if not self._leading_phase or "1" not in taken:
            return
        number = 0
        while str(number) in taken:
            number += 1
        self.phases[0].number = str(number)

    def _scan(self) -> None:
        current: _PendingTask | None = None
        fence: str | None = None
        fence_line = 0
        for number, line in enumerate(self.lines, start=1):
            if current is not None and (not line.strip() or line[:1] in (" ", "\t")):
                current.body_lines.append(line)
                continue
            current = None
            fence_match = _FENCE.match(line)
            if fence is not None:
                if (
                    fence_match
                    and fence_match.group(1).startswith(fence[0])
                    and len(fence_match.group(1)) >= len(fence)
                ):
                    fence = None
                continue
            if fence_match:
                fence, fence_line = fence_match.group(1), number
                continue
            current = self._scan_line(number, line)
        if fence is not None:
            self.unclosed_fence(fence_line, fence)

    def unclosed_fence(self, line: int, fence: str) -> None:
        self.error(
            line,
            1,
            f"this code fence ({fence}) is never closed, so the rest of the file is read as code",
            f"close it with a line of {fence}; in a task's body indent every line of the block, "
            "the script included, or the first unindented line ends the body",
        )

    def _scan_line(self, number: int, line: str) -> _PendingTask | None:
        task_match = _TASK_LINE.match(line)
        if task_match:
            if not self.phases:
                self.phases.append(_PendingPhase("1", "", PhaseMode.STAGED, number))
                self._leading_phase = True
            phase = self.phases[-1]
            pending = _PendingTask(
                line=number,
                text=task_match.group(2).rstrip(),
                text_col=task_match.start(2) + 1,
                done=task_match.group(1) in "xX",
                phase=len(self.phases) - 1,
            )
            phase.tasks.append(pending)
            return pending
        if _EMPTY_TASK_LINE.match(line):
            self.error(
                number,
                1,
                "task has no title",
                "say what the task should do after the checkbox, e.g. `- [ ] 1.1 Write the tests`",
            )
            return None
        indented = _INDENTED_TASK_LINE.match(line)
        if indented:
            self.error(
                number,
                indented.end() + 1,
                "this task line is indented, so it is not read as a task",
                "start task lines at the beginning of the line; lines indented under a task "
                "are that task's body",
            )
            return None
        if _LOOSE_TASK_LINE.match(line):
            self.error(
                number,
                1,
                "this looks like a task but its checkbox is malformed",
                f"write it as `{TASK_EXAMPLE}`: a dash, a space, `[ ]` or `[x]`, a space, "
                "then the task",
            )
            return None
        phase_match = _PHASE_HEADING.match(line)
        if phase_match:
            self._add_phase(number, _heading_text(phase_match.group(1)), phase_match.start(1) + 1)
            return None
        title_match = _TITLE_HEADING.match(line)
        if title_match and not self.title and not self.phases:
            title = _heading_text(title_match.group(1))
            self.title = re.sub(r"^plan[ \t]*:[ \t]*", "", title, flags=re.IGNORECASE)
        subheading = _SUBHEADING_PHASE.match(line)
        if subheading:
            self.problems.append(
                Problem(
                    self.path,
                    number,
                    1,
                    f"'{subheading.group(1)}' is a subheading, read as text: its tasks stay in "
                    "the phase above",
                    f"phase headings use two #: write `## {subheading.group(1)}: …`",
                    Severity.WARNING,
                )
            )
        return None

    def _add_phase(self, line: int, heading: str, heading_col: int) -> None:
        modes: list[PhaseMode] = []
        for match in _MARKER.finditer(heading):
            word = match.group(1).upper()
            if word in _PHASE_MARKERS:
                modes.append(_PHASE_MARKERS[word])
            elif (suggestion := closest(word, _PHASE_MARKERS)) is not None:
                self.error(
                    line,
                    heading_col + match.start(),
                    f"unknown phase marker [{match.group(1)}]",
                    f"did you mean [{suggestion}]? A phase is [PARALLEL], [SEQUENTIAL] or neither",
                )
        if len(set(modes)) > 1:
            self.error(
                line,
                1,
                "a phase cannot be both [PARALLEL] and [SEQUENTIAL]",
                "keep one marker: [PARALLEL] runs beside the phase before, [SEQUENTIAL] runs "
                "its tasks one after another",
            )
        mode = modes[0] if modes else PhaseMode.STAGED
        title = " ".join(re.sub(r"\[(?:PARALLEL|SEQUENTIAL)\]", " ", heading, flags=re.I).split())
        ordinal = str(len(self.phases) + 1)
        numbered = _NUMBERED_PHASE.match(title) or _LEADING_NUMBER.match(title)
        if numbered and is_written_id(numbered.group(1)):
            number, title = numbered.group(1), numbered.group(2).strip() or title
            self.phases.append(_PendingPhase(number, title, mode, line))
        else:
            self.phases.append(_PendingPhase(ordinal, title, mode, line, numbered=False))

    def _build_task(
        self, pending: _PendingTask, phase_index: int, position: int, phase_number: str
    ) -> Task:
        builder = _TaskBuilder(self, pending)
        return builder.build(phase_index, f"{phase_number}.{position}")


class _TaskBuilder:
    """Turns one task line and its body into a `Task`, reporting bad keys and values."""

    def __init__(self, parser: _Parser, pending: _PendingTask) -> None:
        self.parser = parser
        self.pending = pending
        self.line = pending.line
        self.values: dict[str, tuple[str, int]] = {}

    def error(self, col: int, message: str, hint: str) -> None:
        self.parser.error(self.line, col, message, hint)

    def build(self, phase_index: int, generated_id: str) -> Task:
        text = self.pending.text
        offset = self.pending.text_col
        remaining = self._collect_keys(text, offset)
        first = _WORD.search(remaining)
        first_word = first.group(0) if first else ""
        candidate = first_word.rstrip(":.") if len(first_word) > 1 else first_word
        written_id = candidate if is_written_id(candidate) else None
        if first is not None and written_id is not None:
            id_col = offset + first.start()
            title = " ".join(remaining[first.end() :].split())
        else:
            id_col = offset
            title = " ".join(remaining.split())
        task_id = self._choose_id(written_id, generated_id)
        if not title:
            self.error(
                offset,
                f"task {task_id} has no title",
                "say what the task should do after its id, e.g. `- [ ] 1.1 Write the tests`",
            )
        body, script = self._body()
        files = self._files(title, body)
        agent, agent_col = self._agent()
        depends, depends_cols = self._depends()
        files_col = self.values["files"][1] if "files" in self.values else 0
        return Task(
            id=task_id,
            title=title,
            phase=phase_index,
            source=TaskSource(
                line=self.line,
                id_col=self.values["id"][1]
                if written_id is None and "id" in self.values
                else id_col,
                agent_col=agent_col,
                depends_cols=depends_cols,
                files_col=files_col,
                id_generated=written_id is None
                and task_id == generated_id
                and self.values.get("id", ("", 0))[0] != task_id,
            ),
            done=self.pending.done,
            agent=agent,
            depends=depends,
            priority=self._priority(),
            files=files,
            timeout_s=self._duration("timeout", allow_zero=False),
            retries=self._retries(),
            estimate_s=self._duration("estimate", allow_zero=True),
            budget_usd=self._budget(),
            body=body,
            script=script,
        )

    def _collect_keys(self, text: str, offset: int) -> str:
        pieces: list[str] = []
        position = 0
        for match in _KEY_GROUP.finditer(text):
            key = match.group(1).lower()
            col = offset + match.start()
            pieces.append(text[position : match.start()])
            pieces.append(" " * (match.end() - match.start()))
            position = match.end()
            if key not in KNOWN_KEYS:
                self.error(
                    col,
                    f"unknown key '{match.group(1)}'",
                    did_you_mean(key, KNOWN_KEYS, "the keys are " + ", ".join(KNOWN_KEYS))
                    + " (to keep the parentheses as text, drop the colon)",
                )
                continue
            if key in self.values:
                self.error(
                    col,
                    f"key '{key}' is given twice",
                    f"keep one ({key}: …) group; the first one, at column "
                    f"{self.values[key][1]}, is used",
                )
                continue
            raw_value = match.group(2)
            value = raw_value.strip(" \t")
            leading = len(raw_value) - len(raw_value.lstrip(" \t"))
            self.values[key] = (value, offset + match.start(2) + leading)
        pieces.append(text[position:])
        return "".join(pieces)

    def _choose_id(self, written_id: str | None, generated_id: str) -> str:
        if "id" not in self.values:
            return written_id or generated_id
        value, col = self.values["id"]
        if written_id is not None:
            self.error(
                col,
                f"task {written_id} also has (id: {value})",
                "a task has one id: drop the (id: …) group or the id written first on the line",
            )
            return written_id
        if not is_legal_id(value):
            self.error(
                col,
                f"bad id '{value}'",
                "an id uses only letters, digits, '.', '-' and '_', e.g. (id: lint)",
            )
            return generated_id
        return value

    def _agent(self) -> tuple[str | None, int]:
        if "agent" not in self.values:
            return None, 0
        value, col = self.values["agent"]
        if not is_legal_id(value):
            self.error(
                col,
                f"bad agent name '{value}'",
                "name one agent, e.g. (agent: qa-engineer); agents are defined in pmtui.toml",
            )
            return None, col
        return value, col

    def _depends(self) -> tuple[tuple[str, ...] | None, tuple[int, ...]]:
        if "depends" not in self.values:
            return None, ()
        value, col = self.values["depends"]
        if value.strip().lower() == "none":
            return (), ()
        ids: list[str] = []
        cols: list[int] = []
        words = list(re.finditer(r"[^,\s]+", value))
        for match in words:
            word = match.group(0)
            if not is_legal_id(word):
                self.error(
                    col + match.start(),
                    f"bad dependency '{word}'",
                    "list task ids separated by commas, e.g. (depends: 1.1, 1.2)",
                )
                continue
            ids.append(word)
            cols.append(col + match.start())
        if not words:
            self.error(
                col,
                "empty (depends: …)",
                "name the tasks this one waits for, e.g. (depends: 1.1, 1.2), or write "
                "(depends: none) to start without waiting",
            )
        return tuple(ids), tuple(cols)

    def _priority(self) -> Priority:
        if "priority" not in self.values:
            return Priority.NORMAL
        value, col = self.values["priority"]
        try:
            return Priority(value.strip().lower())
        except ValueError:
            self.error(
                col,
                f"bad priority '{value}'",
                did_you_mean(
                    value.lower(), _PRIORITIES, "priority is one of " + ", ".join(_PRIORITIES)
                ),
            )
            return Priority.NORMAL

    def _duration(self, key: str, *, allow_zero: bool) -> float | None:
        if key not in self.values:
            return None
        value, col = self.values[key]
        try:
            seconds = parse_duration(value)
        except UnitError:
            self.error(col, f"bad {key} '{value}'", f"write a duration such as {DURATION_EXAMPLES}")
            return None
        if seconds == 0 and not allow_zero:
            self.error(col, f"{key} must be more than 0", "write a duration such as 10m")
            return None
        return seconds

    def _retries(self) -> int | None:
        if "retries" not in self.values:
            return None
        value, col = self.values["retries"]
        number = _WHOLE_NUMBER.match(value)
        if number is None:
            self.error(
                col,
                f"bad retries '{value}'",
                "retries is a whole number of extra attempts, e.g. (retries: 2); 0 means never "
                "retry",
            )
            return None
        return int(number.group(1))

    def _budget(self) -> float | None:
        if "budget" not in self.values:
            return None
        value, col = self.values["budget"]
        dollars = parse_dollars(value)
        if dollars is None:
            self.error(
                col,
                f"bad budget '{value}': budget must be an amount in dollars",
                "e.g. (budget: $2) or (budget: 2.50): the task is stopped, and fails, once its "
                "agent has spent that much",
            )
            return None
        if dollars <= 0:
            self.error(
                col,
                "budget must be more than $0",
                "give the task an amount to spend, e.g. (budget: $2), or drop the key",
            )
            return None
        return dollars

    def _body(self) -> tuple[str, str | None]:
        lines = [line.expandtabs(4) for line in self.pending.body_lines]
        while lines and not lines[-1].strip():
            lines.pop()
        body = textwrap.dedent("\n".join(lines)).strip("\n")
        script_parts: list[str] = []
        fence: str | None = None
        fence_line = 0
        in_script = False
        for offset, line in enumerate(lines, start=1):
            match = _FENCE.match(line)
            if fence is None:
                if match:
                    fence, fence_line = match.group(1), self.line + offset
                    in_script = match.group(2).lower() in _SCRIPT_LANGUAGES
                continue
            if match and match.group(1).startswith(fence[0]) and len(match.group(1)) >= len(fence):
                fence = None
                continue
            if in_script:
                script_parts.append(line)
        if fence is not None:
            self.parser.unclosed_fence(fence_line, fence)
        script = textwrap.dedent("\n".join(script_parts)) + "\n" if script_parts else None
        return body, script

    def _files(self, title: str, body: str) -> tuple[str, ...]:
        files: list[str] = []
        if "files" in self.values:
            value, col = self.values["files"]
            words = [word.strip().strip("`") for word in value.split(",")]
            for path in words:
                if not path:
                    continue
                if not is_plausible_path(path):
                    self.error(
                        col,
                        f"a path in (files: …) is over {MAX_PATH_CHARS} characters or "
                        f"{MAX_PATH_DEPTH} folders deep",
                        "list real paths, separated by commas",
                    )
                    continue
                files.append(normalize_path(path))
            if not any(words):
                self.error(
                    col,
                    "empty (files: …)",
                    "list the paths the task changes, e.g. (files: src/app.py, docs/app.md)",
                )
        files.extend(extract_files(title))
        files.extend(extract_files(body))
        return tuple(dict.fromkeys(files))


def parse_plan(text: str, path: str = "plan.md") -> tuple[Plan, list[Problem]]:
    """Parse plan text.

    Args:
        text: The whole plan file.
        path: The file name used in problems.

    Returns:
        The plan (as much of it as could be read) and the problems found while reading it,
        in file order.
    """
    parser = _Parser(text, path)
    plan = parser.run()
    if not plan.title:
        stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        plan = Plan(path=plan.path, title=stem, phases=plan.phases, tasks=plan.tasks)
    return plan, sorted(parser.problems, key=lambda problem: (problem.line, problem.col))
