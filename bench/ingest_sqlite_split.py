"""Where an SQLite ingest's time goes, by thread: the event loop's thread (HTTP, decoding, validation, costing,
hashing, building rows) against aiosqlite's worker thread (binding the rows and SQLite's own work), and how much of
the two overlapped. In-process (httpx ASGITransport), one NDJSON body of N synthetic jobs into a fresh SQLite file.

    .venv/bin/python bench/ingest_sqlite_split.py --jobs 100000

Prints wall time, each thread's CPU time (`time.thread_time` sampled in each thread) and the overlap
(loop + worker − wall, when positive): on PostgreSQL the database works in its own processes, on SQLite inside
the server's, so this is what bounds the SQLite ratio of `ingest.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import synthetic as s

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

from app.db import migrate  # noqa: E402
from app.main import create_app  # noqa: E402

INGEST = "/api/v1/admin/ingest/jobs"


def _worker_cpu() -> float:
    """CPU seconds of every thread but the caller's (aiosqlite's workers), from /proc."""
    own = threading.get_native_id()
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        if int(task.name) == own:
            continue
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime, in clock ticks
    return total


async def run(n: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        await asyncio.to_thread(migrate.upgrade, url)
        await s.create_users(url)
        body = b"".join(s.ndjson_blocks(s.job_records(n, seed)))
        app = create_app(s.bench_settings(url))
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=3600) as client:
            headers = {**await s.bearer(client, s.ADMIN), "Content-Type": "application/x-ndjson"}
            loop0, worker0, wall0 = time.thread_time(), _worker_cpu(), time.perf_counter()
            response = await client.post(INGEST, content=body, headers=headers)
            loop1, worker1, wall1 = time.thread_time(), _worker_cpu(), time.perf_counter()
        if response.status_code != 200 or response.json()["created"] != n:
            raise SystemExit(f"{response.status_code} {response.text[:300]}")
    loop, worker, wall = loop1 - loop0, worker1 - worker0, wall1 - wall0
    print(f"SQLite, one NDJSON body of {n:,} jobs, in process: wall {wall:.1f} s ({n / wall:,.0f} jobs/s)")
    print(f"  event loop thread CPU {loop:.1f} s ({loop / wall:.0%} of wall): HTTP, decode, validate, cost, hash, rows")
    print(f"  aiosqlite worker CPU  {worker:.1f} s ({worker / wall:.0%} of wall): binding rows and SQLite's work")
    print(f"  overlap (loop + worker - wall): {max(0.0, loop + worker - wall):.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(run(args.jobs, args.seed))


if __name__ == "__main__":
    main()
