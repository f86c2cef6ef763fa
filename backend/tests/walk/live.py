"""A real `jobcost serve` process on a scratch database, and the walk script run against it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "test_job_analytics.sh"
JOBCOST = Path(sys.executable).parent / "jobcost"
READY_DEADLINE_S = 60.0  # a deadline for a slow machine, not a speed assertion
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "admin"


def clean_env(**extra: str) -> dict[str, str]:
    """The parent's environment without what would aim the service or the script elsewhere (DATABASE_URL,
    JOBCOST_*, HOST, PORT), in development mode, plus `extra`."""
    env = {name: value for name, value in os.environ.items()
           if not (name.startswith("JOBCOST_") or name in ("DATABASE_URL", "HOST", "PORT"))}
    env["JOBCOST_ENV"] = "development"
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Service:
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def admin_headers(self) -> dict[str, str]:
        response = httpx.post(f"{self.url}/api/v1/auth/token",
                              data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=30)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _wait_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_DEADLINE_S
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"`jobcost serve` exited with {server.returncode} before it was ready:\n"
                                 f"{log.read_text(errors='replace')}")
        try:
            response = httpx.get(f"{url}/health/ready", timeout=2)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}: {response.text}"
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.2)
    raise AssertionError(f"{url}/health/ready did not answer 200 within {READY_DEADLINE_S:.0f} s ({last}):\n"
                         f"{log.read_text(errors='replace')}")


@contextmanager
def demo_service(database_url: str, workdir: Path) -> Iterator[Service]:
    """`jobcost demo` then `jobcost serve` on `database_url`; the server is stopped on exit, whatever happens."""
    env = clean_env(DATABASE_URL=database_url)
    demo = subprocess.run([str(JOBCOST), "demo"], env=env, cwd=workdir,  # noqa: S603 - our own CLI
                          capture_output=True, text=True, timeout=300, check=False)
    assert demo.returncode == 0, f"jobcost demo exited {demo.returncode}:\n{demo.stdout}\n{demo.stderr}"
    port = free_port()
    log = workdir / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(  # noqa: S603 - our own CLI
            [str(JOBCOST), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, server, log)
        yield Service(url, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_walk(url: str) -> subprocess.CompletedProcess[str]:
    """`bash test_job_analytics.sh` against `url`, with the default admin."""
    return subprocess.run(["bash", str(SCRIPT)], env=clean_env(JOBCOST_URL=url),  # noqa: S603, S607
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def explain(result: subprocess.CompletedProcess[str], service: Service | None = None) -> str:
    text = f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    if service is not None:
        text += f"\n--- server output\n{service.output()[-20_000:]}"
    return text
