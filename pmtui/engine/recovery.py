"""After a pmtui died mid-merge: the merge journal reconciled with the repository
(docs/design.md §6, §7). Run before a new run or a resume reads what the dead one did.

The integration branch moves by compare-and-swap, so a merge is either before or after the
move; what can lag is the main checkout, and the store's record of the task.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

from dulwich.objects import ObjectID
from dulwich.repo import Repo

from pmtui.store.db import MERGE_ABANDONED, MERGE_LANDED, MERGE_PENDING, MergeRecord, Store
from pmtui.vcs.integration import Integration, update_checkout
from pmtui.vcs.workfiles import tree_diff
from pmtui.vcs.worktrees import is_ancestor, tree_of


def recover_merges(store: Store, integration: Integration) -> list[str]:
    """Reconcile the merges a killed pmtui left half-done.

    A merge left `pending`: the branch moved (the main checkout is then brought up to date,
    files changed by hand kept as they are, and the task counts as done) or it did not
    (forgotten). A merge `landed` whose task was not saved `done` yet (pmtui died right
    after it): the task counts as done, so it is not run again on top of its own work.

    Returns:
        One line per merge reconciled, for the user.
    """
    notes: list[str] = []
    for merge in store.merges(MERGE_PENDING):
        if merge.branch != integration.branch:
            continue
        head = integration.head()
        old, new = merge.old.encode(), merge.new.encode()
        if head == new or _contains(integration.repo_root, head, new):
            if head == new:
                kept = update_checkout(integration, old, new, keep_hand_edits=True)
                notes.extend(_kept_note(merge, integration, kept))
            store.merge_state(replace(merge, state=MERGE_LANDED))
            _done(store, merge)
            notes.append(f"the merge of task {merge.task_id} had landed before pmtui died")
        else:
            store.merge_state(replace(merge, state=MERGE_ABANDONED))
            notes.append(
                f"the merge of task {merge.task_id} had not landed before pmtui died: "
                f"{integration.branch} is as it was"
            )
    for merge in store.merges(MERGE_LANDED):
        run = store.run(merge.run_id)
        if run is None or run.finished_at is not None or merge.attempt == 0:
            continue
        row = store.task_states(merge.run_id).get(merge.task_id)
        # Only the merge of the task's latest attempt tells (`--rerun` runs a done task again).
        if row is not None and row.state != "done" and row.attempts <= merge.attempt:
            _done(store, merge)
            notes.append(f"the merge of task {merge.task_id} had landed before pmtui died")
    return notes


def _done(store: Store, merge: MergeRecord) -> None:
    with contextlib.suppress(KeyError):
        store.set_task_state(merge.run_id, merge.task_id, "done", "", merge.attempt)


def _kept_note(merge: MergeRecord, integration: Integration, written: list[str]) -> list[str]:
    """What the user should know when a hand edit kept the checkout from following fully."""
    with Repo(str(integration.repo_root)) as repo:
        before, after = tree_diff(
            repo.object_store,
            tree_of(repo, merge.old.encode()),
            tree_of(repo, merge.new.encode()),
        )
    changed = sorted(path.decode("utf-8", "replace") for path in before.keys() | after.keys())
    kept = [path for path in changed if path not in written]
    if not kept:
        return []
    return [
        f"the merge of task {merge.task_id} changed {', '.join(kept)}, which you had changed by "
        f"hand in {integration.repo_root}: your versions are kept, on top of the merge "
        "(git diff shows both); check them"
    ]


def _contains(repo_root: Path, head: bytes, commit: bytes) -> bool:
    with Repo(str(repo_root)) as repo:
        return ObjectID(commit) in repo.object_store and is_ancestor(repo, commit, head)
