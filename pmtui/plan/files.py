"""When do two tasks' file sets overlap? Exact paths, directories (`src/auth/`) and globs.

Pure: paths are compared as text; nothing touches the disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

from pmtui.plan.model import Task

_GLOB_CHARS = frozenset("*?[")

MAX_GLOB_COMPARISONS = 250_000
"""Globs are compared with every path; past this many comparisons the rest are skipped, so
a plan of thousands of globs is checked in bounded time (the warning is advisory)."""


def is_glob(path: str) -> bool:
    """Whether a path entry is a pattern such as `src/**/*.py`."""
    return any(char in _GLOB_CHARS for char in path)


def _ancestors(path: str) -> Iterable[str]:
    """`a/b/c.py` → `a`, `a/b` (the directories that contain it, without a trailing `/`)."""
    parts = path.rstrip("/").split("/")
    for end in range(1, len(parts)):
        yield "/".join(parts[:end])


def _key(path: str) -> str:
    """One spelling per plain entry: `src/auth/` and `src/auth` name the same directory."""
    return path.rstrip("/") or path


def _segments(entry: str) -> tuple[str, ...]:
    """The `/`-separated parts of an entry; a glob without `/` matches at any depth."""
    parts = tuple(entry.rstrip("/").split("/")) if entry.rstrip("/") else (entry,)
    if len(parts) == 1 and is_glob(entry):
        return ("**", *parts)
    return parts


def _may_be_directory(entry: str) -> bool:
    """Whether an entry can name a directory: `src/auth/`, `src/auth` or `src/*`, not `a.py`."""
    return entry.endswith("/") or "." not in entry.rsplit("/", 1)[-1]


def _literal_ends(segment: str) -> tuple[str, str]:
    """The fixed text before the first and after the last wildcard of a pattern segment."""
    head = re.match(r"[^*?\[]*", segment)
    tail = re.search(r"[^*?\[\]]*$", segment)
    return (head.group(0) if head else ""), (tail.group(0) if tail else "")


def _segments_overlap(first: str, second: str) -> bool:
    """Whether two path segments, either possibly a pattern, can name the same name."""
    first_glob, second_glob = is_glob(first), is_glob(second)
    if not first_glob and not second_glob:
        return first == second
    if not first_glob:
        return fnmatchcase(first, second)
    if not second_glob:
        return fnmatchcase(second, first)
    if fnmatchcase(first, second) or fnmatchcase(second, first):
        return True
    # Two patterns: they may meet when their fixed starts and ends agree (`a*.py`, `*b.py`).
    first_head, first_tail = _literal_ends(first)
    second_head, second_tail = _literal_ends(second)
    heads_agree = first_head.startswith(second_head) or second_head.startswith(first_head)
    tails_agree = first_tail.endswith(second_tail) or second_tail.endswith(first_tail)
    return heads_agree and tails_agree


def paths_overlap(first: str, second: str) -> bool:
    """Whether two path entries can name the same file.

    An entry names a file or a directory and everything under it (`src/auth/` or `src/auth`),
    or is a glob: `*` and `?` match within one path segment, `**` matches any number of
    segments, and a glob without `/` (`*.py`) matches at any depth, as in `.gitignore`. Against
    a glob, an entry whose last part has an extension (`a.md`) is taken to be a file. Two
    globs are compared by their fixed parts, so they may be reported as overlapping when
    they cannot be (`a*b` and `ab*c`): the check errs toward a spare warning.
    """
    if first == second:
        return True
    if not is_glob(first) and not is_glob(second):
        first, second = _key(first), _key(second)
        return first == second or second.startswith(first + "/") or first.startswith(second + "/")
    left, right = _segments(first), _segments(second)
    left_dir, right_dir = _may_be_directory(first), _may_be_directory(second)
    seen: dict[tuple[int, int], bool] = {}

    def meet(i: int, j: int) -> bool:
        # An entry running out first holds the rest of the other when it is a directory.
        if i == len(left) or j == len(right):
            rest = right[j:] if i == len(left) else left[i:]
            holder_is_dir = left_dir if i == len(left) else right_dir
            return holder_is_dir or all(segment == "**" for segment in rest)
        if (i, j) not in seen:
            if left[i] == "**":
                seen[i, j] = meet(i + 1, j) or meet(i, j + 1)
            elif right[j] == "**":
                seen[i, j] = meet(i, j + 1) or meet(i + 1, j)
            else:
                seen[i, j] = _segments_overlap(left[i], right[j]) and meet(i + 1, j + 1)
        return seen[i, j]

    return meet(0, 0)


def shared_paths(first: Sequence[str], second: Sequence[str]) -> list[str]:
    """The entries of `first` that overlap some entry of `second`, in order."""
    return [path for path in first if any(paths_overlap(path, other) for other in second)]


def overlap_groups(tasks: Sequence[Task]) -> list[tuple[tuple[Task, ...], tuple[str, ...]]]:
    """Groups of tasks that touch the same files, with those files.

    Linear in the number of paths for plain paths and directories; only glob entries are
    compared against every path, up to `MAX_GLOB_COMPARISONS`.

    Returns:
        `(tasks, paths)` pairs: every task of `tasks` touches every path of `paths`; tasks in
        plan order, groups ordered by their last task.
    """
    touching: dict[str, list[Task]] = {}
    shown: dict[str, str] = {}
    globs: list[tuple[str, Task]] = []
    for task in tasks:
        for path in task.files:
            if is_glob(path):
                globs.append((path, task))
                continue
            entry = _key(path)
            shown.setdefault(entry, path)
            touching.setdefault(entry, []).append(task)
    plain_paths = list(touching)
    for path in plain_paths:
        for directory in _ancestors(path):
            touching[path].extend(touching.get(directory, ()))
    budget = MAX_GLOB_COMPARISONS
    for pattern, owner in globs:
        shown.setdefault(pattern, pattern)
        touching.setdefault(pattern, []).append(owner)
        if budget < len(plain_paths):
            continue
        budget -= len(plain_paths)
        for path in plain_paths:
            if paths_overlap(pattern, path):
                touching[path].append(owner)
    for index, (pattern, owner) in enumerate(globs):
        others = globs[index + 1 :]
        if budget < len(others):
            break
        budget -= len(others)
        for other_pattern, other in others:
            if other is not owner and paths_overlap(pattern, other_pattern):
                touching[pattern].append(other)
    order = {id(task): position for position, task in enumerate(tasks)}
    groups: dict[tuple[int, ...], list[str]] = {}
    members: dict[tuple[int, ...], tuple[Task, ...]] = {}
    for path, owners in touching.items():
        unique = sorted({id(task): task for task in owners}.values(), key=lambda t: order[id(t)])
        if len(unique) < 2:
            continue
        key = tuple(order[id(task)] for task in unique)
        groups.setdefault(key, []).append(shown[path])
        members[key] = tuple(unique)
    ordered = sorted(groups, key=lambda key: (key[-1], key))
    return [(members[key], tuple(groups[key])) for key in ordered]
