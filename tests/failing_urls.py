"""A URLconf for the logging tests: a view that fails, and one that logs and answers."""

import logging

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler400, handler404, handler500

FAILURE = "the failing view failed, as it always does"


def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(FAILURE)


def log_and_answer(request: HttpRequest) -> HttpResponse:
    logging.getLogger("orders_write.logging_test").warning("a warning inside a request")
    return HttpResponse("logged")


urlpatterns = [path("fail/", fail), path("api/fail/", fail), path("log/", log_and_answer)]
handler400, handler404, handler500 = handler400, handler404, handler500
