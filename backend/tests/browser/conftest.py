"""Browser tests: the dashboard and the API docs in Debian's headless Chromium, driven by Selenium through
Debian's chromedriver, against the app served by uvicorn on a loopback port, on both databases.

Without Chromium, its driver or Selenium the tests are skipped with the reason `BROWSER_SKIP` (and `.ci/run`
installs the Debian packages first, then fails if they were skipped anyway). Chromium resolves no host name but
127.0.0.1 (`--host-resolver-rules`), so a page that reached for a CDN would fail here as it would offline.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from app.main import create_app
from tests.cli.helpers import invoke
from tests.conftest import make_settings
from tests.databases import ScratchDatabase

BROWSER_SKIP = "browser tests skipped: Chromium not found"
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "admin"
MEMBER_EMAIL, MEMBER_PASSWORD, MEMBER_TEAM = "vision-member@example.com", "member-password-1", "Computer Vision"
CHROMIUM = Path(os.environ.get("JOBCOST_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.is_file():
        return f"{BROWSER_SKIP} at {CHROMIUM} (apt-get install -y chromium chromium-driver)"
    if not CHROMEDRIVER.is_file():
        return f"{BROWSER_SKIP.replace('Chromium', 'chromedriver')} (apt-get install -y chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return f"{BROWSER_SKIP.replace('Chromium', 'selenium')} (make install)"
    return None


@dataclass
class Live:
    """The app served on a loopback port over a demo database (the 30 mock jobs, the development admin, and a
    member of one team)."""

    base: str
    backend: str
    database_url: str  # for the CLI (users deactivate, …) on the served database

    def token(self, email: str, password: str) -> dict[str, str]:
        response = httpx.post(f"{self.base}/api/v1/auth/token", data={"username": email, "password": password})
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def api(self, path: str, headers: dict[str, str], **params: object) -> dict:
        response = httpx.get(f"{self.base}/api/v1/{path}", params=params, headers=headers)
        response.raise_for_status()
        return response.json()


def _serve(settings, sock: socket.socket) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    for _ in range(600):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.05)
    assert server.started, "uvicorn did not start"
    return server, thread


@pytest.fixture(scope="session")
def browser_ready() -> None:
    reason = missing_browser()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def live(browser_ready: None, backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    db = ScratchDatabase(backend, tmp_path_factory.mktemp("browser")).create()
    try:
        demo = invoke("demo", "--database-url", db.url)
        assert demo.exit_code == 0, demo.output
        member = invoke("users", "create", "--email", MEMBER_EMAIL, "--password", MEMBER_PASSWORD,
                        "--team", MEMBER_TEAM, "--database-url", db.url)
        assert member.exit_code == 0, member.output
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        server, thread = _serve(make_settings(db.url), sock)
        try:
            yield Live(f"http://127.0.0.1:{sock.getsockname()[1]}", backend, db.url)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            sock.close()
    finally:
        db.drop()


@pytest.fixture(scope="session")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where Chromium saves what the pages download (CSV)."""
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="session")
def driver(browser_ready: None, downloads: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                     "--disable-background-networking", "--no-first-run"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()
