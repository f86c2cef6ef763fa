"""`test_job_analytics.sh`, the seed's curl walk, against a `jobcost serve` process of its own on a scratch
database (SQLite and PostgreSQL): it passes on the demo data, fails loudly on a wrong figure, and says so when
no service answers.

Each live test starts one server (`jobcost demo` first, as `make run` does) and always stops it; the server's
output is part of any failure message.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from tests.databases import ScratchDatabase
from tests.walk.live import SCRIPT, demo_service, explain, free_port, run_walk

EXTRA_NLP_JOB = {
    "job_id": "extra-1", "team": "NLP Research", "status": "succeeded", "model_name": "bert-base-ner",
    "gpu_type": "H100", "gpu_count": 1, "provider": "aws",
    "started_at": "2026-01-05T10:00:00Z", "ended_at": "2026-01-05T11:00:00Z", "cost": "10.00",
}


@pytest.mark.live_server
def test_the_walk_passes_on_the_demo_data(fresh_db: ScratchDatabase, tmp_path: Path) -> None:
    with demo_service(fresh_db.url, tmp_path) as service:
        result = run_walk(service.url)
        assert result.returncode == 0, explain(result, service)
    lines = result.stdout.splitlines()
    summary = re.fullmatch(r"all (\d+) checks passed", lines[-1])
    assert summary, explain(result)
    checks = [line for line in lines if line.startswith("ok  ")]
    assert len(checks) == int(summary.group(1)) == len(lines) - 1, explain(result)
    assert "FAIL" not in result.stdout + result.stderr, explain(result)
    for step in ("/jobs?skip=28&limit=7", "/jobs?team=nlp%20research", "include=snapshots",
                 "/analytics/cost/by-team?start=2026-01-01&end=2026-01-14",
                 "/analytics/cost/by-model?start=2026-01-01&end=2026-01-14"):
        assert any(step in line for line in checks), f"no check of {step}:\n{explain(result)}"


@pytest.mark.live_server
def test_the_walk_fails_on_a_wrong_figure(fresh_db: ScratchDatabase, tmp_path: Path) -> None:
    """A job the mock re-ingest of the walk does not undo: NLP Research costs 10 USD more on 5 January."""
    with demo_service(fresh_db.url, tmp_path) as service:
        response = httpx.post(f"{service.url}/api/v1/admin/ingest/jobs", json={"jobs": [EXTRA_NLP_JOB]},
                              headers=service.admin_headers(), timeout=30)
        assert response.status_code == 200, response.text
        assert (response.json()["created"], response.json()["failed"]) == (1, 0), response.text
        result = run_walk(service.url)
    assert result.returncode == 1, explain(result)
    assert "checks passed" not in result.stdout, explain(result)
    failures = [line for line in result.stderr.splitlines() if line.startswith("FAIL ")]
    assert len(failures) == 1, explain(result)
    assert "/analytics/cost/by-team" in failures[0], explain(result)
    assert "NLP Research total_cost: expected 4253.972987, got 4263.972987" in failures[0], explain(result)
    assert "other jobs" in failures[0], explain(result)  # the hint at what else is in the database


def test_the_walk_says_when_no_service_answers(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = run_walk(url)
    assert result.returncode == 1, explain(result)
    assert f"no jobcost service answers at {url}: start it with `make run`" in result.stderr, explain(result)
    assert "ok  " not in result.stdout, explain(result)


def test_the_script_is_an_executable_bash_script() -> None:
    assert os.access(SCRIPT, os.X_OK), f"{SCRIPT} is not executable"
    first, *rest = SCRIPT.read_text(encoding="utf-8").splitlines()
    assert first == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in rest
    assert not any(re.search(r"\bjq\b", line) for line in rest if not line.lstrip().startswith("#")), "jq is not needed"
