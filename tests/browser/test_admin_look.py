"""What a person sees all day: readable charts in dark mode, pages that fit a phone, change
lists that fit a laptop, a CSV export, and browsable API forms that help."""

import csv
import time

import pytest
from django.contrib.auth.models import User
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from orders_write.models import Order
from tests.browser.conftest import PASSWORD, log_in, screenshot, wait_for, wait_for_text
from tests.conftest import make_customer, make_order, make_product

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_WIDTH = 390
READ_LISTS = ["ordersummary", "orderdetails", "orderstatuschange", "customeranalytics"]

# The contrast ratio (WCAG) of each chart text against the background it is drawn on.
CONTRASTS = """
const rgb = c => c.match(/[\\d.]+/g).slice(0, 4).map(Number);
const lum = ([r, g, b]) => [r, g, b].map(v => v / 255)
  .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
  .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
const background = el => {
  for (; el; el = el.parentElement) {
    const c = rgb(getComputedStyle(el).backgroundColor);
    if (c.length < 4 || c[3] > 0) return c;
  }
  return [255, 255, 255];
};
return [...document.querySelectorAll('svg.chart text')].map(t => {
  const [a, b] = [lum(rgb(getComputedStyle(t).fill)), lum(background(t.parentElement))];
  return [t.textContent, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
          parseFloat(getComputedStyle(t).fontSize)];
});
"""


@pytest.fixture
def order(db) -> Order:
    User.objects.create_superuser("browser", "browser@example.com", PASSWORD)
    customer = make_customer(name="Ada Lovelace", email="ada@example.com")
    return make_order(customer, [(make_product(name="Kettle", unit_price="1234.50"), 2)])


@pytest.fixture
def signed_in(browser, live_server, order) -> WebDriver:
    log_in(browser, live_server.url, "browser")
    return browser


def test_chart_text_is_readable_in_dark_mode(signed_in, live_server, request):
    signed_in.get(f"{live_server.url}/admin/dashboard/")
    signed_in.execute_script("localStorage.setItem('theme', 'dark')")
    signed_in.get(f"{live_server.url}/admin/dashboard/")

    texts = signed_in.execute_script(CONTRASTS)
    screenshot(signed_in, request.node.name, "dark")
    assert len(texts) > 20
    assert [t for t in texts if t[1] < 3] == []
    assert min(size for _, _, size in texts) >= 11


def test_charts_stay_inside_their_panels(signed_in, live_server):
    signed_in.get(f"{live_server.url}/admin/dashboard/")

    overflows = signed_in.execute_script(
        "return [...document.querySelectorAll('.dashboard-grid .module')].map(m => "
        "[m.id, m.scrollWidth - m.clientWidth])"
    )
    assert [name for name, extra in overflows if extra > 0] == []


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("dashboard", "/admin/dashboard/"),
        ("index", "/admin/"),
        ("change-list", "/admin/orders_read/ordersummary/"),
    ],
)
def test_no_page_is_wider_than_a_phone(signed_in, live_server, request, name, path):
    signed_in.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE_WIDTH, "height": 844, "deviceScaleFactor": 1, "mobile": True},
    )
    signed_in.get(live_server.url + path)

    width = signed_in.execute_script("return document.documentElement.scrollWidth")
    screenshot(signed_in, request.node.name, "phone")
    assert width <= PHONE_WIDTH


@pytest.mark.parametrize("model", READ_LISTS)
def test_no_change_list_column_is_hidden_on_a_laptop(signed_in, live_server, request, model):
    signed_in.get(f"{live_server.url}/admin/orders_read/{model}/")

    results = wait_for(signed_in, ".results")
    hidden = signed_in.execute_script(
        "return arguments[0].scrollWidth - arguments[0].clientWidth", results
    )
    screenshot(signed_in, request.node.name, "laptop")
    assert hidden <= 0


def test_a_change_list_downloads_as_csv(signed_in, live_server, order):
    signed_in.get(f"{live_server.url}/admin/orders_read/ordersummary/?q=Ada")
    signed_in.find_element(By.CSS_SELECTOR, "a.export-csv").click()

    rows = _downloaded_csv(signed_in)
    assert rows[0][:3] == ["order_id", "customer_id", "customer_name"]
    assert [(row[0], row[2]) for row in rows[1:]] == [(str(order.id), "Ada Lovelace")]


def test_the_status_form_offers_a_pending_orders_next_statuses(signed_in, live_server, order):
    signed_in.get(f"{live_server.url}/api/orders/{order.id}/status/")

    form = wait_for(signed_in, "#post-object-form")
    options = [
        o.get_attribute("value") for o in form.find_elements(By.CSS_SELECTOR, "select option")
    ]
    assert options == ["confirmed", "cancelled"]
    assert form.find_element(By.NAME, "expected_version").get_attribute("value") == "1"
    assert "Now pending (version 1)" in form.text


def test_a_form_error_shows_beside_its_field_and_keeps_the_input(signed_in, live_server):
    signed_in.get(f"{live_server.url}/api/customers/")
    form = wait_for(signed_in, "#post-object-form")
    form.find_element(By.NAME, "name").send_keys("Ada Again")
    form.find_element(By.NAME, "email").send_keys("ada@example.com")
    form.find_element(By.TAG_NAME, "button").click()

    wait_for_text(signed_in, ".response-info", "HTTP 400 Bad Request")
    form = wait_for(signed_in, "#post-object-form")
    email = form.find_element(By.NAME, "email")
    assert email.get_attribute("value") == "ada@example.com"
    assert form.find_element(By.NAME, "name").get_attribute("value") == "Ada Again"
    group = email.find_element(By.XPATH, "ancestor::div[contains(@class, 'form-group')]")
    assert "has-error" in group.get_attribute("class")
    assert "already" in group.text.lower()


def _downloaded_csv(driver: WebDriver, timeout: float = 10) -> list[list[str]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = [f for f in driver.downloads.glob("*.csv")]
        if files:
            with files[0].open(encoding="utf-8-sig", newline="") as handle:
                return list(csv.reader(handle))
        time.sleep(0.2)
    raise AssertionError("no CSV was downloaded")
