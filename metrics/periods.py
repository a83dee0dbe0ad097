"""Periods (calendar months in UTC by default, or any date range) and scopes (all, a team, a
service), parsed strictly from what people and programs type."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from kbsite.errors import InvalidInput

MAX_RANGE_DAYS = 366 * 5
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Period:
    """[start, end) in whole UTC days."""

    start: date
    end: date

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time.min, tzinfo=UTC)

    @property
    def label(self) -> str:
        if self.is_month:
            return f"{self.start:%Y-%m}"
        return f"{self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}"

    @property
    def is_month(self) -> bool:
        return self.start.day == 1 and add_months(self.start, 1) == self.end

    def previous(self) -> Period:
        if self.is_month:
            return month_period(add_months(self.start, -1))
        length = self.end - self.start
        return Period(start=self.start - length, end=self.start)

    def months_before(self, count: int) -> Period:
        """The `count` calendar months that end where this period starts."""
        first = date(self.start.year, self.start.month, 1)
        return Period(start=add_months(first, -count), end=self.start)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def month_period(day: date) -> Period:
    first = date(day.year, day.month, 1)
    return Period(start=first, end=add_months(first, 1))


def parse_month(text: str) -> Period:
    match = _MONTH.match((text or "").strip())
    if not match:
        raise InvalidInput("Give the period as YYYY-MM, for example 2026-03.", field="period")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise InvalidInput(f"{text!r} is not a month between 2000-01 and 2100-12.", field="period")
    return month_period(date(year, month, 1))


def parse_range(start: str, end: str) -> Period:
    """An inclusive date range typed as two ISO dates (the end day is included)."""
    try:
        first, last = date.fromisoformat(start.strip()), date.fromisoformat(end.strip())
    except ValueError:
        raise InvalidInput("Dates must look like 2026-03-31.", field="period") from None
    if last < first:
        raise InvalidInput("The end date is before the start date.", field="period")
    if (last - first).days > MAX_RANGE_DAYS:
        raise InvalidInput(
            "The range is longer than five years; choose a shorter one.", field="period"
        )
    return Period(start=first, end=date.fromordinal(last.toordinal() + 1))


def recent_months(*, today: date, count: int) -> list[Period]:
    """The last `count` months, oldest first, the current month included."""
    current = month_period(today)
    return [month_period(add_months(current.start, -offset)) for offset in range(count - 1, -1, -1)]


@dataclass(frozen=True)
class Scope:
    kind: str  # "all", "team", "service" or "severity"
    slug: str = ""

    @property
    def key(self) -> str:
        return "all" if self.kind == "all" else f"{self.kind}:{self.slug}"


ALL = Scope(kind="all")


SEVERITIES = ("sev1", "sev2", "sev3", "sev4")


def parse_scope(text: str | None) -> Scope:
    """`all`, `team:<slug>`, `service:<slug>` or `severity:sev1`…`sev4`; whether the team or
    service exists is checked by the caller."""
    value = (text or "all").strip().lower()
    if value == "all":
        return ALL
    kind, _, slug = value.partition(":")
    valid = (kind in {"team", "service"} and re.fullmatch(r"[-a-z0-9_]{1,100}", slug)) or (
        kind == "severity" and slug in SEVERITIES
    )
    if not valid:
        raise InvalidInput(
            "Scope must be all, team:<slug>, service:<slug> or severity:sev1…sev4.", field="scope"
        )
    return Scope(kind=kind, slug=slug)
