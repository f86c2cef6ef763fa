"""`/auth`: sign in and find out who you are."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from app.api.client_address import client_address
from app.api.deps import (
    INGEST_TOKEN_REFUSED,
    QUERY_REFUSED,
    CurrentUser,
    SessionDep,
    SettingsDep,
    release_connection,
    single_valued_query,
)
from app.api.errors import error_responses, problem_body
from app.auth.schemas import Me, Token
from app.auth.service import AuthService
from app.auth.throttle import LoginThrottleService, ThrottleLimits
from app.core.errors import InvalidCredentialsError

router = APIRouter(prefix="/auth", tags=["auth"])


def get_login_throttle(request: Request, settings: SettingsDep) -> LoginThrottleService:
    """The sign-in throttle, with the app's sessions and limits (tests override this to move its clock)."""
    return LoginThrottleService(request.app.state.sessionmaker, ThrottleLimits.from_settings(settings))


_SIGN_IN_ERRORS = error_responses(
    400, 401, 422, 429, 503, descriptions={
        400: "The form could not be parsed (malformed multipart, a field over 1 MiB)",
        401: "Unknown e-mail, wrong password or deactivated account (one answer for all three)",
        429: "Too many failed sign-ins for this account from this address, or from this address: retry after "
             "`Retry-After` seconds (docs/sign-in.md)"},
    examples={401: problem_body(401, "invalid-credentials", "Invalid credentials", "Incorrect email or password"),
              429: problem_body(429, "too-many-requests", "Too many requests",
                                "Too many failed sign-ins; try again in 60 seconds", retry_after=60)})
_SIGN_IN_ERRORS[429]["headers"] = {
    "Retry-After": {"description": "Seconds until the lockout ends", "schema": {"type": "integer"}}}


@router.post(
    "/token",
    summary="Sign in and get a bearer token",
    response_model=Token,
    responses=_SIGN_IN_ERRORS,
)
async def create_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, session: SessionDep,
    settings: SettingsDep, throttle: Annotated[LoginThrottleService, Depends(get_login_throttle)],
    response: Response,
) -> Token:
    """OAuth2 password flow: form fields `username` (the e-mail) and `password`.

    Returns an HS256 JWT valid for `expires_in` seconds (`JOBCOST_ACCESS_TOKEN_MINUTES`, default 60 minutes).
    401 `invalid-credentials` for an unknown e-mail, a wrong password or a deactivated account, with the same
    body and similar timing in each case. 429 with `Retry-After` (seconds) once an address, or an account from
    the addresses that failed it, had too many failures (by default 20 per address and 5 per account in 15
    minutes; lockouts from 1 minute, doubling up to 15); a correct password resets the account.
    """
    address = client_address(request, settings.trusted_proxies)
    await throttle.check(form.username, address)
    try:
        token = await AuthService(session, settings).authenticate(form.username, form.password)
    except InvalidCredentialsError:
        # The request's transaction ends first: the failure must stay recorded although the request fails.
        await release_connection(session)
        await throttle.record_failure(form.username, address)
        raise
    await throttle.record_success(form.username, address)
    # RFC 6749 section 5.1: responses carrying tokens must not be cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return token


@router.get("/me", summary="The signed-in user", response_model=Me,
            dependencies=[single_valued_query(caller=CurrentUser)],
            responses={**error_responses(401, 503), **INGEST_TOKEN_REFUSED, **QUERY_REFUSED})
async def read_me(user: CurrentUser) -> Me:
    """The caller's id, e-mail, role (`admin` or `member`) and the teams whose data it may read."""
    return Me.model_validate(user)
