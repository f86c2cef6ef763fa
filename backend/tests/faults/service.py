"""The service as its operators run it: `jobcost serve` in a subprocess on a free loopback port (one or several
uvicorn workers), on the database at `url`, with its log in a temporary file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET
from tests.faults.postgres import free_port

JOBCOST = Path(sys.executable).parent / "jobcost"
STARTED = re.compile(r"Started server process \[(\d+)\]")


class Service:
    def __init__(self, url: str, *, workers: int = 1, env: dict[str, str] | None = None) -> None:
        self.url = url
        self.workers = workers
        self.env = env or {}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="jobcost-service-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> None:
        """Start `jobcost serve` (Popen returns at once), in a session of its own so its workers can be killed
        together."""
        env = {**os.environ, "DATABASE_URL": self.url, "JOBCOST_SECRET_KEY": TEST_SECRET, "JOBCOST_ENV": "test",
               "JOBCOST_LOG_LEVEL": "INFO", "JOBCOST_DB_POOL_TIMEOUT": "5", **self.env}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own entry point
                [str(JOBCOST), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(self.workers)],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    async def __aenter__(self) -> Service:
        self._spawn()
        try:
            await self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        self.stop()

    async def _wait_ready(self, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process is None or self.process.poll() is not None:
                    raise RuntimeError(f"the service exited at start-up:\n{self.log_tail()}")
                # Every worker has finished its lifespan's start-up (with one worker: the one process).
                if self.log().count("Application startup complete") >= self.workers:
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get("/health")).status_code == 200:
                            return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"the service did not start within {timeout_s:.0f} s:\n{self.log_tail()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def worker_pids(self) -> set[int]:
        """The pids of the processes that started serving (uvicorn logs `Started server process [pid]`)."""
        return {int(pid) for pid in STARTED.findall(self.log())}

    def connections_by_worker(self) -> dict[int, int]:
        """How many open client connections each worker holds: the established TCP sockets on the service's port
        (from /proc/net/tcp) matched to the workers' open files by inode. A keep-alive connection is served by the
        worker that accepted it, so this says which worker served which client."""
        port = f"0100007F:{self.port:04X}"  # 127.0.0.1, little-endian hex as /proc writes it
        inodes = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1] == port and fields[3] == "01":  # local address, state ESTABLISHED
                inodes.add(f"socket:[{fields[9]}]")
        counts: dict[int, int] = {}
        for pid in self.worker_pids():
            with contextlib.suppress(FileNotFoundError, PermissionError):
                fds = Path(f"/proc/{pid}/fd")
                counts[pid] = sum(1 for fd in fds.iterdir() if _readlink(fd) in inodes)
        return counts

    def unhandled_errors(self) -> list[str]:
        """The log lines of requests that ended in a 500 (`app.api.errors` logs them as unhandled)."""
        return [line for line in self.log().splitlines() if "unhandled error" in line]

    def stop(self) -> None:
        """SIGTERM to the service (its workers stop with it), SIGKILL to its process group after 15 s; the log is
        removed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log_path.unlink(missing_ok=True)


def _readlink(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:  # closed meanwhile
        return ""
