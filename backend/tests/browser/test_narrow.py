"""The pages with server sorting, the change log and energy fit a 390 px screen: no sideways scrolling of the
page (wide tables scroll inside their own box), and the controls stay reachable."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import Live
from tests.browser.pages import wait
from tests.browser.test_jobs_explore import signed_in_at

PAGES = [
    ("#/jobs?sort=-cost", "button[data-sort=cost]"),
    ("#/job?id=sagemaker%3Allama3-8b-sft-0113", "#job-energy"),
    ("#/rates", "#changes-older"),
    ("#/explore?preset=custom&start=2026-01-01&end=2026-01-14&group_by=model&measure=energy_kwh", "#explore-table"),
]


@pytest.mark.parametrize(("fragment", "control"), PAGES, ids=[p[0].split("?")[0] for p in PAGES])
def test_the_page_fits_390_px(live: Live, driver, fragment: str, control: str) -> None:
    driver.set_window_size(390, 900)
    try:
        signed_in_at(driver, live, fragment)
        element = wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, control))
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
        assert element.is_displayed()
    finally:
        driver.set_window_size(1280, 1000)
