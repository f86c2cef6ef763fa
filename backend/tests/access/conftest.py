"""The access matrix: who reads which teams' jobs and costs.

`matrix` ingests, as an admin through `POST /api/v1/admin/ingest/jobs`, six jobs with billed costs chosen here
(`RECORDS`: three of team "nlp", two of "vision", one of "audio"), and signs in five callers:

| caller | role   | teams          |
|--------|--------|----------------|
| admin  | admin  | (every team)   |
| ana    | member | nlp            |
| ben    | member | vision         |
| cy     | member | nlp, vision    |
| dee    | member | none           |

and two read API tokens (`jobcost tokens create --scope read`), which must read exactly as the table says:

| caller    | what              | teams          |
|-----------|-------------------|----------------|
| read-all  | read token        | (every team)   |
| read-nlp  | read token        | nlp            |

Every expected figure (`Matrix.expected`) is computed here from `RECORDS`, by splitting each run at UTC midnights,
never read back from a response.

Password hashing is made cheap for these tests only (argon2 with minimal work factors, through `monkeypatch`):
the matrix signs in five users per test, and what is tested here is who sees what, not the hash's cost.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import security
from app.core.config import Settings
from app.db.models import Role, Team
from tests.factories import bearer, create_read_token, create_user, token_headers
from tests.ingestion.conftest import ingest_ok, job

API = "/api/v1"
JOBS = f"{API}/jobs"
BY_TEAM = f"{API}/analytics/cost/by-team"
BY_MODEL = f"{API}/analytics/cost/by-model"
ANALYTICS = (BY_TEAM, BY_MODEL)
FILTERED = (JOBS, BY_TEAM, BY_MODEL)  # the read endpoints taking `team_id` and `team`

ADMIN, ANA, BEN, CY, DEE = "admin", "ana", "ben", "cy", "dee"
READ_ALL, READ_NLP = "read-all", "read-nlp"  # read API tokens, not users
USERS = (ADMIN, ANA, BEN, CY, DEE)
MEMBERS = (ANA, BEN, CY, DEE)
READERS = (READ_ALL, READ_NLP)
CALLERS = USERS + READERS
NLP, VISION, AUDIO = "nlp", "vision", "audio"
TEAMS = (NLP, VISION, AUDIO)
# What each member belongs to (the admin reads every team).
MEMBERSHIP: dict[str, tuple[str, ...]] = {ANA: (NLP,), BEN: (VISION,), CY: (NLP, VISION), DEE: ()}
# The teams a read token is limited to (None: every team).
READ_TOKEN_TEAMS: dict[str, tuple[str, ...] | None] = {READ_ALL: None, READ_NLP: (NLP,)}
# Callers that read some teams only, as a member does.
SCOPED = MEMBERS + (READ_NLP,)


def readable_teams(caller: str) -> tuple[str, ...]:
    """The teams `caller` may read."""
    if caller in MEMBERSHIP:
        return MEMBERSHIP[caller]
    limited = READ_TOKEN_TEAMS.get(caller)
    return TEAMS if limited is None else limited
SIX = Decimal("0.000001")


def email(caller: str) -> str:
    return f"{caller}@access.test"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Record:
    """One job as ingested: a finished run with a billed cost (USD)."""

    job_id: str
    team: str
    model: str
    gpu_count: Decimal
    started: datetime
    ended: datetime
    cost: Decimal

    def payload(self) -> dict[str, Any]:
        return job(self.job_id, team=self.team, model_name=self.model, gpu_count=str(self.gpu_count),
                   started_at=self.started.isoformat().replace("+00:00", "Z"),
                   ended_at=self.ended.isoformat().replace("+00:00", "Z"), cost=str(self.cost))

    def per_day(self) -> dict[date, tuple[Decimal, Decimal]]:
        """(cost, GPU-hours) per UTC day: the run split at midnights, the billed cost spread by run time. The
        records are chosen so every share is exact to the micro-dollar (no rounding to reproduce)."""
        total_ms = (self.ended - self.started) // timedelta(milliseconds=1)
        days: dict[date, tuple[Decimal, Decimal]] = {}
        cursor = self.started
        while cursor < self.ended:
            midnight = datetime.combine(cursor.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
            stop = min(midnight, self.ended)
            ms = (stop - cursor) // timedelta(milliseconds=1)
            cost = self.cost * ms / total_ms
            assert cost == cost.quantize(SIX), f"choose {self.job_id}'s cost so its daily shares are exact"
            days[cursor.date()] = (cost, self.gpu_count * ms / 3_600_000)
            cursor = stop
        return days


RECORDS: tuple[Record, ...] = (
    Record("nlp-001", NLP, "llama-3-8b", Decimal(4), utc("2026-01-05T08:00:00"), utc("2026-01-05T12:00:00"),
           Decimal("100.25")),
    # Crosses midnight: half of its run (and cost) on the 6th, half on the 7th.
    Record("nlp-002", NLP, "llama-3-8b", Decimal(2), utc("2026-01-06T22:00:00"), utc("2026-01-07T02:00:00"),
           Decimal("40.10")),
    # An id with a slash, read through `/jobs/{job_id}`.
    Record("nlp/003", NLP, "bert-base", Decimal(1), utc("2026-01-08T10:00:00"), utc("2026-01-08T13:00:00"),
           Decimal("12.345678")),
    Record("vision-001", VISION, "resnet50", Decimal(8), utc("2026-01-10T00:00:00"), utc("2026-01-10T04:00:00"),
           Decimal("64.00")),
    Record("vision-002", VISION, "llama-3-8b", Decimal("0.5"), utc("2026-01-11T09:00:00"),
           utc("2026-01-11T15:00:00"), Decimal("8.50")),
    # Same model as nlp's: a member's by-model "llama-3-8b" must not include it.
    Record("audio-001", AUDIO, "llama-3-8b", Decimal(1), utc("2026-01-12T00:00:00"), utc("2026-01-12T10:00:00"),
           Decimal("999.99")),
)
ALL_JOB_IDS = frozenset(r.job_id for r in RECORDS)


@dataclass
class Figures:
    """Expected sums of one group (or of a whole report)."""

    cost: Decimal = Decimal(0)
    gpu_hours: Decimal = Decimal(0)
    jobs: set[str] = field(default_factory=set)

    def add(self, job_id: str, cost: Decimal, gpu_hours: Decimal) -> None:
        self.cost += cost
        self.gpu_hours += gpu_hours
        self.jobs.add(job_id)


@dataclass
class Expected:
    """An analytics report as it should be: totals, and figures per team name and per model name."""

    total: Figures
    by_team: dict[str, Figures]
    by_model: dict[str, Figures]


def expected_figures(teams: Iterable[str], start: date | None = None, end: date | None = None) -> Expected:
    """The report over `RECORDS` of `teams`, for the UTC days in `[start, end]` (either end open)."""
    wanted = set(teams)
    total = Figures()
    by_team: dict[str, Figures] = defaultdict(Figures)
    by_model: dict[str, Figures] = defaultdict(Figures)
    for record in RECORDS:
        if record.team not in wanted:
            continue
        for day, (cost, hours) in record.per_day().items():
            if (start is not None and day < start) or (end is not None and day > end):
                continue
            for figures in (total, by_team[record.team], by_model[record.model]):
                figures.add(record.job_id, cost, hours)
    return Expected(total=total, by_team=dict(by_team), by_model=dict(by_model))


# The per-team figures of the whole matrix (no window), for reference in tests.
TEAM_FIGURES: dict[str, Figures] = expected_figures(TEAMS).by_team


@dataclass
class Matrix:
    headers: dict[str, dict[str, str]]
    team_ids: dict[str, str]  # team name -> id (as the API writes it)

    def teams_of(self, caller: str) -> tuple[str, ...]:
        return readable_teams(caller)

    def foreign_teams(self, caller: str) -> tuple[str, ...]:
        return tuple(t for t in TEAMS if t not in self.teams_of(caller))

    def job_ids_of(self, caller: str) -> set[str]:
        teams = self.teams_of(caller)
        return {r.job_id for r in RECORDS if r.team in teams}

    def expected(self, caller: str, start: date | None = None, end: date | None = None) -> Expected:
        return expected_figures(self.teams_of(caller), start, end)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "_password_hash",
                        PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),)))


async def team_ids(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with sessionmaker() as session:
        rows = (await session.execute(select(Team.name, Team.id))).all()
    return {name: str(team_id) for name, team_id in rows}


@pytest.fixture
async def matrix(client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession],
                 settings: Settings) -> Matrix:
    await create_user(sessionmaker, settings, email(ADMIN), role=Role.admin)
    for caller, teams in MEMBERSHIP.items():
        await create_user(sessionmaker, settings, email(caller), teams=list(teams))
    headers = {caller: await bearer(client, email(caller)) for caller in USERS}
    report = await ingest_ok(client, headers[ADMIN], [r.payload() for r in RECORDS])
    assert (report["received"], report["created"], report["failed"]) == (len(RECORDS), len(RECORDS), 0), report
    ids = await team_ids(sessionmaker)
    assert set(ids) == set(TEAMS), ids
    for reader, teams in READ_TOKEN_TEAMS.items():  # after the ingest: a token names existing teams
        issued = await create_read_token(sessionmaker, settings, teams=teams or (), name=reader)
        headers[reader] = token_headers(issued.token)
    return Matrix(headers=headers, team_ids=ids)


def ghost_team_id() -> str:
    return str(uuid.uuid4())
