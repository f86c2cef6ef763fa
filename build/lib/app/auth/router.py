"""`/auth`: sign in and find out who you are."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import INGEST_TOKEN_REFUSED, CurrentUser, SessionDep, SettingsDep
from app.api.errors import error_responses, problem_body
from app.auth.schemas import Me, Token
from app.auth.service import AuthService

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/token",
    summary="Sign in and get a bearer token",
    response_model=Token,
    responses=error_responses(400, 401, 422, 503, descriptions={
        400: "The form could not be parsed (malformed multipart, a field over 1 MiB)",
        401: "Unknown e-mail, wrong password or deactivated account (one answer for all three)"},
        examples={401: problem_body(401, "invalid-credentials", "Invalid credentials",
                                    "Incorrect email or password")}),
)
async def create_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, settings: SettingsDep,
    response: Response,
) -> Token:
    """OAuth2 password flow: form fields `username` (the e-mail) and `password`.

    Returns an HS256 JWT valid for `expires_in` seconds (`JOBCOST_ACCESS_TOKEN_MINUTES`, default 60 minutes).
    401 `invalid-credentials` for an unknown e-mail, a wrong password or a deactivated account, with the same
    body and similar timing in each case.
    """
    token = await AuthService(session, settings).authenticate(form.username, form.password)
    # RFC 6749 section 5.1: responses carrying tokens must not be cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return token


@router.get("/me", summary="The signed-in user", response_model=Me,
            responses={**error_responses(401, 503), **INGEST_TOKEN_REFUSED})
async def read_me(user: CurrentUser) -> Me:
    """The caller's id, e-mail, role (`admin` or `member`) and the teams whose data it may read."""
    return Me.model_validate(user)
