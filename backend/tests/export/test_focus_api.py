"""`GET /api/v1/export/focus`: who may call it (admins, read tokens for their teams), and the windows it refuses
(422, as analytics does)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest

from app.api.deps import Reader, recheck_reader
from app.auth.api_tokens import ApiTokenService
from app.core.errors import NotAuthenticatedError
from app.export.service import FocusExport
from tests.analytics.conftest import BY_TEAM, report
from tests.api.problems import assert_problem, assert_unauthenticated
from tests.export.conftest import FOCUS, fetch_export
from tests.export.focus_spec import check_focus_csv
from tests.factories import create_ingest_token, create_read_token, token_headers


@pytest.mark.parametrize(("params", "field", "type_"), [
    ({"start": "2026-01-31", "end": "2026-01-01"}, "end", "window_reversed"),
    ({"start": "2026-01-01"}, "end", "missing"),
    ({"end": "2026-01-01"}, "start", "missing"),
    ({"start": "2026-02-30", "end": "2026-03-01"}, "start", "date_range"),
    ({"start": "2026-01-01T00:00:00Z", "end": "2026-01-02"}, "start", "date_format"),
    ({"start": "2025-01-01", "end": "2026-01-02"}, "end", "window_too_long"),  # 367 days
    ({"start": "2026-01-01", "end": "2026-01-02", "tz": "Europe/Paris"}, "tz", "extra_forbidden"),
], ids=["reversed", "no-end", "no-start", "not-a-date", "timestamp", "too-long", "unknown"])
async def test_bad_windows_are_422_naming_the_field(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                    params: dict[str, str], field: str, type_: str) -> None:
    response = await client.get(FOCUS, params=params, headers=admin_headers)
    body = assert_problem(response, 422, "validation-error")
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["query", field], type_)], body


async def test_a_leap_year_fits_in_one_window(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.get(FOCUS, params={"start": "2028-01-01", "end": "2028-12-31"}, headers=admin_headers)
    assert response.status_code == 200, response.text


async def test_a_repeated_parameter_is_422(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.get(f"{FOCUS}?start=2026-01-01&start=2026-01-02&end=2026-01-31", headers=admin_headers)
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["loc"] == ["query", "start"]


async def test_members_are_refused_and_anonymous_callers_unauthenticated(
        client: httpx.AsyncClient, member_headers: dict[str, str]) -> None:
    params = {"start": "2026-01-01", "end": "2026-01-31"}
    body = assert_problem(await client.get(FOCUS, params=params, headers=member_headers), 403, "forbidden")
    assert body["detail"] == "Exporting needs the admin role or a read API token"
    # Authentication comes first: no token is a 401 even for a bad window.
    assert_unauthenticated(await client.get(FOCUS, params={"start": "x"}))


async def test_a_read_token_exports_its_teams_rows_only(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                        sessionmaker, settings) -> None:  # noqa: ANN001
    assert (await client.post("/api/v1/admin/ingest/jobs/mock", headers=admin_headers)).status_code == 200
    window = ("2026-01-01", "2026-01-14")
    everything = await fetch_export(client, admin_headers, *window)
    unlimited = await create_read_token(sessionmaker, settings)
    assert await fetch_export(client, token_headers(unlimited.token), *window) == everything

    vision = await create_read_token(sessionmaker, settings, teams=["Computer Vision"])
    text = await fetch_export(client, token_headers(vision.token), *window)
    rows = check_focus_csv(text)
    want = [row for row in check_focus_csv(everything) if row["SubAccountName"] == "Computer Vision"]
    assert rows == want and 0 < len(rows) < len(check_focus_csv(everything))
    # Its sums are the by-team report the same token reads.
    body = await report(client, token_headers(vision.token), BY_TEAM, start=window[0], end=window[1])
    assert sum(Decimal(r["BilledCost"]) for r in rows) == Decimal(body["total_cost"])

    ingest = await create_ingest_token(sessionmaker, settings)
    assert_problem(await client.get(FOCUS, params={"start": window[0], "end": window[1]},
                                    headers=token_headers(ingest.token)), 403, "forbidden")


async def test_a_read_token_revoked_while_its_export_streams_stops_it(client: httpx.AsyncClient,
                                                                     admin_headers: dict[str, str],
                                                                     sessionmaker, settings) -> None:  # noqa: ANN001
    """The decision (docs/focus-export.md): a stream that began authorised is checked again before each batch, as
    an NDJSON ingest is, so revoking a leaked token stops a year-long export too. Batches of one row here."""
    assert (await client.post("/api/v1/admin/ingest/jobs/mock", headers=admin_headers)).status_code == 200
    issued = await create_read_token(sessionmaker, settings)
    reader = Reader(None, token=issued.record)
    export = FocusExport(start=date(2026, 1, 1), end=date(2026, 1, 14), team_ids=None)

    def recheck(session):  # noqa: ANN001, ANN202
        return recheck_reader(session, settings, reader)

    whole = [chunk async for chunk in export.csv_chunks(sessionmaker, size=1, recheck=recheck)]
    assert len(whole) > 3  # the header and a chunk per row: the token still valid, every row is sent

    chunks = export.csv_chunks(sessionmaker, size=1, recheck=recheck)
    assert [await anext(chunks), await anext(chunks)] == whole[:2]
    async with sessionmaker() as session:
        await ApiTokenService(session, settings).revoke(issued.record.id)
        await session.commit()
    with pytest.raises(NotAuthenticatedError, match="revoked"):
        await anext(chunks)
