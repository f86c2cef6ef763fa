"""Sign-in throttling: failed sign-ins counted per account, per client address and per (account, address), in
the database, so every worker sees the same counts.

The rule (docs/sign-in.md says it for operators):
- An **address** with `address_failures` failures within `window` is locked out: every sign-in from it is a 429.
- An **account** (the e-mail as typed, trimmed and lower-cased, whether or not such a user exists, so that a 429
  says nothing about which accounts exist) with `account_failures` failures within `window` is locked out, but
  only for the addresses that failed against it within the window: an address that has not (the real user at
  their usual address, while someone elsewhere guesses) still gets to try its password. A lockout's failure
  answers 429 itself, and so does every later attempt of the locked-out callers until it ends.
- A lockout lasts `first_lockout`, doubling at each new lockout of the same account or address up to
  `max_lockout`; once a lockout ended a whole window ago, the next is short again. Nothing is locked forever.
- A correct password resets the account (its count and lockouts) and its pair with the address, not the
  address: a guesser cannot clear its own count by signing in to an account of its own.

Trade-off: while an account is locked, every address that has not failed against it gets a guess, so many
addresses (a botnet) get one guess each per lockout rather than none; in exchange, nobody can keep a real user
out by failing on their account from elsewhere.

State is one row per counted thing (`LoginThrottle`), changed by single atomic upserts (INSERT … ON CONFLICT DO
UPDATE … RETURNING, on both databases), in transactions of its own so a failure is recorded although the
request answers an error. Rows idle for longer than a window plus the longest lockout are deleted with each
failure, so the table stays as small as the recent failures.

Never imports the web framework.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import BigInteger, and_, case, delete, literal, not_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.errors import TooManyRequestsError
from app.db.dialect import insert_for
from app.db.engine import begin_write
from app.db.models import LoginThrottle, ThrottleKind

# A pair never locks by itself: it only says which addresses an account's lockout applies to.
_NEVER = 2**31 - 1


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


@dataclass(frozen=True)
class ThrottleLimits:
    """The limits, in failures and milliseconds (from the `JOBCOST_LOGIN_*` settings, in seconds there)."""

    account_failures: int
    address_failures: int
    window_ms: int
    first_lockout_ms: int
    max_lockout_ms: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottleLimits:
        return cls(account_failures=settings.login_max_failures_per_account,
                   address_failures=settings.login_max_failures_per_address,
                   window_ms=settings.login_failure_window_seconds * 1000,
                   first_lockout_ms=settings.login_lockout_seconds * 1000,
                   max_lockout_ms=max(settings.login_lockout_max_seconds, settings.login_lockout_seconds) * 1000)

    def limit(self, kind: ThrottleKind) -> int:
        if kind is ThrottleKind.account:
            return self.account_failures
        return self.address_failures if kind is ThrottleKind.address else _NEVER


def account_key(email: str) -> str:
    """The account a sign-in names: the e-mail as `AuthService.authenticate` looks it up."""
    return email.strip().lower()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def throttle_keys(email: str, address: str) -> dict[ThrottleKind, str]:
    """The row keys (SHA-256 hex) of a sign-in of `email` from `address`."""
    account = account_key(email)
    return {ThrottleKind.account: _digest(account), ThrottleKind.address: _digest(address),
            ThrottleKind.account_address: _digest(f"{account}\n{address}")}


class LoginThrottleService:
    """Checks and records sign-ins against the limits. `sessions` makes the sessions it writes with (each a
    transaction of its own); `clock` gives the current instant (aware UTC; tests pass their own)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], limits: ThrottleLimits, *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.sessions = sessions
        self.limits = limits
        self.clock = clock or _utcnow

    async def check(self, email: str, address: str) -> None:
        """Refuse (TooManyRequestsError, 429 with `Retry-After` in whole seconds) a sign-in of `email` from
        `address` that the rule above locks out; return otherwise."""
        now = _ms(self.clock())
        keys = throttle_keys(email, address)
        async with self.sessions() as session:
            rows = {row.kind: row for row in (await session.execute(
                select(LoginThrottle).where(tuple_(LoginThrottle.kind, LoginThrottle.key).in_(
                    [(kind.value, key) for kind, key in keys.items()])))).scalars()}
        self._refuse_if_locked(now, {kind: (row.locked_until_ms, row.last_failure_ms) for kind, row in rows.items()})

    def _refuse_if_locked(self, now: int, state: dict[ThrottleKind, tuple[int, int]]) -> None:
        """`state`: per kind, (locked until, last failure) in ms, for the rows that exist."""
        address_until = state.get(ThrottleKind.address, (0, 0))[0]
        pair = state.get(ThrottleKind.account_address)
        failed_here = pair is not None and now - pair[1] < self.limits.window_ms
        account_until = state.get(ThrottleKind.account, (0, 0))[0] if failed_here else 0
        # Both may hold: the caller can sign in once the later one ends.
        until = max(address_until, account_until)
        if until > now:
            raise TooManyRequestsError.after(math.ceil((until - now) / 1000))

    async def record_failure(self, email: str, address: str) -> None:
        """Count a failed sign-in of `email` from `address` (on the account, the address and the pair), and prune
        idle rows. Raises TooManyRequestsError when the caller is now locked out (this failure locked it)."""
        now = _ms(self.clock())
        state: dict[ThrottleKind, tuple[int, int]] = {}
        async with self.sessions() as session:
            await begin_write(session)
            # In key order, so two workers recording failures of the same rows lock them in the same order.
            for kind, key in sorted(throttle_keys(email, address).items(), key=lambda item: item[0].value):
                state[kind] = (await session.execute(self._upsert(session, kind, key, now))).scalar_one(), now
            # SKIP LOCKED (PostgreSQL; SQLite has one writer and no row locks): a row another worker is counting on
            # right now is left for a later prune, so pruning never waits on, or deadlocks with, a sign-in.
            idle = (select(LoginThrottle.kind, LoginThrottle.key)
                    .where(LoginThrottle.last_failure_ms < now - self.limits.window_ms - self.limits.max_lockout_ms)
                    .with_for_update(skip_locked=True))
            await session.execute(delete(LoginThrottle).where(
                tuple_(LoginThrottle.kind, LoginThrottle.key).in_(idle)))
            await session.commit()
        self._refuse_if_locked(now, state)

    def _upsert(self, session: AsyncSession, kind: ThrottleKind, key: str, now: int):  # noqa: ANN202
        """One failure on row (`kind`, `key`) at `now` (ms), returning the row's `locked_until_ms`."""
        limits, limit, t = self.limits, self.limits.limit(kind), LoginThrottle.__table__.c
        first = limits.first_lockout_ms
        fresh_locks = limit <= 1
        stmt = insert_for(session, LoginThrottle.__table__).values(
            kind=kind.value, key=key, failures=0 if fresh_locks else 1, window_start_ms=now,
            locked_until_ms=now + first if fresh_locks else 0,
            next_lockout_ms=min(first * 2, limits.max_lockout_ms) if fresh_locks else first, last_failure_ms=now)
        # Instants and lengths typed BIGINT: PostgreSQL would bind a bare Python int beside an INTEGER as int4.
        at, first_ms, cap = literal(now, BigInteger), literal(first, BigInteger), literal(limits.max_lockout_ms,
                                                                                           BigInteger)
        expired = t.window_start_ms <= now - limits.window_ms
        count = case((expired, 1), else_=t.failures + 1)
        lock_now = and_(count >= limit, not_(t.locked_until_ms > now))
        # The streak of lockouts ends once the last one is a whole window in the past (or there was none).
        duration = case((t.locked_until_ms <= now - limits.window_ms, first_ms), else_=t.next_lockout_ms)
        doubled = case((duration * 2 > cap, cap), else_=duration * 2)
        stmt = stmt.on_conflict_do_update(index_elements=["kind", "key"], set_={
            "failures": case((lock_now, 0), else_=count),
            "window_start_ms": case((or_(lock_now, expired), at), else_=t.window_start_ms),
            "locked_until_ms": case((lock_now, duration + at), else_=t.locked_until_ms),
            "next_lockout_ms": case((lock_now, doubled), else_=t.next_lockout_ms),
            "last_failure_ms": at,
        })
        return stmt.returning(t.locked_until_ms)

    async def record_success(self, email: str, address: str) -> None:
        """A correct password: forget the account's failures and lockouts, and the pair's (not the address's)."""
        keys = throttle_keys(email, address)
        these = tuple_(LoginThrottle.kind, LoginThrottle.key).in_(
            [(kind.value, keys[kind]) for kind in (ThrottleKind.account, ThrottleKind.account_address)])
        async with self.sessions() as session:
            # Read first: most sign-ins have nothing to forget, and need not take a write lock for nothing.
            if (await session.execute(select(LoginThrottle.key).where(these).limit(1))).first() is None:
                return
            await begin_write(session)
            await session.execute(delete(LoginThrottle).where(these))
            await session.commit()
