"""The window rules of `GET /analytics/cost/by-team` and `/by-model` (DESIGN.md "Cost model" 3 and 5): UTC days,
`start` and `end` both included and each optional, a job's cost and GPU time counted on the days it ran.

Expected figures are worked out by hand in the comments, or with the independent reference cost model
(`tests.ingestion.reference`) where the arithmetic is long; prices are set with `add_price` on the test provider,
so the bundled catalog cannot move them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.analytics.conftest import (
    BY_MODEL,
    BY_TEAM,
    EMPTY,
    ENDPOINTS,
    by_name,
    figures,
    hours_text,
    micros_text,
    report,
    totals,
)
from tests.ingestion.conftest import add_price, ingest_ok, job
from tests.ingestion.reference import RefCost, reference_cost

Sessions = async_sessionmaker[AsyncSession]


async def ingest_all(client: httpx.AsyncClient, headers: dict[str, str], jobs: list[dict[str, Any]]) -> None:
    """Ingest `jobs`, every one of them accepted."""
    result = await ingest_ok(client, headers, jobs)
    assert result["failed"] == 0 and result["errors"] == [], result
    assert result["created"] == len(jobs), result


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ref_window(ref: RefCost, start: date | None, end: date | None) -> tuple[int, int, int]:
    """(cost micro-USD, GPU-µs, unpriced GPU-µs) of the reference's days inside [start, end]."""
    days = [d for d in ref.days if (start is None or d.day >= start) and (end is None or d.day <= end)]
    return (sum(d.cost_micros or 0 for d in days), sum(d.gpu_us for d in days),
            sum(d.gpu_us for d in days if d.cost_micros is None))


# --- (a) a job across midnight, split by seconds ---------------------------------------------------------------

async def test_billed_job_across_midnight_split_evenly_by_seconds(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # 100.00 USD for 23:59:30 → 00:00:30: 30 s on each day, so 50.000000 each.
    # GPU time per day: 1 GPU × 30 s = 30/3600 GPU-h = 0.00833… → "0.008333"; both days: 60 s = 0.01666… →
    # "0.016667" (rounded once from the exact sum, not 2 × 0.008333).
    await ingest_all(client, admin_headers, [job("mid-even", gpu_count=1, cost="100.00",
                                                 started_at="2026-01-10T23:59:30Z",
                                                 ended_at="2026-01-11T00:00:30Z")])
    for endpoint in ENDPOINTS:
        day1 = await report(client, admin_headers, endpoint, start="2026-01-10", end="2026-01-10")
        day2 = await report(client, admin_headers, endpoint, start="2026-01-11", end="2026-01-11")
        both = await report(client, admin_headers, endpoint, start="2026-01-10", end="2026-01-11")
        assert totals(day1) == ("50.000000", "0.008333", "0.000000", 1)
        assert totals(day2) == ("50.000000", "0.008333", "0.000000", 1)
        assert totals(both) == ("100.000000", "0.016667", "0.000000", 1)
        assert [figures(i) for i in both["items"]] == [("100.000000", "0.016667", "0.000000", 1)]


async def test_billed_job_across_midnight_uneven_split_largest_remainder(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # 100.00 USD for 23:59:50 → 00:00:20: 10 s then 20 s, so 1/3 and 2/3 of 100,000,000 micro-USD:
    # 33,333,333.33… and 66,666,666.66…; floors 33,333,333 + 66,666,666 leave 1 micro-USD, which goes to the larger
    # remainder (2/3, the second day): 33.333333 + 66.666667 = 100.000000 exactly.
    # (Rounding each day half-even on its own would give 33.333333 + 66.666667 too, but a bad spread that floors
    # both days would lose a micro-USD; the whole-window sum catches that.)
    start, end = "2026-01-10T23:59:50Z", "2026-01-11T00:00:20Z"
    ref = reference_cost(at(start), at(end), Decimal(1), Decimal("100.00"), [])
    assert [d.cost_micros for d in ref.days] == [33_333_333, 66_666_667]

    await ingest_all(client, admin_headers, [job("mid-uneven", gpu_count=1, cost="100.00",
                                                 started_at=start, ended_at=end)])
    for endpoint in ENDPOINTS:
        day1 = await report(client, admin_headers, endpoint, start="2026-01-10", end="2026-01-10")
        day2 = await report(client, admin_headers, endpoint, start="2026-01-11", end="2026-01-11")
        both = await report(client, admin_headers, endpoint, start="2026-01-10", end="2026-01-11")
        # 10 s of 1 GPU = 0.0027777… GPU-h → "0.002778"; 20 s = 0.0055555… → "0.005556"; 30 s → "0.008333".
        assert totals(day1) == ("33.333333", "0.002778", "0.000000", 1)
        assert totals(day2) == ("66.666667", "0.005556", "0.000000", 1)
        assert totals(both) == ("100.000000", "0.008333", "0.000000", 1)
        assert Decimal(day1["total_cost"]) + Decimal(day2["total_cost"]) == Decimal("100")


async def test_billed_job_over_three_whole_days_sums_to_its_cost(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # 1.00 USD over three whole days: 333,333.33… micro-USD each, floors sum to 999,999, and the one micro-USD
    # left goes to one day (all remainders tie; the reference gives it to the earliest): the three one-day windows
    # are 0.333334 / 0.333333 / 0.333333 and sum to 1.000000 exactly.
    start, end = "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"
    ref = reference_cost(at(start), at(end), Decimal(1), Decimal("1.00"), [])
    await ingest_all(client, admin_headers, [job("three-days", gpu_count=1, cost="1.00",
                                                 started_at=start, ended_at=end)])
    per_day = []
    for ref_day in ref.days:
        day = ref_day.day.isoformat()
        body = await report(client, admin_headers, BY_TEAM, start=day, end=day)
        assert totals(body) == (micros_text(ref_day.cost_micros or 0), "24.000000", "0.000000", 1), day
        per_day.append(body["total_cost"])
    assert sorted(per_day) == ["0.333333", "0.333333", "0.333334"]
    assert sum(Decimal(c) for c in per_day) == Decimal("1.000000")
    whole = await report(client, admin_headers, BY_TEAM, start="2026-01-01", end="2026-01-03")
    assert totals(whole) == ("1.000000", "72.000000", "0.000000", 1)


# --- (b) the end day is included ----------------------------------------------------------------------------

async def test_end_day_is_included_and_midnight_belongs_to_the_next_day(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # Day D = 2026-01-14. Three 8-GPU jobs on D:
    #   a: 08:00–12:00, 64.00 USD, 32 GPU-h;
    #   b: 23:00–00:00 (ends exactly at midnight of D+1: no piece, not even an empty one, on D+1), 10.00, 8 GPU-h;
    #   c: 00:00–01:00 (starts exactly at midnight of D: on D, not D-1), 5.00, 8 GPU-h.
    # start=D&end=D: 79.000000, 48 GPU-h, 3 jobs. end=D-1 or start=D+1: nothing.
    await ingest_all(client, admin_headers, [
        job("incl-a"),
        job("incl-b", cost="10.00", started_at="2026-01-14T23:00:00Z", ended_at="2026-01-15T00:00:00Z"),
        job("incl-c", cost="5.00", started_at="2026-01-14T00:00:00Z", ended_at="2026-01-14T01:00:00Z"),
    ])
    day_d = ("79.000000", "48.000000", "0.000000", 3)
    for endpoint in ENDPOINTS:
        assert totals(await report(client, admin_headers, endpoint, start="2026-01-14", end="2026-01-14")) == day_d
        assert totals(await report(client, admin_headers, endpoint, start="2026-01-13", end="2026-01-14")) == day_d
        assert totals(await report(client, admin_headers, endpoint, end="2026-01-14")) == day_d
        assert totals(await report(client, admin_headers, endpoint, start="2026-01-14")) == day_d
        assert totals(await report(client, admin_headers, endpoint, end="2026-01-13")) == EMPTY
        assert totals(await report(client, admin_headers, endpoint, start="2026-01-13", end="2026-01-13")) == EMPTY
        assert totals(await report(client, admin_headers, endpoint, start="2026-01-15")) == EMPTY
        assert totals(await report(client, admin_headers, endpoint, start="2026-01-15", end="2026-01-15")) == EMPTY


# --- (c) an empty window --------------------------------------------------------------------------------------

async def test_empty_window_gives_zero_totals_and_no_items(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    windows: list[dict[str, str]] = [{}, {"start": "2026-01-01", "end": "2026-01-31"}]
    for endpoint in ENDPOINTS:  # nothing stored at all
        for params in windows:
            body = await report(client, admin_headers, endpoint, **params)
            assert totals(body) == EMPTY
            assert body["items"] == []
            assert (body["start"], body["end"]) == (params.get("start"), params.get("end"))

    # A job on 2026-01-14 and an unpriced one on 2026-03-02: February holds no snapshot of either.
    await ingest_all(client, admin_headers, [
        job("before-feb"),
        job("after-feb", cost=None, started_at="2026-03-02T08:00:00Z", ended_at="2026-03-02T09:00:00Z"),
    ])
    for endpoint in ENDPOINTS:
        body = await report(client, admin_headers, endpoint, start="2026-02-01", end="2026-02-28")
        assert totals(body) == EMPTY
        assert body["items"] == []
        assert (body["start"], body["end"]) == ("2026-02-01", "2026-02-28")


# --- (d) a window cutting a running job ------------------------------------------------------------------------

async def test_window_cuts_a_running_job_to_the_days_inside_it(
        client: httpx.AsyncClient, admin_headers: dict[str, str], sessionmaker: Sessions) -> None:
    # Running since 2026-01-10T23:40Z, seen running at 2026-01-12T00:20Z, 1 GPU at 3.00 USD/GPU-h:
    #   Jan 10: 20 min = 1/3 GPU-h → "0.333333", 1.00 USD;  Jan 11: 24 GPU-h, 72.00;  Jan 12: 1/3 GPU-h, 1.00.
    # Jan 11–12: 24 + 1/3 = 24.333… → "24.333333", 73.00. All three days: 74/3 = 24.666… → "24.666667", 74.00.
    # Nothing after the observed instant: Jan 13 onwards is empty (no run time is invented up to "now").
    await add_price(sessionmaker, "H100", "3.00")
    start, observed = "2026-01-10T23:40:00Z", "2026-01-12T00:20:00Z"
    await ingest_all(client, admin_headers, [job("running-1", status="running", gpu_count=1, cost=None,
                                                 started_at=start, ended_at=None, observed_at=observed)])
    ref = reference_cost(at(start), at(observed), Decimal(1), None, [(datetime(2020, 1, 1, tzinfo=UTC),
                                                                      Decimal("3.00"))])
    assert [d.cost_micros for d in ref.days] == [1_000_000, 72_000_000, 1_000_000]

    cases = [
        ({"start": "2026-01-11", "end": "2026-01-12"}, ("73.000000", "24.333333", "0.000000", 1)),
        ({"start": "2026-01-12", "end": "2026-01-31"}, ("1.000000", "0.333333", "0.000000", 1)),
        ({"start": "2026-01-10", "end": "2026-01-10"}, ("1.000000", "0.333333", "0.000000", 1)),
        ({"start": "2026-01-10", "end": "2026-01-11"}, ("73.000000", "24.333333", "0.000000", 1)),
        ({"start": "2026-01-10", "end": "2026-01-12"}, ("74.000000", "24.666667", "0.000000", 1)),
        ({}, ("74.000000", "24.666667", "0.000000", 1)),
        ({"start": "2026-01-13"}, EMPTY),
        ({"end": "2026-01-09"}, EMPTY),
    ]
    for params, expected in cases:
        lo = date.fromisoformat(params["start"]) if "start" in params else None
        hi = date.fromisoformat(params["end"]) if "end" in params else None
        cost, gpu_us, unpriced_us = ref_window(ref, lo, hi)
        assert expected[:3] == (micros_text(cost), hours_text(gpu_us), hours_text(unpriced_us)), params
        for endpoint in ENDPOINTS:
            assert totals(await report(client, admin_headers, endpoint, **params)) == expected, (endpoint, params)


# --- (e) open bounds -------------------------------------------------------------------------------------------

async def test_open_bounds_are_unbounded_and_echoed_as_null(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # 8-GPU 4-hour jobs (32 GPU-h each) on Jan 5 (10.00), Jan 10 (20.00) and Jan 15 (40.00).
    await ingest_all(client, admin_headers, [
        job(f"open-{day}", cost=cost, started_at=f"2026-01-{day}T08:00:00Z", ended_at=f"2026-01-{day}T12:00:00Z")
        for day, cost in (("05", "10.00"), ("10", "20.00"), ("15", "40.00"))])
    cases = [
        ({}, (None, None), ("70.000000", "96.000000", "0.000000", 3)),
        ({"start": "2026-01-10"}, ("2026-01-10", None), ("60.000000", "64.000000", "0.000000", 2)),
        ({"end": "2026-01-10"}, (None, "2026-01-10"), ("30.000000", "64.000000", "0.000000", 2)),
        ({"start": "2026-01-06", "end": "2026-01-14"}, ("2026-01-06", "2026-01-14"),
         ("20.000000", "32.000000", "0.000000", 1)),
        ({"start": "2026-01-16"}, ("2026-01-16", None), EMPTY),
        ({"end": "2026-01-04"}, (None, "2026-01-04"), EMPTY),
    ]
    for endpoint in ENDPOINTS:
        for params, echoed, expected in cases:
            body = await report(client, admin_headers, endpoint, **params)
            assert (body["start"], body["end"]) == echoed, (endpoint, params)
            assert totals(body) == expected, (endpoint, params)


# --- (f) a window cutting a multi-day estimated job ---------------------------------------------------------------

async def test_window_cuts_a_multi_day_estimated_job_with_a_price_change(
        client: httpx.AsyncClient, admin_headers: dict[str, str], sessionmaker: Sessions) -> None:
    # 8 H100 from 2026-01-03T21:17:13Z to 2026-01-06T02:41:07Z, 2.50 USD/GPU-h until 2026-01-05T12:00Z and 3.10
    # after it (the change splits Jan 5). By hand, for Jan 4–5: 8 × 24 h × 2.50 = 480.00 (Jan 4), then Jan 5:
    # 8 × 12 h × 2.50 + 8 × 12 h × 3.10 = 240.00 + 297.60 = 537.60; so 1017.60 USD and 384 GPU-h. The ragged
    # edge days come from the reference; the three windows before, inside and after add up to the job's cost.
    prices = [(datetime(2020, 1, 1, tzinfo=UTC), Decimal("2.50")),
              (datetime(2026, 1, 5, 12, tzinfo=UTC), Decimal("3.10"))]
    for valid_from, usd in prices:
        await add_price(sessionmaker, "H100", str(usd), valid_from=valid_from)
    start, end = "2026-01-03T21:17:13Z", "2026-01-06T02:41:07Z"
    ref = reference_cost(at(start), at(end), Decimal(8), None, prices)
    assert ref.source == "estimated"
    assert ref_window(ref, date(2026, 1, 4), date(2026, 1, 5)) == (1_017_600_000, 384 * 3_600_000_000, 0)
    await ingest_all(client, admin_headers, [job("est-multi", cost=None, started_at=start, ended_at=end)])

    windows = [
        (None, date(2026, 1, 3)),
        (date(2026, 1, 4), date(2026, 1, 5)),
        (date(2026, 1, 6), None),
    ]
    seen = Decimal(0)
    for lo, hi in windows:
        params = {k: v.isoformat() for k, v in (("start", lo), ("end", hi)) if v is not None}
        cost, gpu_us, unpriced_us = ref_window(ref, lo, hi)
        expected = (micros_text(cost), hours_text(gpu_us), hours_text(unpriced_us), 1)
        for endpoint in ENDPOINTS:
            body = await report(client, admin_headers, endpoint, **params)
            assert totals(body) == expected, (endpoint, params)
        seen += Decimal(expected[0])
    assert seen == Decimal(ref.cost_micros or 0) / 1_000_000

    detail = await client.get("/api/v1/jobs/est-multi", headers=admin_headers)
    assert detail.status_code == 200, detail.text
    assert detail.json()["cost"] == micros_text(ref.cost_micros or 0)
    whole = await report(client, admin_headers, BY_MODEL)
    assert totals(whole) == (micros_text(ref.cost_micros or 0), hours_text(ref.gpu_us), "0.000000", 1)


# --- (g) unpriced GPU-hours beside the cost ------------------------------------------------------------------------

async def test_unpriced_gpu_hours_are_reported_beside_the_cost(
        client: httpx.AsyncClient, admin_headers: dict[str, str], sessionmaker: Sessions) -> None:
    # Team vision on 2026-01-14:
    #   billed:    8 H100 × 4 h = 32 GPU-h, 64.00 USD (billed, whatever the price);
    #   estimated: 4 A100-80GB × 2 h = 8 GPU-h at 1.50 = 12.00 USD;
    #   unpriced:  2 H100 × 3 h = 6 GPU-h, no cost and no H100 price on the test provider → no cost at all.
    # Team nlp, unpriced across midnight: 2 H100 from 22:00 on Jan 14 to 01:00 on Jan 15 → 4 GPU-h on Jan 14 and
    # 2 GPU-h on Jan 15.
    await add_price(sessionmaker, "A100-80GB", "1.50")
    await ingest_all(client, admin_headers, [
        job("up-billed"),
        job("up-est", model_name="est-model", gpu_type="A100-80GB", gpu_count=4, cost=None,
            started_at="2026-01-14T08:00:00Z", ended_at="2026-01-14T10:00:00Z"),
        job("up-none", model_name="unpriced-model", gpu_count=2, cost=None,
            started_at="2026-01-14T08:00:00Z", ended_at="2026-01-14T11:00:00Z"),
        job("up-night", team="nlp", model_name="night-model", gpu_count=2, cost=None,
            started_at="2026-01-14T22:00:00Z", ended_at="2026-01-15T01:00:00Z"),
    ])
    jan14 = {"start": "2026-01-14", "end": "2026-01-14"}
    teams = await report(client, admin_headers, BY_TEAM, **jan14)
    # 64 + 12 = 76.00 USD; 32 + 8 + 6 + 4 = 50 GPU-h, of which 6 + 4 = 10 unpriced.
    assert totals(teams) == ("76.000000", "50.000000", "10.000000", 4)
    assert by_name(teams) == {"vision": ("76.000000", "46.000000", "6.000000", 3),
                              "nlp": ("0.000000", "4.000000", "4.000000", 1)}
    models = await report(client, admin_headers, BY_MODEL, **jan14)
    assert totals(models) == totals(teams)
    assert [(i["model_name"], *figures(i)) for i in models["items"]] == [
        ("resnet50-ft", "64.000000", "32.000000", "0.000000", 1),
        ("est-model", "12.000000", "8.000000", "0.000000", 1),
        ("night-model", "0.000000", "4.000000", "4.000000", 1),
        ("unpriced-model", "0.000000", "6.000000", "6.000000", 1),
    ]
    jan15 = await report(client, admin_headers, BY_TEAM, start="2026-01-15")
    assert totals(jan15) == ("0.000000", "2.000000", "2.000000", 1)
    assert by_name(jan15) == {"nlp": ("0.000000", "2.000000", "2.000000", 1)}


# --- (h) job_count counts a multi-day job once ---------------------------------------------------------------

async def test_job_count_counts_a_multi_day_job_once(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # long: 2026-01-01T12:00 → 2026-01-04T12:00, snapshots on 4 days; short: 2 h on Jan 2; other: team nlp on Jan 3.
    await ingest_all(client, admin_headers, [
        job("count-long", started_at="2026-01-01T12:00:00Z", ended_at="2026-01-04T12:00:00Z", cost="30.00"),
        job("count-short", started_at="2026-01-02T08:00:00Z", ended_at="2026-01-02T10:00:00Z", cost="2.00"),
        job("count-other", team="nlp", model_name="bert", started_at="2026-01-03T08:00:00Z",
            ended_at="2026-01-03T10:00:00Z", cost="1.00"),
    ])
    for endpoint in ENDPOINTS:
        body = await report(client, admin_headers, endpoint, start="2026-01-01", end="2026-01-04")
        assert body["job_count"] == 3
        assert sorted(i["job_count"] for i in body["items"]) == [1, 2]  # vision / resnet50-ft: long + short
        # Every job belongs to one team and one model, so the items' counts add up to the report's.
        assert sum(i["job_count"] for i in body["items"]) == body["job_count"]
        assert (await report(client, admin_headers, endpoint))["job_count"] == 3
        assert (await report(client, admin_headers, endpoint, start="2026-01-04"))["job_count"] == 1
        assert (await report(client, admin_headers, endpoint, start="2026-01-02", end="2026-01-03"))["job_count"] == 3
        assert (await report(client, admin_headers, endpoint, start="2026-01-03", end="2026-01-04"))["job_count"] == 2


# --- F13: days are UTC days ------------------------------------------------------------------------------------

async def test_f13_days_are_utc_days_around_a_dst_change(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # F13's three 1-hour jobs, 1.00 USD each, around New York's DST change (2026-03-08): 23:30 EST on Mar 7 is
    # 04:30Z on Mar 8; 23:30 EDT on Mar 8 is 03:30Z on Mar 9; 00:30 EDT on Mar 9 is 04:30Z on Mar 9. In UTC days:
    # nothing on Mar 7, one job on Mar 8, two on Mar 9 (a local-day bucketing would give one on each day). The
    # `tz` parameter itself is refused (test_reports.py).
    await ingest_all(client, admin_headers, [
        job(f"dst-{i}", cost="1.00", gpu_count=1, started_at=start, ended_at=end) for i, (start, end) in enumerate((
            ("2026-03-08T04:30:00Z", "2026-03-08T05:30:00Z"),
            ("2026-03-09T03:30:00Z", "2026-03-09T04:30:00Z"),
            ("2026-03-09T04:30:00Z", "2026-03-09T05:30:00Z")))])
    for endpoint in ENDPOINTS:
        for day, expected in (("2026-03-07", EMPTY), ("2026-03-08", ("1.000000", "1.000000", "0.000000", 1)),
                              ("2026-03-09", ("2.000000", "2.000000", "0.000000", 2))):
            body = await report(client, admin_headers, endpoint, start=day, end=day)
            assert totals(body) == expected, (endpoint, day)
        whole = await report(client, admin_headers, endpoint, start="2026-03-07", end="2026-03-09")
        assert totals(whole) == ("3.000000", "3.000000", "0.000000", 3)


# --- the reports follow re-ingest and delete ----------------------------------------------------------------------

async def test_reports_follow_a_running_job_sent_again_and_a_deleted_job(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    # A billed running job, 1 GPU, started 2026-01-10T12:00Z: first seen at Jan 11 12:00 (24 h: 12 + 12 h), then
    # at Jan 12 12:00 (48 h: 12 + 24 + 12 h), its billed cost 48.00 → 96.00. The old snapshots are replaced, not
    # added to: Jan 10 holds 12/48 × 96.00 = 24.00, Jan 12 holds 24.00, 48 GPU-h in all.
    first = job("grow", status="running", gpu_count=1, cost="48.00", started_at="2026-01-10T12:00:00Z",
                ended_at=None, observed_at="2026-01-11T12:00:00Z")
    await ingest_all(client, admin_headers, [first, job("other", team="nlp")])
    assert totals(await report(client, admin_headers, BY_TEAM, team="vision")) == (
        "48.000000", "24.000000", "0.000000", 1)
    assert totals(await report(client, admin_headers, BY_TEAM, start="2026-01-12", end="2026-01-12")) == EMPTY

    result = await ingest_ok(client, admin_headers, [{**first, "cost": "96.00", "observed_at": "2026-01-12T12:00:00Z"}])
    assert result["updated"] == 1, result
    for endpoint in ENDPOINTS:
        assert totals(await report(client, admin_headers, endpoint, start="2026-01-10", end="2026-01-10")) == (
            "24.000000", "12.000000", "0.000000", 1)
        assert totals(await report(client, admin_headers, endpoint, start="2026-01-12", end="2026-01-12")) == (
            "24.000000", "12.000000", "0.000000", 1)
        assert totals(await report(client, admin_headers, endpoint, start="2026-01-10", end="2026-01-12")) == (
            "96.000000", "48.000000", "0.000000", 1)

    response = await client.delete("/api/v1/admin/jobs/grow", headers=admin_headers)
    assert response.status_code == 204, response.text
    for endpoint in ENDPOINTS:
        body = await report(client, admin_headers, endpoint)
        assert totals(body) == ("64.000000", "32.000000", "0.000000", 1)  # "other" alone
        assert len(body["items"]) == 1
