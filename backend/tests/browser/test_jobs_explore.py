"""Jobs (filters, sorting, cursor paging, a job's daily snapshots) and Explore (a grouped, stepped query as a
chart and a table, and its CSV download) in Chromium, against the API's own answers for the demo data."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, MEMBER_EMAIL, MEMBER_PASSWORD, MEMBER_TEAM, Live
from tests.browser.pages import gpu_hours, open_dashboard, sign_in, text, usd, wait


def signed_in_at(driver, live: Live, fragment: str, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    open_dashboard(driver, live.base, fragment)
    sign_in(driver, email, password)
    wait(driver, lambda d: d.execute_script("return document.getElementById('main').dataset.loaded"))


def cells(driver, table: str) -> list[list[str]]:
    """The body's cells, read in one script (a table redrawn between two element reads would go stale)."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(tr => [...tr.cells].map(td => td.innerText.trim()))",
        f"#{table} tbody tr")


def column(driver, table: str, index: int) -> list[str]:
    return [row[index] for row in cells(driver, table) if len(row) > index]


def all_jobs(live: Live, headers: dict[str, str], **filters: object) -> list[dict]:
    jobs, cursor = [], None
    while True:
        page = live.api("jobs", headers, limit=100, **filters, **({"cursor": cursor} if cursor else {}))
        jobs += page["jobs"]
        cursor = page["next_cursor"]
        if not cursor:
            return jobs


def test_a_filter_narrows_the_jobs_table(live: Live, driver) -> None:
    headers = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    everyone = all_jobs(live, headers)
    nlp = all_jobs(live, headers, team="NLP Research")
    assert 0 < len(nlp) < len(everyone)

    signed_in_at(driver, live, "#/jobs")
    assert column(driver, "jobs-table", 0) == [j["job_id"] for j in everyone]

    box = driver.find_element(By.CSS_SELECTOR, "#jobs-filters [name=team]")
    box.send_keys("NLP Research")
    driver.execute_script("document.getElementById('main').dataset.loaded = ''")
    driver.find_element(By.CSS_SELECTOR, "#jobs-filters button[type=submit]").click()
    wait(driver, lambda d: d.execute_script("return document.getElementById('main').dataset.loaded") == "true")
    assert column(driver, "jobs-table", 0) == [j["job_id"] for j in nlp]
    assert set(column(driver, "jobs-table", 1)) == {"NLP Research"}
    assert text(driver, "#jobs-count") == f"Showing {len(nlp)} of {len(nlp)} jobs."
    assert column(driver, "jobs-table", 9) == [usd(j["cost"]) if j["cost"] else "unpriced" for j in nlp]
    assert "team=NLP" in driver.current_url  # the filter is in the URL, for a bookmark


def test_load_more_follows_the_cursor_in_the_apis_order(live: Live, driver) -> None:
    expected = [j["job_id"] for j in all_jobs(live, live.token(ADMIN_EMAIL, ADMIN_PASSWORD))]
    signed_in_at(driver, live, "#/jobs?per_page=12")
    for shown in (12, 24, len(expected)):
        wait(driver, lambda d, n=shown: len(column(d, "jobs-table", 0)) == n)
        assert column(driver, "jobs-table", 0) == expected[:shown]
        more = driver.find_element(By.ID, "jobs-more")
        if shown < len(expected):
            more.click()
    assert not driver.find_element(By.ID, "jobs-more").is_displayed()
    assert text(driver, "#jobs-count") == f"Showing {len(expected)} of {len(expected)} jobs."


def _by_cost(jobs: list[dict], descending: bool) -> list[str]:
    """The job ids by cost, unpriced last either way, ties by job_id (code points): computed here."""
    from decimal import Decimal

    priced = [j for j in jobs if j["cost"] is not None]
    ordered = sorted(priced, key=lambda j: (-Decimal(j["cost"]) if descending else Decimal(j["cost"]), j["job_id"]))
    return [j["job_id"] for j in ordered] + sorted(j["job_id"] for j in jobs if j["cost"] is None)


def test_sorting_a_column_orders_every_job_not_only_the_loaded_page(live: Live, driver) -> None:
    jobs = all_jobs(live, live.token(ADMIN_EMAIL, ADMIN_PASSWORD))
    dearest, cheapest = _by_cost(jobs, True), _by_cost(jobs, False)
    signed_in_at(driver, live, "#/jobs?per_page=5")
    first_page = column(driver, "jobs-table", 0)
    assert first_page != dearest[:5]  # the newest five are not the dearest five: the test can tell

    def sort_by(field: str) -> None:
        driver.execute_script("document.getElementById('main').dataset.loaded = ''")
        driver.find_element(By.CSS_SELECTOR, f"button[data-sort={field}]").click()
        wait(driver, lambda d: d.execute_script("return document.getElementById('main').dataset.loaded") == "true")

    sort_by("cost")
    header = driver.find_element(By.CSS_SELECTOR, "button[data-sort=cost]").find_element(By.XPATH, "..")
    assert header.get_attribute("aria-sort") == "descending"
    assert column(driver, "jobs-table", 0) == dearest[:5]  # the dearest of all jobs, not of the five loaded
    assert "sort=-cost" in driver.current_url
    driver.find_element(By.ID, "jobs-more").click()
    wait(driver, lambda d: len(column(d, "jobs-table", 0)) == 10)
    assert column(driver, "jobs-table", 0) == dearest[:10]  # Load more goes on in the same order

    sort_by("cost")  # the same header again: ascending, unpriced jobs still last
    assert driver.find_element(By.CSS_SELECTOR, "button[data-sort=cost]").find_element(
        By.XPATH, "..").get_attribute("aria-sort") == "ascending"
    assert column(driver, "jobs-table", 0) == cheapest[:5]
    assert driver.switch_to.active_element.get_attribute("data-sort") == "cost"  # focus stays on the header
    for _ in range(len(jobs) // 5):
        more = driver.find_element(By.ID, "jobs-more")
        if not more.is_displayed():
            break
        shown = len(column(driver, "jobs-table", 0))
        more.click()
        wait(driver, lambda d, n=shown: len(column(d, "jobs-table", 0)) > n)
    assert column(driver, "jobs-table", 0) == cheapest
    costs = column(driver, "jobs-table", 9)
    priced = sum(1 for j in jobs if j["cost"] is not None)
    assert set(costs[priced:]) <= {"unpriced"}


def test_a_jobs_page_shows_its_daily_snapshots(live: Live, driver) -> None:
    headers = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    job_id = "sagemaker:llama3-8b-sft-0113"  # a demo job that runs over several days
    job = live.api(f"jobs/{job_id}", headers, include="snapshots")
    assert len(job["snapshots"]) > 1

    signed_in_at(driver, live, "#/jobs?team=NLP%20Research")
    driver.find_element(By.LINK_TEXT, job_id).click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#snapshots-table tbody tr"))
    rows = cells(driver, "snapshots-table")
    assert rows == [[s["day"], gpu_hours(s["gpu_hours"]), usd(s["cost"])] for s in job["snapshots"]]
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-job .trace.bars .point"))
    assert len(driver.find_elements(By.CSS_SELECTOR, "#chart-job .trace.bars .point")) == len(job["snapshots"])


def test_a_member_cannot_open_another_teams_job(live: Live, driver) -> None:
    signed_in_at(driver, live, "#/job?id=sagemaker%3Allama3-8b-sft-0113", MEMBER_EMAIL, MEMBER_PASSWORD)
    assert "No job sagemaker:llama3-8b-sft-0113 that you can read." in text(driver, "#job")
    signed_in_at(driver, live, "#/jobs", MEMBER_EMAIL, MEMBER_PASSWORD)
    assert set(column(driver, "jobs-table", 1)) == {MEMBER_TEAM}


EXPLORE = "#/explore?preset=custom&start=2026-01-01&end=2026-01-14&group_by=team,gpu_type&step=week"


def explore_table(driver) -> list[list[str]]:
    return cells(driver, "explore-table")


def test_explore_shows_the_apis_rows_as_a_chart_and_a_table(live: Live, driver) -> None:
    headers = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    answer = live.api("analytics/cost", headers, start="2026-01-01", end="2026-01-14", group_by="team,gpu_type",
                      step="week")
    signed_in_at(driver, live, EXPLORE)
    from tests.browser.pages import jobs as job_count

    def day(iso: str) -> str:
        months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        y, m, d = (int(p) for p in iso.split("-"))
        return f"{d} {months[m - 1]} {y}"

    expected = [[f"{day(r['period_start'])} – {day(r['period_end'])}", r["group"]["team"], r["group"]["gpu_type"],
                 usd(r["cost"]), gpu_hours(r["gpu_hours"]), gpu_hours(r["unpriced_gpu_hours"]),
                 usd(r["wasted_cost"]), job_count(r["job_count"]), gpu_hours(r["energy_kwh"]),
                 gpu_hours(r["energy_measured_kwh"]), gpu_hours(r["co2e_kg"]), gpu_hours(r["co2e_measured_kg"]),
                 gpu_hours(r["idle_gpu_hours"]), usd(r["idle_cost"])] for r in answer["rows"]]
    assert explore_table(driver) == expected
    footer = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "#explore-table tfoot td")]
    assert footer[0] == usd(answer["totals"]["cost"])
    series = {(r["group"]["team"], r["group"]["gpu_type"]) for r in answer["rows"]}
    legend = {e.text for e in driver.find_elements(By.CSS_SELECTOR, "#chart-explore .legendtext")}
    assert legend == {f"{t} · {g}" for t, g in series}
    assert driver.find_elements(By.CSS_SELECTOR, "#chart-explore .trace.bars .point path")


def test_explore_controls_change_the_query(live: Live, driver) -> None:
    headers = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    answer = live.api("analytics/cost", headers, start="2026-01-01", end="2026-01-14", group_by="model", limit=3)
    signed_in_at(driver, live, EXPLORE)
    form = driver.find_element(By.ID, "explore-form")
    Select(form.find_element(By.NAME, "dim0")).select_by_visible_text("Model")
    Select(form.find_element(By.NAME, "dim1")).select_by_visible_text("—")
    Select(form.find_element(By.NAME, "step")).select_by_visible_text("None (whole window)")
    form.find_element(By.NAME, "limit").send_keys("3")
    driver.execute_script("document.getElementById('main').dataset.loaded = ''")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, lambda d: d.execute_script("return document.getElementById('main').dataset.loaded") == "true")
    rows = explore_table(driver)
    assert [r[0] for r in rows] == [("Other" if r["other"] else r["group"]["model"]) for r in answer["rows"]]
    assert [r[1] for r in rows] == [usd(r["cost"]) for r in answer["rows"]]
    assert "group_by=model" in driver.current_url and "limit=3" in driver.current_url


def test_the_csv_download_is_the_table(live: Live, driver, downloads: Path) -> None:
    signed_in_at(driver, live, EXPLORE)
    shown = explore_table(driver)
    for old in downloads.iterdir():  # the other database's run saved one under the same name
        old.unlink()
    before: set[Path] = set()
    driver.find_element(By.ID, "explore-csv").click()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        new = [p for p in set(downloads.iterdir()) - before if p.suffix == ".csv"]
        if new:
            break
        time.sleep(0.2)
    assert new, "no CSV was downloaded"
    rows = list(csv.DictReader(io.StringIO(new[0].read_text(encoding="utf-8-sig"))))
    assert new[0].name == "jobcost-explore_2026-01-01_2026-01-14_by-team-gpu_type_week.csv"
    # Row for row, in the same order: the same periods, groups and figures (the CSV to the micro-dollar).
    assert len(rows) == len(shown)
    for row, cells in zip(rows, shown, strict=True):
        assert [row["team"], row["gpu_type"], usd(row["cost"]), gpu_hours(row["gpu_hours"]),
                gpu_hours(row["unpriced_gpu_hours"]), usd(row["wasted_cost"]), row["job_count"]] == cells[1:8]
        assert [gpu_hours(row["energy_kwh"]), usd(row["idle_cost"])] == [cells[8], cells[-1]]
        assert cells[0].startswith(str(int(row["period_start"][-2:]))) and row["period_start"] <= row["period_end"]


def test_explore_charts_energy_by_team_measured_and_estimated(live: Live, driver) -> None:
    from decimal import Decimal

    headers = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    answer = live.api("analytics/cost", headers, start="2026-01-01", end="2026-01-14", group_by="team")
    measured = Decimal(answer["totals"]["energy_measured_kwh"])
    assert 0 < measured < Decimal(answer["totals"]["energy_kwh"])  # the demo has both kinds: the test can tell
    signed_in_at(driver, live, "#/explore?preset=custom&start=2026-01-01&end=2026-01-14&group_by=team"
                               "&measure=energy_kwh")
    head = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "#explore-table thead th")]
    energy, of_it = head.index("Energy (kWh)"), head.index("of it measured (kWh)")
    rows = explore_table(driver)
    assert [r[energy] for r in rows] == [gpu_hours(r["energy_kwh"]) for r in answer["rows"]]
    assert [r[of_it] for r in rows] == [gpu_hours(r["energy_measured_kwh"]) for r in answer["rows"]]
    assert [r[head.index("Idle cost (USD)")] for r in rows] == [usd(r["idle_cost"]) for r in answer["rows"]]
    legend = {e.text for e in driver.find_elements(By.CSS_SELECTOR, "#chart-explore .legendtext")}
    assert legend == {"Measured", "Estimated"}
    picker = Select(driver.find_element(By.CSS_SELECTOR, "#explore-form [name=measure]"))
    assert {"Energy (kWh)", "Carbon (kg CO2e)", "Idle GPU-hours", "Idle cost (USD)"} <= {
        o.text for o in picker.options}


def test_a_jobs_page_shows_its_energy_and_what_it_assumed(live: Live, driver) -> None:
    headers = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    jobs = all_jobs(live, headers)
    measured = next(j for j in jobs if j["energy"] and j["energy"]["source"] == "measured")
    assuming = next(j for j in jobs if j["energy"] and j["energy"]["defaults_used"])
    for job in (measured, assuming):
        signed_in_at(driver, live, f"#/job?id={job['job_id']}")
        energy = job["energy"]
        assert text(driver, "#energy-source") == energy["source"]
        facts = dict(zip([e.text for e in driver.find_elements(By.CSS_SELECTOR, "#job-energy dt")],
                         [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#job-energy dd")], strict=True))
        assert facts["Energy"] == f"{gpu_hours(energy['kwh'])} kWh"
        assert facts["Carbon"] == f"{gpu_hours(energy['co2e_kg'])} kg CO2e"
        assert facts["Idle cost"] == ("unknown" if energy["idle_cost"] is None else f"{usd(energy['idle_cost'])} USD")
        named = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#energy-defaults li code")]
        assert named == energy["defaults_used"]
