"""The database-outage scenario of issue 15 (part 1), shared by `test_database_restarts.py` and
`bench/db_faults.py`: the service (a `jobcost serve` subprocess) talks to PostgreSQL through a `TcpProxy`, under
concurrent ingest and reads (`Load`), while

1. the proxy cuts every connection and refuses new ones for `cut_s`, then lets them through again;
2. on a private server (`PrivatePostgres`, when given): `pg_ctl restart -m fast` (backends terminated, 57P01, then
   "the database system is starting up", 57P03); then `pg_ctl stop -m immediate` (no shutdown at all, as a crash),
   `stopped_s` with nothing listening, and a start (crash recovery first).

Then, with the load stopped and the service left running: how long until `/health/ready` answers 200, whether
every read and an ingest succeed again, and what the database holds (`Stored`, read directly).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.db.models import Role
from tests.conftest import make_settings
from tests.factories import bearer, create_user
from tests.faults.load import READS, Load, Stored, Tally
from tests.faults.postgres import PrivatePostgres
from tests.faults.proxy import TcpProxy
from tests.faults.service import Service

ADMIN = "ops@example.test"
RECOVERY_LIMIT_S = 60


@dataclass
class OutageRun:
    tally: Tally
    stored: Stored
    events: list[str] = field(default_factory=list)
    last_503_s: float | None = None  # when the last 503 was answered, seconds from the load's start
    up_again_s: float = 0.0  # when the last fault ended (proxy restored or server started), same clock
    after: dict[str, int] = field(default_factory=dict)  # each read's (and an ingest's) status afterwards
    unhandled: list[str] = field(default_factory=list)  # the service log's "unhandled error" lines
    proxy_cuts: int = 0

    def partly_stored(self) -> int:
        return sum(0 < len(set(b) & self.stored.job_ids) < len(b) for b in self.tally.refused_batches)

    def report(self) -> str:
        lines = [f"  {event}" for event in self.events]
        lines.append(f"  {self.tally.summary()}")
        for (route, status), count in sorted(self.tally.by_route.items()):
            lines.append(f"    {route:<34} {status}  x {count}")
        lines.append(f"  connections cut by the proxy: {self.proxy_cuts}")
        found = len(self.tally.acknowledged & self.stored.job_ids)
        lines.append(f"  stored afterwards: {self.stored.jobs} jobs, {found} of {len(self.tally.acknowledged)} "
                     f"acknowledged found; {len(self.tally.refused_batches)} batches answered 503, "
                     f"{self.partly_stored()} of them partly stored")
        if self.last_503_s is not None:
            lines.append(f"  last 503 at {self.last_503_s:.1f} s, {self.last_503_s - self.up_again_s:+.1f} s from "
                         f"the database's return at {self.up_again_s:.1f} s; no restart of the service")
        lines.append(f"  afterwards: {self.after}")
        return "\n".join(lines)


def _url(dsn: str, database: str, port: int | None = None) -> str:
    url = make_url(dsn).set(drivername="postgresql+asyncpg", database=database)
    return (url.set(port=port) if port else url).render_as_string(hide_password=False)


async def _prepare(admin_dsn: str, name: str) -> str:
    """Create, migrate and seed (the admin) the database `name`; returns its SQLAlchemy URL."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = _url(admin_dsn, name)
    await asyncio.to_thread(migrate.upgrade, url)
    settings = make_settings(url)
    engine = create_engine(settings)
    try:
        await create_user(create_sessionmaker(engine), settings, ADMIN, role=Role.admin)
    finally:
        await engine.dispose()
    return url


async def _drop(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def run_outage(admin_dsn: str, private: PrivatePostgres | None, *, settle_s: float = 2.0,
                     cut_s: float = 2.0, stopped_s: float = 6.0, ingesters: int = 4, readers: int = 2) -> OutageRun:
    """Run the scenario against the server of `admin_dsn` (the private one's, or the shared server's when
    `private` is None: then only the proxy's cut, never a restart). The scratch database is dropped after."""
    name = f"jobcost_faults_{uuid.uuid4().hex[:10]}"
    url = await _prepare(admin_dsn, name)
    proxy = TcpProxy(make_url(url).port or 5432)
    await proxy.start()
    events: list[str] = []
    started = time.monotonic()

    def event(text: str) -> None:
        events.append(f"{time.monotonic() - started:5.1f} s  {text}")

    try:
        async with Service(_url(admin_dsn, name, port=proxy.port)) as service, \
                httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
            headers = await bearer(client, ADMIN)
            load = Load(client, headers, prefix="outage", ingesters=ingesters, readers=readers)
            stop = asyncio.Event()
            started = time.monotonic()
            running = asyncio.create_task(load.run(stop))
            try:
                await asyncio.sleep(settle_s)
                proxy.cut()
                event(f"proxy: every connection cut, new ones refused for {cut_s:.0f} s")
                await asyncio.sleep(cut_s)
                await proxy.restore()
                event("proxy: connections let through again")
                up_again = time.monotonic()
                await asyncio.sleep(settle_s)
                if private is not None:
                    event("pg_ctl restart -m fast")
                    await asyncio.to_thread(private.restart, "fast")
                    event("  server up again")
                    await asyncio.sleep(settle_s)
                    event(f"pg_ctl stop -m immediate, then {stopped_s:.0f} s stopped")
                    await asyncio.to_thread(private.stop, "immediate")
                    await asyncio.sleep(stopped_s)
                    event("pg_ctl start (crash recovery first)")
                    await asyncio.to_thread(private.start)
                    event("  server up again")
                    up_again = time.monotonic()
                await asyncio.sleep(settle_s)
            finally:
                stop.set()
                tally = await running
            event("load stopped")
            ready = await _wait_ready(client)
            event("/health/ready 200" if ready else f"/health/ready not 200 within {RECOVERY_LIMIT_S} s")
            after = {path: (await client.get(path, headers=headers)).status_code for path in READS}
            response = await load.ingest_once(worker=0, round_=-1)
            after["ingest"] = response.status_code if response is not None else 0
            unhandled = service.unhandled_errors()
        stored = await Stored.read(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
        return OutageRun(
            tally=tally, stored=stored, events=events, after=after, unhandled=unhandled,
            proxy_cuts=proxy.cut_connections, up_again_s=up_again - started,
            last_503_s=max(tally.unavailable_at) - started if tally.unavailable_at else None)
    finally:
        await proxy.close()
        await _drop(admin_dsn, name)


async def _wait_ready(client: httpx.AsyncClient) -> bool:
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_LIMIT_S:
        try:
            if (await client.get("/health/ready")).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    return False
