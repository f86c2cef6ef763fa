from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.core.logs import UVICORN_LOGGERS, configure_logging

CLIENT_LOGGERS = ("httpx", "httpcore")


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[str]]]:
    """The service's log handler (JSON) writing to a buffer for the test; returns the lines written so far, but
    those of the test's own HTTP client (httpx logs the URLs it requests, query strings included)."""
    root = logging.getLogger()
    level = root.level
    buffer = io.StringIO()
    handler = configure_logging("INFO", "json", stream=buffer)
    try:
        yield lambda: [line for line in buffer.getvalue().splitlines()
                       if line and not json.loads(line)["logger"].startswith(CLIENT_LOGGERS)]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for name in (*UVICORN_LOGGERS, "uvicorn.access"):
            logging.getLogger(name).disabled = False
            logging.getLogger(name).propagate = True


def access_lines(lines: list[str]) -> list[dict[str, Any]]:
    return [entry for entry in map(json.loads, lines) if entry["logger"] == "jobcost.access"]
