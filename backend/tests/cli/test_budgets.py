"""`jobcost budgets create | list | update | delete` on a scratch database: the rows it writes, read back raw, and
bad option values refused with exit 2 naming the option."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.models import Budget, Team
from tests.cli.helpers import invoke, with_connection
from tests.databases import ScratchDatabase


def _budgets(url: str) -> list[Any]:
    async def work(connection: AsyncConnection) -> list[Any]:
        return list((await connection.execute(sa.select(Budget.__table__))).all())

    return with_connection(url, work)


def _add_team(url: str, name: str) -> None:
    async def work(connection: AsyncConnection) -> None:
        await connection.execute(sa.insert(Team.__table__).values(id=uuid.uuid4(), name=name,
                                                                  name_key=name.casefold()))

    with_connection(url, work, commit=True)


def test_create_list_update_delete(fresh_db: ScratchDatabase) -> None:
    url = fresh_db.url
    _add_team(url, "NLP")
    created = invoke("budgets", "create", "--team", "nlp", "--amount", "1500.25", "--threshold", "90",
                     "--threshold", "75", "--name", "nlp gpus", "--as", "ops@example.test", "--database-url", url)
    assert created.exit_code == 0, created.output
    (row,) = _budgets(url)
    assert (row.scope, row.period, row.amount_micros, row.thresholds, row.name, row.created_by) == (
        "team", "month", 1_500_250_000, [75, 90], "nlp gpus", "ops@example.test")
    assert f"created budget {row.id}: 1500.250000 USD per month for team NLP (nlp gpus); thresholds 75%, 90%" \
        in created.output

    listed = invoke("budgets", "list", "--database-url", url)
    assert listed.exit_code == 0 and str(row.id) in listed.output, listed.output

    updated = invoke("budgets", "update", str(row.id), "--amount", "10", "--period", "quarter", "--database-url", url)
    assert updated.exit_code == 0, updated.output
    (row,) = _budgets(url)
    assert (row.amount_micros, row.period, row.thresholds) == (10_000_000, "quarter", [75, 90])

    deleted = invoke("budgets", "delete", str(row.id), "--database-url", url)
    assert deleted.exit_code == 0, deleted.output
    assert _budgets(url) == []
    again = invoke("budgets", "delete", str(row.id), "--database-url", url)
    assert again.exit_code == 1 and "No budget with id" in again.output


def test_bad_values_exit_2_naming_the_option(fresh_db: ScratchDatabase) -> None:
    url = fresh_db.url
    _add_team(url, "nlp")
    for args, named in ((["--team", "nlp", "--amount", "-3"], "--amount: must be more than 0"),
                        (["--team", "ghost", "--amount", "3"], "--team: no team has this name"),
                        (["--team", "nlp", "--amount", "3", "--threshold", "1001"], "--threshold: each threshold"),
                        (["--all", "--team", "nlp", "--amount", "3"], "--team: must be absent")):
        result = invoke("budgets", "create", *args, "--database-url", url)
        assert result.exit_code == 2, (args, result.output)
        assert named in result.output, (args, result.output)
    assert _budgets(url) == []
    assert invoke("budgets", "update", "not-an-id", "--amount", "1", "--database-url", url).exit_code == 2
