"""`ensure_teams`: one team per trimmed, case-folded name, the first spelling kept, idempotent, and safe when two
transactions create the same teams at once (PostgreSQL; SQLite has a single writer)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db.engine import create_engine, create_sessionmaker
from app.db.models import Team
from app.teams.service import ensure_teams
from tests.conftest import make_settings
from tests.databases import ScratchDatabase


async def _rows(session: AsyncSession) -> list[tuple[str, str]]:
    return [tuple(row) for row in await session.execute(select(Team.name_key, Team.name).order_by(Team.name_key))]


async def test_spellings_of_one_name_are_one_team_with_the_first_spelling(session: AsyncSession) -> None:
    teams = await ensure_teams(session, [" NLP ", "nlp", "Nlp", "Vision", "  "])
    assert sorted(teams) == ["nlp", "vision"]
    assert teams["nlp"].name == "NLP"
    assert await _rows(session) == [("nlp", "NLP"), ("vision", "Vision")]


async def test_case_folding_is_not_just_lowercasing(session: AsyncSession) -> None:
    # casefold("Straße") == "strasse"; lower() would keep "ß" and make these two teams.
    teams = await ensure_teams(session, ["Straße", "STRASSE"])
    assert list(teams) == ["strasse"]
    assert await _rows(session) == [("strasse", "Straße")]


async def test_existing_team_keeps_its_spelling_and_second_run_creates_nothing(session: AsyncSession) -> None:
    first = await ensure_teams(session, ["Vision", "speech"])
    again = await ensure_teams(session, ["VISION", " Speech ", "speech"])

    assert {key: team.id for key, team in again.items()} == {key: team.id for key, team in first.items()}
    assert await _rows(session) == [("speech", "speech"), ("vision", "Vision")]


async def test_no_names_no_teams(session: AsyncSession) -> None:
    assert await ensure_teams(session, ["", "   "]) == {}
    assert (await session.execute(select(func.count()).select_from(Team))).scalar_one() == 0


@pytest.fixture
async def two_engines(fresh_db: ScratchDatabase) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two engines (so two pools, so surely two connections) on one committed database."""
    first, second = create_engine(make_settings(fresh_db.url)), create_engine(make_settings(fresh_db.url))
    try:
        yield first, second
    finally:
        await first.dispose()
        await second.dispose()


async def _ensure_and_commit(sessionmaker: async_sessionmaker[AsyncSession],
                             names: Sequence[str]) -> dict[str, uuid.UUID]:
    async with sessionmaker() as session:
        teams = await ensure_teams(session, names)
        await session.commit()
        return {key: team.id for key, team in teams.items()}


async def _committed_rows(engine: AsyncEngine) -> list[tuple[str, str]]:
    async with create_sessionmaker(engine)() as session:
        return await _rows(session)


@pytest.mark.pg_only
async def test_concurrent_calls_with_overlapping_names_both_succeed(
    backend: str, two_engines: tuple[AsyncEngine, AsyncEngine]
) -> None:
    first, second = (create_sessionmaker(engine) for engine in two_engines)
    # Opposite orders on purpose: inserting in the callers' order could deadlock the two transactions.
    names = [f"Team {n:02d}" for n in range(20)]
    a, b = await asyncio.gather(_ensure_and_commit(first, names), _ensure_and_commit(second, names[::-1][:15]))

    assert len(a) == 20 and len(b) == 15
    assert all(a[key] == b[key] for key in b)
    rows = await _committed_rows(two_engines[0])
    assert [key for key, _ in rows] == sorted(f"team {n:02d}" for n in range(20))


async def _wait_for_lock_wait(engine: AsyncEngine, pending: asyncio.Task[object]) -> None:
    """Until some backend of this database waits on a lock, i.e. the second INSERT is blocked by the first,
    uncommitted one. The bound only keeps a broken run from hanging; it is not a timing check."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock'")
    loop = asyncio.get_running_loop()
    give_up = loop.time() + 60
    async with engine.connect() as connection:
        while loop.time() < give_up:
            if pending.done():
                pending.result()
                pytest.fail("the second call finished without waiting for the first transaction")
            waiting = (await connection.execute(query)).scalar_one()
            # pg_stat_activity is a snapshot taken once per transaction: end it, or every poll sees the first.
            await connection.rollback()
            if waiting > 0:
                return
            await asyncio.sleep(0.005)
    pytest.fail("the second call never waited on the first transaction's lock")


@pytest.mark.pg_only
async def test_call_blocked_by_an_uncommitted_insert_of_the_same_team_succeeds(
    backend: str, fresh_db: ScratchDatabase, two_engines: tuple[AsyncEngine, AsyncEngine]
) -> None:
    first, second = (create_sessionmaker(engine) for engine in two_engines)
    observer = create_engine(make_settings(fresh_db.url))
    try:
        async with first() as holder:
            held = await ensure_teams(holder, ["NLP", "Vision"])
            # Forces the race the service is written for: the second INSERT meets keys that exist but are not
            # yet committed, and must neither fail nor duplicate them once they are.
            waiter = asyncio.create_task(_ensure_and_commit(second, [" nlp ", "speech", "VISION"]))
            await _wait_for_lock_wait(observer, waiter)
            await holder.commit()
        got = await waiter
    finally:
        await observer.dispose()

    assert sorted(got) == ["nlp", "speech", "vision"]
    assert got["nlp"] == held["nlp"].id and got["vision"] == held["vision"].id
    assert await _committed_rows(two_engines[0]) == [("nlp", "NLP"), ("speech", "speech"), ("vision", "Vision")]


async def test_composed_and_decomposed_spellings_are_one_team(session: AsyncSession) -> None:
    teams = await ensure_teams(session, ["Cafe\u0301", "Caf\u00e9"])
    assert [t.name for t in teams.values()] == ["Caf\u00e9"]
