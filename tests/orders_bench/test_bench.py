"""A smoke test of `manage.py bench` (figures are not asserted: benchmarks are not tests)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from orders_bench.management.commands.bench import READS


@pytest.mark.django_db(transaction=True)
def test_bench_runs_on_a_small_dataset_and_prints_every_figure():
    out = StringIO()
    arguments = ["--orders", "200", "--customers", "20", "--products", "15", "--calls", "3"]

    call_command("bench", *arguments, "--writes", "5", "--no-rebuild", stdout=out)

    text = out.getvalue()
    assert "create order, projections inline" in text
    assert "change status" in text
    assert all(label in text and endpoint in text for _, label, endpoint in READS)
    assert "GET /api/orders/ p95" in text
    if connection.vendor == "postgresql":
        assert "popular products 30 d while" in text and "orders/s are placed" in text
    else:
        assert "popular products under writes: not measured (PostgreSQL only)" in text


@pytest.mark.django_db(transaction=True)
def test_bench_json_has_writes_reads_and_http_for_each_size():
    out = StringIO()

    call_command(
        "bench", "--scales", "50,100", "--customers", "10", "--products", "8",
        "--calls", "2", "--writes", "5", "--no-rebuild", "--json", stdout=out,
    )  # fmt: skip

    results = json.loads(out.getvalue())
    assert [r["orders"] for r in results] == [50, 100]
    for result in results:
        assert {"create_ratio", "status_ratio"} <= set(result["writes"])
        assert set(result["reads"]) == {key for key, _, _ in READS}
        for read in result["reads"].values():
            assert read["query"]["p95"] > 0 and read["http"]["p95"] > 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a rebuild process needs a server")
@pytest.mark.django_db(transaction=True)
def test_bench_rebuilds_the_database_it_measures():
    out = StringIO()

    call_command(
        "bench", "--orders", "30", "--customers", "6", "--products", "5",
        "--calls", "1", "--writes", "5", "--json", stdout=out,
    )  # fmt: skip

    [result] = json.loads(out.getvalue())
    assert result["rebuild"]["events"] == result["events"] > 30
