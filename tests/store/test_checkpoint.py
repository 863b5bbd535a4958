"""`tick_lines`: `[ ]` → `[x]` on chosen task lines, every other byte kept, atomic replace."""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmtui.plan.parser import parse_plan
from pmtui.store.checkpoint import tick_lines
from pmtui.store.files import SourceError

BOM = b"\xef\xbb\xbf"


def ticked(data: bytes, lines: set[int]) -> bytes:
    """The oracle: `data` with the first `[ ]` of each given 1-based line made `[x]`."""
    parts = data.split(b"\n")
    for number in lines:
        parts[number - 1] = parts[number - 1].replace(b"[ ]", b"[x]", 1)
    return b"\n".join(parts)


def write(tmp_path: Path, data: bytes, name: str = "plan.md") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def leftovers(folder: Path, keep: str = "plan.md") -> list[str]:
    return sorted(entry.name for entry in folder.iterdir() if entry.name != keep)


PLAN = (
    "# Plan: Add OAuth login\n"  # 1
    "\n"  # 2
    "## Phase 1: Discovery\n"  # 3
    "- [ ] 1.1 Research providers (agent: demo)\n"  # 4
    "- [x] 1.2 Already done (agent: demo)\n"  # 5
    "* [ ] 1.3 Star bullet\n"  # 6
    "+ [ ] 1.4 Plus bullet   \n"  # 7  (trailing blanks kept)
    "## Phase 2: Build\n"  # 8
    " - [ ] 2.1 One space in\n"  # 9
    "    - [ ] an indented line in the body, not a task\n"  # 10
    "- [ ] 2.2 Ünïcödé 日本語 — ✓\n"  # 11
    "- [ ]\n"  # 12 (no title: not a task)
    "Plain text with [ ] in it\n"  # 13
)


@pytest.mark.parametrize(
    ("newline", "final", "bom"),
    [
        ("\n", True, False),
        ("\r\n", True, False),
        ("\n", False, False),
        ("\r\n", False, True),
        ("\n", True, True),
    ],
)
def test_round_trip_keeps_every_other_byte(
    tmp_path: Path, newline: str, final: bool, bom: bool
) -> None:
    text = PLAN.replace("\n", newline)
    if not final:
        text = text.removesuffix(newline)
    original = (BOM if bom else b"") + text.encode("utf-8")
    path = write(tmp_path, original)

    count = tick_lines(path, [4, 6, 7, 9, 11])

    assert count == 5
    assert path.read_bytes() == ticked(original, {4, 6, 7, 9, 11})
    assert leftovers(tmp_path) == []


def test_bom_on_a_first_task_line(tmp_path: Path) -> None:
    original = BOM + b"- [ ] 1.1 First\r\n- [ ] 1.2 Second"
    path = write(tmp_path, original)
    assert tick_lines(path, [1, 2]) == 2
    assert path.read_bytes() == BOM + b"- [x] 1.1 First\r\n- [x] 1.2 Second"


def test_only_unticked_task_lines_change(tmp_path: Path) -> None:
    original = PLAN.encode("utf-8")
    path = write(tmp_path, original)
    # 1: heading, 2: blank, 5: already ticked, 8: heading, 10: indented body line,
    # 12: no title, 13: text, 0/-3/99: out of range.
    assert tick_lines(path, [0, -3, 1, 2, 5, 8, 10, 12, 13, 99]) == 0
    assert path.read_bytes() == original


def test_nothing_to_tick_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, PLAN.encode("utf-8"))
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert tick_lines(path, [5]) == 0
    assert path.stat().st_mtime_ns == 1_000_000_000


def test_a_line_given_twice_counts_once(tmp_path: Path) -> None:
    original = PLAN.encode("utf-8")
    path = write(tmp_path, original)
    assert tick_lines(path, iter([4, 4, 4])) == 1
    assert path.read_bytes() == ticked(original, {4})


def test_second_pass_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, PLAN.encode("utf-8"))
    assert tick_lines(path, [4, 6]) == 2
    after = path.read_bytes()
    assert tick_lines(path, [4, 6]) == 0
    assert path.read_bytes() == after


def test_ticked_lines_are_done_for_the_parser(tmp_path: Path) -> None:
    path = write(tmp_path, PLAN.encode("utf-8"))
    before, _ = parse_plan(PLAN, "plan.md")
    lines = [task.source.line for task in before.tasks if not task.done]
    assert tick_lines(path, lines) == len(lines)
    after, _ = parse_plan(path.read_text(encoding="utf-8"), "plan.md")
    assert [task.id for task in after.tasks] == [task.id for task in before.tasks]
    assert all(task.done for task in after.tasks)


def test_file_mode_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path, PLAN.encode("utf-8"))
    path.chmod(0o640)
    tick_lines(path, [4])
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_symlink_is_kept_and_its_target_updated(tmp_path: Path) -> None:
    real = write(tmp_path, PLAN.encode("utf-8"), "real.md")
    link = tmp_path / "plan.md"
    link.symlink_to(real.name)
    assert tick_lines(link, [4]) == 1
    assert link.is_symlink()
    assert real.read_bytes() == ticked(PLAN.encode("utf-8"), {4})


def test_failed_replace_leaves_plan_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = PLAN.encode("utf-8")
    path = write(tmp_path, original)

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(SourceError) as caught:
        tick_lines(path, [4])
    assert "No space left on device" in caught.value.message
    assert "unchanged" in caught.value.hint
    assert path.read_bytes() == original
    assert leftovers(tmp_path) == []


def test_interrupt_during_write_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = PLAN.encode("utf-8")
    path = write(tmp_path, original)

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tick_lines(path, [4])
    assert path.read_bytes() == original
    assert leftovers(tmp_path) == []


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        tick_lines(tmp_path / "gone.md", [1], shown_as="gone.md")
    assert caught.value.path == "gone.md"
    assert "no such file" in caught.value.message
    assert caught.value.hint


def test_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a folder"):
        tick_lines(tmp_path, [1])


def test_non_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, b"- [ ] 1.1 ok\n- [ ] 1.2 caf\xe9\n")
    with pytest.raises(SourceError) as caught:
        tick_lines(path, [1])
    assert "not UTF-8" in caught.value.message
    assert (caught.value.line, caught.value.col) == (2, 14)
    assert path.read_bytes() == b"- [ ] 1.1 ok\n- [ ] 1.2 caf\xe9\n"


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root ignores file permissions, so a read-only folder is still writable",
)
def test_read_only_folder_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "plans"
    folder.mkdir()
    original = PLAN.encode("utf-8")
    path = write(folder, original)
    folder.chmod(0o555)
    try:
        with pytest.raises(SourceError) as caught:
            tick_lines(path, [4])
    finally:
        folder.chmod(0o755)
    assert "permission denied" in caught.value.message
    assert "chmod u+w" in caught.value.hint
    assert path.read_bytes() == original
    assert leftovers(folder) == []


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root ignores file permissions, so an unreadable file is still readable",
)
def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, PLAN.encode("utf-8"))
    path.chmod(0o000)
    try:
        with pytest.raises(SourceError, match="permission denied"):
            tick_lines(path, [4])
    finally:
        path.chmod(0o644)


# Generated plans ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    text: str
    task: bool
    """An unticked line the parser reads as a task."""


_TITLE_START = st.characters(exclude_categories=["Cs", "Cc", "Zs", "Zl", "Zp"])
_TITLE_REST = st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=12)
_TITLE = st.builds(lambda first, rest: first + rest, _TITLE_START, _TITLE_REST)
_GAP = st.sampled_from([" ", "  ", "\t", " \t"])


@st.composite
def _task_line(draw: st.DrawFn) -> Line:
    indent = draw(st.sampled_from(["", " "]))
    bullet = draw(st.sampled_from("-*+"))
    box = draw(st.sampled_from(["[ ]", "[ ]", "[x]", "[X]"]))
    text = f"{indent}{bullet}{draw(_GAP)}{box}{draw(_GAP)}{draw(_TITLE)}"
    return Line(text, box == "[ ]")


_OTHER_LINE = st.sampled_from(
    [
        "",
        "## Phase 2: Build",
        "# Plan: things",
        "    - [ ] indented, part of a body",
        "\t* [ ] tab-indented body line",
        "- [ ]",
        "- [ ]   ",
        "-[ ] no space after the dash",
        "1. [ ] numbered",
        "text with [ ] inside",
        "trailing blanks   ",
        "- [ ] \u00a0title after a no-break space",
    ]
).map(lambda text: Line(text, False))


@st.composite
def _plan(draw: st.DrawFn) -> tuple[bytes, list[Line], list[int]]:
    lines = draw(st.lists(st.one_of(_task_line(), _OTHER_LINE), min_size=1, max_size=25))
    endings = draw(st.lists(st.sampled_from(["\n", "\r\n"]), min_size=len(lines)))
    text = "".join(line.text + end for line, end in zip(lines, endings, strict=False))
    if not draw(st.booleans()):
        text = text.removesuffix(endings[len(lines) - 1])
    data = (BOM if draw(st.booleans()) else b"") + text.encode("utf-8")
    chosen = draw(st.lists(st.integers(min_value=0, max_value=len(lines) + 2), max_size=30))
    return data, lines, chosen


@given(_plan())
def test_only_the_chosen_checkboxes_change(plan: tuple[bytes, list[Line], list[int]]) -> None:

    data, lines, chosen = plan
    expected_lines = {n for n in chosen if 1 <= n <= len(lines) and lines[n - 1].task}
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), data)
        count = tick_lines(path, chosen)
        result = path.read_bytes()
        assert leftovers(Path(folder)) == []
    assert count == len(expected_lines)
    assert result == ticked(data, expected_lines)
    assert len(result) == len(data)
    differing = [i for i, (a, b) in enumerate(zip(data, result, strict=True)) if a != b]
    assert len(differing) == count
    assert all(data[i : i + 1] == b" " and result[i : i + 1] == b"x" for i in differing)


@given(_plan())
def test_ticking_the_parsers_open_tasks_marks_them_all_done(
    plan: tuple[bytes, list[Line], list[int]],
) -> None:

    data, lines, _ = plan
    text = data.decode("utf-8").removeprefix("\ufeff")
    parsed, _ = parse_plan(text, "plan.md")
    open_lines = [task.source.line for task in parsed.tasks if not task.done]
    # Line by line, every task the parser reads is one tick_lines recognises. (The parser
    # also needs context: a ` - [ ]` line right under a task is that task's body.)
    assert set(open_lines) <= {n for n, line in enumerate(lines, start=1) if line.task}
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), data)
        assert tick_lines(path, open_lines) == len(open_lines)
        result = path.read_bytes()
    assert result == ticked(data, set(open_lines))
    after, _ = parse_plan(result.decode("utf-8").removeprefix("\ufeff"), "plan.md")
    assert [task.id for task in after.tasks] == [task.id for task in parsed.tasks]
    assert all(task.done for task in after.tasks)
