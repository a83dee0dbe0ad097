"""Filters that round figures for people: snapshots and secondary metrics stay unrounded."""

from __future__ import annotations

from django import template
from django.utils import timezone

from metrics.periods import Period, Scope

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.425 → "42.5 %"; None → "no data"."""
    if value is None:
        return "no data"
    return f"{value * 100:.1f} %"


@register.filter
def duration_minutes(value: float | None) -> str:
    """Minutes as people read them: "42 min" under two hours, "3.5 h" above."""
    if value is None:
        return "no data"
    if value < 120:
        return f"{value:.0f} min"
    return f"{value / 60:.1f} h"


@register.filter
def scope_label(scope: Scope) -> str:
    if scope.kind == "all":
        return "every team and service"
    if scope.kind == "severity":
        return f"severity {scope.slug.upper()}"
    return f"{scope.kind} {scope.slug}"


@register.filter
def period_label(period: Period) -> str:
    if period.is_month:
        return f"{period.start:%B %Y}"
    return period.label


@register.filter
def so_far(period: Period) -> str:
    """What marks the period still running, such as ", so far (to 5 December)"; nothing for
    one that has ended. Early in a month its figures rest on a few days, and a reader should not
    take them for the whole month's."""
    today = timezone.now().date()
    if not period.start <= today < period.end:
        return ""
    return f", so far (to {today.day} {today:%B})"
