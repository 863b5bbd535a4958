"""Whole-plan checks of docs/design.md §2 (`validate_plan`): every problem at once, in file
order."""

from __future__ import annotations

import textwrap

from pmtui.plan.errors import Problem, Severity
from pmtui.plan.graph import PlanGraph
from pmtui.plan.parser import parse_plan
from pmtui.plan.validate import validate_plan

AGENTS = ["demo", "shell", "qa-engineer", "swebok-engineer", "product-manager"]


def check(text: str, agents: list[str] = AGENTS) -> list[Problem]:
    """The problems `validate_plan` finds in a plan that parses cleanly."""
    plan, parse_problems = parse_plan(textwrap.dedent(text))
    assert parse_problems == []
    graph, problems = validate_plan(plan, agents=agents)
    assert isinstance(graph, PlanGraph)
    return problems


def where(problem: Problem) -> tuple[int, int, str]:
    return problem.line, problem.col, problem.message


def test_valid_plan_has_no_problems() -> None:
    assert (
        check(
            """\
            # Plan: Fine
            ## Phase 1: A
            - [ ] 1.1 One (agent: qa-engineer)
            - [ ] 1.2 Two (depends: 1.1)
            ## Phase 2: B [SEQUENTIAL]
            - [ ] 2.1 Three
            - [ ] 2.2 Four (agent: demo)
            """
        )
        == []
    )


def test_validate_returns_the_graph_of_the_plan() -> None:
    plan, _ = parse_plan("- [ ] 1.1 a\n- [ ] 1.2 b (depends: 1.1)\n")

    graph, problems = validate_plan(plan, agents=AGENTS)

    assert problems == []
    assert graph.dependencies("1.2") == ["1.1"]


# --- Unknown dependencies -------------------------------------------------------------------


def test_unknown_dependency_suggests_the_closest_id() -> None:
    problems = check("## Phase 1: A\n- [ ] 1.1 a\n- [ ] 1.2 b\n- [ ] 1.3 c (depends: 1.l)\n")

    assert [where(problem) for problem in problems] == [
        (4, 23, "task 1.3 depends on unknown task 1.l")
    ]
    assert problems[0].hint == "did you mean '1.1'?"
    assert problems[0].render() == (
        "plan.md:4:23: error: task 1.3 depends on unknown task 1.l\n    hint: did you mean '1.1'?"
    )


def test_unknown_dependency_suggests_a_close_named_id() -> None:
    problems = check("- [ ] Lint (id: lint)\n- [ ] Test (id: test) (depends: lnit)\n")

    assert problems[0].hint == "did you mean 'lint'?"


def test_unknown_dependency_far_from_every_id_says_so() -> None:
    problems = check("- [ ] 1.1 a\n- [ ] 1.2 b (depends: deploy)\n")

    assert [where(problem) for problem in problems] == [
        (2, 23, "task 1.2 depends on unknown task deploy")
    ]
    assert problems[0].hint == "no task has this id; check the ids of the tasks it waits for"


def test_each_unknown_dependency_is_reported_at_its_own_column() -> None:
    problems = check("- [ ] 1.1 a\n- [ ] 1.2 b (depends: 1.1, x9, y9)\n")

    assert [where(problem) for problem in problems] == [
        (2, 28, "task 1.2 depends on unknown task x9"),
        (2, 32, "task 1.2 depends on unknown task y9"),
    ]


# --- Duplicate ids --------------------------------------------------------------------------


def test_duplicate_id_is_reported_at_the_later_line_naming_the_first() -> None:
    problems = check("- [ ] 1.1 a\n- [ ] 1.2 b\n- [ ] 1.1 c\n")

    assert [where(problem) for problem in problems] == [
        (3, 7, "duplicate task id 1.1 (first defined on line 1)")
    ]
    assert problems[0].hint == (
        "give this task another id, e.g. `1.1b`; other tasks' (depends: 1.1) mean line 1"
    )


def test_every_later_duplicate_is_reported() -> None:
    problems = check("- [ ] 1.1 a\n- [ ] 1.1 b\n- [ ] 1.1 c\n")

    assert [where(problem) for problem in problems] == [
        (2, 7, "duplicate task id 1.1 (first defined on line 1)"),
        (3, 7, "duplicate task id 1.1 (first defined on line 1)"),
    ]


def test_written_id_colliding_with_an_earlier_generated_one_names_the_untitled_line() -> None:
    problems = check("- [ ] Do the thing\n- [ ] 1.1 Written\n")

    assert [where(problem) for problem in problems] == [
        (2, 7, "duplicate task id 1.1: line 1 has no id and was given 1.1 by its position")
    ]
    assert problems[0].hint == "give line 1 an id of its own, or pick another id here"


def test_unnumbered_phase_takes_the_next_number_no_heading_took() -> None:
    problems = check("## Step 2: A\n- [ ] do a\n## Build\n- [ ] do b\n")

    assert problems == []
    plan, _ = parse_plan("## Step 2: A\n- [ ] do a\n## Build\n- [ ] do b\n")
    assert [task.id for task in plan.tasks] == ["2.1", "3.1"]


def test_generated_id_colliding_with_a_written_one_is_a_duplicate() -> None:
    problems = check("## Phase 1: A\n- [ ] 1.2 written\n- [ ] generated\n")

    assert [where(problem) for problem in problems] == [
        (3, 7, "this task has no id, and its generated id 1.2 is already the id of line 2")
    ]


def test_first_definition_wins_for_the_other_checks() -> None:
    # The later 1.1 would close a cycle 1.1 → 1.2 → 1.1; it is ignored, so there is none.
    problems = check("- [ ] 1.1 a\n- [ ] 1.2 b (depends: 1.1)\n- [ ] 1.1 c (depends: 1.2)\n")

    assert [problem.message for problem in problems] == [
        "duplicate task id 1.1 (first defined on line 1)"
    ]


def test_duplicate_ids_graph_keeps_the_first_definition() -> None:
    plan, _ = parse_plan("- [x] 1.1 a\n- [ ] 1.2 b (depends: 1.1)\n- [ ] 1.1 c\n")

    graph, _ = validate_plan(plan, agents=AGENTS)

    assert graph.tasks["1.1"].line == 1
    assert graph.waves() == [["1.2"]]


# --- Cycles ---------------------------------------------------------------------------------


def test_cycle_is_printed_as_a_chain_with_each_tasks_line() -> None:
    problems = check(
        "## Phase 2: B\n- [ ] 2.1 a (depends: 2.3)\n- [ ] 2.2 b\n- [ ] 2.3 c (depends: 2.1)\n"
    )

    assert [where(problem) for problem in problems] == [
        (2, 23, "dependency cycle: 2.1 → 2.3 → 2.1")
    ]
    assert problems[0].hint == (
        "2.1 (line 2) waits for 2.3 by its (depends: …); "
        "2.3 (line 4) waits for 2.1 by its (depends: …); "
        "remove one of these dependencies"
    )


def test_cycle_of_three_starts_at_its_first_task_and_follows_the_waits() -> None:
    problems = check(
        "- [ ] 1.1 a (depends: 1.3)\n- [ ] 1.2 b (depends: 1.1)\n- [ ] 1.3 c (depends: 1.2)\n"
    )

    assert [problem.message for problem in problems] == ["dependency cycle: 1.1 → 1.3 → 1.2 → 1.1"]
    assert "1.1 (line 1)" in problems[0].hint
    assert "1.3 (line 3)" in problems[0].hint
    assert "1.2 (line 2)" in problems[0].hint


def test_cycle_is_shown_by_its_shortest_loop() -> None:
    problems = check(
        """\
        - [ ] 1.1 a (depends: 1.2, 1.4)
        - [ ] 1.2 b (depends: 1.3)
        - [ ] 1.3 c (depends: 1.4)
        - [ ] 1.4 d (depends: 1.1)
        """
    )

    assert [problem.message for problem in problems] == ["dependency cycle: 1.1 → 1.4 → 1.1"]


def test_two_separate_cycles_are_two_problems_in_file_order() -> None:
    problems = check(
        """\
        - [ ] 1.1 a (depends: 1.2)
        - [ ] 1.2 b (depends: 1.1)
        - [ ] 1.3 c (depends: 1.4)
        - [ ] 1.4 d (depends: 1.3)
        """
    )

    assert [where(problem) for problem in problems] == [
        (1, 23, "dependency cycle: 1.1 → 1.2 → 1.1"),
        (3, 23, "dependency cycle: 1.3 → 1.4 → 1.3"),
    ]


def test_cycle_through_a_phase_barrier_is_explained_as_the_barrier() -> None:
    problems = check("## Phase 1: A\n- [ ] 1.1 a (depends: 2.1)\n## Phase 2: B\n- [ ] 2.1 b\n")

    assert [where(problem) for problem in problems] == [
        (2, 23, "dependency cycle: 1.1 → 2.1 → 1.1")
    ]
    assert problems[0].hint == (
        "1.1 (line 2) waits for 2.1 by its (depends: …); "
        "2.1 (line 4) waits for 1.1 by the phase barrier; "
        "remove one of these dependencies (a task without (depends: …) waits for the whole "
        "previous stage; give it an explicit (depends: …) to wait for less)"
    )


def test_cycle_through_a_sequential_phase_is_explained_as_the_sequence() -> None:
    problems = check("## Phase 1: A [SEQUENTIAL]\n- [ ] 1.1 a (depends: 1.2)\n- [ ] 1.2 b\n")

    assert [problem.message for problem in problems] == ["dependency cycle: 1.1 → 1.2 → 1.1"]
    assert "1.2 (line 3) waits for 1.1 by the [SEQUENTIAL] phase" in problems[0].hint


def test_cycle_is_still_found_beside_duplicates_and_unknown_dependencies() -> None:
    problems = check(
        """\
        - [ ] 1.1 a (depends: 1.3, ghost)
        - [ ] 1.2 b
        - [ ] 1.2 again
        - [ ] 1.3 c (depends: 1.1, 1.9)
        """
    )

    assert [where(problem) for problem in problems] == [
        (1, 23, "dependency cycle: 1.1 → 1.3 → 1.1"),
        (1, 28, "task 1.1 depends on unknown task ghost"),
        (3, 7, "duplicate task id 1.2 (first defined on line 2)"),
        (4, 28, "task 1.3 depends on unknown task 1.9"),
    ]


def test_thousand_task_cycle_is_found() -> None:
    lines = [f"- [ ] t{n} Task (depends: t{(n - 1) % 1000})" for n in range(1000)]

    problems = check("\n".join(lines) + "\n")

    assert len(problems) == 1
    message = problems[0].message
    assert message.startswith("dependency cycle: t0 → t999 → t998 → ")
    assert message.endswith(" → … 989 more → t1 → t0")
    assert message.count("→") == 12
    assert problems[0].hint.endswith(
        "; … (1000 tasks in the cycle); remove one of these dependencies"
    )


def test_crowded_file_warning_names_ten_tasks_then_counts_the_rest() -> None:
    lines = [f"- [ ] t{n} Task `src/app.py` (depends: none)" for n in range(30)]

    (problem,) = check("\n".join(lines) + "\n")

    assert problem.message == (
        "tasks t0, t1, t2, t3, t4, t5, t6, t7, t8, t9 … and 20 more may run at the same time "
        "and all touch src/app.py"
    )


def test_self_dependency_is_reported_once_and_not_as_a_cycle() -> None:
    problems = check("- [ ] 1.1 a (depends: 1.1)\n")

    assert [where(problem) for problem in problems] == [(1, 23, "task 1.1 depends on itself")]
    assert problems[0].hint == "remove 1.1 from its own (depends: …)"


def test_self_dependency_beside_other_dependencies() -> None:
    problems = check("- [ ] 1.1 a\n- [ ] 1.2 b (depends: 1.1, 1.2)\n")

    assert [where(problem) for problem in problems] == [(2, 28, "task 1.2 depends on itself")]


def test_overlap_warnings_are_skipped_while_there_is_a_cycle() -> None:
    problems = check(
        "- [ ] 1.1 a `src/a.py` (depends: 1.2)\n- [ ] 1.2 b `src/a.py` (depends: 1.1)\n"
        "- [ ] 1.3 c `src/b.py`\n- [ ] 1.4 d `src/b.py`\n"
    )

    assert [problem.severity for problem in problems] == [Severity.ERROR]


# --- Agents ---------------------------------------------------------------------------------


def test_unknown_agent_suggests_the_closest() -> None:
    problems = check("- [ ] 1.1 a (agent: qa-enginer)\n")

    assert [where(problem) for problem in problems] == [
        (1, 21, "task 1.1 uses unknown agent 'qa-enginer'")
    ]
    assert problems[0].hint == "did you mean 'qa-engineer'?"


def test_unknown_agent_far_from_any_says_how_to_define_it() -> None:
    problems = check("- [ ] 1.1 a (agent: zzz)\n")

    assert problems[0].hint == "define it in pmtui.toml under [agents.zzz] with its command"


def test_every_task_using_an_unknown_agent_is_reported() -> None:
    problems = check("- [ ] 1.1 a (agent: zzz)\n- [ ] 1.2 b (agent: zzz)\n")

    assert [problem.line for problem in problems] == [1, 2]


def test_task_without_agent_is_not_checked_against_the_agents() -> None:
    assert check("- [ ] 1.1 a\n", agents=[]) == []


# --- Empty plan -----------------------------------------------------------------------------


def test_empty_plan_is_an_error() -> None:
    problems = check("# Plan: Nothing yet\n\n## Phase 1: Later\n")

    assert [where(problem) for problem in problems] == [(1, 1, "the plan has no tasks")]
    assert problems[0].hint == (
        "add task lines such as `- [ ] 1.1 Describe the task (agent: demo)` under a "
        "`## Phase 1: Name` heading"
    )


def test_empty_text_is_an_empty_plan() -> None:
    plan, _ = parse_plan("", "empty.md")

    _, problems = validate_plan(plan, agents=AGENTS)

    assert [problem.render() for problem in problems] == [
        "empty.md:1:1: error: the plan has no tasks\n"
        "    hint: add task lines such as `- [ ] 1.1 Describe the task (agent: demo)` under a "
        "`## Phase 1: Name` heading"
    ]


# --- All at once, in file order -------------------------------------------------------------


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    problems = check(
        """\
        ## Phase 1: A
        - [ ] 1.1 a (agent: qa-enginer) (depends: 1.3)
        - [ ] 1.2 b (depends: 1.x)
        - [ ] 1.2 c (agent: demo)
        - [ ] 1.3 d (depends: 1.1, 1.3)
        """
    )

    assert [where(problem) for problem in problems] == [
        (2, 21, "task 1.1 uses unknown agent 'qa-enginer'"),
        (2, 43, "dependency cycle: 1.1 → 1.3 → 1.1"),
        (3, 23, "task 1.2 depends on unknown task 1.x"),
        (4, 7, "duplicate task id 1.2 (first defined on line 3)"),
        (5, 28, "task 1.3 depends on itself"),
    ]
    assert all(problem.severity is Severity.ERROR for problem in problems)


def test_problems_use_the_plan_path() -> None:
    plan, _ = parse_plan("- [ ] 1.1 a (depends: 9.9)\n", "plans/x.md")

    _, problems = validate_plan(plan, agents=AGENTS)

    assert problems[0].file == "plans/x.md"
    assert problems[0].as_json() == {
        "file": "plans/x.md",
        "line": 1,
        "col": 23,
        "message": "task 1.1 depends on unknown task 9.9",
        "hint": "no task has this id; check the ids of the tasks it waits for",
    }


# --- Overlapping files (a warning) --------------------------------------------------------


def test_two_tasks_of_one_wave_touching_one_file_is_a_warning() -> None:
    problems = check("- [ ] 1.1 a `src/a.py`\n- [ ] 1.2 b (files: src/a.py)\n")

    assert [where(problem) for problem in problems] == [
        (2, 21, "tasks 1.1 and 1.2 may run at the same time and both touch src/a.py")
    ]
    assert problems[0].severity is Severity.WARNING
    assert problems[0].hint == (
        "pmtui runs them one at a time in a shared workspace (file lock) and merges them one "
        "by one when isolated; to choose the order, add (depends: 1.1) to 1.2 or put them in "
        "a [SEQUENTIAL] phase"
    )
    assert problems[0].render().startswith("plan.md:2:21: warning: ")


def test_no_overlap_warning_when_one_depends_on_the_other() -> None:
    assert check("- [ ] 1.1 a `src/a.py`\n- [ ] 1.2 b `src/a.py` (depends: 1.1)\n") == []


def test_no_overlap_warning_across_stages() -> None:
    assert check("## A\n- [ ] a `src/a.py`\n## B\n- [ ] b `src/a.py`\n") == []


def test_no_overlap_warning_in_a_sequential_phase() -> None:
    assert check("## A [SEQUENTIAL]\n- [ ] a `src/a.py`\n- [ ] b `src/a.py`\n") == []


def test_no_overlap_warning_when_one_task_is_done() -> None:
    assert check("- [x] 1.1 a `src/a.py`\n- [ ] 1.2 b `src/a.py`\n") == []


def test_overlap_warning_for_unordered_tasks_of_different_waves() -> None:
    # 1.3 lands in wave 2 (after 1.1) and 1.2 in wave 1, yet nothing orders 1.2 and 1.3.
    problems = check(
        "- [ ] 1.1 a (depends: none)\n"
        "- [ ] 1.2 b `src/a.py` (depends: none)\n"
        "- [ ] 1.3 c `src/a.py` (depends: 1.1)\n"
    )

    assert [problem.message for problem in problems] == [
        "tasks 1.2 and 1.3 may run at the same time and both touch src/a.py"
    ]


def test_no_overlap_warning_when_ordered_through_a_chain() -> None:
    assert (
        check(
            "- [ ] 1.1 a `src/a.py` (depends: none)\n"
            "- [ ] 1.2 b (depends: 1.1)\n"
            "- [ ] 1.3 c `src/a.py` (depends: 1.2)\n"
        )
        == []
    )


def test_partly_ordered_group_says_only_some_may_meet() -> None:
    problems = check(
        "- [ ] 1.1 a `x.py` (depends: none)\n"
        "- [ ] 1.2 b `x.py` (depends: 1.1)\n"
        "- [ ] 1.3 c `x.py` (depends: none)\n"
    )

    assert [problem.message for problem in problems] == [
        "tasks 1.1, 1.2 and 1.3 touch x.py, and some of them may run at the same time"
    ]


def test_overlap_through_a_directory_is_a_warning() -> None:
    problems = check("- [ ] 1.1 a (files: src/auth/)\n- [ ] 1.2 b `src/auth/oauth.py`\n")

    assert [problem.message for problem in problems] == [
        "tasks 1.1 and 1.2 may run at the same time and both touch src/auth/oauth.py"
    ]


def test_overlap_through_a_glob_is_a_warning() -> None:
    problems = check("- [ ] 1.1 a (files: src/**/*.py)\n- [ ] 1.2 b `src/app.py`\n")

    assert [problem.message for problem in problems] == [
        "tasks 1.1 and 1.2 may run at the same time and both touch src/app.py"
    ]


def test_three_tasks_sharing_a_file_are_one_warning() -> None:
    problems = check("- [ ] 1.1 a `x.py`\n- [ ] 1.2 b `x.py`\n- [ ] 1.3 c `x.py`\n")

    assert [where(problem) for problem in problems] == [
        (3, 7, "tasks 1.1, 1.2 and 1.3 may run at the same time and all touch x.py")
    ]
    assert "add (depends: 1.2) to 1.3" in problems[0].hint


def test_warning_lists_at_most_five_paths() -> None:
    files = ", ".join(f"f{n}.py" for n in range(7))
    problems = check(f"- [ ] 1.1 a (files: {files})\n- [ ] 1.2 b (files: {files})\n")

    assert problems[0].message.endswith("both touch f0.py, f1.py, f2.py, f3.py, f4.py and 2 more")


def test_warnings_and_errors_are_sorted_together() -> None:
    problems = check("- [ ] 1.1 a `x.py`\n- [ ] 1.2 b `x.py`\n- [ ] 1.3 c (agent: nope)\n")

    assert [(problem.line, problem.severity) for problem in problems] == [
        (2, Severity.WARNING),
        (3, Severity.ERROR),
    ]


def merge_queue_problems(text: str, isolated: set[str]) -> list[Problem]:
    plan, _ = parse_plan(textwrap.dedent(text), "plan.md")
    _, problems = validate_plan(plan, agents=None, isolated=lambda task: task.id in isolated)
    return problems


TWO_ON_ONE_FILE = """\
    ## Phase 1
    - [ ] 1.1 Edit `src/a.py`
    - [ ] 1.2 Edit `src/a.py` too
    - [ ] 1.3 Review `src/a.py`
    """


def test_isolated_tasks_on_one_file_are_predicted_to_meet_in_the_merge_queue() -> None:
    problems = merge_queue_problems(TWO_ON_ONE_FILE, {"1.1", "1.2"})
    merge = [problem for problem in problems if "merge queue" in problem.message]
    assert len(merge) == 1
    assert merge[0].severity is Severity.WARNING
    assert merge[0].line == 3
    assert merge[0].message == (
        "tasks 1.1 and 1.2 may run at the same time in their own worktrees and both change "
        "src/a.py: they meet in the merge queue, where the later merge may conflict"
    )
    assert "add (depends: 1.1) to 1.2" in merge[0].hint
    # The read-only reviewer shares the checkout with them: the file-lock warning stays.
    shared = [problem for problem in problems if "merge queue" not in problem.message]
    assert len(shared) == 1 and "1.3" in shared[0].message


def test_isolated_tasks_ordered_by_a_dependency_never_meet_in_the_merge_queue() -> None:
    text = TWO_ON_ONE_FILE.replace("Edit `src/a.py` too", "Edit `src/a.py` too (depends: 1.1)")
    problems = merge_queue_problems(text, {"1.1", "1.2"})
    assert not any("merge queue" in problem.message for problem in problems)


def test_without_isolation_no_merge_queue_prediction() -> None:
    problems = merge_queue_problems(TWO_ON_ONE_FILE, set())
    assert [problem for problem in problems if "merge queue" in problem.message] == []
    assert len(problems) == 1 and "all touch src/a.py" in problems[0].message
