"""The service's Prometheus metrics (prometheus-client), defined once per process, and their rendering.

When `PROMETHEUS_MULTIPROC_DIR` is set before this module is first imported (as `jobcost serve --workers N` does
for its workers), every value lives in a memory-mapped file of that directory and `render()` adds up the files of
every worker: counters and histograms are summed, gauges of live processes summed (`livesum`). The metric names,
labels and units are listed in docs/metrics-and-logs.md; keep the two in step.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

disable_created_metrics()  # no `*_created` series: Prometheus does not need them and they double the output

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Seconds: from 5 ms (a health probe) to 30 s (a large NDJSON ingest or a year-long analytics query).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "jobcost_http_requests", "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "jobcost_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response body (seconds), by method, route template and "
    "status.", ["method", "route", "status"], buckets=LATENCY_BUCKETS)
HTTP_UNAVAILABLE = Counter(
    "jobcost_http_unavailable", "503 answers by cause: the problem code (database-unavailable, database-busy) or "
    "`other`.", ["cause"])

INGEST_RECORDS = Counter(
    "jobcost_ingest_records", "Job records in committed ingest reports, by outcome (created, updated, unchanged, "
    "superseded, failed).", ["outcome"])
INGEST_OUTCOMES = ("created", "updated", "unchanged", "superseded", "failed")

RECOSTS = Counter("jobcost_recosts", "Recosts run to their end (inline or as an operation).")
RECOST_JOBS = Counter(
    "jobcost_recost_jobs", "Jobs a recost committed, by result: `read` (every job in scope), `recosted` (its cost "
    "changed).", ["result"])
OPERATIONS = Counter(
    "jobcost_operations", "Operations (long recosts) entering a state: running (started), succeeded, failed.",
    ["state"])

DB_POOL_IN_USE = Gauge(
    "jobcost_db_pool_connections_in_use", "Database connections checked out of the pool now (all workers).",
    multiprocess_mode="livesum")
DB_POOL_OVERFLOW = Gauge(
    "jobcost_db_pool_overflow", "Connections open beyond the pool's size now (all workers; 0 for pools without "
    "overflow, such as SQLite's).", multiprocess_mode="livesum")
DB_POOL_SIZE = Gauge(
    "jobcost_db_pool_size", "Connections each pool keeps (JOBCOST_DB_POOL_SIZE), summed over workers.",
    multiprocess_mode="livesum")
DB_POOL_MAX_OVERFLOW = Gauge(
    "jobcost_db_pool_max_overflow", "Connections each pool may open beyond its size (JOBCOST_DB_MAX_OVERFLOW), "
    "summed over workers.", multiprocess_mode="livesum")
DB_POOL_TIMEOUTS = Counter(
    "jobcost_db_pool_timeouts", "Requests that waited JOBCOST_DB_POOL_TIMEOUT seconds for a connection and got "
    "none (each answered 503 database-unavailable).")

BUILD_INFO = Gauge(
    "jobcost_build_info", "Always 1; the labels say which jobcost, Python and database dialect serve.",
    ["version", "python", "database"], multiprocess_mode="max")


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode, None when one process keeps its values in memory."""
    return os.environ.get(MULTIPROC_ENV) or None


def set_build_info(version: str, database: str) -> None:
    BUILD_INFO.labels(version=version, python=platform.python_version(), database=database).set(1)


def count_ingest(outcomes: Mapping[str, int]) -> None:
    """Add the counts of one committed ingest report (`created`, `updated`, … as in `IngestReport`)."""
    for outcome in INGEST_OUTCOMES:
        if n := outcomes.get(outcome, 0):
            INGEST_RECORDS.labels(outcome=outcome).inc(n)


def render() -> tuple[bytes, str]:
    """The text exposition of every metric, of all workers in multiprocess mode, and its media
    type."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def forget_this_process() -> None:
    """At a worker's exit in multiprocess mode: drop its live gauges (pool in use, …) from the sums."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())


@contextmanager
def multiprocess_dir_for(workers: int) -> Iterator[Path | None]:
    """Around `uvicorn.run` in `jobcost serve`: with `PROMETHEUS_MULTIPROC_DIR` set, empty that directory of the
    previous run's files (created if missing); else, for more than one worker, make a fresh directory and name it
    in the environment the workers inherit, until the server stops (then the directory is removed and the
    environment restored). Yields the directory, None in single-process mode."""
    if configured := multiprocess_dir():
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink(missing_ok=True)
        yield directory
        return
    if workers <= 1:
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="jobcost-metrics-"))
    os.environ[MULTIPROC_ENV] = str(directory)
    try:
        yield directory
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)
