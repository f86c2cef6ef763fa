"""Dialect-specific statement builders for the few places PostgreSQL and SQLite differ in syntax."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession, table: Table | Any) -> Any:
    """An INSERT that supports `on_conflict_do_nothing/do_update` on the session's dialect."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported database dialect: {name}")


def in_code_point_order(session: AsyncSession, column: Any) -> Any:
    """`column` to sort by Unicode code point on both databases: SQLite's default (BINARY) order, and PostgreSQL's
    under `COLLATE "C"`, whatever the database's locale (en_US would put `b` before `C`, and `_` anywhere)."""
    if session.get_bind().dialect.name == "postgresql":
        return column.collate("C")
    return column
