"""Headless Chromium driven by Selenium against a live server.

Without Chromium and chromedriver these tests are skipped, so the README's test command passes
on a bare machine; with BROWSER_TESTS=required (as `.ci/run` sets) a missing browser fails them.
Every test leaves a screenshot of each page it looked at in `artifacts/screenshots/` (or
SCREENSHOT_DIR), for people to look at after a run.
"""

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOT_DIR")
    or Path(__file__).resolve().parents[2] / "artifacts/screenshots"
)
PASSWORD = "browser-pass-123"


@pytest.fixture(autouse=True)
def _fresh_dashboard_cache() -> Iterator[None]:
    """The dashboard caches its figures for a minute: start and end each test without them."""
    cache.clear()
    yield
    cache.clear()


def _found(names: tuple[str, ...]) -> str | None:
    return next((path for name in names if (path := shutil.which(name))), None)


@pytest.fixture(scope="session")
def chrome_paths() -> tuple[str, str]:
    browser, driver = _found(BROWSERS), _found(("chromedriver",))
    if browser is None or driver is None:
        message = "Chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
        if os.environ.get("BROWSER_TESTS") == "required":
            pytest.fail(message)
        pytest.skip(message)
    return browser, driver


@pytest.fixture
def browser(chrome_paths, request, tmp_path) -> Iterator[WebDriver]:
    options = Options()
    options.binary_location = chrome_paths[0]
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1400,1000")
    options.add_experimental_option("prefs", {"download.default_directory": str(tmp_path)})
    driver = webdriver.Chrome(options=options, service=Service(chrome_paths[1]))
    driver.implicitly_wait(5)
    driver.downloads = tmp_path
    yield driver
    screenshot(driver, request.node.name, "end")
    driver.quit()


def screenshot(driver: WebDriver, test: str, step: str) -> Path:
    """Save the whole page as the screenshot `step` of `test`; return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', test)}--{step}.png"
    width = driver.execute_script("return window.innerWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {
            "width": width,
            "height": min(height, 8000),
            "deviceScaleFactor": 1,
            "mobile": width < 500,
        },
    )
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return path


def wait_for(driver: WebDriver, css: str, timeout: float = 10):
    """Return the element `css` once it is visible."""
    return WebDriverWait(driver, timeout).until(
        expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css))
    )


def wait_for_text(driver: WebDriver, css: str, text: str, timeout: float = 10) -> None:
    """Wait until the element `css` shows `text` (e.g. after a form's page has loaded)."""
    WebDriverWait(driver, timeout).until(
        expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, css), text)
    )


def log_in(driver: WebDriver, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Log in through the admin's login form."""
    driver.get(f"{base_url}/admin/login/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(driver, "#user-tools")
