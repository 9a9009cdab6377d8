"""The read serializers show a row exactly as DRF's own model serializer would."""

import pytest
from django.contrib.auth.models import User
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory, force_authenticate

from orders_read.api import serializers as read_serializers
from orders_read.models import (
    CustomerAnalytics,
    OrderDetails,
    OrderStatusChange,
    OrderSummary,
    ProductSales,
)
from tests.conftest import make_customer, make_order, make_product, set_status

pytestmark = pytest.mark.django_db

SHOWN = [
    (read_serializers.OrderSummarySerializer, OrderSummary),
    (read_serializers.OrderDetailsSerializer, OrderDetails),
    (read_serializers.OrderStatusChangeSerializer, OrderStatusChange),
    (read_serializers.CustomerAnalyticsSerializer, CustomerAnalytics),
    (read_serializers.ProductSalesSerializer, ProductSales),
]


def drf_serializer(serializer_class: type) -> type:
    """Return `serializer_class` showing rows through DRF's own per-field machinery."""
    return type("Plain", (serializer_class,), {"to_representation": drf_representation})


def drf_representation(self, instance):
    return serializers.ModelSerializer.to_representation(self, instance)


@pytest.mark.parametrize(("serializer_class", "model"), SHOWN)
def test_a_read_row_is_shown_exactly_as_drf_shows_it(serializer_class, model):
    # given: rows with money, times, ids, JSON, and an empty last order date
    customer = make_customer()
    make_customer()
    order = make_order(customer, [(make_product(unit_price="3.10"), 3)])
    set_status(order.id, "confirmed")
    rows = list(model.objects.all())
    # A user who sees personal data: masking is the same for both (test_personal_data_masking).
    request = APIRequestFactory().get("/api/orders/")
    force_authenticate(request, User.objects.create_superuser("root", "r@example.com", "pw"))
    context = {"request": Request(request)}

    # when
    fast = serializer_class(rows, many=True, context=context).data
    plain = drf_serializer(serializer_class)(rows, many=True, context=context).data

    # then
    assert [dict(row) for row in fast] == [dict(row) for row in plain]
    assert len(rows) >= 1
