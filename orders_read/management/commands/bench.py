from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders_read.bench.benchmark import Benchmark, as_json
from orders_read.management.progress import ProgressBar
from orders_read.mode import projections_are_async

READS = [
    ("customer_orders_page", "customer's orders, page 1"),
    ("order_details", "order details"),
    ("search_status_dates_amount", "search status+dates+min amount"),
    ("popular_products_cached", "popular products 30 d, cached"),
    ("popular_products_uncached", "popular products 30 d, uncached"),
    ("customer_analytics", "customer analytics"),
    ("orders_list_page", "orders list page (query)"),
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
            help="Async mode: empty the read side and time a Celery worker with this many "
            "processes draining the whole store.",
        )
        parser.add_argument(
            "--no-rebuild",
            action="store_false",
            dest="rebuild",
            help="Measure an existing dataset without rebuilding its read side first.",
        )

    def handle(self, *args: object, **options: Any) -> None:
        if options["drain"] and not projections_are_async():
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
            results.append(bench.measure(rebuild=options["rebuild"]))
            if options["drain"]:
                from orders_read.bench.drain import measure_drain

                results[-1]["drain"] = measure_drain(options["drain"])
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
        out(_row("writes per second (median of 5 rounds)", "commands", "plain CRUD", "ratio"))
        mode = settings.PROJECTION_MODE
        out(_row(f"  create order, projections {mode}", *_writes(w, "create")))
        out(_row("  change status", *_writes(w, "status")))
        out(_row("reads in ms: p50/p95/p99", "read model", "normalized", "x p95"))
        for key, label in READS:
            r = result["reads"][key]
            out(
                _row(
                    f"  {label}",
                    _triple(r["read_model"]),
                    _triple(r["normalized"]),
                    r["speedup_p95"],
                )
            )
        out(_row("  HTTP GET /api/orders/ (DRF)", _triple(result["http"]["orders_list"]), "", ""))
        if drain := result.get("drain"):
            out(
                f"drain: {drain['worker_processes']} Celery worker processes applied "
                f"{drain['events']:,} events in {drain['seconds']} s = "
                f"{drain['events_per_s']:,} events/s"
            )
        rb = result["rebuild"]
        if rb is None:
            return
        out(
            f"rebuild: {rb['events']:,} events in {rb['seconds']} s = "
            f"{rb['events_per_s']:,} events/s, peak memory {rb['peak_memory_mb']} MB "
            f"(largest replay process {rb['replay_process_peak_memory_mb']} MB)"
        )

    def _print_scaling(self, results: list[dict[str, Any]]) -> None:
        out = self.stdout.write
        out("\n== scaling: read model p95 in ms, rebuild events/s and peak MB")
        out(f"{'orders':<38}" + "".join(f"{r['orders']:>12,}" for r in results))
        lines = [
            (label, lambda r, k=key: r["reads"][k]["read_model"]["p95"]) for key, label in READS
        ]
        lines += [
            ("HTTP GET /api/orders/", lambda r: r["http"]["orders_list"]["p95"]),
        ]
        if all(r["rebuild"] for r in results):
            lines += [
                ("rebuild events/s", lambda r: r["rebuild"]["events_per_s"]),
                ("rebuild peak memory MB", lambda r: r["rebuild"]["peak_memory_mb"]),
            ]
        for label, value in lines:
            out(f"  {label:<36}" + "".join(f"{value(r):>12}" for r in results))


def _row(label: str, first: object, second: object, third: object) -> str:
    return f"{label:<38}{first!s:>22}{second!s:>22}{third!s:>8}"


def _writes(w: dict[str, Any], kind: str) -> tuple[object, object, object]:
    return w[f"{kind}_per_s"], w[f"crud_{kind}_per_s"], w[f"{kind}_ratio"]


def _triple(p: dict[str, float]) -> str:
    return f"{p['p50']:.2f}/{p['p95']:.2f}/{p['p99']:.2f}"
