"""Text that NFC normalisation lengthens is measured after normalising: a value that no longer fits its column is
refused with the record, not stored over length (SQLite) or failing the whole batch with a 500 (PostgreSQL)."""

from __future__ import annotations

import unicodedata

import httpx
import pytest

from tests.ingestion.conftest import ingest_ok, job

# U+0958 DEVANAGARI LETTER QA is a composition exclusion: NFC turns it into two characters (U+0915 U+093C).
QA = "\u0958"


def test_the_example_character_doubles_under_nfc() -> None:
    assert len(unicodedata.normalize("NFC", QA * 10)) == 20


@pytest.mark.parametrize(("field", "limit"), [("model_name", 255), ("user", 255), ("team", 255), ("gpu_type", 64),
                                              ("provider", 64)])
async def test_a_name_longer_than_its_column_once_normalised_fails_alone(
    client: httpx.AsyncClient, admin_headers: dict[str, str], field: str, limit: int,
) -> None:
    report = await ingest_ok(client, admin_headers, [
        job("fits", **{field: QA * (limit // 2)}),
        job("too-long", **{field: QA * (limit // 2 + 1)}),
    ])

    assert (report["created"], report["failed"]) == (1, 1), report
    assert [(e["job_id"], e["field"]) for e in report["errors"]] == [("too-long", field)]
    assert f"at most {limit} characters" in report["errors"][0]["message"]


async def test_a_label_key_longer_than_allowed_once_normalised_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str],
) -> None:
    report = await ingest_ok(client, admin_headers, [job("label", labels={QA * 128: "x"})])

    assert report["failed"] == 1, report
    assert report["errors"][0]["field"] == "labels"
