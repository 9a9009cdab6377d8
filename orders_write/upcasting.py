"""Event schema versions and the upcasters that bring an older event's data to the current
shape, so that history is never rewritten to follow a change of the code.

Each event class declares its `schema_version` (events.py); the store records it with every
event. When an event's data changes shape, its class's version goes up by one and an upcaster
registered for (event type, old version) turns the old data into the new; every reader of
stored events (the aggregate's stream, catch-up, rebuild, verify) gets data of the current
version only.
"""

from collections.abc import Callable
from typing import Any

Data = dict[str, Any]
Upcaster = Callable[[Data], Data]

# (event type, schema version it reads) -> the upcaster that returns the next version's data.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(event_type: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function turning `event_type` data of `from_version` into the next version."""

    def register(function: Upcaster) -> Upcaster:
        key = (event_type, from_version)
        if key in UPCASTERS:
            raise ValueError(f"{event_type} v{from_version} has an upcaster already.")
        UPCASTERS[key] = function
        return function

    return register


def upcast(event_type: str, version: int, data: Data) -> tuple[int, Data]:
    """Return the current schema version of `event_type` and `data` brought up to it."""
    while (step := UPCASTERS.get((event_type, version))) is not None:
        data = step(data)
        version += 1
    return version, data
