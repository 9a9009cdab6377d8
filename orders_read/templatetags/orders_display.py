"""Template filters that show values as the admin does (see `config.api.display`)."""

from datetime import date, timedelta

from django import template

from config.api import display
from orders_read.models import ProjectionState

register = template.Library()
register.filter("money", display.money)
register.filter("count", display.count)
register.filter("badge", display.badge)
register.filter("short_id", display.short_id)
register.filter("when", display.when)


@register.filter
def segment_badge(segment: str) -> str:
    """Show a customer segment as a coloured badge."""
    return display.badge(segment, display.SEGMENT_COLOURS) if segment else "-"


@register.filter
def next_day(day: date) -> date:
    """Return the day after `day` (the end of a range that includes `day`)."""
    return day + timedelta(days=1)


@register.simple_tag
def stalled_projections() -> list[str]:
    """Return the names of the projections stalled at a failed event."""
    return list(ProjectionState.objects.filter(stalled=True).values_list("name", flat=True))
