"""Refuse a request with a NUL character in its path, query string or form body: no database
stores one in text (PostgreSQL refuses it), so no view could answer it but with an error."""

from collections.abc import Callable, Iterable
from urllib.parse import unquote_plus

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError

from config.api.errors import ErrorCode, error_body

NUL = "\x00"
MESSAGE = "The request contains a NUL character (0x00), which no field accepts."


class RejectNulMiddleware:
    """Answer 400 to any request carrying a NUL character where a view would read it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = nul_in(request)
        if where is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            errors = [{"field": where, "code": "null_characters_not_allowed", "message": MESSAGE}]
            return JsonResponse(error_body(ErrorCode.INVALID, MESSAGE, errors), status=400)
        return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")


def nul_in(request: HttpRequest) -> str | None:
    """Name where a request carries a NUL (the path, or a parameter), or None if it does not."""
    if NUL in request.path:
        return "path"
    if NUL in unquote_plus(request.META.get("QUERY_STRING", "")):
        return _first_with_nul(request.GET.lists()) or "query"
    if request.method == "POST" and _is_form(request):
        try:
            return _first_with_nul(request.POST.lists())
        except MultiPartParserError:
            return None  # the view answers a malformed body as it always has
    return None


def _is_form(request: HttpRequest) -> bool:
    content_type = request.content_type or ""
    return content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}


def _first_with_nul(lists: Iterable[tuple[str, list[str]]]) -> str | None:
    for name, values in lists:
        if NUL in name or any(NUL in value for value in values):
            return name.replace(NUL, "\\x00")
    return None
