"""`jobcost serve` for real (uvicorn in a subprocess, production settings): every line it writes, uvicorn's own
included, is a JSON object; the access lines are ours, and no query string or bearer token appears anywhere."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx

from tests.walk.live import JOBCOST, _wait_ready, clean_env, free_port

LEAKS = ("leak-query-1", "leak-query-2", "leak-bearer-3", "leak-query-4")


def test_serve_writes_json_lines_without_query_strings_or_tokens(tmp_path: Path) -> None:
    env = clean_env(JOBCOST_ENV="production", JOBCOST_SECRET_KEY="s" * 40,
                    JOBCOST_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'jobcost.db'}")
    upgrade = subprocess.run([str(JOBCOST), "db", "upgrade"], env=env, capture_output=True, text=True,  # noqa: S603
                             timeout=300, check=False)
    assert upgrade.returncode == 0, upgrade.stderr
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(JOBCOST), "serve", "--port", str(port)], env=env,  # noqa: S603
                                  stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_ready(url, server, log)
            assert httpx.get(f"{url}/health?token=leak-query-1").status_code == 200
            listed = httpx.get(f"{url}/api/v1/jobs?team=leak-query-2",
                               headers={"Authorization": "Bearer leak-bearer-3", "X-Request-ID": "serve-1"})
            assert listed.status_code == 401 and listed.headers["x-request-id"] == "serve-1"
            assert httpx.get(f"{url}/no/such?x=leak-query-4").status_code == 404
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)

    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line, uvicorn's start-up and shutdown too
    assert any(e["logger"].startswith("uvicorn") for e in entries), lines
    assert any(e["logger"] == "jobcost" and e["message"].startswith("jobcost started") for e in entries), lines
    access = [(e["method"], e["route"], e["status"]) for e in entries if e["logger"] == "jobcost.access"]
    assert ("GET", "/health", 200) in access
    assert ("GET", "/api/v1/jobs", 401) in access
    assert ("GET", "unmatched", 404) in access
    assert [e["request_id"] for e in entries if e.get("route") == "/api/v1/jobs"] == ["serve-1"]
    text = "\n".join(lines)
    for leak in LEAKS:
        assert leak not in text, text
