"""The `viewer` group, made by a data migration: it reads every read model, in the API and (for
staff members) in the admin, and changes nothing."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from access.groups import READ_MODELS, VIEWER

pytestmark = pytest.mark.django_db


def test_the_migrations_make_the_viewer_group_with_the_read_models_view_permissions():
    group = Group.objects.get(name=VIEWER)

    permissions = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert permissions == {("orders_read", f"view_{model}") for model in READ_MODELS}


def test_a_staff_viewer_browses_every_read_model_in_the_admin_and_changes_nothing(client, order):
    staff = User.objects.create_user("auditor", password="auditor-pass-123", is_staff=True)
    staff.groups.add(Group.objects.get(name=VIEWER))
    client.force_login(staff)

    for model in READ_MODELS:
        if model == "projectionstate":
            continue  # no admin of its own: the projection status page shows it
        assert client.get(reverse(f"admin:orders_read_{model}_changelist")).status_code == 200
    assert client.get(reverse("admin:orders_write_order_changelist")).status_code == 403
    assert client.post(reverse("admin:orders_write_customer_add"), {}).status_code == 403
