"""Request size limits (F31): bodies over the limit are refused with 413 before they are read whole, whether
they declare a Content-Length or stream without one; oversized header sections get 431. Both problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.main import create_app
from tests.api.problems import assert_problem
from tests.conftest import make_settings

LIMIT = 4096
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def small_client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings("sqlite+aiosqlite:///unused-by-these-tests.db", max_body_bytes=LIMIT))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_a_declared_body_over_the_limit_is_413_naming_the_limit(small_client: httpx.AsyncClient) -> None:
    response = await small_client.post("/api/v1/auth/token", content=b"a" * (LIMIT + 1), headers=FORM)

    assert_problem(response, 413, "content-too-large")
    assert "4,096 bytes" in response.json()["detail"]


async def test_a_streamed_body_is_cut_off_once_it_passes_the_limit(small_client: httpx.AsyncClient) -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(1000):  # 1 MB in all, far past the limit, with no Content-Length
            sent.append(1)
            yield b"x" * 1024

    response = await small_client.post("/api/v1/auth/token", content=chunks(), headers=FORM)

    assert_problem(response, 413, "content-too-large")
    # The app stopped reading soon after the limit: it did not take the whole megabyte first.
    assert len(sent) < 20


async def test_a_body_at_the_limit_is_read_as_usual(settings, sessionmaker) -> None:
    app = create_app(settings.model_copy(update={"max_body_bytes": LIMIT}))
    app.state.sessionmaker = sessionmaker
    body = b"username=a%40example.test&password=" + b"p" * (LIMIT - 35)
    assert len(body) == LIMIT

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.post("/api/v1/auth/token", content=body, headers=FORM)

    # Read whole and judged on its merits: nobody has that e-mail.
    assert_problem(response, 401, "invalid-credentials")


async def test_oversized_headers_are_431(small_client: httpx.AsyncClient) -> None:
    response = await small_client.get("/health", headers={"x-padding": "a" * 20_000})

    assert_problem(response, 431, "headers-too-large")


async def test_an_8_mb_bearer_header_is_refused_before_any_token_parsing(small_client: httpx.AsyncClient) -> None:
    response = await small_client.get("/api/v1/auth/me", headers={"Authorization": "Bearer " + "a" * 8_000_000})

    assert_problem(response, 431, "headers-too-large")


async def test_the_default_limit_is_16_mib() -> None:
    assert make_settings("sqlite+aiosqlite:///unused.db").max_body_bytes == 16 * 1024 * 1024
