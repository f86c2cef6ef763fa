"""Who may read `/metrics`: any address in development, loopback and private networks in production
(`JOBCOST_METRICS_ALLOW` overrides both), and only with the bearer token when `JOBCOST_METRICS_TOKEN` is set."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from app.core.config import Environment, Settings
from app.main import create_app
from tests.api.problems import assert_problem
from tests.conftest import make_settings

PRODUCTION_KEY = "k" * 40
METRICS_TOKEN = "metrics-scrape-token-0123456789"  # noqa: S105 - a test value


async def _get(settings: Settings, address: str, headers: dict[str, str] | None = None) -> httpx.Response:
    app = create_app(settings)  # /metrics reads no database: no lifespan needed
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get("/metrics", headers=headers or {})


def _settings(env: Environment, **overrides: object) -> Settings:
    return make_settings("sqlite+aiosqlite:///unused.db", env=env, secret_key=PRODUCTION_KEY, **overrides)


@pytest.mark.parametrize("env", [Environment.development, Environment.test])
@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "203.0.113.9", "2001:db8::5"])
async def test_development_serves_any_address(env: Environment, address: str) -> None:
    response = await _get(_settings(env), address)
    assert response.status_code == 200, response.text
    assert "jobcost_build_info" in response.text
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("address", "status"), [
    ("127.0.0.1", 200), ("::1", 200), ("10.1.2.3", 200), ("172.20.0.5", 200), ("192.168.1.20", 200),
    ("fd12:3456::1", 200), ("::ffff:10.0.0.7", 200),
    ("203.0.113.9", 403), ("8.8.8.8", 403), ("172.32.0.1", 403), ("2001:db8::5", 403), ("testclient", 403),
])
async def test_production_serves_loopback_and_private_addresses_only(address: str, status: int) -> None:
    response = await _get(_settings(Environment.production), address)
    if status == 200:
        assert response.status_code == 200, response.text
    else:
        body = assert_problem(response, 403, "forbidden")
        assert "JOBCOST_METRICS_ALLOW" in body["detail"]
        assert "jobcost_" not in response.text


async def test_an_allow_list_replaces_the_default() -> None:
    settings = _settings(Environment.production, metrics_allow="203.0.113.0/24, 2001:db8::/32")
    assert (await _get(settings, "203.0.113.9")).status_code == 200
    assert (await _get(settings, "2001:db8::5")).status_code == 200
    assert (await _get(settings, "127.0.0.1")).status_code == 403  # not listed: loopback too is refused
    opened = _settings(Environment.production, metrics_allow="0.0.0.0/0,::/0")
    assert (await _get(opened, "8.8.8.8")).status_code == 200


@pytest.mark.parametrize("env", [Environment.development, Environment.production])
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {METRICS_TOKEN}", "Bearer ",
                                           f"Bearer {METRICS_TOKEN}x"])
async def test_a_token_is_required_when_set(env: Environment, authorization: str | None) -> None:
    settings = _settings(env, metrics_token=METRICS_TOKEN)
    headers = {"Authorization": authorization} if authorization else {}
    response = await _get(settings, "127.0.0.1", headers)
    body = assert_problem(response, 401, "not-authenticated")
    assert "JOBCOST_METRICS_TOKEN" in body["detail"] and METRICS_TOKEN not in response.text
    assert response.headers["www-authenticate"] == "Bearer"
    good = await _get(settings, "127.0.0.1", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert good.status_code == 200 and "jobcost_http_requests_total" in good.text


async def test_the_token_does_not_open_a_refused_network() -> None:
    settings = _settings(Environment.production, metrics_token=METRICS_TOKEN)
    response = await _get(settings, "203.0.113.9", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert_problem(response, 403, "forbidden")


def test_an_allow_list_that_is_no_network_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBCOST_METRICS_ALLOW", "10.0.0.0/8,intranet")
    with pytest.raises(ValidationError, match="'intranet' is not a network"):
        Settings()
