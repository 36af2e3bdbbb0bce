"""Results in SQLite (embedded, one file): one row per run, keyed by the run id (the config's hash).

A sweep re-run skips run ids already stored. Every write is one transaction, so an interrupted
run never leaves a half-written row and never touches rows already stored.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lifelong.result import Result

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    stream TEXT NOT NULL,
    method TEXT NOT NULL,
    model TEXT NOT NULL,
    seed INTEGER NOT NULL,
    acc REAL, bwt REAL, fwt REAL, forgetting REAL,
    seconds REAL,
    result TEXT NOT NULL
)
"""


class StoreError(ValueError):
    """The store file is unreadable or not a lifelong store."""


class Store:
    """A SQLite file of results; use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path)
            with self._db:
                self._db.execute(SCHEMA)
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{self.path}: not a lifelong results database ({err})") from None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def has(self, run_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is not None

    def put(self, result: Result) -> None:
        """Insert (or replace) one run in a single transaction."""
        data = result.to_dict()
        c, m = data["config"], data["metrics"]
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.run_id, datetime.now(UTC).isoformat(timespec="seconds"), c["stream"], c["method"],
                 c["model"], c["seed"], m["acc"], m["bwt"], m["fwt"], m["forgetting"], data["total_seconds"],
                 json.dumps(data, default=str)),
            )

    def get(self, run_id: str) -> Result:
        row = self._db.execute("SELECT result FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(f"{self.path}: no run {run_id!r}")
        return Result.from_dict(json.loads(row[0]))

    def results(self, **where: Any) -> list[dict[str, Any]]:
        """Stored result dictionaries, optionally filtered on stream, method, model or seed, oldest first."""
        allowed = {"stream", "method", "model", "seed"}
        unknown = set(where) - allowed
        if unknown:
            raise KeyError(f"cannot filter on {sorted(unknown)}; valid: {sorted(allowed)}")
        clause = " AND ".join(f"{k} = ?" for k in where) or "1"
        rows = self._db.execute(f"SELECT result FROM runs WHERE {clause} ORDER BY created, rowid",
                                tuple(where.values())).fetchall()
        return [json.loads(r[0]) for r in rows]

