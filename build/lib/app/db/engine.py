"""Engines and session factories for both dialects.

SQLite (aiosqlite): WAL journal, foreign keys on, a busy timeout, and SQLAlchemy in charge of BEGIN. The sqlite3
module otherwise opens transactions lazily on its own, which breaks SAVEPOINTs (and so the per-test rollback and
`begin_nested`). PostgreSQL (asyncpg): pre-ping so connections killed by a restart are replaced, session time
zone UTC, and custom plans for prepared statements (generic plans made the year-long sums 2-3x slower here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.core.config import Settings

# Execution option marking a session that will write: on SQLite its transaction starts with BEGIN IMMEDIATE.
WRITER_OPTION = "jobcost_writer"
SQLITE_WAL_LIMIT_BYTES = 64 * 1024 * 1024


def _ensure_sqlite_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_pragmas(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Leave transaction control to SQLAlchemy (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Readers that never pause keep a checkpoint from restarting the WAL, which then only grows (192 MB beside
        # a 42 MB database under steady reads and writes); past this size it is truncated after each checkpoint.
        cursor.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_LIMIT_BYTES}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer takes the write lock up front (waiting up to busy_timeout for it): a deferred transaction that
        # read first and writes later can fail at once with SQLITE_BUSY when another writer got there meanwhile.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITER_OPTION) else "BEGIN")


def create_engine(settings: Settings, **overrides: Any) -> AsyncEngine:
    """An AsyncEngine for `settings.database_url`, configured for its dialect. `overrides` go to
    `create_async_engine` (tests use them for small pools)."""
    url = settings.database_url
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_async_engine(url, **overrides)
        _install_sqlite_pragmas(engine, settings.sqlite_busy_timeout_ms)
        return engine
    options: dict[str, Any] = {
        "pool_pre_ping": True,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout,
        "connect_args": {
            "server_settings": {"timezone": "UTC", "plan_cache_mode": "force_custom_plan",
                                "application_name": "jobcost"},
        },
    }
    options.update(overrides)
    return create_async_engine(url, **options)


def create_sessionmaker(bind: Any) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit, so a response built after commit never lazy-loads."""
    return async_sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)


async def begin_write(session: AsyncSession) -> None:
    """Make `session`'s next transaction a writer's, ending the current one first if it has begun.

    On SQLite a writer's transaction starts with BEGIN IMMEDIATE: it holds the write lock from its first statement,
    so concurrent writers queue (up to the busy timeout) instead of one failing with "database is locked". On
    PostgreSQL nothing changes. A request calls this after it has checked the caller's token and read its body,
    so no lock is held while a client uploads. The transaction ended here must have read only: pending changes
    raise RuntimeError rather than being committed by surprise.
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("begin_write: the session has pending changes; flush and commit them first")
    if session.in_transaction():
        await session.commit()
    await session.connection(execution_options={WRITER_OPTION: True})


async def ping(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Run `SELECT 1`; raises whatever the driver raises when the database is unreachable."""
    async with sessionmaker() as session:
        await session.execute(text("SELECT 1"))
