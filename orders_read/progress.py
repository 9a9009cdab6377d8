"""Progress of a long job (a rebuild, a bulk load): the callback it reports to, and the
terminal progress bar, with rate and ETA, that management commands hand it."""

import time
from collections.abc import Callable

from django.core.management.base import OutputWrapper

# Called with (done, total) as the job advances.
Progress = Callable[[int, int], None]


class ProgressBar:
    """Redraw one line: `label [#####.....] done/total unit  rate/s  ETA`."""

    WIDTH = 30

    def __init__(self, out: OutputWrapper, label: str, unit: str, *, enabled: bool = True) -> None:
        self.out, self.label, self.unit, self.enabled = out, label, unit, enabled
        self.started = time.monotonic()
        self.last_drawn = 0.0

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last_drawn < 0.2 and done < total):
            return
        self.last_drawn = now
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        eta = (total - done) / rate if rate else 0
        filled = int(self.WIDTH * done / total) if total else self.WIDTH
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.out.write(
            f"\r{self.label} [{bar}] {done}/{total} {self.unit}  {rate:,.0f}/s  ETA {eta:,.0f}s",
            ending="",
        )
        self.out.flush()

    def finish(self) -> None:
        if self.enabled:
            self.out.write("")
