"""`pmtui clean`: what runs left in a repository, removed when merged, listed when not.

Runs remove the worktrees of merged tasks as they go; what stays is the work of tasks that
did not merge (conflicts, failures, aborted runs), merged tasks' branches, and whatever a
killed pmtui left. Here a task branch counts as merged when some branch that is not pmtui's
holds its tip. Merged worktrees (without uncommitted changes: checked first), merged branches
and the kept work of earlier attempts of merged tasks go; everything unmerged is kept and
listed with how to finish it. Nothing is touched with `dry_run`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from dulwich.objects import ObjectID
from dulwich.refs import Ref
from dulwich.repo import Repo

from pmtui.vcs.worktrees import KEPT_REFS, SPARE_PREFIX, WORKTREES, changes, is_ancestor

TASK_BRANCHES = b"refs/heads/pmtui/"


@dataclass(frozen=True, slots=True)
class Kept:
    """Something of a run that stays: unmerged, or holding uncommitted work."""

    what: str
    """The branch, ref or folder."""
    why: str
    hint: str = ""


@dataclass
class Cleanup:
    """What `pmtui clean` removes and keeps (or, with `dry_run`, would)."""

    removed_worktrees: list[str] = field(default_factory=list)
    deleted_branches: list[str] = field(default_factory=list)
    deleted_refs: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    """Git's records of worktrees whose folder is gone."""
    kept: list[Kept] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Whether there was nothing to do or keep."""
        return not (
            self.removed_worktrees
            or self.deleted_branches
            or self.deleted_refs
            or self.pruned
            or self.kept
        )


@dataclass(frozen=True, slots=True)
class _Record:
    admin: Path
    path: Path
    branch: bytes | None


def _worktree_records(repo_root: Path) -> list[_Record]:
    """pmtui's worktrees as git records them (`.git/worktrees/pmtui-*`)."""
    found = []
    folder = repo_root / ".git" / "worktrees"
    for admin in sorted(folder.glob("pmtui-*")) if folder.is_dir() else []:
        try:
            gitdir = (admin / "gitdir").read_text(encoding="utf-8").strip()
            head = (admin / "HEAD").read_bytes().strip()
        except (OSError, UnicodeDecodeError):
            continue
        branch = head[len(b"ref: ") :] if head.startswith(b"ref: ") else None
        found.append(_Record(admin, Path(gitdir).parent, branch))
    return found


def find_cleanup(repo_root: Path, *, dry_run: bool) -> Cleanup:
    """Clean up after runs in `repo_root` (or, with `dry_run`, only say what would go)."""
    result = Cleanup()
    with Repo(str(repo_root)) as repo:
        heads = {
            Ref(name): bytes(repo.refs[Ref(name)])
            for name in repo.refs.allkeys()
            if name.startswith(b"refs/heads/") and not name.startswith(TASK_BRANCHES)
        }

        def merged(commit: bytes) -> bool:
            return any(is_ancestor(repo, commit, head) for head in heads.values())

        records = _worktree_records(repo_root)
        still_there: set[bytes] = set()
        """Branches whose worktree stays (unmerged, or holding uncommitted work)."""
        for record in records:
            shown = _shown(repo_root, record.path)
            spare = record.admin.name.startswith(SPARE_PREFIX)
            if spare and (not record.path.exists() or not changes(record.path)):
                result.removed_worktrees.append(shown)  # a spare a dead run left: a copy
                if not dry_run:
                    shutil.rmtree(record.path, ignore_errors=True)
                    shutil.rmtree(record.admin)
                continue
            if not record.path.exists():
                result.pruned.append(record.admin.name)
                if not dry_run:
                    shutil.rmtree(record.admin)
                continue
            branch = record.branch
            tip = bytes(repo.refs[Ref(branch)]) if branch and Ref(branch) in repo.refs else None
            name = branch[len(b"refs/heads/") :].decode() if branch else "(no branch)"
            if tip is None or not merged(tip):
                still_there.add(branch or b"")
                result.kept.append(
                    Kept(shown, f"its branch {name} is not merged", _finish_hint(name, shown))
                )
                continue
            left = changes(record.path)
            if left:
                still_there.add(branch or b"")
                listed = ", ".join(left[:3]) + (" …" if len(left) > 3 else "")
                result.kept.append(
                    Kept(
                        shown,
                        f"uncommitted changes ({listed})",
                        f"commit or delete them in {shown}",
                    )
                )
                continue
            result.removed_worktrees.append(shown)
            if not dry_run:
                shutil.rmtree(record.path)
                shutil.rmtree(record.admin)
        for ref in sorted(repo.refs.allkeys()):
            if not ref.startswith(TASK_BRANCHES) or ref in still_there:
                continue
            short = ref[len(b"refs/heads/") :].decode()
            tip = bytes(repo.refs[ref])
            if not merged(tip):
                result.kept.append(Kept(short, "not merged", _finish_hint(short, None)))
                continue
            result.deleted_branches.append(short)
            if not dry_run:
                repo.refs.remove_if_equals(ref, ObjectID(tip))
        merged_tasks = {short.split("/", 1)[1] for short in result.deleted_branches}
        for ref in sorted(repo.refs.allkeys()):
            if not ref.startswith(KEPT_REFS):
                continue
            text = ref.decode()
            task = text[len(KEPT_REFS) :].rsplit("/", 1)[0]
            tip = bytes(repo.refs[ref])
            if task in merged_tasks or merged(tip):
                result.deleted_refs.append(text)
                if not dry_run:
                    repo.refs.remove_if_equals(ref, ObjectID(tip))
            else:
                result.kept.append(
                    Kept(text, "an earlier attempt's work, not merged", f"git log -p {text}")
                )
    if not dry_run:
        _prune_folders(repo_root / WORKTREES)
    return result


def _shown(repo_root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(repo_root))
    except ValueError:
        return str(path)


def _finish_hint(branch: str, worktree: str | None) -> str:
    hint = f"merge it (git merge {branch}) or drop it (git branch -D {branch}"
    if worktree is not None:
        hint = (
            f"merge it (git merge {branch}) or drop it (git worktree remove --force {worktree}"
            f" && git branch -D {branch}"
        )
    return hint + ")"


def _prune_folders(root: Path) -> None:
    """Remove run folders left empty under `.pmtui/worktrees/`."""
    if not root.is_dir():
        return
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
