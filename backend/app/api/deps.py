"""Request dependencies: the database session, the settings, and who is calling.

Who is calling, by what a route does:
- `ReaderDep` (a `Reader`), or `ScopeDep` (its `TeamScope`), for a route that only reads jobs and costs: a
  signed-in user, or a read API token. Use it for every new read-only route (exports, budgets listed, forecasts):
  narrow every query to `reader.team_ids` (None = every team), e.g. with `app.teams.scope.within_teams`.
- `CurrentUser` / `AdminUser` for a route that needs a person, or an admin (anything that changes data or
  reads `/admin`): every API token is refused there (403).
- `IngestCaller` for the ingest routes: an admin, or an ingest API token.

`SessionDep` yields one AsyncSession per request. It commits after the endpoint returns and before the response
is sent (`scope="function"`, FastAPI >= 0.121), so a failing commit reaches the client as an error instead of a
success that was never stored; on any exception it rolls back. Services only flush.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, get_args

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.errors import error_responses, problem_body
from app.auth.api_tokens import (
    INGEST_ONLY_DETAIL,
    READ_USE_RESOLUTION,
    ApiTokenService,
    looks_like_api_token,
    refused_detail,
)
from app.auth.service import AuthService
from app.core.config import Settings
from app.core.errors import ForbiddenError, NotAuthenticatedError
from app.db.engine import begin_write
from app.db.models import ApiToken, Role, TokenScope, User
from app.teams.scope import TeamScope

logger = logging.getLogger("jobcost.auth")


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


_bearer = HTTPBearer(auto_error=False, description="A JWT from `POST /api/v1/auth/token`, or an API token from "
                                                    "`jobcost tokens create`: an ingest token (ingest endpoints "
                                                    "only) or a read token (read endpoints only).")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

# OpenAPI entry for the 403 that a route sends for an API token of a scope it does not take (an ingest token
# anywhere but the ingest routes, a read token anywhere but the read routes).
INGEST_TOKEN_REFUSED = error_responses(
    403, descriptions={403: "An API token of another scope: an ingest token may only ingest jobs, a read token "
                            "may only read jobs, costs, budgets, prices and the FOCUS export"},
    examples={403: problem_body(403, "forbidden", "Forbidden", INGEST_ONLY_DETAIL)})


def _bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        raise NotAuthenticatedError("Missing bearer token")
    return credentials.credentials


async def get_current_user(session: SessionDep, settings: SettingsDep, credentials: BearerDep) -> User:
    """The active user that the bearer token names. 401 (with `WWW-Authenticate: Bearer`) for a missing,
    malformed, expired or forged token, or a user that is gone or deactivated. An API token is never a user:
    403 when it is valid (see `IngestCaller` and `ReaderDep` for the routes that take one), 401 when revoked,
    expired or forged. Every route that takes a user therefore refuses API tokens, without having to say so."""
    token = _bearer_token(credentials)
    if looks_like_api_token(token):
        record = await ApiTokenService(session, settings).authenticate(token)
        raise ForbiddenError(refused_detail(record.scope))
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
    `CurrentUser`, and for a revoked or expired API token; 403 for a member and a read token. Once the endpoint
    has returned without error, an API token's `last_used_at` is set, in the request's (writing) transaction."""
    token = _bearer_token(credentials)
    if not looks_like_api_token(token):
        user = await AuthService(session, settings).user_for_token(token)
        if user.role is not Role.admin:
            raise ForbiddenError("Ingesting needs the admin role or an ingest API token")
        yield user
        return
    tokens = ApiTokenService(session, settings)
    api_token = await tokens.authenticate(token)
    if api_token.scope is not TokenScope.ingest:
        raise ForbiddenError(refused_detail(api_token.scope))
    yield api_token
    await tokens.record_use(api_token)


async def recheck_ingest_caller(session: AsyncSession, settings: Settings, caller: User | ApiToken) -> None:
    """For a long request (an NDJSON stream): an API token revoked or expired since the request began is refused
    from the next chunk on (401); an admin's sign-in token is left as checked at the start."""
    if isinstance(caller, ApiToken):
        await ApiTokenService(session, settings).ensure_still_valid(caller)


# scope="function": the use is recorded before the session dependency commits, and the response is sent.
IngestCaller = Annotated[User | ApiToken, Depends(get_ingest_caller, scope="function")]


@dataclass(frozen=True)
class Reader:
    """Who reads, and which teams: a signed-in user (`user` set), or a read API token (`token` set).

    `team_ids` is None for every team (an admin, or a read token not limited to teams), else exactly the teams
    that may be read (a member's teams, or the read token's teams; possibly none: then nothing is read, without
    an error). `scope` is the same as a `TeamScope`, whose `narrow` turns a `team_id`/`team` filter outside
    these teams into a 403.
    """

    team_ids: frozenset[uuid.UUID] | None
    user: User | None = None
    token: ApiToken | None = None

    @property
    def scope(self) -> TeamScope:
        return TeamScope(self.team_ids)

    @property
    def principal_id(self) -> str:
        """`user:<id>` or `token:<id>`, for logs (never the token itself)."""
        return f"user:{self.user.id}" if self.user is not None else f"token:{self.token.id if self.token else '-'}"


async def get_reader(request: Request, session: SessionDep, settings: SettingsDep,
                     credentials: BearerDep) -> AsyncIterator[Reader]:
    """The caller of a read-only route: any active user (its teams as `TeamScope.for_user` gives them), or a
    valid read API token (every team, or its listed teams as a member of them would read). 401 as for
    `CurrentUser`; 403 for an ingest token. Once the endpoint has returned without error, a read token's
    `last_used_at` is set (at most once a minute, in a transaction of its own: reading never waits on it)."""
    token = _bearer_token(credentials)
    if not looks_like_api_token(token):
        user = await AuthService(session, settings).user_for_token(token)
        yield Reader(TeamScope.for_user(user).team_ids, user=user)
        return
    tokens = ApiTokenService(session, settings)
    api_token = await tokens.authenticate(token)
    if api_token.scope is not TokenScope.read:
        raise ForbiddenError(refused_detail(api_token.scope))
    yield Reader(await tokens.readable_team_ids(api_token), token=api_token)
    try:
        async with request.app.state.sessionmaker() as own:
            await ApiTokenService(own, settings).record_use(api_token, resolution=READ_USE_RESOLUTION)
            await own.commit()
    except SQLAlchemyError as exc:  # a missed "last used" is not worth failing a read that succeeded
        logger.warning("could not record the use of API token %s: %s", api_token.id, exc)


async def recheck_reader(session: AsyncSession, settings: Settings, reader: Reader) -> None:
    """For a long read (the FOCUS export's stream): a read token revoked or expired since the request began is
    refused (401, `NotAuthenticatedError`) before the next batch; a signed-in user is left as checked at the start,
    as `recheck_ingest_caller` leaves an admin."""
    if reader.token is not None:
        await ApiTokenService(session, settings).ensure_still_valid(reader.token)


# scope="function": the use is recorded before the response is sent. Every read route and `ScopeDep` resolve this
# one dependency, so it runs once per request.
ReaderDep = Annotated[Reader, Depends(get_reader, scope="function")]


async def get_team_scope(reader: ReaderDep) -> TeamScope:
    """The teams the caller may read: every team for an admin or an unlimited read token, its own teams for a
    member, the listed teams for a limited read token."""
    return reader.scope


ScopeDep = Annotated[TeamScope, Depends(get_team_scope)]


# OpenAPI entry for the 422 of a route whose only query check is `single_valued_query`'s.
QUERY_REFUSED = error_responses(
    422, descriptions={422: "An unknown query parameter, or one given twice"},
    examples={422: problem_body(422, "validation-error", "Validation error", "Invalid request: query.team", errors=[
        {"loc": ["query", "team"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}])})


def _known_query_names(request: Request) -> frozenset[str] | None:
    """The query parameter names the matched route declares, through its dependencies too, a parameter model
    (`Annotated[Model, Query()]`) by its fields; None when no FastAPI route is known."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return None
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        for field in current.query_params:
            model = field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                names.update(info.alias or name for name, info in model.model_fields.items())
            else:
                names.add(field.alias)
        pending.extend(current.dependencies)
    return frozenset(names)


def single_valued_query(*repeatable: str, caller: Any = ReaderDep) -> Any:
    """A route dependency refusing (422) a query parameter the route does not declare (`extra_forbidden`: a
    misspelt filter must not silently answer about everything), and one given more than once unless it is one of
    `repeatable` (`repeated_parameter`: by default the last value would win, so `team=a&team=b` would silently
    read team b alone). Every `/api/v1` GET route carries it (`backend/tests/api/test_query_params.py` walks them).

    It resolves `caller` first, the route's own check of who calls (`ReaderDep` by default; `AdminUser`,
    `CurrentUser`, or a narrower dependency of the route's): FastAPI resolves a dependency once per request, so
    the route is not checked twice, and a caller without a valid token gets its 401, a caller without the right
    its 403, before any 422 about the query."""
    caller_dependency = get_args(caller)[1]

    async def check(request: Request, _: Any = caller_dependency) -> None:
        known = _known_query_names(request)
        keys = [key for key, _ in request.query_params.multi_items()]
        unknown = sorted({key for key in keys if known is not None and key not in known})
        if unknown:
            raise RequestValidationError([
                {"loc": ("query", key), "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
                for key in unknown])
        counts = Counter(keys)
        repeated = sorted(key for key, count in counts.items() if count > 1 and key not in repeatable)
        if repeated:
            raise RequestValidationError([
                {"loc": ("query", key), "msg": "must be given at most once", "type": "repeated_parameter"}
                for key in repeated])

    return Depends(check)
