"""Admin search by the start of an id: the 8 characters a list shows find the row.

A prefix becomes a range of ids (`prefix000...` to `prefixfff...`), so the search reads the
id's index on SQLite (ids as hex text) and PostgreSQL (native uuid) alike.
"""

import string
from uuid import UUID

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

SHORTEST_PREFIX = 4


def id_range(term: str) -> tuple[UUID, UUID] | None:
    """Return the lowest and highest id that start with `term`, or None if it is no id start."""
    digits = term.strip().lower().replace("-", "")
    if not SHORTEST_PREFIX <= len(digits) <= 32 or set(digits) - set(string.hexdigits):
        return None
    return UUID(digits.ljust(32, "0")), UUID(digits.ljust(32, "f"))


class IdPrefixSearchAdmin(admin.ModelAdmin):
    """Find rows whose `id_search_field` starts with the search term, besides `search_fields`."""

    id_search_field = ""

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        found, duplicates = super().get_search_results(request, queryset, search_term)
        bounds = id_range(search_term) if self.id_search_field else None
        if bounds is None:
            return found, duplicates
        by_id = queryset.filter(**{f"{self.id_search_field}__range": bounds})
        return (found | by_id) if self.search_fields else by_id, duplicates
