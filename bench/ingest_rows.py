"""The rows an ingest wrote, in a form two databases can be compared by: a fingerprint per table (jobs, cost
snapshots, every rollup grain) and the first jobs and their snapshots as they are stored.

Generated ids and clocks differ from one database to the next and are left out: a job's `id`, `created_at` and
`updated_at`; a snapshot names its job by `job_id`, a rollup cell or a job its team by name. Everything else (the
costing, the content hash, the energy figures, every summed column of every grain) must be equal between the raw
COPY-and-merge of `ingest.py` and the service on the same database kind.

A fingerprint is the number of rows and the sum, over the rows, of 60 bits of a hash of each row's text: equal
tables give equal fingerprints whatever the order; one changed value changes it. PostgreSQL computes it itself
(`md5` of the row's text); on SQLite the rows are read and hashed in Python (blake2b of their `repr`).
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

import asyncpg
import synthetic as s

from app.db.models import CostSnapshot, Job
from app.db.models.daily_cost import ALL_GRAINS

_LEFT_OUT = {"id", "team_id", "created_at", "updated_at", "job_pk"}


def _select(table: Any, via: str | None) -> str:
    """Every column of `table` but the generated ones, and the name of what the left-out key pointed at (the
    statements below are made of the schema's own names, no input)."""
    columns = ", ".join(f"r.{c.name}" for c in table.columns if c.name not in _LEFT_OUT)
    if via == "team":
        return f"SELECT {columns}, t.name AS team FROM {table.name} r JOIN teams t ON t.id = r.team_id"  # noqa: S608
    if via == "job":
        return f"SELECT j.job_id, {columns} FROM {table.name} r JOIN jobs j ON j.id = r.job_pk"  # noqa: S608
    return f"SELECT {columns} FROM {table.name} r"  # noqa: S608


TABLES: dict[str, str] = {
    "jobs": _select(Job.__table__, "team"),
    "cost_snapshots": _select(CostSnapshot.__table__, "job"),
    **{grain.table.name: _select(grain.table, "team" if "team_id" in grain.table.c else None)
       for grain in ALL_GRAINS},
}
_SAMPLE_JOBS = 3
SAMPLES = {
    "jobs": TABLES["jobs"] + f" ORDER BY r.job_id LIMIT {_SAMPLE_JOBS}",
    "cost_snapshots": TABLES["cost_snapshots"] + " WHERE j.job_id IN (SELECT job_id FROM jobs ORDER BY job_id "  # noqa: S608
                      f"LIMIT {_SAMPLE_JOBS}) ORDER BY j.job_id, r.day",
}


class Written:
    """What one measurement left in its database: `fingerprints` (table → (rows, hash sum)) and `samples` (table →
    the first jobs' rows as dicts)."""

    def __init__(self, fingerprints: dict[str, tuple[int, int]], samples: dict[str, list[dict[str, Any]]]) -> None:
        self.fingerprints = fingerprints
        self.samples = samples

    def rows(self, table: str) -> int:
        return self.fingerprints[table][0]

    def differences(self, other: Written) -> list[str]:
        """The tables whose fingerprints differ, each with the first sampled row that differs and how."""
        found = []
        for table, mine in self.fingerprints.items():
            theirs = other.fingerprints.get(table)
            if theirs == mine:
                continue
            text = f"{table}: {mine[0]:,} rows vs {theirs[0] if theirs else 0:,}"
            for a, b in zip(self.samples.get(table, []), other.samples.get(table, []), strict=False):
                columns = [name for name in a if a[name] != b.get(name)]
                if columns:
                    text += "; first sampled row differs in " + ", ".join(
                        f"{name} ({a[name]!r} vs {b.get(name)!r})" for name in columns[:4])
                    break
            found.append(text)
        return found


async def written_postgresql(url: str) -> Written:
    connection = await asyncpg.connect(s.asyncpg_dsn(url), server_settings={"timezone": "UTC"})
    try:
        fingerprints = {}
        for table, select in TABLES.items():
            row = await connection.fetchrow(
                "SELECT count(*), COALESCE(sum(('x' || substr(md5(f::text), 1, 15))::bit(60)::bigint), 0) "  # noqa: S608
                f"FROM ({select}) f")
            fingerprints[table] = (int(row[0]), int(row[1]))
        samples = {table: [dict(r) for r in await connection.fetch(sql)] for table, sql in SAMPLES.items()}
    finally:
        await connection.close()
    return Written(fingerprints, samples)


def _row_hash(row: tuple[Any, ...]) -> int:
    return int.from_bytes(hashlib.blake2b(repr(row).encode(), digest_size=8).digest()) >> 4


def written_sqlite(path: str) -> Written:
    """The same on the SQLite file at `path` (read-only)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        fingerprints = {}
        for table, select in TABLES.items():
            count = total = 0
            for row in connection.execute(select):
                count += 1
                total += _row_hash(row)
            fingerprints[table] = (count, total)
        samples = {}
        for table, sql in SAMPLES.items():
            cursor = connection.execute(sql)
            names = [d[0] for d in cursor.description]
            samples[table] = [dict(zip(names, row, strict=True)) for row in cursor]
    finally:
        connection.close()
    return Written(fingerprints, samples)
