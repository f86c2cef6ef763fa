"""Issue 15, part 1, for real: the service (`jobcost serve`, a subprocess) under concurrent ingest and reads while
PostgreSQL goes away: its connections cut and new ones refused (a TCP proxy the test controls), then a private
PostgreSQL restarted with `-m fast`, stopped with `-m immediate` for 6 s and started again (see `scenario.py`).
Where no private PostgreSQL can run (and REQUIRE_PG is unset), the proxy's cut alone, in front of a scratch
database of the shared server, which is never restarted.

Asserted: no 500 (nor any answer other than 200 or a `database-unavailable` 503 with `Retry-After`, nor a request
left without an answer), every acknowledged job stored once, no batch answered 503 partly stored, every stored
job's cost in its snapshots and rollups, and the service recovering without a restart: ready, every read and a new
ingest answered 200. Loopback only, about 30 s. The figures are printed (`pytest -s`); `bench/db_faults.py`
prints them too.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from tests.databases import PG_URL, REQUIRE_PG
from tests.faults.postgres import PrivatePostgres, PrivatePostgresUnavailable
from tests.faults.scenario import OutageRun, run_outage
from tests.faults.service import JOBCOST

pytestmark = pytest.mark.skipif(not JOBCOST.exists(), reason=f"no {JOBCOST} (install the project: make install)")


async def _run() -> OutageRun:
    try:
        private = PrivatePostgres()
    except PrivatePostgresUnavailable as exc:
        if REQUIRE_PG:
            pytest.fail(f"REQUIRE_PG=1 but no private PostgreSQL can run here: {exc}")
        print(f"\nno private PostgreSQL ({exc}): the proxy's cut alone, on the shared server")
        shared = make_url(PG_URL).set(drivername="postgresql", database="postgres")
        return await run_outage(shared.render_as_string(hide_password=False), None)
    try:
        private.start()
        return await run_outage(private.dsn, private)
    finally:
        private.remove()


@pytest.mark.pg_only
async def test_no_500_and_nothing_lost_while_postgresql_goes_away(backend: str) -> None:
    run = await _run()
    print(f"\ndatabase outage figures:\n{run.report()}")

    assert not run.tally.failures, f"{run.tally.summary()}: {run.tally.failures[:5]}"
    assert not run.unhandled, run.unhandled[:5]
    # The faults were met (else the test proved nothing): requests were refused, others got through.
    assert run.proxy_cuts > 0, run.report()
    assert run.tally.statuses[503] > 0 and run.tally.statuses[200] > 0, run.report()
    assert run.tally.acknowledged, run.report()
    assert not run.stored.problems(run.tally), run.stored.problems(run.tally)
    # Recovered by itself, the service never restarted: every read and a new ingest answered 200.
    assert set(run.after.values()) == {200}, run.report()
