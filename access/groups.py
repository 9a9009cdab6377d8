"""The read-only `viewer` group: the view permission of every read model; and the
`personal_data` group, whose members see customers' e-mail and postal addresses in clear."""

from typing import Any

VIEWER = "viewer"
PERSONAL_DATA = "personal_data"
PERSONAL_DATA_PERMISSION = ("orderdetails", "view_personal_data")
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


def ensure_personal_data_group(apps: Any) -> Any:
    """Create the personal_data group, with orders_read.view_personal_data, if missing."""
    content_type = apps.get_model("contenttypes", "ContentType")
    permission = apps.get_model("auth", "Permission")
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name=PERSONAL_DATA)
    model, codename = PERSONAL_DATA_PERMISSION
    kind, _ = content_type.objects.get_or_create(app_label=READ_APP, model=model)
    see, _ = permission.objects.get_or_create(
        content_type=kind,
        codename=codename,
        defaults={"name": "Can see customers' e-mail and postal addresses in clear"},
    )
    group.permissions.add(see)
    return group
