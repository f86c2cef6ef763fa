"""Request dependencies: the database session, the settings, and who is calling.

`SessionDep` yields one AsyncSession per request. It commits after the endpoint returns and before the response
is sent (`scope="function"`, FastAPI >= 0.121), so a failing commit reaches the client as an error instead of a
success that was never stored; on any exception it rolls back. Services only flush.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.errors import error_responses, problem_body
from app.auth.api_tokens import INGEST_ONLY_DETAIL, ApiTokenService, looks_like_api_token
from app.auth.service import AuthService
from app.core.config import Settings
from app.core.errors import ForbiddenError, NotAuthenticatedError
from app.db.engine import begin_write
from app.db.models import ApiToken, Role, User
from app.teams.scope import TeamScope


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: committed once the endpoint returns, rolled back on any error."""
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def get_session_factory(request: Request) -> async_sessionmaker[AsyncSession]:
    """The app's session factory, for work that outlives the endpoint (a streamed response reads its rows while
    it is being sent, after the request's own session has been committed and closed)."""
    return request.app.state.sessionmaker


SessionFactoryDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_session_factory)]


async def start_writing(session: AsyncSession) -> None:
    """Call in a writing endpoint once the caller is checked and the body read, before the service writes:
    the request's transaction restarts as a writer's (`app.db.engine.begin_write`; on SQLite, BEGIN IMMEDIATE).
    One connection per request, and no write lock held while a client is still sending."""
    await begin_write(session)


async def release_connection(session: AsyncSession) -> None:
    """End the request's transaction, which has only read (the caller's token), so that its database connection
    goes back to the pool while the client is still sending a body: a client that stalls mid-upload must not hold
    a connection (15 stalled uploads used to exhaust the pool and take every endpoint down). The next statement
    takes a connection again."""
    if session.in_transaction():
        await session.commit()


_bearer = HTTPBearer(auto_error=False, description="A JWT from `POST /api/v1/auth/token`, or an ingest API token "
                                                    "from `jobcost tokens create` (ingest endpoints only).")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

# OpenAPI entry for the 403 that every route taking a user's token sends for an ingest API token.
INGEST_TOKEN_REFUSED = error_responses(
    403, descriptions={403: "An ingest API token: it may only ingest jobs"},
    examples={403: problem_body(403, "forbidden", "Forbidden", INGEST_ONLY_DETAIL)})


def _bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        raise NotAuthenticatedError("Missing bearer token")
    return credentials.credentials


async def get_current_user(session: SessionDep, settings: SettingsDep, credentials: BearerDep) -> User:
    """The active user that the bearer token names. 401 (with `WWW-Authenticate: Bearer`) for a missing,
    malformed, expired or forged token, or a user that is gone or deactivated. An API token is never a user:
    403 when it is valid (it may only ingest, see `IngestCaller`), 401 when revoked, expired or forged. Every
    route that takes a user therefore refuses API tokens, without having to say so."""
    token = _bearer_token(credentials)
    if looks_like_api_token(token):
        await ApiTokenService(session, settings).authenticate(token)
        raise ForbiddenError(INGEST_ONLY_DETAIL)
    return await AuthService(session, settings).user_for_token(token)


CurrentUser = Annotated[User, Depends(get_current_user)]


async def require_admin(user: CurrentUser) -> User:
    """The current user if an admin; 403 otherwise."""
    if user.role is not Role.admin:
        raise ForbiddenError("This operation needs the admin role")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


async def get_ingest_caller(session: SessionDep, settings: SettingsDep,
                            credentials: BearerDep) -> AsyncIterator[User | ApiToken]:
    """Who may ingest: an admin (by its sign-in token), or a valid API token of scope `ingest`. 401 as for
    `CurrentUser`, and for a revoked or expired API token; 403 for a member. Once the endpoint has returned
    without error, an API token's `last_used_at` is set, in the request's (writing) transaction."""
    token = _bearer_token(credentials)
    if not looks_like_api_token(token):
        user = await AuthService(session, settings).user_for_token(token)
        if user.role is not Role.admin:
            raise ForbiddenError("Ingesting needs the admin role or an ingest API token")
        yield user
        return
    tokens = ApiTokenService(session, settings)
    api_token = await tokens.authenticate(token)  # `ingest` is the only scope there is
    yield api_token
    await tokens.record_use(api_token)


async def recheck_ingest_caller(session: AsyncSession, settings: Settings, caller: User | ApiToken) -> None:
    """For a long request (an NDJSON stream): an API token revoked or expired since the request began is refused
    from the next chunk on (401); an admin's sign-in token is left as checked at the start."""
    if isinstance(caller, ApiToken):
        await ApiTokenService(session, settings).ensure_still_valid(caller)


# scope="function": the use is recorded before the session dependency commits, and the response is sent.
IngestCaller = Annotated[User | ApiToken, Depends(get_ingest_caller, scope="function")]


async def get_team_scope(user: CurrentUser) -> TeamScope:
    """The teams the caller may read: every team for an admin, its own teams for a member."""
    return TeamScope.for_user(user)


ScopeDep = Annotated[TeamScope, Depends(get_team_scope)]


def single_valued_query(*repeatable: str) -> Any:
    """A dependency refusing (422) a query parameter given more than once, unless it is one of `repeatable`: by
    default the last value would win, so `team=a&team=b` would silently read team b alone. For routes taking a
    user's token only: it authenticates first (`CurrentUser`, resolved once per request), so a caller without a
    valid token gets its 401 (an ingest token its 403) before any 422 about the query."""

    async def check(request: Request, _: CurrentUser) -> None:
        counts = Counter(key for key, _ in request.query_params.multi_items())
        repeated = sorted(key for key, count in counts.items() if count > 1 and key not in repeatable)
        if repeated:
            raise RequestValidationError([
                {"loc": ("query", key), "msg": "must be given at most once", "type": "repeated_parameter"}
                for key in repeated])

    return Depends(check)
