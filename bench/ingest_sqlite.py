"""The raw limit of ingest on SQLite, for `ingest.py`: the rows the service writes, written with the standard
library's `sqlite3` and `executemany`, no HTTP, no ORM, no Python work per job past the value conversion done
before the clock starts.

Per batch of 10,000 jobs (the service's chunk), one transaction (`BEGIN IMMEDIATE`, as the service's writers):
`executemany` of `INSERT INTO jobs … ON CONFLICT (job_id) DO NOTHING`, `executemany` of the snapshots into a
temporary table, one `INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE` per rollup grain (the very statements of
`synthetic.RawWriter`), the snapshot insert from the temporary table. The connection has the app's pragmas (WAL,
foreign keys on, `synchronous=NORMAL`). The values are those SQLAlchemy binds for the app's column types on this
dialect (its own bind processors: UUIDs as 32 hex digits, timestamps as UTC text, labels as JSON text), so the rows
are the service's to the byte (`ingest_rows` compares them).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import synthetic as s

from app.db.engine import SQLITE_WAL_LIMIT_BYTES, create_engine
from app.db.staging import STAGED_JOBS, STAGED_SNAPSHOTS

_JOB_NAMES, _SNAPSHOT_NAMES = ", ".join(s.JOB_COLUMNS), ", ".join(s.SNAPSHOT_COLUMNS)
_JOB_MARKS, _SNAPSHOT_MARKS = ", ".join("?" * len(s.JOB_COLUMNS)), ", ".join("?" * len(s.SNAPSHOT_COLUMNS))
_JOB_INSERT = f"INSERT INTO jobs ({_JOB_NAMES}) VALUES ({_JOB_MARKS}) ON CONFLICT (job_id) DO NOTHING"  # noqa: S608
_STAGE = f"INSERT INTO bench_staged_snapshots ({_SNAPSHOT_NAMES}) VALUES ({_SNAPSHOT_MARKS})"  # noqa: S608


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _processors(url: str) -> tuple[list[Callable[[Any], Any] | None], list[Callable[[Any], Any] | None]]:
    """SQLAlchemy's bind processors on this dialect for the columns of a staged job row and staged snapshot (the
    service's staging tables: money as its micro-USD integer, status as its text)."""
    engine = create_engine(s.bench_settings(url))
    dialect = engine.sync_engine.dialect
    try:
        jobs = [STAGED_JOBS.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in s.JOB_COLUMNS]
        snapshots = [STAGED_SNAPSHOTS.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                     for name in s.SNAPSHOT_COLUMNS]
    finally:
        engine.sync_engine.dispose()
    return jobs, snapshots


def _convert(row: tuple[Any, ...], processors: list[Callable[[Any], Any] | None]) -> tuple[Any, ...]:
    return tuple(value if process is None or value is None else process(value)
                 for value, process in zip(row, processors, strict=True))


def sqlite_batches(batches: list[s.Batch], url: str) -> list[s.Batch]:
    """`batches` (rows as `prepare_batch` makes them for PostgreSQL's COPY) as SQLite takes them."""
    jobs, snapshots = _processors(url)
    labels = s.JOB_COLUMNS.index("labels")
    converted = []
    for batch in batches:
        rows = [(*row[:labels], json.loads(row[labels]), *row[labels + 1:]) for row in batch.jobs]
        converted.append(s.Batch([_convert(row, jobs) for row in rows],
                                 [_convert(row, snapshots) for row in batch.snapshots]))
    return converted


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the app's pragmas (`app/db/engine.py`), transactions left to the caller."""
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000", "synchronous=NORMAL",
                   f"journal_size_limit={SQLITE_WAL_LIMIT_BYTES}"):
        connection.execute(f"PRAGMA {pragma}")
    return connection


def checkpoint(path: Path) -> None:
    """Fold the WAL into the database file, so each measurement starts from the same place."""
    connection = connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


class SqliteRawWriter:
    """Writes converted `Batch`es (`sqlite_batches`) to the SQLite file at `path`; `seconds` by step."""

    def __init__(self, path: Path) -> None:
        self.connection = connect(path)
        self.connection.execute(f"CREATE TEMPORARY TABLE bench_staged_snapshots ({', '.join(s.SNAPSHOT_COLUMNS)})")
        self.seconds: dict[str, float] = {}
        self.total = 0.0

    def close(self) -> None:
        self.connection.close()

    @contextlib.contextmanager
    def _step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def write(self, batch: s.Batch) -> int:
        """One transaction per batch; returns the jobs inserted (all of them: a fresh load)."""
        connection = self.connection
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        try:
            before = connection.total_changes
            with self._step("insert jobs"):
                connection.executemany(_JOB_INSERT, batch.jobs)
            inserted = connection.total_changes - before
            if inserted != len(batch.jobs):
                raise RuntimeError(f"SQLite raw: {inserted} of {len(batch.jobs)} jobs inserted (not a fresh load)")
            with self._step("stage snapshots"):
                connection.executemany(_STAGE, batch.snapshots)
            for (table, _, _), statement in zip(s.ROLLUP_GRAINS, s.ROLLUPS_SQL, strict=True):
                with self._step(table):
                    connection.execute(statement)
            with self._step("insert snapshots"):
                connection.execute(s.SNAPSHOTS_SQL)
                connection.execute("DELETE FROM bench_staged_snapshots")
            with self._step("commit"):
                connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        self.total += time.perf_counter() - started
        return inserted
