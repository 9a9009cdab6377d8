"""How values look in the admin: money, ids, times and addresses."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from config.api import display

ID = UUID("6f1c2a8e-4b1d-4c59-9a49-1f0e7f3e2d10")


def test_money_has_thousands_separators_and_the_configured_currency(settings):
    settings.CURRENCY = "USD"

    assert display.money(Decimal("1234567.5")) == "1,234,567.50\u00a0USD"
    assert display.money("0") == "0.00\u00a0USD"
    assert display.money(None) == "-"


def test_a_short_id_keeps_the_full_value_for_hover_and_copy():
    shown = display.short_id(ID, "/somewhere/")

    assert ">6f1c2a8e<" in shown
    assert f'title="{ID}"' in shown and f'data-full="{ID}"' in shown
    assert shown.startswith('<a href="/somewhere/">')


def test_times_have_one_format_whether_datetimes_or_iso_strings():
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)

    assert (
        display.when(moment) == display.when("2026-03-04T05:06:07+00:00") == "2026-03-04\u00a005:06"
    )


def test_an_address_is_one_line_of_text():
    address = {
        "line1": "1 High St",
        "line2": "",
        "city": "Leeds",
        "postal_code": "LS1",
        "country": "GB",
    }

    assert display.address(address) == "1 High St, LS1, Leeds, GB"


def test_a_badge_escapes_its_text():
    assert "&lt;b&gt;" in display.badge("<b>")
