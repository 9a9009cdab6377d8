"""Erase a forgotten customer's traces that live beside the event store and the write model:
admin log entries, sessions (with their cache entries) and failed-login records."""

import html
import json
from importlib import import_module

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db.models import Q

from .models import Customer
from .personal_data import FORGOTTEN_NAME

ERASED_MESSAGE = "[]"


def erase_traces(customer: Customer, *, name: str, email: str) -> None:
    """Remove the customer's `name` and `email` from every record kept beside the events."""
    erase_admin_log(customer, name=name, email=email)
    end_sessions_mentioning([name, email])
    forget_login_failures(email)


def erase_admin_log(customer: Customer, *, name: str, email: str) -> int:
    """Replace the customer in admin log entries: theirs, and any that names their e-mail."""
    content_type = ContentType.objects.get_for_model(Customer)
    theirs = Q(content_type=content_type, object_id=str(customer.pk))
    naming = Q(object_repr__icontains=email) | Q(change_message__icontains=email)
    naming |= Q(object_repr__icontains=name) & Q(content_type=content_type)
    return LogEntry.objects.filter(theirs | naming).update(
        object_repr=FORGOTTEN_NAME, change_message=ERASED_MESSAGE
    )


def end_sessions_mentioning(texts: list[str]) -> int:
    """End every session whose data mentions one of `texts` (e.g. in an admin message)."""
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    wanted = {form.casefold() for text in texts if text for form in _written_forms(text)}
    ended = 0
    for key, encoded in Session.objects.values_list("session_key", "session_data").iterator():
        decoded = str(store_class().decode(encoded)).casefold()
        if any(text in decoded for text in wanted):
            store_class(session_key=key).delete()
            ended += 1
    return ended


def _written_forms(text: str) -> set[str]:
    """Return `text` as it may be written in a session: plain, HTML-escaped, JSON-escaped."""
    forms = {text, html.escape(text)}
    return forms | {json.dumps(form)[1:-1] for form in forms}


def forget_login_failures(email: str) -> int:
    """Delete the failed-login records made under the customer's e-mail as user name."""
    mentions = Q(username__iexact=email) | Q(get_data__icontains=email)
    mentions |= Q(post_data__icontains=email)
    deleted, _ = AccessAttempt.objects.filter(mentions).delete()
    for model in (AccessFailureLog, AccessLog):
        deleted += model.objects.filter(username__iexact=email).delete()[0]
    return deleted
