"""Template filters that show values as the admin does (see `config.api.display`)."""

from django import template

from config.api import display

register = template.Library()
register.filter("money", display.money)
register.filter("badge", display.badge)
register.filter("short_id", display.short_id)
register.filter("when", display.when)
