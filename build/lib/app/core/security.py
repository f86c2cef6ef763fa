"""Password hashing (argon2id via pwdlib) and access tokens (HS256 JWS via PyJWT).

Why these libraries: passlib is unmaintained and its bcrypt backend breaks with bcrypt >= 4.1/5.0 (every hash
raises); pwdlib is maintained and argon2 has no 72-byte truncation. python-jose decodes JWE as well as JWS and has
had decompression-bomb CVEs; PyJWT only verifies JWS and takes an explicit algorithm list, so `alg: none` and
algorithm confusion are refused by construction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

ALGORITHM = "HS256"
TOKEN_ISSUER = "jobcost"  # noqa: S105 - the `iss` claim, not a secret
# Bearer tokens longer than this are refused before any parsing (a normal token is ~250 bytes).
MAX_TOKEN_LENGTH = 4096
# Passwords are hashed whole (argon2 has no 72-byte limit); this cap only bounds hashing work per request.
MAX_PASSWORD_LENGTH = 1024

_password_hash = PasswordHash((Argon2Hasher(),))
# A real argon2 hash of a random secret, with the same parameters as stored hashes: the login path verifies
# against it when the e-mail is unknown, so that both failures cost the same time.
_DUMMY_HASH = _password_hash.hash(uuid.uuid4().hex)


def hash_password(password: str) -> str:
    """argon2id hash of `password`, in PHC string format."""
    return _password_hash.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    """True when `password` matches `hashed`. With `hashed=None` (unknown user) a dummy hash is verified so the
    call takes as long as a real check, and False is returned."""
    if len(password) > MAX_PASSWORD_LENGTH:
        password = password[:MAX_PASSWORD_LENGTH] + "\x00"  # still hash (same cost), can never match a stored one
    if hashed is None:
        _password_hash.verify(password, _DUMMY_HASH)
        return False
    try:
        return _password_hash.verify(password, hashed)
    except Exception:  # an unreadable stored hash is a failed login, not a 500
        return False


@dataclass(frozen=True)
class TokenClaims:
    subject: uuid.UUID
    generation: int
    issued_at: datetime
    expires_at: datetime


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or otherwise unusable. The message is for logs, not clients."""


def create_access_token(subject: uuid.UUID, *, secret: str, minutes: int, generation: int = 0,
                        now: datetime | None = None) -> str:
    """A signed HS256 JWT for user `subject`, valid for `minutes` from `now` (UTC). `generation` is the user's
    token generation at issue (claim `gen`): a token whose generation is no longer current is refused."""
    issued = now or datetime.now(UTC)
    payload = {
        "sub": str(subject),
        "iss": TOKEN_ISSUER,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=minutes)).timestamp()),
        "jti": uuid.uuid4().hex,
        "gen": generation,
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret: str) -> TokenClaims:
    """Verify `token` (HS256 only, signature, `exp`, `iat`, `iss`, `sub`, `gen`) and return its claims.

    Raises InvalidTokenError for anything else: oversized, not three segments, another algorithm, a wrong key,
    expired, or claims missing.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidTokenError("token too long")
    if token.count(".") != 2:
        raise InvalidTokenError("not a compact JWS")
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=TOKEN_ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "gen"]},
        )
        subject = uuid.UUID(payload["sub"])
        generation = payload["gen"]
        if not isinstance(generation, int) or isinstance(generation, bool):
            raise ValueError("gen must be an integer")
        # A correctly signed token can still carry absurd instants (exp=1e20): refused, not a 500.
        return TokenClaims(
            subject=subject,
            generation=generation,
            issued_at=datetime.fromtimestamp(payload["iat"], UTC),
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        )
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError, OSError) as exc:
        raise InvalidTokenError(str(exc)) from exc
