"""A PostgreSQL server of the test's own (`initdb` + `pg_ctl` on a free loopback port, in a temporary directory),
which it may restart and stop at will: the shared server on 5432 is never touched.

PostgreSQL refuses to run as root: when the suite runs as root, every `initdb`/`pg_ctl` runs as the `postgres`
OS user (`runuser`), which then owns the directory.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

TIMEOUT_S = 60  # for each initdb / pg_ctl call


class PrivatePostgresUnavailable(RuntimeError):  # noqa: N818 - a reason, raised to skip or fail
    """This machine cannot run a private PostgreSQL (no binaries, or root without a `postgres` user)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    if pg_ctl := shutil.which("pg_ctl"):
        return Path(pg_ctl).parent
    raise PrivatePostgresUnavailable("no pg_ctl found (/usr/lib/postgresql/*/bin or PATH)")


class PrivatePostgres:
    """`start()` initialises and starts the server; `restart(mode)`, `stop(mode)` and `start()` control it;
    `remove()` stops it (immediately) and deletes its files. `dsn` is for asyncpg, user `postgres`, trust auth."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise PrivatePostgresUnavailable("running as root and there is no `postgres` user") from None
            if not shutil.which("runuser"):
                raise PrivatePostgresUnavailable("running as root and there is no `runuser`")
            self.user = owner.pw_name
        self.root = Path(tempfile.mkdtemp(prefix="jobcost-private-pg-"))
        if self.user is not None:
            owner = pwd.getpwnam(self.user)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._initialised = False

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)  # noqa: S603
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr[-2000:]}\n"
                               f"{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def _options(self) -> str:
        # Loopback TCP only, the Unix socket in the private directory; small, since it holds one scratch database.
        return (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
                "-c max_connections=40 -c shared_buffers=16MB -c logging_collector=off")

    def start(self) -> None:
        if not self._initialised:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync",
                      "--encoding=UTF8", "--locale=C")
            self._initialised = True
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(), "-w",
                  "-t", str(TIMEOUT_S), "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", str(TIMEOUT_S), "stop")

    def restart(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(), "-m", mode, "-w",
                  "-t", str(TIMEOUT_S), "restart")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
