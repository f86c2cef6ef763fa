"""Backtest of the month-end forecast and of the anomaly rule (`app/forecasting/method.py`, `anomaly.py`).

Forecast: month-end error (MAPE: mean of |forecast − actual| / actual over the (series, month) pairs) when
forecasting from day 7, 14 and 21 of a month, ours beside the naive run rate (spend so far / days elapsed × days
in the month), the share of pairs where ours is closer, and how often the actual total fell inside our 80 %
interval (its coverage, against the 80 % target ± 5 points). Series:

- **synthetic**: the benchmarks' synthetic year (`bench/synthetic.py`, the first `--jobs` jobs of seed `--seed`),
  its daily cost computed here without a database: a job's billed cost, or GPU-hours × the bundled catalog's
  latest price for its (provider, GPU type) (no price: unpriced, left out, as the service does), spread over the
  UTC days it ran in proportion to its run time (the snapshots' rule, in floats). Per team (50) and in total;
  months February to December 2025 (January has no history: the year's jobs start on 1 January).
- **synthetic-weekly**: the same jobs, keeping only a quarter of those starting on a Saturday or Sunday (a fleet
  quiet at weekends), to see the weekday index at work.
- **real traces** with a time span (relative times anchored at 2026-01-01 00:00 UTC, spend as GPU-hours: one rate
  for all makes MAPE the same as for USD): `alibaba-dlrm-v2025` (31 days: one month, history only from inside it),
  total and per application with GPUs; `alibaba-openb-v2023` (149 days, but only pods deleted in the last ~34 are
  in the file, so earlier days are under-counted), the last whole month, total and per QoS class.

Anomalies: synthetic daily series (seeded), half of them with a weekly shape, with spikes planted on known days;
precision and recall of the rule at the default threshold (3.5) and floor (10 USD), by spike size, and the false
alarms on a flat series and on spike-free noisy series.

    .venv/bin/python bench/forecast.py [--jobs 200000] [--seed 7] [--realdata ../shared/realdata]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from random import Random

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic as s  # noqa: E402

from app.forecasting import anomaly, method  # noqa: E402
from app.forecasting.service import period_bounds  # noqa: E402
from app.pricing.catalog import default_catalog  # noqa: E402

Series = dict[date, int]  # UTC day → spend (micro-USD, or micro-GPU-hours for the real traces)
DAY_S = 86_400
ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)


# --- daily series -----------------------------------------------------------------------------------------------

def spread(series: Series, start: datetime, end: datetime, amount: float) -> None:
    """Add `amount` to `series` over the UTC days of [start, end), in proportion to the time in each."""
    seconds = (end - start).total_seconds()
    if seconds <= 0 or amount <= 0:
        return
    cursor = start
    while cursor < end:
        midnight = datetime.combine(cursor.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        stop = min(midnight, end)
        series[cursor.date()] = series.get(cursor.date(), 0) + round(amount * (stop - cursor).total_seconds()
                                                                      / seconds)
        cursor = stop


def catalog_prices() -> dict[tuple[str, str], float]:
    """(provider, GPU type) → the latest bundled catalog price, USD per GPU-hour."""
    latest: dict[tuple[str, str], tuple[datetime, Decimal]] = {}
    for price in default_catalog().prices:
        key = (price.provider, price.gpu_type)
        if key not in latest or price.valid_from > latest[key][0]:
            latest[key] = (price.valid_from, price.usd_per_gpu_hour)
    return {key: float(value) for key, (_, value) in latest.items()}


def synthetic_series(n: int, seed: int, weekend_keep: float | None = None) -> dict[str, Series]:
    """Daily cost (micro-USD) per team and in total (`"total"`) of the first `n` synthetic jobs; with
    `weekend_keep`, only that share (by a seeded draw) of the jobs starting on a Saturday or Sunday."""
    prices = catalog_prices()
    keep = Random(f"weekend/{seed}")  # noqa: S311 - reproducible thinning
    by_team: dict[str, Series] = defaultdict(dict)
    for record in s.job_records(n, seed):
        start, end = datetime.fromisoformat(record["started_at"]), datetime.fromisoformat(record["ended_at"])
        if weekend_keep is not None and start.weekday() >= 5 and keep.random() >= weekend_keep:
            continue
        if "cost" in record:
            micros = float(Decimal(record["cost"]) * 1_000_000)
        else:
            rate = prices.get((record["provider"], record["gpu_type"]))
            if rate is None:
                continue  # unpriced: no cost, as in the service
            micros = rate * record["gpu_count"] * (end - start).total_seconds() / 3600 * 1_000_000
        spread(by_team[record["team"]], start, end, micros)
    total: Series = defaultdict(int)
    for series in by_team.values():
        for day, value in series.items():
            total[day] += value
    return {"total": dict(total), **by_team}


def _seconds(text: str) -> float | None:
    return float(text) if text not in ("", None) else None


def dlrm_series(path: Path) -> dict[str, Series]:
    """GPU-hours per day (micro-GPU-hours) of the DLRM serving trace, per application with GPUs and in total:
    an instance holds `gpu_request` GPUs from its scheduled (or created) time, or the trace's start when it
    existed before, to its deletion, or the trace's end."""
    rows = list(csv.DictReader(path.open()))
    ends = [t for r in rows for t in (_seconds(r["deletion_time"]), _seconds(r["creation_time"])) if t is not None]
    trace_end = max(ends)
    by_app: dict[str, Series] = defaultdict(dict)
    for row in rows:
        gpus = float(row["gpu_request"] or 0)
        if gpus <= 0:
            continue
        begin = _seconds(row["scheduled_time"]) or _seconds(row["creation_time"]) or 0.0
        finish = _seconds(row["deletion_time"]) or trace_end
        start, end = ANCHOR + timedelta(seconds=begin), ANCHOR + timedelta(seconds=finish)
        spread(by_app[row["app_name"]], start, end, gpus * (finish - begin) / 3600 * 1_000_000)
    return _with_total(by_app)


def openb_series(path: Path) -> dict[str, Series]:
    """GPU-hours per day (micro-GPU-hours) of the openb pods (gpu_milli thousandths of a GPU each, num_gpu of
    them), scheduled to deleted, per QoS class and in total; pods never scheduled hold nothing."""
    by_qos: dict[str, Series] = defaultdict(dict)
    for row in csv.DictReader(path.open()):
        gpus = int(row["num_gpu"] or 0) * int(row["gpu_milli"] or 0) / 1000
        begin, finish = _seconds(row["scheduled_time"]), _seconds(row["deletion_time"])
        if gpus <= 0 or begin is None or finish is None:
            continue
        spread(by_qos[row["qos"]], ANCHOR + timedelta(seconds=begin), ANCHOR + timedelta(seconds=finish),
               gpus * (finish - begin) / 3600 * 1_000_000)
    return _with_total(by_qos)


def _with_total(groups: dict[str, Series]) -> dict[str, Series]:
    total: Series = defaultdict(int)
    for series in groups.values():
        for day, value in series.items():
            total[day] += value
    return {"total": dict(total), **groups}


# --- forecast backtest ------------------------------------------------------------------------------------------

def months(first: date, last: date) -> list[tuple[date, date]]:
    """The calendar months wholly inside [first, last]."""
    found, current = [], first.replace(day=1)
    while current <= last:
        bounds = period_bounds("month", current)
        if bounds[0] >= first and bounds[1] <= last:
            found.append(bounds)
        current = bounds[1] + timedelta(days=1)
    return found


def backtest(series_set: dict[str, Series], periods: Iterable[tuple[date, date]],
             from_days: tuple[int, ...] = (7, 14, 21)) -> dict[int, dict[str, float]]:
    """Per forecasting day: MAPE of ours and of the naive run rate, the share of pairs where ours is closer, the
    share of actual totals inside our interval, and the pair count (months with no spend are left out)."""
    result = {}
    periods = list(periods)
    for day in from_days:
        ours, naive, wins, inside = [], [], 0, 0
        for series in series_set.values():
            for first, last in periods:
                actual = sum(series.get(first + timedelta(days=i), 0) for i in range((last - first).days + 1))
                if actual <= 0:
                    continue
                as_of = first + timedelta(days=day - 1)
                found = method.forecast(series, period_start=first, period_end=last, as_of=as_of)
                baseline = method.naive_run_rate(series, period_start=first, period_end=last, as_of=as_of)
                ours.append(abs(found.expected_total - actual) / actual)
                naive.append(abs(baseline - actual) / actual)
                wins += ours[-1] < naive[-1]
                inside += found.interval_low <= actual <= found.interval_high
        n = len(ours)
        result[day] = {"ours": 100 * statistics.fmean(ours), "naive": 100 * statistics.fmean(naive),
                       "wins": 100 * wins / n, "inside": 100 * inside / n, "n": n}
    return result


def coverage_verdict(inside: float, n: int) -> str:
    """How an interval's empirical coverage (%) of n totals compares with its 80 % target (± 5 points)."""
    if n < 20:
        return "too few to judge"
    return "on target" if 75 <= inside <= 85 else ("too narrow" if inside < 75 else "too wide")


def print_backtest(name: str, figures: dict[int, dict[str, float]]) -> None:
    """One line per forecasting day: MAPEs, the ratio ours / naive (under 1: ours better), and the coverage of
    the 80 % interval against its target."""
    for day, f in figures.items():
        print(f"  {name:<34} day {day:>2}: MAPE ours {f['ours']:6.2f} %  naive {f['naive']:6.2f} %  "
              f"ratio vs naive {f['ours'] / f['naive']:.2f}  ours closer {f['wins']:5.1f} %  "
              f"coverage {f['inside']:5.1f} % (target 80 ± 5: {coverage_verdict(f['inside'], f['n'])})  "
              f"(n={f['n']})")


# --- anomaly benchmark ------------------------------------------------------------------------------------------

SPIKES = (0.5, 1.0, 2.0, 4.0)  # planted spike: + this × the series' level


def anomaly_bench(count: int, seed: int, days: int = 182) -> None:
    """Precision and recall of `anomaly.detect` on seeded series with planted spikes, and false alarms without."""
    rng = Random(f"anomaly/{seed}")  # noqa: S311 - reproducible test data
    first = date(2026, 1, 1)
    judged_from = first + timedelta(days=anomaly.WINDOW)
    floor = 10 * 1_000_000
    found_by_size: dict[float, list[int]] = {size: [0, 0] for size in SPIKES}
    false_alarms, judged_days = 0, 0
    clean_alarms, clean_days = 0, 0
    for i in range(count):
        level = rng.choice((50, 200, 1000, 5000)) * 1_000_000
        cv = rng.choice((0.1, 0.2, 0.3))
        weekly = i % 2 == 1
        base = {first + timedelta(days=d): max(0, round(level * (0.3 if weekly and (first + timedelta(days=d))
                                                                   .weekday() >= 5 else 1.0)
                                                   * rng.lognormvariate(0, cv)))
                for d in range(days)}
        clean_found = anomaly.detect(base, start=judged_from, end=first + timedelta(days=days - 1), floor=floor)
        clean_alarms += len(clean_found)
        clean_days += days - anomaly.WINDOW
        planted: dict[date, float] = {}
        candidates = list(range(anomaly.WINDOW + 7, days))
        for d in rng.sample(candidates, 4):
            size = rng.choice(SPIKES)
            day = first + timedelta(days=d)
            planted[day] = size
            base[day] += round(size * level)
        flags = anomaly.detect(base, start=judged_from, end=first + timedelta(days=days - 1), floor=floor)
        flagged = {f.day for f in flags}
        for day, size in planted.items():
            found_by_size[size][0] += day in flagged
            found_by_size[size][1] += 1
        false_alarms += len(flagged - set(planted))
        judged_days += days - anomaly.WINDOW - len(planted)
    found = sum(f for f, _ in found_by_size.values())
    planted_total = sum(n for _, n in found_by_size.values())
    precision = found / (found + false_alarms) if found + false_alarms else 1.0
    print(f"  {count} series × {days} days (levels 50–5,000 USD/day, log-normal noise CV 0.1–0.3, half with "
          "weekends at 30 %), 4 spikes each")
    print(f"  precision {100 * precision:.1f} %  recall {100 * found / planted_total:.1f} %  "
          f"({found} of {planted_total} spikes found, {false_alarms} false alarms in {judged_days:,} other days)")
    print("  recall by spike size: " + ", ".join(
        f"+{int(size * 100)} % {100 * f / n:.1f} %" for size, (f, n) in found_by_size.items()))
    print(f"  the same series without spikes: {clean_alarms} false alarms in {clean_days:,} days "
          f"({1000 * clean_alarms / clean_days:.2f} per 1,000 days)")
    flat = {first + timedelta(days=d): 100_000_000 for d in range(365)}
    print(f"  flat series (100 USD every day, 365 days): "
          f"{len(anomaly.detect(flat, start=first, end=first + timedelta(days=364), floor=floor))} false alarms")
    nearly = {d: v + Random(d.toordinal()).randrange(-500_000, 500_001) for d, v in flat.items()}  # noqa: S311
    print(f"  flat ± 0.50 USD: {len(anomaly.detect(nearly, start=first, end=first + timedelta(days=364), floor=floor))}"
          " false alarms")


# --- main -------------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--anomaly-series", type=int, default=400)
    parser.add_argument("--realdata", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "realdata")
    args = parser.parse_args()

    print(f"forecast backtest: month-end MAPE from day 7, 14 and 21 (method: {method.METHOD_FULL}; baseline: "
          "naive run rate)")
    started = time.perf_counter()
    year = months(date(2025, 2, 1), date(2025, 12, 31))
    for name, weekend in (("synthetic", None), ("synthetic-weekly", 0.25)):
        series = synthetic_series(args.jobs, args.seed, weekend)
        print(f"{name}: {args.jobs:,} jobs (seed {args.seed}), 50 teams + total, February–December 2025")
        print_backtest(f"{name} per team and total", backtest(series, year))
        print_backtest(f"{name} total only", backtest({"total": series["total"]}, year))
    dlrm_path = args.realdata / "alibaba-dlrm-v2025" / "disaggregated_DLRM_trace.csv"
    openb_path = args.realdata / "alibaba-openb-v2023" / "openb_pod_list_gpuspec33.csv"
    if dlrm_path.exists():
        series = dlrm_series(dlrm_path)
        january = [(date(2026, 1, 1), date(2026, 1, 31))]
        apps = {k: v for k, v in series.items() if k != "total"}
        print(f"alibaba-dlrm-v2025: GPU-hours per day, January 2026 (= the trace's 31 days), {len(apps)} "
              "applications with GPUs + total")
        print_backtest("dlrm per application and total", backtest(series, january))
        print_backtest("dlrm total only", backtest({"total": series["total"]}, january))
    else:
        print(f"alibaba-dlrm-v2025: not found at {dlrm_path}, skipped")
    if openb_path.exists():
        series = openb_series(openb_path)
        last = max(series["total"])
        period = [period_bounds("month", last.replace(day=1) - timedelta(days=1))]
        print(f"alibaba-openb-v2023: GPU-hours per day, {period[0][0]} to {period[0][1]} (the trace's last whole "
              f"month; trace ends {last}), per QoS ({len(series) - 1}) + total")
        print_backtest("openb per QoS and total", backtest(series, period))
    else:
        print(f"alibaba-openb-v2023: not found at {openb_path}, skipped")
    print(f"anomaly detection (threshold {anomaly.DEFAULT_THRESHOLD}, floor 10 USD):")
    anomaly_bench(args.anomaly_series, args.seed)
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
