"""Results in SQLite (embedded, one file): one row per run, keyed by the run id (the config's hash).

Schema version 2 (``PRAGMA user_version``): each row has a status — ``running`` from the first step,
then ``finished`` or ``failed`` with its one-line cause — start and end times, the host and the
library version, the fingerprint of the package source that computed it (``code``), the project's
git revision where known, and the process that holds a running row (``owner``, ``host:pid``). Only
finished rows are results: a re-run skips them and retries the others. A finished row whose ``code``
differs from the running code's is *stale*: reported, and redone on request (``--rerun-stale``).

Several processes may write one store at once (WAL journal, a 30 s busy timeout, a run claimed in one
``BEGIN IMMEDIATE`` transaction so two sweeps never train one run twice). SQLite over a network file
system is not safe: a sweep's driver alone writes, workers on other machines only return results.

A store is checked before anything is written: a file that is not SQLite, that holds tables other
than lifelong's, or whose version this code does not know is refused and left byte for byte as it
was. A version-1 store (no status), or a version-2 store from before ``code``/``git``/``owner``
existed, is read as it is and migrated in place on the first write, in one transaction. Opening a
store writes nothing; a store opened ``readonly`` (``report``) never writes. Every write is one
transaction, so an interrupted run never leaves a half-written row.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lifelong.environment import code_fingerprint, git_revision, library_version
from lifelong.errors import StoreError, one_line
from lifelong.result import Result

VERSION = 2
APPLICATION_ID = 0x4C4C7275  # "LLru": marks the file as a lifelong store for `file` and other tools
V1_COLUMNS = ("run_id", "created", "stream", "method", "model", "seed", "acc", "bwt", "fwt", "forgetting", "seconds",
              "result")
V2_ADDED = {"status": "TEXT NOT NULL DEFAULT 'finished'", "message": "TEXT", "started": "TEXT", "ended": "TEXT",
            "host": "TEXT", "version": "TEXT", "code": "TEXT", "git": "TEXT", "owner": "TEXT"}
V2_COLUMNS = (*V1_COLUMNS, *V2_ADDED)
# Version-2 stores written before code, git and owner were recorded: migrated by adding those columns.
V2_EARLY_COLUMNS = V2_COLUMNS[:-3]
SCHEMA = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    stream TEXT NOT NULL,
    method TEXT NOT NULL,
    model TEXT NOT NULL,
    seed INTEGER NOT NULL,
    acc REAL, bwt REAL, fwt REAL, forgetting REAL,
    seconds REAL,
    result TEXT NOT NULL,
""" + ",\n".join(f"    {name} {kind}" for name, kind in V2_ADDED.items()) + "\n)"
SQLITE_MAGIC = b"SQLite format 3\x00"
FILTERS = ("stream", "method", "model", "seed")
RESULT_KEYS = ("config", "matrix", "rows_after", "metrics", "seconds", "total_seconds", "parameters", "method_bytes",
               "peak_rss_mb", "environment")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def check_writable(path: str | Path, what: str = "file") -> None:
    """Refuse a target that cannot be written, before any work: a missing folder, a folder in the
    file's place, or a file (or folder) without write permission. Mode bits count even for root, who
    could write anyway: a user who marked a file read-only does not want it written."""
    p = Path(path)
    if p.is_dir():
        raise StoreError(f"{p}: is a folder, not a {what}")
    if p.exists():
        if not os.access(p, os.W_OK) or not p.stat().st_mode & 0o222:
            raise StoreError(f"{p}: the {what} is read-only")
        return
    folder = p.parent
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"{p}: {folder} is not a folder")
    if not folder.is_dir():
        raise StoreError(f"{p}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or not folder.stat().st_mode & 0o222:
        raise StoreError(f"{p}: folder {folder} is read-only")


class Store:
    """A SQLite file of results; use as a context manager or call :meth:`close`.

    Args:
        path: the file; it need not exist yet (it is created on the first write).
        readonly: open for reading only (the file must exist; nothing is ever written).
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._db: sqlite3.Connection | None = None
        self.version = 0  # 0: no file yet; 1 or 2 once opened
        self._missing: tuple[str, ...] = ()  # columns of V2_COLUMNS this file lacks (added on the first write)
        self._wal = False  # the journal is switched to WAL on the first write (it then stays so in the file)
        if readonly and not self.path.exists():
            raise StoreError(f"{self.path}: results store does not exist")
        if not readonly:
            check_writable(self.path, "results store")
        if self.path.exists():
            self._open_existing()

    def _open_existing(self) -> None:
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a folder, not a results store")
        try:
            with self.path.open("rb") as f:
                head = f.read(len(SQLITE_MAGIC))
        except OSError as err:
            raise StoreError(f"{self.path}: cannot read the results store ({err.strerror})") from None
        if not head:  # an empty file, e.g. from `touch`: a new store
            return
        if head != SQLITE_MAGIC:
            raise StoreError(f"{self.path}: not a lifelong results database (not a SQLite file)")
        try:
            with contextlib.closing(self._read_only()) as db:
                tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                    "AND name NOT LIKE 'sqlite_%'")}
                version = db.execute("PRAGMA user_version").fetchone()[0]
                columns = tuple(r[1] for r in db.execute("PRAGMA table_info(runs)"))
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{self.path}: not a lifelong results database ({one_line(err)})") from None
        if version > VERSION:
            raise StoreError(f"{self.path}: store version {version} is newer than this lifelong knows ({VERSION}); "
                             "upgrade lifelong to read it")
        if not tables and version == 0:
            return
        if tables != {"runs"}:
            others = ", ".join(sorted(tables - {"runs"})) or "no runs table"
            raise StoreError(f"{self.path}: not a lifelong results database (it holds other tables: {others}); "
                             "refusing to touch it")
        known = (V2_COLUMNS, V2_EARLY_COLUMNS) if version == VERSION else (V1_COLUMNS,)
        if columns not in known or version not in (0, VERSION):
            raise StoreError(f"{self.path}: not a lifelong results database (its runs table has columns "
                             f"{', '.join(columns)})")
        self.version = VERSION if version == VERSION else 1
        self._missing = V2_COLUMNS[len(columns):]
        self._db = self._read_only() if self.readonly else sqlite3.connect(self.path, timeout=30)

    def _read_only(self) -> sqlite3.Connection:
        """A connection that cannot write, create or migrate anything."""
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- reading ---------------------------------------------------------------------------------------
    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self._db is None:
            return []
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{self.path}: cannot read the results store ({one_line(err)})") from None

    @property
    def _status(self) -> str:
        """The status column, or its value in a version-1 store (no status: every row is a finished run)."""
        return "status" if self.version == VERSION else "'finished'"

    def _column(self, name: str) -> str:
        """A column, or NULL where this file does not have it yet (an older store, read before migrating)."""
        return "NULL" if self.version != VERSION or name in self._missing else name

    def has(self, run_id: str, *, rerun_stale: bool = False) -> bool:
        """Whether a finished run with this id is stored (running and failed runs are redone; with
        ``rerun_stale``, so are finished runs computed by other code)."""
        fresh = f" AND {self._column('code')} IS ?" if rerun_stale else ""
        args = (run_id, code_fingerprint()) if rerun_stale else (run_id,)
        return bool(self._query(f"SELECT 1 FROM runs WHERE run_id = ? AND {self._status} = 'finished'{fresh}", args))

    def stale(self, run_ids: Any = None) -> list[str]:
        """Finished runs (of ``run_ids``, or all) computed by code other than this one's, or by a
        lifelong that did not record its code."""
        rows = self._query(f"SELECT run_id FROM runs WHERE {self._status} = 'finished' "
                           f"AND {self._column('code')} IS NOT ?", (code_fingerprint(),))
        wanted = None if run_ids is None else set(run_ids)
        return [r[0] for r in rows if wanted is None or r[0] in wanted]

    def status(self, run_id: str) -> tuple[str, str | None] | None:
        """(status, message) of a stored run, or None."""
        rows = self._query(f"SELECT {self._status}, {self._column('message')} FROM runs WHERE run_id = ?", (run_id,))
        return (rows[0][0], rows[0][1]) if rows else None

    def get(self, run_id: str) -> Result:
        rows = self._query(f"SELECT result FROM runs WHERE run_id = ? AND {self._status} = 'finished'", (run_id,))
        if not rows:
            raise StoreError(f"{self.path}: no finished run {run_id!r}")
        return Result.from_dict(self._decode(run_id, rows[0][0]))

    def results(self, **where: Any) -> list[dict[str, Any]]:
        """Finished result dictionaries, optionally filtered on stream, method, model or seed, oldest first."""
        unknown = set(where) - set(FILTERS)
        if unknown:
            raise KeyError(f"cannot filter on {sorted(unknown)}; valid: {sorted(FILTERS)}")
        clause = "".join(f" AND {k} = ?" for k in where)
        rows = self._query(f"SELECT run_id, result FROM runs WHERE {self._status} = 'finished'{clause} "
                           "ORDER BY created, rowid", tuple(where.values()))
        return [self._decode(run_id, text) for run_id, text in rows]

    def unfinished(self) -> list[tuple[str, str, int, str, str | None]]:
        """(run id, method, seed, status, message) of every run not finished (running or failed)."""
        return [tuple(r) for r in self._query(
            f"SELECT run_id, method, seed, {self._status}, {self._column('message')} FROM runs "
            f"WHERE {self._status} != 'finished' ORDER BY created, rowid")]

    def counts(self) -> dict[str, int]:
        """How many runs are stored in each status."""
        return dict(self._query(f"SELECT {self._status}, COUNT(*) FROM runs GROUP BY {self._status}"))

    def _decode(self, run_id: str, text: str) -> dict[str, Any]:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError) as err:
            raise StoreError(f"{self.path}: run {run_id}: the stored result is not valid JSON ({err})") from None
        missing = [k for k in RESULT_KEYS if not isinstance(data, dict) or k not in data]
        if missing:
            raise StoreError(f"{self.path}: run {run_id}: the stored result lacks {', '.join(missing)}")
        return dict(data)

    # -- writing ---------------------------------------------------------------------------------------
    def _writer(self) -> sqlite3.Connection:
        """The connection for writing: creates a new store, or migrates a version-1 one, on first use."""
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only")
        if self._db is None:
            self._db = sqlite3.connect(self.path, timeout=30)
        if self.version == VERSION and not self._missing and self._wal:
            return self._db
        try:
            self._db.execute("PRAGMA journal_mode = WAL")  # readers and writers of several processes at once
            self._wal = True
            if self.version == VERSION and not self._missing:
                return self._db
            with self._db:
                # Another process may be creating or migrating the same store right now: the columns are read
                # again under the write lock, and only what is still missing is made.
                self._db.execute("BEGIN IMMEDIATE")
                columns = [r[1] for r in self._db.execute("PRAGMA table_info(runs)")]
                if not columns:
                    self._db.execute(SCHEMA)
                for name in V2_COLUMNS[len(columns):] if columns else ():
                    self._db.execute(f"ALTER TABLE runs ADD COLUMN {name} {V2_ADDED[name]}")
                self._db.execute(f"PRAGMA user_version = {VERSION}")
                self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{self.path}: cannot write the results store ({one_line(err)})") from None
        self.version, self._missing = VERSION, ()
        return self._db

    def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        db = self._writer()
        try:
            with db:
                db.execute(sql, args)
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{self.path}: cannot write the results store ({one_line(err)})") from None

    def _owner(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    def start(self, config: dict[str, Any], run_id: str) -> None:
        """Record a run as ``running`` by this process (its config stands in for the result until it ends)."""
        self._write(
            "INSERT OR REPLACE INTO runs (run_id, created, stream, method, model, seed, result, status, started, host, "
            "version, code, git, owner) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
            (run_id, _now(), config["stream"], config["method"], config["model"], config["seed"],
             json.dumps({"config": {**config, "run_id": run_id}}, default=str), _now(), socket.gethostname(),
             library_version(), code_fingerprint(), git_revision(), self._owner()),
        )

    def claim(self, config: dict[str, Any], run_id: str, *, rerun_stale: bool = False) -> str:
        """Take a run for this process, atomically: ``"claimed"`` (now ``running``, ours), ``"finished"``
        (stored already; with ``rerun_stale`` only if computed by this code) or ``"taken"`` (``running``
        in a live process: on this host a pid that exists, on another host any owner).

        The read and the write are one ``BEGIN IMMEDIATE`` transaction, so of two processes claiming
        the same run exactly one gets it.
        """
        db = self._writer()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT status, code, owner FROM runs WHERE run_id = ?", (run_id,)).fetchone()
                if row is not None and row[0] == "finished" and not (rerun_stale and row[1] != code_fingerprint()):
                    db.rollback()
                    return "finished"
                if row is not None and row[0] == "running" and _alive(row[2]) and row[2] != self._owner():
                    db.rollback()
                    return "taken"
                self.start(config, run_id)  # inside the open transaction: `with db` commits it
            except BaseException:
                db.rollback()
                raise
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{self.path}: cannot write the results store ({one_line(err)})") from None
        return "claimed"

    def put(self, result: Result, *, status: str = "finished", message: str | None = None) -> None:
        """Store a run's result (``finished``, or ``failed`` with the rows it finished) in one transaction."""
        data = result.to_dict()
        c, m = data["config"], data["metrics"]
        self._writer()
        started = self.status(result.run_id) is not None
        code = result.environment.get("code", code_fingerprint())
        self._write(
            "INSERT INTO runs (run_id, created, stream, method, model, seed, acc, bwt, fwt, forgetting, seconds, "
            f"result, status, message, started, ended, host, version, code, git, owner) VALUES ({', '.join('?' * 21)}) "
            "ON CONFLICT(run_id) DO UPDATE SET acc = excluded.acc, bwt = excluded.bwt, fwt = excluded.fwt, "
            "forgetting = excluded.forgetting, seconds = excluded.seconds, result = excluded.result, "
            "status = excluded.status, message = excluded.message, ended = excluded.ended, host = excluded.host, "
            "version = excluded.version, code = excluded.code, git = excluded.git, owner = NULL",
            (result.run_id, _now(), c["stream"], c["method"], c["model"], c["seed"], m["acc"], m["bwt"], m["fwt"],
             m["forgetting"], data["total_seconds"], json.dumps(data, default=str), status, message,
             None if started else _now(), _now(), result.environment.get("host", socket.gethostname()),
             result.environment.get("lifelong", library_version()), code,
             result.environment.get("git", git_revision()), None),
        )

    def fail(self, run_id: str, message: str, result: Result | None = None) -> None:
        """Mark a run ``failed`` with its one-line cause, keeping what it measured (if anything)."""
        if result is not None:
            self.put(result, status="failed", message=message)
            return
        self._write("UPDATE runs SET status = 'failed', message = ?, ended = ?, owner = NULL WHERE run_id = ?",
                    (message, _now(), run_id))


def _alive(owner: str | None) -> bool:
    """Whether the process named ``host:pid`` may still be running: on this host, its pid exists; a
    process on another host cannot be checked from here, so it counts as alive."""
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True
