"""Tick `[x]` on finished tasks in the Markdown plan (`--update-plan`, docs/design.md §7).

Works on the file's bytes: only the space inside each chosen `[ ]` becomes `x`, so line
endings, a missing final newline, a BOM, trailing blanks and any other text are kept exactly.
The file is replaced atomically: a crash leaves the old plan or the new one, never half.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from pmtui.store.files import SourceError, read_utf8_bytes

_BOM = b"\xef\xbb\xbf"

# The unticked form of pmtui.plan.parser's `_TASK_LINE` (the store may not import the
# plan layer): at most one leading space, a `-`/`*`/`+` bullet, blanks, `[ ]`, blanks, a
# title. A line the parser does not read as a task (an indented "subtask" in a body, a
# title-less checkbox) is never ticked. Matched on the decoded line, as the parser does.
_UNTICKED_TASK_LINE = re.compile(r"^ ?[-*+][ \t]+\[( )\][ \t]+\S")


def tick_lines(path: Path, lines: Iterable[int], shown_as: str | None = None) -> int:
    """Turn `[ ]` into `[x]` on the given 1-based lines that are unticked task lines.

    Other lines (already ticked, not a task, out of range) are left alone. Nothing is
    written when nothing changes. A symlinked plan is updated in place of its target.

    Args:
        path: The Markdown plan.
        lines: 1-based line numbers, as in `Task.source.line`.
        shown_as: The name used in errors (defaults to the path as given).

    Returns:
        How many lines were ticked.

    Raises:
        SourceError: The file cannot be read, is not UTF-8, or cannot be replaced.
    """
    name = shown_as or str(path)
    target = Path(os.path.realpath(path))
    data = read_utf8_bytes(
        target,
        name,
        "the plan was moved or deleted during the run; the run's logs are kept, tick the "
        "tasks by hand",
    )
    wanted = {number for number in lines if number >= 1}
    if not wanted:
        return 0
    parts = data.split(b"\n")
    ticked = 0
    for number in sorted(wanted):
        if number > len(parts):
            break
        offset = _checkbox_offset(parts[number - 1], first=number == 1)
        if offset is not None:
            line = parts[number - 1]
            parts[number - 1] = line[:offset] + b"x" + line[offset + 1 :]
            ticked += 1
    if ticked:
        _replace(target, b"\n".join(parts), name)
    return ticked


def _checkbox_offset(line: bytes, *, first: bool) -> int | None:
    """The byte offset of the space inside `[ ]` if `line` is an unticked task line."""
    skip = len(_BOM) if first and line.startswith(_BOM) else 0
    text = line[skip:].rstrip(b"\r").decode("utf-8")
    match = _UNTICKED_TASK_LINE.match(text)
    if match is None:
        return None
    # Everything before the checkbox is ASCII, so the character index is the byte index.
    return skip + match.start(1)


def _replace(path: Path, data: bytes, name: str) -> None:
    """Write `data` over `path` atomically, keeping its permission bits."""
    folder = path.parent
    temporary: str | None = None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        with tempfile.NamedTemporaryFile(
            dir=folder, prefix=f".{path.name}.", suffix=".tmp", delete=False
        ) as handle:
            temporary = handle.name
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        temporary = None
        _fsync_folder(folder)
    except PermissionError:
        raise SourceError(
            name,
            "cannot update the plan: permission denied",
            f"pmtui writes a new copy beside the plan and swaps it in, so the folder must be "
            f"writable: chmod u+w {folder}",
        ) from None
    except OSError as error:
        raise SourceError(
            name,
            f"cannot update the plan: {error.strerror or error}",
            "the plan is unchanged; free some space or check the folder, then rerun with "
            "--update-plan",
        ) from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable; some file systems cannot open a folder, which is fine."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
