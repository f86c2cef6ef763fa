"""Cursor paging of `GET /jobs`: following `next_cursor` lists every job once, in the listing order, over ties on
`started_at`, across the switch to never-started jobs, and while jobs are ingested between pages. A cursor is
signed and bound to its filters (422 naming `cursor` otherwise); `total` is counted on cursor pages only on
request. The expected orders are computed here in Python (tests/jobs/test_paging.py's fixture of 37 jobs).
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from app.jobs.cursor import CursorCodec, Position, instant_key
from tests.api.problems import assert_problem
from tests.conftest import TEST_SECRET
from tests.ingestion.conftest import ingest_ok
from tests.jobs.conftest import ids, list_jobs, list_ok
from tests.jobs.test_paging import EPOCH, JOBS, T0, N, record, seed_paging


@pytest.fixture
async def seeded(client, admin_headers) -> list[str]:
    return await seed_paging(client, admin_headers)


async def walk(client, headers, params: dict[str, Any], between=None) -> tuple[list[str], list[dict[str, Any]]]:
    """Follow cursors from the first page to the last; `between(page_number, page)` runs after each page but
    the last."""
    seen: list[str] = []
    bodies = []
    body = await list_ok(client, headers, params)
    while True:
        bodies.append(body)
        seen += ids(body)
        if body["next_cursor"] is None:
            assert body["has_more"] is False
            return seen, bodies
        assert body["has_more"] is True
        if between is not None:
            await between(len(bodies), body)
        body = await list_ok(client, headers, {**params, "cursor": body["next_cursor"]})


@pytest.mark.parametrize("limit", [1, 3, 7, 10, 36, 37, 100])
async def test_following_cursors_lists_every_job_once_in_order(client, admin_headers, seeded, limit) -> None:
    seen, bodies = await walk(client, admin_headers, {"limit": limit})
    assert seen == seeded
    assert len(bodies) == -(-N // limit)
    # The first page is a skip page: counted. Cursor pages are not, unless asked.
    assert (bodies[0]["total"], bodies[0]["skip"]) == (N, 0)
    assert all((b["total"], b["skip"], b["limit"]) == (None, None, limit) for b in bodies[1:])


async def test_a_cursor_page_counts_the_total_on_request(client, admin_headers, seeded) -> None:
    first = await list_ok(client, admin_headers, {"limit": 5, "include_total": "false"})
    assert first["total"] is None and first["next_cursor"]
    second = await list_ok(client, admin_headers, {"limit": 5, "cursor": first["next_cursor"],
                                                   "include_total": "true"})
    assert second["total"] == N and ids(second) == seeded[5:10]


async def test_a_skip_page_cursor_and_a_changed_limit_continue_the_same_order(client, admin_headers, seeded) -> None:
    page = await list_ok(client, admin_headers, {"limit": 4, "skip": 20})
    assert ids(page) == seeded[20:24]
    rest, _ = await walk(client, admin_headers, {"limit": 100, "cursor": page["next_cursor"]})
    assert rest == seeded[24:]


async def test_cursors_of_a_filtered_list_cross_from_dated_to_never_started_jobs(
        client, admin_headers, seeded) -> None:
    # The dated jobs are succeeded, the never-started ones queued: a filter on both crosses between them.
    seen, _ = await walk(client, admin_headers, {"status": ["succeeded", "queued"], "limit": 2})
    assert seen == seeded
    queued, _ = await walk(client, admin_headers, {"status": "queued", "limit": 4})
    assert queued == sorted(i for i, at in JOBS if at is None)


def _sort_key(job_id: str, at: datetime | None) -> tuple[bool, timedelta, str]:
    return (at is None, -(at - EPOCH) if at is not None else timedelta(0), job_id)


async def test_jobs_ingested_between_pages_are_neither_skipped_nor_repeated(client, admin_headers, seeded) -> None:
    """After each page, new jobs arrive both before and after the cursor (and in the never-started tail), and a
    listed and an unlisted job are ingested again with a new cost: each of the 37 is listed exactly once, and a
    new job is listed exactly when it sorts after the cursor at the time it arrived."""
    listed_later: list[str] = []
    not_listed: list[str] = []

    async def ingest_meanwhile(page_number: int, page: dict[str, Any]) -> None:
        last = page["jobs"][-1]  # the cursor's job
        at = None if last["started_at"] is None else datetime.fromisoformat(last["started_at"])
        cursor_key = _sort_key(last["job_id"], at)
        late = [(f"new-{page_number}-early", T0 + timedelta(days=30)), (f"new-{page_number}-tail", None),
                (f"~new-{page_number}-tail", None), (f"new-{page_number}-late", T0 - timedelta(days=90))]
        changed = [(seeded[0], dict(JOBS)[seeded[0]]), (seeded[-1], dict(JOBS)[seeded[-1]])]
        records = [record(i, t) for i, t in late]
        records += [{**record(i, t), "cost": "99.00"} if t is not None else record(i, t) for i, t in changed]
        report = await ingest_ok(client, admin_headers, records)
        assert report["created"] == len(late)
        for job_id, t in late:
            (listed_later if _sort_key(job_id, t) > cursor_key else not_listed).append(job_id)

    seen, _ = await walk(client, admin_headers, {"limit": 5}, between=ingest_meanwhile)
    assert len(seen) == len(set(seen)), "a job was listed twice"
    assert [i for i in seen if i in set(seeded)] == seeded
    assert listed_later and not_listed and any("tail" in i for i in not_listed)
    assert set(listed_later) <= set(seen)
    assert not set(not_listed) & set(seen)


async def test_a_job_that_starts_behind_the_cursor_moves_and_is_not_listed_twice(
        client, admin_headers, seeded) -> None:
    """The documented limit of a keyset walk: a never-started job that starts while the walk is in the dated
    part moves ahead of the cursor, and this walk does not list it; it lists no job twice."""
    queued = [i for i, at in JOBS if at is None]
    page = await list_ok(client, admin_headers, {"limit": 10})
    await ingest_ok(client, admin_headers, [record(queued[0], T0 + timedelta(days=1))])
    rest, _ = await walk(client, admin_headers, {"limit": 10, "cursor": page["next_cursor"]})
    seen = ids(page) + rest
    assert len(seen) == len(set(seen)) == N - 1
    assert queued[0] not in seen
    assert ids(await list_ok(client, admin_headers, {"limit": 1}))[0] == queued[0]  # now first of all


def _cursor_of(client_body: dict[str, Any]) -> str:
    return str(client_body["next_cursor"])


def _assert_cursor_422(response) -> None:  # noqa: ANN001
    body = assert_problem(response, 422, "validation-error")
    assert [e["loc"] for e in body["errors"]] == [["query", "cursor"]], body


async def test_a_garbage_altered_or_foreign_cursor_is_a_422_naming_cursor(client, admin_headers, seeded) -> None:
    cursor = _cursor_of(await list_ok(client, admin_headers, {"limit": 3}))
    payload, tag = cursor.split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw[-3] ^= 1
    altered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode() + "." + tag
    foreign = CursorCodec("another-deployment-secret-key-0123456789abcdef").encode(
        Position(key=instant_key(T0), job_id="a-1"), payload)
    for bad in ("garbage", "x.y", "%%%", "é.é", cursor[:-2], payload, altered, foreign, "." * 10, "a" * 1025):
        _assert_cursor_422(await list_jobs(client, admin_headers, {"limit": 3, "cursor": bad}))


async def test_a_cursor_reused_with_other_filters_or_with_skip_is_a_422(client, admin_headers, seeded) -> None:
    cursor = _cursor_of(await list_ok(client, admin_headers, {"limit": 3, "status": "queued"}))
    for other in ({}, {"status": "succeeded"}, {"status": "queued", "team": "paging"},
                  {"status": "queued", "label": "a:b"}, {"status": "queued", "skip": 3}):
        _assert_cursor_422(await list_jobs(client, admin_headers, {"limit": 3, "cursor": cursor, **other}))
    # The same filters, spelt differently (a synonym, another limit), continue.
    body = await list_ok(client, admin_headers, {"limit": 4, "cursor": cursor, "status": "PENDING"})
    assert len(ids(body)) == 4
    # A team named in another case is the same team, so the same filter.
    named = _cursor_of(await list_ok(client, admin_headers, {"limit": 3, "team": "paging"}))
    assert (await list_jobs(client, admin_headers, {"limit": 3, "cursor": named, "team": " PAGING "})).status_code \
        == 200


async def test_a_cursor_is_signed_with_the_service_key() -> None:
    codec = CursorCodec(TEST_SECRET)
    made = codec.encode(Position(key=instant_key(T0), job_id="ä/1"), "f")
    assert codec.decode(made, "f") == Position(key=instant_key(T0), job_id="ä/1")
    assert codec.decode(codec.encode(Position(None, "q"), "f"), "f") == Position(None, "q")


@pytest.mark.pg_only
async def test_the_list_order_index_serves_keyset_pages_without_sorting(client, admin_headers, session,
                                                                        seeded) -> None:
    definition = (await session.execute(text(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_jobs_list_order'"))).scalar_one()
    assert 'started_at DESC NULLS LAST, job_id COLLATE "C"' in definition
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    await session.execute(text("SET LOCAL enable_bitmapscan = off"))
    plan = "\n".join((await session.execute(text(
        "EXPLAIN SELECT j.job_id FROM jobs j WHERE j.started_at <= now() "
        "AND (j.started_at < now() OR j.job_id COLLATE \"C\" > 'a') "
        "ORDER BY j.started_at DESC NULLS LAST, j.job_id COLLATE \"C\" LIMIT 51"))).scalars())
    assert "ix_jobs_list_order" in plan and "Sort" not in plan, plan
