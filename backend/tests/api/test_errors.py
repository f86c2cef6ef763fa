"""Every error is `application/problem+json`, whatever raised it (F29): routing, request parsing, a pydantic
check run inside a dependency, or a bug. A client's mistake is never a 500 and nothing echoes its input."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import BaseModel, ValidationInfo, field_validator, model_validator
from sqlalchemy.exc import DataError, DBAPIError

from tests.api.conftest import probe_client_for
from tests.api.problems import assert_problem


class RangeChecked(BaseModel):
    """The naive shape of a cross-field check: a model validator, which pydantic cannot tie to one field."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> RangeChecked:
        if self.end < self.start:
            raise ValueError("end must be on or after start")
        return self


class RangeCheckedOnEnd(BaseModel):
    """The same check declared on `end`, so the error can say which field is wrong."""

    start: dt.date
    end: dt.date

    @field_validator("end")
    @classmethod
    def _not_before_start(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError("end must be on or after start")
        return end


class Batch(BaseModel):
    jobs: list[dict[str, Any]]


probe = APIRouter(prefix="/test-only")


@probe.get("/range/depends")
async def range_depends(window: Annotated[RangeChecked, Depends()]) -> dict[str, str]:
    return {"start": window.start.isoformat()}


@probe.get("/range/depends-field")
async def range_depends_field(window: Annotated[RangeCheckedOnEnd, Depends()]) -> dict[str, str]:
    return {"start": window.start.isoformat()}


@probe.get("/range/query")
async def range_query(window: Annotated[RangeChecked, Query()]) -> dict[str, str]:
    return {"start": window.start.isoformat()}


@probe.post("/batch")
async def batch(body: Batch) -> dict[str, int]:
    return {"received": len(body.jobs)}


@probe.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret detail")


@probe.get("/unstorable")
async def unstorable() -> None:
    # What the database driver raises for a value it cannot store, e.g. a NUL byte in PostgreSQL text.
    raise DataError("INSERT INTO t VALUES ($1)", {}, ValueError("invalid byte sequence for encoding UTF8: 0x00"))


class _DriverError(Exception):
    """Stands for a driver exception carrying a SQLSTATE, as asyncpg's do (through SQLAlchemy's adapter)."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@probe.get("/db-error/{sqlstate}")
async def db_error(sqlstate: str) -> None:
    raise DBAPIError("UPDATE jobs SET cost_micros = $1", {}, _DriverError(sqlstate))


@pytest.fixture
async def probe_client(bare_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with probe_client_for(bare_app, probe) as client:
        yield client


@pytest.mark.parametrize("path", ["/nope", "/api/v1/nope", "/api/v1/auth/me/extra", "/api/v2/auth/me"])
async def test_an_unknown_route_is_a_404_problem(bare_client: httpx.AsyncClient, path: str) -> None:
    assert_problem(await bare_client.get(path), 404, "not-found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("DELETE", "/api/v1/auth/me", "GET"), ("GET", "/api/v1/auth/token", "POST"), ("POST", "/health", "GET")],
)
async def test_a_wrong_method_is_a_405_problem_naming_the_allowed_ones(
    bare_client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    response = await bare_client.request(method, path)

    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == allowed


async def test_range_works_when_ordered(probe_client: httpx.AsyncClient) -> None:
    for path in ("depends", "depends-field", "query"):
        response = await probe_client.get(f"/test-only/range/{path}", params={"start": "2026-01-10",
                                                                             "end": "2026-01-10"})
        assert response.status_code == 200, (path, response.text)


async def test_a_model_validator_in_depends_is_a_422_not_a_500(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/test-only/range/depends", params={"start": "2026-01-15",
                                                                          "end": "2026-01-10"})

    body = assert_problem(response, 422, "validation-error")
    assert len(body["errors"]) == 1
    assert body["errors"][0]["type"] == "value_error"
    assert "end must be on or after start" in body["errors"][0]["msg"]


async def test_a_cross_field_check_in_depends_names_the_field(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/test-only/range/depends-field", params={"start": "2026-01-15",
                                                                                "end": "2026-01-10"})

    body = assert_problem(response, 422, "validation-error")
    assert [error["loc"][-1] for error in body["errors"]] == ["end"]
    assert "end" in body["detail"]
    assert "2026-01-10" not in response.text  # the submitted value is not echoed


async def test_a_model_validator_in_a_query_model_is_a_422(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/test-only/range/query", params={"start": "2026-01-15", "end": "2026-01-10"})

    body = assert_problem(response, 422, "validation-error")
    assert len(body["errors"]) == 1
    assert body["errors"][0]["loc"][0] == "query"
    assert "end must be on or after start" in body["errors"][0]["msg"]


@pytest.mark.parametrize("path", ["depends", "depends-field", "query"])
async def test_an_unparseable_date_names_the_query_field(probe_client: httpx.AsyncClient, path: str) -> None:
    response = await probe_client.get(f"/test-only/range/{path}", params={"start": "yesterday", "end": "2026-01-10"})

    body = assert_problem(response, 422, "validation-error")
    assert [error["loc"] for error in body["errors"]] == [["query", "start"]]
    assert "yesterday" not in response.text


@pytest.mark.parametrize("broken", [b'{"jobs": [', b"{'jobs': []}", b'{"jobs": []} trailing', b"\xff\xfe"])
async def test_broken_json_is_a_400_malformed_json_problem(probe_client: httpx.AsyncClient, broken: bytes) -> None:
    response = await probe_client.post("/test-only/batch", content=broken,
                                       headers={"content-type": "application/json"})

    assert_problem(response, 400, "malformed-json")


async def test_a_wrongly_shaped_body_is_a_422_naming_the_field(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/test-only/batch", json={"jobs": "not-a-list"})

    body = assert_problem(response, 422, "validation-error")
    assert [error["loc"] for error in body["errors"]] == [["body", "jobs"]]
    assert all(set(error) == {"loc", "msg", "type"} for error in body["errors"])
    assert "not-a-list" not in response.text


async def test_a_missing_body_is_a_422(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/test-only/batch")

    body = assert_problem(response, 422, "validation-error")
    assert [error["loc"] for error in body["errors"]] == [["body"]]


async def test_a_bug_is_a_bare_500_problem_and_is_logged(
    probe_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="jobcost.errors"):
        response = await probe_client.get("/test-only/boom")

    assert_problem(response, 500, "internal-error")
    for leak in ("secret detail", "Traceback", "RuntimeError", "test_errors"):
        assert leak not in response.text
    assert "secret detail" in caplog.text  # the operator still gets the story


async def test_a_value_the_database_cannot_store_is_a_422_not_a_500(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/test-only/unstorable")

    assert_problem(response, 422, "unstorable-value")
    assert "0x00" not in response.text and "INSERT" not in response.text


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"], ids=["deadlock", "serialization-failure"])
async def test_a_write_that_lost_to_a_concurrent_one_is_a_retryable_503(
        probe_client: httpx.AsyncClient, sqlstate: str) -> None:
    response = await probe_client.get(f"/test-only/db-error/{sqlstate}")

    assert_problem(response, 503, "database-busy")
    assert response.headers["retry-after"]
    assert "UPDATE" not in response.text


async def test_any_other_driver_error_is_a_bare_500(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/test-only/db-error/42P01")

    assert_problem(response, 500, "internal-error")
    assert "UPDATE" not in response.text


async def test_a_form_the_parser_refuses_is_a_400_bad_request_problem(bare_client: httpx.AsyncClient) -> None:
    # Starlette's own form errors (here: multipart without a boundary) get a real title, not "Error".
    response = await bare_client.post("/api/v1/auth/token", content=b"--x--",
                                      headers={"content-type": "multipart/form-data"})

    assert_problem(response, 400, "bad-request")
    assert response.json()["title"] == "Bad request"
