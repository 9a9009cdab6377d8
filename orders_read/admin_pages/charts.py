"""Charts drawn on the server as inline SVG: no script and no download, so they work offline."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

BAR_COLOUR = "#417690"
Label = Callable[[float], str]


@dataclass(frozen=True)
class Point:
    label: str
    value: float
    colour: str = BAR_COLOUR


def column_chart(
    points: Sequence[Point], *, title: str, unit: Label = str, width: int = 640, height: int = 200
) -> SafeString:
    """Draw one column per point (e.g. per day), the top value on the axis, a tooltip each."""
    left, bottom = 56, 22
    top_value = max((p.value for p in points), default=0) or 1
    step = (width - left) / max(len(points), 1)
    plot = height - bottom - 8

    def column(index: int, point: Point) -> tuple:
        bar = plot * point.value / top_value
        x, y = left + index * step, 8 + plot - bar
        sizes = (f"{n:.1f}" for n in (x, y, max(step - 1, 1), bar))
        return (*sizes, point.colour, point.label, unit(point.value))

    columns = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
        (column(i, p) for i, p in enumerate(points)),
    )
    first, last = (points[0].label, points[-1].label) if points else ("", "")
    return format_html(
        '<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="100%" '
        'xmlns="http://www.w3.org/2000/svg" font-size="11" '
        'font-family="sans-serif"><line x1="{}" y1="8" x2="{}" y2="{}" stroke="#999"/>'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"/>'
        '<text x="{}" y="16" text-anchor="end">{}</text>'
        '<text x="{}" y="{}" text-anchor="end">0</text>'
        "{}"
        '<text x="{}" y="{}">{}</text><text x="{}" y="{}" text-anchor="end">{}</text></svg>',
        title,
        width,
        height,
        left - 2,
        left - 2,
        8 + plot,
        left - 2,
        8 + plot,
        width,
        8 + plot,
        left - 6,
        f"{top_value:,.0f}",
        left - 6,
        8 + plot,
        columns,
        left,
        height - 6,
        first,
        width,
        height - 6,
        last,
    )


def bar_chart(
    points: Sequence[Point], *, title: str, unit: Label = str, width: int = 460
) -> SafeString:
    """Draw one labelled horizontal bar per point (e.g. per status), its value at its end."""
    row, label_width, value_width = 22, 150, 110
    top_value = max((p.value for p in points), default=0) or 1
    room = width - label_width - value_width
    height = row * len(points) + 4

    def bar(index: int, point: Point) -> tuple:
        y, length = index * row + 2, max(room * point.value / top_value, 1 if point.value else 0)
        return (
            label_width - 6,
            y + 15,
            point.label,
            label_width,
            y + 3,
            length,
            point.colour,
            point.label,
            unit(point.value),
            label_width + length + 6,
            y + 15,
            unit(point.value),
        )

    bars = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="end">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="16" fill="{}"><title>{}: {}</title></rect>'
        '<text x="{}" y="{}">{}</text>',
        (bar(i, p) for i, p in enumerate(points)),
    )
    return format_html(
        '<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" '
        'height="{}" xmlns="http://www.w3.org/2000/svg" font-size="12" font-family="sans-serif">'
        "{}</svg>",
        title,
        width,
        height,
        width,
        height,
        bars,
    )
