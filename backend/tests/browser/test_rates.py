"""The rate card in Chromium: everyone reads it; an admin prices the demo's unpriced GPU type from the Overview's
link, sees the recost's report, and the Overview changes by exactly the new rate × those GPU-hours; retiring the
rate brings the figures back."""

from __future__ import annotations

from decimal import Decimal

from selenium.webdriver.common.by import By

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, MEMBER_EMAIL, MEMBER_PASSWORD, Live
from tests.browser.pages import gpu_hours, overview, text, usd, wait
from tests.browser.test_jobs_explore import cells, signed_in_at

DEMO = "#/overview?preset=custom&start=2026-01-01&end=2026-01-15&step=day"
RATE = "1.25"


def loaded_again(driver) -> None:
    wait(driver, lambda d: d.execute_script("return document.getElementById('main').dataset.loaded") == "true")


def test_everyone_reads_the_card_in_force_and_members_cannot_edit(live: Live, driver) -> None:
    card = live.api("prices", live.token(MEMBER_EMAIL, MEMBER_PASSWORD))
    signed_in_at(driver, live, "#/rates", MEMBER_EMAIL, MEMBER_PASSWORD)
    rows = cells(driver, "rates-table")
    assert [(r[0], r[1]) for r in rows] == [(p["provider"], p["gpu_type"]) for p in card["prices"]]
    assert text(driver, "#rates-count") == f"{len(card['prices'])} of {len(card['prices'])} rates."
    assert not driver.find_elements(By.ID, "add-rate")
    assert not driver.find_elements(By.CSS_SELECTOR, "button[data-retire]")


def test_an_admin_prices_unpriced_hours_and_the_overview_changes(live: Live, driver) -> None:
    headers = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    before = live.api("analytics/cost", headers, start="2026-01-01", end="2026-01-15")["totals"]
    gpus = live.api("analytics/cost", headers, start="2026-01-01", end="2026-01-15", group_by="provider,gpu_type")
    unpriced = [r for r in gpus["rows"] if Decimal(r["unpriced_gpu_hours"])]
    assert len(unpriced) == 1  # the demo's on-prem RTX-A6000 job
    provider, gpu_type = unpriced[0]["group"]["provider"], unpriced[0]["group"]["gpu_type"]
    hours = Decimal(unpriced[0]["unpriced_gpu_hours"])

    overview(driver, live.base, ADMIN_EMAIL, ADMIN_PASSWORD, DEMO)
    driver.find_element(By.LINK_TEXT, "Price it").click()
    form = wait(driver, lambda d: d.find_element(By.ID, "add-rate"))
    assert form.find_element(By.NAME, "provider").get_attribute("value") == provider
    assert form.find_element(By.NAME, "gpu_type").get_attribute("value") == gpu_type
    form.find_element(By.NAME, "usd_per_gpu_hour").send_keys(RATE)
    driver.execute_script("arguments[0].value = '2025-01-01'", form.find_element(By.NAME, "valid_from"))
    form.find_element(By.NAME, "note").send_keys("browser test")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    wait(driver, lambda d: d.find_elements(By.ID, "recost-report"))
    report = {r[0]: r[1] for r in driver.execute_script(
        "return [...document.querySelectorAll('#recost-report tr')]"
        ".map(tr => [tr.cells[0].innerText, tr.cells[1].innerText])")}
    assert report["Their unpriced GPU-hours"] == f"{gpu_hours(str(hours))} → 0.0"
    assert report["Their cost"] == f"$0.00 → {usd(str(hours * Decimal(RATE)))}"
    row = [r for r in cells(driver, "rates-table") if r[0] == provider and r[1] == gpu_type]
    assert row and row[0][2] == "$1.25"

    after = live.api("analytics/cost", headers, start="2026-01-01", end="2026-01-15")["totals"]
    assert Decimal(after["cost"]) - Decimal(before["cost"]) == hours * Decimal(RATE)
    overview(driver, live.base, ADMIN_EMAIL, ADMIN_PASSWORD, DEMO)
    assert text(driver, '.card[data-measure="cost"] .value') == usd(after["cost"])
    assert text(driver, '.card[data-measure="unpriced_gpu_hours"] .value') == "0.0"
    assert text(driver, "#unpriced") == "Every GPU-hour in this window is priced."

    # Retire it (the other tests expect the demo as shipped): the figures come back.
    driver.get(f"{live.base}/#/rates?filter={gpu_type}")
    loaded_again(driver)
    driver.execute_script("window.confirm = () => true")
    driver.find_element(By.CSS_SELECTOR, "button[data-retire]").click()
    wait(driver, lambda d: d.find_elements(By.ID, "recost-report"))
    assert "retired" in text(driver, "#rate-result")
    assert not driver.find_elements(By.CSS_SELECTOR, "button[data-retire]")
    restored = live.api("analytics/cost", headers, start="2026-01-01", end="2026-01-15")["totals"]
    assert restored == before


def test_a_refused_rate_says_why(live: Live, driver) -> None:
    signed_in_at(driver, live, "#/rates")
    form = driver.find_element(By.ID, "add-rate")
    form.find_element(By.NAME, "provider").send_keys("aws")
    form.find_element(By.NAME, "gpu_type").send_keys("H100")
    driver.execute_script("arguments[0].value = '1.1234567'", form.find_element(By.NAME, "usd_per_gpu_hour"))
    driver.execute_script("arguments[0].value = '2025-01-01'", form.find_element(By.NAME, "valid_from"))
    driver.execute_script("arguments[0].requestSubmit ? arguments[0].noValidate = true : null", form)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    message = wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#rate-result .error").text)
    assert "usd_per_gpu_hour" in message


def _changes_page(live: Live, headers: dict[str, str], skip: int) -> dict:
    return live.api("admin/prices/changes", headers, skip=skip, limit=10)


def test_an_admin_pages_through_the_change_log(live: Live, driver) -> None:
    headers = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    first, second = _changes_page(live, headers, 0), _changes_page(live, headers, 10)
    assert first["total"] > 10  # the demo's catalog seeding alone fills more than a page: there is an Older page
    signed_in_at(driver, live, "#/rates")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#changes-table tbody tr"))

    def shown() -> list[tuple[str, str, str]]:  # who, action, and the after column's first word
        return [(r[1], r[2], r[4].split(" ")[0]) for r in cells(driver, "changes-table")]

    def first_word(row: dict | None) -> str:  # a rate shows its provider first; an alias its first field
        if row is None:
            return "—"
        if "usd_per_gpu_hour" in row:
            return row["provider"]
        key, value = next(iter(row.items()))
        return f"{key}={value}".split(" ")[0]

    def expected(page: dict) -> list[tuple[str, str, str]]:
        return [(c["actor"], c["action"], first_word(c["after"])) for c in page["changes"]]

    assert shown() == expected(first)
    def counted(d) -> str:  # read in one script: the pager is redrawn on each turn
        return d.execute_script("return document.getElementById('changes-count')?.innerText ?? ''")

    assert counted(driver) == f"1–10 of {first['total']}"
    assert not driver.find_element(By.ID, "changes-newer").is_enabled()
    driver.find_element(By.ID, "changes-older").click()
    wait(driver, lambda d: counted(d).startswith("11–"))
    assert shown() == expected(second)
    assert driver.switch_to.active_element.get_attribute("id") == "changes-older"  # keyboard focus stays put
    driver.find_element(By.ID, "changes-newer").click()
    wait(driver, lambda d: counted(d).startswith("1–"))


def test_a_member_sees_no_change_log_and_calls_no_admin_route(live: Live, driver) -> None:
    signed_in_at(driver, live, "#/rates", MEMBER_EMAIL, MEMBER_PASSWORD)
    assert not driver.find_elements(By.ID, "changes")
    called = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert any("/api/v1/prices" in url for url in called)
    assert not [url for url in called if "/api/v1/admin/" in url]
