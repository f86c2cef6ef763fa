"""The database-outage figures of issue 15 (part 1): the scenario of
`backend/tests/faults/test_database_restarts.py`, printed, `--runs` times.

`jobcost serve` (a subprocess, one uvicorn worker) talks to a private PostgreSQL (initdb/pg_ctl on a free loopback
port, as the `postgres` OS user when run as root) through a TCP proxy, under 4 ingest clients (2 JSON, 2 NDJSON,
20 new jobs a request) and 2 readers (`/auth/me`, `/jobs`, two analytics reports), while the proxy cuts every
connection and refuses new ones for 2 s, the server restarts with `-m fast`, then stops with `-m immediate` for
`--stopped` seconds and starts again. Prints each request's answer by route, the jobs acknowledged and found
afterwards, batches answered 503 and partly stored (must be 0), and the time of the last 503 against the
database's return.

    .venv/bin/python bench/db_faults.py [--runs 3] [--stopped 6]
"""

from __future__ import annotations

import argparse
import asyncio

from tests.faults.postgres import PrivatePostgres
from tests.faults.scenario import run_outage


async def main(runs: int, stopped_s: float) -> None:
    totals = {"requests": 0, "503": 0, "500": 0, "other failures": 0, "acknowledged": 0, "found": 0,
              "partly stored": 0}
    for n in range(1, runs + 1):
        private = PrivatePostgres()
        try:
            await asyncio.to_thread(private.start)
            run = await run_outage(private.dsn, private, stopped_s=stopped_s)
        finally:
            private.remove()
        print(f"run {n} of {runs}:\n{run.report()}\n")
        totals["requests"] += run.tally.requests
        totals["503"] += run.tally.statuses[503]
        totals["500"] += run.tally.statuses[500]
        totals["other failures"] += len(run.tally.failures) - run.tally.statuses[500]
        totals["acknowledged"] += len(run.tally.acknowledged)
        totals["found"] += len(run.tally.acknowledged & run.stored.job_ids)
        totals["partly stored"] += run.partly_stored()
    print("all runs: " + ", ".join(f"{key} {value:,}" for key, value in totals.items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stopped", type=float, default=6.0, help="seconds the server stays stopped")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.stopped))
