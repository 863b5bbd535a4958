"""An attempt's argv: flags before the prompt, a session resumed, long prompts moved."""

from __future__ import annotations

import pytest

from pmtui.agents.launch import MAX_ARG_BYTES, build_launch, full_prompt
from pmtui.config.loader import ConfigSource, load_config
from pmtui.config.model import AgentConfig, Config


def config(text: str = "") -> Config:
    loaded, problems = load_config([ConfigSource("pmtui.toml", text)] if text else [])
    assert loaded is not None, problems
    return loaded


def agent(name: str, text: str = "") -> AgentConfig:
    return config(text).agents[name]


def test_model_turns_and_args_go_before_claudes_prompt_flag() -> None:
    claude = agent(
        "claude",
        '[agents.claude]\nmodel = "opus"\nmax_turns = 5\nargs = ["--add-dir", "../x"]\n',
    )
    launch = build_launch(claude, "do it")
    assert launch.command[:8] == (
        "claude",
        "--model",
        "opus",
        "--max-turns",
        "5",
        "--add-dir",
        "../x",
        "-p",
    )
    assert launch.command[8] == "{prompt}" and not launch.stdin_prompt


def test_a_resumed_codex_session_is_its_resume_subcommand_before_the_prompt() -> None:
    codex = agent("codex", '[agents.codex]\nmodel = "gpt-5.5"\n')
    launch = build_launch(codex, "go on", session_id="thread-1")
    assert launch.command[-5:] == ("-m", "gpt-5.5", "resume", "thread-1", "{prompt}")


@pytest.mark.parametrize(
    ("name", "flags"),
    [("claude", ("--resume", "S")), ("gemini", ("--resume", "S")), ("opencode", ("-s", "S"))],
)
def test_each_cli_resumes_with_its_own_flag(name: str, flags: tuple[str, str]) -> None:
    command = build_launch(agent(name), "p", session_id="S").command
    at = command.index(flags[0])
    assert command[at : at + 2] == flags


def test_aider_cannot_resume_so_no_session_is_passed() -> None:
    assert "S" not in build_launch(agent("aider"), "p", session_id="S").command


def test_a_role_puts_its_text_before_the_prompt_and_runs_its_base() -> None:
    role = agent("qa-engineer", '[pool]\ndefault_agent = "claude"\n')
    launch = build_launch(role, "Test the login")
    assert launch.command[0] == "claude"
    assert launch.prompt.startswith("You are the QA engineer.")
    assert launch.prompt.endswith("\n\nTest the login")
    assert full_prompt(agent("claude"), "x") == "x"


LONG = "x" * (MAX_ARG_BYTES + 1)


@pytest.mark.parametrize(
    ("name", "stdin", "replaced"),
    [
        ("claude", True, None),
        ("opencode", True, None),
        ("codex", True, "-"),
        ("gemini", True, "Follow the task given on standard input."),
    ],
)
def test_a_prompt_over_128_kib_goes_on_stdin(name: str, stdin: bool, replaced: str | None) -> None:
    launch = build_launch(agent(name), LONG)
    assert "{prompt}" not in launch.command
    assert launch.stdin_prompt is stdin
    if replaced is not None:
        assert replaced in launch.command


def test_aiders_long_prompt_goes_in_a_message_file() -> None:
    launch = build_launch(agent("aider"), LONG)
    at = launch.command.index("--message-file")
    assert launch.command[at + 1] == "{prompt_file}" and "--message" not in launch.command


def test_an_unknown_clis_long_prompt_becomes_a_file_path() -> None:
    reader = agent("reader", '[agents.reader]\ncommand = ["read", "{prompt}"]\n')
    assert build_launch(reader, LONG).command == ("read", "{prompt_file}")
    assert build_launch(reader, "short").command == ("read", "{prompt}")
