"""The browsable API's command forms: every path offers the forms of the commands it takes.

One path may route its reads and its commands to different views (see `config.urls`); DRF's
browsable renderer only knows the view that answered, so it is given the others here.
"""

import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework import serializers
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request

View = Callable[..., HttpResponse]
COMMAND_VIEWS = "command_views"


def offer_commands(request: HttpRequest, views: dict[str, View]) -> None:
    """Remember which view takes each method of this path, for the renderer's forms."""
    setattr(request, COMMAND_VIEWS, views)


class CommandFormsRenderer(BrowsableAPIRenderer):
    """Show the forms of the commands a path takes, whichever of its views answered."""

    def get_rendered_html_form(self, data: Any, view: Any, method: str, request: Request):
        return super().get_rendered_html_form(
            data, self._view_for(view, method, request), method, request
        )

    def get_raw_data_form(self, data: Any, view: Any, method: str, request: Request):
        form = super().get_raw_data_form(
            data, self._view_for(view, method, request), method, request
        )
        example = getattr(self, "_example", None)
        if form is not None and example is not None:
            form.fields["_content"].initial = json.dumps(example, indent=4)
        return form

    def render_form_for_serializer(self, serializer: serializers.Serializer):
        # HTML forms cannot carry lists or nested objects: such commands get the JSON form only.
        if any(isinstance(f, serializers.BaseSerializer) for f in serializer.fields.values()):
            return None
        return super().render_form_for_serializer(serializer)

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
