from django.db import migrations

PROJECTIONS = [
    "order_summary",
    "order_details",
    "order_status_history",
    "customer_analytics",
    "product_sales",
]


def add_states(apps, schema_editor):
    ProjectionState = apps.get_model("orders_read", "ProjectionState")
    for name in PROJECTIONS:
        ProjectionState.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("orders_read", "0001_initial")]

    operations = [migrations.RunPython(add_states, migrations.RunPython.noop)]
