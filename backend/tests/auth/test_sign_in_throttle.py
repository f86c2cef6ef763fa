"""Sign-in throttling (`app.auth.throttle`): counted in the database, per account, per address and per pair.

Service tests move an injected clock; HTTP tests send sign-ins from chosen client addresses (the ASGI transport's
`client`), and the last ones run two app instances, each with its own engine, on one committed database: they
share the counts as two workers would. Limits are the defaults unless a test says otherwise: 5 failures per
account and 20 per address within 15 minutes, lockouts of 60 s doubling up to 900 s.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.auth.router import get_login_throttle
from app.auth.throttle import LoginThrottleService, ThrottleLimits, throttle_keys
from app.core.errors import TooManyRequestsError
from app.db.engine import create_engine, create_sessionmaker
from app.db.models import LoginThrottle, ThrottleKind
from app.main import create_app
from tests.api.problems import assert_problem
from tests.conftest import make_settings
from tests.databases import ScratchDatabase
from tests.factories import DEFAULT_PASSWORD, create_user

TOKEN = "/api/v1/auth/token"
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
USER = "ana@throttle.test"
LIMITS = ThrottleLimits(account_failures=5, address_failures=20, window_ms=900_000, first_lockout_ms=60_000,
                        max_lockout_ms=900_000)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def throttle(sessionmaker, clock: Clock) -> LoginThrottleService:
    return LoginThrottleService(sessionmaker, LIMITS, clock=clock)


async def fail(throttle: LoginThrottleService, times: int, email: str = USER, address: str = "10.0.0.1") -> None:
    """`times` failures that must each stay under the limits."""
    for _ in range(times):
        await throttle.check(email, address)
        await throttle.record_failure(email, address)


async def locked_for(throttle: LoginThrottleService, email: str = USER, address: str = "10.0.0.1") -> int:
    """The `Retry-After` seconds of the failure that locks, asserting it does."""
    with pytest.raises(TooManyRequestsError) as refused:
        await throttle.record_failure(email, address)
    return int(refused.value.headers["Retry-After"])


# --- the rule, through the service ---------------------------------------------------------------------------


async def test_the_fifth_failure_locks_the_account_for_the_addresses_that_failed(throttle, clock) -> None:
    await fail(throttle, 4)
    assert await locked_for(throttle) == 60
    with pytest.raises(TooManyRequestsError) as refused:
        await throttle.check(USER, "10.0.0.1")
    assert refused.value.headers == {"Retry-After": "60"}
    clock.advance(seconds=20.5)
    with pytest.raises(TooManyRequestsError) as refused:
        await throttle.check(USER, "10.0.0.1")
    assert refused.value.headers == {"Retry-After": "40"}  # 39.5 s left, rounded up
    # An address that never failed this account still tries its password: the real user is not locked out.
    await throttle.check(USER, "192.0.2.7")
    # Another account from the locking address is not locked either (4 + 1 failures are under the address's 20).
    await throttle.check("ben@throttle.test", "10.0.0.1")


async def test_the_lockout_ends_by_itself(throttle, clock) -> None:
    await fail(throttle, 4)
    await locked_for(throttle)
    clock.advance(seconds=60)
    await throttle.check(USER, "10.0.0.1")


async def test_lockouts_double_up_to_the_cap_and_decay_a_window_after_the_last(throttle, clock) -> None:
    lengths = []
    for round_ in range(6):
        # From a new address each round, so that only the account's lockouts are measured (one address failing
        # 5 times a round would reach its own limit of 20 in the fourth).
        address = f"10.0.1.{round_}"
        await fail(throttle, 4, address=address)
        lengths.append(await locked_for(throttle, address=address))
        clock.advance(seconds=lengths[-1])  # wait it out, then fail again at once
    assert lengths == [60, 120, 240, 480, 900, 900]
    # A whole window (15 min) after the last lockout ended, the next one is short again.
    clock.advance(minutes=15)
    await fail(throttle, 4)
    assert await locked_for(throttle) == 60


async def test_an_address_reaching_its_limit_too_waits_for_the_later_lockout(throttle, clock) -> None:
    for n in range(15):  # 15 failures of other accounts from the address
        await throttle.record_failure(f"user{n}@throttle.test", "10.0.0.1")
    await fail(throttle, 4)  # 19
    # The 20th locks the address (60 s) and the account's fifth locks it (60 s) too: 60.
    assert await locked_for(throttle) == 60
    clock.advance(seconds=60)
    await fail(throttle, 4, address="10.0.0.2")
    assert await locked_for(throttle, address="10.0.0.2") == 120  # the account's second lockout
    # From 10.0.0.1 (which failed this account within the window) the account's lockout holds, not the address's.
    with pytest.raises(TooManyRequestsError) as refused:
        await throttle.check(USER, "10.0.0.1")
    assert refused.value.headers["Retry-After"] == "120"


async def test_failures_older_than_the_window_are_forgotten(throttle, clock) -> None:
    await fail(throttle, 4)
    clock.advance(minutes=15)
    await fail(throttle, 4)  # a new window: 4 again, not 8
    assert await locked_for(throttle) == 60


async def test_a_success_resets_the_account_not_the_address(throttle, clock) -> None:
    await fail(throttle, 4)
    await throttle.record_success(USER, "10.0.0.1")
    await fail(throttle, 4)
    assert await locked_for(throttle) == 60
    # The address keeps its 4 + 4 + 1 = 9 failures: the 11th more (on other accounts) is its 20th and locks it.
    for n in range(10):
        await throttle.record_failure(f"user{n}@throttle.test", "10.0.0.1")
    with pytest.raises(TooManyRequestsError):
        await throttle.record_failure("user10@throttle.test", "10.0.0.1")
    with pytest.raises(TooManyRequestsError):
        await throttle.check("someone-else@throttle.test", "10.0.0.1")
    await throttle.check("someone-else@throttle.test", "10.0.0.2")


async def test_a_success_lifts_a_lockout(throttle) -> None:
    await fail(throttle, 4)
    await locked_for(throttle)
    await throttle.record_success(USER, "192.0.2.7")  # the real user, from elsewhere
    await throttle.check(USER, "10.0.0.1")


async def test_the_account_key_is_the_email_as_sign_in_reads_it(throttle) -> None:
    for spelling in ("ana@throttle.test", " ANA@throttle.test", "Ana@Throttle.Test ", "ana@throttle.test"):
        await throttle.record_failure(spelling, "10.0.0.1")
    assert await locked_for(throttle, " ana@THROTTLE.test") == 60


async def test_idle_rows_are_pruned_and_no_text_is_stored(throttle, clock, session) -> None:
    await throttle.record_failure(USER, "10.0.0.1")
    rows = (await session.execute(select(LoginThrottle))).scalars().all()
    assert {(r.kind, r.key) for r in rows} == set(throttle_keys(USER, "10.0.0.1").items())
    assert all(USER not in r.key and "10.0.0.1" not in r.key for r in rows)

    # A window plus the longest lockout later, the next failure (of anyone) deletes them.
    clock.advance(minutes=30, seconds=1)
    await throttle.record_failure("ben@throttle.test", "10.0.0.2")
    session.expire_all()
    keys = set((await session.execute(select(LoginThrottle.key))).scalars())
    assert keys == set(throttle_keys("ben@throttle.test", "10.0.0.2").values())


# --- over HTTP -----------------------------------------------------------------------------------------------


@asynccontextmanager
async def client_at(app: Any, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def sign_in(client: httpx.AsyncClient, password: str, email: str = USER, **kwargs: Any) -> httpx.Response:
    return await client.post(TOKEN, data={"username": email, "password": password}, **kwargs)


@pytest.fixture
async def user(sessionmaker, settings) -> None:
    await create_user(sessionmaker, settings, USER)


async def test_the_nth_failure_is_a_429_with_retry_after(app, user) -> None:
    async with client_at(app, "10.0.0.1") as client:
        for _ in range(4):
            assert_problem(await sign_in(client, "wrong-password"), 401, "invalid-credentials")
        response = await sign_in(client, "wrong-password")
        body = assert_problem(response, 429, "too-many-requests")
        assert response.headers["retry-after"] == "60"
        assert body["retry_after"] == 60
        assert "www-authenticate" not in response.headers
        # Locked out, even with the right password, from this address...
        assert_problem(await sign_in(client, DEFAULT_PASSWORD), 429, "too-many-requests")
    # ...but not from another, where the right password signs in and resets the account.
    async with client_at(app, "192.0.2.7") as client:
        assert (await sign_in(client, DEFAULT_PASSWORD)).status_code == 200
    async with client_at(app, "10.0.0.1") as client:
        assert (await sign_in(client, DEFAULT_PASSWORD)).status_code == 200


async def test_an_unknown_account_is_throttled_the_same(app, user) -> None:
    """The 429 tells nothing about which accounts exist: an unknown e-mail is counted like a known one."""
    answers: dict[str, list[tuple[int, str | None]]] = {}
    for email in (USER, "nobody@throttle.test"):
        async with client_at(app, f"10.0.1.{len(answers)}") as client:
            answers[email] = [((r := await sign_in(client, "wrong-password", email)).status_code,
                               r.headers.get("retry-after")) for _ in range(6)]
    assert answers[USER] == answers["nobody@throttle.test"] == [(401, None)] * 4 + [(429, "60")] * 2


async def test_the_lockout_decays_over_http(app, user, sessionmaker, clock) -> None:
    app.dependency_overrides[get_login_throttle] = lambda: LoginThrottleService(sessionmaker, LIMITS, clock=clock)
    async with client_at(app, "10.0.0.1") as client:
        for _ in range(4):
            assert (await sign_in(client, "wrong-password")).status_code == 401
        assert (await sign_in(client, "wrong-password")).status_code == 429
        clock.advance(seconds=59)
        assert (await sign_in(client, DEFAULT_PASSWORD)).headers["retry-after"] == "1"
        clock.advance(seconds=1)
        assert (await sign_in(client, DEFAULT_PASSWORD)).status_code == 200


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(migrated_db: ScratchDatabase, sessionmaker,
                                                                   settings) -> None:
    await create_user(sessionmaker, settings, USER)
    proxied = create_app(make_settings(migrated_db.url, trusted_proxies="10.9.0.0/16, ::1",
                                       login_max_failures_per_address=3))
    proxied.state.sessionmaker = sessionmaker
    spoof = {"X-Forwarded-For": "203.0.113.1"}
    # Through the proxy: each client is its own address, whatever it put in front of the proxy's entry.
    async with client_at(proxied, "10.9.0.5") as proxy:
        statuses = [(await sign_in(proxy, "wrong", f"u{n}@throttle.test",
                                   headers={"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.9"})).status_code
                    for n in range(3)]
        assert statuses == [401, 401, 429]
        # 203.0.113.9 failed 3 times: locked; 203.0.113.10 is another client.
        locked = await sign_in(proxy, DEFAULT_PASSWORD, headers={"X-Forwarded-For": "203.0.113.9"})
        assert locked.status_code == 429
        assert (await sign_in(proxy, DEFAULT_PASSWORD, headers={"X-Forwarded-For": "203.0.113.10"})).status_code \
            == 200
    # Not from a trusted proxy: the header is ignored, the peer is the address.
    async with client_at(proxied, "192.0.2.50") as direct:
        for n in range(2):
            assert (await sign_in(direct, "wrong", f"v{n}@throttle.test", headers=spoof)).status_code == 401
        assert (await sign_in(direct, "wrong", "v2@throttle.test",
                              headers={"X-Forwarded-For": "203.0.113.77"})).status_code == 429


def test_trusted_proxies_must_be_addresses(migrated_db: ScratchDatabase) -> None:
    with pytest.raises(ValueError, match="'proxy.internal' is not an IP address or network"):
        make_settings(migrated_db.url, trusted_proxies="10.0.0.1,proxy.internal")


# --- two workers on one database -------------------------------------------------------------------------------


@asynccontextmanager
async def worker(url: str, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """An app instance of its own (its own engine and pool, as a worker process has), at client `address`."""
    application = create_app(make_settings(url))
    async with application.router.lifespan_context(application), client_at(application, address) as client:
        yield client


async def test_two_workers_share_the_counts(fresh_db: ScratchDatabase) -> None:
    settings = make_settings(fresh_db.url)
    engine = create_engine(settings)
    try:
        await create_user(create_sessionmaker(engine), settings, USER)
        async with worker(fresh_db.url, "10.0.0.1") as one, worker(fresh_db.url, "10.0.0.1") as two:
            # Alternating: 2 + 2 failures, then the fifth on either worker locks.
            for client in (one, two, one, two):
                assert (await sign_in(client, "wrong-password")).status_code == 401
            assert (await sign_in(one, "wrong-password")).status_code == 429
            assert (await sign_in(two, DEFAULT_PASSWORD)).status_code == 429

            # Concurrently, on another account: however the 10 attempts interleave, exactly 4 are counted under
            # the limit (401) and the other 6 refused (429); a lost update would let more through.
            other = "ben@throttle.test"
            answers = await asyncio.wait_for(asyncio.gather(*(
                sign_in(client, "wrong-password", other) for client in (one, two) * 5)), timeout=120)
            assert sorted(r.status_code for r in answers) == [401] * 4 + [429] * 6, [r.text for r in answers]
        async with create_sessionmaker(engine)() as session:
            count = (await session.execute(select(func.count()).select_from(LoginThrottle).where(
                LoginThrottle.kind == ThrottleKind.address))).scalar_one()
        assert count == 1  # one address row for both accounts
    finally:
        await engine.dispose()


async def test_sign_in_documents_its_429(client: httpx.AsyncClient) -> None:
    operation = (await client.get("/openapi.json")).json()["paths"][TOKEN]["post"]
    documented = operation["responses"]["429"]
    assert "Retry-After" in documented["headers"]
    assert documented["content"]["application/problem+json"]["example"]["status"] == 429


def test_serve_leaves_forwarded_headers_to_the_trusted_proxies_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn's own proxy headers (on by default, trusting 127.0.0.1) would rewrite the client's address from
    X-Forwarded-For before the app sees it: `jobcost serve` turns them off, and the app decides."""
    import uvicorn

    from tests.cli.helpers import invoke

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setattr("logging.basicConfig", lambda **kwargs: None)

    result = invoke("serve", "--port", "8123")

    assert result.exit_code == 0, result.output
    assert calls and calls[0]["proxy_headers"] is False
