"""Fuzz the API with schemathesis against a production-style server on PostgreSQL.

    python -m tests.load.run_fuzz [--max-examples 30] [--seed 20260101]

Every operation of /api/schema/ gets generated valid and invalid requests, with all checks
on: no 5xx, every status code, content type, header and body as documented, bad input
refused, auth enforced. Exits with schemathesis' status.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from .server import Server, add_server_arguments, exit_on_sigterm, live_server
from .workload import Client, seed_world

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Most ids drawn are real ones; the others stay random, to reach the 400s and 404s.
SEEDED_PARAMETERS = """
[parameters]
"body.customer_id" = { dictionary = "customers", probability = 0.8 }
"body.items[*].product_id" = { dictionary = "products", probability = 0.8 }
"path.customer_id" = { dictionary = "customers", probability = 0.5 }
"path.product_id" = { dictionary = "products", probability = 0.5 }
"path.order_id" = { dictionary = "orders", probability = 0.5 }
# Mostly real positions, so reads wait for real events; the others reach past the newest.
"query.min_position" = { dictionary = "positions", probability = 0.8 }
"header.X-Min-Position" = { dictionary = "position_texts", probability = 0.8 }
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=30, help="Cases per operation.")
    parser.add_argument("--seed", type=int, default=20260101, help="Generation seed.")
    add_server_arguments(parser, workers=3)
    return parser.parse_args(argv)


def schemathesis_command(
    base_url: str, args: argparse.Namespace, report: Path, config: Path
) -> list[str]:
    """Return the schemathesis command line for the server at `base_url`."""
    return [
        str(SCHEMATHESIS),
        f"--config-file={config}",
        "run",
        f"{base_url}/api/schema/",
        "--checks=all",
        # stateful: follows the schema's links, e.g. create an order, read it, change its status
        "--phases=examples,coverage,fuzzing,stateful",
        f"--max-examples={args.max_examples}",
        f"--seed={args.seed}",
        "--generation-database=none",
        "--request-timeout=30",
        "--no-color",
        "--report=json",
        f"--report-json-path={report}",
    ]


def seeded_config(server: Server, seed: int) -> str:
    """Return the settings with ids of real customers, products and orders (and positions of
    real events) to draw from, so that generated orders can succeed and the order endpoints
    reach past a 404."""
    log: list = []
    world = seed_world(Client(server.port, server.token, log), random.Random(seed), 3, 3, 3)
    dictionaries = {"customers": world.customers, "products": world.products}
    dictionaries["orders"] = world.orders
    dictionaries["positions"] = [
        o.body["position"] for o in log if isinstance(o.body, dict) and "position" in o.body
    ]
    dictionaries["position_texts"] = [str(position) for position in dictionaries["positions"]]
    tables = "".join(
        f"\n[dictionaries.{name}]\nvalues = {json.dumps(values)}\n"
        for name, values in dictionaries.items()
    )
    return CONFIG.read_text() + tables + SEEDED_PARAMETERS


def main(argv: list[str] | None = None) -> int:
    """Start a server, fuzz it, report how many cases were generated; return the exit code."""
    args = parse_args(argv)
    exit_on_sigterm()
    with (
        live_server(
            admin_url=args.database_url, workers=args.workers, port=args.port, prefix="orders_fuzz"
        ) as server,
        tempfile.TemporaryDirectory(prefix="orders_fuzz_") as scratch,
    ):
        report, config = Path(scratch) / "report.json", Path(scratch) / "schemathesis.toml"
        config.write_text(seeded_config(server, args.seed))
        result = subprocess.run(  # noqa: S603 (fixed argument list)
            schemathesis_command(server.base_url, args, report, config),
            env={**os.environ, "ORDERS_API_TOKEN": server.token},
            timeout=900,
            check=False,
        )
        cases = json.loads(report.read_text())["test_cases"] if report.exists() else {}
    print(
        f"== fuzzing: {cases.get('generated', '?')} generated cases, "
        f"{cases.get('with_failures', '?')} with failures; schemathesis exit {result.returncode}"
    )
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
