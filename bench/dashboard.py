"""The dashboard's Overview in headless Chromium at 1M jobs on PostgreSQL: first paint and full load, and the
page weight.

A PostgreSQL database is loaded with N synthetic jobs (`synthetic.py`, `--jobs`, default 1,000,000; kept as
`jobcost_bench_dashboard_<N>_s<seed>` and reused, like analytics.py's `--keep`), the real server
(`jobcost serve`, a subprocess) serves it, and Debian's Chromium (Selenium, chromedriver) opens the Overview
`--rounds` times (default 5), each in a new browser (a cold cache: every script and style fetched), signs in as
the benchmark's admin and reads the page's own performance marks:

  first paint  sign-in submitted → the five totals and their change shown (`overview-totals`)
  full load    sign-in submitted → every chart drawn (`overview-loaded`)

for two windows: 30 days (10 June - 9 July 2025, by day) and the year 2025 (by month). Prints the median of the
rounds, each round's figures, the target (first paint under 1 s), and the page weight: the bytes of the HTML,
scripts and styles the page loaded, as transferred (gzip) and decoded.

    .venv/bin/python bench/dashboard.py [--jobs 1000000] [--rounds 5] [--seed 7] [--workers 2]
                                        [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from pathlib import Path

import synthetic as s
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

WINDOWS = {
    "30 days by day": "#/overview?preset=custom&start=2025-06-10&end=2025-07-09&step=day",
    "year 2025 by month": "#/overview?preset=custom&start=2025-01-01&end=2025-12-31&step=month",
}
TARGET_FIRST_PAINT_MS = 1000.0
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def browser() -> webdriver.Chrome:
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def one_round(base: str, fragment: str) -> tuple[float, float, list[dict]]:
    """(first paint ms, full load ms, resources) of one cold visit."""
    driver = browser()
    try:
        driver.get(f"{base}/{fragment}")
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "sign-in-form"))
        driver.find_element(By.ID, "email").send_keys(s.ADMIN)
        driver.find_element(By.ID, "password").send_keys(s.PASSWORD)
        driver.find_element(By.ID, "sign-in-button").click()
        WebDriverWait(driver, 300).until(
            lambda d: d.execute_script("return performance.getEntriesByName('overview-loaded').length"))
        marks = driver.execute_script(
            "return Object.fromEntries(performance.getEntriesByType('mark').map(m => [m.name, m.startTime]))")
        resources = driver.execute_script(
            "return [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]"
            ".map(e => ({name: e.name, type: e.initiatorType || 'navigation', transfer: e.encodedBodySize,"
            " decoded: e.decodedBodySize}))")
        return marks["overview-totals"] - marks["sign-in"], marks["overview-loaded"] - marks["sign-in"], resources
    finally:
        driver.quit()


def weight(resources: list[dict]) -> tuple[int, int, list[str]]:
    """Bytes (transferred, decoded) of the page, its scripts and its styles (not the API's answers)."""
    kept = [r for r in resources if "/api/" not in r["name"]]
    return (sum(r["transfer"] for r in kept), sum(r["decoded"] for r in kept),
            [f"{r['name'].split('/', 3)[-1] or '/'}: {r['transfer']:,} B gzip, {r['decoded']:,} B" for r in kept])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    s.exit_on_sigterm()
    for line in await s.machine_facts(args.pg_url):
        print(line)
    name = f"jobcost_bench_dashboard_{args.jobs}_s{args.seed}"
    async with s.kept_database(args.pg_url, name, args.jobs, args.seed, args.workers) as url, s.Server(url) as server:
        print(f"dashboard Overview in headless Chromium, {args.jobs:,} jobs, {args.rounds} cold visits per window "
              f"(load average {s.load_average()})")
        resources: list[dict] = []
        for label, fragment in WINDOWS.items():
            rounds = [await asyncio.to_thread(one_round, server.base_url, fragment) for _ in range(args.rounds)]
            first = [r[0] for r in rounds]
            full = [r[1] for r in rounds]
            resources = rounds[-1][2]
            verdict = "met" if statistics.median(first) < TARGET_FIRST_PAINT_MS else "MISSED"
            print(f"  {label:<20} first paint median {statistics.median(first):7.0f} ms "
                  f"(target < {TARGET_FIRST_PAINT_MS:.0f} ms: {verdict}); full load median "
                  f"{statistics.median(full):7.0f} ms")
            print(f"  {'':<20} rounds: first paint {', '.join(f'{v:.0f}' for v in first)} ms; "
                  f"full load {', '.join(f'{v:.0f}' for v in full)} ms")
        transfer, decoded, lines = weight(resources)
        print(f"  page weight (HTML, scripts, styles, icon): {transfer:,} B transferred (gzip), {decoded:,} B decoded")
        for line in lines:
            print(f"    {line}")


if __name__ == "__main__":
    asyncio.run(main())
