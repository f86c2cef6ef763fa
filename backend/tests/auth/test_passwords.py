"""Passwords (F22): argon2id through pwdlib, hashed whole. No 72-byte limit or truncation (bcrypt's), no
passlib, and an over-long wrong password is a 401, not a 500."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from pwdlib.hashers.argon2 import Argon2Hasher

from app.auth.service import AuthService
from app.core import security
from app.core.errors import UnprocessableError
from app.db.models import Role
from app.main import create_app
from tests.api.problems import assert_unauthenticated
from tests.conftest import make_settings
from tests.factories import login

ROOT = Path(__file__).resolve().parents[3]


def test_the_pinned_hasher_round_trips_an_argon2id_hash() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pwdlib = next(r for r in map(Requirement, dependencies) if r.name == "pwdlib")
    assert "argon2" in pwdlib.extras
    assert version("pwdlib") in pwdlib.specifier
    version("argon2-cffi")  # the extra is really installed
    assert [type(h) for h in security._password_hash.hashers] == [Argon2Hasher]

    first = security.hash_password("correct horse battery staple")
    second = security.hash_password("correct horse battery staple")

    assert first.startswith("$argon2id$v=19$")
    assert first != second  # salted
    assert security.verify_password("correct horse battery staple", first)
    assert security.verify_password("correct horse battery staple", second)
    assert not security.verify_password("correct horse battery stapl", first)
    assert not security.verify_password("Correct horse battery staple", first)


def test_an_unreadable_stored_hash_is_a_failed_check_not_an_error() -> None:
    for stored in ("", "not-a-hash", "$2b$12$" + "a" * 53, "$argon2id$v=19$m=65536,t=3,p=4$broken"):
        assert security.verify_password("whatever-password", stored) is False


# Byte lengths over bcrypt's 72, one in ASCII and one in 3-byte UTF-8 characters, with a same-prefix impostor:
# if anything truncated at 72 bytes, the impostor would sign in.
LONG_PASSWORDS = {
    "100-byte-ascii": ("p" * 99 + "!", 100, "p" * 72 + "#" * 28),
    "30-euro-signs": ("€" * 30, 90, "€" * 24 + "x" * 6),
}


@pytest.mark.parametrize("case", list(LONG_PASSWORDS))
async def test_passwords_over_72_bytes_are_hashed_whole(client, make_user, case: str) -> None:
    password, size, impostor = LONG_PASSWORDS[case]
    assert len(password.encode()) == size
    assert impostor.encode()[:72] == password.encode()[:72]
    await make_user("long@example.test", password=password)

    accepted = await login(client, "long@example.test", password)
    refused = await login(client, "long@example.test", impostor)

    assert accepted.status_code == 200, accepted.text
    assert_unauthenticated(refused, "invalid-credentials")


@pytest.mark.parametrize("wrong", ["w" * 200, "w" * 5000, "€" * 5000], ids=["200-bytes", "5000-chars", "15000-bytes"])
async def test_an_overlong_wrong_password_is_401(client, make_user, wrong: str) -> None:
    await make_user("user@example.test")

    assert_unauthenticated(await login(client, "user@example.test", wrong), "invalid-credentials")
    assert_unauthenticated(await login(client, "nobody@example.test", wrong), "invalid-credentials")


async def test_the_longest_allowed_password_signs_in_and_one_more_character_is_refused(
    client, make_user, sessionmaker, settings
) -> None:
    password = "L" * 1024
    await make_user("max@example.test", password=password)

    assert (await login(client, "max@example.test", password)).status_code == 200
    assert_unauthenticated(await login(client, "max@example.test", password + "L"), "invalid-credentials")
    async with sessionmaker() as session:
        with pytest.raises(UnprocessableError, match="8 to 1024"):
            await AuthService(session, settings).create_user("over@example.test", "L" * 1025, Role.member)
        with pytest.raises(UnprocessableError, match="8 to 1024"):
            await AuthService(session, settings).create_user("short@example.test", "seven77", Role.member)


def test_neither_passlib_nor_bcrypt_is_imported() -> None:
    create_app(make_settings("sqlite+aiosqlite:///unused-by-this-test.db"))
    assert "passlib" not in sys.modules
    assert "bcrypt" not in sys.modules

    # And in a fresh interpreter, where nothing else can have imported them first (the CLI included).
    probe = (
        "import sys\n"
        "from app.core.config import Settings\n"
        "from app.main import create_app\n"
        "create_app(Settings(secret_key='x' * 40))\n"
        "from app import cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('passlib', 'bcrypt')))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)  # noqa: S603
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
    assert "bcrypt" not in result.stderr
