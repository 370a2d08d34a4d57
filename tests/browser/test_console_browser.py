"""The console in a real headless browser: Debian's Chromium driven by selenium.

The browser and its driver are the machine's (``/usr/bin/chromium``,
``/usr/bin/chromedriver``; ``.ci/run`` installs them): nothing is downloaded at test
time. Without them the test FAILS in CI and is skipped loudly elsewhere. Screenshots are
kept in ``var/test-artifacts/`` for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from ledger.models import credits_to_milli
from tests.api.conftest import LiveApi, live_gateway
from tests.integration.harness import REPO
from tests.ledger.conftest import in_ci

CHROMIUM = os.environ.get("SMPPGW_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SMPPGW_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = REPO / "var" / "test-artifacts"

pytestmark = pytest.mark.slow


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """A headless Chromium; fails in CI when the machine has none."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if shutil.which(p) is None]
    if missing:
        message = f"no browser for the console test: {', '.join(missing)} not found"
        if in_ci():
            pytest.fail(f"{message}; CI=true requires the browser test", pytrace=False)
        pytest.skip(
            f"NOT TESTED IN A BROWSER: {message} (apt-get install chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1600")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveApi]:
    """A seeded gateway with its API (and console), serving from a thread."""
    with live_gateway(tmp_path) as gw:
        yield gw


def _screenshot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    assert driver.save_screenshot(str(path))
    return path


def _click_and_load(driver: WebDriver, by: str, value: str) -> None:
    """Click what submits a form or follows a link, and wait for the next page."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(by, value).click()
    WebDriverWait(driver, 10).until(expected_conditions.staleness_of(page))


def _text(driver: WebDriver, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def test_log_in_transfer_and_allow_an_address(browser: WebDriver, live: LiveApi) -> None:
    browser.get(f"{live.url}/console/")
    # Not logged in: the console sends the browser to its log-in page.
    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith("/console/login"))
    browser.find_element(By.ID, "token").send_keys("wrong")
    _click_and_load(browser, By.ID, "login")
    assert "unknown or revoked token" in _text(browser, "#error")

    browser.find_element(By.ID, "token").send_keys(live.shop_token)
    _click_and_load(browser, By.ID, "login")
    rows = browser.find_elements(By.CSS_SELECTOR, "#accounts tbody tr")
    assert [r.find_element(By.TAG_NAME, "a").text for r in rows] == ["smpp-shop", "smpp-shop2"]
    assert _text(browser, '[data-account="smpp-shop"]') == "100"

    _click_and_load(browser, By.LINK_TEXT, "smpp-shop")
    assert _text(browser, "#balance") == "100"
    browser.find_element(By.ID, "transfer-credits").send_keys("12.5")
    Select(browser.find_element(By.ID, "transfer-target")).select_by_visible_text("smpp-shop2")
    _click_and_load(browser, By.ID, "transfer-send")
    assert "12.5 credits sent to smpp-shop2" in _text(browser, "#notice")
    assert _text(browser, "#balance") == "87.5"
    first_entry = browser.find_element(By.CSS_SELECTOR, "#journal tbody tr").text
    assert "transfer_out" in first_entry and "smpp-shop2" in first_entry

    # A refusal is shown and changes nothing.
    browser.find_element(By.ID, "transfer-credits").send_keys("1000")
    _click_and_load(browser, By.ID, "transfer-send")
    assert _text(browser, "#error")
    assert _text(browser, "#balance") == "87.5"

    browser.find_element(By.ID, "ip-new").send_keys("198.51.100.0/24")
    _click_and_load(browser, By.CSS_SELECTOR, "#ip-form button")
    assert "198.51.100.0/24" in _text(browser, "#ips table")
    shot = _screenshot(browser, "console-account")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000

    # What the browser showed is what the ledger holds.
    shop = live.run(live.store.get_account("smpp-shop"))
    shop2 = live.run(live.store.get_account("smpp-shop2"))
    assert shop.balance == credits_to_milli("87.5")
    assert shop2.balance == credits_to_milli("112.5")
    assert "198.51.100.0/24" in shop.allowed_ips

    _click_and_load(browser, By.ID, "history-link")
    assert "No messages." in _text(browser, "#history")

    # The 30-day chart: the browser lays the SVG out, a bar and a dot per day; today's
    # bar stands for a message sent over HTTP just now.
    job = {"sender": "SMPPGW", "receivers": ["+33612345678"], "message": "hi"}
    headers = {"Authorization": f"Bearer {live.shop_token}"}
    sent = httpx.post(f"{live.url}/sms/smpp-shop/jobs", json=job, headers=headers, timeout=10)
    assert sent.json()["accepted"] == 1, sent.text
    browser.back()
    _click_and_load(browser, By.ID, "usage-link")
    chart = browser.find_element(By.ID, "usage-chart")
    assert chart.is_displayed()
    assert chart.size["width"] >= 700 and chart.size["height"] >= 200
    bars = browser.find_elements(By.CSS_SELECTOR, "#usage-chart rect.bar")
    assert len(bars) == 30
    assert len(browser.find_elements(By.CSS_SELECTOR, "#usage-chart circle.dot")) == 30
    assert len(browser.find_elements(By.CSS_SELECTOR, "#usage tbody tr")) == 30
    assert _text(browser, "#usage-messages") == "1"
    assert bars[-1].size["height"] > 100 and bars[0].size["height"] == 0  # today's, a month ago
    _screenshot(browser, "console-usage")
    _click_and_load(browser, By.CSS_SELECTOR, "header button")
    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith("/console/login"))
    browser.get(f"{live.url}/console/accounts/smpp-shop")
    assert browser.current_url.endswith("/console/login")


def test_buy_a_package_and_see_the_tables_change(browser: WebDriver, live: LiveApi) -> None:
    browser.get(f"{live.url}/console/login")
    browser.find_element(By.ID, "token").send_keys(live.shop_token)
    _click_and_load(browser, By.ID, "login")
    _click_and_load(browser, By.LINK_TEXT, "smpp-shop")
    _click_and_load(browser, By.ID, "packages-link")
    assert _text(browser, "#no-package") == "No package bought."
    assert _text(browser, "#remaining-general") == "0"

    Select(browser.find_element(By.ID, "package-category")).select_by_visible_text("general")
    quantity = browser.find_element(By.ID, "package-quantity")
    quantity.clear()
    quantity.send_keys("300")
    browser.find_element(By.ID, "package-name").send_keys("spring")
    _click_and_load(browser, By.ID, "package-buy")
    assert "300 general messages" in _text(browser, "#notice")
    assert _text(browser, "#remaining-general") == "300"
    [row] = browser.find_elements(By.CSS_SELECTOR, "#packages tbody tr")
    cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
    assert cells[0].startswith("PKG") and cells[1:5] == ["spring", "general", "300", "300"]
    assert cells[7] == "valid"

    # A refusal is shown on the page and buys nothing.
    quantity = browser.find_element(By.ID, "package-quantity")
    quantity.clear()
    quantity.send_keys("150")
    _click_and_load(browser, By.ID, "package-buy")
    assert "units of 100" in _text(browser, "#error")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#packages tbody tr")) == 1

    # A message sent now draws on the package: the page shows one message less.
    job = {"sender": "SMPPGW", "receivers": ["+33612345678"], "message": "hi"}
    headers = {"Authorization": f"Bearer {live.shop_token}"}
    sent = httpx.post(f"{live.url}/sms/smpp-shop/jobs", json=job, headers=headers, timeout=10)
    assert sent.json()["accepted"] == 1, sent.text
    browser.refresh()
    assert _text(browser, "#remaining-general") == "299"
    assert [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#packages td")][4] == "299"
    _screenshot(browser, "console-packages")
    # What the browser showed is what the ledger holds; the credits did not move.
    [package] = live.run(live.store.packages("smpp-shop"))
    assert (package.name, package.remaining) == ("spring", 299_000)
    assert live.run(live.store.get_account("smpp-shop")).balance == credits_to_milli("100")
