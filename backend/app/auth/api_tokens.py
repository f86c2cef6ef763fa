"""Long-lived API tokens with one narrow scope each, for scripts and tools: `ingest` (a cron job that feeds
jobcost) or `read` (a BI tool or Grafana reading jobs and costs, for every team or for a list of teams).

An API token is an HS256 JWT signed with the same key as sign-in tokens (`JOBCOST_SECRET_KEY`), with claims
`iss` ("jobcost"), `aud` (`API_TOKEN_AUDIENCE`), `scope` ("ingest" or "read"), `jti` (the id of its `api_tokens` row),
`iat` and `exp`. It has no `sub` and no `gen`, and carries an audience, so the sign-in token decoder
(`app.core.security.decode_access_token`) refuses it: it can never pass as a user. The row holds no secret,
only what lets the server refuse the token before its `exp`: `revoked_at`, and `expires_at`, checked on every
request; a read token's teams are rows of `api_token_teams`, read on every request too (so they are never stale).
The token is shown once, when created; it cannot be recovered from the database.

Raises AppError subclasses; flushes, never commits; never imports the web framework.
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.config import Settings
from app.core.errors import NotAuthenticatedError, NotFoundError, UnprocessableError
from app.core.logs import note_principal
from app.core.security import ALGORITHM, MAX_TOKEN_LENGTH, TOKEN_ISSUER, InvalidTokenError
from app.db.models import ApiToken, Team, TokenScope, api_token_teams
from app.db.models.team import team_name_key

logger = logging.getLogger("jobcost.auth")

API_TOKEN_AUDIENCE = "jobcost-api-token"  # noqa: S105 - the `aud` claim, not a secret
# Bounds of `expires_days`: at least a day, at most ten years (a token must end some day; revoke it sooner).
MIN_EXPIRES_DAYS, MAX_EXPIRES_DAYS = 1, 3650
MAX_NAME_LENGTH = 255
INGEST_ONLY_DETAIL = ("This token may only ingest jobs (POST /api/v1/admin/ingest/jobs and "
                      "/api/v1/admin/ingest/jobs/mock); sign in as a user to read or manage")
READ_ONLY_DETAIL = ("This token may only read: GET /api/v1/jobs, /api/v1/jobs/{job_id}, /api/v1/analytics/…, "
                    "/api/v1/budgets, /api/v1/prices and /api/v1/export/focus; sign in as a user to ingest or "
                    "manage")
# A read token records its use at most this often: a dashboard polling every few seconds must not write as often.
READ_USE_RESOLUTION = timedelta(minutes=1)
_INVALID = "Invalid or expired bearer token"
_EXPIRED = "This API token has expired"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ExpiredApiTokenError(InvalidTokenError):
    """A correctly signed API token past its `exp`."""


@dataclass(frozen=True)
class ApiTokenClaims:
    """What a verified API token says: its row's id (`jti`), its scope and its `exp` (UTC)."""

    token_id: uuid.UUID
    scope: TokenScope
    expires_at: datetime


def encode_api_token(token_id: uuid.UUID, scope: TokenScope, *, secret: str, issued_at: datetime,
                     expires_at: datetime) -> str:
    """The signed JWT of API token `token_id` (see the module docstring for its claims); instants in UTC,
    written as whole seconds."""
    payload = {
        "iss": TOKEN_ISSUER,
        "aud": API_TOKEN_AUDIENCE,
        "scope": scope.value,
        "jti": str(token_id),
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_api_token(token: str, *, secret: str, now: datetime | None = None) -> ApiTokenClaims:
    """Verify an API token (HS256 only: signature, `iss`, `aud`, `iat`, and `exp` after `now`, default the
    current time) and return its claims.

    Raises ExpiredApiTokenError (an InvalidTokenError) past `exp`, InvalidTokenError for anything else:
    oversized, forged, a sign-in token (no `aud`), an unknown scope, or a `jti` that is not a UUID.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidTokenError("token too long")
    try:
        # `exp` and `iat` are compared with `now` below, not with PyJWT's own clock: one clock for every check.
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=TOKEN_ISSUER, audience=API_TOKEN_AUDIENCE,
                             options={"require": ["iss", "aud", "exp", "iat", "jti", "scope"],
                                      "verify_exp": False, "verify_iat": False})
        claims = ApiTokenClaims(token_id=uuid.UUID(str(payload["jti"])), scope=TokenScope(payload["scope"]),
                                expires_at=datetime.fromtimestamp(payload["exp"], UTC))
        issued_at = datetime.fromtimestamp(payload["iat"], UTC)
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError, OSError) as exc:
        raise InvalidTokenError(str(exc)) from exc
    if (now or _utcnow()) >= claims.expires_at:
        raise ExpiredApiTokenError("token expired")
    if issued_at > claims.expires_at:
        raise InvalidTokenError("issued after it expires")
    return claims


def looks_like_api_token(token: str) -> bool:
    """True when `token` claims, without any verification, to be an API token (its `aud` is ours). Only picks
    which verifier runs: each verifier then checks everything itself."""
    if len(token) > MAX_TOKEN_LENGTH:
        return False
    try:
        payload = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return False
    return isinstance(payload, dict) and payload.get("aud") == API_TOKEN_AUDIENCE


def token_state(token: ApiToken, now: datetime) -> str:
    """`revoked`, `expired` or `active`, at `now` (aware)."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if now >= token.expires_at else "active"


def _clean_name(name: str | None) -> str | None:
    """Trimmed and NFC-normalised; blank is None. UnprocessableError for control characters or over 255."""
    if name is None:
        return None
    cleaned = unicodedata.normalize("NFC", name.strip())
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise UnprocessableError("name: control or invisible characters are not allowed")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise UnprocessableError(f"name: at most {MAX_NAME_LENGTH} characters (got {len(cleaned)})")
    return cleaned or None


def _scope(scope: TokenScope | str) -> TokenScope:
    try:
        return TokenScope(scope)
    except ValueError:
        allowed = ", ".join(s.value for s in TokenScope)
        raise UnprocessableError(f"scope: {scope!r} is not a token scope (allowed: {allowed})") from None


def _expires_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_EXPIRES_DAYS <= days <= MAX_EXPIRES_DAYS:
        raise UnprocessableError(f"expires_days: must be a whole number of days from {MIN_EXPIRES_DAYS} to "
                                 f"{MAX_EXPIRES_DAYS}, got {days!r}")
    return days


def refused_detail(scope: TokenScope) -> str:
    """The 403 detail for a valid API token of `scope` on a route that scope may not call."""
    return READ_ONLY_DETAIL if scope is TokenScope.read else INGEST_ONLY_DETAIL


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: `token` is the only copy of the secret JWT; `record` is its stored row."""

    token: str
    record: ApiToken


class ApiTokenService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    @property
    def _secret(self) -> str:
        return self.settings.secret_key.get_secret_value()

    async def create(self, scope: TokenScope | str, expires_days: int, name: str | None = None, *,
                     teams: Sequence[str] = (), now: datetime | None = None) -> IssuedToken:
        """A new token of `scope`, valid `expires_days` (1..3650) days from `now` (default: the current time,
        UTC; kept to the second, as the JWT's `iat` and `exp` are). A read token given `teams` (names, compared
        as team names are: trimmed, case-folded) reads those teams only; without, every team.

        UnprocessableError for an unknown scope, days out of bounds, a bad `name` (optional label, up to 255
        characters), `teams` on an ingest token, or team names that match no team (all of them named)."""
        issued = (now or _utcnow()).astimezone(UTC).replace(microsecond=0)
        token_scope = _scope(scope)
        team_rows = await self._teams_named(token_scope, teams)
        record = ApiToken(id=uuid.uuid4(), name=_clean_name(name), scope=token_scope,
                          expires_at=issued + timedelta(days=_expires_days(expires_days)),
                          limited_to_teams=bool(teams), teams=team_rows, created_at=issued, updated_at=issued)
        self.session.add(record)
        await self.session.flush()
        token = encode_api_token(record.id, record.scope, secret=self._secret, issued_at=issued,
                                 expires_at=record.expires_at)
        logger.info("API token %s created (scope %s, teams %s, expires %s)", record.id, record.scope.value,
                    ", ".join(t.name for t in team_rows) if teams else "all", record.expires_at.isoformat())
        return IssuedToken(token=token, record=record)

    async def _teams_named(self, scope: TokenScope, names: Sequence[str]) -> list[Team]:
        """The teams `names` name (each once), for a read token. UnprocessableError naming every unknown one."""
        if not names:
            return []
        if scope is not TokenScope.read:
            raise UnprocessableError("teams: only a read token can be limited to teams")
        keys = {team_name_key(name): name for name in names}
        if "" in keys:
            raise UnprocessableError("teams: a team name cannot be blank")
        found = (await self.session.execute(select(Team).where(Team.name_key.in_(sorted(keys))))).scalars().all()
        unknown = sorted(name for key, name in keys.items() if key not in {t.name_key for t in found})
        if unknown:
            raise UnprocessableError(f"teams: no team named {', '.join(map(repr, unknown))} (team names are "
                                     "created by ingest; check the spelling in GET /api/v1/analytics/cost/by-team)")
        return sorted(found, key=lambda t: t.name_key)

    async def list_tokens(self) -> Sequence[ApiToken]:
        """Every token, revoked and expired ones too, oldest first (ties by id), with its teams loaded."""
        stmt = select(ApiToken).options(selectinload(ApiToken.teams)).order_by(ApiToken.created_at, ApiToken.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def readable_team_ids(self, record: ApiToken) -> frozenset[uuid.UUID] | None:
        """The teams read token `record` may read now: None for every team, else the ids of its listed teams
        that still exist (possibly none: then it reads nothing)."""
        if not record.limited_to_teams:
            return None
        rows = await self.session.execute(select(api_token_teams.c.team_id)
                                          .where(api_token_teams.c.token_id == record.id))
        return frozenset(rows.scalars())

    async def revoke(self, token_id: str | uuid.UUID, *, now: datetime | None = None) -> tuple[ApiToken, bool]:
        """Revoke token `token_id` at `now`: every request carrying it is refused (401) from the next one on.
        Returns `(token, newly_revoked)`; revoking twice keeps the first `revoked_at`. UnprocessableError for
        an id that is not a UUID, NotFoundError for an unknown one."""
        try:
            key = token_id if isinstance(token_id, uuid.UUID) else uuid.UUID(str(token_id).strip())
        except ValueError:
            raise UnprocessableError(f"not a token id (a UUID, as `jobcost tokens list` shows): {token_id!r}") \
                from None
        record = await self.session.get(ApiToken, key)
        if record is None:
            raise NotFoundError(f"no API token with id {key}")
        if record.revoked_at is not None:
            return record, False
        record.revoked_at = (now or _utcnow()).astimezone(UTC)
        await self.session.flush()
        logger.info("API token %s revoked", record.id)
        return record, True

    async def authenticate(self, token: str, *, now: datetime | None = None) -> ApiToken:
        """The stored token that `token` (a JWT) names, if it is valid at `now`: correctly signed, not past its
        `exp`, and its row present, of the same scope, not revoked and not past `expires_at`.
        NotAuthenticatedError (401) otherwise."""
        now = now or _utcnow()
        try:
            claims = decode_api_token(token, secret=self._secret, now=now)
        except ExpiredApiTokenError:
            raise NotAuthenticatedError(_EXPIRED) from None
        except InvalidTokenError as exc:
            logger.info("API token refused: %s", exc)
            raise NotAuthenticatedError(_INVALID) from None
        record = await self.session.get(ApiToken, claims.token_id)
        if record is None or record.scope is not claims.scope:
            logger.info("API token refused: no stored token %s of scope %s", claims.token_id, claims.scope.value)
            raise NotAuthenticatedError(_INVALID)
        if record.revoked_at is not None:
            raise NotAuthenticatedError("This API token has been revoked")
        if now >= record.expires_at:
            raise NotAuthenticatedError(_EXPIRED)
        note_principal("token", record.id)
        return record

    async def ensure_still_valid(self, record: ApiToken, *, now: datetime | None = None) -> None:
        """Check again that `record`, authenticated earlier in a long request (an NDJSON stream), is neither
        revoked nor expired now, reading its row afresh. NotAuthenticatedError (401) otherwise."""
        now = now or _utcnow()
        row = (await self.session.execute(select(ApiToken.revoked_at, ApiToken.expires_at)
                                          .where(ApiToken.id == record.id))).first()
        if row is None or row.revoked_at is not None:
            raise NotAuthenticatedError("This API token has been revoked")
        if now >= row.expires_at:
            raise NotAuthenticatedError(_EXPIRED)

    async def record_use(self, record: ApiToken, *, now: datetime | None = None,
                         resolution: timedelta | None = None) -> None:
        """Set `last_used_at` of `record` to `now` (not `updated_at`: that one tracks changes to the token); with
        `resolution`, only when the stored one (as loaded) is older than that, so that frequent reads write rarely."""
        used = (now or _utcnow()).astimezone(UTC)
        if resolution is not None and record.last_used_at is not None and used - record.last_used_at < resolution:
            return
        # `updated_at` set to itself: its Python `onupdate` would otherwise fire on this UPDATE too.
        await self.session.execute(update(ApiToken).where(ApiToken.id == record.id)
                                   .values(last_used_at=used, updated_at=ApiToken.updated_at))
