"""When do two tasks' file sets overlap? Exact paths, directories (`src/auth/`) and globs.

Pure: paths are compared as text; nothing touches the disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

from pmtui.plan.model import Task

_GLOB_CHARS = frozenset("*?[")


def is_glob(path: str) -> bool:
    """Whether a path entry is a pattern such as `src/**/*.py`."""
    return any(char in _GLOB_CHARS for char in path)


def _ancestors(path: str) -> Iterable[str]:
    """`a/b/c.py` → `a/`, `a/b/` (the directories that contain it)."""
    parts = path.rstrip("/").split("/")
    for end in range(1, len(parts)):
        yield "/".join(parts[:end]) + "/"


def _as_dir(path: str) -> str:
    return path if path.endswith("/") else path + "/"


def paths_overlap(first: str, second: str) -> bool:
    """Whether two path entries can name the same file."""
    if first == second:
        return True
    if is_glob(first) or is_glob(second):
        return fnmatchcase(second, first) or fnmatchcase(first, second)
    return second.startswith(_as_dir(first)) or first.startswith(_as_dir(second))


def shared_paths(first: Sequence[str], second: Sequence[str]) -> list[str]:
    """The entries of `first` that overlap some entry of `second`, in order."""
    return [path for path in first if any(paths_overlap(path, other) for other in second)]


def overlap_groups(tasks: Sequence[Task]) -> list[tuple[tuple[Task, ...], tuple[str, ...]]]:
    """Groups of tasks that touch the same files, with those files.

    Linear in the number of paths for plain paths and directories; only glob entries are
    compared against every path.

    Returns:
        `(tasks, paths)` pairs: every task of `tasks` touches every path of `paths`; tasks in
        plan order, groups ordered by their last task.
    """
    touching: dict[str, list[Task]] = {}
    globs: list[tuple[str, Task]] = []
    for task in tasks:
        for path in task.files:
            if is_glob(path):
                globs.append((path, task))
            else:
                touching.setdefault(path, []).append(task)
    plain_paths = list(touching)
    for path in plain_paths:
        for directory in _ancestors(path):
            for owner in touching.get(directory, ()):
                touching[path].append(owner)
    for pattern, owner in globs:
        matched = False
        for path in plain_paths:
            if fnmatchcase(path, pattern):
                touching[path].append(owner)
                matched = True
        if not matched:
            touching.setdefault(pattern, []).append(owner)
    for index, (pattern, owner) in enumerate(globs):
        for other_pattern, other in globs[index + 1 :]:
            if other is not owner and paths_overlap(pattern, other_pattern):
                touching.setdefault(pattern, []).append(other)
    order = {id(task): position for position, task in enumerate(tasks)}
    groups: dict[tuple[int, ...], list[str]] = {}
    members: dict[tuple[int, ...], tuple[Task, ...]] = {}
    for path, owners in touching.items():
        unique = sorted({id(task): task for task in owners}.values(), key=lambda t: order[id(t)])
        if len(unique) < 2:
            continue
        key = tuple(order[id(task)] for task in unique)
        groups.setdefault(key, []).append(path)
        members[key] = tuple(unique)
    ordered = sorted(groups, key=lambda key: (key[-1], key))
    return [(members[key], tuple(groups[key])) for key in ordered]
