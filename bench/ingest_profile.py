"""Where the server's Python time goes during an ingest, for `ingest.py --profile` (and `recost.py`): a cProfile of
the app answering one JSON batch and one NDJSON body in-process, summed by module and function.
"""

from __future__ import annotations

import cProfile
import linecache
import pstats
import time
from collections import defaultdict

import httpx
import synthetic as s

INGEST = "/api/v1/admin/ingest/jobs"


def _area(filename: str, name: str = "") -> str:
    """A profile entry's module, shortened: `app/ingestion/costing.py`, `fractions.py`, `asyncpg`, …"""
    if filename == "~":
        return "(waiting: epoll, database and network)" if "poll" in name else "(built-in functions)"
    for marker in ("/backend/app/", "/site-packages/"):
        if marker in filename:
            rest = filename.split(marker, 1)[1]
            return ("app/" + rest) if marker == "/backend/app/" else rest.split("/", 1)[0]
    return filename.rsplit("/", 1)[-1] if filename.startswith("/") else filename


def _is_async(filename: str, line: int) -> bool:
    """Whether the function defined at `filename:line` is a coroutine (cProfile counts each resumption of one as a
    call, so its cumulative time is not meaningful). A decorated function's line is its first decorator's."""
    for number in range(line, line + 50):
        text = linecache.getline(filename, number).lstrip()
        if text.startswith(("def ", "async def ")):
            return text.startswith("async def ")
    return False


def print_profile(profile: cProfile.Profile, label: str, seconds: float, top: int) -> None:
    stats = pstats.Stats(profile)
    total = sum(entry[2] for entry in stats.stats.values())  # type: ignore[attr-defined]
    by_area: dict[str, float] = defaultdict(float)
    for (filename, _, name), entry in stats.stats.items():  # type: ignore[attr-defined]
        by_area[_area(filename, name)] += entry[2]
    print(f"  {label}: {seconds:.2f} s under the profiler; own time by module (top {top}):")
    for area, own in sorted(by_area.items(), key=lambda item: -item[1])[:top]:
        print(f"    {own:6.2f} s {own / total:6.1%}  {area}")
    entries = stats.stats.items()  # type: ignore[attr-defined]
    print(f"  {label}: functions by own time (top {top}):")
    for (filename, line, name), (_, calls, own, cumulative, _) in sorted(entries, key=lambda e: -e[1][2])[:top]:
        print(f"    {own:6.2f} s own {cumulative:6.2f} s cum {calls:>9,} calls  {_area(filename, name)}:{line} {name}")
    print(f"  {label}: jobcost's plain (not async) functions by cumulative time (top {top}):")
    ours = [e for e in entries if "/backend/app/" in e[0][0] and not _is_async(e[0][0], e[0][1])]
    for (filename, line, name), (_, calls, own, cumulative, _) in sorted(ours, key=lambda e: -e[1][3])[:top]:
        print(f"    {cumulative:6.2f} s cum {own:6.2f} s own {calls:>9,} calls  {_area(filename)}:{line} {name}")


async def profile_server(pg_url: str, seed: int, n: int = 10_000, top: int = 15) -> None:
    """cProfile of the app answering one JSON batch of `n` jobs, then the next `n` as one NDJSON body, in-process
    (httpx ASGITransport: the same app and database, no sockets), each into an empty scratch database."""
    from app.main import create_app

    print(f"profile: the server-side ingest of {n:,} jobs (in-process ASGI, cProfile)")
    for label, content_type, body in (
            ("JSON batch", "application/json", s.json_batches(s.job_records(n, seed), n)[0]),
            ("NDJSON body", "application/x-ndjson", b"".join(s.ndjson_blocks(s.job_records(n, seed))))):
        async with s.scratch_database(pg_url) as url:
            await s.create_users(url)
            app = create_app(s.bench_settings(url))
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client:
                headers = {**await s.bearer(client, s.ADMIN), "Content-Type": content_type}
                profile = cProfile.Profile()
                started = time.perf_counter()
                profile.enable()
                response = await client.post(INGEST, content=body, headers=headers)
                profile.disable()
                seconds = time.perf_counter() - started
                if response.status_code != 200:
                    raise SystemExit(f"profile {label}: {response.status_code} {response.text[:500]}")
                report = response.json()
                if report["created"] != n:
                    raise SystemExit(f"profile {label}: {report['created']} created")
        print_profile(profile, label, seconds, top)


