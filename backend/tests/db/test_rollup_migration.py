"""Migration 0004 fills the daily rollups from the snapshots a database already holds, so an upgraded database
reports the same figures as before; checked against the cells summed in Python from the snapshots."""

from __future__ import annotations

import random

from alembic import command

from app.db import migrate
from app.db.engine import create_sessionmaker
from app.ingestion.service import JobIngestionService
from tests.analytics.test_rollups import expected_cells, random_job, snapshot_rows, stored_cells
from tests.conftest import make_settings
from tests.databases import ScratchDatabase, engine_for, in_thread


async def test_upgrade_to_0004_fills_the_rollups_from_the_stored_snapshots(fresh_db: ScratchDatabase) -> None:
    rng = random.Random(4)
    async with engine_for(make_settings(fresh_db.url)) as engine:
        async with create_sessionmaker(engine)() as session:
            report = await JobIngestionService(session).ingest([random_job(rng, f"m-{n}") for n in range(60)])
            await session.commit()
        assert report.created == 60

    config = migrate.alembic_config(fresh_db.url)
    in_thread(lambda: command.downgrade(config, "0003"))
    in_thread(lambda: command.upgrade(config, "head"))

    async with engine_for(make_settings(fresh_db.url)) as engine, create_sessionmaker(engine)() as session:
        rows = await snapshot_rows(session)
        assert rows
        assert await stored_cells(session) == expected_cells(rows)
