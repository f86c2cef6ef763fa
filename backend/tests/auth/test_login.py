"""`POST /api/v1/auth/token`: the OAuth2 password form, its token, and refusals that reveal nothing (F23)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import security
from app.main import create_app
from tests.api.problems import assert_problem, assert_unauthenticated
from tests.conftest import TEST_SECRET, make_settings
from tests.databases import ScratchDatabase
from tests.factories import DEFAULT_PASSWORD, login

TOKEN_URL = "/api/v1/auth/token"


async def test_login_returns_an_hour_long_bearer_token_naming_the_user(client, make_user) -> None:
    user = await make_user("ana@example.test")

    response = await login(client, "ana@example.test")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    token = body["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"], issuer="jobcost")
    assert claims["sub"] == str(user.id)
    assert claims["exp"] - claims["iat"] == 3600

    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json() == {"id": str(user.id), "email": "ana@example.test", "role": "member", "teams": []}


async def test_token_lifetime_follows_the_setting(
    migrated_db: ScratchDatabase, sessionmaker: async_sessionmaker[AsyncSession], make_user
) -> None:
    await make_user("short@example.test")
    app = create_app(make_settings(migrated_db.url, access_token_minutes=5))
    app.state.sessionmaker = sessionmaker
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        response = await login(c, "short@example.test")

    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 300
    claims = jwt.decode(response.json()["access_token"], TEST_SECRET, algorithms=["HS256"], issuer="jobcost")
    assert claims["exp"] - claims["iat"] == 300


@pytest.mark.parametrize("typed", ["mixed.case@example.test", "MIXED.CASE@EXAMPLE.TEST", "  Mixed.Case@Example.Test "])
async def test_email_is_matched_without_case_or_surrounding_space(client, make_user, typed: str) -> None:
    user = await make_user("Mixed.Case@Example.Test")

    response = await login(client, typed)

    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], TEST_SECRET, algorithms=["HS256"], issuer="jobcost")
    assert claims["sub"] == str(user.id)


async def test_unknown_email_wrong_password_and_deactivated_user_get_the_same_answer(client, make_user) -> None:
    await make_user("known@example.test")
    await make_user("gone@example.test", active=False)

    responses = [
        await login(client, "known@example.test", "Wrong-Pass-1"),
        await login(client, "nobody@example.test", "Wrong-Pass-1"),
        # The right password of a deactivated account must not tell the caller that the password was right.
        await login(client, "gone@example.test", DEFAULT_PASSWORD),
    ]

    for response in responses:
        body = assert_unauthenticated(response, "invalid-credentials")
        assert body["detail"] == "Incorrect email or password"
    assert len({r.content for r in responses}) == 1
    # Every header alike, but the request id each answer echoes (a fresh one per request).
    assert len({tuple(sorted((k, v) for k, v in r.headers.multi_items() if k != "x-request-id"))
                for r in responses}) == 1


@dataclass(frozen=True)
class Verification:
    hash: str
    on_event_loop: bool


@pytest.fixture
def verify_calls(monkeypatch: pytest.MonkeyPatch) -> list[Verification]:
    """Every argon2 verification the app runs: the hash it checked against, and where it ran."""
    calls: list[Verification] = []
    original = security._password_hash.verify

    def spy(password: str | bytes, hash: str | bytes) -> bool:  # noqa: A002 - pwdlib's parameter name
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        calls.append(Verification(hash if isinstance(hash, str) else hash.decode(), on_loop))
        return original(password, hash)

    monkeypatch.setattr(security._password_hash, "verify", spy)
    return calls


def _argon2_parameters(phc: str) -> list[str]:
    # `$argon2id$v=19$m=65536,t=3,p=4$salt$digest`: the variant, version and cost decide the time taken.
    return phc.split("$")[1:4]


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("nobody@example.test", "Wrong-Pass-1"),
        ("known@example.test", "Wrong-Pass-1"),
        ("gone@example.test", DEFAULT_PASSWORD),
        ("known@example.test", DEFAULT_PASSWORD),
    ],
    ids=["unknown-email", "wrong-password", "deactivated", "success"],
)
async def test_every_login_costs_exactly_one_full_argon2_verification(
    client, make_user, verify_calls: list[Verification], email: str, password: str
) -> None:
    """F23 without a clock: each path verifies once, against a hash of the stored hashes' cost, so an unknown
    e-mail takes as long as a wrong password."""
    known = await make_user("known@example.test")
    await make_user("gone@example.test", active=False)
    verify_calls.clear()

    response = await login(client, email, password)

    assert response.status_code == (200 if email == "known@example.test" and password == DEFAULT_PASSWORD else 401)
    assert len(verify_calls) == 1, verify_calls
    assert verify_calls[0].hash.startswith("$argon2id$")
    assert _argon2_parameters(verify_calls[0].hash) == _argon2_parameters(known.hashed_password)


async def test_password_checks_run_off_the_event_loop(client, make_user, verify_calls: list[Verification]) -> None:
    """argon2 spends ~0.1 s of CPU by design; on the event loop that would stall every other request, so a
    handful of sign-in attempts a second could freeze the API."""
    await make_user("known@example.test")
    verify_calls.clear()

    await login(client, "known@example.test")
    await login(client, "known@example.test", "Wrong-Pass-1")
    await login(client, "nobody@example.test", "Wrong-Pass-1")

    assert [call.on_event_loop for call in verify_calls] == [False, False, False]


SECRET_VALUE = "hunter2-sent-in-the-wrong-place"


@pytest.mark.parametrize(
    ("send", "missing"),
    [
        ({"data": {"username": "ana@example.test", "passwd": SECRET_VALUE}}, [["body", "password"]]),
        ({"data": {"password": SECRET_VALUE}}, [["body", "username"]]),
        ({"json": {"username": "ana@example.test", "password": SECRET_VALUE}},
         [["body", "username"], ["body", "password"]]),
    ],
    ids=["password-field-misnamed", "username-missing", "json-instead-of-form"],
)
async def test_a_malformed_form_is_422_and_never_echoes_the_password(client, send: dict, missing: list) -> None:
    response = await client.post(TOKEN_URL, **send)

    body = assert_problem(response, 422, "validation-error")
    assert [error["loc"] for error in body["errors"]] == missing
    assert all(set(error) == {"loc", "msg", "type"} for error in body["errors"])
    assert SECRET_VALUE not in response.text
    assert "input" not in response.text


async def test_a_foreign_grant_type_is_422_without_echoing_the_form(client) -> None:
    response = await client.post(TOKEN_URL, data={"grant_type": "client_credentials",
                                                  "username": "ana@example.test", "password": SECRET_VALUE})

    body = assert_problem(response, 422, "validation-error")
    assert [error["loc"] for error in body["errors"]] == [["body", "grant_type"]]
    assert SECRET_VALUE not in response.text
    assert "client_credentials" not in response.text


async def test_a_nul_character_in_the_email_is_an_ordinary_refusal(client, make_user) -> None:
    # PostgreSQL text cannot hold NUL: sent to the database it raised a driver error (500) there.
    await make_user("ana@example.test")

    response = await client.post(TOKEN_URL, data={"username": "ana\x00@example.test", "password": DEFAULT_PASSWORD})

    assert_unauthenticated(response, "invalid-credentials")


async def test_the_token_response_is_not_cacheable(client, make_user) -> None:
    await make_user("ana@example.test")

    response = await login(client, "ana@example.test")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
