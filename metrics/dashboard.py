"""What the dashboard shows, built from stored snapshots: cards, trends and their CSV rows.

Pages round here and nowhere else: snapshots keep values unrounded (DESIGN.md, KPI contract).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from metrics.forms import DashboardFilters
from metrics.kpis import KPIS, KpiDefinition
from metrics.models import KpiSnapshot
from metrics.periods import Period, Scope
from metrics.selectors import kpi_snapshots_by_period

# Whether a rise is good news, for colouring the change against the previous period.
HIGHER_IS_BETTER = {"lessons_documented": True, "repeat_rate": False, "time_saved": True}


def format_value(unit: str, value: float | None) -> str:
    """A figure as people read it: a fraction as a percentage, hours with one decimal."""
    if value is None:
        return "no data"
    if unit == "fraction":
        return f"{value * 100:.1f} %"
    return f"{value:.1f} h"


def format_count(value: float) -> str:
    return f"{value:.1f}" if value != int(value) else str(int(value))


def chart_value(unit: str, value: float | None) -> float | None:
    """The number a chart plots: percentages for fractions, hours otherwise, rounded."""
    if value is None:
        return None
    return round(value * 100, 2) if unit == "fraction" else round(value, 2)


def drill_down_query(*, kpi: str, period: Period, scope: Scope) -> str:
    return urlencode({"kpi": kpi, "period": f"{period.start:%Y-%m}", "scope": scope.key})


def drill_down_url(*, kpi: str, period: Period, scope: Scope) -> str:
    query = drill_down_query(kpi=kpi, period=period, scope=scope)
    return f"{reverse('metrics:kpi_drill_down')}?{query}"


@dataclass(frozen=True)
class Change:
    text: str
    tone: str = ""  # "good", "bad" or ""


def change_between(
    definition: KpiDefinition, current: float | None, before: float | None
) -> Change:
    if current is None or before is None:
        return Change("no figure to compare with")
    difference = current - before
    if definition.unit == "fraction":
        amount = f"{abs(difference) * 100:.1f} percentage points"
    else:
        amount = f"{abs(difference):.1f} h"
    if round(difference, 6) == 0:
        return Change("no change")
    rose = difference > 0
    good = rose == HIGHER_IS_BETTER.get(definition.key, True)
    return Change(f"{'up' if rose else 'down'} {amount}", "good" if good else "bad")


@dataclass(frozen=True)
class Detail:
    """One line under a card's figure; `url` links it to the incidents behind it."""

    label: str
    text: str
    url: str = ""


@dataclass
class KpiCard:
    definition: KpiDefinition
    period: Period
    snapshot: KpiSnapshot | None
    previous: KpiSnapshot | None
    url: str
    details: list[Detail] = field(default_factory=list)

    @property
    def computed(self) -> bool:
        return self.snapshot is not None

    @property
    def value_text(self) -> str:
        if self.snapshot is None:
            return "not computed yet"
        return format_value(self.definition.unit, self.snapshot.value)

    @property
    def change(self) -> Change:
        current = self.snapshot.value if self.snapshot else None
        before = self.previous.value if self.previous else None
        return change_between(self.definition, current, before)


def _lessons_details(snapshot: KpiSnapshot) -> list[Detail]:
    return [
        Detail(
            "Documented",
            f"{format_count(snapshot.numerator)} of {format_count(snapshot.denominator)} "
            "resolved incidents",
        )
    ]


def _share(part: int, whole: int) -> str:
    if not whole:
        return f"{part} of {whole} (no data)"
    return f"{part} of {whole} ({part / whole * 100:.1f} %)"


def _repeat_details(snapshot: KpiSnapshot) -> list[Detail]:
    extra = snapshot.extra or {}
    recurrence = extra.get("recurrence") or {}
    with_article = recurrence.get("with_article") or {}
    without_article = recurrence.get("without_article") or {}
    reduction = extra.get("reduction")
    return [
        Detail(
            "Repeats",
            f"{format_count(snapshot.numerator)} of {format_count(snapshot.denominator)} "
            "incidents started",
        ),
        Detail(
            "Baseline (6 months before)",
            f"{format_value('fraction', extra.get('baseline'))}"
            f" — {extra.get('baseline_repeats', 0)} of {extra.get('baseline_incidents', 0)}",
        ),
        Detail(
            "Reduction against the baseline",
            "no data" if reduction is None else f"{reduction * 100:.1f} %",
        ),
        Detail(
            "Failure modes that had a published article recurred",
            _share(with_article.get("recurred", 0), with_article.get("at_risk", 0)),
        ),
        Detail(
            "Failure modes without an article recurred",
            _share(without_article.get("recurred", 0), without_article.get("at_risk", 0)),
        ),
    ]


def _time_saved_details(snapshot: KpiSnapshot) -> list[Detail]:
    extra = snapshot.extra or {}
    without_baseline = extra.get("without_baseline", 0)
    rests_on = f"{format_count(snapshot.denominator)} incidents"
    if without_baseline:
        rests_on += f" ({without_baseline} more had a helpful article but no baseline)"
    minutes = extra.get("estimated_minutes_saved", 0)
    estimates = extra.get("estimates", 0)
    return [
        Detail("Rests on", rests_on),
        Detail(
            "Responders' own estimates (not part of the figure)",
            f"{minutes} minutes ({minutes / 60:.1f} h) over {estimates} article uses",
        ),
    ]


DETAILS = {
    "lessons_documented": _lessons_details,
    "repeat_rate": _repeat_details,
    "time_saved": _time_saved_details,
}


@dataclass(frozen=True)
class TrendRow:
    period: Period
    snapshot: KpiSnapshot | None
    value_text: str
    url: str


@dataclass(frozen=True)
class Trend:
    definition: KpiDefinition
    rows: list[TrendRow]

    @property
    def plotted(self) -> list[float | None]:
        unit = self.definition.unit
        return [
            chart_value(unit, row.snapshot.value if row.snapshot else None) for row in self.rows
        ]

    @property
    def has_data(self) -> bool:
        return any(value is not None for value in self.plotted)


@dataclass(frozen=True)
class Dashboard:
    filters: DashboardFilters
    cards: list[KpiCard]
    trends: list[Trend]
    computed_at: datetime | None  # the oldest figure shown: how fresh the page is, honestly
    missing: int  # figures shown that have no snapshot yet

    def chart_data(self) -> dict[str, Any]:
        """What static/js/metrics-dashboard.js draws (rendered with json_script)."""
        return {
            "labels": [f"{period.start:%Y-%m}" for period in self.filters.months],
            "charts": [
                {
                    "key": trend.definition.key,
                    "title": trend.definition.title,
                    "unit": "%" if trend.definition.unit == "fraction" else "h",
                    "values": trend.plotted,
                    "urls": [row.url for row in trend.rows],
                }
                for trend in self.trends
            ],
        }


def dashboard_build(*, filters: DashboardFilters) -> Dashboard:
    """The headline cards and trends from stored snapshots, in one query; nothing computed."""
    scope = filters.scope
    periods = [*filters.months]
    if filters.previous not in periods:
        periods.insert(0, filters.previous)
    found = kpi_snapshots_by_period(kpis=list(KPIS), scope=scope, periods=periods)
    cards: list[KpiCard] = []
    trends: list[Trend] = []
    for key, definition in KPIS.items():
        snapshot = found.get((key, filters.period))
        card = KpiCard(
            definition=definition,
            period=filters.period,
            snapshot=snapshot,
            previous=found.get((key, filters.previous)),
            url=drill_down_url(kpi=key, period=filters.period, scope=scope),
        )
        if snapshot is not None and snapshot.value is not None:
            card.details = DETAILS[key](snapshot)
        cards.append(card)
        rows = []
        for period in filters.months:
            row_snapshot = found.get((key, period))
            rows.append(
                TrendRow(
                    period=period,
                    snapshot=row_snapshot,
                    value_text=(
                        format_value(definition.unit, row_snapshot.value)
                        if row_snapshot
                        else "not computed yet"
                    ),
                    url=drill_down_url(kpi=key, period=period, scope=scope),
                )
            )
        trends.append(Trend(definition=definition, rows=rows))
    shown = [row.snapshot for trend in trends for row in trend.rows]
    stored = [snapshot for snapshot in shown if snapshot is not None]
    return Dashboard(
        filters=filters,
        cards=cards,
        trends=trends,
        computed_at=min((snapshot.computed_at for snapshot in stored), default=None),
        missing=len(shown) - len(stored),
    )


def trend_csv_rows(dashboard: Dashboard, *, kpi: str | None = None) -> list[list[Any]]:
    """Every chart's data (or one chart's, with `kpi`): one row per KPI and month."""
    rows: list[list[Any]] = [
        ["kpi", "period", "scope", "value", "numerator", "denominator", "unit", "computed_at"]
    ]
    for trend in dashboard.trends:
        if kpi and trend.definition.key != kpi:
            continue
        for row in trend.rows:
            snapshot = row.snapshot
            rows.append(
                [
                    trend.definition.key,
                    f"{row.period.start:%Y-%m}",
                    dashboard.filters.scope.key,
                    "" if snapshot is None or snapshot.value is None else snapshot.value,
                    "" if snapshot is None else snapshot.numerator,
                    "" if snapshot is None else snapshot.denominator,
                    trend.definition.unit,
                    "" if snapshot is None else snapshot.computed_at.isoformat(),
                ]
            )
    return rows
