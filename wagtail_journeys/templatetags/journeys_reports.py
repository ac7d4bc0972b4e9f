"""Template filters of the reports: rates as percentages, "–" when there is no base."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def rate(value: float | None) -> str:
    """``0.256`` → ``"25.6 %"``; ``None`` (nothing to divide by) → ``"–"``."""
    if value is None:
        return "–"
    return f"{number_format(value * 100, 1)} %"
