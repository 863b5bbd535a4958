"""Read plan and config files with errors a user can act on; find bundled data.

The only place plan and config text comes from disk, so every way a read can fail
(missing, a folder, no permission, not UTF-8, huge) becomes one clear `SourceError`.
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_SOURCE_BYTES = 64 * 1024 * 1024
"""Plans are text; anything bigger is not a plan and would only be slow to reject."""

_PACKAGE = Path(__file__).resolve().parent.parent


class SourceError(Exception):
    """A file that cannot be read as UTF-8 text; line and col are 1-based (0 = whole file)."""

    def __init__(self, path: str, message: str, hint: str, line: int = 1, col: int = 0) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.hint = hint
        self.line = line
        self.col = col


def read_text(path: Path, shown_as: str | None = None) -> str:
    """Read a whole UTF-8 text file (a leading BOM is dropped).

    Args:
        path: The file.
        shown_as: The name used in errors (defaults to the path as given).

    Raises:
        SourceError: The file is missing, a folder, unreadable, too large or not UTF-8.
    """
    data = read_utf8_bytes(path, shown_as or str(path))
    return data.decode("utf-8").removeprefix("\ufeff")


def read_utf8_bytes(
    path: Path,
    name: str,
    missing_hint: str = "check the path (it is relative to the current folder)",
) -> bytes:
    """The bytes of a whole text file, checked to be UTF-8 (for byte-exact rewrites).

    Raises:
        SourceError: The file is missing, a folder, unreadable, too large or not UTF-8.
    """
    try:
        if path.is_dir():
            raise SourceError(
                name, "is a folder, not a file", "name the Markdown plan file inside it"
            )
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise SourceError(
                name,
                f"is {size // (1024 * 1024)} MB; a plan or config is at most "
                f"{MAX_SOURCE_BYTES // (1024 * 1024)} MB",
                "check that this is the right file",
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(name, "no such file", missing_hint) from None
    except PermissionError:
        raise SourceError(
            name, "permission denied", f"make it readable: chmod u+r {name}"
        ) from None
    except OSError as error:
        raise SourceError(
            name, f"cannot be read: {error.strerror or error}", "check the file"
        ) from None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        raise SourceError(
            name,
            f"is not UTF-8 text (byte 0x{data[error.start]:02x})",
            "save the file as UTF-8, or check that it is a text file",
            before.count(b"\n") + 1,
            error.start - (before.rfind(b"\n") + 1) + 1,
        ) from None
    return data


def find_repo_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` holding a git repository: a `.git` folder with
    a `HEAD`, or a worktree's `.git` file naming its `gitdir:`.

    An empty `.git` folder is not one (git skips it too): Codex's sandbox leaves such mount
    points in every folder it may write to, `/tmp` included.
    """
    for folder in (start, *start.parents):
        marker = folder / ".git"
        if marker.is_dir() and (marker / "HEAD").is_file():
            return folder
        if marker.is_file() and _names_gitdir(marker):
            return folder
    return None


def _names_gitdir(marker: Path) -> bool:
    try:
        with marker.open("rb") as handle:
            return handle.read(8) == b"gitdir: "
    except OSError:
        return False


def xdg_config_home() -> Path:
    """`$XDG_CONFIG_HOME`, else `~/.config`."""
    configured = os.environ.get("XDG_CONFIG_HOME", "")
    return Path(configured) if configured else Path.home() / ".config"


def xdg_cache_home() -> Path:
    """`$XDG_CACHE_HOME`, else `~/.cache`."""
    configured = os.environ.get("XDG_CACHE_HOME", "")
    return Path(configured) if configured else Path.home() / ".cache"


def bundled(folder: str) -> Path:
    """A data folder shipped with pmtui (`demo_plans`, `themes`).

    Installed from a wheel it is `pmtui/_data/<folder>`; in a source checkout (or an
    editable install) it is the folder at the top of the repository.

    Raises:
        FileNotFoundError: Neither exists (a broken installation).
    """
    for candidate in (_PACKAGE / "_data" / folder, _PACKAGE.parent / folder):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"pmtui's bundled {folder}/ folder is missing; reinstall pmtui")


def write_new_file(path: Path, text: str, *, overwrite: bool) -> None:
    """Write a file; without `overwrite`, refuse (FileExistsError) if it exists.

    With `overwrite` the file is replaced atomically, so a crash leaves the old or new
    file, never half of one.
    """
    if not overwrite:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
