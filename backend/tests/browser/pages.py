"""Driving the dashboard as a person would: open it, sign in, wait for a page; and the display of a figure,
computed here independently of the page's JS (Decimal, rounded half away from zero)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 30  # seconds: a loaded 2-core machine running two databases' suites


def wait(driver: WebDriver, condition: Any, timeout: float = WAIT) -> Any:
    return WebDriverWait(driver, timeout).until(condition)


def open_dashboard(driver: WebDriver, base: str, fragment: str = "") -> None:
    """A fresh page load: whatever token the last test had is gone with the page's memory."""
    driver.get(f"{base}/{fragment}")
    driver.refresh()  # same URL but a new hash does not reload; refresh does
    wait(driver, lambda d: d.find_elements(By.ID, "sign-in-form"))


def sign_in(driver: WebDriver, email: str, password: str) -> None:
    driver.find_element(By.ID, "email").clear()
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "sign-in-button").click()


def overview(driver: WebDriver, base: str, email: str, password: str, fragment: str) -> None:
    """Open the Overview at `fragment` (e.g. `#/overview?preset=custom&start=…`) signed in, charts drawn."""
    open_dashboard(driver, base, fragment)
    sign_in(driver, email, password)
    wait(driver, lambda d: d.execute_script("return document.getElementById('main').dataset.loaded"))


def text(driver: WebDriver, css: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, css).text


def _grouped(value: Decimal, places: str) -> str:
    rounded = value.quantize(Decimal(places), rounding=ROUND_HALF_UP)
    return f"{rounded:,}"


def usd(amount: str) -> str:
    """"8274.417847" → "$8,274.42"."""
    return "$" + _grouped(Decimal(amount), "0.01")


def gpu_hours(amount: str) -> str:
    return _grouped(Decimal(amount), "0.1")


def jobs(count: int) -> str:
    return f"{count:,}"
