"""The session's end, the keyboard, and the page's display of figures (its own module, run in Chromium)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Live
from tests.browser.pages import open_dashboard, sign_in, usd, wait
from tests.cli.helpers import invoke


def test_a_refused_token_ends_the_session_with_a_message(live: Live, driver) -> None:
    # A user whose account is deactivated while signed in: its token is refused (401) from the next request on,
    # which the page meets exactly as an expired token.
    email, password = f"leaving-{live.backend}@example.com", "leaving-password-1"
    url = live.database_url
    assert invoke("users", "create", "--email", email, "--password", password, "--role", "admin",
                  "--database-url", url).exit_code == 0
    open_dashboard(driver, live.base, "#/overview?preset=custom&start=2026-01-01&end=2026-01-15")
    sign_in(driver, email, password)
    wait(driver, lambda d: d.execute_script("return document.getElementById('main').dataset.loaded"))
    assert invoke("users", "deactivate", "--email", email, "--database-url", url).exit_code == 0

    driver.find_element(By.LINK_TEXT, "Jobs").click()
    message = wait(driver, lambda d: d.find_elements(By.ID, "session-message") and
                   d.find_element(By.ID, "session-message").text)
    assert message == "Your session has expired. Sign in again to go on where you were."
    assert driver.find_element(By.ID, "sign-in-form").is_displayed()
    assert not driver.find_element(By.ID, "top").is_displayed()


def test_the_dashboard_is_used_with_the_keyboard_alone(live: Live, driver) -> None:
    open_dashboard(driver, live.base, "#/jobs")
    active = driver.switch_to.active_element
    assert active.get_attribute("id") == "email"  # the form takes the focus on arrival
    active.send_keys(ADMIN_EMAIL, Keys.TAB)
    driver.switch_to.active_element.send_keys(ADMIN_PASSWORD, Keys.ENTER)
    wait(driver, lambda d: d.execute_script("return document.getElementById('main').dataset.loaded"))

    # From the first stop of the page (the skip link): the brand, then the pages in order, then signing out.
    driver.execute_script("document.querySelector('.skip').focus()")
    seen = [driver.switch_to.active_element.text.strip()]
    for _ in range(7):
        driver.switch_to.active_element.send_keys(Keys.TAB)
        seen.append(driver.switch_to.active_element.text.strip())
    assert seen[:6] == ["Skip to content", "jobcost", "Overview", "Explore", "Jobs", "Rate card"]
    assert "Sign out" in seen
    # A sortable column is a button: Enter sorts (the API sorts; the table is drawn again), and the focus
    # stays on that header so the next Enter flips it.
    driver.execute_script("document.getElementById('main').dataset.loaded = ''")
    driver.find_element(By.CSS_SELECTOR, "button[data-sort=gpu_hours]").send_keys(Keys.ENTER)
    wait(driver, lambda d: d.execute_script("return document.getElementById('main').dataset.loaded") == "true")
    assert driver.find_element(By.CSS_SELECTOR, "button[data-sort=gpu_hours]").find_element(
        By.XPATH, "..").get_attribute("aria-sort") == "descending"  # a new column starts from its largest
    assert driver.switch_to.active_element.get_attribute("data-sort") == "gpu_hours"
    driver.execute_script("document.getElementById('main').dataset.loaded = ''")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait(driver, lambda d: d.execute_script("return document.getElementById('main').dataset.loaded") == "true")
    assert driver.find_element(By.CSS_SELECTOR, "button[data-sort=gpu_hours]").find_element(
        By.XPATH, "..").get_attribute("aria-sort") == "ascending"
    assert "sort=gpu_hours" in driver.current_url


@pytest.mark.parametrize("amount", ["0.000000", "0.004999", "0.005000", "1.005000", "999.994999", "999.995000",
                                    "1234567.890123", "-2.345000", "-0.004000", "12"])
def test_money_is_rounded_as_a_decimal_with_separators(live: Live, driver, amount: str) -> None:
    driver.get(f"{live.base}/")
    shown = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('./assets/app/js/format.js').then(f => done(f.money(arguments[0])));", amount)
    expected = usd(str(abs(Decimal(amount))))
    if Decimal(amount) < 0 and expected != "$0.00":  # a minus sign before the currency; none on a rounded zero
        expected = "−" + expected
    assert shown == expected


def test_the_change_against_the_previous_window(live: Live, driver) -> None:
    driver.get(f"{live.base}/")
    cases = [("150", "100"), ("50", "100"), ("100", "100"), ("5", "0"), ("0", "0"), ("100.000001", "100")]
    shown = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('./assets/app/js/format.js').then(f => done(arguments[0].map(([a, b]) => f.change(a, b).text)));",
        cases)
    assert shown == ["▲ 50.0 %", "▼ 50.0 %", "no change", "new", "no change", "no change"]
