"""Sign-in, tokens and user accounts. Raises AppError subclasses; flushes, never commits."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from app.auth.schemas import Token
from app.core.config import DEV_ADMIN_PASSWORD, Settings
from app.core.errors import (
    ConflictError,
    InvalidCredentialsError,
    NotAuthenticatedError,
    NotFoundError,
    UnprocessableError,
)
from app.core.logs import note_principal
from app.core.security import (
    MAX_PASSWORD_LENGTH,
    InvalidTokenError,
    create_access_token,
    decode_access_token,
    hash_password,
    verify_password,
)
from app.db.models import Role, User
from app.teams.service import ensure_teams

logger = logging.getLogger("jobcost.auth")

MIN_PASSWORD_LENGTH = 8


def normalize_email(email: str) -> str:
    """Trimmed and lower-cased; at least `x@y`. Raises UnprocessableError otherwise."""
    cleaned = email.strip().lower()
    local, _, domain = cleaned.partition("@")
    if not local or not domain or " " in cleaned or len(cleaned) > 320:
        raise UnprocessableError(f"not an e-mail address: {email!r}")
    return cleaned


class AuthService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def _get_user(self, *, email: str | None = None, user_id: uuid.UUID | None = None) -> User | None:
        # The teams in the same statement (a join, not selectinload's second query): every request reads its
        # caller here, so a round trip saved here is saved on every request.
        stmt = select(User).options(joinedload(User.teams))
        stmt = stmt.where(User.email == email) if email is not None else stmt.where(User.id == user_id)
        return (await self.session.execute(stmt)).unique().scalar_one_or_none()

    async def authenticate(self, email: str, password: str) -> Token:
        """A token for valid credentials of an active user.

        Raises InvalidCredentialsError (401) otherwise, with the same body and the same amount of hashing work
        whether the e-mail is unknown, the password wrong or the account deactivated.
        """
        email = email.strip().lower()
        # PostgreSQL text cannot hold NUL: such an e-mail matches nobody, and takes the same path as any unknown one.
        user = None if "\x00" in email else await self._get_user(email=email)
        # argon2 costs ~0.1 s of CPU by design: in a worker thread, so sign-ins do not stall the event loop.
        valid = await asyncio.to_thread(verify_password, password, user.hashed_password if user else None)
        if not valid or user is None or not user.is_active:
            logger.info("login refused")
            raise InvalidCredentialsError()
        minutes = self.settings.access_token_minutes
        token = create_access_token(user.id, secret=self.settings.secret_key.get_secret_value(), minutes=minutes,
                                    generation=user.token_generation)
        return Token(access_token=token, expires_in=minutes * 60)

    async def user_for_token(self, token: str) -> User:
        """The active user named by a valid token, with teams loaded. Raises NotAuthenticatedError."""
        try:
            claims = decode_access_token(token, secret=self.settings.secret_key.get_secret_value())
        except InvalidTokenError as exc:
            logger.info("bearer token refused: %s", exc)
            raise NotAuthenticatedError("Invalid or expired bearer token") from None
        user = await self._get_user(user_id=claims.subject)
        if user is None or not user.is_active or claims.generation != user.token_generation:
            raise NotAuthenticatedError("Invalid or expired bearer token")
        note_principal("user", user.id)
        return user

    async def list_users(self) -> Sequence[User]:
        stmt = select(User).options(selectinload(User.teams)).order_by(User.email)
        return (await self.session.execute(stmt)).scalars().all()

    async def create_user(self, email: str, password: str, role: Role, teams: Sequence[str] = (),
                          *, enforce_policy: bool = True) -> User:
        """Create a user, creating the named teams if needed. Raises UnprocessableError for a bad e-mail or a
        password outside 8..1024 characters, ConflictError when the e-mail is taken."""
        email = normalize_email(email)
        if enforce_policy and not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
            raise UnprocessableError(
                f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long")
        if await self._get_user(email=email) is not None:
            raise ConflictError(f"a user with e-mail {email} already exists")
        user = User(email=email, hashed_password=hash_password(password), role=role,
                    teams=list((await ensure_teams(self.session, teams)).values()))
        self.session.add(user)
        try:
            await self.session.flush()
        except IntegrityError:
            raise ConflictError(f"a user with e-mail {email} already exists") from None
        return user

    async def set_active(self, email: str, active: bool) -> User:
        """Activate or deactivate a user. Deactivation revokes every token issued so far, for good: activating
        the user again does not revive them. NotFoundError for an unknown e-mail."""
        user = await self._get_user(email=normalize_email(email))
        if user is None:
            raise NotFoundError(f"no user with e-mail {email}")
        if user.is_active and not active:
            user.token_generation += 1
        user.is_active = active
        await self.session.flush()
        return user

    async def set_teams(self, email: str, teams: Sequence[str]) -> User:
        """Make `teams` (names, created when missing) the user's teams, replacing the ones it had; an empty list
        leaves it none. A member reads exactly these teams from its next request on: its tokens stay valid, as
        the scope is looked up per request. NotFoundError for an unknown e-mail."""
        user = await self._get_user(email=normalize_email(email))
        if user is None:
            raise NotFoundError(f"no user with e-mail {email}")
        user.teams = list((await ensure_teams(self.session, teams)).values())
        await self.session.flush()
        return user

    async def ensure_admin(self, email: str, password: str) -> tuple[User, bool]:
        """The user with `email`, created as an admin with `password` if absent; returns `(user, created)`.
        An existing user is left as it is, whatever its role or state: the caller checks."""
        existing = await self._get_user(email=normalize_email(email))
        if existing is not None:
            return existing, False
        return await self.create_user(email, password, Role.admin, enforce_policy=False), True

    async def admins_with_development_password(self) -> list[str]:
        """E-mails of active admins that sign in with the development password (`admin`), whatever their e-mail
        (the development admin's e-mail is configurable). Production refuses to start while any exists.
        Costs one password verification per active admin."""
        stmt = select(User).where(User.role == Role.admin, User.is_active.is_(True)).order_by(User.email)
        admins = (await self.session.execute(stmt)).scalars().all()
        found = []
        for admin in admins:
            if await asyncio.to_thread(verify_password, DEV_ADMIN_PASSWORD, admin.hashed_password):
                found.append(admin.email)
        return found
