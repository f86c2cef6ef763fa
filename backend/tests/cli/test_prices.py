"""`jobcost prices list | add | retire | import | export`: the rate card from the command line, acting on the
database, each change recosting the jobs it touches; figures checked against hand computations and the tables."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.db.engine import create_engine, create_sessionmaker
from app.db.models import Role
from tests.cli.helpers import invoke, with_connection
from tests.conftest import make_settings
from tests.databases import ScratchDatabase, in_thread
from tests.factories import create_user
from tests.recost.conftest import ingest, stored

CARD = Path(__file__).resolve().parents[3] / "docs" / "alibaba-onprem-card.toml"
HEADER = "provider,gpu_type,usd_per_gpu_hour,valid_from,valid_to,note\n"


def _run(url: str, work: Any) -> Any:
    async def run() -> Any:
        engine = create_engine(make_settings(url))
        try:
            return await work(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    return in_thread(lambda: asyncio.run(run()))


def _jobs(url: str, *records: dict[str, Any]) -> None:
    _run(url, lambda sm: ingest(sm, list(records)))


def _costs(url: str) -> dict[str, int | None]:
    async def work(sm: Any) -> dict[str, int | None]:
        return {k: v["cost"] for k, v in (await stored(sm)).items()}

    return _run(url, work)


def _rates(url: str) -> list[tuple[Any, ...]]:
    async def work(connection: Any) -> list[tuple[Any, ...]]:
        rows = await connection.execute(sa.text(
            "SELECT provider, gpu_type, usd_per_gpu_hour_micros, valid_to IS NULL, note, created_by, "
            "retired_at IS NULL FROM gpu_prices WHERE origin = 'custom' ORDER BY provider, gpu_type, valid_from"))
        return [tuple(row) for row in rows]

    return with_connection(url, work)


def _pod(job_id: str, gpu_type: str | None, gpus: str, start: str, end: str) -> dict[str, Any]:
    return {"job_id": job_id, "team": "alibaba-openb", "status": "failed", "gpu_type": gpu_type, "gpu_count": gpus,
            "provider": "alibaba-openb", "started_at": start, "ended_at": end}


def test_import_prices_the_trace_types_and_twice_changes_nothing(fresh_db: ScratchDatabase) -> None:
    url = fresh_db.url
    _jobs(url, _pod("p-1", "V100M16", "8", "2025-06-01T00:00:00Z", "2025-06-01T10:00:00Z"),
          _pod("p-2", "T4", "0.5", "2025-06-02T00:00:00Z", "2025-06-03T12:00:00Z"),
          _pod("p-3", "G2", "1", "2025-06-01T00:00:00Z", "2025-06-01T01:00:00Z"))
    assert _costs(url) == {"p-1": None, "p-2": None, "p-3": None}

    result = invoke("prices", "import", str(CARD), "--database-url", url)

    assert result.exit_code == 0, result.output
    # By hand: 8 GPUs × 10 h × 0.951517 = 76.12136 USD; 0.5 GPU × 36 h × 0.35 = 6.3 USD; G2 has no rate.
    assert _costs(url) == {"p-1": 76_121_360, "p-2": 6_300_000, "p-3": None}
    assert result.stdout.splitlines() == [
        f"imported {CARD}: 5 added, 0 unchanged, 0 closed",
        "jobs recosted: 2 (of 2 in scope; billed jobs never change)",
        "cost (USD): 0.000000 -> 82.421360",
        "unpriced GPU-hours: 98.000000 -> 0.000000"]
    assert [(r[1], r[2], r[5]) for r in _rates(url)] == [
        ("A10", 1_290_000, "cli"), ("P100", 826_981, "cli"), ("T4", 350_000, "cli"), ("V100M16", 951_517, "cli"),
        ("V100M32", 1_279_894, "cli")]

    again = invoke("prices", "import", str(CARD), "--database-url", url)

    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines() == [f"imported {CARD}: 0 added, 5 unchanged, 0 closed"]
    assert len(_rates(url)) == 5 and _costs(url)["p-1"] == 76_121_360


def test_a_file_with_bad_lines_is_refused_whole_naming_them(fresh_db: ScratchDatabase, tmp_path: Path) -> None:
    card = tmp_path / "card.csv"
    card.write_text(HEADER + "onprem,V100,2.10,2019-01-01T00:00:00Z,,ok\n"
                             "onprem,P100,0,2019-01-01T00:00:00Z,,\n"
                             "onprem,T4,1,2019-01-01T00:00:00,,\n")

    result = invoke("prices", "import", str(card), "--database-url", fresh_db.url)

    assert result.exit_code == 2, result.output
    assert f"refused: {card} has 2 problems, nothing was imported" in result.stderr
    assert "line 3, usd_per_gpu_hour: must be more than 0" in result.stderr
    assert "line 4, valid_from: must be an RFC 3339 timestamp" in result.stderr
    assert "Traceback" not in result.output
    assert _rates(fresh_db.url) == []


def test_a_gpu_type_star_is_named_by_its_line(fresh_db: ScratchDatabase, tmp_path: Path) -> None:
    card = tmp_path / "card.csv"
    card.write_text(HEADER + "onprem,V100,2.10,2019-01-01T00:00:00Z,,\n*,*,1,2019-01-01T00:00:00Z,,\n")

    result = invoke("prices", "import", str(card), "--database-url", fresh_db.url)

    assert result.exit_code == 2, result.output
    assert "line 3, gpu_type: must name a GPU type" in result.stderr
    assert _rates(fresh_db.url) == []


def test_bad_aliases_of_a_card_are_named_and_refuse_the_file(fresh_db: ScratchDatabase, tmp_path: Path) -> None:
    card = tmp_path / "card.toml"
    card.write_text('[[rates]]\nprovider = "onprem"\ngpu_type = "QA"\nusd_per_gpu_hour = "1"\n'
                    'valid_from = 2019-01-01T00:00:00Z\n\n[aliases.gpu_type]\nQA = "QB"\nQB = "QA"\n\n'
                    '[aliases.provider]\ndc = "*"\n')

    result = invoke("prices", "import", str(card), "--database-url", fresh_db.url)

    assert result.exit_code == 2, result.output
    assert 'aliases.gpu_type."QA": maps to \'QB\', which is itself a spelling of \'QA\'' in result.stderr
    assert 'aliases.gpu_type."QB": maps to \'QA\'' in result.stderr
    assert 'aliases.provider."dc": must map to a name' in result.stderr
    assert "Traceback" not in result.output
    assert _rates(fresh_db.url) == []


def test_more_than_a_thousand_rates_are_refused(fresh_db: ScratchDatabase, tmp_path: Path) -> None:
    card = tmp_path / "big.csv"
    card.write_text(HEADER + "".join(f"onprem,GPU{i},1,2019-01-01T00:00:00Z,,\n" for i in range(1001)))

    result = invoke("prices", "import", str(card), "--database-url", fresh_db.url)

    assert result.exit_code == 2, result.output
    assert "file: give 1 to 1000 rates" in result.stderr
    assert _rates(fresh_db.url) == []


def test_a_rate_differing_from_one_in_force_is_a_conflict(fresh_db: ScratchDatabase, tmp_path: Path) -> None:
    url = fresh_db.url
    first = tmp_path / "first.csv"
    first.write_text(HEADER + "onprem,V100,2.10,2019-01-01T00:00:00Z,,\n")
    assert invoke("prices", "import", str(first), "--database-url", url).exit_code == 0
    changed = tmp_path / "changed.toml"
    changed.write_text('[[rates]]\nprovider = "onprem"\ngpu_type = "V100"\nusd_per_gpu_hour = 2.2\n'
                       'valid_from = 2019-01-01T00:00:00Z\n')

    result = invoke("prices", "import", str(changed), "--database-url", url)

    assert result.exit_code == 1, result.output
    assert "rates[0] (line 1): onprem/V100 from 2019-01-01T00:00:00+00:00 is already rate" in result.stderr
    assert "jobcost prices retire" in result.stderr
    assert [r[2] for r in _rates(url)] == [2_100_000]


def test_add_then_retire_reprices_and_restores(fresh_db: ScratchDatabase) -> None:
    url = fresh_db.url
    _jobs(url, _pod("a", "V100", "2", "2019-03-01T00:00:00Z", "2019-03-01T05:00:00Z"))

    added = invoke("prices", "add", "--provider", "alibaba-openb", "--gpu-type", "v100", "--usd-per-gpu-hour",
                   "2.10", "--valid-from", "2019-01-01T00:00:00Z", "--note", "chargeback", "--database-url", url)

    assert added.exit_code == 0, added.output
    # 2 GPUs × 5 h × 2.10 = 21 USD; the GPU type read through the catalog's aliases (v100 → V100).
    assert _costs(url) == {"a": 21_000_000}
    assert "cost (USD): 0.000000 -> 21.000000" in added.stdout
    rate_id = added.stdout.split()[2].rstrip(":")
    assert _rates(url) == [("alibaba-openb", "V100", 2_100_000, True, "chargeback", "cli", True)]

    retired = invoke("prices", "retire", rate_id, "--database-url", url)

    assert retired.exit_code == 0, retired.output
    assert retired.stdout.startswith(f"retired rate {rate_id}: alibaba-openb V100 2.100000")
    assert "cost (USD): 21.000000 -> 0.000000" in retired.stdout
    assert _costs(url) == {"a": None}
    assert not _rates(url)[0][6]  # kept, retired

    again = invoke("prices", "retire", rate_id, "--database-url", url)
    assert again.exit_code == 1 and "already retired" in again.stderr


def test_add_refuses_bad_values_and_overlaps(fresh_db: ScratchDatabase) -> None:
    url = fresh_db.url
    base = ["prices", "add", "--provider", "onprem", "--gpu-type", "V100", "--database-url", url]
    naive = invoke(*base, "--usd-per-gpu-hour", "1", "--valid-from", "2019-01-01T00:00:00")
    assert naive.exit_code == 2 and "--valid-from: must be an RFC 3339 timestamp" in naive.stderr
    zero = invoke(*base, "--usd-per-gpu-hour", "0", "--valid-from", "2019-01-01T00:00:00Z")
    assert zero.exit_code == 2 and "--usd-per-gpu-hour: must be more than 0" in zero.stderr
    backwards = invoke(*base, "--usd-per-gpu-hour", "1", "--valid-from", "2019-01-01T00:00:00Z",
                       "--valid-to", "2018-01-01T00:00:00Z")
    assert backwards.exit_code == 2 and "--valid-to: must be after valid_from" in backwards.stderr
    star = invoke("prices", "add", "--provider", "onprem", "--gpu-type", " * ", "--usd-per-gpu-hour", "1",
                  "--valid-from", "2019-01-01T00:00:00Z", "--database-url", url)
    assert star.exit_code == 2, star.output
    assert "--gpu-type: must name a GPU type (`*` is for providers only)" in star.stderr

    assert invoke(*base, "--usd-per-gpu-hour", "1", "--valid-from", "2019-01-01T00:00:00Z",
                  "--valid-to", "2020-01-01T00:00:00Z").exit_code == 0
    overlap = invoke(*base, "--usd-per-gpu-hour", "2", "--valid-from", "2019-06-01T00:00:00Z")
    assert overlap.exit_code == 1 and "overlaps rate" in overlap.stderr
    assert [r[2] for r in _rates(url)] == [1_000_000]


def test_retire_refuses_catalog_unknown_and_malformed_ids(fresh_db: ScratchDatabase) -> None:
    url = fresh_db.url
    catalog_id = with_connection(url, lambda c: _first_catalog_id(c))
    catalog = invoke("prices", "retire", str(catalog_id), "--database-url", url)
    assert catalog.exit_code == 1 and "is a catalog rate" in catalog.stderr
    unknown = invoke("prices", "retire", "00000000-0000-0000-0000-000000000000", "--database-url", url)
    assert unknown.exit_code == 1 and "No rate with id" in unknown.stderr
    malformed = invoke("prices", "retire", "v100", "--database-url", url)
    assert malformed.exit_code == 2 and "not a rate id" in malformed.stderr


async def _first_catalog_id(connection: Any) -> Any:
    from app.pricing.catalog import default_catalog
    from app.pricing.service import sync_catalog

    rows = (await connection.execute(sa.text("SELECT id FROM gpu_prices WHERE origin = 'catalog'"))).all()
    if rows:
        return rows[0][0]
    raise AssertionError(f"no catalog rate; {default_catalog.__name__} / {sync_catalog.__name__} did not run")


def test_as_records_an_admin_and_refuses_others(fresh_db: ScratchDatabase, tmp_path: Path) -> None:
    url = fresh_db.url
    settings = make_settings(url)
    _run(url, lambda sm: create_user(sm, settings, "boss@example.test", role=Role.admin))
    _run(url, lambda sm: create_user(sm, settings, "member@example.test", role=Role.member))
    card = tmp_path / "card.csv"
    card.write_text(HEADER + "onprem,V100,2.10,2019-01-01T00:00:00Z,,\n")

    member = invoke("prices", "import", str(card), "--as", "member@example.test", "--database-url", url)
    assert member.exit_code == 1 and "--as member@example.test: not an active admin (member)" in member.stderr
    nobody = invoke("prices", "import", str(card), "--as", "ghost@example.test", "--database-url", url)
    assert nobody.exit_code == 1 and "(no such user)" in nobody.stderr
    assert _rates(url) == []

    boss = invoke("prices", "import", str(card), "--as", "Boss@Example.test", "--database-url", url)
    assert boss.exit_code == 0, boss.output
    assert [r[5] for r in _rates(url)] == ["boss@example.test"]


def test_export_then_import_round_trips(fresh_db: ScratchDatabase, tmp_path: Path, backend: str) -> None:
    from tests.databases import ScratchDatabase as Scratch

    url = fresh_db.url
    card = tmp_path / "card.toml"
    card.write_text(CARD.read_text() + '\n[aliases.gpu_type]\n"Tesla V100-SXM2-16GB" = "V100M16"\n')
    assert invoke("prices", "import", str(card), "--database-url", url).exit_code == 0
    assert invoke("prices", "add", "--provider", "onprem", "--gpu-type", "V100", "--usd-per-gpu-hour", "1.5",
                  "--valid-from", "2021-01-01T00:00:00Z", "--valid-to", "2022-01-01T00:00:00.250Z",
                  "--database-url", url).exit_code == 0

    exported = invoke("prices", "export", "--database-url", url)
    assert exported.exit_code == 0, exported.output
    assert '"tesla v100-sxm2-16gb" = "V100M16"' in exported.stdout
    assert 'valid_to = 2022-01-01T00:00:00.250Z' in exported.stdout
    as_csv = invoke("prices", "export", "--format", "csv", "--database-url", url)
    assert as_csv.exit_code == 0 and "CSV cannot hold" in as_csv.stderr
    assert as_csv.stdout.splitlines()[0] == HEADER.strip() and len(as_csv.stdout.splitlines()) == 7

    # Into another database: the same card comes out; into this one: nothing changes.
    exported_file = tmp_path / "exported.toml"
    exported_file.write_text(exported.stdout)
    other = Scratch(backend, tmp_path / "other").create()
    try:
        assert invoke("prices", "import", str(exported_file), "--database-url", other.url).exit_code == 0
        assert invoke("prices", "export", "--database-url", other.url).stdout == exported.stdout
    finally:
        other.drop()
    same = invoke("prices", "import", str(exported_file), "--database-url", url)
    assert same.stdout.splitlines() == [f"imported {exported_file}: 0 added, 6 unchanged, 0 closed"]


def test_list_at_an_instant_and_with_history(fresh_db: ScratchDatabase) -> None:
    url = fresh_db.url
    base = ["prices", "add", "--provider", "onprem", "--gpu-type", "V100", "--database-url", url]
    assert invoke(*base, "--usd-per-gpu-hour", "2.1", "--valid-from", "2019-01-01T00:00:00Z").exit_code == 0
    assert invoke(*base, "--usd-per-gpu-hour", "1.5", "--valid-from", "2021-01-01T00:00:00Z").exit_code == 0

    in_2020 = invoke("prices", "list", "--at", "2020-06-01T00:00:00Z", "--database-url", url)
    assert in_2020.exit_code == 0, in_2020.output
    onprem = [line for line in in_2020.stdout.splitlines() if "onprem" in line]
    assert len(onprem) == 1 and "2.100000" in onprem[0] and "2021-01-01T00:00:00Z" in onprem[0]

    history = invoke("prices", "list", "--history", "--database-url", url)
    states = {line.split("│")[5].strip(): line.split("│")[8].strip()
              for line in history.stdout.splitlines() if "onprem" in line}
    assert states == {"2.100000": "ended", "1.500000": "in_force"}

    naive = invoke("prices", "list", "--at", "2020-06-01", "--database-url", url)
    assert naive.exit_code == 2 and "--at '2020-06-01'" in naive.stderr


def test_an_unreachable_database_is_one_line() -> None:
    result = invoke("prices", "list", "--database-url", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert result.exit_code == 1 and "database error" in result.stderr and "Traceback" not in result.output
