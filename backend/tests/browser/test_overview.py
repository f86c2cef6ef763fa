"""The Overview in Chromium, against the API's own answers for the demo data (1–14 January 2026)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, MEMBER_EMAIL, MEMBER_PASSWORD, MEMBER_TEAM, Live
from tests.browser.pages import gpu_hours, jobs, open_dashboard, overview, sign_in, text, usd, wait

START, END = "2026-01-01", "2026-01-15"
DEMO = f"#/overview?preset=custom&start={START}&end={END}&step=day"
TEAMS = {"NLP Research", "Computer Vision", "ML Platform"}
CARDS = {"cost": usd, "gpu_hours": gpu_hours, "unpriced_gpu_hours": gpu_hours, "wasted_cost": usd,
         "job_count": jobs}


def card_values(driver) -> dict[str, str]:
    return {key: text(driver, f'.card[data-measure="{key}"] .value') for key in CARDS}


def legend(driver, chart: str) -> set[str]:
    return {e.text for e in driver.find_elements(By.CSS_SELECTOR, f"#{chart} .legend .traces .legendtext")}


def test_a_bad_password_says_so_and_the_right_one_signs_in(live: Live, driver) -> None:
    open_dashboard(driver, live.base)
    sign_in(driver, ADMIN_EMAIL, "not-the-password")
    message = wait(driver, lambda d: d.find_element(By.ID, "sign-in-error").text)
    assert message == "Wrong e-mail or password (or the account is deactivated). Try again."
    assert driver.find_element(By.ID, "password").get_attribute("value") == ""
    assert not driver.find_element(By.ID, "top").is_displayed()

    sign_in(driver, ADMIN_EMAIL, ADMIN_PASSWORD)
    wait(driver, lambda d: d.find_elements(By.ID, "window-form"))
    assert text(driver, "#who .email") == ADMIN_EMAIL
    assert "admin" in text(driver, "#who .role")
    # The token is nowhere a script of another page could read it.
    assert driver.execute_script("return [localStorage.length, sessionStorage.length, document.cookie]") == [0, 0, ""]


def test_the_totals_are_the_apis_to_the_cent_with_the_previous_window(live: Live, driver) -> None:
    headers = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    totals = live.api("analytics/cost", headers, start=START, end=END)["totals"]
    previous = live.api("analytics/cost", headers, start="2025-12-17", end="2025-12-31")["totals"]
    assert totals["job_count"] > 0 and previous["job_count"] == 0  # the demo has nothing before 2026

    overview(driver, live.base, ADMIN_EMAIL, ADMIN_PASSWORD, DEMO)

    assert card_values(driver) == {key: show(totals[key]) for key, show in CARDS.items()}
    assert text(driver, '.card[data-measure="cost"] .change') == "new: none in the previous 15 days"
    assert text(driver, "#window-text").startswith("1 Jan 2026 – 15 Jan 2026 (UTC, 15 days), compared with 17 Dec")


def test_the_change_is_against_the_previous_window_of_the_same_length(live: Live, driver) -> None:
    headers = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    now = live.api("analytics/cost", headers, start="2026-01-08", end="2026-01-14")["totals"]
    before = live.api("analytics/cost", headers, start="2026-01-01", end="2026-01-07")["totals"]

    overview(driver, live.base, ADMIN_EMAIL, ADMIN_PASSWORD,
             "#/overview?preset=custom&start=2026-01-08&end=2026-01-14")

    from decimal import Decimal
    change = (Decimal(now["cost"]) - Decimal(before["cost"])) / Decimal(before["cost"]) * 100
    arrow = "▲" if change > 0 else "▼"
    expected = f"{arrow} {abs(change):.1f} % vs {usd(before['cost'])} in the previous 7 days"
    assert text(driver, '.card[data-measure="cost"] .change') == expected


def test_the_charts_have_marks_legends_and_axis_titles(live: Live, driver) -> None:
    headers = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    by_day = live.api("analytics/cost", headers, start=START, end=END, group_by="team", step="day")["rows"]
    models = live.api("analytics/cost", headers, start=START, end=END, group_by="model", limit=8)["rows"]

    overview(driver, live.base, ADMIN_EMAIL, ADMIN_PASSWORD, DEMO)

    bars = driver.find_elements(By.CSS_SELECTOR, "#chart-spend .trace.bars .point path")
    drawn = [b for b in bars if b.get_attribute("d") not in (None, "", "M0,0Z")]
    assert len(drawn) >= len([r for r in by_day if r["cost"] != "0.000000"]) > 0
    assert legend(driver, "chart-spend") == TEAMS
    titles = {e.text for e in driver.find_elements(By.CSS_SELECTOR, "#chart-spend .g-xtitle, #chart-spend .g-ytitle")}
    assert titles == {"UTC day", "Cost (USD)"}
    model_bars = driver.find_elements(By.CSS_SELECTOR, "#chart-models .trace.bars .point")
    assert len(model_bars) == len(models)
    labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#chart-models .bartext")]
    assert sorted(labels) == sorted(usd(r["cost"]) for r in models)
    assert driver.find_element(By.ID, "chart-spend").get_attribute("role") == "img"


def test_unpriced_gpu_hours_are_listed_by_provider_and_gpu_type(live: Live, driver) -> None:
    headers = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    rows = live.api("analytics/cost", headers, start=START, end=END, group_by="provider,gpu_type")["rows"]
    expected = sorted(
        [r["group"]["provider"], r["group"]["gpu_type"], gpu_hours(r["unpriced_gpu_hours"]), gpu_hours(r["gpu_hours"])]
        for r in rows if r["unpriced_gpu_hours"] != "0.000000")
    assert expected  # the demo has unpriced GPU time

    overview(driver, live.base, ADMIN_EMAIL, ADMIN_PASSWORD, DEMO)

    shown = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")][:4]
             for tr in driver.find_elements(By.CSS_SELECTOR, "#unpriced-table tbody tr")]
    assert sorted(shown) == expected


def test_a_member_sees_only_their_team(live: Live, driver) -> None:
    member = live.token(MEMBER_EMAIL, MEMBER_PASSWORD)
    totals = live.api("analytics/cost", member, start=START, end=END)["totals"]
    everyone = live.api("analytics/cost", live.token(ADMIN_EMAIL, ADMIN_PASSWORD), start=START, end=END)["totals"]
    assert totals["cost"] != everyone["cost"]

    overview(driver, live.base, MEMBER_EMAIL, MEMBER_PASSWORD, DEMO)

    assert "member · " + MEMBER_TEAM in text(driver, "#who .role")
    assert card_values(driver) == {key: show(totals[key]) for key, show in CARDS.items()}
    assert legend(driver, "chart-spend") == {MEMBER_TEAM}
    waste = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#chart-waste .ytick text")]
    assert set(waste) <= {MEMBER_TEAM}


def test_an_empty_window_says_so_and_offers_the_latest_month(live: Live, driver) -> None:
    overview(driver, live.base, ADMIN_EMAIL, ADMIN_PASSWORD,
             "#/overview?preset=custom&start=2025-06-01&end=2025-06-30")
    notice = text(driver, "#empty")
    assert "Nothing ran between 1 Jun 2025 and 30 Jun 2025" in notice
    assert "The latest usage is in January 2026." in notice
    assert card_values(driver)["cost"] == "$0.00"

    driver.find_element(By.ID, "jump-latest").click()
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, '.card[data-measure="cost"] .value').text
         not in ("$0.00", "…"))
    headers = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    january = live.api("analytics/cost", headers, start="2026-01-01", end="2026-01-31")["totals"]
    wait(driver, lambda d: card_values(d)["cost"] == usd(january["cost"]))


@pytest.mark.parametrize("width", [390, 1280])
def test_the_overview_fits_the_screen(live: Live, driver, width: int) -> None:
    driver.set_window_size(width, 900)
    try:
        overview(driver, live.base, ADMIN_EMAIL, ADMIN_PASSWORD, DEMO)
        scroll = driver.execute_script("return document.documentElement.scrollWidth")
        assert scroll <= width  # no sideways scrolling of the page (wide tables scroll inside their box)
    finally:
        driver.set_window_size(1280, 1000)


def test_the_month_forecast_is_the_apis(live: Live, driver) -> None:
    # The window ends on 15 January 2026: the forecast of January as of that day, as the API gives it.
    headers = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    forecast = live.api("analytics/forecast", headers, period="month", as_of=END)
    assert forecast["actual_to_date"] != "0.000000"

    overview(driver, live.base, ADMIN_EMAIL, ADMIN_PASSWORD, DEMO)
    wait(driver, lambda d: d.find_element(By.ID, "forecast").get_attribute("data-ready"))
    assert text(driver, "#forecast-actual") == usd(forecast["actual_to_date"])
    assert text(driver, "#forecast-expected") == usd(forecast["expected_total"])
    assert text(driver, "#forecast-low") == usd(forecast["interval_low"])
    assert text(driver, "#forecast-high") == usd(forecast["interval_high"])
    assert text(driver, "#forecast-method") == forecast["method"]
    assert text(driver, "#forecast").startswith("January 2026: ")


def test_energy_carbon_and_idle_cost_by_team_and_model_are_the_apis(live: Live, driver) -> None:
    from tests.browser.test_jobs_explore import cells

    headers = live.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    window = {"start": "2026-01-01", "end": END}
    teams = live.api("analytics/cost", headers, **window, group_by="team")
    models = live.api("analytics/cost", headers, **window, group_by="model", limit=8)
    totals = teams["totals"]
    assert 0 < Decimal(totals["energy_measured_kwh"]) < Decimal(totals["energy_kwh"])  # both kinds in the demo

    def figures(row: dict) -> list[str]:
        return [gpu_hours(row["energy_kwh"]), gpu_hours(row["energy_measured_kwh"]), gpu_hours(row["co2e_kg"]),
                gpu_hours(row["co2e_measured_kg"]), gpu_hours(row["idle_gpu_hours"]), usd(row["idle_cost"])]

    overview(driver, live.base, ADMIN_EMAIL, ADMIN_PASSWORD, DEMO)
    assert cells(driver, "energy-teams") == [[r["group"]["team"], *figures(r)] for r in teams["rows"]]
    assert cells(driver, "energy-models") == [
        ["Other models" if r["other"] else r["group"]["model"] or "(no model)", *figures(r)] for r in models["rows"]]
    footer = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "#energy-teams tfoot td")]
    assert footer == figures(totals)
    assert "measure=co2e_kg" in driver.find_element(By.ID, "energy-explore").get_attribute("href")
