"""Paging `GET /jobs` over ties: the order is total and the same on both databases.

37 jobs: groups that share `started_at` to the millisecond, neighbours one millisecond apart, and never-started
(queued) jobs, with ids whose code-point order differs from case-insensitive or locale order (`B-1` before `a-1`,
`Z9` before `_x` before `a-1`, `é` after `z`, an astral emoji last). The expected order is computed here in
Python — `started_at` descending, never-started last, ties by `job_id` as Python orders str (code points) — and
every page size (1, 7, 10, 36, 37, 100) must concatenate to it exactly, with no loss or repeat, `has_more` true
exactly while jobs follow, and `total` the same on every page. Past the end: 200, no jobs, `has_more` false.

The test cluster's databases use the C.UTF-8 locale, where byte order already is code-point order; one
PostgreSQL test gives `jobs.job_id` an ICU en-US collation inside the test's rolled-back transaction, so the
listing must impose code-point order itself rather than inherit it from the database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from tests.ingestion.conftest import ingest_ok, job
from tests.jobs.conftest import ids, list_ok

T0 = datetime(2026, 1, 12, 9, 30, tzinfo=UTC)
MS = timedelta(milliseconds=1)

# started_at of each group (None: never started), and the ids in it.
GROUPS: list[tuple[datetime | None, list[str]]] = [
    (T0, ["B-1", "a-1", "_x", "Z9", "é", "e", "E"]),
    (T0 + MS, ["b-1", "A-1", "~"]),                      # one millisecond after T0: first of all
    (T0 - MS, ["z", "Z", "ä", "a"]),                      # one millisecond before T0
    (T0 - timedelta(hours=5), ["job-10", "job-9", "job-1", "job-01", "JOB-2", "job 3"]),
    (T0 - timedelta(days=3), ["ß", "ss", "SS", "😀", "\ufb01", "fi"]),
    (None, ["q-b", "Q-a", "q-A", "q_1", "q-1", "q.1", "q1", "é-q", "-q", "0q", "Zq"]),
]
JOBS: list[tuple[str, datetime | None]] = [(job_id, at) for at, members in GROUPS for job_id in members]
N = len(JOBS)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def expected_order(jobs: list[tuple[str, datetime | None]]) -> list[str]:
    """started_at descending, never-started last, then job_id in Python's (code-point) order."""
    def key(item: tuple[str, datetime | None]) -> tuple[bool, timedelta, str]:
        job_id, at = item
        return (at is None, -(at - EPOCH) if at is not None else timedelta(0), job_id)
    return [job_id for job_id, _ in sorted(jobs, key=key)]


def record(job_id: str, at: datetime | None) -> dict[str, Any]:
    if at is None:
        return job(job_id, status="queued", started_at=None, ended_at=None, cost=None, team="paging")
    start = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    end = (at + timedelta(hours=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return job(job_id, started_at=start, ended_at=end, team="paging")


async def seed_paging(client, headers) -> list[str]:  # noqa: ANN001
    """Ingest the 37 jobs, in reverse of the expected order (so insertion order cannot pass for the sort);
    returns the expected order."""
    order = expected_order(JOBS)
    by_id = dict(JOBS)
    report = await ingest_ok(client, headers, [record(i, by_id[i]) for i in reversed(order)])
    assert report["created"] == N
    return order


@pytest.fixture
async def seeded(client, admin_headers) -> list[str]:
    return await seed_paging(client, admin_headers)


def test_the_fixture_is_what_the_module_docstring_says() -> None:
    order = expected_order(JOBS)
    assert N == 37 and len(set(order)) == N
    # Spot checks of the hand-chosen ties against case-insensitive order, which would differ.
    assert order[:3] == ["A-1", "b-1", "~"]
    assert order[3:10] == ["B-1", "E", "Z9", "_x", "a-1", "e", "é"]
    assert order[-11:] == ["-q", "0q", "Q-a", "Zq", "q-1", "q-A", "q-b", "q.1", "q1", "q_1", "é-q"]
    assert sorted(["B-1", "a-1"], key=str.casefold) != sorted(["B-1", "a-1"])


async def test_the_first_page_of_100_is_the_whole_expected_order(client, admin_headers, seeded) -> None:
    body = await list_ok(client, admin_headers, {"limit": 100})
    assert ids(body) == seeded
    assert (body["total"], body["skip"], body["limit"], body["has_more"]) == (N, 0, 100, False)
    started = {j["job_id"]: j["started_at"] for j in body["jobs"]}
    # Millisecond neighbours of T0 come back as such, in UTC.
    assert started["~"] == "2026-01-12T09:30:00.001000Z"
    assert started["B-1"] == "2026-01-12T09:30:00Z"
    assert started["z"] == "2026-01-12T09:29:59.999000Z"
    assert started["q-b"] is None


@pytest.mark.parametrize("limit", [1, 7, 10, 36, 37, 100])
async def test_paging_with_any_limit_concatenates_to_the_expected_order(
        client, admin_headers, seeded, limit) -> None:
    seen: list[str] = []
    skip = 0
    while True:
        body = await list_ok(client, admin_headers, {"skip": skip, "limit": limit})
        page = ids(body)
        assert (body["total"], body["skip"], body["limit"]) == (N, skip, limit)
        assert len(page) == min(limit, N - skip)
        assert body["has_more"] is (skip + len(page) < N)
        seen += page
        if not body["has_more"]:
            break
        skip += limit
    assert seen == seeded  # no job lost, none repeated, in order
    assert len(seen) == len(set(seen)) == N


async def test_pages_of_a_filtered_list_follow_the_same_order(client, admin_headers, seeded) -> None:
    queued = [i for i, at in JOBS if at is None]
    pages = [await list_ok(client, admin_headers, {"status": "PENDING", "limit": 4, "skip": s}) for s in (0, 4, 8)]
    assert [ids(p) for p in pages] == [sorted(queued)[0:4], sorted(queued)[4:8], sorted(queued)[8:]]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert {p["total"] for p in pages} == {len(queued)}
    assert [i for i in seeded if i in set(queued)] == sorted(queued)


@pytest.mark.parametrize("skip", [N, N + 1, 1_000, 1_000_000_000])
async def test_a_page_past_the_end_is_empty_with_the_same_total(client, admin_headers, seeded, skip) -> None:
    body = await list_ok(client, admin_headers, {"skip": skip, "limit": 10})
    assert body == {"jobs": [], "total": N, "skip": skip, "limit": 10, "has_more": False,
                    "next_cursor": None}


async def test_the_last_partial_page_has_no_more(client, admin_headers, seeded) -> None:
    body = await list_ok(client, admin_headers, {"skip": N - 1, "limit": 10})
    assert ids(body) == seeded[-1:] and body["has_more"] is False
    body = await list_ok(client, admin_headers, {"skip": N - 2, "limit": 1})
    assert ids(body) == [seeded[-2]] and body["has_more"] is True


@pytest.mark.pg_only
async def test_the_order_is_code_point_order_even_under_a_locale_collation(
        client, admin_headers, sessionmaker, seeded) -> None:
    async with sessionmaker() as session:
        # Undone with the rest of the test's transaction.
        await session.execute(text('ALTER TABLE jobs ALTER COLUMN job_id TYPE varchar(255) COLLATE "en-US-x-icu"'))
        await session.commit()
    async with sessionmaker() as session:
        locale_order = (await session.execute(text(
            "SELECT job_id FROM jobs ORDER BY started_at DESC NULLS LAST, job_id"))).scalars().all()
    assert list(locale_order) != seeded  # the collation really does sort these ids differently

    seen: list[str] = []
    for skip in range(0, N, 7):
        seen += ids(await list_ok(client, admin_headers, {"skip": skip, "limit": 7}))
    assert seen == seeded
