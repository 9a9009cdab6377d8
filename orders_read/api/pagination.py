"""Keyset pages of the order list, whose cursors carry the filters they were made with."""

from base64 import b64decode, b64encode
from binascii import Error as Base64Error
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib import parse

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from rest_framework import pagination, serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

FILTERS_TOKEN = "f"  # noqa: S105 (a cursor token, not a password)


class OrderPagination(pagination.CursorPagination):
    """Keyset pages: as fast deep in the list as at its start, and no COUNT over the table."""

    page_size = 10
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-order_date", "-order_id")

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list[Any] | None:
        self.filters = parse.urlencode(sent_filters(request, filter_names(view)), doseq=True)
        self.queryset_model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request: Request) -> int:
        """Return the asked page size; one that is not a whole number from 1 to 100 is a 400."""
        value = request.query_params.get(self.page_size_query_param)
        if value in (None, ""):
            return self.page_size
        field = serializers.IntegerField(min_value=1, max_value=self.max_page_size)
        try:
            return field.run_validation(value)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({self.page_size_query_param: error.detail}) from None

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] |= {"minimum": 1, "maximum": self.max_page_size}
                parameter["description"] = "Results per page (default 10)."
        return parameters

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        """Decode the cursor; one whose position the ordering column cannot hold is a 404, as
        an undecodable one is (a position is compared to that column)."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            field = self.queryset_model._meta.get_field(self.ordering[0].lstrip("-"))
            if not valid_position(field, cursor.position):
                raise NotFound(self.invalid_cursor_message)
        return cursor

    def encode_cursor(self, cursor: pagination.Cursor) -> str:
        tokens = {"o": cursor.offset or None, "r": "1" if cursor.reverse else None}
        tokens |= {"p": cursor.position, FILTERS_TOKEN: self.filters or None}
        querystring = parse.urlencode({k: v for k, v in tokens.items() if v is not None})
        encoded = b64encode(querystring.encode("ascii")).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)


def valid_position(field: Any, position: str) -> bool:
    """Tell whether a cursor position is a value of the model field it is compared to, written
    as this API writes positions."""
    try:
        value = field.formfield().clean(position)
        if isinstance(value, datetime):
            value.astimezone(UTC)  # an offset can push it past the years a datetime holds
    except (ValidationError, OverflowError):
        return False
    return str(value) == position


def filter_names(view: Any) -> list[str]:
    """Return the query parameters that choose and order a view's rows."""
    return [*view.filterset_class.base_filters, "ordering"]


def sent_filters(request: Request, names: Iterable[str]) -> dict[str, list[str]]:
    """Return the filters a request sends (an empty value counts as not sent)."""
    params = request.query_params
    return {name: values for name in names if (values := [v for v in params.getlist(name) if v])}


def apply_cursor_filters(request: Request, names: list[str]) -> None:
    """Give a request that sends a cursor alone the filters the cursor was made with, and refuse
    a cursor sent with other filters than those."""
    cursor = request.query_params.get("cursor")
    if not cursor:
        return
    made_with = cursor_filters(cursor)
    sent = sent_filters(request, names)
    if made_with is None:
        return  # not one of our cursors: the paginator answers 404
    if not sent and made_with:
        params = request.query_params.copy()
        for name, values in made_with.items():
            params.setlist(name, values)
        request._request.GET = params
    elif sent != made_with:
        made = parse.urlencode(made_with, doseq=True) or "no filters"
        raise serializers.ValidationError(
            {
                "cursor": [
                    f"This cursor was made with other filters ({made}): send it alone, "
                    "or with exactly those, as the next and previous links do."
                ]
            }
        )


def cursor_filters(cursor: str) -> dict[str, list[str]] | None:
    """Return the filters a cursor carries, or None if it is not a cursor this API made."""
    try:
        querystring = b64decode(cursor.encode("ascii")).decode("ascii")
    except (UnicodeError, Base64Error):
        return None
    tokens = parse.parse_qs(querystring, keep_blank_values=True)
    if not set(tokens) & {"o", "r", "p", FILTERS_TOKEN}:
        return None
    return dict(parse.parse_qs(tokens.get(FILTERS_TOKEN, [""])[0]))
