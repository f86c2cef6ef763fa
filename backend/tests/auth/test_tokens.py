"""Bearer tokens: only an HS256 JWS signed with the service key, unexpired, issued by jobcost, naming an active
user, gets through. Everything else is a 401 problem with `WWW-Authenticate: Bearer`, never a 500 (F20)."""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
import zlib
from collections.abc import Callable

import pytest

from app.auth.service import AuthService
from tests.api.problems import assert_unauthenticated
from tests.auth.conftest import b64url, claims_for, forge, unsigned
from tests.factories import DEFAULT_PASSWORD, bearer

ME = "/api/v1/auth/me"
EMAIL = "tokens@example.test"


def _jwe_zip_bomb() -> str:
    """A compact JWE (five segments) whose ciphertext is 1 MB of zeros deflated to about 1 KB: small enough to
    pass a length cap, so only "JWS, three segments" stands between it and a decompressing decoder."""
    header = b64url(json.dumps({"alg": "dir", "enc": "A256GCM", "zip": "DEF"}).encode())
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    ciphertext = deflate.compress(bytes(1_000_000)) + deflate.flush()
    return ".".join([header, "", b64url(secrets.token_bytes(12)), b64url(ciphertext), b64url(secrets.token_bytes(16))])


def _two_segments(user_id: uuid.UUID) -> str:
    header, payload, _signature = forge(claims_for(user_id)).split(".")
    return f"{header}.{payload}"


def _expired(user_id: uuid.UUID) -> str:
    now = int(time.time())
    return forge(claims_for(user_id, iat=now - 7200, exp=now - 60))


def _not_yet_valid(user_id: uuid.UUID) -> str:
    return forge(claims_for(user_id, nbf=int(time.time()) + 3600))


# Each case builds the Authorization header (or none) for an existing, active user's id.
BAD_CREDENTIALS: dict[str, Callable[[uuid.UUID], dict[str, str]]] = {
    "no-header": lambda uid: {},
    "basic-scheme": lambda uid: {"Authorization": "Basic " + base64.b64encode(
        f"{EMAIL}:{DEFAULT_PASSWORD}".encode()).decode()},
    "empty-bearer": lambda uid: {"Authorization": "Bearer "},
    "garbage": lambda uid: {"Authorization": "Bearer not-a-token"},
    "two-segments": lambda uid: {"Authorization": f"Bearer {_two_segments(uid)}"},
    "expired": lambda uid: {"Authorization": f"Bearer {_expired(uid)}"},
    "not-yet-valid": lambda uid: {"Authorization": f"Bearer {_not_yet_valid(uid)}"},
    "alg-none": lambda uid: {"Authorization": f"Bearer {unsigned(claims_for(uid))}"},
    "hs512-real-key": lambda uid: {"Authorization": f"Bearer {forge(claims_for(uid), algorithm='HS512')}"},
    "other-key": lambda uid: {"Authorization": f"Bearer {forge(claims_for(uid), key='x' * 64)}"},
    "wrong-issuer": lambda uid: {"Authorization": f"Bearer {forge(claims_for(uid, iss='someone-else'))}"},
    "no-issuer": lambda uid: {"Authorization": f"Bearer {forge(claims_for(uid, iss=None))}"},
    "no-expiry": lambda uid: {"Authorization": f"Bearer {forge(claims_for(uid, exp=None))}"},
    "no-subject": lambda uid: {"Authorization": f"Bearer {forge(claims_for(uid, sub=None))}"},
    "subject-not-uuid": lambda uid: {"Authorization": f"Bearer {forge(claims_for('admin@example.com'))}"},
    "subject-not-string": lambda uid: {"Authorization": f"Bearer {forge(claims_for(uid, sub=12345))}"},
    "unknown-user": lambda uid: {"Authorization": f"Bearer {forge(claims_for(uuid.uuid4()))}"},
    "no-generation": lambda uid: {"Authorization": f"Bearer {forge(claims_for(uid, gen=None))}"},
    "stale-generation": lambda uid: {"Authorization": f"Bearer {forge(claims_for(uid, gen=1))}"},
    "expiry-beyond-datetime": lambda uid: {"Authorization": f"Bearer {forge(claims_for(uid, exp=10**20))}"},
    "generation-not-int": lambda uid: {"Authorization": f"Bearer {forge(claims_for(uid, gen='0'))}"},
    "jwe-five-segments": lambda uid: {"Authorization": f"Bearer {_jwe_zip_bomb()}"},
}


# HS512 with the real (56-byte) key is the point of one case; PyJWT's advice on key length is noise here.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("case", list(BAD_CREDENTIALS))
async def test_bad_credentials_are_refused_with_a_bearer_challenge(client, make_user, case: str) -> None:
    user = await make_user(EMAIL)

    response = await client.get(ME, headers=BAD_CREDENTIALS[case](user.id))

    assert_unauthenticated(response)


async def test_the_forging_helpers_make_tokens_the_app_accepts(client, make_user) -> None:
    """Guards the cases above: a refusal must come from the one thing each case changes."""
    user = await make_user(EMAIL)

    response = await client.get(ME, headers={"Authorization": f"Bearer {forge(claims_for(user.id))}"})

    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(user.id)


async def test_the_scheme_name_is_case_insensitive(client, make_user) -> None:
    # RFC 7235: auth-scheme is case-insensitive.
    await make_user(EMAIL)
    token = (await bearer(client, EMAIL))["Authorization"].removeprefix("Bearer ")

    response = await client.get(ME, headers={"Authorization": f"bearer {token}"})

    assert response.status_code == 200, response.text


async def test_a_300_kb_bearer_string_is_refused_not_parsed(client, make_user) -> None:
    await make_user(EMAIL)
    huge = secrets.token_urlsafe(225_000)
    assert len(huge) >= 300_000

    response = await client.get(ME, headers={"Authorization": f"Bearer {huge}"})

    assert response.status_code in (401, 431), response.text
    if response.status_code == 401:
        assert_unauthenticated(response)


async def test_a_token_stops_working_when_its_user_is_deactivated(client, sessionmaker, settings, make_user) -> None:
    await make_user(EMAIL)
    headers = await bearer(client, EMAIL)
    assert (await client.get(ME, headers=headers)).status_code == 200

    async with sessionmaker() as session:
        await AuthService(session, settings).set_active(EMAIL, False)
        await session.commit()

    assert_unauthenticated(await client.get(ME, headers=headers))
    assert_unauthenticated(await client.get("/api/v1/admin/users", headers=headers))


async def test_tokens_revoked_by_deactivation_stay_dead_after_reactivation(client, sessionmaker, settings,
                                                                            make_user) -> None:
    await make_user(EMAIL)
    old = await bearer(client, EMAIL)

    async with sessionmaker() as session:
        await AuthService(session, settings).set_active(EMAIL, False)
        await AuthService(session, settings).set_active(EMAIL, True)
        await session.commit()

    assert_unauthenticated(await client.get(ME, headers=old))
    fresh = await bearer(client, EMAIL)
    assert (await client.get(ME, headers=fresh)).status_code == 200


async def test_activating_an_active_user_keeps_its_tokens(client, sessionmaker, settings, make_user) -> None:
    await make_user(EMAIL)
    headers = await bearer(client, EMAIL)

    async with sessionmaker() as session:
        await AuthService(session, settings).set_active(EMAIL, True)
        await session.commit()

    assert (await client.get(ME, headers=headers)).status_code == 200
