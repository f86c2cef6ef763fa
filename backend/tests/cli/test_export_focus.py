"""`jobcost export focus`: the same FOCUS 1.2 CSV as `GET /api/v1/export/focus`, written from the database."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cli.helpers import invoke, token_for, with_api
from tests.databases import ScratchDatabase
from tests.export.focus_spec import check_focus_csv


def test_the_file_is_the_api_export_of_the_demo_data(empty_db: ScratchDatabase, tmp_path: Path) -> None:
    assert invoke("demo", "--database-url", empty_db.url).exit_code == 0
    out = tmp_path / "focus.csv"
    result = invoke("export", "focus", "--start", "2026-01-01", "--end", "2026-01-14", "-o", str(out),
                    "--database-url", empty_db.url)
    assert result.exit_code == 0, result.output
    text = out.read_bytes().decode("utf-8")
    rows = check_focus_csv(text)
    assert f"{len(rows)} rows (FOCUS 1.2, 2026-01-01 to 2026-01-14, UTC days) written to" in result.output

    token = token_for(empty_db.url, "admin@example.com", "admin")

    async def fetch(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/api/v1/export/focus", params={"start": "2026-01-01", "end": "2026-01-14"},
                                headers={"Authorization": f"Bearer {token}"})

    response = with_api(empty_db.url, fetch)
    assert response.status_code == 200
    assert response.text == text and len(rows) > 30


def test_a_bad_window_or_an_unwritable_file_exits_2_and_writes_nothing(empty_db: ScratchDatabase,
                                                                       tmp_path: Path) -> None:
    out = tmp_path / "focus.csv"
    result = invoke("export", "focus", "--start", "2026-01-31", "--end", "2026-01-01", "-o", str(out),
                    "--database-url", empty_db.url)
    assert result.exit_code == 2 and "--end: must not be before start" in result.output
    result = invoke("export", "focus", "--start", "2026-01-01", "--end", "2026-01-31", "-o",
                    str(tmp_path / "missing-dir" / "focus.csv"), "--database-url", empty_db.url)
    assert result.exit_code == 2 and "cannot write" in result.output
    assert not out.exists()


def test_an_unmigrated_database_is_one_line_and_no_file(empty_db: ScratchDatabase, tmp_path: Path) -> None:
    out = tmp_path / "focus.csv"
    result = invoke("export", "focus", "--start", "2026-01-01", "--end", "2026-01-31", "-o", str(out),
                    "--database-url", empty_db.url)
    assert result.exit_code == 1 and "database error" in result.output and "Traceback" not in result.output
    assert not out.exists()
