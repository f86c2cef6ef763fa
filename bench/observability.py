"""What the request id, metrics and access log cost per request: `GET /health` through the whole app in-process
(httpx's ASGI transport, no network), with the observing layer (app.metrics.middleware) and without it, and with
the JSON access line written (to /dev/null) or not. Prints microseconds per request and the ratios.

    .venv/bin/python bench/observability.py --requests 3000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import time

import httpx
from fastapi import FastAPI

from app.core.config import Settings
from app.core.logs import configure_logging
from app.main import create_app


def _app(observed: bool) -> FastAPI:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///unused-bench.db"))
    if not observed:
        app.build_middleware_stack = lambda: FastAPI.build_middleware_stack(app)  # type: ignore[method-assign]
    return app


async def _per_request_us(app: FastAPI, requests: int) -> float:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        for _ in range(50):  # warm-up
            await client.get("/health")
        started = time.perf_counter()
        for _ in range(requests):
            await client.get("/health")
        return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with open(os.devnull, "w") as sink:
        variants: dict[str, list[float]] = {"plain": [], "observed, access log off": [], "observed, JSON log": []}
        for _ in range(args.rounds):  # interleaved, so that a noisy moment hits every variant alike
            logging.getLogger().handlers.clear()
            logging.getLogger().setLevel(logging.WARNING)
            variants["plain"].append(asyncio.run(_per_request_us(_app(False), args.requests)))
            variants["observed, access log off"].append(asyncio.run(_per_request_us(_app(True), args.requests)))
            configure_logging("INFO", "json", stream=sink)
            variants["observed, JSON log"].append(asyncio.run(_per_request_us(_app(True), args.requests)))
    base = statistics.median(variants["plain"])
    for name, figures in variants.items():
        median = statistics.median(figures)
        print(f"{name:28s} {median:8.1f} µs/request (median of {args.rounds})  ×{median / base:.2f}")


if __name__ == "__main__":
    main()
