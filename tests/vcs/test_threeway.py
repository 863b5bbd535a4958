"""The three-way merge of trees and of lines, on small trees in memory: who wins where one side
changed, what merges by line, and each conflict's type (docs/design.md §6)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from dulwich.index import commit_tree
from dulwich.object_store import MemoryObjectStore, iter_tree_contents
from dulwich.objects import Blob, ObjectID
from hypothesis import given
from hypothesis import strategies as st

from pmtui.vcs.threeway import PathConflict, Side, TreeMerge, merge_lines, merge_trees

FILE, EXEC, LINK, GITLINK = 0o100644, 0o100755, 0o120000, 0o160000
LINES = b"".join(b"line %d\n" % n for n in range(1, 11))

Files = Mapping[str, bytes | tuple[int, bytes]]
"""A tree by path: its content (a plain file), or `(mode, content)`."""


class Trees:
    """Trees built in a memory store, merged and read back."""

    def __init__(self) -> None:
        self.store = MemoryObjectStore()

    def tree(self, files: Files) -> bytes:
        entries = []
        for path, value in sorted(files.items()):
            mode, data = value if isinstance(value, tuple) else (FILE, value)
            if mode == GITLINK:
                entries.append((path.encode(), ObjectID(data), mode))
                continue
            blob = Blob.from_string(data)
            self.store.add_object(blob)
            entries.append((path.encode(), blob.id, mode))
        return bytes(commit_tree(self.store, entries))

    def merge(
        self,
        base: Files | None,
        ours: Files,
        theirs: Files,
        *,
        auto_resolve: bool = True,
        favor: Side | None = None,
    ) -> TreeMerge:
        return merge_trees(
            self.store.__getitem__,
            None if base is None else self.tree(base),
            self.tree(ours),
            self.tree(theirs),
            auto_resolve=auto_resolve,
            favor=favor,
        )

    def files(self, merged: TreeMerge) -> dict[str, bytes | tuple[int, bytes]]:
        """The merged tree read back (its new objects stored first), as `tree` takes it."""
        for obj in merged.objects:
            self.store.add_object(obj)
        found: dict[str, bytes | tuple[int, bytes]] = {}
        for item in iter_tree_contents(self.store, ObjectID(merged.tree)):
            assert item.path is not None and item.mode is not None and item.sha is not None
            if item.mode == GITLINK:
                found[item.path.decode()] = (GITLINK, bytes(item.sha))
                continue
            blob = self.store[item.sha]
            assert isinstance(blob, Blob)
            data = bytes(blob.data)
            found[item.path.decode()] = data if item.mode == FILE else (item.mode, data)
        return found


@pytest.fixture
def trees() -> Trees:
    return Trees()


def kinds(merged: TreeMerge) -> list[tuple[str, str]]:
    return [(c.path, c.kind) for c in merged.conflicts]


# merge_lines


def test_line_edits_far_apart_merge_cleanly() -> None:
    ours = LINES.replace(b"line 1\n", b"FIRST\n")
    theirs = LINES.replace(b"line 10\n", b"LAST\n")
    merged, clean = merge_lines(LINES, ours, theirs)
    assert clean
    assert merged == LINES.replace(b"line 1\n", b"FIRST\n").replace(b"line 10\n", b"LAST\n")


def test_the_same_line_changed_twice_is_a_conflict_that_keeps_ours() -> None:
    ours = LINES.replace(b"line 5\n", b"mine\n")
    theirs = LINES.replace(b"line 5\n", b"theirs\n")
    assert merge_lines(LINES, ours, theirs) == (ours, False)


@pytest.mark.parametrize(("favor", "winner"), [(Side.OURS, b"mine\n"), (Side.THEIRS, b"theirs\n")])
def test_favor_takes_its_side_of_a_conflicting_line_and_merges_the_rest(
    favor: Side, winner: bytes
) -> None:
    ours = LINES.replace(b"line 5\n", b"mine\n").replace(b"line 1\n", b"FIRST\n")
    theirs = LINES.replace(b"line 5\n", b"theirs\n").replace(b"line 10\n", b"LAST\n")
    merged, clean = merge_lines(LINES, ours, theirs, favor)
    assert clean
    expected = LINES.replace(b"line 1\n", b"FIRST\n").replace(b"line 10\n", b"LAST\n")
    assert merged == expected.replace(b"line 5\n", winner)


def test_the_same_change_on_both_sides_is_clean() -> None:
    both = LINES.replace(b"line 3\n", b"same\n")
    assert merge_lines(LINES, both, both) == (both, True)


def test_a_last_line_without_newline_survives_a_merge() -> None:
    base = b"a\nb\nc\nd\ne"
    ours = b"A\nb\nc\nd\ne"
    theirs = b"a\nb\nc\nd\nE"
    assert merge_lines(base, ours, theirs) == (b"A\nb\nc\nd\nE", True)


TEXTS = st.lists(st.sampled_from([b"a", b"b", b"c", b"", b"dd", b"e e"]), max_size=8).map(
    lambda lines: b"".join(line + b"\n" for line in lines)
)
"""Small texts of a few repeated lines (repeats are what a line merge can get wrong)."""
RAW = st.binary(max_size=40).map(lambda data: data.replace(b"\r", b"\n"))
"""Any small text, last line with or without its newline."""


@given(base=TEXTS, changed=TEXTS)
def test_when_only_one_side_changed_the_merge_is_that_side_exactly(
    base: bytes, changed: bytes
) -> None:
    assert merge_lines(base, base, changed) == (changed, True)
    assert merge_lines(base, changed, base) == (changed, True)


@given(base=RAW, changed=RAW)
def test_when_only_one_side_changed_any_text_the_merge_is_that_side(
    base: bytes, changed: bytes
) -> None:
    assert merge_lines(base, base, changed) == (changed, True)
    assert merge_lines(base, changed, base) == (changed, True)


@given(base=TEXTS, side=TEXTS)
def test_merging_a_side_with_itself_is_clean_and_gives_it(base: bytes, side: bytes) -> None:
    assert merge_lines(base, side, side) == (side, True)


# merge_trees


def test_a_path_only_one_side_changed_takes_that_side_without_new_objects(
    trees: Trees,
) -> None:
    base = {"a.txt": b"one\n", "d/x.txt": b"x\n"}
    theirs = {"a.txt": b"two\n", "d/x.txt": b"x\n"}
    merged = trees.merge(base, base, theirs)
    assert merged.conflicts == [] and merged.objects == []
    assert merged.tree == trees.tree(theirs)


def test_different_files_changed_on_each_side_merge_in_nested_folders(trees: Trees) -> None:
    base = {"a.txt": b"one\n", "d/x.txt": b"x\n", "d/e/y.txt": b"y\n"}
    ours = {**base, "a.txt": b"ours\n", "d/new.txt": b"new\n"}
    theirs = {"a.txt": b"one\n", "d/x.txt": b"X\n"}  # d/e/ deleted
    merged = trees.merge(base, ours, theirs)
    assert merged.conflicts == [] and merged.merged_by_line == []
    assert trees.files(merged) == {"a.txt": b"ours\n", "d/x.txt": b"X\n", "d/new.txt": b"new\n"}


def test_a_file_added_in_a_folder_the_other_side_deleted_merges_like_git(trees: Trees) -> None:
    base = {"a.txt": b"one\n", "d/e/y.txt": b"y\n"}
    ours = {**base, "d/e/new.txt": b"new\n"}
    theirs = {"a.txt": b"one\n"}  # d/e/ deleted
    merged = trees.merge(base, ours, theirs)
    assert merged.conflicts == []
    assert trees.files(merged) == {"a.txt": b"one\n", "d/e/new.txt": b"new\n"}


def test_a_file_changed_in_a_folder_the_other_side_deleted_is_named_itself(
    trees: Trees,
) -> None:
    base = {"d/e/y.txt": b"y\n", "d/e/z.txt": b"z\n"}
    merged = trees.merge(base, {"d/e/y.txt": b"Y\n", "d/e/z.txt": b"z\n"}, {})
    assert kinds(merged) == [("d/e/y.txt", "delete/modify")]


def test_a_folder_emptied_by_the_two_sides_together_is_gone(trees: Trees) -> None:
    base = {"a.txt": b"one\n", "d/x": b"x\n", "d/y": b"y\n"}
    merged = trees.merge(
        base, {"a.txt": b"one\n", "d/y": b"y\n"}, {"a.txt": b"one\n", "d/x": b"x\n"}
    )
    assert merged.conflicts == []
    assert merged.tree == trees.tree({"a.txt": b"one\n"})


def test_a_file_both_sides_changed_apart_merges_by_line_and_is_listed(trees: Trees) -> None:
    base = {"d/lines.txt": LINES}
    ours = {"d/lines.txt": LINES.replace(b"line 1\n", b"FIRST\n")}
    theirs = {"d/lines.txt": LINES.replace(b"line 10\n", b"LAST\n")}
    merged = trees.merge(base, ours, theirs)
    assert merged.conflicts == [] and merged.merged_by_line == ["d/lines.txt"]
    expected = LINES.replace(b"line 1\n", b"FIRST\n").replace(b"line 10\n", b"LAST\n")
    assert trees.files(merged) == {"d/lines.txt": expected}


def test_without_auto_resolve_a_file_both_sides_changed_is_a_conflict(trees: Trees) -> None:
    base = {"lines.txt": LINES}
    ours = {"lines.txt": LINES.replace(b"line 1\n", b"FIRST\n")}
    theirs = {"lines.txt": LINES.replace(b"line 10\n", b"LAST\n")}
    merged = trees.merge(base, ours, theirs, auto_resolve=False)
    assert merged.conflicts == [PathConflict("lines.txt", "modify/modify")]
    assert trees.files(merged) == ours  # ours is kept at a conflicting path
    same = trees.merge(base, ours, ours, auto_resolve=False)
    assert same.conflicts == [] and same.tree == trees.tree(ours)


CASES: dict[str, tuple[Files, Files, Files, str]] = {
    "modify/modify": ({"f": b"base\n"}, {"f": b"ours\n"}, {"f": b"theirs\n"}, "f"),
    "delete/modify": ({"f": b"base\n"}, {}, {"f": b"theirs\n"}, "f"),
    "modify/delete": ({"f": b"base\n"}, {"f": b"ours\n"}, {}, "f"),
    "add/add": ({}, {"f": b"ours\n"}, {"f": b"theirs\n"}, "f"),
    "file/directory": ({}, {"f": b"ours\n"}, {"f/x": b"theirs\n"}, "f"),
    "directory/file": ({}, {"f/x": b"ours\n"}, {"f": b"theirs\n"}, "f"),
    "file to directory/modify": ({"f": b"base\n"}, {"f/x": b"ours\n"}, {"f": b"theirs\n"}, "f"),
}
KIND = {
    "modify/delete": "delete/modify",
    "directory/file": "file/directory",
    "file to directory/modify": "file/directory",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_conflict_is_named_with_its_type_and_keeps_ours(trees: Trees, case: str) -> None:
    base, ours, theirs, path = CASES[case]
    merged = trees.merge(base, ours, theirs)
    assert kinds(merged) == [(path, KIND.get(case, case))]
    assert trees.files(merged) == ours


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("favor", [Side.OURS, Side.THEIRS])
def test_favor_settles_each_conflict_to_its_side(trees: Trees, case: str, favor: Side) -> None:
    base, ours, theirs, _ = CASES[case]
    merged = trees.merge(base, ours, theirs, favor=favor)
    assert merged.conflicts == []
    assert trees.files(merged) == (ours if favor is Side.OURS else theirs)


def test_favor_keeps_the_other_sides_changes_elsewhere(trees: Trees) -> None:
    base = {"f": b"base\n", "g": b"g\n"}
    ours = {"f": b"ours\n", "g": b"g\n", "o": b"only ours\n"}
    theirs = {"f": b"theirs\n", "g": b"G\n"}
    merged = trees.merge(base, ours, theirs, favor=Side.THEIRS)
    assert trees.files(merged) == {"f": b"theirs\n", "g": b"G\n", "o": b"only ours\n"}


def test_binary_content_is_never_merged_by_line(trees: Trees) -> None:
    data = b"\0" + LINES
    base = {"blob.bin": data}
    ours = {"blob.bin": data.replace(b"line 1\n", b"FIRST\n")}
    theirs = {"blob.bin": data.replace(b"line 10\n", b"LAST\n")}
    merged = trees.merge(base, ours, theirs)
    assert kinds(merged) == [("blob.bin", "modify/modify")]


def test_symlinks_and_submodules_changed_on_both_sides_conflict(trees: Trees) -> None:
    one, two, three = ("1" * 40).encode(), ("2" * 40).encode(), ("3" * 40).encode()
    base = {"link": (LINK, b"target\n"), "sub": (GITLINK, one)}
    ours = {"link": (LINK, b"ours\n"), "sub": (GITLINK, two)}
    theirs = {"link": (LINK, b"theirs\n"), "sub": (GITLINK, three)}
    merged = trees.merge(base, ours, theirs)
    assert kinds(merged) == [("link", "modify/modify"), ("sub", "modify/modify")]
    moved_once = trees.merge(base, base, {"link": (LINK, b"target\n"), "sub": (GITLINK, two)})
    assert moved_once.conflicts == []
    assert trees.files(moved_once)["sub"] == (GITLINK, two)


def test_an_executable_bit_on_one_side_and_an_edit_on_the_other_both_land(trees: Trees) -> None:
    base = {"run.sh": LINES}
    ours = {"run.sh": (EXEC, LINES)}
    theirs = {"run.sh": LINES.replace(b"line 1\n", b"#!/bin/sh\n")}
    merged = trees.merge(base, ours, theirs)
    assert merged.conflicts == []
    assert trees.files(merged) == {"run.sh": (EXEC, LINES.replace(b"line 1\n", b"#!/bin/sh\n"))}


def test_a_mode_both_sides_changed_differently_is_a_conflict(trees: Trees) -> None:
    base = {"f": (FILE, b"same\n")}
    merged = trees.merge(base, {"f": (EXEC, b"same\n")}, {"f": (LINK, b"same\n")})
    assert kinds(merged) == [("f", "modify/modify")]


def test_trees_without_a_common_base_merge_by_union(trees: Trees) -> None:
    merged = trees.merge(None, {"a": b"a\n", "same": b"s\n"}, {"b": b"b\n", "same": b"s\n"})
    assert merged.conflicts == []
    assert trees.files(merged) == {"a": b"a\n", "b": b"b\n", "same": b"s\n"}
    clash = trees.merge(None, {"f": b"a\n"}, {"f": b"b\n"})
    assert kinds(clash) == [("f", "add/add")]


def test_conflicts_in_several_folders_are_all_named(trees: Trees) -> None:
    base = {"x/f": b"base\n", "y/z/g": b"base\n", "y/z/h": b"h\n", "ok": b"ok\n"}
    ours = {"x/f": b"ours\n", "y/z/g": b"ours\n", "y/z/h": b"h\n", "ok": b"ok\n"}
    theirs = {"x/f": b"theirs\n", "y/z/h": b"h\n", "ok": b"OK\n", "y/n": (EXEC, b"n\n")}
    merged = trees.merge(base, ours, theirs)
    assert kinds(merged) == [("x/f", "modify/modify"), ("y/z/g", "delete/modify")]
    assert trees.files(merged) == {**ours, "ok": b"OK\n", "y/n": (EXEC, b"n\n")}
