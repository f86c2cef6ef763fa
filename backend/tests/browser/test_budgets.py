"""The Budgets page in Chromium: a member sees its team's budget (and not another team's) with the spend of the
current period against the amount, each threshold's state, and a chart; the figures shown are the API's, formatted
here independently. The test adds a job in the current UTC month and a budget, and takes both away again."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from selenium.webdriver.common.by import By

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, MEMBER_EMAIL, MEMBER_PASSWORD, MEMBER_TEAM, Live
from tests.browser.pages import usd, wait
from tests.browser.test_jobs_explore import cells, signed_in_at


def test_a_member_sees_its_teams_budget_with_the_periods_spend(live: Live, driver) -> None:
    admin = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    now = datetime.now(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    job = {"job_id": "budget-page-1", "team": MEMBER_TEAM, "gpu_type": "H100", "gpu_count": 1, "status": "succeeded",
           "started_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "ended_at": start.replace(minute=1).strftime(
               "%Y-%m-%dT%H:%M:%SZ"), "cost": "450.00"}
    ingested = httpx.post(f"{live.base}/api/v1/admin/ingest/jobs", json={"jobs": [job]}, headers=admin)
    assert ingested.status_code == 200 and ingested.json()["created"] == 1, ingested.text
    mine = httpx.post(f"{live.base}/api/v1/admin/budgets", headers=admin, json={
        "team": MEMBER_TEAM, "amount": "600", "thresholds": [50, 80, 100], "name": "vision GPUs"}).json()
    other = httpx.post(f"{live.base}/api/v1/admin/budgets", headers=admin, json={
        "scope": "all", "amount": "100000"}).json()
    try:
        signed_in_at(driver, live, "#/budgets", MEMBER_EMAIL, MEMBER_PASSWORD)
        wait(driver, lambda d: d.execute_script(
            "return document.getElementById('budgets-chart')?.dataset.rendered") == "true")
        (row,) = cells(driver, "budgets-table")
        (budget,) = live.api("budgets", live.token(MEMBER_EMAIL, MEMBER_PASSWORD))["budgets"]
        assert budget["id"] == mine["id"] and other["id"] != mine["id"]
        # 450.00 of 600: 75 %, so 50 % reached, 80 % and 100 % not.
        assert budget["actual"] == "450.000000" and budget["actual_percent"] == "75.00"
        assert row[0] == f"Team {MEMBER_TEAM} · monthly · vision GPUs"
        assert row[2:5] == [usd("600"), usd("450"), "75.00 %"]
        states = driver.execute_script("return [...document.querySelectorAll('#budgets-table li')]"
                                       ".map(li => [li.querySelector('.pct').innerText, li.dataset.state])")
        # 50 % is reached by actual spend; 80 % and 100 % are `ok` or `crossed-forecast` as the forecast says.
        assert states == [[f"{t['percent']} %", t["state"]] for t in budget["threshold_states"]]
        assert states[0] == ["50 %", "crossed-actual"]
        assert {s for _, s in states[1:]} <= {"ok", "crossed-forecast"}
        assert not driver.find_elements(By.CSS_SELECTOR, f'tr[data-budget="{other["id"]}"]')
    finally:
        for budget_id in (mine["id"], other["id"]):
            httpx.delete(f"{live.base}/api/v1/admin/budgets/{budget_id}", headers=admin)
        httpx.delete(f"{live.base}/api/v1/admin/jobs/budget-page-1", headers=admin)
