"""product_sales_window: each product's sales over the last 7 and 30 days it was sold, day by
day and in total, filled here from the daily rows so a populated database needs no rebuild."""

from datetime import timedelta
from decimal import Decimal
from itertools import groupby

from django.db import migrations, models
from django.utils import timezone

WINDOWS = (7, 30)
INDEXES = [
    models.Index(fields=["window_days", "-total_quantity"], name="sales_window_quantity_idx"),
    models.Index(fields=["window_days", "last_day"], name="sales_window_last_day_idx"),
]
CONSTRAINTS = [
    models.UniqueConstraint(fields=["product_id", "window_days"], name="sales_window_product_uniq")
]


def create_window_table(apps, schema_editor):
    model = apps.get_model("orders_read", "ProductSalesWindow")
    schema_editor.create_model(model)
    # Not add_constraint: on SQLite it remakes the table from the migration state, which
    # knows nothing of an unmanaged table's constraints.
    for constraint in CONSTRAINTS:
        schema_editor.execute(constraint.create_sql(model, schema_editor))
    for index in INDEXES:
        schema_editor.add_index(model, index)
    daily = apps.get_model("orders_read", "ProductSales")
    fill_windows(daily, model, schema_editor.connection.alias)


def fill_windows(daily, window, database):
    """Add every product's windows as a replay of its sales would leave them."""
    now = timezone.now()
    rows = daily.objects.using(database).order_by("product_id", "sale_date").values()
    batch = []
    for _, days in groupby(rows.iterator(chunk_size=5000), key=lambda row: row["product_id"]):
        days = list(days)
        batch += [window(**window_row(days, size), projected_at=now) for size in WINDOWS]
        if len(batch) >= 2000:
            window.objects.using(database).bulk_create(batch)
            batch = []
    window.objects.using(database).bulk_create(batch)


def window_row(days, size):
    last_day = days[-1]["sale_date"]
    kept = [day for day in days if day["sale_date"] > last_day - timedelta(days=size)]
    named = max(days, key=lambda day: (day["version"], day["sale_date"]))
    return {
        "product_id": named["product_id"],
        "window_days": size,
        "last_day": last_day,
        "product_name": named["product_name"],
        "category": named["category"],
        "total_quantity": sum(day["total_quantity"] for day in kept),
        "total_orders": sum(day["total_orders"] for day in kept),
        "total_revenue": sum((day["total_revenue"] for day in kept), Decimal("0.00")),
        "days": {
            day["sale_date"].isoformat(): [
                day["total_quantity"],
                day["total_orders"],
                str(day["total_revenue"]),
            ]
            for day in kept
        },
        "version": named["version"],
    }


def drop_window_table(apps, schema_editor):
    schema_editor.delete_model(apps.get_model("orders_read", "ProductSalesWindow"))


class Migration(migrations.Migration):
    dependencies = [("orders_read", "0004_order_summary_lines_and_units")]

    operations = [
        migrations.CreateModel(
            name="ProductSalesWindow",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("product_id", models.UUIDField()),
                ("window_days", models.PositiveSmallIntegerField()),
                ("last_day", models.DateField()),
                ("product_name", models.CharField(max_length=200)),
                ("category", models.CharField(max_length=100)),
                ("total_quantity", models.IntegerField()),
                ("total_orders", models.IntegerField()),
                ("total_revenue", models.DecimalField(decimal_places=2, max_digits=16)),
                ("days", models.JSONField()),
                ("version", models.PositiveIntegerField()),
                ("projected_at", models.DateTimeField()),
            ],
            options={
                "verbose_name": "product sales window",
                "db_table": "product_sales_window",
                "managed": False,
            },
        ),
        migrations.RunPython(create_window_table, drop_window_table),
    ]
