"""`/docs` and `/redoc` render in Chromium with every host name but 127.0.0.1 unresolvable, as offline."""

from __future__ import annotations

import httpx
from selenium.webdriver.common.by import By

from tests.browser.conftest import Live
from tests.browser.pages import wait


def operations(live: Live) -> int:
    schema = httpx.get(f"{live.base}/openapi.json").json()
    return sum(1 for item in schema["paths"].values() for method in item
               if method in {"get", "post", "put", "patch", "delete"})


def fetched_outside(driver, base: str) -> list[str]:
    """Resources of another origin the page asked for and the Content-Security-Policy did not refuse (Chrome
    lists refused ones in the resource timings too, and says in the console that it refused them)."""
    names = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    refused = " ".join(e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"])
    return [n for n in names if not n.startswith(base + "/") and n not in refused]


def test_swagger_ui_renders_every_operation_offline(live: Live, driver) -> None:
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(f"{live.base}/docs")
    expected = operations(live)
    blocks = wait(driver, lambda d: (found := d.find_elements(By.CSS_SELECTOR, ".opblock")) and
                  len(found) >= expected and found)
    assert len(blocks) == expected
    assert driver.find_element(By.CSS_SELECTOR, ".info .title").text.startswith("jobcost")
    assert fetched_outside(driver, live.base) == []


def test_redoc_renders_every_operation_offline(live: Live, driver) -> None:
    driver.get_log("browser")
    driver.get(f"{live.base}/redoc")
    expected = operations(live)
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-section-id^='operation/']")) >= expected)
    assert len(driver.find_elements(By.CSS_SELECTOR, "[data-section-id^='operation/']")) == expected
    assert fetched_outside(driver, live.base) == []
