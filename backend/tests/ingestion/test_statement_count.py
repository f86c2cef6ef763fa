"""F05 (and F04): a batch costs a fixed number of SQL statements, the same for 1,000 jobs as for 3,000, never one per
job; each statement also stays under the bind-parameter limit, or asyncpg and SQLite would refuse it. (The staged
rows travel by COPY on PostgreSQL, which is not a statement here, or by one executemany on SQLite.)"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event

from app.db.engine import begin_write, create_engine, create_sessionmaker
from app.ingestion.service import JobIngestionService
from tests.conftest import make_settings
from tests.databases import ScratchDatabase
from tests.ingestion.conftest import job

MAX_BIND_PARAMETERS = 32_766


async def test_statements_per_batch_grow_with_chunks_not_jobs(fresh_db: ScratchDatabase) -> None:
    engine = create_engine(make_settings(fresh_db.url))
    statements: list[int] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, sql: str, _parameters: Any, _context: Any, _executemany: bool) -> None:
        # Bound parameters of one statement as the server receives it: its placeholders (`?` on SQLite, `$n` on
        # PostgreSQL). A multi-row VALUES built by SQLAlchemy's insertmanyvalues shows up here already expanded.
        numbered = [int(n) for n in re.findall(r"\$(\d+)", sql)]
        statements.append(max(numbered) if numbered else sql.count("?"))

    try:
        sessionmaker = create_sessionmaker(engine)
        counts: dict[tuple[int, str], int] = {}
        for n in (1_000, 3_000):
            # Each job runs 22:00 → 02:00, so it has two snapshots.
            batch = [job(f"count-{n}-{i:05d}", started_at="2026-01-13T22:00:00Z", ended_at="2026-01-14T02:00:00Z",
                         team=f"team-{i % 7}") for i in range(n)]
            for attempt, cost in enumerate(("64.00", "64.00", "70.00")):
                statements.clear()
                async with sessionmaker() as session:
                    await begin_write(session)
                    report = await JobIngestionService(session).ingest([{**r, "cost": cost} for r in batch])
                    await session.commit()
                outcome = {0: "created", 1: "unchanged", 2: "updated"}[attempt]
                assert getattr(report, outcome) == n, report
                assert max(statements) <= MAX_BIND_PARAMETERS, (outcome, max(statements))
                counts[n, outcome] = len(statements)
        for outcome in ("created", "unchanged", "updated"):
            assert counts[1_000, outcome] == counts[3_000, outcome], counts
        # Aliases (one read), teams and prices (a few), the energy coefficient overrides (one read), then for the
        # chunk: staging (create-if-missing and empty,
        # two tables), the lookup of stored legacy content hashes (this engine was never checked for them, so it
        # looks: app/ingestion/content_hash.py), new jobs, the changed jobs' old snapshots staged and their rows
        # updated (when some were stored already), one rollup delta per grain (9: see app/db/models/daily_cost.py),
        # the old snapshots' delete (changes only), the snapshots' insert; the executemany loads on SQLite.
        assert max(counts.values()) <= 18 + 9, counts
    finally:
        await engine.dispose()
