"""The README's screenshots of the pages this helper changed, taken from the demo data in headless Chromium.

Skipped unless `JOBCOST_SCREENSHOTS` names a directory (the README's are `docs/screenshots/`):

    JOBCOST_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest backend/tests/browser/test_screenshots.py \
        -k sqlite -p no:cacheprovider
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Live
from tests.browser.pages import wait
from tests.browser.test_jobs_explore import signed_in_at

TARGET = os.environ.get("JOBCOST_SCREENSHOTS")
pytestmark = pytest.mark.skipif(not TARGET, reason="screenshots only on request (JOBCOST_SCREENSHOTS=dir)")

PAGES = [
    ("jobs.png", "#/jobs?team=NLP%20Research&sort=-cost", "#jobs-table tbody tr"),
    ("job.png", "#/job?id=sagemaker%3Allama3-8b-sft-0113", "#chart-job .trace.bars .point"),
    ("rate-card.png", "#/rates?filter=H100", "#changes-table tbody tr"),
    ("explore-energy.png", "#/explore?preset=custom&start=2026-01-01&end=2026-01-14&group_by=team"
                           "&measure=co2e_kg", "#chart-explore .trace.bars .point"),
]


@pytest.mark.parametrize(("name", "fragment", "ready"), PAGES, ids=[p[0] for p in PAGES])
def test_take(live: Live, driver, name: str, fragment: str, ready: str) -> None:
    signed_in_at(driver, live, fragment, ADMIN_EMAIL, ADMIN_PASSWORD)
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ready))
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(height, 800), 2400))
    try:
        driver.find_element(By.TAG_NAME, "body").screenshot(str(Path(TARGET) / name))
    finally:
        driver.set_window_size(1280, 1000)
