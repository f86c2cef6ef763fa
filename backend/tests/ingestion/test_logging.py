"""Ingest logs say what came in and what was refused (counts, field names), never who or which job."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.ingestion.conftest import ingest_ok, job


async def test_ingest_logs_counts_and_refused_fields_without_personal_data(
        client: httpx.AsyncClient, admin_headers: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="jobcost.ingestion")
    jobs = [
        job("secret-job-1", user="grace.hopper", team="Team Confidential"),
        job("secret-job-2", user="alan.turing", ended_at="2026-01-14T07:00:00Z"),
        job("secret-job-3", user="ada.lovelace", status="running"),  # running, yet with an end
    ]
    await ingest_ok(client, admin_headers, jobs)

    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "jobcost.ingestion")
    assert "received=3 created=1" in text
    assert "failed=2" in text
    assert "ended_at×2" in text, text  # a job ending before it starts, a running job with an end
    for private in ("grace.hopper", "alan.turing", "ada.lovelace", "secret-job", "Confidential"):
        assert private not in text, text
