"""The demo page in a real browser (headless Debian Chromium through selenium): a sample engineer
presses Verified, asks /rc status, declares the candidate non-viable in the modal and moves the
clock, each time seeing the page change without a reload."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.demo_process import ROOT, DemoProcess

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "artifacts"
CHECKOUT = "C01CHECKOUT"


def minutes_shown(browser) -> int:
    """The demo clock's time of day for the chosen person, in minutes since midnight."""
    hours, minutes = re.search(r"(\d\d):(\d\d)", browser.find_element(By.ID, "clock").text).groups()
    return int(hours) * 60 + int(minutes)


@pytest.fixture
def browser():
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{' and '.join(missing)} missing: install them with `apt-get install -y chromium chromium-driver` (.ci/run does)")
    profile = tempfile.mkdtemp(prefix="releasebot-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,900", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # the driver's path is given, so selenium-manager has nothing to look up or download
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def demo():
    process = DemoProcess()
    yield process
    process.terminate()


def test_a_sample_engineer_verifies_asks_for_status_declares_non_viable_and_moves_the_clock(demo, browser, tmp_path):
    # the page re-renders a conversation whenever it changes, so a found element may go stale
    wait = WebDriverWait(browser, 20, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,))

    def click(css: str) -> None:
        wait.until(lambda b: b.find_element(By.CSS_SELECTOR, css).click() or True)

    browser.get(demo.url)
    wait.until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    Select(browser.find_element(By.ID, "person")).select_by_value("U01ANA")
    click(f'#channels a[data-channel="{CHECKOUT}"]')

    click("#cut")
    verify = f'#messages .message:not(.ephemeral) button[data-action-id="rc_verify"]'
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, verify))
    ts = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "#messages .message:not(.ephemeral)").get_attribute("data-ts"))

    def candidate_text(b) -> str:
        return b.find_element(By.CSS_SELECTOR, f'#messages .message[data-ts="{ts}"]').text

    first = wait.until(candidate_text)
    assert "Checkout" in first and "Verifying" in first and "(edited)" not in first
    click(verify)
    wait.until(lambda b: "(edited)" in candidate_text(b))
    wait.until(lambda b: any("your sign-off" in e.text for e in b.find_elements(By.CSS_SELECTOR, ".message.ephemeral")))

    box = browser.find_element(By.ID, "command")
    box.send_keys("/rc status", Keys.ENTER)
    wait.until(lambda b: any("Verified: @ana" in e.text and "Only visible to you" in e.text
                             for e in b.find_elements(By.CSS_SELECTOR, ".message.ephemeral")))

    click(f'#messages .message[data-ts="{ts}"] button[data-action-id="rc_nonviable"]')
    wait.until(lambda b: b.find_element(By.ID, "modal-backdrop").is_displayed())
    assert browser.find_element(By.ID, "modal-title").text == "Non-viable candidate"
    reason, next_steps = browser.find_elements(By.CSS_SELECTOR, "#modal-blocks textarea")
    reason.send_keys("Card payments fail on staging")
    next_steps.send_keys("Revert the Stripe bump; tomorrow's cut")
    browser.save_screenshot(str(tmp_path / "modal.png"))
    click("#modal-submit")
    wait.until(lambda b: not b.find_element(By.ID, "modal-backdrop").is_displayed())
    wait.until(lambda b: "Not viable" in candidate_text(b) and "Card payments fail on staging" in candidate_text(b))
    for action in ("rc_verify", "rc_nonviable"):  # "All changes" stays; the buttons that act go
        assert not browser.find_elements(By.CSS_SELECTOR, f'#messages .message[data-ts="{ts}"] button[data-action-id="{action}"]')

    before = minutes_shown(browser)
    click("#clock-1h")
    wait.until(lambda b: 60 <= minutes_shown(b) - before <= 62)  # the demo's clock also runs on by itself
    wait.until(lambda b: "the clock moved forward 1h" in b.find_element(By.ID, "notes").text)

    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "demo-browser.png"))
    browser.save_screenshot(str(tmp_path / "demo-browser.png"))
