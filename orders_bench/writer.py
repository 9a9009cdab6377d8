"""Place orders through the command services at a steady rate until stopped: the writes the
benchmark measures reads under. Run by the benchmark as `python -m orders_bench.writer`."""

import argparse
import os
import random
import signal
import sys
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50, help="Orders per second.")
    parser.add_argument("--seed", type=int, default=7)
    rate, seed = vars(parser.parse_args()).values()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from orders_bench.benchmark import existing_catalogue, order_body
    from orders_write import services

    catalogue, rnd = existing_catalogue(), random.Random(seed)  # noqa: S311 (bench input)
    placed, stopping = 0, []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    print("ready", flush=True)
    started = time.perf_counter()
    while not stopping:
        services.create_order(order_body(rnd, catalogue))
        placed += 1
        time.sleep(max(0.0, started + placed / rate - time.perf_counter()))
    print(placed, time.perf_counter() - started, flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
