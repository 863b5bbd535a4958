"""`pmtui check`, `pmtui init` and `pmtui demo` as a user runs them: exit codes and output."""

from __future__ import annotations

import json
import random
import tomllib
from pathlib import Path

import pytest

from pmtui.cli import EXIT_BAD_INPUT, EXIT_OK, main
from pmtui.config.defaults import default_settings
from tests.cli_support import demo_by_default, run, write

EXAMPLE = (Path(__file__).resolve().parent / "data" / "design_example.md").read_text(
    encoding="utf-8"
)


def test_check_summarises_the_design_example(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "plan.md", EXAMPLE)
    demo_by_default(workdir)
    code, out, err = run(["check", "plan.md"], capsys)
    assert code == EXIT_OK
    assert err == ""
    assert "plan.md: Add OAuth login — ok" in out
    assert "phases         4 in 3 stages" in out
    assert "tasks          8 (1 already done)" in out
    assert "product-manager ×3" in out
    # The roles run as `demo`, so each takes its 10 s estimate.
    assert "critical path  1.1 → 2.1 → 2.3 → 4.1 → 4.2  (~50s)" in out
    assert "width          2" in out
    assert "waves          5" in out
    assert "1  1.1, 1.2" in out


def test_the_design_example_checks_in_place_with_the_test_data_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """tests/data/pmtui.toml runs its plans' roles as `demo`, as demo_plans/pmtui.toml does."""
    plan = Path(__file__).resolve().parent / "data" / "design_example.md"
    code, out, err = run(["check", str(plan)], capsys)
    assert (code, err) == (EXIT_OK, "")
    assert "tests/data/pmtui.toml" in out


def test_check_json_prints_one_object_with_the_documented_keys(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "plan.md", EXAMPLE)
    demo_by_default(workdir)
    code, out, _ = run(["check", "plan.md", "--json"], capsys)
    assert code == EXIT_OK
    report = json.loads(out)
    assert report == {
        "ok": True,
        "errors": [],
        "warnings": [],
        "tasks": 8,
        "critical_path": ["1.1", "2.1", "2.3", "4.1", "4.2"],
        "critical_path_s": 50.0,
        "width": 2,
    }


def test_check_reports_every_error_with_location_and_hint_and_exits_2(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "plan.md",
        "# Plan: broken\n"
        "## Phase 1\n"
        "- [ ] 1.1 Research (agent: qa-enginer)\n"
        "- [ ] 1.2 Build (depends: 1.l)\n"
        "- [ ] 1.1 Again\n",
    )
    demo_by_default(workdir)
    code, out, err = run(["check", "plan.md"], capsys)
    assert code == EXIT_BAD_INPUT
    assert out == ""
    assert err.splitlines() == [
        "plan.md:3:28: error: task 1.1 uses unknown agent 'qa-enginer'",
        "    hint: did you mean 'qa-engineer'?",
        "plan.md:4:27: error: task 1.2 depends on unknown task 1.l",
        "    hint: did you mean '1.1'?",
        "plan.md:5:7: error: duplicate task id 1.1 (first defined on line 3)",
        "    hint: give this task another id, e.g. `1.1b`; other tasks' (depends: 1.1) mean line 3",
        "3 errors.",
    ]


def test_a_task_with_neither_agent_nor_script_is_an_error_never_a_simulation(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "plan.md",
        "## Phase 1\n"
        "- [ ] 1.1 Think about it\n"
        "- [x] 1.2 Done long ago\n"  # already done: never run, so never reported
        "- [ ] 1.3 Script\n"
        "    ```sh\n"
        "    true\n"
        "    ```\n"
        "- [ ] 1.4 Named (agent: demo)\n",
    )
    code, out, err = run(["check", "plan.md"], capsys)
    assert code == EXIT_BAD_INPUT
    assert out == ""
    assert err.splitlines() == [
        "plan.md:2:7: error: task 1.1 has no agent to run it: it names none and has no script",
        '    hint: add (agent: claude) to the task, or set default_agent = "claude" (or codex, '
        "gemini, aider, opencode) under [pool] in pmtui.toml; `pmtui agents` lists the agents",
        "1 error.",
    ]
    for args in (["run", "plan.md", "--dry-run"], ["run", "plan.md", "--no-ui"]):
        code, out, err = run(args, capsys)
        assert code == EXIT_BAD_INPUT
        assert out == ""
        assert err.startswith("plan.md:2:7: error: task 1.1 has no agent to run it")


def test_a_role_with_no_agent_to_run_as_is_an_error_at_its_name(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "plan.md",
        "## Phase 1\n- [ ] 1.1 Test it (agent: qa-engineer)\n- [x] 1.2 Old (agent: qa-engineer)\n",
    )
    code, out, _ = run(["check", "plan.md", "--json"], capsys)
    assert code == EXIT_BAD_INPUT
    assert json.loads(out)["errors"] == [
        {
            "file": "plan.md",
            "line": 2,
            "col": 27,
            "message": "task 1.1 uses the role 'qa-engineer', which has no agent to run as",
            "hint": 'set default_agent = "claude" (or codex, gemini, aider, opencode) under '
            '[pool] in pmtui.toml, or base = "codex" under [agents.qa-engineer]',
        }
    ]


def test_a_role_runs_as_the_default_agent_or_its_own_base(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Test it (agent: qa-engineer)\n")
    demo_by_default(workdir)
    code, out, err = run(["check", "plan.md"], capsys)
    assert (code, err) == (EXIT_OK, "")
    assert "qa-engineer ×1" in out
    write(workdir / "pmtui.toml", '[agents.qa-engineer]\nbase = "demo"\n')
    code, _, err = run(["check", "plan.md"], capsys)
    assert (code, err) == (EXIT_OK, "")


def test_check_warns_and_run_refuses_when_an_agents_program_is_not_installed(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", path_with(workdir / "bin"))
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Test it (agent: qa-engineer)\n")
    write(workdir / "pmtui.toml", '[pool]\ndefault_agent = "claude"\n')
    code, out, err = run(["check", "plan.md"], capsys)
    assert code == EXIT_OK
    assert "— ok" in out
    assert err.startswith(
        "plan.md:2:27: warning: agent 'claude' runs `claude`, which is not installed (not on PATH)"
    )
    assert "npm install -g @anthropic-ai/claude-code" in err
    code, _, err = run(["run", "plan.md", "--no-ui"], capsys)
    assert code == EXIT_BAD_INPUT
    assert err.startswith(
        "plan.md:2:27: error: agent 'claude' runs `claude`, which is not installed"
    )


@pytest.mark.parametrize(
    ("config", "first_line"),
    [
        (
            '[pool]\nmax_concurrent = 2\n[agents.qa-engineer]\nbase = "claud"\n',
            "pmtui.toml:4: error: agents.qa-engineer.base: qa-engineer cannot run as unknown "
            "agent 'claud'",
        ),
        (
            '[agents.qa-engineer]\nbase = "security-agent"\n',
            "pmtui.toml:2: error: agents.qa-engineer.base: ",
        ),
        (
            '\n[pool]\ndefault_agent = "product-manager"\n',
            "pmtui.toml:3: error: pool.default_agent: 'product-manager' is a role, not an agent "
            "that runs a program",
        ),
        (
            '[agents.qa-engineer]\ncommand = ["qa"]\nbase = "demo"\n',
            "pmtui.toml:3: error: agents.qa-engineer.base: an agent has either a command or a "
            "base, not both",
        ),
    ],
    ids=["unknown-base", "base-is-a-role", "default-is-a-role", "command-and-base"],
)
def test_check_reports_a_role_bound_to_no_agent_in_the_config(
    workdir: Path, capsys: pytest.CaptureFixture[str], config: str, first_line: str
) -> None:
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Test it (agent: qa-engineer)\n")
    write(workdir / "pmtui.toml", config)
    code, out, err = run(["check", "plan.md"], capsys)
    assert code == EXIT_BAD_INPUT
    assert out == ""
    assert err.splitlines()[0].startswith(first_line)
    assert err.splitlines()[1].startswith("    hint: ")


def test_check_json_lists_errors_with_file_line_col_message_hint(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "plan.md", "## Phase 1\n- [ ] 1.1 A (depends: 1.2)\n- [ ] 1.2 B (depends: 1.1)\n"
    )
    demo_by_default(workdir)
    code, out, _ = run(["check", "plan.md", "--json"], capsys)
    assert code == EXIT_BAD_INPUT
    report = json.loads(out)
    assert report["ok"] is False
    assert report["errors"] == [
        {
            "file": "plan.md",
            "line": 2,
            "col": 23,
            "message": "dependency cycle: 1.1 → 1.2 → 1.1",
            "hint": "1.1 (line 2) waits for 1.2 by its (depends: …); 1.2 (line 3) waits for "
            "1.1 by its (depends: …); remove one of these dependencies",
        }
    ]
    assert report["critical_path"] == [] and report["width"] == 0


def test_check_warns_about_overlapping_files_but_exits_0(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "plan.md",
        "## Phase 1\n- [ ] 1.1 Edit `src/app.py`\n- [ ] 1.2 Also edit `src/app.py`\n",
    )
    demo_by_default(workdir)
    code, out, err = run(["check", "plan.md"], capsys)
    assert code == EXIT_OK
    assert (
        "plan.md:3:7: warning: tasks 1.1 and 1.2 may run at the same time and both touch "
        "src/app.py" in err
    )
    assert err.rstrip().endswith("1 warning.")
    assert "— ok" in out


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda d: None, "missing.md:1: error: no such file"),
        (lambda d: (d / "missing.md").mkdir(), "missing.md:1: error: is a folder, not a file"),
        (
            lambda d: (d / "missing.md").write_bytes(b"# Plan\n- [ ] 1.1 caf\xe9\n"),
            "missing.md:2:14: error: is not UTF-8 text (byte 0xe9)",
        ),
    ],
    ids=["missing", "folder", "not-utf8"],
)
def test_check_explains_a_plan_file_it_cannot_read(
    workdir: Path, capsys: pytest.CaptureFixture[str], setup: object, expected: str
) -> None:
    setup(workdir)  # type: ignore[operator]
    code, _, err = run(["check", "missing.md"], capsys)
    assert code == EXIT_BAD_INPUT
    assert err.splitlines()[0] == expected
    assert err.splitlines()[1].startswith("    hint: ")


def test_check_explains_an_unreadable_plan(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = write(workdir / "plan.md", EXAMPLE)
    real_read_bytes = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self.name == plan.name:
            raise PermissionError(13, "Permission denied")
        return real_read_bytes(self)

    # Tests run as root here, where chmod 000 does not stop a read.
    monkeypatch.setattr(Path, "read_bytes", refuse)
    code, _, err = run(["check", "plan.md"], capsys)
    assert code == EXIT_BAD_INPUT
    assert err.splitlines()[:2] == [
        "plan.md:1: error: permission denied",
        "    hint: make it readable: chmod u+r plan.md",
    ]


def test_check_reports_a_bad_config_next_to_the_plan(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "plan.md", EXAMPLE)
    write(
        workdir / "pmtui.toml",
        '[pool]\nmax_concurrent = 5\n\n[agents.qa-engineer]\ntimeout = "3x"\n',
    )
    code, out, err = run(["check", "plan.md"], capsys)
    assert code == EXIT_BAD_INPUT
    assert out == ""
    assert (
        err.splitlines()[0]
        == "pmtui.toml:5: error: agents.qa-engineer.timeout: '3x' is not a duration "
        "(use 90s, 5m, 1h30m, 0.5s or 1.5m)"
    )


def test_check_uses_only_the_config_named_by_the_option(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "plan.md", "## Phase 1\n- [ ] 1.1 Review (agent: reviewer)\n")
    write(workdir / "pmtui.toml", "[pool]\nmax_concurrent = 0\n")
    write(workdir / "other.toml", '[agents.reviewer]\ncommand = ["reviewer", "{prompt}"]\n')
    code, out, _ = run(["check", "plan.md", "--config", "other.toml"], capsys)
    assert code == EXIT_OK
    assert "reviewer ×1" in out


@pytest.mark.parametrize("seed", range(5))
def test_check_on_random_bytes_explains_and_never_crashes(
    workdir: Path, capsys: pytest.CaptureFixture[str], seed: int
) -> None:
    noise = random.Random(seed).randbytes(20_000)
    (workdir / "noise.md").write_bytes(noise)
    code, _, err = run(["check", "noise.md"], capsys)
    assert code == EXIT_BAD_INPUT
    assert err.startswith("noise.md:")


def test_check_on_a_5_mb_file_gives_a_summary(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prose = "Some notes about the plan, with `inline code` and (parentheses).\n" * 40
    chunks = [
        f"## Phase {n}\n- [ ] {n}.1 Step {n} in `src/m{n}.py`\n{prose}" for n in range(1, 1950)
    ]
    text = "# Plan: big\n" + "".join(chunks)
    assert len(text.encode()) > 5_000_000
    write(workdir / "big.md", text)
    demo_by_default(workdir)
    code, out, _ = run(["check", "big.md"], capsys)
    assert code == EXIT_OK
    assert "tasks          1949" in out


def test_check_on_10000_tasks_gives_a_summary(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["# Plan: wide"]
    for phase in range(1, 101):
        lines.append(f"## Phase {phase}")
        lines.extend(f"- [ ] {phase}.{n} Task {n} (estimate: {n % 7 + 1}s)" for n in range(1, 101))
    write(workdir / "wide.md", "\n".join(lines) + "\n")
    demo_by_default(workdir)
    code, out, _ = run(["check", "wide.md", "--json"], capsys)
    assert code == EXIT_OK
    report = json.loads(out)
    assert report["tasks"] == 10_000
    assert report["width"] == 100
    assert len(report["critical_path"]) == 100
    assert report["critical_path_s"] == 700.0


def test_check_finds_a_cycle_of_1000_tasks(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["## Phase 1"]
    lines.extend(f"- [ ] t{n} Step (depends: t{(n + 1) % 1000})" for n in range(1000))
    write(workdir / "cycle.md", "\n".join(lines) + "\n")
    demo_by_default(workdir)
    code, _, err = run(["check", "cycle.md"], capsys)
    assert code == EXIT_BAD_INPUT
    first = err.splitlines()[0]
    assert first.startswith("cycle.md:2:")
    assert "dependency cycle: t0 → t1 → t2" in first and first.endswith("→ t999 → t0")
    assert err.rstrip().endswith("1 error.")


def test_init_writes_every_key_that_loads_back_to_the_defaults(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", path_with(workdir / "bin"))  # no agent CLI to default to
    code, out, _ = run(["init"], capsys)
    assert code == EXIT_OK
    assert "wrote" in out
    written = (workdir / "pmtui.toml").read_text(encoding="utf-8")
    assert tomllib.loads(written) == default_settings()
    assert written.count("\n# ") > 50


def test_init_refuses_to_overwrite_without_force(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", path_with(workdir / "bin"))
    write(workdir / "pmtui.toml", "# mine\n")
    code, _, err = run(["init"], capsys)
    assert code == EXIT_BAD_INPUT
    assert err.splitlines() == [
        "pmtui.toml: error: already exists; nothing written",
        "    hint: run `pmtui init --force` to replace it with the defaults",
    ]
    assert (workdir / "pmtui.toml").read_text() == "# mine\n"
    code, _, _ = run(["init", "--force"], capsys)
    assert code == EXIT_OK
    assert tomllib.loads((workdir / "pmtui.toml").read_text()) == default_settings()


def path_with(folder: Path, *programs: str) -> str:
    """A PATH of one folder holding do-nothing executables named `programs`."""
    folder.mkdir()
    for program in programs:
        stub = write(folder / program, "#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    return str(folder)


def test_init_makes_the_first_agent_cli_on_path_the_default_agent(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", path_with(workdir / "bin", "gemini", "codex"))
    code, out, _ = run(["init"], capsys)
    assert code == EXIT_OK
    assert "default agent: codex" in out
    written = tomllib.loads((workdir / "pmtui.toml").read_text(encoding="utf-8"))
    assert written["pool"]["default_agent"] == "codex"  # codex comes before gemini


def test_init_config_is_used_by_check(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", path_with(workdir / "bin", "claude"))
    run(["init"], capsys)
    write(workdir / "plan.md", EXAMPLE)
    code, out, err = run(["check", "plan.md"], capsys)
    assert code == EXIT_OK
    assert err == ""  # claude is on PATH: no warning
    assert "config         defaults + pmtui.toml" in out


def test_init_without_an_agent_cli_leaves_default_agent_empty_and_check_says_so(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", path_with(workdir / "bin"))
    code, out, _ = run(["init"], capsys)
    assert code == EXIT_OK
    assert "default agent: none" in out
    text = (workdir / "pmtui.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text)["pool"]["default_agent"] == ""
    assert "# no agent CLI found on PATH: install one" in text
    write(workdir / "plan.md", EXAMPLE)
    code, _, err = run(["check", "plan.md"], capsys)
    assert code == EXIT_BAD_INPUT
    assert (
        "plan.md:4:38: error: task 1.1 uses the role 'product-manager', which has no agent to "
        "run as" in err.splitlines()
    )


def test_demo_checks_the_bundled_feature_plan(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["demo", "--dry-run"], capsys)
    assert code == EXIT_OK
    assert "feature.md" in out
    assert "critical path" in out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == EXIT_BAD_INPUT
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_check_on_5_mb_of_garbled_task_lines_finishes_with_capped_output(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(3)
    alphabet = "ab (:)[]`/ x1."
    lines = ["- [ ] " + "".join(rng.choice(alphabet) for _ in range(60)) for _ in range(75_000)]
    write(workdir / "garbled.md", "\n".join(lines))
    code, _, err = run(["check", "garbled.md"], capsys)
    assert code == EXIT_BAD_INPUT
    assert "more problems not shown (pmtui check --json lists them all)" in err
    assert len(err.splitlines()) < 500


def test_check_on_thousands_of_glob_files_finishes(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["## P"] + [f"- [ ] t{n} Edit `src/m{n}/*.py`" for n in range(3000)]
    write(workdir / "globs.md", "\n".join(lines) + "\n")
    demo_by_default(workdir)
    code, out, _ = run(["check", "globs.md"], capsys)
    assert code == EXIT_OK
    assert "tasks          3000" in out


def test_a_bad_config_does_not_hide_the_plans_own_errors(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pmtui.toml", "[pool]\nmax_concurrent = 0\n")
    write(
        workdir / "plan.md",
        "## P\n- [ ] 1.1 a (depends: 1.2)\n- [ ] 1.2 b (depends: 1.1, 9.9)\n",
    )
    code, _, err = run(["check", "plan.md"], capsys)
    assert code == EXIT_BAD_INPUT
    firsts = [line for line in err.splitlines() if not line.startswith("    ")]
    assert firsts[0].startswith("pmtui.toml:2: error: pool.max_concurrent:")
    assert firsts[1].startswith("plan.md:2:23: error: dependency cycle: 1.1 → 1.2 → 1.1")
    assert firsts[2] == "plan.md:3:28: error: task 1.2 depends on unknown task 9.9"
    assert firsts[3] == "3 errors."


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        (["init"], "pmtui.toml: error: already exists; nothing written"),
        (["init", "--force"], "pmtui.toml: error: is a folder; nothing written"),
    ],
)
def test_init_over_a_folder_explains_and_leaves_nothing_behind(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: list[str], first_line: str
) -> None:
    (workdir / "pmtui.toml").mkdir()
    code, _, err = run(args, capsys)
    assert code == EXIT_BAD_INPUT
    assert err.splitlines()[0] == first_line
    assert [path.name for path in workdir.iterdir()] == ["pmtui.toml"]
