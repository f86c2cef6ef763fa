"""Issue 17, item 2, on both databases: jobs stored with the legacy content hash (SHA-256, as every job ingested
before the `b2:` form carries) are still matched. Re-sent identical, they are `unchanged` (row, `updated_at`,
snapshots and rollups untouched) and only their hash is upgraded; re-sent changed, they are updated; new jobs get
the current form; a recost leaves equal ones alone. The legacy jobs are written by the ingest path itself with its
hash function swapped for the legacy one: exactly what the code before the change wrote."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import begin_write, create_engine, create_sessionmaker
from app.ingestion import writer
from app.ingestion.content_hash import forget_legacy_check, legacy_content_hash, note_legacy_hashes
from app.ingestion.schemas import IngestReport
from app.ingestion.service import JobIngestionService
from app.pricing.scopes import RecostScope
from app.recost.service import Recoster
from tests.analytics.test_rollups import assert_rollups_match
from tests.conftest import make_settings
from tests.databases import ScratchDatabase
from tests.ingestion.conftest import add_price, job

CURRENT = re.compile(r"b2:[0-9a-f]{60}")
LEGACY = re.compile(r"[0-9a-f]{64}")


async def _ingest(sessionmaker: async_sessionmaker[AsyncSession], records: list[dict[str, Any]]) -> IngestReport:
    async with sessionmaker() as session:
        await begin_write(session)
        report = await JobIngestionService(session).ingest(records)
        await session.commit()
    assert report.failed == 0, report.errors
    return report


async def _ingest_legacy(sessionmaker: async_sessionmaker[AsyncSession], records: list[dict[str, Any]],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest `records` as the code before the current hash did: the same write, the legacy hash stored."""
    with monkeypatch.context() as patch:
        patch.setattr(writer, "content_hash", legacy_content_hash)
        await _ingest(sessionmaker, records)


async def _stored(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, dict[str, Any]]:
    """job_id → its hash, cost, updated_at and its snapshots ({(day, cost)})."""
    async with sessionmaker() as session:
        jobs = (await session.execute(text(
            "SELECT id, job_id, content_hash, cost_micros, updated_at FROM jobs"))).all()
        days = (await session.execute(text("SELECT job_pk, day, cost_micros FROM cost_snapshots"))).all()
    snapshots: dict[str, set[tuple[str, int]]] = {}
    for job_pk, day, cost in days:
        snapshots.setdefault(str(job_pk), set()).add((str(day)[:10], cost))
    return {job_id: {"hash": hash_, "cost": cost, "updated_at": updated_at, "snapshots": snapshots.get(str(pk))}
            for pk, job_id, hash_, cost, updated_at in jobs}


def _jobs(*ids: str, cost: str = "64.00") -> list[dict[str, Any]]:
    # 22:00 → 02:00: two snapshot days each.
    return [job(i, started_at="2026-01-13T22:00:00Z", ended_at="2026-01-14T02:00:00Z", cost=cost) for i in ids]


async def test_a_legacy_job_sent_again_unchanged_is_unchanged_and_its_hash_upgraded(
        sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch) -> None:
    await _ingest_legacy(sessionmaker, _jobs("legacy-1", "legacy-2"), monkeypatch)
    before = await _stored(sessionmaker)
    assert all(LEGACY.fullmatch(j["hash"]) for j in before.values()), before

    report = await _ingest(sessionmaker, _jobs("legacy-1", "legacy-2"))

    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    after = await _stored(sessionmaker)
    for job_id in ("legacy-1", "legacy-2"):
        assert CURRENT.fullmatch(after[job_id]["hash"]), after[job_id]
        # Nothing else moved: same cost, same updated_at, the same snapshots.
        assert {**after[job_id], "hash": None} == {**before[job_id], "hash": None}
    await assert_rollups_match(sessionmaker)
    again = await _ingest(sessionmaker, _jobs("legacy-1", "legacy-2"))
    assert (again.unchanged, await _stored(sessionmaker)) == (2, after)


async def test_a_legacy_job_sent_changed_is_updated(sessionmaker: async_sessionmaker[AsyncSession],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    await _ingest_legacy(sessionmaker, _jobs("legacy-1"), monkeypatch)
    before = await _stored(sessionmaker)

    report = await _ingest(sessionmaker, _jobs("legacy-1", cost="70.00"))

    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    after = (await _stored(sessionmaker))["legacy-1"]
    assert CURRENT.fullmatch(after["hash"]) and after["cost"] == 70_000_000
    assert after["updated_at"] > before["legacy-1"]["updated_at"]
    # 4 h over 22:00 → 02:00: $35 on each day.
    assert after["snapshots"] == {("2026-01-13", 35_000_000), ("2026-01-14", 35_000_000)}
    await assert_rollups_match(sessionmaker)


async def test_new_jobs_get_the_current_form(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    report = await _ingest(sessionmaker, _jobs("new-1", "new-2"))
    assert report.created == 2
    assert all(CURRENT.fullmatch(j["hash"]) for j in (await _stored(sessionmaker)).values())


async def test_a_mixed_chunk(sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch) -> None:
    await _ingest_legacy(sessionmaker, _jobs("a-legacy-same", "b-legacy-changed"), monkeypatch)
    await _ingest(sessionmaker, _jobs("c-current-same", "d-current-changed"))
    before = await _stored(sessionmaker)

    report = await _ingest(sessionmaker, [*_jobs("a-legacy-same", "c-current-same", "e-new"),
                                          *_jobs("b-legacy-changed", "d-current-changed", cost="70.00")])

    assert (report.created, report.updated, report.unchanged) == (1, 2, 2)
    after = await _stored(sessionmaker)
    assert all(CURRENT.fullmatch(j["hash"]) for j in after.values()), after
    assert {k: v["cost"] for k, v in after.items()} == {
        "a-legacy-same": 64_000_000, "b-legacy-changed": 70_000_000, "c-current-same": 64_000_000,
        "d-current-changed": 70_000_000, "e-new": 64_000_000}
    for same in ("a-legacy-same", "c-current-same"):
        assert after[same]["updated_at"] == before[same]["updated_at"]
        assert after[same]["snapshots"] == before[same]["snapshots"]
    assert after["c-current-same"]["hash"] == before["c-current-same"]["hash"]
    await assert_rollups_match(sessionmaker)


async def test_a_recost_leaves_equal_legacy_jobs_alone_and_upgrades_their_hash(
        sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch) -> None:
    await add_price(sessionmaker, "V100", "2.00", provider="onprem")
    await _ingest_legacy(sessionmaker, [
        job(f"onprem-{i}", provider="onprem", gpu_type="V100", gpu_count=1, cost=None,
            started_at="2021-03-01T23:00:00Z", ended_at="2021-03-02T02:00:00Z") for i in (1, 2)], monkeypatch)
    before = await _stored(sessionmaker)
    assert before["onprem-1"]["cost"] == 6_000_000 and LEGACY.fullmatch(before["onprem-1"]["hash"])

    report = await Recoster(sessionmaker, chunk_jobs=1).run([RecostScope("onprem", "V100")])

    assert (report.jobs_read, report.jobs_recosted, report.jobs_rewritten) == (2, 0, 0)
    after = await _stored(sessionmaker)
    for job_id in ("onprem-1", "onprem-2"):
        assert CURRENT.fullmatch(after[job_id]["hash"])
        assert {**after[job_id], "hash": None} == {**before[job_id], "hash": None}

    # A legacy job whose figures do change is rewritten: $3/h from 2021 on, 3 GPU-hours.
    await _ingest_legacy(sessionmaker, [job("onprem-3", provider="onprem", gpu_type="V100", gpu_count=1, cost=None,
                                            started_at="2021-03-01T23:00:00Z", ended_at="2021-03-02T02:00:00Z")],
                         monkeypatch)
    await add_price(sessionmaker, "V100", "3.00", valid_from=datetime(2021, 1, 1, tzinfo=UTC), provider="onprem")
    report = await Recoster(sessionmaker).run([RecostScope("onprem", "V100")])
    assert (report.jobs_read, report.jobs_recosted, report.jobs_rewritten) == (3, 3, 3)
    assert {v["cost"] for v in (await _stored(sessionmaker)).values()} == {9_000_000}
    await assert_rollups_match(sessionmaker)


async def test_an_engine_known_to_hold_no_legacy_hash_skips_the_lookup(
        fresh_db: ScratchDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine(make_settings(fresh_db.url))
    lookups: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if "length(jobs.content_hash)" in sql and "jobcost_staged_jobs" in sql:
            lookups.append(sql)

    try:
        sessionmaker = create_sessionmaker(engine)
        await _ingest_legacy(sessionmaker, _jobs("legacy-1"), monkeypatch)
        assert await note_legacy_hashes(engine) is True
        lookups.clear()
        assert (await _ingest(sessionmaker, _jobs("legacy-1"))).unchanged == 1
        assert len(lookups) == 1  # still looked up: the engine holds legacy hashes
        assert await note_legacy_hashes(engine) is False  # the re-send upgraded the last one
        lookups.clear()
        assert (await _ingest(sessionmaker, _jobs("legacy-1", "new-1"))).created == 1
        assert lookups == []
        forget_legacy_check(engine)
        await _ingest(sessionmaker, _jobs("new-2"))
        assert len(lookups) == 1  # never checked: looked up, which is always safe
    finally:
        await engine.dispose()


async def test_the_services_start_up_check_notes_a_database_without_legacy_hashes_and_survives_an_error(
        fresh_db: ScratchDatabase, caplog: pytest.LogCaptureFixture) -> None:
    from app.ingestion.content_hash import _legacy_free
    from app.main import _check_legacy_hashes

    engine = create_engine(make_settings(fresh_db.url))
    try:
        sessionmaker = create_sessionmaker(engine)
        await _ingest(sessionmaker, _jobs("new-1"))  # current hashes only
        await _check_legacy_hashes(engine)
        assert _legacy_free.get(engine.sync_engine) is True
    finally:
        await engine.dispose()
    # An engine whose database cannot be read: logged as a warning, nothing raised, nothing remembered.
    broken = create_engine(make_settings("sqlite+aiosqlite:////nonexistent-dir/jobcost.db"))
    try:
        with caplog.at_level("WARNING", logger="jobcost"):
            await _check_legacy_hashes(broken)
        assert any("legacy content hashes" in r.getMessage() for r in caplog.records)
        assert broken.sync_engine not in _legacy_free
    finally:
        await broken.dispose()
