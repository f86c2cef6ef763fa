"""The `live_server` marker: tests that start a real `jobcost serve` process. They are part of the default run
(`make test`); `-m "not live_server"` leaves them out."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "live_server: starts `jobcost serve` in a subprocess (runs by default; part of the suite)")
