"""Sign-in timing: unknown e-mail vs wrong password (known fault F23, login timing reveals which accounts exist).

The suite pins the mechanism without a clock (both paths run exactly one argon2 verification); this script
measures the result. It builds a scratch SQLite database, creates one user, then sends interleaved sign-ins
through the real app in-process and prints the median and p95 of each path and their ratio (1.00 = equal).
Sign-in throttling stays on, with limits raised past the rounds: both paths count their failure (one upsert per
row, the same for an unknown e-mail as for a known one) and none is refused, so what is compared is the refusal.

    .venv/bin/python bench/login_timing.py [--rounds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from scratch import create_user

from app.core.config import Environment, Settings
from app.db import migrate
from app.db.models import Role
from app.main import create_app

EMAIL = "known@example.test"
PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway user in a scratch database


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(migrate.upgrade, url)
        settings = Settings(env=Environment.test, database_url=url, secret_key="b" * 48,
                            login_max_failures_per_account=10**6, login_max_failures_per_address=10**6)
        await create_user(settings, EMAIL, PASSWORD, Role.member)
        app = create_app(settings)
        timings: dict[str, list[float]] = {"unknown e-mail": [], "wrong password": []}
        forms = {"unknown e-mail": {"username": "nobody@example.test", "password": "Wrong-Pass-1"},
                 "wrong password": {"username": EMAIL, "password": "Wrong-Pass-1"}}
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client:
            for _ in range(3):  # warm-up: first requests pay for imports and connection set-up
                for form in forms.values():
                    await client.post("/api/v1/auth/token", data=form)
            for _ in range(rounds):
                for name, form in forms.items():
                    start = time.perf_counter()
                    response = await client.post("/api/v1/auth/token", data=form)
                    timings[name].append((time.perf_counter() - start) * 1000)
                    if response.status_code != 401:
                        raise SystemExit(f"expected 401, got {response.status_code}: {response.text}")

    print(f"sign-in refusals, {rounds} interleaved rounds, in-process ASGI, SQLite")
    for name, values in timings.items():
        print(f"  {name:15s} median {statistics.median(values):7.1f} ms   p95 {_p95(values):7.1f} ms")
    ratio = statistics.median(timings["unknown e-mail"]) / statistics.median(timings["wrong password"])
    print(f"  ratio of medians (unknown / wrong password): {ratio:.2f}  (target 0.75 to 1.25)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    asyncio.run(main(parser.parse_args().rounds))
