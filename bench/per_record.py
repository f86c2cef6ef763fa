"""The per-record Python of an ingest, without the database: records/s of each step the server runs for every
job of an NDJSON body, in process, over the seeded synthetic jobs of `synthetic.py`.

Steps, as `app.ingestion` runs them: (1) decode, `read_chunks` over the NDJSON bytes (lines split, JSON decoded
with exact decimals); (2) validate, `normalize_record`; (3) cost and hash, `stage_job` (costing, energy figures,
content hash); (4) rows, the COPY records of the staged jobs and snapshots (`job_tuple`, `snapshot_tuples`) as
`write_chunk` hands them to asyncpg, every job new. The rate card is the bundled catalog's, the names its
aliases, as a fresh database has them. Then the content hash alone, its legacy and current forms over the same
staged jobs. `--profile` adds a cProfile of the four steps (own time, top functions).

    .venv/bin/python bench/per_record.py --jobs 100000 [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import pstats
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic as s  # noqa: E402

from app.db.models.team import team_name_key  # noqa: E402
from app.db.types import usd_to_micros  # noqa: E402
from app.ingestion.content_hash import content_hash, legacy_content_hash  # noqa: E402
from app.ingestion.costing import to_epoch_ms  # noqa: E402
from app.ingestion.ndjson import read_chunks  # noqa: E402
from app.ingestion.normalize import normalize_record  # noqa: E402
from app.ingestion.writer import StagedJob, job_tuple, snapshot_tuples, stage_job  # noqa: E402
from app.pricing.catalog import default_catalog  # noqa: E402
from app.pricing.resolution import RateSpan  # noqa: E402
from app.pricing.service import RateCard  # noqa: E402


def catalog_rate_card() -> RateCard:
    """The rate card of a database holding only the bundled catalog's rates (what the start-up sync writes)."""
    catalog = default_catalog()
    return RateCard(RateSpan(p.provider, p.gpu_type, usd_to_micros(p.usd_per_gpu_hour), to_epoch_ms(p.valid_from),
                             None, False) for p in catalog.prices)


async def _decode(blocks: list[bytes]) -> list[dict[str, Any]]:
    async def body() -> AsyncIterator[bytes]:
        for block in blocks:
            yield block

    records: list[dict[str, Any]] = []
    async for chunk in read_chunks(body()):
        records.extend(chunk.records)
    return records


def staged_rows(staged: list[StagedJob], team_ids: dict[str, uuid.UUID],
                now: datetime) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The COPY records `write_chunk` stages on PostgreSQL for `staged`, all new."""
    jobs, snapshots = [], []
    for p in staged:
        pk, team_id = uuid.uuid4(), team_ids[team_name_key(p.job.team)]
        jobs.append(job_tuple(p, pk, team_id, now, True))
        snapshots.extend(snapshot_tuples(p, pk, team_id))
    return jobs, snapshots


def _timed(label: str, n: int, step: Callable[[], Any], results: dict[str, float]) -> Any:
    gc.collect()
    started = time.perf_counter()
    value = step()
    results[label] = time.perf_counter() - started
    return value


def run(n: int, seed: int, profile: bool, top: int) -> None:
    records = list(s.job_records(n, seed))
    blocks = s.ndjson_blocks(records)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    names = default_catalog()
    rate_card = catalog_rate_card()
    team_ids = {team_name_key(name): uuid.uuid4() for name in s.team_names()}
    profiler = cProfile.Profile() if profile else None
    results: dict[str, float] = {}
    if profiler:
        profiler.enable()
    decoded = _timed("decode", n, lambda: asyncio.run(_decode(blocks)), results)
    jobs = _timed("validate", n, lambda: [normalize_record(r, now=now, catalog=names) for r in decoded], results)
    staged = _timed("cost+hash", n, lambda: [stage_job(j, rate_card) for j in jobs], results)
    rows = _timed("rows", n, lambda: staged_rows(staged, team_ids, now), results)
    if profiler:
        profiler.disable()
    if len(jobs) != n or any(isinstance(j, list) for j in jobs):
        raise SystemExit("a synthetic record was refused")
    snapshots = sum(len(p.costing.days) for p in staged)
    print(f"per-record ingest path, {n:,} synthetic jobs ({snapshots / n:.2f} snapshots a job), in process, "
          f"Python {sys.version.split()[0]}")
    total = sum(results.values())
    for label, seconds in results.items():
        print(f"  {label:10s} {seconds:7.2f} s  {n / seconds:>10,.0f} records/s  {seconds / total:5.1%}")
    print(f"  {'all':10s} {total:7.2f} s  {n / total:>10,.0f} records/s  ({len(rows[0]):,} job rows, "
          f"{len(rows[1]):,} snapshot rows)")
    # The content hash alone, both forms over the same staged jobs (app/ingestion/content_hash.py): its share of
    # cost+hash, measured in one process whatever the load of the box.
    timings = {}
    for label, digest in (("legacy SHA-256 JSON", legacy_content_hash), ("current b2: repr", content_hash)):
        gc.collect()
        started = time.perf_counter()
        for p in staged:
            digest(p.job, p.costing, p.energy)
        timings[label] = time.perf_counter() - started
    print("  content hash alone: " + ", ".join(f"{label} {seconds / n * 1e6:.1f} µs/job"
                                               for label, seconds in timings.items()))
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    run(args.jobs, args.seed, args.profile, args.top)


if __name__ == "__main__":
    main()
