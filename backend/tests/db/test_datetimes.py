"""F07/F08: instants go through `UTCDateTime` and come back as the same instant, aware and in UTC, on both
databases and whatever the process time zone; naive datetimes never reach the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Job, Team
from tests.db import builders

EST = timezone(timedelta(hours=-5))
IST = timezone(timedelta(hours=5, minutes=30))
JST = timezone(timedelta(hours=9))
PST = timezone(timedelta(hours=-8))


async def _times(session: AsyncSession, job_id: str) -> tuple[datetime | None, datetime | None]:
    # A column query, not the identity map: the values must come from the database, not the objects we added.
    row = (await session.execute(select(Job.started_at, Job.ended_at).where(Job.job_id == job_id))).one()
    return row.started_at, row.ended_at


def assert_utc(value: datetime | None, expected_wall_clock: datetime) -> None:
    """Same instant, aware, with offset zero, and the expected UTC wall clock (the instant alone could hide a
    non-UTC zone)."""
    assert value is not None
    assert value.tzinfo is not None and value.utcoffset() == timedelta(0), value
    assert value.replace(tzinfo=None) == expected_wall_clock


async def test_offset_instant_round_trips_in_utc(session: AsyncSession, owner: Team, process_zone: str) -> None:
    session.add(builders.job("sq-1", owner, started_at=datetime(2026, 1, 10, 23, 30, tzinfo=EST),
                             ended_at=datetime(2026, 1, 11, 1, 30, tzinfo=EST)))
    await session.flush()

    started, ended = await _times(session, "sq-1")
    # 23:30 at UTC-5 is 04:30 UTC the next day; SQLite's default handling would give back naive 23:30.
    assert_utc(started, datetime(2026, 1, 11, 4, 30))  # noqa: DTZ001 - the UTC wall clock, compared naive
    assert_utc(ended, datetime(2026, 1, 11, 6, 30))  # noqa: DTZ001


async def test_instant_is_stored_as_utc(session: AsyncSession, owner: Team, backend: str, process_zone: str) -> None:
    session.add(builders.job("raw-1", owner, started_at=datetime(2026, 1, 10, 23, 30, tzinfo=EST)))
    await session.flush()

    if backend == "sqlite":
        # Plain text in SQLite: it must already be the UTC wall clock, or SQL comparisons and date() are wrong.
        raw = (await session.execute(text("SELECT started_at FROM jobs WHERE job_id = 'raw-1'"))).scalar_one()
        assert raw.startswith("2026-01-11 04:30:00"), raw
    else:
        same = (await session.execute(text(
            "SELECT started_at = TIMESTAMPTZ '2026-01-11 04:30:00+00' FROM jobs WHERE job_id = 'raw-1'"
        ))).scalar_one()
        assert same is True


async def test_zoneinfo_values_on_both_sides_of_a_dst_fold(session: AsyncSession, owner: Team,
                                                           process_zone: str) -> None:
    # 01:30 happens twice in Chicago on 2026-11-01: first at CDT (UTC-5), then at CST (UTC-6).
    chicago = ZoneInfo("America/Chicago")
    session.add_all([
        builders.job("fold-0", owner, started_at=datetime(2026, 11, 1, 1, 30, tzinfo=chicago, fold=0)),
        builders.job("fold-1", owner, started_at=datetime(2026, 11, 1, 1, 30, tzinfo=chicago, fold=1)),
    ])
    await session.flush()

    assert_utc((await _times(session, "fold-0"))[0], datetime(2026, 11, 1, 6, 30))  # noqa: DTZ001
    assert_utc((await _times(session, "fold-1"))[0], datetime(2026, 11, 1, 7, 30))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("sent", "utc_wall_clock"),
    [
        pytest.param(datetime(2026, 1, 11, 4, 30, 0, 123000, tzinfo=UTC),
                     datetime(2026, 1, 11, 4, 30, 0, 123000), id="milliseconds"),  # noqa: DTZ001
        # +05:30 moves the instant back across midnight; the fraction must survive the conversion too.
        pytest.param(datetime(2026, 1, 11, 4, 30, 0, 123456, tzinfo=IST),
                     datetime(2026, 1, 10, 23, 0, 0, 123456), id="microseconds"),  # noqa: DTZ001
        pytest.param(datetime(2026, 1, 11, 4, 30, 59, 999999, tzinfo=UTC),
                     datetime(2026, 1, 11, 4, 30, 59, 999999), id="last-microsecond"),  # noqa: DTZ001
    ],
)
async def test_fractions_of_a_second_are_kept(session: AsyncSession, owner: Team, sent: datetime,
                                              utc_wall_clock: datetime) -> None:
    session.add(builders.job("frac", owner, started_at=sent))
    await session.flush()
    assert_utc((await _times(session, "frac"))[0], utc_wall_clock)


async def test_naive_datetime_is_refused_and_nothing_is_stored(session: AsyncSession, owner: Team,
                                                               process_zone: str) -> None:
    naive = datetime(2026, 1, 10, 6, 0)  # noqa: DTZ001 - the value under test
    await builders.assert_refused_at_bind(session, builders.job("tz-b", owner, started_at=naive), ValueError)


async def test_naive_datetime_is_refused_in_a_filter(session: AsyncSession, process_zone: str) -> None:
    naive = datetime(2026, 1, 10)  # noqa: DTZ001 - the value under test
    with pytest.raises(StatementError) as caught:
        await session.execute(select(Job.job_id).where(Job.started_at >= naive))
    assert isinstance(caught.value.orig, ValueError)


async def test_order_and_comparisons_follow_utc_not_wall_clock(session: AsyncSession, owner: Team,
                                                               process_zone: str) -> None:
    # Wall clocks in the order a < b < c, instants in the order b < c < a:
    #   a: Jan 10 20:00 at UTC-8  = Jan 11 04:00Z
    #   b: Jan 11 03:00 at UTC    = Jan 11 03:00Z
    #   c: Jan 11 12:30 at UTC+9  = Jan 11 03:30Z
    session.add_all([
        builders.job("ord-a", owner, started_at=datetime(2026, 1, 10, 20, 0, tzinfo=PST)),
        builders.job("ord-b", owner, started_at=datetime(2026, 1, 11, 3, 0, tzinfo=UTC)),
        builders.job("ord-c", owner, started_at=datetime(2026, 1, 11, 12, 30, tzinfo=JST)),
    ])
    await session.flush()
    mine = Job.job_id.in_(["ord-a", "ord-b", "ord-c"])

    async def ids(*where: object) -> list[str]:
        query = select(Job.job_id).where(mine, *where).order_by(Job.started_at, Job.job_id)
        return list((await session.execute(query)).scalars())

    assert await ids() == ["ord-b", "ord-c", "ord-a"]
    assert await ids(Job.started_at > datetime(2026, 1, 11, 3, 15, tzinfo=UTC)) == ["ord-c", "ord-a"]
    # 22:00 at UTC-5 is exactly b's instant, written with yet another offset.
    b_elsewhere = datetime(2026, 1, 10, 22, 0, tzinfo=EST)
    assert await ids(Job.started_at <= b_elsewhere) == ["ord-b"]
    assert await ids(Job.started_at < b_elsewhere) == []
    assert await ids(Job.started_at == b_elsewhere) == ["ord-b"]

    earliest, latest = (await session.execute(select(func.min(Job.started_at), func.max(Job.started_at))
                                              .where(mine))).one()
    assert_utc(earliest, datetime(2026, 1, 11, 3, 0))  # noqa: DTZ001
    assert_utc(latest, datetime(2026, 1, 11, 4, 0))  # noqa: DTZ001
