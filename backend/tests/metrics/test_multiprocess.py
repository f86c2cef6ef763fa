"""Several workers: with `PROMETHEUS_MULTIPROC_DIR` set, each process writes its own files and `/metrics`, served
by any one of them, adds up all of them. Two real processes here; and `jobcost serve`'s preparation of the
directory."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.metrics import registry
from tests.metrics.scrape import parse, value

# One worker: answers `requests` health probes through the whole app, then prints its own /metrics if asked.
WORKER = textwrap.dedent("""
    import asyncio, sys, httpx
    from app.main import create_app

    async def main(requests: int, scrape: bool) -> None:
        app = create_app()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://w") as client:
            for _ in range(requests):
                assert (await client.get("/health")).status_code == 200
            if scrape:
                sys.stdout.write((await client.get("/metrics")).text)

    asyncio.run(main(int(sys.argv[1]), sys.argv[2] == "scrape"))
""")


def _worker(directory: Path, requests: int, scrape: bool) -> str:
    env = {**os.environ, registry.MULTIPROC_ENV: str(directory), "JOBCOST_ENV": "development",
           "JOBCOST_DATABASE_URL": f"sqlite+aiosqlite:///{directory.parent / 'unused.db'}"}
    done = subprocess.run([sys.executable, "-c", WORKER, str(requests), "scrape" if scrape else "-"], env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_processes_values_are_summed(tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    _worker(directory, 3, scrape=False)
    text = _worker(directory, 2, scrape=True)
    samples = parse(text)
    health = {"method": "GET", "route": "/health", "status": "200"}
    assert value(samples, "jobcost_http_requests_total", **health) == 3 + 2
    assert value(samples, "jobcost_http_request_duration_seconds_count", **health) == 3 + 2
    assert value(samples, "jobcost_build_info", version="0.1.0", python=platform.python_version(),
                 database="sqlite") == 1
    assert len(list(directory.glob("counter_*.db"))) == 2  # one file per process


def test_serve_makes_a_fresh_directory_for_several_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(registry.MULTIPROC_ENV, raising=False)
    with registry.multiprocess_dir_for(1) as none:
        assert none is None and registry.MULTIPROC_ENV not in os.environ
    with registry.multiprocess_dir_for(2) as directory:
        assert directory is not None and directory.is_dir() and not any(directory.iterdir())
        assert os.environ[registry.MULTIPROC_ENV] == str(directory)  # inherited by the workers uvicorn spawns
    # Once the server has stopped: removed, and the environment as it was.
    assert not directory.exists() and registry.MULTIPROC_ENV not in os.environ


def test_serve_empties_a_configured_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"old run")
    (directory / "keep.txt").write_text("not ours")
    monkeypatch.setenv(registry.MULTIPROC_ENV, str(directory))
    with registry.multiprocess_dir_for(1) as used:
        assert used == directory
        assert sorted(p.name for p in directory.iterdir()) == ["keep.txt"]
    assert directory.is_dir() and os.environ[registry.MULTIPROC_ENV] == str(directory)  # the operator's: kept
    monkeypatch.setenv(registry.MULTIPROC_ENV, str(tmp_path / "new" / "dir"))
    with registry.multiprocess_dir_for(4) as used:
        assert used == tmp_path / "new" / "dir" and used.is_dir()
