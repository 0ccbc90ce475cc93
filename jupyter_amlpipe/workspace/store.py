"""The workspace's metadata store: one SQLite database in WAL mode.

Everything a workspace knows that is not a file lives here: datastores,
compute targets, experiments, runs (pipeline runs and step runs), metrics and
the event log that widgets, the CLI and the Lab panel follow. Several
processes (kernels, the CLI, a server) share one database; writers take the
lock with ``BEGIN IMMEDIATE`` and wait up to ``busy_timeout`` for it, so
nobody sees "database is locked" under ordinary contention.

This module is the only one that speaks SQL, so another database can take its
place for teams.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jupyter_amlpipe.errors import LookupFailed

SCHEMA_VERSION = 4

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE datastores (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        config TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE compute_targets (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        config TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE experiments (
        name TEXT PRIMARY KEY,
        created REAL NOT NULL
    );
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        experiment TEXT NOT NULL,
        parent_id TEXT,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        created REAL NOT NULL,
        started REAL,
        ended REAL,
        properties TEXT NOT NULL DEFAULT '{}',
        tags TEXT NOT NULL DEFAULT '{}',
        details TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        runner_pid INTEGER,
        runner_host TEXT,
        runner_start TEXT,
        seq INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX runs_by_experiment ON runs (experiment, created);
    CREATE INDEX runs_by_parent ON runs (parent_id, seq);
    CREATE TABLE metrics (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        ts REAL NOT NULL
    );
    CREATE INDEX metrics_by_run ON metrics (run_id, id);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        root_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX events_by_root ON events (root_id, seq);
    """,
    2: """
    CREATE TABLE reuse_entries (
        key TEXT NOT NULL,
        step_run_id TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (key, step_run_id)
    );
    CREATE INDEX reuse_by_run ON reuse_entries (step_run_id);
    CREATE TABLE digest_cache (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        ctime_ns INTEGER NOT NULL,
        sha256 TEXT NOT NULL
    );
    CREATE INDEX runs_by_name ON runs (experiment, name, kind, created);
    """,
    3: """
    CREATE TABLE published_pipelines (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        created REAL NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE TABLE pipeline_endpoints (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        created REAL NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE TABLE pipeline_endpoint_versions (
        endpoint_id TEXT NOT NULL,
        version TEXT NOT NULL,
        pipeline_id TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (endpoint_id, version)
    );
    CREATE TABLE schedules (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        created REAL NOT NULL,
        doc TEXT NOT NULL,
        last_fired REAL,
        last_state TEXT
    );
    CREATE TABLE tokens (
        name TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        created REAL NOT NULL,
        expires REAL,
        revoked REAL
    );
    CREATE TABLE submissions (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        source TEXT NOT NULL,
        created REAL NOT NULL,
        claimed_by INTEGER,
        doc TEXT NOT NULL
    );
    CREATE INDEX submissions_by_state ON submissions (state, created);
    """,
    4: """
    CREATE TABLE datasets (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        created REAL NOT NULL,
        doc TEXT NOT NULL,
        UNIQUE (name, version)
    );
    """,
}

_PUBLISH_TABLES = ("published_pipelines", "pipeline_endpoints", "schedules")

_JSON_COLUMNS = ("properties", "tags", "details")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


class MetadataStore:
    """Thread-safe access to one workspace database (one connection per thread)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._migrate()

    # -- connections -------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 60000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; the lock is taken at the start, not at first write."""
        conn = self._conn()
        if conn.in_transaction:  # nested: join the outer transaction
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return list(self._conn().execute(sql, params))

    def _migrate(self) -> None:
        conn = self._conn()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        with self.write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target}")

    def schema_version(self) -> int:
        return int(self._conn().execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- named objects: datastores and compute targets ------------------------
    def put_named(self, table: str, name: str, kind: str, config: dict[str, Any]) -> None:
        assert table in ("datastores", "compute_targets")
        with self.write() as conn:
            conn.execute(
                f"INSERT INTO {table} (name, kind, config, created) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, config = excluded.config",
                (name, kind, _dumps(config), time.time()),
            )

    def get_named(self, table: str, name: str) -> dict[str, Any] | None:
        assert table in ("datastores", "compute_targets")
        rows = self._query(f"SELECT name, kind, config FROM {table} WHERE name = ?", (name,))
        if not rows:
            return None
        return {"name": rows[0]["name"], "kind": rows[0]["kind"], "config": json.loads(rows[0]["config"])}

    def list_named(self, table: str) -> list[dict[str, Any]]:
        assert table in ("datastores", "compute_targets")
        rows = self._query(f"SELECT name, kind, config FROM {table} ORDER BY created, name")
        return [{"name": r["name"], "kind": r["kind"], "config": json.loads(r["config"])} for r in rows]

    def delete_named(self, table: str, name: str) -> None:
        assert table in ("datastores", "compute_targets")
        with self.write() as conn:
            conn.execute(f"DELETE FROM {table} WHERE name = ?", (name,))

    # -- experiments -------------------------------------------------------
    def ensure_experiment(self, name: str) -> None:
        with self.write() as conn:
            conn.execute("INSERT OR IGNORE INTO experiments (name, created) VALUES (?, ?)", (name, time.time()))

    def list_experiments(self) -> list[str]:
        return [r["name"] for r in self._query("SELECT name FROM experiments ORDER BY created, name")]

    # -- runs --------------------------------------------------------------
    def insert_runs(self, runs: Sequence[dict[str, Any]]) -> None:
        """Insert run records (a pipeline run and its step runs in one transaction)."""
        now = time.time()
        with self.write() as conn:
            for run in runs:
                conn.execute(
                    "INSERT INTO runs (id, experiment, parent_id, kind, name, status, created, properties, "
                    "tags, details, runner_pid, runner_host, runner_start, seq) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run["id"],
                        run["experiment"],
                        run.get("parent_id"),
                        run["kind"],
                        run["name"],
                        run.get("status", "NotStarted"),
                        run.get("created", now),
                        _dumps(run.get("properties", {})),
                        _dumps(run.get("tags", {})),
                        _dumps(run.get("details", {})),
                        run.get("runner_pid"),
                        run.get("runner_host"),
                        run.get("runner_start"),
                        run.get("seq", 0),
                    ),
                )

    @staticmethod
    def _run_row(row: sqlite3.Row) -> dict[str, Any]:
        out = dict(row)
        for col in _JSON_COLUMNS:
            out[col] = json.loads(out[col])
        return out

    def get_run(self, run_id: str) -> dict[str, Any]:
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise LookupFailed(
                f"No run with id {run_id!r} in this workspace. List runs with: amlpipe runs",
                run_id=run_id,
            )
        return self._run_row(rows[0])

    def find_run(self, run_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        return self._run_row(rows[0]) if rows else None

    def child_runs(self, parent_id: str) -> list[dict[str, Any]]:
        rows = self._query("SELECT * FROM runs WHERE parent_id = ? ORDER BY seq, created", (parent_id,))
        return [self._run_row(r) for r in rows]

    def list_runs(
        self, experiment: str | None = None, kind: str = "pipeline", limit: int | None = None
    ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM runs WHERE kind = ?"
        params: list[Any] = [kind]
        if experiment is not None:
            sql += " AND experiment = ?"
            params.append(experiment)
        sql += " ORDER BY created DESC, id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [self._run_row(r) for r in self._query(sql, params)]

    def update_run(self, run_id: str, conn: sqlite3.Connection | None = None, **fields: Any) -> None:
        if not fields:
            return
        cols = []
        values: list[Any] = []
        for key, value in fields.items():
            cols.append(f"{key} = ?")
            values.append(_dumps(value) if key in _JSON_COLUMNS else value)
        values.append(run_id)
        sql = f"UPDATE runs SET {', '.join(cols)} WHERE id = ?"
        if conn is not None:
            conn.execute(sql, values)
        else:
            with self.write() as c:
                c.execute(sql, values)

    def merge_json(self, run_id: str, column: str, values: dict[str, Any]) -> None:
        """Merge keys into a run's JSON column (properties, tags or details)."""
        assert column in _JSON_COLUMNS
        with self.write() as conn:
            row = conn.execute(f"SELECT {column} FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise LookupFailed(f"No run with id {run_id!r} in this workspace.", run_id=run_id)
            merged = json.loads(row[0])
            merged.update(values)
            conn.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (_dumps(merged), run_id))

    def request_cancel(self, run_id: str) -> None:
        with self.write() as conn:
            conn.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ? OR parent_id = ?", (run_id, run_id))

    def cancel_requested(self, run_id: str) -> bool:
        rows = self._query("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,))
        return bool(rows and rows[0][0])

    # -- metrics -----------------------------------------------------------
    def add_metrics(
        self, records: Sequence[tuple[str, str, str, Any, float]], conn: sqlite3.Connection | None = None
    ) -> None:
        """Add ``(run_id, name, kind, value, ts)`` metric records."""
        rows = [(r, n, k, _dumps(v), t) for (r, n, k, v, t) in records]
        if conn is not None:
            conn.executemany("INSERT INTO metrics (run_id, name, kind, value, ts) VALUES (?, ?, ?, ?, ?)", rows)
            return
        with self.write() as c:
            c.executemany("INSERT INTO metrics (run_id, name, kind, value, ts) VALUES (?, ?, ?, ?, ?)", rows)

    def copy_metrics(self, source_run: str, target_run: str, conn: sqlite3.Connection | None = None) -> None:
        sql = (
            "INSERT INTO metrics (run_id, name, kind, value, ts) "
            "SELECT ?, name, kind, value, ts FROM metrics WHERE run_id = ? ORDER BY id"
        )
        if conn is not None:
            conn.execute(sql, (target_run, source_run))
            return
        with self.write() as c:
            c.execute(sql, (target_run, source_run))

    def metrics(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._query("SELECT name, kind, value, ts FROM metrics WHERE run_id = ? ORDER BY id", (run_id,))
        return [{"name": r["name"], "kind": r["kind"], "value": json.loads(r["value"]), "ts": r["ts"]} for r in rows]

    # -- events ------------------------------------------------------------
    def add_events(
        self, events: Sequence[tuple[str, str, str, dict[str, Any]]], conn: sqlite3.Connection | None = None
    ) -> None:
        """Append ``(root_id, run_id, kind, data)`` events."""
        now = time.time()
        rows = [(now, root, run, kind, _dumps(data)) for (root, run, kind, data) in events]
        if conn is not None:
            conn.executemany("INSERT INTO events (ts, root_id, run_id, kind, data) VALUES (?, ?, ?, ?, ?)", rows)
            return
        with self.write() as c:
            c.executemany("INSERT INTO events (ts, root_id, run_id, kind, data) VALUES (?, ?, ?, ?, ?)", rows)

    def last_event_seq(self) -> int:
        """The sequence number of the newest event (0 when there is none): a cursor for ``events(after=...)``."""
        rows = self._query("SELECT MAX(seq) FROM events")
        return int(rows[0][0] or 0) if rows else 0

    def events(self, root_id: str | None = None, after: int = 0, limit: int = 10000) -> list[dict[str, Any]]:
        """Events after sequence number ``after`` (of one pipeline run, or all)."""
        if root_id is None:
            rows = self._query("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
        else:
            rows = self._query(
                "SELECT * FROM events WHERE root_id = ? AND seq > ? ORDER BY seq LIMIT ?", (root_id, after, limit)
            )
        return [
            {
                "seq": r["seq"],
                "ts": r["ts"],
                "root_id": r["root_id"],
                "run_id": r["run_id"],
                "kind": r["kind"],
                "data": json.loads(r["data"]),
            }
            for r in rows
        ]

    # -- reuse ---------------------------------------------------------------
    def add_reuse_entry(self, key: str, step_run_id: str, conn: sqlite3.Connection | None = None) -> None:
        sql = "INSERT OR IGNORE INTO reuse_entries (key, step_run_id, created) VALUES (?, ?, ?)"
        if conn is not None:
            conn.execute(sql, (key, step_run_id, time.time()))
            return
        with self.write() as c:
            c.execute(sql, (key, step_run_id, time.time()))

    def reuse_candidates(self, key: str) -> list[str]:
        """Step runs recorded under a reuse key, oldest first."""
        rows = self._query("SELECT step_run_id FROM reuse_entries WHERE key = ? ORDER BY created", (key,))
        return [r[0] for r in rows]

    def delete_reuse_entries(self, step_run_ids: Sequence[str]) -> None:
        with self.write() as conn:
            conn.executemany("DELETE FROM reuse_entries WHERE step_run_id = ?", [(i,) for i in step_run_ids])

    def reuse_entry_runs(self) -> set[str]:
        return {r[0] for r in self._query("SELECT DISTINCT step_run_id FROM reuse_entries")}

    def earlier_step_runs(self, experiment: str, name: str, before: float, limit: int = 20) -> list[dict[str, Any]]:
        """Earlier step runs of the same step name in an experiment, newest first."""
        rows = self._query(
            "SELECT * FROM runs WHERE experiment = ? AND name = ? AND kind = 'step' AND created < ? "
            "AND status = 'Finished' ORDER BY created DESC LIMIT ?",
            (experiment, name, before, limit),
        )
        return [self._run_row(r) for r in rows]

    # -- content digests (stat cache) -------------------------------------------
    def cached_digests(self, prefix: str) -> dict[str, tuple[int, int, int, int, str]]:
        """Cached ``path -> (size, mtime_ns, inode, ctime_ns, sha256)`` for paths under ``prefix``."""
        rows = self._query(
            "SELECT path, size, mtime_ns, inode, ctime_ns, sha256 FROM digest_cache WHERE path >= ? AND path < ?",
            (prefix, prefix + "\uffff"),
        )
        return {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in rows}

    def put_digests(self, entries: Sequence[tuple[str, int, int, int, int, str]]) -> None:
        if not entries:
            return
        with self.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO digest_cache (path, size, mtime_ns, inode, ctime_ns, sha256) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                entries,
            )

    # -- published pipelines, endpoints, schedules (one JSON document each) ---------------
    @staticmethod
    def _doc_row(row: sqlite3.Row) -> dict[str, Any]:
        out = dict(row)
        out["doc"] = json.loads(out["doc"])
        return out

    def put_doc(self, table: str, id: str, name: str, status: str, doc: dict[str, Any]) -> None:
        """Insert or replace one published pipeline, endpoint or schedule."""
        assert table in _PUBLISH_TABLES
        with self.write() as conn:
            conn.execute(
                f"INSERT INTO {table} (id, name, status, created, doc) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET name = excluded.name, status = excluded.status, doc = excluded.doc",
                (id, name, status, time.time(), _dumps(doc)),
            )

    def get_doc(self, table: str, id: str) -> dict[str, Any] | None:
        assert table in _PUBLISH_TABLES
        rows = self._query(f"SELECT * FROM {table} WHERE id = ?", (id,))
        return self._doc_row(rows[0]) if rows else None

    def find_docs(self, table: str, name: str) -> list[dict[str, Any]]:
        assert table in _PUBLISH_TABLES
        rows = self._query(f"SELECT * FROM {table} WHERE name = ? ORDER BY created, id", (name,))
        return [self._doc_row(r) for r in rows]

    def list_docs(self, table: str) -> list[dict[str, Any]]:
        assert table in _PUBLISH_TABLES
        return [self._doc_row(r) for r in self._query(f"SELECT * FROM {table} ORDER BY created, id")]

    def set_doc_status(self, table: str, id: str, status: str) -> bool:
        assert table in _PUBLISH_TABLES
        with self.write() as conn:
            cur = conn.execute(f"UPDATE {table} SET status = ? WHERE id = ?", (status, id))
        return cur.rowcount > 0

    def update_doc(self, table: str, id: str, values: dict[str, Any]) -> None:
        """Merge keys into one document."""
        assert table in _PUBLISH_TABLES
        with self.write() as conn:
            row = conn.execute(f"SELECT doc FROM {table} WHERE id = ?", (id,)).fetchone()
            if row is None:
                raise LookupFailed(f"No {table[:-1].replace('_', ' ')} with id {id!r}.", id=id)
            doc = json.loads(row[0])
            doc.update(values)
            conn.execute(f"UPDATE {table} SET doc = ? WHERE id = ?", (_dumps(doc), id))

    def modify_doc(self, table: str, id: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Read one published pipeline, endpoint or schedule and store what ``change`` altered, in one transaction.

        ``change`` gets the row as :meth:`get_doc` returns it (read inside the write transaction, so nobody
        writes in between) and edits it in place: ``name``, ``status``, ``doc`` and, for schedules,
        ``last_fired`` and ``last_state`` (a dict or its JSON). Only the columns it changed are written.
        Returns the row as stored; raises LookupFailed if there is no such row.
        """
        assert table in _PUBLISH_TABLES
        editable = ("name", "status", "doc") + (("last_fired", "last_state") if table == "schedules" else ())
        with self.write() as conn:
            row = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (id,)).fetchone()
            if row is None:
                raise LookupFailed(f"No {table[:-1].replace('_', ' ')} with id {id!r}.", id=id)
            record = self._doc_row(row)
            before = copy.deepcopy(record)
            change(record)
            if isinstance(record.get("last_state"), dict):
                record["last_state"] = _dumps(record["last_state"])
            changed = [c for c in editable if record.get(c) != before.get(c)]
            if changed:
                values = [_dumps(record[c]) if c == "doc" else record[c] for c in changed]
                assignments = ", ".join(f"{c} = ?" for c in changed)
                conn.execute(f"UPDATE {table} SET {assignments} WHERE id = ?", (*values, id))
        return record

    # -- endpoint versions -----------------------------------------------------------------
    def add_endpoint_version(self, endpoint_id: str, pipeline_id: str) -> str:
        """Add a published pipeline to an endpoint as its next version ("0", "1", ...); return the version."""
        with self.write() as conn:
            count = conn.execute(
                "SELECT COUNT(*) FROM pipeline_endpoint_versions WHERE endpoint_id = ?", (endpoint_id,)
            ).fetchone()[0]
            version = str(count)
            conn.execute(
                "INSERT INTO pipeline_endpoint_versions (endpoint_id, version, pipeline_id, created) "
                "VALUES (?, ?, ?, ?)",
                (endpoint_id, version, pipeline_id, time.time()),
            )
        return version

    def endpoint_versions(self, endpoint_id: str) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT version, pipeline_id, created FROM pipeline_endpoint_versions WHERE endpoint_id = ? "
            "ORDER BY CAST(version AS INTEGER)",
            (endpoint_id,),
        )
        return [dict(r) for r in rows]

    # -- schedules' last fired state -----------------------------------------------------------
    def set_schedule_state(self, id: str, last_fired: float | None, last_state: dict[str, Any] | None) -> None:
        with self.write() as conn:
            conn.execute(
                "UPDATE schedules SET last_fired = ?, last_state = ? WHERE id = ?",
                (last_fired, None if last_state is None else _dumps(last_state), id),
            )

    # -- tokens (only their SHA-256 is stored) ----------------------------------------------------
    def add_token(self, name: str, sha256: str, expires: float | None) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO tokens (name, sha256, created, expires) VALUES (?, ?, ?, ?)",
                (name, sha256, time.time(), expires),
            )

    def has_token(self, name: str) -> bool:
        return bool(self._query("SELECT 1 FROM tokens WHERE name = ?", (name,)))

    def token_by_hash(self, sha256: str) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM tokens WHERE sha256 = ?", (sha256,))
        return dict(rows[0]) if rows else None

    def list_tokens(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._query("SELECT name, created, expires, revoked FROM tokens ORDER BY created")]

    def revoke_token(self, name: str) -> bool:
        with self.write() as conn:
            cur = conn.execute("UPDATE tokens SET revoked = ? WHERE name = ? AND revoked IS NULL", (time.time(), name))
        return cur.rowcount > 0

    # -- the submissions queue -----------------------------------------------------------------
    def enqueue(self, placeholder: dict[str, Any], source: str, doc: dict[str, Any]) -> None:
        """Queue a submission and its pipeline run record (status Queued) in one transaction."""
        with self.write() as conn:
            self.insert_runs([placeholder])
            conn.execute(
                "INSERT INTO submissions (id, state, source, created, doc) VALUES (?, 'queued', ?, ?, ?)",
                (placeholder["id"], source, time.time(), _dumps(doc)),
            )

    def submissions(self, state: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM submissions"
        params: list[Any] = []
        if state is not None:
            sql += " WHERE state = ?"
            params.append(state)
        rows = self._query(sql + " ORDER BY created, id", params)
        return [self._doc_row(r) for r in rows]

    def claim_submission(self, id: str, pid: int) -> bool:
        """Take a queued submission for this process; False when another process took it first."""
        with self.write() as conn:
            cur = conn.execute(
                "UPDATE submissions SET state = 'running', claimed_by = ? WHERE id = ? AND state = 'queued'", (pid, id)
            )
        return cur.rowcount > 0

    def set_submission_state(self, id: str, state: str) -> None:
        with self.write() as conn:
            conn.execute("UPDATE submissions SET state = ? WHERE id = ?", (state, id))

    # -- registered datasets (one row per version) -----------------------------------------
    def add_dataset_version(self, id: str, name: str, doc: dict[str, Any]) -> int:
        """Register a new version of dataset ``name`` (1, 2, ...) and return its number."""
        with self.write() as conn:
            row = conn.execute("SELECT MAX(version) FROM datasets WHERE name = ?", (name,)).fetchone()
            version = int(row[0] or 0) + 1
            conn.execute(
                "INSERT INTO datasets (id, name, version, created, doc) VALUES (?, ?, ?, ?, ?)",
                (id, name, version, time.time(), _dumps(doc)),
            )
        return version

    def dataset_versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of dataset ``name``, oldest first."""
        rows = self._query("SELECT * FROM datasets WHERE name = ? ORDER BY version", (name,))
        return [self._doc_row(r) for r in rows]

    def get_dataset(self, id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM datasets WHERE id = ?", (id,))
        return self._doc_row(rows[0]) if rows else None

    def list_datasets(self) -> list[dict[str, Any]]:
        """The latest version of every registered dataset, by name."""
        rows = self._query(
            "SELECT * FROM datasets d WHERE version = (SELECT MAX(version) FROM datasets WHERE name = d.name) "
            "ORDER BY name"
        )
        return [self._doc_row(r) for r in rows]

    def replace_run_records(self, runs: Sequence[dict[str, Any]]) -> None:
        """Replace a queued pipeline run's placeholder record with its full records, in one transaction."""
        with self.write() as conn:
            conn.execute("DELETE FROM runs WHERE id = ?", (runs[0]["id"],))
            self.insert_runs(runs)
