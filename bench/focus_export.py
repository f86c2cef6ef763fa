"""The FOCUS export's speed and memory on PostgreSQL: rows/s and peak RSS, over HTTP and from the CLI, against a
raw asyncpg read of the same rows.

For each N of `--jobs` (default 100,000 and 300,000), a scratch PostgreSQL database (real migrations) is loaded
with N synthetic jobs of `synthetic.py` (start times over 2025, about 2 cost snapshots each) by
`synthetic.bulk_load`. Then, for the year 2025 (365 days, the longest window but one):

  (raw)  asyncpg reads the snapshot rows the export reads (the same join and order) with a server-side cursor,
         2,000 rows per fetch, and drops them: what the database and driver alone can deliver;
  (http) `GET /api/v1/export/focus` from the real server (`jobcost serve`, one uvicorn process, a subprocess),
         streamed and counted by an httpx client: rows/s, MB/s, the server's RSS before and its peak (VmHWM, reset
         after the admin's sign-in, whose argon2 hash alone takes 64 MiB);
  (cli)  `jobcost export focus -o /dev/null` in a Python subprocess: rows/s (start-up included) and its peak RSS.

Prints each figure, http rows/s as a ratio to raw, and the memory ratio that says whether the export streams:
peak RSS at the largest N / at the smallest (target <= 1.3, i.e. flat; a buffered export would grow with N).

    .venv/bin/python bench/focus_export.py [--jobs 100000,300000] [--seed 7] [--workers 2]
                                           [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

The machine is shared with other work: compare the ratios of one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import synthetic as s

START, END = "2025-01-01", "2025-12-31"
TARGET_RSS_GROWTH = 1.3
RAW_SQL = """
SELECT s.day, s.job_pk, s.gpu_us, s.cost_micros, j.job_id, j.team_id, t.name, j.model_name, j.user_name, j.gpu_type,
       j.gpu_milli, j.provider, j.status, j.cost_source
FROM cost_snapshots s JOIN jobs j ON j.id = s.job_pk JOIN teams t ON t.id = j.team_id
WHERE s.day BETWEEN $1 AND $2 ORDER BY s.day, s.job_pk
"""


@dataclass
class Run:
    rows: int
    seconds: float
    megabytes: float = 0.0
    rss_start_mib: float = 0.0
    peak_rss_mib: float = 0.0

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


async def raw_read(url: str) -> Run:
    from datetime import date

    connection = await asyncpg.connect(s.asyncpg_dsn(url))
    try:
        started, rows = time.perf_counter(), 0
        async with connection.transaction():
            cursor = await connection.cursor(RAW_SQL, date.fromisoformat(START), date.fromisoformat(END))
            while batch := await cursor.fetch(2_000):
                rows += len(batch)
        return Run(rows, time.perf_counter() - started)
    finally:
        await connection.close()


async def http_export(url: str) -> Run:
    async with s.Server(url) as server, httpx.AsyncClient(base_url=server.base_url, timeout=600) as client:
        headers = await s.bearer(client, s.ADMIN)
        # Signing in hashes a password with argon2 (64 MiB): reset the peak to what the server holds now, so the
        # peak read after the export is the export's (writing 5 to clear_refs resets VmHWM, Linux >= 4.0).
        await asyncio.to_thread(Path(f"/proc/{server.pid}/clear_refs").write_text, "5")
        rss_start = server.rss_mib()
        started, size, lines = time.perf_counter(), 0, 0
        async with client.stream("GET", "/api/v1/export/focus", params={"start": START, "end": END},
                                 headers=headers) as response:
            if response.status_code != 200:
                raise SystemExit(f"export: {response.status_code} {(await response.aread())[:300]!r}")
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")  # not CRLF: a chunk may end between CR and LF
        seconds = time.perf_counter() - started
        return Run(lines - 1, seconds, size / 1e6, rss_start, server.peak_rss_mib())


# The CLI run in a Python process of its own that prints its peak RSS (ru_maxrss of itself) when done.
_CLI = """
import resource, sys
from app.cli import app
try:
    app(sys.argv[1:], prog_name="jobcost")
except SystemExit as exit:
    if exit.code:
        raise
print("peak_rss_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def cli_export(url: str) -> Run:
    env = {**os.environ, "JOBCOST_SECRET_KEY": s.SECRET_KEY, "JOBCOST_ENV": "production"}
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own entry point
        [str(s.VENV_BIN / "python"), "-c", _CLI, "export", "focus", "--start", START, "--end", END,
         "-o", "/dev/null", "--database-url", url], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"jobcost export focus: exit {done.returncode}\n{done.stderr}")
    rows = int(done.stderr.split(" rows", 1)[0].split()[-1])
    peak_kib = int(done.stderr.rsplit("peak_rss_kib", 1)[1].split()[0])
    return Run(rows, seconds, peak_rss_mib=peak_kib / 1024)


async def measure(pg_url: str, n: int, seed: int, workers: int) -> tuple[Run, Run, Run]:
    print(f"  N = {n:,} jobs")
    async with s.scratch_database(pg_url) as url:
        steps = await s.bulk_load(url, n, seed, workers)
        print("    loaded in " + ", ".join(f"{name} {sec:.0f} s" for name, sec in steps.items()))
        await s.create_users(url)
        raw = await raw_read(url)
        http = await http_export(url)
        cli = await asyncio.to_thread(cli_export, url)
    if not raw.rows == http.rows == cli.rows:
        raise SystemExit(f"row counts differ: raw {raw.rows:,}, http {http.rows:,}, cli {cli.rows:,}")
    print(f"    (raw)  asyncpg cursor     {raw.rows:>9,} rows in {raw.seconds:6.1f} s  {raw.rate:>9,.0f} rows/s")
    print(f"    (http) GET /export/focus  {http.rows:>9,} rows in {http.seconds:6.1f} s  {http.rate:>9,.0f} rows/s  "
          f"{http.megabytes / http.seconds:5.1f} MB/s ({http.megabytes:.0f} MB)  = {http.rate / raw.rate:4.2f} x raw; "
          f"server RSS {http.rss_start_mib:.0f} MiB before, peak {http.peak_rss_mib:.0f} MiB")
    print(f"    (cli)  export focus -o    {cli.rows:>9,} rows in {cli.seconds:6.1f} s  {cli.rate:>9,.0f} rows/s  "
          f"(process start included); peak RSS {cli.peak_rss_mib:.0f} MiB")
    return raw, http, cli


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", default="100000,300000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg-url", default=os.environ.get("JOBCOST_TEST_PG_URL",
                                                           "postgresql+asyncpg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    s.exit_on_sigterm()
    sizes = sorted(int(n) for n in args.jobs.split(","))
    for line in await s.machine_facts(args.pg_url):
        print(line)
    print(f"FOCUS export of {START} to {END}")
    results = {n: await measure(args.pg_url, n, args.seed, args.workers) for n in sizes}
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        growth = results[large][1].peak_rss_mib / results[small][1].peak_rss_mib
        rows_ratio = results[large][1].rows / results[small][1].rows
        cli_growth = results[large][2].peak_rss_mib / results[small][2].peak_rss_mib
        print(f"  rows at {large:,} / at {small:,} = {rows_ratio:4.2f}x; peak RSS: server {growth:4.2f}x, "
              f"CLI {cli_growth:4.2f}x (target <= {TARGET_RSS_GROWTH}x: "
              f"{'met' if max(growth, cli_growth) <= TARGET_RSS_GROWTH else 'NOT met'})")


if __name__ == "__main__":
    asyncio.run(main())
