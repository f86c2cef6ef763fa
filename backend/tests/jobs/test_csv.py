"""`GET /jobs?format=csv` (or `Accept: text/csv`): every matching job, in the listing order, as CSV with a header
row; each field is the string the JSON listing shows (null as an empty field, labels as a JSON object); the same
filters and scoping; an attachment with a `.csv` file name. The JSON side is read page by page through the API
and compared row for row; the export's batches are made small so that they cross ties and never-started jobs."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from app.db.models import Role
from app.jobs import service
from app.jobs.csv_export import CSV_COLUMNS
from tests.api.problems import assert_problem
from tests.factories import bearer, create_user
from tests.ingestion.conftest import ingest_ok, job
from tests.jobs.conftest import JOBS, list_jobs, list_ok
from tests.jobs.test_paging import seed_paging

HEADER = ["job_id", "team_id", "team", "status", "model_name", "gpu_type", "gpu_count", "provider", "user",
          "submitted_at", "started_at", "ended_at", "observed_at", "gpu_hours", "cost", "billed_cost",
          "cost_source", "currency", "labels", "id", "created_at", "updated_at", "energy_kwh", "gpu_utilization",
          "region"]


@pytest.fixture(autouse=True)
def _small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "EXPORT_BATCH", 4)


@pytest.fixture
async def seeded(client, admin_headers) -> list[str]:
    order = await seed_paging(client, admin_headers)
    await ingest_ok(client, admin_headers, [
        job("billed, \"quoted\"", team="other", labels={"project": "a,b", "z": "é\nline"}, user="ada"),
        job("unpriced", team="other", gpu_type="NoSuchGPU", cost=None, provider=None)])
    return order


async def all_json(client, headers, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:  # noqa: ANN001
    jobs: list[dict[str, Any]] = []
    body = await list_ok(client, headers, {**(params or {}), "limit": 100})
    jobs += body["jobs"]
    while body["next_cursor"]:
        body = await list_ok(client, headers, {**(params or {}), "limit": 100, "cursor": body["next_cursor"]})
        jobs += body["jobs"]
    return jobs


def as_csv_fields(shown: dict[str, Any]) -> list[str]:
    """What the CSV must hold for a job the JSON shows as `shown`: computed from the JSON, column by column (text
    that a spreadsheet would run as a formula, such as a job id starting with `-`, behind a `'`)."""
    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, dict):
            return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "'" + str(value) if str(value)[:1] in ("=", "+", "-", "@", "\t", "\r") else str(value)
    flat = {**shown, "team_id": shown["team"]["id"], "team": shown["team"]["name"]}
    return [text(flat[name]) for name in HEADER]


async def get_csv(client, headers, params: Any = None, accept: str | None = None):  # noqa: ANN001, ANN201
    extra = {"Accept": accept} if accept else {}
    return await client.get(JOBS, params=params if params is not None else {"format": "csv"},
                            headers={**headers, **extra})


def rows_of(response) -> list[list[str]]:  # noqa: ANN001
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.text, newline="")))


async def test_the_csv_equals_the_json_row_for_row(client, admin_headers, seeded) -> None:
    rows = rows_of(await get_csv(client, admin_headers))
    assert rows[0] == HEADER == [name for name, _ in CSV_COLUMNS]
    shown = await all_json(client, admin_headers)
    assert len(shown) == len(seeded) + 2
    assert rows[1:] == [as_csv_fields(j) for j in shown]
    by_id = {r[0]: dict(zip(HEADER, r, strict=True)) for r in rows[1:]}
    assert by_id["billed, \"quoted\""]["labels"] == '{"project":"a,b","z":"é\\nline"}'
    assert by_id["unpriced"]["cost"] == "" and by_id["unpriced"]["cost_source"] == "unpriced"


async def test_accept_text_csv_asks_for_csv_and_the_file_is_an_attachment(client, admin_headers, seeded) -> None:
    response = await get_csv(client, admin_headers, {}, accept="text/csv")
    assert len(rows_of(response)) == len(seeded) + 3
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="jobcost-jobs-') and disposition.endswith('.csv"')
    assert (await client.get(JOBS, headers={**admin_headers, "Accept": "text/csv"},
                             params={"format": "json"})).headers["content-type"] == "application/json"


async def test_filters_apply_to_the_csv(client, admin_headers, seeded) -> None:
    params = {"status": "queued", "format": "csv"}
    rows = rows_of(await get_csv(client, admin_headers, params))
    assert rows[1:] == [as_csv_fields(j) for j in await all_json(client, admin_headers, {"status": "queued"})]
    assert len(rows) == 12
    labelled = rows_of(await get_csv(client, admin_headers, {"label": "project:a,b", "format": "csv"}))
    assert [r[0] for r in labelled[1:]] == ["billed, \"quoted\""]
    assert rows_of(await get_csv(client, admin_headers, {"team": "nobody", "format": "csv"})) == [HEADER]


async def test_a_member_exports_only_its_teams(client, admin_headers, sessionmaker, settings, seeded) -> None:
    await create_user(sessionmaker, settings, "csv@example.test", role=Role.member, teams=["other"])
    member = await bearer(client, "csv@example.test")
    rows = rows_of(await get_csv(client, member))
    assert sorted(r[0] for r in rows[1:]) == sorted(["billed, \"quoted\"", "unpriced"])
    assert rows[1:] == [as_csv_fields(j) for j in await all_json(client, member)]
    forbidden = await get_csv(client, member, {"team": "paging", "format": "csv"})
    assert_problem(forbidden, 403, "forbidden")


@pytest.mark.parametrize("paging", [{"limit": 5}, {"skip": 1}, {"cursor": "x"}, {"include_total": "true"}])
async def test_paging_parameters_with_csv_are_a_422_naming_them(client, admin_headers, paging) -> None:
    body = assert_problem(await list_jobs(client, admin_headers, {"format": "csv", **paging}), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", next(iter(paging))]]
    # Asked by Accept rather than format=csv, the export refuses them the same way.
    response = await client.get(JOBS, params=paging, headers={**admin_headers, "Accept": "text/csv"})
    if "cursor" in paging:  # a made-up cursor is refused first, as not one the service issued
        assert_problem(response, 422)
    else:
        body = assert_problem(response, 422)
        assert [e["loc"] for e in body["errors"]] == [["query", next(iter(paging))]]
