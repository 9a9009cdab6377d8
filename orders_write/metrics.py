"""Prometheus metrics of the command side: commands handled and how long they took."""

from prometheus_client import Counter, Histogram

COMMANDS = Counter(
    "orders_commands", "Commands handled, by command and outcome.", ["command", "outcome"]
)
COMMAND_SECONDS = Histogram(
    "orders_command_seconds",
    "Time a command service took, by command.",
    ["command"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
