"""Concurrent ingest and reads against a running service, tallied: what the fault tests and `bench/db_faults.py`
run while the database goes away. Every answer must be a 200, or a 503 `database-unavailable` with `Retry-After`;
anything else (a 500 above all) is recorded as a failure with its body."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from tests.ingestion.conftest import INGEST, job

READS = ("/api/v1/auth/me", "/api/v1/jobs?limit=20", "/api/v1/analytics/cost/by-team",
         "/api/v1/analytics/cost/by-model")
UNAVAILABLE = "https://jobcost.dev/problems/database-unavailable"
JOB_COST_MICROS = 64_000_000  # `job()`'s billed cost, 64.00 USD, on one UTC day


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    by_route: Counter[tuple[str, int]] = field(default_factory=Counter)
    acknowledged: set[str] = field(default_factory=set)  # job ids of batches answered 200
    refused_batches: list[list[str]] = field(default_factory=list)  # batches answered 503: all stored or none
    failures: list[str] = field(default_factory=list)
    unavailable_at: list[float] = field(default_factory=list)  # time.monotonic() of each 503

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def record(self, route: str, response: httpx.Response) -> None:
        status = response.status_code
        self.statuses[status] += 1
        self.by_route[(route, status)] += 1
        if status == 503:
            self.unavailable_at.append(time.monotonic())
            problem = _json(response)
            if not response.headers.get("retry-after", "").isdigit() or int(response.headers["retry-after"]) < 1:
                self.failures.append(f"{route}: 503 without a Retry-After of whole seconds: {response.headers}")
            elif problem.get("type") != UNAVAILABLE:
                self.failures.append(f"{route}: 503 of another kind: {response.text[:300]}")
        elif status != 200:
            self.failures.append(f"{route}: {status} {response.text[:300]}")

    def summary(self) -> str:
        return (f"{self.requests} requests: {self.statuses[200]} answered 200, {self.statuses[503]} answered 503, "
                f"{self.statuses[500]} answered 500, {len(self.failures)} failures; "
                f"{len(self.acknowledged)} jobs acknowledged")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class Load:
    """`ingesters` clients posting batches of `batch` new jobs (even ones JSON, odd ones NDJSON; every job id
    distinct, prefixed `prefix`) and `readers` clients cycling through `READS`, each one request after the other,
    until `stop` is set. After a 503 a client waits `backoff_s` (shorter than `Retry-After`, to meet the outage
    often) before its next request."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], *, prefix: str, ingesters: int = 4,
                 readers: int = 2, batch: int = 20, pause_s: float = 0.02, backoff_s: float = 0.2) -> None:
        self.client, self.headers, self.prefix = client, headers, prefix
        self.ingesters, self.readers, self.batch, self.pause_s = ingesters, readers, batch, pause_s
        self.backoff_s = backoff_s
        self.tally = Tally()

    async def run(self, stop: asyncio.Event) -> Tally:
        await asyncio.gather(*(self._ingester(n, stop) for n in range(self.ingesters)),
                             *(self._reader(n, stop) for n in range(self.readers)))
        return self.tally

    async def ingest_once(self, worker: int, round_: int) -> httpx.Response | None:
        ids = [f"{self.prefix}-{worker}-{round_}-{n}" for n in range(self.batch)]
        records = [job(i) for i in ids]
        route = "ingest json" if worker % 2 == 0 else "ingest ndjson"
        try:
            if worker % 2 == 0:
                response = await self.client.post(INGEST, json={"jobs": records}, headers=self.headers)
            else:
                body = "".join(json.dumps(record) + "\n" for record in records)
                response = await self.client.post(
                    INGEST, content=body, headers={**self.headers, "Content-Type": "application/x-ndjson"})
        except httpx.TransportError as exc:
            self.tally.failures.append(f"{route}: no answer ({type(exc).__name__}: {exc})")
            return None
        self.tally.record(route, response)
        if response.status_code == 200:
            report = _json(response)
            if report.get("created") == self.batch and report.get("failed") == 0:
                self.tally.acknowledged.update(ids)
            else:
                self.tally.failures.append(f"{route}: 200 but not all created: {response.text[:300]}")
        elif response.status_code == 503:
            self.tally.refused_batches.append(ids)
        return response

    async def _ingester(self, worker: int, stop: asyncio.Event) -> None:
        round_ = 0
        while not stop.is_set():
            response = await self.ingest_once(worker, round_)
            round_ += 1
            await self._pause(response)

    async def _reader(self, worker: int, stop: asyncio.Event) -> None:
        n = worker
        while not stop.is_set():
            path = READS[n % len(READS)]
            n += 1
            response = None
            try:
                response = await self.client.get(path, headers=self.headers)
                self.tally.record(path, response)
            except httpx.TransportError as exc:
                self.tally.failures.append(f"{path}: no answer ({type(exc).__name__}: {exc})")
            await self._pause(response)

    async def _pause(self, response: httpx.Response | None) -> None:
        await asyncio.sleep(self.backoff_s if response is not None and response.status_code == 503 else self.pause_s)


@dataclass
class Stored:
    """What the database holds after the run, read directly (not through the service)."""

    job_ids: set[str]
    jobs: int
    jobs_without_snapshots: int
    job_cost_micros: int
    snapshot_cost_micros: int
    rollup_job_count: int

    @classmethod
    async def read(cls, dsn: str) -> Stored:
        conn = await asyncpg.connect(dsn)
        try:
            ids = {row[0] for row in await conn.fetch("SELECT job_id FROM jobs")}
            return cls(
                job_ids=ids,
                jobs=await conn.fetchval("SELECT count(*) FROM jobs"),
                jobs_without_snapshots=await conn.fetchval(
                    "SELECT count(*) FROM jobs j WHERE NOT EXISTS "
                    "(SELECT 1 FROM cost_snapshots s WHERE s.job_pk = j.id)"),
                job_cost_micros=await conn.fetchval("SELECT coalesce(sum(cost_micros), 0) FROM jobs"),
                snapshot_cost_micros=await conn.fetchval("SELECT coalesce(sum(cost_micros), 0) FROM cost_snapshots"),
                rollup_job_count=await conn.fetchval("SELECT coalesce(sum(job_count), 0) FROM daily_team_costs"),
            )
        finally:
            await conn.close()

    def problems(self, tally: Tally) -> list[str]:
        """Whatever contradicts "every acknowledged job is stored, once, and nothing is half-written"."""
        found: list[str] = []
        if missing := tally.acknowledged - self.job_ids:
            found.append(f"{len(missing)} acknowledged jobs are not stored, e.g. {sorted(missing)[:3]}")
        if self.jobs != len(self.job_ids):
            found.append(f"{self.jobs} job rows for {len(self.job_ids)} job ids")
        halves = [b for b in tally.refused_batches if 0 < len(set(b) & self.job_ids) < len(b)]
        if halves:
            found.append(f"{len(halves)} batches answered 503 are partly stored, e.g. {halves[0][:3]}")
        if self.jobs_without_snapshots:
            found.append(f"{self.jobs_without_snapshots} stored jobs have no cost snapshot")
        expected = JOB_COST_MICROS * self.jobs
        if (self.job_cost_micros, self.snapshot_cost_micros) != (expected, expected):
            found.append(f"cost: jobs {self.job_cost_micros}, snapshots {self.snapshot_cost_micros}, "
                         f"expected {expected} micro-USD ({self.jobs} jobs × 64.00 USD)")
        if self.rollup_job_count != self.jobs:
            found.append(f"the daily team rollups count {self.rollup_job_count} jobs, the jobs table {self.jobs}")
        return found
