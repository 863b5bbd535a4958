"""The small repository `pmtui demo --git` works on, made with dulwich, and its history.

Never touches a repository of the user's: `make_demo_repository` refuses a folder that exists.
"""

from __future__ import annotations

import time
from pathlib import Path

from dulwich import porcelain
from dulwich.objects import Commit, ObjectID
from dulwich.refs import Ref
from dulwich.repo import Repo

AUTHOR = b"pmtui demo <demo@localhost>"

FILES = {
    "README.md": "# Demo project\n\nA tiny project the demo's agents work on in parallel.\n",
    "src/app.py": 'print("nothing yet")\n',
}


def make_demo_repository(path: Path) -> None:
    """A new repository at `path` with a few files committed on `main`.

    Raises:
        FileExistsError: `path` exists.
    """
    path.mkdir(parents=True)
    with Repo.init(str(path), default_branch=b"main") as repo:
        for name, text in FILES.items():
            target = path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        porcelain.add(repo, paths=[str(path / name) for name in FILES])
        now = time.time()
        porcelain.commit(
            repo,
            message=b"Start the demo project",
            author=AUTHOR,
            committer=AUTHOR,
            author_timestamp=now,
            commit_timestamp=now,
            author_timezone=0,
            commit_timezone=0,
        )


def history(path: Path, branch: str = "main", limit: int = 20) -> list[str]:
    """`<short id> <subject>` of the branch's commits, newest first (first parents)."""
    lines: list[str] = []
    with Repo(str(path)) as repo:
        current: bytes | None = bytes(repo.refs[Ref(b"refs/heads/" + branch.encode())])
        while current is not None and len(lines) < limit:
            commit = repo[ObjectID(current)]
            assert isinstance(commit, Commit)
            subject = commit.message.decode("utf-8", "replace").split("\n", 1)[0]
            lines.append(f"{current[:7].decode()} {subject}")
            current = bytes(commit.parents[0]) if commit.parents else None
    return lines
