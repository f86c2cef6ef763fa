"""Fixtures for the command-line tests.

The CLI reads its settings from the environment like the service does, so every test starts from an
environment without `DATABASE_URL` or `JOBCOST_*` (a developer's shell must not aim a test at a real database).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import ScratchDatabase


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name == "DATABASE_URL" or (name.startswith("JOBCOST_") and name != "JOBCOST_TEST_PG_URL"):
            monkeypatch.delenv(name)


@pytest.fixture
def empty_db(backend: str, tmp_path: Path) -> Iterator[ScratchDatabase]:
    """A database of this test's own with no tables at all (not migrated)."""
    db = ScratchDatabase(backend, tmp_path).create(migrated=False)
    yield db
    db.drop()


@pytest.fixture
def unused_sqlite_url(tmp_path: Path) -> tuple[str, Path]:
    """A SQLite URL whose file does not exist yet, for commands expected to touch no database at all."""
    path = tmp_path / "must-not-exist.db"
    return f"sqlite+aiosqlite:///{path}", path
