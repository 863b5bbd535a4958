"""The Markdown plan format of docs/design.md §2, read by `parse_plan`."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from pmtui.plan.errors import Problem, Severity
from pmtui.plan.model import PhaseMode, Plan, Priority, Task
from pmtui.plan.parser import extract_files, is_written_id, parse_plan

DESIGN_EXAMPLE = (Path(__file__).resolve().parent.parent / "data" / "design_example.md").read_text(
    encoding="utf-8"
)


def parse(text: str, path: str = "plan.md") -> Plan:
    """Parse text that must have no problems."""
    plan, problems = parse_plan(textwrap.dedent(text), path)
    assert problems == []
    return plan


def only_task(text: str) -> Task:
    """The single task of a problem-free plan."""
    plan = parse(text)
    assert len(plan.tasks) == 1
    return plan.tasks[0]


def only_problem(text: str) -> Problem:
    """The single problem found in a plan."""
    _, problems = parse_plan(textwrap.dedent(text))
    assert len(problems) == 1, [problem.render() for problem in problems]
    return problems[0]


def where(problem: Problem) -> tuple[int, int, str]:
    return problem.line, problem.col, problem.message


# --- The design example -------------------------------------------------------------------


def test_design_example_parses_without_problems() -> None:
    plan = parse(DESIGN_EXAMPLE, "oauth.md")

    assert plan.path == "oauth.md"
    assert plan.title == "Add OAuth login"
    assert [(phase.number, phase.title, phase.mode) for phase in plan.phases] == [
        ("1", "Discovery", PhaseMode.STAGED),
        ("2", "Build", PhaseMode.STAGED),
        ("3", "Docs", PhaseMode.PARALLEL),
        ("4", "Release", PhaseMode.SEQUENTIAL),
    ]
    assert [task.id for task in plan.tasks] == [
        "1.1",
        "1.2",
        "2.1",
        "2.2",
        "2.3",
        "3.1",
        "4.1",
        "4.2",
    ]
    assert [task.phase for task in plan.tasks] == [0, 0, 1, 1, 1, 2, 3, 3]
    assert [len(phase.tasks) for phase in plan.phases] == [2, 3, 1, 2]


def test_design_example_task_fields() -> None:
    plan = parse(DESIGN_EXAMPLE)

    implement = plan.task("2.1")
    assert implement.title == "Implement client in `src/auth/oauth.py`"
    assert implement.agent == "swebok-engineer"
    assert implement.depends == ("1.1",)
    assert implement.files == ("src/auth/oauth.py",)
    assert implement.body == "Indented lines under a task are its prompt body, handed to the agent."
    assert implement.line == 8
    assert plan.task("2.2").done is True
    assert plan.task("2.3").priority is Priority.HIGH
    assert plan.task("2.3").files == ("tests/test_oauth.py",)
    assert plan.task("3.1").files == ("docs/oauth.md",)
    release = plan.task("4.1")
    assert release.priority is Priority.CRITICAL
    assert release.timeout_s == 600
    assert plan.task("4.2").depends is None


def test_plan_task_raises_key_error_for_unknown_id() -> None:
    plan = parse(DESIGN_EXAMPLE)

    with pytest.raises(KeyError):
        plan.task("9.9")


# --- Title ----------------------------------------------------------------------------------


def test_plan_title_comes_from_plan_heading() -> None:
    assert parse("# Plan: Ship it\n- [ ] 1.1 Go\n").title == "Ship it"


def test_plan_title_prefix_is_case_insensitive() -> None:
    assert parse("# plan:   Ship it\n- [ ] 1.1 Go\n").title == "Ship it"


def test_plain_h1_is_the_title() -> None:
    assert parse("# Quarterly cleanup\n- [ ] 1.1 Go\n").title == "Quarterly cleanup"


def test_plan_without_h1_is_titled_by_its_file_stem() -> None:
    assert parse("- [ ] 1.1 Go\n", "plans/release-v2.md").title == "release-v2"


def test_h1_after_the_first_phase_is_not_the_title() -> None:
    plan = parse("## Phase 1: Go\n- [ ] 1.1 Go\n# Not a title\n", "x.md")

    assert plan.title == "x"


# --- Phases ---------------------------------------------------------------------------------


def test_phase_number_is_taken_from_the_heading() -> None:
    plan = parse("## Phase 2: Build\n- [ ] Compile\n")

    assert (plan.phases[0].number, plan.phases[0].title) == ("2", "Build")
    assert plan.tasks[0].id == "2.1"


@pytest.mark.parametrize(
    ("heading", "number", "title"),
    [
        ("Phase 2: Build", "2", "Build"),
        ("Phase 2.1: Build", "2.1", "Build"),
        ("Phase 2a: Build", "2a", "Build"),
        ("Phase 2. Build", "2", "Build"),
        ("Phase 2 - Build", "2", "Build"),
        ("phase 7 Build", "7", "Build"),
        ("3. Build", "3", "Build"),
        ("Build", "1", "Build"),
        ("Phase One: Build", "1", "Phase One: Build"),
    ],
)
def test_phase_heading_number_and_title(heading: str, number: str, title: str) -> None:
    plan = parse(f"## {heading}\n- [ ] Do\n")

    assert (plan.phases[0].number, plan.phases[0].title) == (number, title)


def test_unnumbered_phases_are_numbered_by_position() -> None:
    plan = parse("## Setup\n- [ ] a\n## Build\n- [ ] b\n")

    assert [phase.number for phase in plan.phases] == ["1", "2"]
    assert [task.id for task in plan.tasks] == ["1.1", "2.1"]


@pytest.mark.parametrize(
    ("marker", "mode"),
    [
        ("[PARALLEL]", PhaseMode.PARALLEL),
        ("[parallel]", PhaseMode.PARALLEL),
        ("[Parallel]", PhaseMode.PARALLEL),
        ("[SEQUENTIAL]", PhaseMode.SEQUENTIAL),
        ("[sequential]", PhaseMode.SEQUENTIAL),
        ("", PhaseMode.STAGED),
    ],
)
def test_phase_marker_is_case_insensitive(marker: str, mode: PhaseMode) -> None:
    plan = parse(f"## Phase 1: Docs {marker}\n- [ ] 1.1 Write\n")

    assert plan.phases[0].mode is mode
    assert plan.phases[0].title == "Docs"


def test_phase_marker_may_come_before_the_title() -> None:
    plan = parse("## [PARALLEL] Phase 3: Docs\n- [ ] Write\n")

    assert plan.phases[0].mode is PhaseMode.PARALLEL
    assert (plan.phases[0].number, plan.phases[0].title) == ("3", "Docs")


def test_other_bracketed_words_in_a_heading_are_kept() -> None:
    plan = parse("## Phase 1: Fix [WIP] bugs\n- [ ] 1.1 Fix\n")

    assert plan.phases[0].title == "Fix [WIP] bugs"
    assert plan.phases[0].mode is PhaseMode.STAGED


def test_phase_records_its_line() -> None:
    plan = parse("# Plan: x\n\n## Phase 1: A\n- [ ] 1.1 a\n\n## Phase 2: B\n- [ ] 2.1 b\n")

    assert [phase.line for phase in plan.phases] == [3, 6]


def test_empty_phase_is_kept() -> None:
    plan = parse("## Phase 1: A\n- [ ] 1.1 a\n## Phase 2: Empty\n## Phase 3: C\n- [ ] 3.1 c\n")

    assert [len(phase.tasks) for phase in plan.phases] == [1, 0, 1]


def test_deeper_headings_are_not_phases() -> None:
    plan = parse("## Phase 1: A\n### Notes\n- [ ] 1.1 a\n- [ ] 1.2 b\n")

    assert len(plan.phases) == 1
    assert [task.id for task in plan.tasks] == ["1.1", "1.2"]


# --- Tasks before any phase heading -------------------------------------------------------


def test_tasks_before_any_phase_heading_form_a_first_phase() -> None:
    plan = parse("# Plan: Loose\n- [ ] Lint\n- [ ] Test\n")

    assert len(plan.phases) == 1
    assert plan.phases[0].mode is PhaseMode.STAGED
    assert [task.id for task in plan.tasks] == ["1.1", "1.2"]
    assert plan.phases[0].line == 2


def test_tasks_before_a_phase_1_heading_do_not_collide_with_its_generated_ids() -> None:
    # Ambiguous in DESIGN: the leading phase gives way to a written `Phase 1`, so the
    # generated ids stay unique (0.1 for the loose task, 1.1 for the phase's).
    plan = parse("- [ ] Prepare\n## Phase 1: Build\n- [ ] Compile\n")

    assert [phase.number for phase in plan.phases] == ["0", "1"]
    assert [task.id for task in plan.tasks] == ["0.1", "1.1"]
    assert [task.phase for task in plan.tasks] == [0, 1]


def test_tasks_before_unnumbered_headings_keep_phase_1() -> None:
    plan = parse("- [ ] Prepare\n## Build\n- [ ] Compile\n")

    assert [task.id for task in plan.tasks] == ["1.1", "2.1"]


# --- Ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["1.1", "2.3a", "t12", "T-7", "v2_b", "10"])
def test_words_with_a_digit_are_ids(word: str) -> None:
    assert is_written_id(word)
    assert only_task(f"- [ ] {word} Do the thing\n").id == word


@pytest.mark.parametrize("word", ["Research", "a.b", "1/2", "#3", "1,2", ""])
def test_words_without_a_digit_or_with_other_characters_are_not_ids(word: str) -> None:
    assert not is_written_id(word)


def test_title_word_is_not_an_id_and_the_id_is_generated() -> None:
    task = only_task("## Phase 3: Docs\n- [ ] Research providers\n")

    assert task.id == "3.1"
    assert task.title == "Research providers"


def test_generated_id_counts_every_task_of_the_phase() -> None:
    plan = parse("## Phase 2: Build\n- [ ] 2.1 First\n- [ ] Second\n- [ ] Third\n")

    assert [task.id for task in plan.tasks] == ["2.1", "2.2", "2.3"]


def test_id_key_names_a_task_without_written_id() -> None:
    task = only_task("- [ ] Lint the code (id: lint)\n")

    assert task.id == "lint"
    assert task.title == "Lint the code"


def test_id_may_end_with_a_colon_or_dot() -> None:
    plan = parse("- [ ] 1.1: Colon\n- [ ] 1.2. Dot\n")

    assert [(task.id, task.title) for task in plan.tasks] == [("1.1", "Colon"), ("1.2", "Dot")]


def test_id_separated_by_a_tab_is_an_id() -> None:
    task = only_task("- [ ] 1.1\tResearch\n")

    assert (task.id, task.title) == ("1.1", "Research")


def test_id_after_a_key_group_is_still_the_id_with_its_own_column() -> None:
    task = only_task("- [ ] (agent: qa) 1.1 Research\n")

    assert (task.id, task.title, task.agent) == ("1.1", "Research", "qa")
    assert task.source.id_col == 19


def test_id_column_points_at_the_written_id() -> None:
    task = only_task("- [ ] 2.3a Do\n")

    assert task.source.id_col == 7


def test_id_column_points_at_the_id_key_value() -> None:
    task = only_task("- [ ] Do it (id: lint)\n")

    assert task.source.id_col == 18


# --- Keys -----------------------------------------------------------------------------------


def test_keys_in_any_order_and_anywhere_on_the_line() -> None:
    plan = parse(
        """\
        - [ ] 1.1 First
        - [ ] 1.2 (priority: low) Write (agent: qa) the tests (depends: 1.1) now (retries: 2)
        - [ ] 1.3 Other (retries: 1) (depends: 1.1) (agent: qa) (priority: LOW)
        """
    )

    second, third = plan.task("1.2"), plan.task("1.3")
    assert second.title == "Write the tests now"
    assert (second.agent, second.depends, second.priority, second.retries) == (
        "qa",
        ("1.1",),
        Priority.LOW,
        2,
    )
    assert (third.agent, third.depends, third.priority, third.retries) == (
        "qa",
        ("1.1",),
        Priority.LOW,
        1,
    )


def test_key_names_are_case_insensitive() -> None:
    task = only_task("- [ ] 1.1 Go (Agent: qa) (DEPENDS: none)\n")

    assert (task.agent, task.depends) == ("qa", ())


def test_key_columns_point_at_their_values() -> None:
    task = only_task("- [ ] 1.1 Go (agent: qa) (depends: 1.2, 1.3) (files: a.py)\n")

    assert task.source.agent_col == 22
    assert task.source.depends_cols == (36, 41)
    assert task.source.files_col == 54


def test_parentheses_without_a_colon_stay_in_the_title() -> None:
    task = only_task("- [ ] 1.1 Retry (twice) on failure\n")

    assert task.title == "Retry (twice) on failure"


def test_url_in_parentheses_is_not_a_key() -> None:
    task = only_task("- [ ] 1.1 Read the spec (https://example.com/spec)\n")

    assert task.title == "Read the spec (https://example.com/spec)"


@pytest.mark.parametrize("value", ["none", "None", "NONE", " none "])
def test_depends_none_is_an_explicit_empty_list(value: str) -> None:
    task = only_task(f"- [ ] 1.1 Go (depends: {value})\n")

    assert task.depends == ()
    assert task.source.depends_cols == ()


def test_no_depends_key_means_the_barrier_applies() -> None:
    assert only_task("- [ ] 1.1 Go\n").depends is None


def test_depends_is_a_comma_list() -> None:
    plan = parse("- [ ] 1.1 A\n- [ ] lint B (id: lint)\n- [ ] 1.3 C (depends: 1.1,lint ,  1.2)\n")

    assert plan.task("1.3").depends == ("1.1", "lint", "1.2")


@pytest.mark.parametrize(
    ("value", "priority"),
    [
        ("low", Priority.LOW),
        ("normal", Priority.NORMAL),
        ("High", Priority.HIGH),
        ("CRITICAL", Priority.CRITICAL),
    ],
)
def test_priority_is_case_insensitive(value: str, priority: Priority) -> None:
    assert only_task(f"- [ ] 1.1 Go (priority: {value})\n").priority is priority


def test_priority_defaults_to_normal() -> None:
    assert only_task("- [ ] 1.1 Go\n").priority is Priority.NORMAL


def test_priority_ranks_rise_with_urgency() -> None:
    ranks = [priority.rank for priority in (Priority.LOW, Priority.NORMAL, Priority.HIGH)]

    assert ranks + [Priority.CRITICAL.rank] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0.5s", 0.5),
        ("90s", 90.0),
        ("5m", 300.0),
        ("1.5m", 90.0),
        ("1h30m", 5400.0),
        ("2h", 7200.0),
        ("45", 45.0),
    ],
)
def test_durations_for_timeout_and_estimate(value: str, seconds: float) -> None:
    task = only_task(f"- [ ] 1.1 Go (timeout: {value}) (estimate: {value})\n")

    assert task.timeout_s == pytest.approx(seconds)
    assert task.estimate_s == pytest.approx(seconds)


def test_zero_estimate_is_allowed() -> None:
    assert only_task("- [ ] 1.1 Go (estimate: 0s)\n").estimate_s == 0


def test_unset_numbers_are_none() -> None:
    task = only_task("- [ ] 1.1 Go\n")

    assert (task.timeout_s, task.estimate_s, task.retries, task.agent) == (None, None, None, None)


@pytest.mark.parametrize(("value", "retries"), [("0", 0), ("3", 3), (" 12 ", 12)])
def test_retries_is_a_whole_number(value: str, retries: int) -> None:
    assert only_task(f"- [ ] 1.1 Go (retries: {value})\n").retries == retries


# --- Done -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("box", "done"), [("[ ]", False), ("[x]", True), ("[X]", True)])
def test_checkbox_marks_done(box: str, done: bool) -> None:
    assert only_task(f"- {box} 1.1 Go\n").done is done


@pytest.mark.parametrize("bullet", ["-", "*", "+"])
def test_any_list_bullet_starts_a_task(bullet: str) -> None:
    assert only_task(f"{bullet} [ ] 1.1 Go\n").id == "1.1"


def test_plain_list_items_and_prose_are_not_tasks() -> None:
    plan = parse("Some prose.\n\n- a plain item\n- [link](https://x.y)\n- [ ] 1.1 Real\n")

    assert [task.id for task in plan.tasks] == ["1.1"]


# --- Bodies, prompts, scripts ---------------------------------------------------------------


def test_indented_body_is_dedented_and_joins_the_prompt() -> None:
    task = only_task(
        "- [ ] 1.1 Write docs\n    Explain the login flow.\n\n      - with an indented list\n"
    )

    assert task.body == "Explain the login flow.\n\n  - with an indented list"
    assert task.prompt == "Write docs\n\nExplain the login flow.\n\n  - with an indented list"


def test_prompt_is_the_title_alone_without_a_body() -> None:
    task = only_task("- [ ] 1.1 Write docs (agent: qa)\n")

    assert task.body == ""
    assert task.prompt == "Write docs"


def test_body_ends_at_the_next_unindented_line() -> None:
    plan = parse("- [ ] 1.1 A\n    body of a\n\nProse here.\n    not a body\n- [ ] 1.2 B\n")

    assert plan.task("1.1").body == "body of a"
    assert plan.task("1.2").body == ""


def test_body_may_be_indented_with_tabs() -> None:
    task = only_task("- [ ] 1.1 A\n\tfirst\n\t\tsecond\n")

    assert task.body == "first\n    second"


def test_sh_fence_in_the_body_is_the_script() -> None:
    task = only_task(
        """\
        - [ ] 1.1 Run the tests
            Run them all.
            ```sh
            make test
            echo done
            ```
        """
    )

    assert task.script == "make test\necho done\n"
    assert "```sh" in task.body
    assert task.prompt.startswith("Run the tests\n\nRun them all.\n```sh\n")


@pytest.mark.parametrize("language", ["sh", "bash", "shell", "SH"])
def test_shell_fences_are_scripts(language: str) -> None:
    task = only_task(f"- [ ] 1.1 Go\n    ```{language}\n    ls\n    ```\n")

    assert task.script == "ls\n"


def test_tilde_fence_is_a_script_too() -> None:
    assert only_task("- [ ] 1.1 Go\n    ~~~bash\n    ls\n    ~~~\n").script == "ls\n"


@pytest.mark.parametrize("language", ["python", "", "json"])
def test_other_fences_are_not_scripts(language: str) -> None:
    task = only_task(f"- [ ] 1.1 Go\n    ```{language}\n    print(1)\n    ```\n")

    assert task.script is None
    assert "print(1)" in task.body


def test_script_keeps_its_own_indentation_and_blank_lines() -> None:
    task = only_task(
        "- [ ] 1.1 Go\n    ```sh\n    if true; then\n        echo yes\n\n    fi\n    ```\n"
    )

    assert task.script == "if true; then\n    echo yes\n\nfi\n"


def test_top_level_fence_hides_task_lines_and_headings() -> None:
    plan = parse(
        """\
        ## Phase 1: Real
        - [ ] 1.1 Real task
        ```markdown
        ## Phase 9: Example
        - [ ] 9.1 Only an example
        ```
        - [ ] 1.2 Also real
        """
    )

    assert [task.id for task in plan.tasks] == ["1.1", "1.2"]
    assert len(plan.phases) == 1


def test_longer_fence_is_closed_only_by_as_long_a_fence() -> None:
    plan = parse("````\n```\n- [ ] 9.1 Hidden\n```\n````\n- [ ] 1.1 Shown\n")

    assert [task.id for task in plan.tasks] == ["1.1"]


def test_unclosed_top_level_fence_hides_the_rest_and_says_so() -> None:
    plan, problems = parse_plan("- [ ] 1.1 Shown\n```\n- [ ] 1.2 Hidden\n")

    assert [task.id for task in plan.tasks] == ["1.1"]
    assert [(p.line, p.col, p.message) for p in problems] == [
        (2, 1, "this code fence (```) is never closed, so the rest of the file is read as code")
    ]
    assert problems[0].hint.startswith("close it with a line of ```")


def test_unindented_script_line_ends_the_body_and_the_stray_fence_is_reported() -> None:
    text = "- [ ] 1.1 run it\n    ```sh\necho hi\n    ```\n- [ ] 1.2 second\n- [ ] 1.3 third\n"
    plan, problems = parse_plan(text)

    assert [task.id for task in plan.tasks] == ["1.1"]
    assert [(p.line, p.message.split(",")[0]) for p in problems] == [
        (2, "this code fence (```) is never closed"),
        (4, "this code fence (```) is never closed"),
    ]


def test_unclosed_fence_in_a_body_is_reported_at_its_line() -> None:
    plan, problems = parse_plan("## P\n- [ ] 1.1 run\n\n    ~~~sh\n    echo hi\n- [ ] 1.2 next\n")

    assert [task.id for task in plan.tasks] == ["1.1", "1.2"]
    assert [(p.line, p.message.split(" (")[0]) for p in problems] == [(4, "this code fence")]


def test_phase_like_subheading_is_a_warning() -> None:
    _, problems = parse_plan("## Phase 1\n- [ ] 1.1 a\n### Phase 2: Build\n- [ ] 2.1 b\n")

    assert [(p.line, p.severity.value, p.message) for p in problems] == [
        (
            3,
            "warning",
            "'Phase 2' is a subheading, read as text: its tasks stay in the phase above",
        )
    ]
    assert problems[0].hint == "phase headings use two #: write `## Phase 2: …`"


def test_closing_hashes_of_a_heading_are_dropped_but_not_a_hash_in_a_word() -> None:
    plan, _ = parse_plan("# Plan: Port to C# #\n## Phase 1: C# ##\n- [ ] 1.1 a\n")

    assert plan.title == "Port to C#"
    assert plan.phases[0].title == "C#"


def test_long_runs_of_blanks_parse_in_linear_time() -> None:
    blanks = " " * 300_000
    text = (
        f"# Plan: x{blanks}y\n## Phase 1{blanks}z\n- [ ] 1.1 a{blanks}b\n"
        f"- [ ] 1.2 c (agent: {blanks}\n"
    )
    plan, _ = parse_plan(text)

    assert plan.title == f"x{blanks}y"
    assert plan.phases[0].title == "z"
    assert [task.title for task in plan.tasks] == ["a b", "c (agent:"]


def test_e_g_in_backticks_is_not_a_file_but_short_names_are() -> None:
    task = only_task("- [ ] 1.1 see `e.g.` and `x.h` and `.env`\n")

    assert task.files == ("x.h", ".env")


# --- Files ----------------------------------------------------------------------------------


def test_backticked_paths_are_files() -> None:
    task = only_task("- [ ] 1.1 Edit `src/app.py` and `setup.cfg` and `lib/x`\n")

    assert task.files == ("src/app.py", "setup.cfg", "lib/x")


def test_backticked_commands_and_flags_are_not_files() -> None:
    task = only_task("- [ ] 1.1 Run `make test` then `pytest` with `--quiet`\n")

    assert task.files == ()


def test_bare_src_tests_test_and_docs_paths_are_files() -> None:
    task = only_task("- [ ] 1.1 Touch src/a.py, tests/test_a.py; test/b.py and docs/a.md.\n")

    assert task.files == ("src/a.py", "tests/test_a.py", "test/b.py", "docs/a.md")


def test_other_bare_paths_are_not_files() -> None:
    task = only_task("- [ ] 1.1 Touch lib/a.py and mysrc/b.py and x/src/c.py\n")

    assert task.files == ()


def test_files_key_lists_paths() -> None:
    task = only_task("- [ ] 1.1 Go (files: a.py, lib/b.py , `c/d.txt`)\n")

    assert task.files == ("a.py", "lib/b.py", "c/d.txt")


def test_files_are_deduplicated_and_dot_slash_is_stripped() -> None:
    task = only_task(
        "- [ ] 1.1 Edit `./src/a.py` and src/a.py (files: ./src/a.py, src//b.py)\n"
        "    Also src/b.py and `src/a.py`.\n"
    )

    assert task.files == ("src/a.py", "src/b.py")


def test_files_in_the_body_count() -> None:
    task = only_task("- [ ] 1.1 Go\n    Update docs/guide.md and `config.toml`.\n")

    assert task.files == ("docs/guide.md", "config.toml")


def test_globs_are_files() -> None:
    assert only_task("- [ ] 1.1 Go (files: src/**/*.py)\n").files == ("src/**/*.py",)


@pytest.mark.parametrize(
    ("text", "files"),
    [
        ("see `https://x.org/a.html`", []),
        ("call `f(x).py`", []),
        ("edit `notes.md`.", ["notes.md"]),
        ("edit `v1.2`", []),
        ("edit src/auth/ now", ["src/auth"]),
    ],
)
def test_extract_files(text: str, files: list[str]) -> None:
    assert extract_files(text) == files


# --- Problems found while parsing ----------------------------------------------------------


def test_unknown_key_suggests_the_closest() -> None:
    problem = only_problem("- [ ] 1.1 Do it (agnet: qa)\n")

    assert where(problem) == (1, 17, "unknown key 'agnet'")
    assert problem.hint == (
        "did you mean 'agent'? (to keep the parentheses as text, drop the colon)"
    )
    assert problem.severity is Severity.ERROR


def test_unknown_key_far_from_any_lists_the_keys() -> None:
    problem = only_problem("- [ ] 1.1 Do it (note: later)\n")

    assert where(problem) == (1, 17, "unknown key 'note'")
    assert problem.hint.startswith(
        "the keys are id, agent, depends, priority, files, timeout, retries, estimate"
    )


def test_unknown_key_is_dropped_from_the_title() -> None:
    plan, _ = parse_plan("- [ ] 1.1 Do it (agnet: qa)\n")

    assert plan.tasks[0].title == "Do it"
    assert plan.tasks[0].agent is None


def test_duplicate_key_is_reported_at_the_second_and_the_first_is_used() -> None:
    plan, problems = parse_plan("- [ ] 1.1 Do it (agent: a) (agent: b)\n")

    assert [where(problem) for problem in problems] == [(1, 28, "key 'agent' is given twice")]
    assert problems[0].hint == "keep one (agent: …) group; the first one, at column 25, is used"
    assert plan.tasks[0].agent == "a"


def test_bad_priority_suggests_the_closest() -> None:
    problem = only_problem("- [ ] 1.1 Do it (priority: hihg)\n")

    assert where(problem) == (1, 28, "bad priority 'hihg'")
    assert problem.hint == "did you mean 'high'?"


def test_bad_priority_far_from_any_lists_them() -> None:
    problem = only_problem("- [ ] 1.1 Do it (priority: urgent)\n")

    assert problem.hint == "priority is one of low, normal, high, critical"


@pytest.mark.parametrize("key", ["timeout", "estimate"])
@pytest.mark.parametrize("value", ["10 minutes", "soon", "-5s", "5x", "1h30"])
def test_bad_duration(key: str, value: str) -> None:
    plan, problems = parse_plan(f"- [ ] 1.1 Do ({key}: {value})\n")

    assert len(problems) == 1
    problem = problems[0]
    assert (problem.line, problem.message) == (1, f"bad {key} '{value}'")
    assert problem.col == len(f"- [ ] 1.1 Do ({key}: ") + 1
    assert problem.hint == "write a duration such as 90s, 5m, 1h30m, 0.5s or 1.5m"
    assert getattr(plan.tasks[0], f"{key}_s") is None


@pytest.mark.parametrize("value", ["0", "0s", "0m0s", "0.0s"])
def test_zero_timeout_is_an_error(value: str) -> None:
    problem = only_problem(f"- [ ] 1.1 Do it (timeout: {value})\n")

    assert where(problem) == (1, 27, "timeout must be more than 0")
    assert problem.hint == "write a duration such as 10m"


@pytest.mark.parametrize("value", ["two", "-1", "1.5", "", "²", "3 times"])
def test_bad_retries(value: str) -> None:
    plan, problems = parse_plan(f"- [ ] 1.1 Do it (retries: {value})\n")

    assert [(problem.line, problem.message) for problem in problems] == [
        (1, f"bad retries '{value}'")
    ]
    assert problems[0].hint.startswith("retries is a whole number of extra attempts")
    assert plan.tasks[0].retries is None


def test_bad_id_key() -> None:
    plan, problems = parse_plan("## Phase 4: X\n- [ ] Lint (id: has space)\n")

    assert [where(problem) for problem in problems] == [(2, 17, "bad id 'has space'")]
    assert problems[0].hint == (
        "an id uses only letters, digits, '.', '-' and '_', e.g. (id: lint)"
    )
    assert plan.tasks[0].id == "4.1"


def test_written_id_plus_id_key_keeps_the_written_id() -> None:
    plan, problems = parse_plan("- [ ] 1.1 Lint (id: lint)\n")

    assert [where(problem) for problem in problems] == [(1, 21, "task 1.1 also has (id: lint)")]
    assert problems[0].hint == (
        "a task has one id: drop the (id: …) group or the id written first on the line"
    )
    assert plan.tasks[0].id == "1.1"


def test_bad_dependency_word_is_reported_at_its_column() -> None:
    plan, problems = parse_plan("- [ ] 1.1 Lint (depends: 1.2, #3)\n")

    assert [where(problem) for problem in problems] == [(1, 31, "bad dependency '#3'")]
    assert problems[0].hint == "list task ids separated by commas, e.g. (depends: 1.1, 1.2)"
    assert plan.tasks[0].depends == ("1.2",)


@pytest.mark.parametrize("value", ["", " ", ",", " , "])
def test_empty_depends_is_an_error(value: str) -> None:
    plan, problems = parse_plan(f"- [ ] 1.1 Lint (depends:{value})\n")

    assert [(problem.line, problem.message) for problem in problems] == [(1, "empty (depends: …)")]
    assert "(depends: none)" in problems[0].hint
    assert plan.tasks[0].depends == ()


def test_empty_files_is_an_error() -> None:
    problem = only_problem("- [ ] 1.1 Lint (files: , )\n")

    assert where(problem) == (1, 24, "empty (files: …)")
    assert problem.hint == (
        "list the paths the task changes, e.g. (files: src/app.py, docs/app.md)"
    )


def test_bad_agent_name() -> None:
    plan, problems = parse_plan("- [ ] 1.1 Go (agent: qa engineer)\n")

    assert [where(problem) for problem in problems] == [(1, 22, "bad agent name 'qa engineer'")]
    assert plan.tasks[0].agent is None


def test_task_with_only_an_id_has_no_title() -> None:
    problem = only_problem("- [ ] 1.1 (agent: x)\n")

    assert where(problem) == (1, 7, "task 1.1 has no title")
    assert problem.hint == (
        "say what the task should do after its id, e.g. `- [ ] 1.1 Write the tests`"
    )


def test_checkbox_alone_has_no_title() -> None:
    plan, problems = parse_plan("## Phase 1: A\n- [ ] \n")

    assert [where(problem) for problem in problems] == [(2, 1, "task has no title")]
    assert plan.tasks == ()


@pytest.mark.parametrize("line", ["- [] x", "-[ ] x", "- [ ]x", "- [x]Done", "* [ x ] y", "-[x] z"])
def test_malformed_checkbox(line: str) -> None:
    plan, problems = parse_plan(f"## Phase 1: A\n{line}\n")

    assert [where(problem) for problem in problems] == [
        (2, 1, "this looks like a task but its checkbox is malformed")
    ]
    assert problems[0].hint == (
        "write it as `- [ ] 1.1 Describe the task (agent: demo)`: a dash, a space, `[ ]` or "
        "`[x]`, a space, then the task"
    )
    assert plan.tasks == ()


def test_unknown_phase_marker_suggests_the_closest() -> None:
    plan, problems = parse_plan("## Phase 1: Build [PARALEL]\n- [ ] 1.1 x\n")

    assert [where(problem) for problem in problems] == [(1, 19, "unknown phase marker [PARALEL]")]
    assert problems[0].hint == (
        "did you mean [PARALLEL]? A phase is [PARALLEL], [SEQUENTIAL] or neither"
    )
    assert plan.phases[0].mode is PhaseMode.STAGED


def test_unknown_phase_marker_column_follows_the_heading_spacing() -> None:
    _, problems = parse_plan("##    Docs [sequental]\n- [ ] 1.1 x\n")

    assert [where(problem) for problem in problems] == [(1, 12, "unknown phase marker [sequental]")]
    assert problems[0].hint.startswith("did you mean [SEQUENTIAL]?")


def test_both_phase_markers_is_an_error() -> None:
    plan, problems = parse_plan("## Phase 1: Build [PARALLEL] [SEQUENTIAL]\n- [ ] 1.1 x\n")

    assert [where(problem) for problem in problems] == [
        (1, 1, "a phase cannot be both [PARALLEL] and [SEQUENTIAL]")
    ]
    assert plan.phases[0].title == "Build"


def test_every_parse_problem_is_reported_in_one_pass() -> None:
    _, problems = parse_plan(
        textwrap.dedent(
            """\
            ## Phase 1: A [PARALEL]
            - [ ] 1.1 One (agnet: x)
            - [] broken
            - [ ] 1.3 Three (priority: soon) (timeout: 0)
            """
        )
    )

    assert [(problem.line, problem.col) for problem in problems] == [
        (1, 15),
        (2, 15),
        (3, 1),
        (4, 28),
        (4, 44),
    ]


def test_problems_name_the_file() -> None:
    _, problems = parse_plan("- [ ] 1.1 x (agnet: a)\n", "plans/p.md")

    assert problems[0].file == "plans/p.md"
    assert problems[0].render() == (
        "plans/p.md:1:13: error: unknown key 'agnet'\n"
        "    hint: did you mean 'agent'? (to keep the parentheses as text, drop the colon)"
    )


# --- Line endings, immutability ------------------------------------------------------------


def test_crlf_line_endings_give_the_same_plan_and_problems() -> None:
    text = DESIGN_EXAMPLE + "- [ ] 4.3 Bad (priority: hihg)\n    ```sh\n    ls\n    ```\n"

    assert parse_plan(text.replace("\n", "\r\n")) == parse_plan(text)


def test_text_without_a_final_newline_parses_the_same() -> None:
    assert parse_plan(DESIGN_EXAMPLE.rstrip("\n")) == parse_plan(DESIGN_EXAMPLE)


def test_tasks_are_frozen() -> None:
    task = only_task("- [ ] 1.1 Go\n")

    with pytest.raises(dataclasses.FrozenInstanceError):
        task.id = "2.2"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.source.line = 3  # type: ignore[misc]


def test_plan_and_phases_are_frozen() -> None:
    plan = parse(DESIGN_EXAMPLE)

    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.title = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.phases[0].mode = PhaseMode.PARALLEL  # type: ignore[misc]
    assert isinstance(plan.tasks, tuple)
    assert isinstance(plan.phases[0].tasks, tuple)


def test_empty_text_is_an_empty_plan_without_parse_problems() -> None:
    plan, problems = parse_plan("", "empty.md")

    assert (plan.title, plan.phases, plan.tasks, problems) == ("empty", (), (), [])


# --- Task lines that would otherwise be dropped silently ------------------------------------


def test_indented_task_line_without_a_task_above_is_an_error() -> None:
    # Not in DESIGN: dropping such a line silently would lose a task the user wrote.
    plan, problems = parse_plan("## Phase 1: A\n  - [ ] 1.1 a\n\t- [x] 1.2 b\n")

    assert [where(problem) for problem in problems] == [
        (2, 3, "this task line is indented, so it is not read as a task"),
        (3, 2, "this task line is indented, so it is not read as a task"),
    ]
    assert problems[0].hint == (
        "start task lines at the beginning of the line; lines indented under a task are "
        "that task's body"
    )
    assert plan.tasks == ()


def test_indented_task_line_under_a_task_is_its_body() -> None:
    task = only_task("- [ ] 1.1 Parent\n  - [ ] a sub-step\n")

    assert task.body == "- [ ] a sub-step"


def test_one_space_of_indentation_is_still_a_task() -> None:
    assert only_task(" - [ ] 1.1 Go\n").id == "1.1"


@pytest.mark.parametrize("line", ["1. [ ] first", "2) [x] second"])
def test_numbered_checkbox_is_a_malformed_task(line: str) -> None:
    _, problems = parse_plan(f"{line}\n")

    assert [where(problem) for problem in problems] == [
        (1, 1, "this looks like a task but its checkbox is malformed")
    ]


def test_numbered_list_without_a_checkbox_is_prose() -> None:
    assert parse_plan("1. Step one\n2. Step [x] two\n")[1] == []
