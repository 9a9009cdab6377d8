"""How far demo orders get: the status paths `seed_demo` (and the benchmark's loader) draw."""

import random

# How far orders get, with weights: later steps happen to fewer orders.
PATHS = [
    ([], 15),
    (["confirmed"], 10),
    (["confirmed", "paid"], 10),
    (["confirmed", "paid", "shipped"], 15),
    (["confirmed", "paid", "shipped", "delivered"], 40),
    (["cancelled"], 5),
    (["confirmed", "cancelled"], 3),
    (["confirmed", "paid", "cancelled"], 2),
]


def status_path(rnd: random.Random) -> list[str]:
    """Draw the statuses one order goes through after it is placed, by the weights of PATHS."""
    return rnd.choices([p for p, _ in PATHS], weights=[w for _, w in PATHS])[0]
