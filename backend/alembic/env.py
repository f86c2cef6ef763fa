"""Alembic environment: one migration history for PostgreSQL and SQLite, run through the async drivers.

The URL comes from `config.attributes["database_url"]` (set by `app.db.migrate`) or else the settings
(`DATABASE_URL`). `render_as_batch` lets the same migration alter tables on SQLite.
"""

from __future__ import annotations

import asyncio
import warnings

from alembic import context
from sqlalchemy import JSON
from sqlalchemy.engine import Connection

from app.core.config import Settings
from app.db import models  # noqa: F401 - registers every table on Base.metadata
from app.db.base import Base
from app.db.engine import create_engine
from app.db.models.job import LIST_ORDER_INDEX, POSTGRESQL_ONLY_INDEXES

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    return config.attributes.get("database_url") or Settings().database_url


def _compare_server_default(context, inspected_column, metadata_column, inspected_default, metadata_default,
                            rendered_metadata_default):  # noqa: ANN001 - Alembic's hook signature
    # PostgreSQL cannot compare json values with '=', which Alembic's default comparison runs; JSON defaults
    # are checked by the migration tests instead. None = let Alembic compare as usual.
    if isinstance(metadata_column.type, JSON):
        return False
    return None


# Alembic warns that SQLite cannot reflect expression indexes before `_include_object` gets to skip the one such
# index, which exists on PostgreSQL only: nothing is left uncompared, so the warning is noise in `jobcost db check`.
warnings.filterwarnings("ignore", message="autogenerate skipping metadata-specified expression-based index "
                                          f"'{LIST_ORDER_INDEX}'; dialect 'sqlite'")


def _include_object(object_, name, type_, reflected, compare_to):  # noqa: ANN001 - Alembic's hook signature
    # Indexes that exist on PostgreSQL only are neither expected nor reported missing on other databases.
    if type_ == "index" and name in POSTGRESQL_ONLY_INDEXES:
        return context.get_context().dialect.name == "postgresql"
    return True


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        # The engine hands BEGIN to SQLAlchemy on SQLite too (see app.db.engine), so DDL is transactional on both
        # databases: a migration that fails half-way leaves nothing behind.
        transactional_ddl=True,
        compare_type=True,
        compare_server_default=_compare_server_default,
        include_object=_include_object,
    )


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(Settings(database_url=_database_url()))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(_run_async())
