"""API tokens through the service: what is stored, what the JWT says, and when it stops being accepted.

Instants are passed as `now` (the JWT's `exp` and the row's `expires_at` are both compared with it), never read
from the wall clock, except in the tests of tokens the service never issued, which are valid for a day from the
current time.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import select

from app.auth.api_tokens import (
    API_TOKEN_AUDIENCE,
    ApiTokenService,
    decode_api_token,
    encode_api_token,
    looks_like_api_token,
    token_state,
)
from app.auth.service import AuthService
from app.core.errors import NotAuthenticatedError, NotFoundError, UnprocessableError
from app.core.security import InvalidTokenError, create_access_token, decode_access_token
from app.db.models import ApiToken, Role, TokenScope
from tests.auth.conftest import unsigned
from tests.conftest import TEST_SECRET
from tests.factories import create_user

# A fixed issue instant with a fractional second: the token keeps whole seconds, as JWT instants are.
ISSUED = datetime(2026, 3, 1, 10, 20, 30, 500_000, tzinfo=UTC)
ISSUED_S = datetime(2026, 3, 1, 10, 20, 30, tzinfo=UTC)
# 365 days after 2026-03-01 (no 29 February in between: 2027 is not a leap year) is 2027-03-01.
EXPIRES_365 = datetime(2027, 3, 1, 10, 20, 30, tzinfo=UTC)
# Far in the past, so that PyJWT's own `exp` check (against the real clock) refuses these tokens whatever the date.
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def tokens(session, settings) -> ApiTokenService:
    return ApiTokenService(session, settings)


async def test_create_stores_the_row_and_signs_a_jwt_naming_it(tokens: ApiTokenService, session) -> None:
    issued = await tokens.create(TokenScope.ingest, 365, "  slurm-a head node cron ", now=ISSUED)
    await session.commit()

    row = (await session.execute(select(ApiToken))).scalar_one()
    assert row.id == issued.record.id
    assert (row.name, row.scope, row.revoked_at, row.last_used_at) == (
        "slurm-a head node cron", TokenScope.ingest, None, None)
    assert (row.created_at, row.expires_at) == (ISSUED_S, EXPIRES_365)

    payload = jwt.decode(issued.token, TEST_SECRET, algorithms=["HS256"], audience=API_TOKEN_AUDIENCE,
                         options={"verify_exp": False})
    # 2026-03-01T10:20:30Z in seconds since the epoch: 1970..2025 is 56 years with 14 leap days (1972..2024),
    # 56 × 365 + 14 = 20,454 days, plus January and February 2026 (31 + 28) = 20,513 days × 86,400 s
    # = 1,772,323,200 s, plus 10:20:30 (37,230 s) = 1,772,360,430. `exp` is 365 days (× 86,400 s) later.
    assert payload == {"iss": "jobcost", "aud": "jobcost-api-token", "scope": "ingest", "jti": str(row.id),
                       "iat": 1772360430, "exp": 1772360430 + 365 * 86_400}
    assert "sub" not in payload and "gen" not in payload
    # Nothing secret is stored: the row's text does not contain the token's signature.
    assert issued.token.rsplit(".", 1)[1] not in repr(row.__dict__)


@pytest.mark.parametrize("days", [1, 3650])
async def test_expires_days_bounds_are_accepted(tokens: ApiTokenService, days: int) -> None:
    issued = await tokens.create(TokenScope.ingest, days, now=ISSUED)
    assert issued.record.expires_at - issued.record.created_at == timedelta(days=days)


@pytest.mark.parametrize("days", [0, -1, 3651, True, 1.5])
async def test_expires_days_out_of_bounds_is_refused(tokens: ApiTokenService, session, days: object) -> None:
    with pytest.raises(UnprocessableError, match="expires_days: must be a whole number of days from 1 to 3650"):
        await tokens.create(TokenScope.ingest, days, now=ISSUED)  # type: ignore[arg-type]
    assert (await session.execute(select(ApiToken))).first() is None


@pytest.mark.parametrize("scope", ["admin", "INGEST", "Read", ""])
async def test_an_unknown_scope_is_refused(tokens: ApiTokenService, scope: str) -> None:
    with pytest.raises(UnprocessableError, match=r"scope: .* is not a token scope \(allowed: ingest, read\)"):
        await tokens.create(scope, 30, now=ISSUED)


@pytest.mark.parametrize(("name", "stored"), [(None, None), ("   ", None), (" Cafe\u0301 cron ", "Caf\u00e9 cron")])
async def test_names_are_trimmed_and_normalised(tokens: ApiTokenService, name: str | None, stored: str | None) -> None:
    # "e" + combining acute (U+0301) is NFC-normalised to the single "é" (U+00E9); blank means no name.
    issued = await tokens.create(TokenScope.ingest, 30, name, now=ISSUED)
    assert issued.record.name == stored


@pytest.mark.parametrize(("name", "message"), [
    ("a\tb", "control or invisible"), ("zero\u200bwidth", "control or invisible"),
    ("n" * 256, "at most 255 characters")])
async def test_bad_names_are_refused(tokens: ApiTokenService, name: str, message: str) -> None:
    with pytest.raises(UnprocessableError, match=f"name: {message}"):
        await tokens.create(TokenScope.ingest, 30, name, now=ISSUED)


async def test_a_token_is_accepted_until_it_expires(tokens: ApiTokenService) -> None:
    issued = await tokens.create(TokenScope.ingest, 1, now=ISSUED)
    expires = ISSUED_S + timedelta(days=1)  # 2026-03-02T10:20:30Z

    row = await tokens.authenticate(issued.token, now=expires - timedelta(seconds=1))
    assert row.id == issued.record.id
    assert token_state(row, expires - timedelta(seconds=1)) == "active"
    with pytest.raises(NotAuthenticatedError, match="This API token has expired"):
        await tokens.authenticate(issued.token, now=expires)
    assert token_state(row, expires) == "expired"


async def test_the_stored_expiry_is_checked_besides_the_jwts(tokens: ApiTokenService, session) -> None:
    """The row's `expires_at` is the server's own record: moved earlier, the token stops working then; moved
    later, the JWT's `exp` still ends it."""
    issued = await tokens.create(TokenScope.ingest, 30, now=ISSUED)  # exp: 2026-03-31T10:20:30Z
    issued.record.expires_at = ISSUED_S + timedelta(days=2)
    await session.flush()
    with pytest.raises(NotAuthenticatedError, match="This API token has expired"):
        await tokens.authenticate(issued.token, now=ISSUED_S + timedelta(days=3))

    issued.record.expires_at = datetime(2099, 1, 1, tzinfo=UTC)
    await session.flush()
    assert await tokens.authenticate(issued.token, now=ISSUED_S + timedelta(days=29)) is issued.record
    with pytest.raises(NotAuthenticatedError, match="This API token has expired"):
        await tokens.authenticate(issued.token, now=ISSUED_S + timedelta(days=30))


async def test_a_token_created_with_a_past_expiry_is_refused_now(tokens: ApiTokenService) -> None:
    issued = await tokens.create(TokenScope.ingest, 30, now=LONG_AGO)  # expired 2020-01-31
    with pytest.raises(NotAuthenticatedError, match="This API token has expired"):
        await tokens.authenticate(issued.token)


async def test_revoke_refuses_the_token_at_once_and_is_idempotent(tokens: ApiTokenService) -> None:
    issued = await tokens.create(TokenScope.ingest, 30, now=ISSUED)
    revoked_at = ISSUED + timedelta(hours=2)

    row, newly = await tokens.revoke(str(issued.record.id), now=revoked_at)
    assert (newly, row.revoked_at) == (True, revoked_at)
    with pytest.raises(NotAuthenticatedError, match="This API token has been revoked"):
        await tokens.authenticate(issued.token, now=ISSUED + timedelta(hours=3))
    assert token_state(row, ISSUED + timedelta(hours=3)) == "revoked"

    again, newly = await tokens.revoke(issued.record.id.hex.upper(), now=revoked_at + timedelta(days=1))
    assert (again.id, newly, again.revoked_at) == (issued.record.id, False, revoked_at)


async def test_revoke_an_unknown_or_malformed_id(tokens: ApiTokenService) -> None:
    unknown = uuid.uuid4()
    with pytest.raises(NotFoundError, match=f"no API token with id {unknown}"):
        await tokens.revoke(str(unknown))
    with pytest.raises(UnprocessableError, match="not a token id"):
        await tokens.revoke("slurm-cron")


async def test_list_shows_every_token_oldest_first(tokens: ApiTokenService) -> None:
    second = await tokens.create(TokenScope.ingest, 30, "second", now=ISSUED + timedelta(minutes=1))
    first = await tokens.create(TokenScope.ingest, 30, "first", now=ISSUED)
    await tokens.revoke(first.record.id, now=ISSUED + timedelta(minutes=2))

    listed = await tokens.list_tokens()
    assert [(t.name, t.revoked_at is not None) for t in listed] == [("first", True), ("second", False)]
    assert second.record in listed


async def test_record_use_sets_last_used_only(tokens: ApiTokenService, session) -> None:
    issued = await tokens.create(TokenScope.ingest, 30, now=ISSUED)
    used = ISSUED + timedelta(days=3)

    await tokens.record_use(issued.record, now=used)
    await session.commit()

    row = (await session.execute(select(ApiToken).execution_options(populate_existing=True))).scalar_one()
    assert (row.last_used_at, row.updated_at, row.created_at) == (used, ISSUED_S, ISSUED_S)


@pytest.mark.parametrize("case", ["other-key", "alg-none", "unknown-jti", "no-scope", "unknown-scope",
                                  "sign-in-token", "jti-not-a-uuid"])
async def test_tokens_the_service_never_issued_are_refused(tokens: ApiTokenService, sessionmaker, settings,
                                                           case: str) -> None:
    issued = await tokens.create(TokenScope.ingest, 30)
    now = datetime.now(UTC)
    claims = {"iss": "jobcost", "aud": API_TOKEN_AUDIENCE, "scope": "ingest", "jti": str(issued.record.id),
              "iat": int(now.timestamp()), "exp": int((now + timedelta(days=1)).timestamp())}
    key = TEST_SECRET
    if case == "other-key":
        key = "k" * 64
    elif case == "unknown-jti":
        claims["jti"] = str(uuid.uuid4())
    elif case == "no-scope":
        del claims["scope"]
    elif case == "unknown-scope":
        claims["scope"] = "read"
    elif case == "jti-not-a-uuid":
        claims["jti"] = "1"
    token = jwt.encode(claims, key, algorithm="HS256")
    if case == "alg-none":
        token = unsigned(claims)
    elif case == "sign-in-token":
        admin = await create_user(sessionmaker, settings, "admin@tokens.test", role=Role.admin)
        token = create_access_token(admin.id, secret=TEST_SECRET, minutes=5)

    with pytest.raises(NotAuthenticatedError, match="Invalid or expired bearer token"):
        await tokens.authenticate(token)


async def test_an_api_token_never_passes_as_a_user(tokens: ApiTokenService, session, sessionmaker,
                                                   settings) -> None:
    """Even when it also carries a user's `sub` and `gen`, an API token (it has an `aud`) is refused by the
    sign-in token decoder; and the marker that routes a token to the API token check is its `aud` alone."""
    admin = await create_user(sessionmaker, settings, "root@tokens.test", role=Role.admin)
    issued = await tokens.create(TokenScope.ingest, 30)
    with pytest.raises(InvalidTokenError):
        decode_access_token(issued.token, secret=TEST_SECRET)
    now = datetime.now(UTC)
    hybrid = jwt.encode({"iss": "jobcost", "aud": API_TOKEN_AUDIENCE, "scope": "ingest", "sub": str(admin.id),
                         "gen": 0, "jti": str(issued.record.id), "iat": int(now.timestamp()),
                         "exp": int((now + timedelta(hours=1)).timestamp())}, TEST_SECRET, algorithm="HS256")
    with pytest.raises(InvalidTokenError):
        decode_access_token(hybrid, secret=TEST_SECRET)
    with pytest.raises(NotAuthenticatedError):
        await AuthService(session, settings).user_for_token(issued.token)
    assert looks_like_api_token(hybrid) and looks_like_api_token(issued.token)


async def test_a_sign_in_token_is_never_an_api_token(sessionmaker, settings) -> None:
    admin = await create_user(sessionmaker, settings, "root2@tokens.test", role=Role.admin)
    user_token = create_access_token(admin.id, secret=TEST_SECRET, minutes=5)
    assert not looks_like_api_token(user_token)
    with pytest.raises(InvalidTokenError):
        decode_api_token(user_token, secret=TEST_SECRET)
    # A sign-in token that also says `scope: ingest` is still no API token: no `aud`, so no scope is read.
    now = datetime.now(UTC)
    scoped = jwt.encode({"iss": "jobcost", "sub": str(admin.id), "gen": 0, "scope": "ingest",
                         "iat": int(now.timestamp()), "exp": int((now + timedelta(hours=1)).timestamp())},
                        TEST_SECRET, algorithm="HS256")
    assert not looks_like_api_token(scoped)
    with pytest.raises(InvalidTokenError):
        decode_api_token(scoped, secret=TEST_SECRET)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "x" * 5000])
def test_garbage_is_not_an_api_token(token: str) -> None:
    assert not looks_like_api_token(token)
    with pytest.raises(InvalidTokenError):
        decode_api_token(token, secret=TEST_SECRET)


def test_encode_then_decode_round_trips() -> None:
    token_id = uuid.uuid4()
    token = encode_api_token(token_id, TokenScope.ingest, secret=TEST_SECRET, issued_at=datetime.now(UTC),
                             expires_at=datetime.now(UTC) + timedelta(days=2))
    claims = decode_api_token(token, secret=TEST_SECRET)
    assert (claims.token_id, claims.scope) == (token_id, TokenScope.ingest)
