"""What several server processes must agree on lives where all of them see it: a session
ended or changed by one process (a logout, an admin message) is ended or changed for all."""

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.session import SessionStorage
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.http import HttpRequest

pytestmark = pytest.mark.django_db


def another_process_session(key: str) -> SessionStore:
    """Return the session as another server process loads it: from the database."""
    return SessionStore(session_key=key)


def test_a_logout_in_another_process_ends_the_session_here(superuser_client):
    # given: this process has served the session
    assert superuser_client.get("/admin/").status_code == 200
    key = superuser_client.cookies["sessionid"].value

    # when: another process logs the user out (it deletes the session)
    Session.objects.filter(session_key=key).delete()

    # then
    response = superuser_client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_message_another_process_stored_shows_on_the_next_page(superuser_client):
    # given: this process has served the session
    assert superuser_client.get("/admin/").status_code == 200
    key = superuser_client.cookies["sessionid"].value

    # when: another process handles an admin action and stores its confirmation
    session = another_process_session(key)
    request = HttpRequest()
    request.session = session
    confirmation = Message(constants.SUCCESS, "1 order(s) changed to confirmed.")
    session[SessionStorage.session_key] = SessionStorage(request).serialize_messages([confirmation])
    session.save()

    # then
    assert "1 order(s) changed to confirmed." in superuser_client.get("/admin/").content.decode()
