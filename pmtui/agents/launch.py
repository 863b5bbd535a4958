"""How one attempt of an agent is started: its argv (placeholders still in), stdin and prompt.

An agent's `command` is its base argv. To it come, right before the prompt's argument (so
after every option, and before Codex's positional `resume ID PROMPT`): the model flag, Claude
Code's `--max-turns`, the agent's `args`, and — when the attempt continues an earlier
session — its `resume` arguments with `{session_id}` filled in.

A prompt over Linux's 128 KiB limit of one argument (or any prompt, for `stdin = "prompt"`)
goes the way the CLI takes it: on stdin (Claude, Codex `-`, Gemini, opencode) or in a file
(Aider's `--message-file`). A role's text is put before the task's prompt.

Pure: no I/O; sizes are counted on the text handed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmtui.config.model import AgentConfig, ParserKind

MAX_ARG_BYTES = 128 * 1024 - 1
"""Linux's MAX_ARG_STRLEN is 128 KiB per argument, its terminating NUL included."""

MODEL_FLAGS: dict[ParserKind, str] = {
    ParserKind.CLAUDE: "--model",
    ParserKind.CODEX: "-m",
    ParserKind.GEMINI: "-m",
    ParserKind.AIDER: "--model",
    ParserKind.OPENCODE: "-m",
}
"""Each known CLI's flag for the model (`model = "..."` in `[agents.NAME]`)."""

PROMPT_FLAGS = frozenset({"-p", "--print", "--prompt", "--message", "--message-file"})
"""Flags whose value is the prompt: extra arguments go before the flag, not between."""

STDIN_PROMPT_NOTE = "Follow the task given on standard input."
"""What Gemini gets as `-p` when the prompt itself comes on stdin (it appends stdin)."""


@dataclass(frozen=True, slots=True)
class Launch:
    """What to run for one attempt."""

    command: tuple[str, ...]
    """The argv with placeholders (`{prompt}`, `{prompt_file}`, `{workdir}`…) still to fill."""
    stdin_prompt: bool
    """The prompt goes on stdin (then closed)."""
    prompt: str
    """The whole prompt: the role's text, then the task's."""


def full_prompt(agent: AgentConfig, task_prompt: str) -> str:
    """The task's prompt with the role's text before it (when the agent is a role)."""
    if not agent.role:
        return task_prompt
    return f"{agent.role}\n\n{task_prompt}"


def build_launch(agent: AgentConfig, task_prompt: str, session_id: str | None = None) -> Launch:
    """The command, stdin and prompt of one attempt of `agent` on a task.

    Args:
        agent: A bound agent (`agent.bound`).
        task_prompt: The task's prompt (title and body).
        session_id: The session to continue, when the agent can resume (`agent.resume`).
    """
    prompt = full_prompt(agent, task_prompt)
    command = list(agent.command)
    extra: list[str] = []
    flag = MODEL_FLAGS.get(agent.parser)
    if agent.model and flag is not None:
        extra += [flag, agent.model]
    if agent.max_turns and agent.parser is ParserKind.CLAUDE:
        extra += ["--max-turns", str(agent.max_turns)]
    extra += agent.args
    if session_id and agent.resume:
        extra += [part.replace("{session_id}", session_id) for part in agent.resume]
    at = _prompt_position(command)
    command[at:at] = extra
    stdin_prompt = agent.stdin == "prompt"
    if len(prompt.encode("utf-8", "surrogatepass")) > MAX_ARG_BYTES:
        command, stdin_prompt = _long_prompt(agent.parser, command, stdin_prompt)
    return Launch(tuple(command), stdin_prompt, prompt)


def _prompt_position(command: list[str]) -> int:
    """Where extra arguments go: before the argument holding the prompt (and, for a flag's
    value such as `-p {prompt}` or `--message {prompt}`, before that flag), else at the end."""
    for index, part in enumerate(command):
        if "{prompt}" in part or "{prompt_file}" in part:
            whole = part in ("{prompt}", "{prompt_file}")
            if whole and index > 0 and command[index - 1] in PROMPT_FLAGS:
                return index - 1
            return index
    return len(command)


def _long_prompt(
    parser: ParserKind, command: list[str], stdin_prompt: bool
) -> tuple[list[str], bool]:
    """A command whose prompt is too long for one argument, rewritten the way its CLI takes a
    long prompt; an unknown CLI's `{prompt}` becomes `{prompt_file}` (a path to the prompt)."""
    if "{prompt}" not in command:
        return command, stdin_prompt
    at = command.index("{prompt}")
    if parser is ParserKind.AIDER and at > 0 and command[at - 1] == "--message":
        return [*command[: at - 1], "--message-file", "{prompt_file}", *command[at + 1 :]], False
    if parser is ParserKind.CODEX:
        return [*command[:at], "-", *command[at + 1 :]], True
    if parser is ParserKind.GEMINI:
        return [*command[:at], STDIN_PROMPT_NOTE, *command[at + 1 :]], True
    if parser in (ParserKind.CLAUDE, ParserKind.OPENCODE):
        return [*command[:at], *command[at + 1 :]], True
    return [*command[:at], "{prompt_file}", *command[at + 1 :]], stdin_prompt
