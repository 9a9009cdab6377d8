"""Admin pages that answer hostile lookup parameters with Django's "bad lookup" redirect.

Django turns most bad filters into `IncorrectLookupParameters`, but not those the database
or Python's dates refuse: a year past 9999, an int too large, a value PostgreSQL cannot
compare. Those surface while the change list is built, when its (lazy) rows are fetched,
or while its page is rendered (the date hierarchy runs queries of its own).
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, ChangeList
from django.core.exceptions import ValidationError
from django.db import DatabaseError, router, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import SimpleTemplateResponse
from django.utils.translation import gettext as _

# What a lookup parameter's value can make the database or the date arithmetic raise.
LOOKUP_ERRORS = (DatabaseError, ValueError, OverflowError)
INVALID_SETUP = "admin/invalid_setup.html"


# What the list filters Django makes for a field, and the date hierarchy, send.
FILTER_LOOKUPS = ("", "__exact", "__isnull", "__gte", "__lt", "__id__exact")
HIERARCHY_LOOKUPS = ("__year", "__month", "__day")


class SafeLookupsAdmin(admin.ModelAdmin):
    """Take only the lookups this admin declares (its list filters, its date hierarchy and
    `link_lookups`), and refuse a lookup the database cannot run, as Django refuses one it
    cannot parse: no one can make the database search with a lookup of their own (a `regex`
    that backtracks for minutes, say)."""

    # Lookups that links from other pages filter this list with.
    link_lookups: tuple[str, ...] = ()

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        allowed = lookup in self.declared_lookups(request)
        return allowed and super().lookup_allowed(lookup, value, request)

    def declared_lookups(self, request: HttpRequest | None) -> set[str]:
        """Return every lookup parameter this admin's change list takes."""
        lookups = set(self.link_lookups)
        filters = self.get_list_filter(request) if request is not None else self.list_filter
        for item in filters:
            if isinstance(item, type) and issubclass(item, admin.SimpleListFilter):
                lookups.add(item.parameter_name)
                continue
            field = item[0] if isinstance(item, tuple | list) else item
            lookups.update(f"{field}{suffix}" for suffix in FILTER_LOOKUPS)
        if self.date_hierarchy:
            lookups.update(f"{self.date_hierarchy}{suffix}" for suffix in HIERARCHY_LOOKUPS)
        return lookups

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        try:
            with transaction.atomic(using=self.database()):
                changelist = super().get_changelist_instance(request)
                len(changelist.result_list)  # fetch the page's rows now, not in the view
                return changelist
        except DisallowedModelAdminLookup as error:
            raise IncorrectLookupParameters(error) from error
        except LOOKUP_ERRORS as error:
            raise IncorrectLookupParameters(error) from error

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        if not isinstance(response, SimpleTemplateResponse) or response.is_rendered:
            return response
        if response.template_name == INVALID_SETUP:
            response.status_code = 400  # Django's answer to a bad lookup sent with ?e=1
            return response
        try:
            with transaction.atomic(using=self.database()):
                return response.render()  # lazy querysets run here
        except LOOKUP_ERRORS:
            return lookup_refused(request)

    def response_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Refuse an action on selected "ids" that are none of this list's, as Django refuses
        one on no selection: a message, and back to the list."""
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if all(self.is_primary_key(value) for value in selected):
            return super().response_action(request, queryset)
        message = _("Items must be selected in order to perform actions on them.")
        self.message_user(request, message, messages.WARNING)
        return HttpResponseRedirect(request.get_full_path())

    def is_primary_key(self, value: str) -> bool:
        """Tell whether a value is one the primary key column can hold."""
        try:
            self.model._meta.pk.clean(value, None)
        except (ValidationError, ValueError, OverflowError):
            return False
        return True

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        try:
            with transaction.atomic(using=self.database()):
                return super().get_object(request, object_id, from_field)
        except (DatabaseError, OverflowError):
            return None  # the admin's "does not exist" answer

    def database(self) -> str:
        return router.db_for_read(self.model)


def lookup_refused(request: HttpRequest) -> HttpResponse:
    """Answer as Django does to bad lookups: back to the plain list, or a 400 page after it."""
    if ERROR_FLAG in request.GET:
        return SimpleTemplateResponse(INVALID_SETUP, {"title": _("Database error")}, status=400)
    return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")


def protect_every_admin(site: admin.AdminSite) -> None:
    """Give the admins of other apps (users, groups, ...) the same refusals as ours."""
    for model, model_admin in list(site._registry.items()):
        if not isinstance(model_admin, SafeLookupsAdmin):
            safe = type(
                f"Safe{type(model_admin).__name__}", (SafeLookupsAdmin, type(model_admin)), {}
            )
            site.unregister(model)
            site.register(model, safe)
