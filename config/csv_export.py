"""CSV downloads from the admin: streamed row by row, with cells a spreadsheet shows as text.

A change list's export writes the rows it shows (filtered, searched, sorted) or the ones
selected, reading them with `.iterator()` in chunks, so a large export never sits in memory.
"""

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode

from config.api.privacy import MASKS, may_see_personal_data

CHUNK_ROWS = 2000
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """Write one value as a CSV cell: money with 2 decimals, times in ISO 8601, text inert."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return (
            timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
        )
    if isinstance(value, date | UUID | int | float | bool):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    text = value if isinstance(value, str) else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def masked_rows(fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[list[Any]]:
    """Yield each row with its e-mail and postal address columns masked."""
    masks = [MASKS.get(field) for field in fields]
    for row in rows:
        yield [mask(value) if mask else value for mask, value in zip(masks, row, strict=True)]


class _Echo:
    """A file-like object whose `write` returns the line csv.writer hands it."""

    def write(self, line: str) -> str:
        return line


def csv_lines(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Yield the CSV lines of `header` and then of each row, one at a time."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)  # the BOM makes spreadsheets read UTF-8
    for row in rows:
        yield writer.writerow([cell(value) for value in row])


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Iterable[Any]]
) -> StreamingHttpResponse:
    """Stream `rows` under `header` as a CSV download named `filename`."""
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class CsvExportAdmin(admin.ModelAdmin):
    """Add a CSV download of the change list (as filtered) and an action for selected rows.

    `export_fields` names the model's fields to write, in order (default: every concrete one).
    """

    export_fields: Sequence[str] = ()
    change_list_template = "admin/csv_change_list.html"
    actions = ["export_csv"]

    def get_urls(self) -> list:
        name = f"{self.opts.app_label}_{self.opts.model_name}_export"
        export = path("export.csv", self.admin_site.admin_view(self.export_view), name=name)
        return [export, *super().get_urls()]

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """Stream the rows the change list shows for the same query string, every page."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("These filters cannot be applied.")
        return self.export(request, changelist.queryset)

    @admin.action(description="Export the selected rows as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> StreamingHttpResponse:
        return self.export(request, queryset)

    def export(self, request: HttpRequest, queryset: QuerySet) -> StreamingHttpResponse:
        fields = list(self.export_fields) or [f.attname for f in self.opts.concrete_fields]
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        rows = queryset.values_list(*fields).iterator(chunk_size=CHUNK_ROWS)
        if not may_see_personal_data(request.user):
            rows = masked_rows(fields, rows)
        return csv_response(f"{self.opts.model_name}-{stamp}.csv", fields, rows)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None):
        extra = {"export_url": self.export_url(request), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def export_url(self, request: HttpRequest) -> str:
        """Return the export's URL with this change list's filters, search and order."""
        url = reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_export")
        query = urlencode(sorted(request.GET.items())) if request.GET else ""
        return f"{url}?{query}" if query else url
