"""Migrations 0004 and 0005 fill the rollups from the snapshots a database already holds, so an upgraded database
reports the same figures as before; checked against the cells summed in Python from the snapshots. Downgrading
through 0005 puts the 0004 usage grain back with the same sums."""

from __future__ import annotations

import random

import pytest
from alembic import command
from sqlalchemy import text

from app.db import migrate
from app.db.engine import create_sessionmaker
from app.ingestion.service import JobIngestionService
from tests.analytics.test_rollups import expected_cells, random_job, snapshot_rows, stored_cells
from tests.conftest import make_settings
from tests.databases import ScratchDatabase, engine_for, in_thread


@pytest.mark.parametrize("down_to", ["0003", "0004"])
async def test_upgrade_fills_the_rollups_from_the_stored_snapshots(fresh_db: ScratchDatabase, down_to: str) -> None:
    rng = random.Random(4)
    async with engine_for(make_settings(fresh_db.url)) as engine:
        async with create_sessionmaker(engine)() as session:
            report = await JobIngestionService(session).ingest([random_job(rng, f"m-{n}") for n in range(60)])
            await session.commit()
        assert report.created == 60

    config = migrate.alembic_config(fresh_db.url)
    async with engine_for(make_settings(fresh_db.url)) as engine, create_sessionmaker(engine)() as session:
        expected = expected_cells(await snapshot_rows(session))
    in_thread(lambda: command.downgrade(config, down_to))
    if down_to == "0004":
        async with engine_for(make_settings(fresh_db.url)) as engine, engine.connect() as connection:
            result = await connection.execute(text(
                "SELECT day, team_id, model_key, gpu_type_key, provider_key, sum(cost_hi) * 1000000 + sum(cost_lo), "
                "sum(job_count) FROM daily_usage_costs GROUP BY day, team_id, model_key, gpu_type_key, provider_key"))
            old = {(str(r[0])[:10], str(r[1]).replace("-", ""), *r[2:5]): (int(r[5]), int(r[6])) for r in result}
        wide: dict[tuple[object, ...], list[int]] = {}
        for (day, team, model, gpu, provider, _user, _status), cell in expected["daily_usage_costs"].items():
            sums = wide.setdefault((day.isoformat(), team.replace("-", ""), model, gpu, provider), [0, 0])
            sums[0] += cell["cost_hi"] * 1_000_000 + cell["cost_lo"]
            sums[1] += cell["job_count"]
        assert old == {key: tuple(value) for key, value in wide.items()}
    in_thread(lambda: command.upgrade(config, "head"))

    async with engine_for(make_settings(fresh_db.url)) as engine, create_sessionmaker(engine)() as session:
        rows = await snapshot_rows(session)
        assert rows
        assert await stored_cells(session) == expected_cells(rows)
