"""The browsable API's command forms: every path offers the forms of the commands it takes.

One path may route its reads and its commands to different views (see `config.urls`); DRF's
browsable renderer only knows the view that answered, so it is given the others here.
"""

import json
import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.encoding import smart_str
from django.utils.html import escape
from django.utils.safestring import mark_safe
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request, override_method
from rest_framework.settings import api_settings
from rest_framework.utils import formatting

View = Callable[..., HttpResponse]
COMMAND_VIEWS = "command_views"
CODE = re.compile(r"`([^`]+)`")


def offer_commands(request: HttpRequest, views: dict[str, View]) -> None:
    """Remember which view takes each method of this path, for the renderer's forms."""
    setattr(request, COMMAND_VIEWS, views)


class CommandFormsRenderer(BrowsableAPIRenderer):
    """Show the forms of the commands a path takes, whichever of its views answered."""

    def get_rendered_html_form(self, data: Any, view: Any, method: str, request: Request):
        view = self._view_for(view, method, request)
        self._form_view = view
        if request.method != method or method not in ("POST", "PUT", "PATCH"):
            return super().get_rendered_html_form(data, view, method, request)
        response = self.renderer_context.get("response")
        if response is None or response.status_code < 400:
            # After a success the form is blank again, not the answer's fields.
            return super().get_rendered_html_form(None, view, method, request)
        return self._form_with_errors(data, view, method, request)

    def _form_with_errors(self, data: Any, view: Any, method: str, request: Request):
        """Show the form as it was sent, each error beside its field."""
        with override_method(view, request, method) as request:
            if not self.show_form_for_method(view, method, request, None):
                return None
            try:
                serializer = view.get_serializer(data=request.data)
            except ParseError:
                return None
            return self.render_form_for_serializer(serializer, field_errors(data))

    def render_form_for_serializer(
        self, serializer: serializers.Serializer, errors: dict[str, list[str]] | None = None
    ):
        # HTML forms cannot carry lists or nested objects: such commands get the JSON form only.
        if any(isinstance(f, serializers.BaseSerializer) for f in serializer.fields.values()):
            return None
        prepare = getattr(getattr(self, "_form_view", None), "prepare_form", None)
        if prepare is not None:
            prepare(serializer)
        if hasattr(serializer, "initial_data"):
            serializer.is_valid()
            if errors is not None:
                serializer._errors = errors
        form_renderer = self.form_renderer_class()
        return form_renderer.render(
            serializer.data,
            self.accepted_media_type,
            {"style": {"template_pack": "rest_framework/horizontal"}},
        )

    def get_raw_data_form(self, data: Any, view: Any, method: str, request: Request):
        form = super().get_raw_data_form(
            data, self._view_for(view, method, request), method, request
        )
        example = getattr(self, "_example", None)
        if form is not None and example is not None:
            form.fields["_content"].initial = json.dumps(example, indent=4)
        return form

    def get_breadcrumbs(self, request: Request) -> list[tuple[str, str]]:
        """Name each level of the path after its route (DRF's own crumbs need view classes)."""
        parts = request.path.strip("/").split("/")
        crumbs = []
        for depth in range(1, len(parts) + 1):
            url = "/" + "/".join(parts[:depth]) + "/"
            try:
                name = resolve(url).url_name
            except Resolver404:
                continue
            if name:
                crumbs.append((name.removesuffix("-detail").replace("-", " ").capitalize(), url))
        return crumbs

    def _view_for(self, view: Any, method: str, request: Request) -> Any:
        self._example = None
        if method in view.allowed_methods:
            return view
        func = commands_of(request._request).get(method)
        if func is None or not hasattr(func, "actions"):
            return view
        command_view = _viewset_instance(func, request, view.kwargs)
        self._example = getattr(command_view, "example_body", lambda: None)()
        return command_view


def field_errors(body: Any) -> dict[str, list[str]]:
    """Return the messages of an error body (the API's one error shape) by field."""
    errors: dict[str, list[str]] = {}
    for error in body.get("errors", []) if isinstance(body, dict) else []:
        field = error.get("field") or api_settings.NON_FIELD_ERRORS_KEY
        errors.setdefault(field, []).append(error.get("message", ""))
    return errors


def describe_view(view: Any, html: bool = False) -> str:
    """Return a view's description; in HTML, `code` shows as code and paragraphs stay apart."""
    text = getattr(view, "description", None) or view.__class__.__doc__ or ""
    text = formatting.dedent(smart_str(text))
    if not html:
        return text
    paragraphs = (escape(p.strip()) for p in text.split("\n\n") if p.strip())
    return mark_safe("".join("<p>" + CODE.sub(r"<code>\1</code>", p) + "</p>" for p in paragraphs))  # noqa: S308


def _viewset_instance(func: Any, request: Request, kwargs: dict[str, Any]) -> Any:
    """Build the viewset instance `func` (from `as_view(actions)`) would dispatch to."""
    view = func.cls(**func.initkwargs)
    view.action_map = func.actions
    for method, action in func.actions.items():
        setattr(view, method, getattr(view, action))
    view.request, view.args, view.kwargs, view.format_kwarg = request, (), kwargs, None
    view.headers = {}
    return view


def commands_of(request: HttpRequest) -> dict[str, View]:
    """Return the view per method of the path `request` was sent to."""
    return getattr(request, COMMAND_VIEWS, {})
