"""When two tasks' file sets overlap: exact paths, directories and globs (`pmtui.plan.files`)."""

from __future__ import annotations

import pytest

from pmtui.plan.files import is_glob, overlap_groups, paths_overlap, shared_paths
from pmtui.plan.model import Task, TaskSource


def task(task_id: str, *files: str, line: int = 1) -> Task:
    return Task(id=task_id, title=task_id, phase=0, source=TaskSource(line, 7), files=files)


def ids(group: tuple[tuple[Task, ...], tuple[str, ...]]) -> tuple[list[str], list[str]]:
    tasks, paths = group
    return [member.id for member in tasks], list(paths)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("src/a.py", "src/a.py"),
        ("src/auth/", "src/auth/x.py"),
        ("src/auth", "src/auth/x.py"),
        ("src/auth/", "src/auth"),
        ("src/", "src/auth/deep/x.py"),
        ("src/**/*.py", "src/app.py"),
        ("src/**/*.py", "src/auth/deep/x.py"),
        ("src/*.py", "src/app.py"),
        ("src/**", "src/anything/at/all.txt"),
        ("src/**/*.py", "src/auth/"),
        ("*.py", "src/deep/a.py"),
        ("src/a?.py", "src/ab.py"),
        ("src/[ab].py", "src/a.py"),
        ("src/*.py", "src/a*.py"),
        ("src/a*.py", "src/*b.py"),
        ("**", "README.md"),
        ("src/*", "src/auth/x.py"),
        ("src/**/*.py", "src/auth"),
    ],
)
def test_paths_overlap(first: str, second: str) -> None:
    assert paths_overlap(first, second)
    assert paths_overlap(second, first)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("src/a.py", "src/ab.py"),
        ("src/a.py", "src/a.pyc"),
        ("src/auth/", "src/authz/x.py"),
        ("src/auth", "src/authz"),
        ("src/a.py", "tests/a.py"),
        ("src/*.py", "src/deep/a.py"),
        ("src/*.py", "src/auth/"),
        ("src/*.py", "src/a.md"),
        ("src/*.py", "src/*.md"),
        ("src/**/*.py", "docs/a.py"),
        ("docs/*.md", "src/**"),
        ("src/a?.py", "src/abc.py"),
        ("README.md", "docs/README.md"),
        ("src/**/*.py", "src/a.md"),
        ("src/**/*.py", "src/deep/a.md"),
        ("tests/**", "src/tests/a.py"),
    ],
)
def test_paths_do_not_overlap(first: str, second: str) -> None:
    assert not paths_overlap(first, second)
    assert not paths_overlap(second, first)


@pytest.mark.parametrize(
    ("path", "glob"),
    [("src/*.py", True), ("a?.txt", True), ("[ab].md", True), ("src/a.py", False), ("src/", False)],
)
def test_is_glob(path: str, glob: bool) -> None:
    assert is_glob(path) is glob


def test_shared_paths_keeps_the_first_lists_order() -> None:
    first = ["src/b.py", "docs/x.md", "src/a.py", "README.md"]

    assert shared_paths(first, ["src/", "README.md"]) == ["src/b.py", "src/a.py", "README.md"]


def test_shared_paths_of_disjoint_sets_is_empty() -> None:
    assert shared_paths(["src/a.py"], ["src/ab.py", "tests/"]) == []
    assert shared_paths([], ["src/"]) == []


def test_overlap_groups_exact_path() -> None:
    groups = overlap_groups([task("1.1", "src/a.py"), task("1.2", "src/a.py"), task("1.3", "b")])

    assert [ids(group) for group in groups] == [(["1.1", "1.2"], ["src/a.py"])]


def test_overlap_groups_no_false_overlap_on_a_shared_prefix() -> None:
    assert overlap_groups([task("1.1", "src/a.py"), task("1.2", "src/ab.py")]) == []


@pytest.mark.parametrize("directory", ["src/auth/", "src/auth"])
def test_overlap_groups_directory_prefix(directory: str) -> None:
    groups = overlap_groups([task("1.1", directory), task("1.2", "src/auth/x.py")])

    assert [ids(group) for group in groups] == [(["1.1", "1.2"], ["src/auth/x.py"])]


def test_overlap_groups_nested_directories() -> None:
    groups = overlap_groups([task("1.1", "src/"), task("1.2", "src/auth/"), task("1.3", "src/b")])

    assert [ids(group) for group in groups] == [
        (["1.1", "1.2"], ["src/auth/"]),
        (["1.1", "1.3"], ["src/b"]),
    ]


def test_overlap_groups_same_directory_spelled_two_ways() -> None:
    groups = overlap_groups([task("1.1", "src/auth/"), task("1.2", "src/auth")])

    assert [ids(group) for group in groups] == [(["1.1", "1.2"], ["src/auth/"])]


def test_overlap_groups_glob_against_a_path() -> None:
    groups = overlap_groups([task("1.1", "src/**/*.py"), task("1.2", "src/auth/x.py")])

    assert [ids(group) for group in groups] == [(["1.1", "1.2"], ["src/auth/x.py"])]


def test_overlap_groups_glob_not_matching_is_no_overlap() -> None:
    assert overlap_groups([task("1.1", "src/**/*.py"), task("1.2", "src/a.md")]) == []


def test_overlap_groups_same_glob_in_two_tasks() -> None:
    groups = overlap_groups([task("1.1", "src/*.py"), task("1.2", "src/*.py")])

    assert [ids(group) for group in groups] == [(["1.1", "1.2"], ["src/*.py"])]


def test_overlap_groups_two_globs_that_meet() -> None:
    groups = overlap_groups([task("1.1", "src/**/*.py"), task("1.2", "src/auth/*")])

    assert [ids(group) for group in groups] == [(["1.1", "1.2"], ["src/**/*.py"])]


def test_overlap_groups_glob_meeting_a_glob_that_also_matched_a_path() -> None:
    groups = overlap_groups(
        [task("1.1", "src/*.py"), task("1.2", "src/a.py"), task("1.3", "src/x*.py")]
    )

    assert [ids(group) for group in groups] == [
        (["1.1", "1.2"], ["src/a.py"]),
        (["1.1", "1.3"], ["src/*.py"]),
    ]


def test_overlap_groups_one_task_touching_a_file_twice_is_not_an_overlap() -> None:
    assert overlap_groups([task("1.1", "src/", "src/a.py", "src/*.py")]) == []


def test_overlap_groups_gather_the_paths_two_tasks_share() -> None:
    groups = overlap_groups(
        [task("1.1", "a.py", "b.py", "c.py"), task("1.2", "b.py", "c.py", "d.py")]
    )

    assert [ids(group) for group in groups] == [(["1.1", "1.2"], ["b.py", "c.py"])]


def test_overlap_groups_are_ordered_by_their_last_task() -> None:
    groups = overlap_groups(
        [
            task("1.1", "x.py"),
            task("1.2", "y.py"),
            task("1.3", "y.py"),
            task("1.4", "x.py"),
        ]
    )

    assert [ids(group) for group in groups] == [
        (["1.2", "1.3"], ["y.py"]),
        (["1.1", "1.4"], ["x.py"]),
    ]


def test_overlap_groups_three_tasks_on_one_file() -> None:
    groups = overlap_groups([task("1.1", "x"), task("1.2", "x"), task("1.3", "x")])

    assert [ids(group) for group in groups] == [(["1.1", "1.2", "1.3"], ["x"])]


def test_overlap_groups_of_no_tasks() -> None:
    assert overlap_groups([]) == []
