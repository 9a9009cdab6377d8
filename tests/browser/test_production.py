"""Pages are styled with DEBUG off: gunicorn serving collectstatic's files through WhiteNoise."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.request import urlopen

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.conftest import PASSWORD, log_in, wait_for, wait_for_text
from tests.load.server import GUNICORN

ROOT = Path(__file__).resolve().parents[2]
READY_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict[str, str], *args: str) -> None:
    command = [sys.executable, "manage.py", *args]
    subprocess.run(command, cwd=ROOT, env=env, check=True)  # noqa: S603 (our own command)


def _wait_until_up(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline and server.poll() is None:
        try:
            urlopen(url, timeout=5).close()  # noqa: S310 (our own server on the loopback)
            return
        except OSError:  # refused, reset or timed out while gunicorn boots
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not start")


@pytest.fixture(scope="module")
def production_server(chrome_paths, tmp_path_factory) -> Iterator[str]:
    """Start the documented production start (collectstatic, gunicorn) with DEBUG off."""
    folder = tmp_path_factory.mktemp("production")
    port = _free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "browser-test-secret-key-" + "x" * 40,
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "STATIC_ROOT": str(folder / "static"),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
    }
    _manage(env, "migrate", "-v0")
    _manage(env, "collectstatic", "--no-input", "-v0")
    _manage(env, "createsuperuser", "--no-input", "--username", "ops", "--email", "o@example.com")
    server = subprocess.Popen(  # noqa: S603 (our own command)
        [*GUNICORN, "-b", f"127.0.0.1:{port}", "-w", "1"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{url}/admin/login/", server)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def stylesheets_loaded(driver: WebDriver) -> list[int]:
    """Return the number of CSS rules of each stylesheet the page links (0: not loaded)."""
    return driver.execute_script(
        "return [...document.querySelectorAll('link[rel=stylesheet]')]"
        ".map(link => link.sheet ? link.sheet.cssRules.length : 0)"
    )


def test_the_admin_is_styled(browser, production_server):
    log_in(browser, production_server, "ops")

    assert all(stylesheets_loaded(browser))
    header = browser.find_element(By.ID, "header")
    assert header.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"
    browser.get(f"{production_server}/admin/dashboard/")
    assert browser.find_element(By.CSS_SELECTOR, "#revenue svg.chart").size["width"] > 300


def test_the_browsable_api_is_styled(browser, production_server):
    log_in(browser, production_server, "ops")
    browser.get(f"{production_server}/api/")

    assert all(stylesheets_loaded(browser))
    navbar = wait_for(browser, ".navbar")
    assert navbar.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"


def test_the_swagger_ui_renders(browser, production_server):
    log_in(browser, production_server, "ops")
    browser.get(f"{production_server}/api/docs/")

    wait_for_text(browser, ".swagger-ui .info .title", "Orders CQRS API", timeout=20)
    assert browser.find_elements(By.CSS_SELECTOR, ".opblock")
