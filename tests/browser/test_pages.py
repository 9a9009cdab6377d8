"""What a person does in a browser: log in, read the dashboard and a story, send commands."""

import pytest
from django.contrib.auth.models import User
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from orders_read.models import OrderSummary
from orders_write.models import Customer, Order
from tests.browser.conftest import PASSWORD, log_in, wait_for, wait_for_text
from tests.conftest import make_customer, make_order, make_product, set_status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(db) -> Order:
    User.objects.create_superuser("browser", "browser@example.com", PASSWORD)
    customer = make_customer(name="Ada Lovelace")
    order = make_order(customer, [(make_product(name="Kettle", unit_price="1234.50"), 2)])
    set_status(order.id, "confirmed")
    make_order(customer, [(make_product(name="Pen"), 1)])
    return order


@pytest.fixture
def signed_in(browser, live_server, shop):
    log_in(browser, live_server.url, "browser")
    return browser


def test_the_dashboard_draws_its_charts(signed_in, live_server):
    signed_in.get(f"{live_server.url}/admin/dashboard/")

    charts = signed_in.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) == 5
    assert all(chart.size["width"] > 300 and chart.size["height"] > 40 for chart in charts)
    assert signed_in.find_elements(By.CSS_SELECTOR, "#revenue svg rect")
    assert "2,479.00 EUR" in wait_for(signed_in, "#revenue").text


def test_an_order_story_shows_its_events_and_read_rows(signed_in, live_server, shop):
    signed_in.get(f"{live_server.url}/admin/orders_read/ordersummary/")
    row = signed_in.find_element(By.LINK_TEXT, str(shop.id)[:8]).find_element(By.XPATH, "../..")
    row.find_element(By.LINK_TEXT, "story").click()

    rows = signed_in.find_elements(By.CSS_SELECTOR, "tr.story-event")
    assert [row.find_elements(By.TAG_NAME, "td")[4].text for row in rows] == [
        "OrderCreated",
        "OrderStatusUpdated\npending → confirmed",
    ]
    assert "behind the stream" not in wait_for(signed_in, "#read-rows").text
    rows[0].find_element(By.TAG_NAME, "summary").click()
    assert '"customer_name": "Ada Lovelace"' in rows[0].find_element(By.TAG_NAME, "pre").text


def test_an_admin_action_changes_an_order_status(signed_in, live_server, shop):
    signed_in.get(f"{live_server.url}/admin/orders_write/order/")
    signed_in.find_element(By.CSS_SELECTOR, f"input.action-select[value='{shop.id}']").click()
    Select(signed_in.find_element(By.NAME, "action")).select_by_value("mark_paid")
    signed_in.find_element(By.CSS_SELECTOR, "button[name=index]").click()

    assert "1 order(s) changed to paid." in wait_for(signed_in, "ul.messagelist").text
    assert OrderSummary.objects.get(order_id=shop.id).status == "paid"


def test_a_customer_is_registered_from_the_browsable_api_form(signed_in, live_server):
    signed_in.get(f"{live_server.url}/api/customers/")
    form = wait_for(signed_in, "#post-object-form")
    form.find_element(By.NAME, "name").send_keys("Grace Hopper")
    form.find_element(By.NAME, "email").send_keys("grace@example.com")
    form.find_element(By.TAG_NAME, "button").click()

    wait_for_text(signed_in, ".response-info", "HTTP 201 Created")
    assert Customer.objects.filter(email="grace@example.com").exists()


def test_an_order_is_placed_from_the_browsable_api_json_form(signed_in, live_server):
    signed_in.get(f"{live_server.url}/api/orders/")
    form = wait_for(signed_in, "#post-generic-content-form form")
    form.find_element(By.CSS_SELECTOR, "button").click()

    wait_for_text(signed_in, ".response-info", "HTTP 201 Created")
    assert Order.objects.count() == 3
