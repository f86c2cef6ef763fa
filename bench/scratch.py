"""Set-up shared by the benchmarks: run one on SQLite (a temporary file) and on PostgreSQL (a scratch database
created and dropped here), and create its user."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from app.auth.service import AuthService
from app.core.config import Settings
from app.db.engine import create_engine, create_sessionmaker
from app.db.models import Role


async def on_each_database(work: Callable[[str, str], Awaitable[None]], pg_url: str) -> None:
    """`await work(url, label)` for a fresh SQLite file, then for a fresh PostgreSQL database on the server of
    `pg_url` (skipped, with a line saying why, when that server does not answer)."""
    with tempfile.TemporaryDirectory() as tmp:
        await work(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", "SQLite")
    url = make_url(pg_url)
    name = f"jobcost_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"  PostgreSQL skipped: {exc}")
        return
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            await work(url.set(database=name).render_as_string(hide_password=False), "PostgreSQL")
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def create_user(settings: Settings, email: str, password: str, role: Role) -> None:
    """Create a user in the database of `settings`, committed."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await AuthService(session, settings).create_user(email, password, role)
    finally:
        await engine.dispose()

