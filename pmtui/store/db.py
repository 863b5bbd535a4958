"""The run store: runs, tasks and attempts in `.pmtui/pmtui.db` (docs/design.md §7).

sqlite3 in WAL mode with `synchronous=NORMAL`: every state change is one committed
transaction, which survives `kill -9` of pmtui (not a power cut) without an fsync per
change. That is what lets `--resume` trust the store after a crash.
Past durations feed the estimates: `Store` is a `pmtui.scheduling.estimates.History`.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pmtui.store.files import find_repo_root

STORE_DIR = ".pmtui"
"""The folder, in the working root, that holds everything pmtui writes."""

DB_NAME = "pmtui.db"

EXCLUDE_LINE = f"{STORE_DIR}/"
"""The `.git/info/exclude` line that keeps the store out of `git status`."""

BUSY_TIMEOUT_S = 5.0
"""How long a write waits for another connection (`pmtui history` beside a run)."""

_MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: the first schema.
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        plan_path TEXT NOT NULL,
        started_at REAL NOT NULL,
        finished_at REAL,
        status TEXT NOT NULL,
        slots INTEGER NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL
    );
    CREATE INDEX runs_by_plan ON runs (plan_path, started_at);
    CREATE TABLE tasks (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        task_id TEXT NOT NULL,
        title TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL DEFAULT 0,
        text_hash TEXT NOT NULL,
        PRIMARY KEY (run_id, task_id)
    );
    CREATE TABLE attempts (
        run_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        number INTEGER NOT NULL,
        started_at REAL NOT NULL,
        ended_at REAL,
        exit_code INTEGER,
        reason TEXT NOT NULL DEFAULT '',
        peak_rss INTEGER,
        pgid INTEGER,
        create_time REAL,
        PRIMARY KEY (run_id, task_id, number),
        FOREIGN KEY (run_id, task_id) REFERENCES tasks (run_id, task_id) ON DELETE CASCADE
    );
    CREATE INDEX attempts_by_task ON attempts (task_id, ended_at);
    """,
    # 1 -> 2: the merge journal (docs/design.md §6): a merge is written `pending` before the
    # integration branch moves and `landed` once the main checkout shows it, so a pmtui
    # killed in between can tell which side of the move it died on.
    """
    CREATE TABLE merges (
        run_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        branch TEXT NOT NULL,
        old TEXT NOT NULL,
        new TEXT NOT NULL,
        state TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (run_id, task_id, attempt, new)
    );
    CREATE INDEX merges_by_state ON merges (state);
    """,
    # 2 -> 3: real agents (issue 7): the agent each attempt ran, the session it opened (to
    # resume it), and the tokens and cost it reported.
    """
    ALTER TABLE attempts ADD COLUMN agent TEXT NOT NULL DEFAULT '';
    ALTER TABLE attempts ADD COLUMN session_id TEXT;
    ALTER TABLE attempts ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE attempts ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE attempts ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE attempts ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE attempts ADD COLUMN cost_usd REAL;
    ALTER TABLE attempts ADD COLUMN turns INTEGER;
    ALTER TABLE attempts ADD COLUMN model TEXT NOT NULL DEFAULT '';
    ALTER TABLE attempts ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE attempts ADD COLUMN runs_as TEXT NOT NULL DEFAULT '';
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)
"""`PRAGMA user_version` of a store this pmtui wrote; migration `i` takes `i` to `i + 1`."""

RUNNING = "running"
"""The status of a run that has not finished (or whose pmtui died)."""


class StoreError(Exception):
    """The store cannot be used; `str()` names the file and what to do about it."""

    def __init__(self, path: str, message: str, hint: str) -> None:
        super().__init__(f"{path}: {message}; {hint}")
        self.path = path
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class RunRecord:
    """One run of a plan."""

    id: str
    plan_path: str
    started_at: float
    finished_at: float | None
    """None while running, and for a run whose pmtui died (resumable)."""
    status: str
    slots: int
    pid: int
    host: str


@dataclass(frozen=True)
class TaskRow:
    """A task's last saved state within a run."""

    run_id: str
    task_id: str
    title: str
    state: str
    reason: str
    attempts: int
    text_hash: str
    """Hash of the task's text, so `--resume` can warn about a done task that changed."""


@dataclass(frozen=True)
class AttemptRecord:
    """One start of a task; `pgid` + `create_time` find its leftovers after a crash."""

    run_id: str
    task_id: str
    number: int
    started_at: float
    ended_at: float | None
    exit_code: int | None
    reason: str
    peak_rss: int | None
    pgid: int | None
    create_time: float | None
    agent: str = ""
    session_id: str | None = None
    """The agent's session (to continue it with `--resume`), once it said."""
    usage: AttemptUsage | None = None
    """What the agent reported using; None when it reported nothing."""
    interrupted: bool = False
    """pmtui ended it before the agent did (abort, timeout, a rate limit, pmtui's death):
    its session is continued by the next attempt."""
    runs_as: str = ""
    """The agent whose program it ran (a role's base; else `agent` itself)."""


@dataclass(frozen=True)
class AttemptUsage:
    """Tokens and cost of one attempt, as its agent reported them (cost priced from
    `[prices]` when the agent reports none; None: unknown)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float | None = None
    turns: int | None = None
    model: str = ""

    @property
    def tokens(self) -> int:
        """Tokens as pmtui counts them everywhere: input, output and cache reads (cache
        writes are kept apart: `task_usage` does not carry them)."""
        return self.input_tokens + self.output_tokens + self.cache_read_tokens


@dataclass(frozen=True)
class MergeRecord:
    """One merge of a task's branch into the integration branch, as the journal has it."""

    run_id: str
    task_id: str
    attempt: int
    branch: str
    """The integration branch."""
    old: str
    """Its commit before the merge (hex)."""
    new: str
    """Its commit after (hex)."""
    state: str
    """`pending` (the branch may or may not have moved), `landed` or `abandoned`."""
    at: float


MERGE_PENDING = "pending"
MERGE_LANDED = "landed"
MERGE_ABANDONED = "abandoned"


TaskSpec = tuple[str, str, str]
"""`(task_id, title, text_hash)` of a task entering a run."""


def new_run_id(now: float) -> str:
    """`YYYYMMDD-HHMMSS-xxxx` (UTC): sorts by start time, random tail against collisions."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + "-" + secrets.token_hex(2)


def exclude_from_git(root: Path) -> None:
    """Add `.pmtui/` to the repository's `.git/info/exclude` once, so it never shows as new.

    Best effort: a worktree (`.git` is a file) or an unwritable `.git` is left alone, since
    a stray untracked folder is a nuisance, not a reason to refuse to run.
    """
    repo = find_repo_root(root)
    if repo is None or not (repo / ".git").is_dir():
        return
    exclude = repo / ".git" / "info" / "exclude"
    try:
        text = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        if any(line.strip() in {EXCLUDE_LINE, f"/{EXCLUDE_LINE}"} for line in text.splitlines()):
            return
        exclude.parent.mkdir(parents=True, exist_ok=True)
        with exclude.open("a", encoding="utf-8") as handle:
            handle.write(("" if text == "" or text.endswith("\n") else "\n") + EXCLUDE_LINE + "\n")
    except (OSError, UnicodeDecodeError):
        return


def store_dir(root: Path) -> Path:
    """`<root>/.pmtui`, created if missing.

    Raises:
        StoreError: It cannot be created (read-only folder, a file in the way).
    """
    folder = root / STORE_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StoreError(
            str(folder), "is a file, not a folder", "move it away; pmtui keeps its runs there"
        ) from None
    except OSError as error:
        raise StoreError(
            str(folder),
            f"cannot be created: {error.strerror or error}",
            "run pmtui in a folder you can write to",
        ) from None
    return folder


class Store:
    """The run history of one working root; one connection, one writer (pmtui's lock)."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        """Wrap an open, migrated connection; use `Store.open`."""
        self.connection = connection
        """The sqlite connection (for diagnostics and tests; write through the methods)."""
        self.path = path
        self._batching = False

    @classmethod
    def open(cls, root: Path) -> Store:
        """Open (or create) `<root>/.pmtui/pmtui.db`, migrated to this pmtui's schema.

        Raises:
            StoreError: The folder is not writable, or the file is not a pmtui database.
        """
        path = store_dir(root) / DB_NAME
        exclude_from_git(root)
        try:
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
        except sqlite3.Error as error:
            raise _store_error(path, error) from None
        try:
            connection.execute("PRAGMA journal_mode=WAL").fetchone()
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            _migrate(connection, path)
        except sqlite3.Error as error:
            connection.close()
            raise _store_error(path, error) from None
        except StoreError:
            connection.close()
            raise
        return cls(connection, path)

    def close(self) -> None:
        """Close the connection (everything is already committed)."""
        self.connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction (or part of the open `batch`); sqlite failures (disk
        full, read-only) → StoreError."""
        if self._batching:
            yield self.connection
            return
        try:
            with self.connection:
                yield self.connection
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as error:
            raise _store_error(self.path, error) from None

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Make every write inside one transaction, committed at the end (or none of it)."""
        if self._batching:
            yield
            return
        self._batching = True
        try:
            with self.connection:
                yield
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as error:
            raise _store_error(self.path, error) from None
        finally:
            self._batching = False

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        try:
            return self.connection.execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise _store_error(self.path, error) from None

    def new_run(self, plan_path: str, tasks: Sequence[TaskSpec], slots: int, now: float) -> str:
        """Record a new run with its tasks `pending`; returns the run id."""
        for _ in range(8):
            run_id = new_run_id(now)
            try:
                with self._writing() as db:
                    db.execute(
                        "INSERT INTO runs (id, plan_path, started_at, finished_at, status, slots,"
                        " pid, host) VALUES (?, ?, ?, NULL, ?, ?, ?, ?)",
                        (run_id, plan_path, now, RUNNING, slots, os.getpid(), socket.gethostname()),
                    )
                    _insert_tasks(db, run_id, tasks)
            except sqlite3.IntegrityError:
                if self._query("SELECT 1 FROM runs WHERE id = ?", (run_id,)):
                    continue  # two runs in one second drew the same tail: draw again
                raise
            return run_id
        raise RuntimeError("could not draw a fresh run id")  # pragma: no cover

    def add_tasks(self, run_id: str, tasks: Sequence[TaskSpec]) -> None:
        """Add tasks new in the plan to a resumed run; known ones get the new title and hash."""
        with self._writing() as db:
            db.executemany(
                "INSERT INTO tasks (run_id, task_id, title, state, text_hash)"
                " VALUES (?, ?, ?, 'pending', ?) ON CONFLICT (run_id, task_id)"
                " DO UPDATE SET title = excluded.title, text_hash = excluded.text_hash",
                [(run_id, task_id, title, text_hash) for task_id, title, text_hash in tasks],
            )

    def drop_tasks(self, run_id: str, task_ids: Sequence[str]) -> None:
        """Forget tasks removed from the plan (with their attempts) when a run is resumed."""
        with self._writing() as db:
            db.executemany(
                "DELETE FROM tasks WHERE run_id = ? AND task_id = ?",
                [(run_id, task_id) for task_id in task_ids],
            )

    def set_task_state(
        self, run_id: str, task_id: str, state: str, reason: str, attempts: int
    ) -> None:
        """Save a task's new state.

        Raises:
            KeyError: The run has no such task (a caller bug).
        """
        with self._writing() as db:
            cursor = db.execute(
                "UPDATE tasks SET state = ?, reason = ?, attempts = ?"
                " WHERE run_id = ? AND task_id = ?",
                (state, reason, attempts, run_id, task_id),
            )
            if cursor.rowcount != 1:
                raise KeyError(f"run {run_id} has no task {task_id}")

    def attempt_started(
        self,
        run_id: str,
        task_id: str,
        number: int,
        started_at: float,
        pgid: int | None,
        create_time: float | None,
    ) -> None:
        """Record a started attempt (1-based `number`) and the process group it runs in."""
        with self._writing() as db:
            db.execute(
                "INSERT INTO attempts (run_id, task_id, number, started_at, pgid, create_time)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, task_id, number, started_at, pgid, create_time),
            )

    def attempt_identified(
        self, run_id: str, task_id: str, number: int, create_time: float
    ) -> None:
        """Record the creation time of an attempt's process (found after its start)."""
        with self._writing() as db:
            db.execute(
                "UPDATE attempts SET create_time = ? WHERE run_id = ? AND task_id = ?"
                " AND number = ?",
                (create_time, run_id, task_id, number),
            )

    def attempt_regrouped(
        self, run_id: str, task_id: str, number: int, pgid: int, create_time: float | None
    ) -> None:
        """An attempt now runs in another process group (its worktree's setup, the check)."""
        with self._writing() as db:
            db.execute(
                "UPDATE attempts SET pgid = ?, create_time = ? WHERE run_id = ? AND task_id = ?"
                " AND number = ?",
                (pgid, create_time, run_id, task_id, number),
            )

    def attempt_agent(
        self,
        run_id: str,
        task_id: str,
        number: int,
        agent: str,
        session_id: str | None,
        runs_as: str = "",
    ) -> None:
        """Record the agent an attempt runs (and whose program: `runs_as`, for a role) and
        the session it opened (None: not yet)."""
        with self._writing() as db:
            db.execute(
                "UPDATE attempts SET agent = ?, session_id = COALESCE(?, session_id),"
                " runs_as = COALESCE(NULLIF(?, ''), runs_as)"
                " WHERE run_id = ? AND task_id = ? AND number = ?",
                (agent, session_id, runs_as, run_id, task_id, number),
            )

    def attempt_usage(self, run_id: str, task_id: str, number: int, usage: AttemptUsage) -> None:
        """Record the tokens and cost an attempt used so far (replacing the earlier figure)."""
        with self._writing() as db:
            db.execute(
                "UPDATE attempts SET input_tokens = ?, output_tokens = ?, cache_read_tokens = ?,"
                " cache_write_tokens = ?, cost_usd = ?, turns = ?, model = ?"
                " WHERE run_id = ? AND task_id = ? AND number = ?",
                (
                    usage.input_tokens,
                    usage.output_tokens,
                    usage.cache_read_tokens,
                    usage.cache_write_tokens,
                    usage.cost_usd,
                    usage.turns,
                    usage.model,
                    run_id,
                    task_id,
                    number,
                ),
            )

    def attempt_ended(
        self,
        run_id: str,
        task_id: str,
        number: int,
        ended_at: float,
        exit_code: int | None,
        reason: str,
        peak_rss: int | None,
        interrupted: bool = False,
    ) -> None:
        """Record how an attempt ended (`exit_code` None: killed or never exited normally;
        `interrupted`: pmtui ended it, so its session may be continued).

        Raises:
            KeyError: No such attempt was started (a caller bug).
        """
        with self._writing() as db:
            cursor = db.execute(
                "UPDATE attempts SET ended_at = ?, exit_code = ?, reason = ?, peak_rss = ?,"
                " interrupted = ? WHERE run_id = ? AND task_id = ? AND number = ?",
                (ended_at, exit_code, reason, peak_rss, int(interrupted), run_id, task_id, number),
            )
            if cursor.rowcount != 1:
                raise KeyError(f"run {run_id} has no attempt {number} of task {task_id}")

    def finish_run(self, run_id: str, status: str, now: float) -> None:
        """Mark a run finished; it is no longer offered to `--resume`."""
        with self._writing() as db:
            db.execute(
                "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, now, run_id)
            )

    def set_run_status(self, run_id: str, status: str) -> None:
        """Change a run's status but leave it unfinished: an aborted run stays resumable."""
        with self._writing() as db:
            db.execute("UPDATE runs SET status = ? WHERE id = ?", (status, run_id))

    def unfinish_run(self, run_id: str) -> None:
        """Make a finished run resumable again (a conflict resolved after it ended leaves
        skipped dependents for `--resume` to run)."""
        with self._writing() as db:
            db.execute("UPDATE runs SET finished_at = NULL WHERE id = ?", (run_id,))

    def reopen_run(self, run_id: str, slots: int) -> None:
        """Take over an unfinished run for `--resume`: this process is now its pid."""
        with self._writing() as db:
            db.execute(
                "UPDATE runs SET status = ?, slots = ?, pid = ?, host = ? WHERE id = ?",
                (RUNNING, slots, os.getpid(), socket.gethostname(), run_id),
            )

    def run(self, run_id: str) -> RunRecord | None:
        """One run by id."""
        rows = self._query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        return _run(rows[0]) if rows else None

    def last_unfinished_run(self, plan_path: str) -> RunRecord | None:
        """The newest run of the plan that never finished: what `--resume` continues."""
        rows = self._query(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE plan_path = ? AND finished_at IS NULL"
            " ORDER BY started_at DESC, id DESC LIMIT 1",
            (plan_path,),
        )
        return _run(rows[0]) if rows else None

    def unfinished_runs(self) -> list[RunRecord]:
        """Every run that never finished (running, aborted, or its pmtui died), oldest first."""
        rows = self._query(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE finished_at IS NULL ORDER BY started_at, id"
        )
        return [_run(row) for row in rows]

    def runs(self, plan_path: str | None = None, limit: int = 20) -> list[RunRecord]:
        """The newest runs first, of one plan or of all (`pmtui history`)."""
        where, params = ("WHERE plan_path = ?", [plan_path]) if plan_path is not None else ("", [])
        rows = self._query(
            f"SELECT {_RUN_COLUMNS} FROM runs {where} ORDER BY started_at DESC, id DESC LIMIT ?",
            [*params, limit],
        )
        return [_run(row) for row in rows]

    def task_states(self, run_id: str) -> dict[str, TaskRow]:
        """Every task of a run by id, in the order they were recorded (plan order)."""
        rows = self._query(
            "SELECT run_id, task_id, title, state, reason, attempts, text_hash FROM tasks"
            " WHERE run_id = ? ORDER BY rowid",
            (run_id,),
        )
        return {
            str(row[1]): TaskRow(
                str(row[0]),
                str(row[1]),
                str(row[2]),
                str(row[3]),
                str(row[4]),
                _int(row[5]),
                str(row[6]),
            )
            for row in rows
        }

    def attempts(self, run_id: str, *, unended_only: bool = False) -> list[AttemptRecord]:
        """A run's attempts in start order; `unended_only`: those whose end was never saved,
        whose process groups may still be alive after a crash."""
        unended = " AND ended_at IS NULL" if unended_only else ""
        rows = self._query(
            "SELECT run_id, task_id, number, started_at, ended_at, exit_code, reason, peak_rss,"
            " pgid, create_time, agent, session_id, input_tokens, output_tokens,"
            " cache_read_tokens, cache_write_tokens, cost_usd, turns, model, interrupted, runs_as"
            f" FROM attempts WHERE run_id = ?{unended} ORDER BY started_at, rowid",
            (run_id,),
        )
        return [
            AttemptRecord(
                str(row[0]),
                str(row[1]),
                _int(row[2]),
                _float(row[3]),
                _opt_float(row[4]),
                _opt_int(row[5]),
                str(row[6]),
                _opt_int(row[7]),
                _opt_int(row[8]),
                _opt_float(row[9]),
                agent=str(row[10]),
                session_id=None if row[11] is None else str(row[11]),
                usage=_usage(row[12:19]),
                interrupted=bool(row[19]),
                runs_as=str(row[20]),
            )
            for row in rows
        ]

    def merge_state(self, merge: MergeRecord) -> None:
        """Write a merge's journal entry (inserted, or its state updated)."""
        with self._writing() as db:
            db.execute(
                "INSERT INTO merges (run_id, task_id, attempt, branch, old, new, state, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, task_id, attempt, new)"
                " DO UPDATE SET state = excluded.state, at = excluded.at",
                (
                    merge.run_id,
                    merge.task_id,
                    merge.attempt,
                    merge.branch,
                    merge.old,
                    merge.new,
                    merge.state,
                    merge.at,
                ),
            )

    def merges(self, state: str | None = None) -> list[MergeRecord]:
        """The journal, oldest first; only entries in `state` when given."""
        where, params = ("WHERE state = ?", [state]) if state is not None else ("", [])
        rows = self._query(
            "SELECT run_id, task_id, attempt, branch, old, new, state, at FROM merges"
            f" {where} ORDER BY at, rowid",
            params,
        )
        return [
            MergeRecord(
                str(row[0]),
                str(row[1]),
                _int(row[2]),
                str(row[3]),
                str(row[4]),
                str(row[5]),
                str(row[6]),
                _float(row[7]),
            )
            for row in rows
        ]

    def successful_durations(self, plan_path: str, task_id: str, limit: int) -> Sequence[float]:
        """Seconds of the task's last `limit` successful attempts, newest first.

        An attempt counts when it exited 0, it is the last such attempt of its run, and the
        task ended `done` in that run (an isolated task only after its merge landed).
        """
        rows = self._query(
            "SELECT a.ended_at - a.started_at FROM attempts a"
            " JOIN tasks t ON t.run_id = a.run_id AND t.task_id = a.task_id"
            " JOIN runs r ON r.id = a.run_id"
            " WHERE r.plan_path = ? AND a.task_id = ? AND t.state = 'done'"
            " AND a.exit_code = 0 AND a.ended_at IS NOT NULL"
            " AND a.number = (SELECT MAX(b.number) FROM attempts b WHERE b.run_id = a.run_id"
            " AND b.task_id = a.task_id AND b.exit_code = 0)"
            " ORDER BY a.ended_at DESC LIMIT ?",
            (plan_path, task_id, limit),
        )
        return [max(0.0, _float(row[0])) for row in rows]


_RUN_COLUMNS = "id, plan_path, started_at, finished_at, status, slots, pid, host"


def _insert_tasks(db: sqlite3.Connection, run_id: str, tasks: Sequence[TaskSpec]) -> None:
    db.executemany(
        "INSERT INTO tasks (run_id, task_id, title, state, text_hash)"
        " VALUES (?, ?, ?, 'pending', ?)",
        [(run_id, task_id, title, text_hash) for task_id, title, text_hash in tasks],
    )


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to `SCHEMA_VERSION`, one committed step per version."""
    version = _int(connection.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(
            str(path),
            f"was written by a newer pmtui (schema {version}, this one knows {SCHEMA_VERSION})",
            "upgrade pmtui, or move the file away to start a fresh history",
        )
    for step in range(version, SCHEMA_VERSION):
        # executescript commits first and runs outside the implicit transaction, so the
        # step and its version bump go into one explicit transaction.
        connection.executescript(
            f"BEGIN IMMEDIATE;\n{_MIGRATIONS[step]}\nPRAGMA user_version = {step + 1};\nCOMMIT;"
        )


def _store_error(path: Path, error: sqlite3.Error) -> StoreError:
    """Turn a sqlite failure into what the user should do about it."""
    text = str(error)
    if isinstance(error, sqlite3.DatabaseError) and (
        "not a database" in text or "malformed" in text or "corrupt" in text
    ):
        return StoreError(
            str(path),
            f"is not a usable pmtui database ({text})",
            f"move it away (mv {path} {path}.broken) and pmtui starts a fresh history",
        )
    if "readonly" in text or "unable to open" in text or "read-only" in text:
        return StoreError(
            str(path),
            f"cannot be written ({text})",
            "run pmtui in a folder you can write to, or fix the permissions of .pmtui/",
        )
    return StoreError(str(path), f"store failure ({text})", "check the disk and the file")


def _run(row: tuple[object, ...]) -> RunRecord:
    return RunRecord(
        str(row[0]),
        str(row[1]),
        _float(row[2]),
        _opt_float(row[3]),
        str(row[4]),
        _int(row[5]),
        _int(row[6]),
        str(row[7]),
    )


def _usage(row: Sequence[object]) -> AttemptUsage | None:
    """An attempt's usage columns; None when it reported none (all zero, no cost)."""
    usage = AttemptUsage(
        _int(row[0]),
        _int(row[1]),
        _int(row[2]),
        _int(row[3]),
        _opt_float(row[4]),
        _opt_int(row[5]),
        str(row[6]),
    )
    return None if usage == AttemptUsage() else usage


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _float(value: object) -> float:
    assert isinstance(value, int | float)
    return float(value)


def _opt_int(value: object) -> int | None:
    return None if value is None else _int(value)


def _opt_float(value: object) -> float | None:
    return None if value is None else _float(value)
