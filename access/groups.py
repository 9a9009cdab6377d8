"""The read-only `viewer` group: the view permission of every read model."""

from typing import Any

VIEWER = "viewer"
READ_APP = "orders_read"
# The read models the API and the admin show (model names, lower case).
READ_MODELS = (
    "ordersummary",
    "orderdetails",
    "orderstatuschange",
    "customeranalytics",
    "productsales",
    "projectionstate",
    "projectionfailure",
)


def ensure_viewer_group(apps: Any) -> Any:
    """Create the viewer group, with the view permissions of the read models, if missing.

    `apps` is Django's app registry, or a migration's historical one.
    """
    content_type = apps.get_model("contenttypes", "ContentType")
    permission = apps.get_model("auth", "Permission")
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name=VIEWER)
    for model in READ_MODELS:
        kind, _ = content_type.objects.get_or_create(app_label=READ_APP, model=model)
        view, _ = permission.objects.get_or_create(
            content_type=kind, codename=f"view_{model}", defaults={"name": f"Can view {model}"}
        )
        group.permissions.add(view)
    return group
