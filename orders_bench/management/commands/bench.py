from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders_bench.benchmark import Benchmark, as_json
from orders_read.progress import ProgressBar
from orders_read.running.runner import active_runner

# Each read: its query function, and the endpoint that calls it.
READS = [
    ("customer_orders_page", "get_orders_by_customer, page 1", "/customers/{id}/orders/"),
    ("order_details", "get_order_details", "/orders/{id}/"),
    ("order_history", "get_order_history", "/orders/{id}/history/"),
    ("search_status_dates_amount", "search_orders status+dates+amount", "/orders/?status=..."),
    ("popular_products_cached", "get_popular_products(30), cached", "/products/popular/"),
    ("popular_products_uncached", "get_popular_products(30), uncached", "/products/popular/"),
    ("customer_analytics", "get_customer_analytics", "/customers/{id}/analytics/"),
    ("product_sales_month", "get_product_sales, 30 days", "/products/{id}/sales/"),
    ("orders_list_page", "search_orders, first page", "/orders/"),
]


class Command(BaseCommand):
    help = (
        "Benchmark writes (commands vs. plain CRUD), reads (read model vs. normalized tables) "
        "and rebuilds. Adds data to the configured database: use a dedicated one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=int, default=100_000, help="Dataset size.")
        parser.add_argument("--scales", default="", help="Sizes to measure, e.g. 10000,100000.")
        parser.add_argument("--customers", type=int, default=0, help="Default: orders / 10.")
        parser.add_argument("--products", type=int, default=1000)
        parser.add_argument("--calls", type=int, default=300, help="Calls per read measured.")
        parser.add_argument("--writes", type=int, default=300, help="Commands per write rate.")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--json", action="store_true", help="Print JSON instead of tables.")
        parser.add_argument(
            "--drain",
            type=int,
            default=0,
            metavar="PROCESSES",
            help="Async mode: after the rebuild, empty the read side and time a Celery worker "
            "with this many processes draining the whole store; writes are then timed with "
            "the worker running beside them, and its lag sampled.",
        )
        parser.add_argument(
            "--no-rebuild",
            action="store_false",
            dest="rebuild",
            help="Measure an existing dataset without rebuilding its read side first.",
        )

    def handle(self, *args: object, **options: Any) -> None:
        if options["drain"] and active_runner().mode != "async":
            raise CommandError("--drain measures Celery workers: set PROJECTION_MODE=async.")
        scales = self._scales(options)
        largest = scales[-1]
        bench = Benchmark(
            customers=options["customers"] or max(10, largest // 10),
            products=options["products"],
            seed=options["seed"],
            calls=options["calls"],
            writes=options["writes"],
        )
        show = options["verbosity"] >= 1 and not options["json"]
        results = []
        for scale in scales:
            bar = ProgressBar(self.stdout, f"loading {scale:,} orders", "orders", enabled=show)
            bench.grow_to(scale, progress=bar.update)
            bar.finish()
            results.append(bench.measure(rebuild=options["rebuild"], workers=options["drain"]))
            if show:
                self._print(results[-1])
        if options["json"]:
            self.stdout.write(as_json(results))
        elif len(results) > 1:
            self._print_scaling(results)

    def _scales(self, options: dict[str, Any]) -> list[int]:
        try:
            scales = [int(s) for s in options["scales"].split(",") if s.strip()] or [
                options["orders"]
            ]
        except ValueError as error:
            raise CommandError("--scales takes sizes like 10000,100000") from error
        if min(scales) < 10 or options["calls"] < 1 or options["writes"] < 5:
            raise CommandError("Sizes need at least 10 orders, --calls 1 and --writes 5.")
        return sorted(scales)

    def _print(self, result: dict[str, Any]) -> None:
        out, w = self.stdout.write, result["writes"]
        out(f"\n== {result['orders']:,} orders, {result['events']:,} events")
        out(_row("writes per second (median of 5 rounds)", "commands", "plain CRUD", "", "ratio"))
        mode = active_runner().mode
        out(_row(f"  create order, projections {mode}", *_writes(w, "create")))
        out(_row("  change status", *_writes(w, "status")))
        out("reads in ms, p50/p95/p99: the query function, its endpoint over HTTP (DRF, token)")
        out(_row("  and the same answer from the normalized tables", "", "", "HTTP/q", "norm/q"))
        for key, label, endpoint in READS:
            r = result["reads"][key]
            out(f"  {label} -- GET /api{endpoint}")
            out(
                _row(
                    "",
                    _triple(r["query"]),
                    _triple(r["http"]),
                    _triple(r["normalized"]),
                    r["http_over_query_p95"],
                    r["speedup_p95"],
                )
            )
        self._print_targets(result)
        if lag := result["writes"].get("lag_seconds"):
            out(
                f"lag of {result['writes']['worker_processes']} worker processes while the "
                f"writes above ran: p50 {lag['p50']:.2f} s, p95 {lag['p95']:.2f} s, "
                f"max {lag['max']:.2f} s ({lag['samples']} samples)"
            )
        rb, drain = result["rebuild"], result.get("drain")
        if rb is not None:
            out(
                f"rebuild: {rb['events']:,} events in {rb['seconds']} s = "
                f"{rb['events_per_s']:,} events/s, peak memory {rb['peak_memory_mb']} MB "
                f"(largest replay process {rb['replay_process_peak_memory_mb']} MB)"
            )
        if drain is not None:
            ratio = drain["events_per_s"] / rb["events_per_s"] if rb else None
            of_rebuild = f" = {ratio:.2f} x the rebuild" if ratio else ""
            out(
                f"drain: {drain['worker_processes']} Celery worker processes applied "
                f"{drain['events']:,} events from an empty read side in {drain['seconds']} s = "
                f"{drain['events_per_s']:,} events/s{of_rebuild}"
            )

    def _print_targets(self, result: dict[str, Any]) -> None:
        out, listed = self.stdout.write, result["reads"]["orders_list_page"]
        out(
            f"GET /api/orders/ p95 {listed['http']['p95']:.2f} ms = "
            f"{listed['http_over_query_p95']} x search_orders p95 {listed['query']['p95']:.2f} ms"
        )
        busy = result["under_writes"]
        if busy is None:
            out("popular products under writes: not measured (PostgreSQL only)")
            return
        popular = busy["popular_products"]
        out(
            f"popular products 30 d while {busy['orders_per_s']} orders/s are placed: "
            f"get_popular_products {_triple(popular['query'])}, "
            f"GET /api/products/popular/ {_triple(popular['http'])} (p50/p95/p99 ms)"
        )

    def _print_scaling(self, results: list[dict[str, Any]]) -> None:
        out = self.stdout.write
        out("\n== scaling: query function p95 in ms, rebuild events/s and peak MB")
        out(f"{'orders':<38}" + "".join(f"{r['orders']:>12,}" for r in results))
        lines = [(label, lambda r, k=key: r["reads"][k]["query"]["p95"]) for key, label, _ in READS]
        lines += [
            ("HTTP GET /api/orders/", lambda r: r["reads"]["orders_list_page"]["http"]["p95"]),
        ]
        if all(r["rebuild"] for r in results):
            lines += [
                ("rebuild events/s", lambda r: r["rebuild"]["events_per_s"]),
                ("rebuild peak memory MB", lambda r: r["rebuild"]["peak_memory_mb"]),
            ]
        if all(r.get("drain") for r in results):
            lines += [("drain events/s", lambda r: r["drain"]["events_per_s"])]
        for label, value in lines:
            out(f"  {label:<36}" + "".join(f"{value(r):>12}" for r in results))


def _row(label: str, *columns: object) -> str:
    wide, narrow = columns[:3], columns[3:]
    # A space before each column, however wide its figures.
    figures = [f" {c!s:>21}" for c in wide] + [f" {c!s:>7}" for c in narrow]
    return f"{label:<38}" + "".join(figures)


def _writes(w: dict[str, Any], kind: str) -> tuple[object, ...]:
    return w[f"{kind}_per_s"], w[f"crud_{kind}_per_s"], "", w[f"{kind}_ratio"]


def _triple(p: dict[str, float]) -> str:
    return f"{p['p50']:.2f}/{p['p95']:.2f}/{p['p99']:.2f}"
