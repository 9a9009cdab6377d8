"""Charts drawn on the server as inline SVG: no script and no download, so they work offline.

Text sits in the outer SVG, which is not scaled, so labels keep their size at any width; the
columns and bars sit in an inner SVG that stretches to the panel. Colours of text, axes and
gridlines come from the admin's theme (CSS classes in `admin/base_site.html`), so the charts
follow its light and dark modes.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

BAR_COLOUR = "#417690"
Label = Callable[[float], str]
PLOT_HEIGHT = 170  # px of the column chart's plot area
TICK_COUNT = 4


@dataclass(frozen=True)
class Point:
    label: str
    value: float
    colour: str = BAR_COLOUR
    tick: str = ""  # a label on the x axis under this column, if any
    partial: bool = False  # a period still running (today): drawn lighter


def ticks(top: float, count: int = TICK_COUNT) -> list[float]:
    """Return round axis values from 0 to at least `top`, `count` or `count + 1` steps apart."""
    raw = max(top, 1) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    step = max(step, 1)
    return [step * n for n in range(math.ceil(max(top, 1) / step) + 1)]


def column_chart(
    points: Sequence[Point], *, title: str, unit: Label = str, axis: Label = str
) -> SafeString:
    """Draw one column per point (e.g. per day) over gridlines, with y ticks (`axis` labels
    them), the points' x ticks and a tooltip each."""
    scale = ticks(max((p.value for p in points), default=0))
    top, count = scale[-1], max(len(points), 1)

    def y(value: float) -> float:
        return 8 + PLOT_HEIGHT * (1 - value / top)

    grid = format_html_join(
        "",
        '<line class="grid" x1="0" x2="100%" y1="{0}" y2="{0}"/>'
        '<text class="tick" x="-6" y="{1}" text-anchor="end">{2}</text>',
        ((_n(y(v)), _n(y(v) + 4), axis(v)) for v in scale),
    )
    columns = format_html_join(
        "",
        '<rect class="{}" x="{}" y="{}" width="0.86" height="{}" fill="{}">'
        "<title>{}: {}{}</title></rect>",
        (
            (
                "column partial" if p.partial else "column",
                _n(i + 0.07),
                _n(y(p.value) - 8),
                _n(PLOT_HEIGHT * p.value / top),
                p.colour,
                p.label,
                unit(p.value),
                " (so far)" if p.partial else "",
            )
            for i, p in enumerate(points)
        ),
    )
    x_ticks = format_html_join(
        "",
        '<line class="axis" x1="{0}%" x2="{0}%" y1="{1}" y2="{2}"/>'
        '<text class="tick" x="{0}%" y="{3}" text-anchor="middle">{4}</text>',
        (
            (
                _n(100 * (i + 0.5) / count),
                8 + PLOT_HEIGHT,
                12 + PLOT_HEIGHT,
                27 + PLOT_HEIGHT,
                p.tick,
            )
            for i, p in enumerate(points)
            if p.tick
        ),
    )
    return format_html(
        '<svg class="chart column-chart" role="img" aria-label="{}" width="100%" height="{}" '
        'xmlns="http://www.w3.org/2000/svg">{}'
        '<svg y="8" width="100%" height="{}" viewBox="0 0 {} {}" preserveAspectRatio="none">{}'
        "</svg>"
        '<line class="axis" x1="0" x2="100%" y1="{}" y2="{}"/>{}</svg>',
        title,
        PLOT_HEIGHT + 36,
        grid,
        PLOT_HEIGHT,
        count,
        PLOT_HEIGHT,
        columns,
        8 + PLOT_HEIGHT,
        8 + PLOT_HEIGHT,
        x_ticks,
    )


def bar_chart(points: Sequence[Point], *, title: str, unit: Label = str) -> SafeString:
    """Draw one labelled horizontal bar per point (e.g. per status), its value at its end."""
    row = 22
    top_value = max((p.value for p in points), default=0) or 1

    def bar(index: int, point: Point) -> tuple:
        length = max(70 * point.value / top_value, 0.3 if point.value else 0)
        y = index * row + 2
        return (
            y + 15,
            point.label,
            y + 3,
            _n(length),
            point.colour,
            point.label,
            unit(point.value),
        )

    bars = format_html_join(
        "",
        '<text class="label" x="-8" y="{0}" text-anchor="end">{1}</text>'
        '<rect x="0" y="{2}" width="{3}%" height="16" fill="{4}"><title>{5}: {6}</title></rect>'
        '<text class="value" x="{3}%" dx="6" y="{0}">{6}</text>',
        (bar(i, p) for i, p in enumerate(points)),
    )
    return format_html(
        '<svg class="chart bar-chart" role="img" aria-label="{}" width="100%" height="{}" '
        'xmlns="http://www.w3.org/2000/svg">{}</svg>',
        title,
        row * len(points) + 4,
        bars,
    )


def _n(number: float) -> str:
    """Write a coordinate with two decimals at most."""
    return f"{number:.2f}".rstrip("0").rstrip(".")
