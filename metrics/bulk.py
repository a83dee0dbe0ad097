"""Every KPI of one period for every scope at once, the way the jobs compute them.

The per-figure functions in metrics.kpis answer one (period, scope) and stay the readable
definition. Recomputing 13 months × every team, service and severity that way would repeat the
same per-incident work for each scope, so the jobs put each incident's facts — whether it
counts, whether it is in the numerator, what it adds — into a temporary table, and then
aggregate that table with one GROUP BY per kind of scope. The expensive facts (is it a repeat,
what is its baseline) are read from IncidentFacts, which metrics.facts keeps current; the
callers refresh it first. Tests check that both paths agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from kbsite.models import Service, Team
from metrics.kpis import (
    BASELINE_MONTHS,
    LOOK_BACK,
    KpiResult,
    lessons_severities,
    ratio,
)
from metrics.models import IncidentFacts
from metrics.periods import SEVERITIES, Period, Scope, add_months, month_period
from metrics.sql import db_time, month_index_sql, temporary_table

FACTS = IncidentFacts._meta.db_table


def scope_groups() -> list[tuple[str, str, str]]:
    """(kind, the SQL that names the scope's slug, the joins it needs) for each kind of scope,
    over a table `f` of incident rows. A service scope reads the incident's services from the
    row's stored list, rather than joining every incident's services."""
    if connection.vendor == "postgresql":
        services = (
            "CROSS JOIN LATERAL unnest(string_to_array(NULLIF(f.service_ids, ''), ',')::int[]) "
            "AS fs(service_id) JOIN kbsite_service sv ON sv.id = fs.service_id"
        )
    else:
        services = (
            "JOIN json_each('[' || f.service_ids || ']') fs "
            "JOIN kbsite_service sv ON sv.id = fs.value"
        )
    return [
        ("all", "'all'", ""),
        ("team", "tm.slug", "JOIN kbsite_team tm ON tm.id = f.team_id"),
        ("severity", "f.severity", ""),
        ("service", "sv.slug", services),
    ]


def _drill_list_sql() -> str:
    """The ids of the group's rows, comma separated, each negated when the row is in the
    numerator: one aggregate carries the whole drill-down. PostgreSQL lists them by id, which
    leaves _drill_list's sort next to nothing to do."""
    signed = "CASE WHEN f.flag = 1 THEN -f.id ELSE f.id END"
    if connection.vendor == "postgresql":
        return f"STRING_AGG(CAST({signed} AS text), ',' ORDER BY f.id)"
    return f"GROUP_CONCAT({signed})"


def _drill_list(text: str | None) -> list[tuple[int, bool]]:
    """(incident id, in the numerator) by id, from _drill_list_sql's text."""
    if not text:
        return []
    signed = sorted(map(int, text.split(",")), key=abs)
    return [(value, False) if value > 0 else (-value, True) for value in signed]


@dataclass
class Group:
    rows: int
    counted: float
    flagged: int  # counted rows in the numerator
    amount: float
    drill: list[tuple[int, bool]]  # the counted incidents, by id, and whether in the numerator
    sums: dict[str, float]


def _label(month_index: int) -> str:
    return f"{month_index // 12:04d}-{month_index % 12 + 1:02d}"


def _index(period: Period) -> int:
    return period.start.year * 12 + period.start.month - 1


def _grouped(
    select_sql: str,
    params: dict[str, Any],
    *,
    extra_sums: tuple[str, ...] = (),
    listed_from: int = 0,
) -> dict[tuple[str, str], Group]:
    """(month, scope key) -> the group's sums and drill-down, for every kind of scope, from the
    incident rows of `select_sql`, whose `month` is a month index (year * 12 + month - 1);
    drill-downs only for the months from index `listed_from` on — the others are read for
    their counts. Months are answered as 'YYYY-MM'.

    Counts come from the rows folded first (incidents alike in month, team, severity, services
    and flags become one row), so each kind of scope groups a few thousand rows; drill-down
    lists come from the listed months' rows alone.
    """
    groups: dict[tuple[str, str], Group] = {}
    extras = "".join(f", SUM({column}) AS {column}" for column in extra_sums)
    folded_sql = (
        "SELECT month, team_id, severity, service_ids, counted, flag, COUNT(*) AS incidents, "
        f"SUM(amount) AS amount{extras} FROM ({select_sql}) r "
        "GROUP BY month, team_id, severity, service_ids, counted, flag"
    )
    listed_sql = (
        "SELECT id, month, team_id, severity, service_ids, flag "
        f"FROM ({select_sql}) r WHERE counted = 1 AND month >= %(listed_from)s"
    )
    listed_params = {**params, "listed_from": listed_from}
    with (
        temporary_table(folded_sql, params, prefix="kpi_folded") as folded,
        temporary_table(listed_sql, listed_params, prefix="kpi_listed") as listed,
        connection.cursor() as cursor,
    ):
        extra_sql = "".join(f", SUM(f.{column})" for column in extra_sums)
        for kind, key_sql, joins in scope_groups():
            cursor.execute(
                f"SELECT f.month, {key_sql}, SUM(f.incidents), SUM(f.counted * f.incidents), "
                "SUM(f.amount), SUM(CASE WHEN f.counted = 1 AND f.flag = 1 "
                f"THEN f.incidents ELSE 0 END){extra_sql} FROM {folded} f {joins} GROUP BY 1, 2"
            )
            for row in cursor.fetchall():
                month, slug, rows, counted, amount, flagged = row[:6]
                scope_key = "all" if kind == "all" else f"{kind}:{slug}"
                groups[(_label(month), scope_key)] = Group(
                    rows=int(rows),
                    counted=float(counted or 0),
                    flagged=int(flagged or 0),
                    amount=float(amount or 0),
                    drill=[],
                    sums={
                        name: float(value or 0)
                        for name, value in zip(extra_sums, row[6:], strict=True)
                    },
                )
            cursor.execute(
                f"SELECT f.month, {key_sql}, {_drill_list_sql()} "
                f"FROM {listed} f {joins} GROUP BY 1, 2"
            )
            for month, slug, drill in cursor.fetchall():
                scope_key = "all" if kind == "all" else f"{kind}:{slug}"
                groups[(_label(month), scope_key)].drill = _drill_list(drill)
    return groups


Months = dict[str, dict[str, KpiResult]]  # month label -> scope key -> figure


def _span(periods: list[Period]) -> dict[str, Any]:
    """The calendar months `periods` (consecutive) cover, as query parameters."""
    return {"start": db_time(min(periods).start_at), "end": db_time(max(periods).end_at)}


def lessons_documented_months(*, periods: list[Period]) -> Months:
    severities = lessons_severities()
    params = _span(periods)
    params.update({f"severity_{n}": severity for n, severity in enumerate(severities)})
    documented = "CASE WHEN f.documented THEN 1 ELSE 0 END"
    # Incidents resolved in the period with a severity that requires a postmortem; flag = its
    # postmortem is published with a finding linked to, or spawning, an article (IncidentFacts).
    select = (
        f"SELECT f.incident_id AS id, {month_index_sql('f.resolved_at')} AS month, "
        "f.team_id AS team_id, f.severity AS severity, f.service_ids AS service_ids, "
        f"1 AS counted, {documented} AS flag, {documented} AS amount FROM {FACTS} f "
        "WHERE f.resolved_at >= %(start)s AND f.resolved_at < %(end)s AND f.severity IN ("
        + ", ".join(f"%(severity_{n})s" for n in range(len(severities)))
        + ")"
    )
    groups = _grouped(select, params)
    months: Months = {period.label: {} for period in periods}
    for (month, scope), group in groups.items():
        months[month][scope] = KpiResult(
            value=ratio(group.flagged, group.counted),
            numerator=group.flagged,
            denominator=group.counted,
            incidents=group.drill,
        )
    return months


def _repeat_facts_sql() -> str:
    """Each incident started in the window, flag = it is a repeat (stored in IncidentFacts:
    `repeat_of` set, or a match by the rule — metrics.kpis.incidents_with_repeat_flag)."""
    repeat = "CASE WHEN f.is_repeat THEN 1 ELSE 0 END"
    return (
        "SELECT f.incident_id AS id, f.start_month AS month, f.team_id AS team_id, "
        f"f.severity AS severity, f.service_ids AS service_ids, 1 AS counted, "
        f"{repeat} AS flag, {repeat} AS amount "
        f"FROM {FACTS} f WHERE f.started_at >= %(start)s AND f.started_at < %(end)s"
    )


def repeat_rate_months(*, periods: list[Period]) -> Months:
    """Every period's figures from one grouping of the incidents started from six months
    before the first period to the end of the last: each month's counts serve as its own
    figure and in the baselines of the six months after it."""
    first = min(periods)
    window = first.months_before(BASELINE_MONTHS)
    params = {**_span(periods), "start": db_time(window.start_at)}
    # Drill-down lists only for the periods; the months before serve baselines alone.
    groups = _grouped(_repeat_facts_sql(), params, listed_from=_index(first))
    empty = Group(rows=0, counted=0, flagged=0, amount=0, drill=[], sums={})
    scopes = {scope for _, scope in groups}
    months: Months = {}
    for period in periods:
        recurrence = bulk_recurrence(period=period)
        baseline_months = [p.label for p in _months_of(period.months_before(BASELINE_MONTHS))]
        results = months[period.label] = {}
        # A scope without incidents this month still has a baseline and a recurrence split.
        for scope in scopes | set(recurrence):
            group = groups.get((period.label, scope), empty)
            in_baseline = [groups.get((label, scope), empty) for label in baseline_months]
            base_repeats = sum(g.flagged for g in in_baseline)
            base_total = int(sum(g.counted for g in in_baseline))
            if not (group.counted or base_total or scope in recurrence):
                continue
            rate, baseline = ratio(group.flagged, group.counted), ratio(base_repeats, base_total)
            results[scope] = KpiResult(
                value=rate,
                numerator=group.flagged,
                denominator=group.counted,
                incidents=group.drill,
                extra={
                    "baseline": baseline,
                    "reduction": 1 - rate / baseline if rate is not None and baseline else None,
                    "baseline_repeats": base_repeats,
                    "baseline_incidents": base_total,
                    "recurrence": recurrence.get(scope, _empty_recurrence()),
                },
            )
    return months


def _months_of(span: Period) -> list[Period]:
    months, day = [], span.start
    while day < span.end:
        months.append(month_period(day))
        day = add_months(day, 1)
    return months


def _empty_recurrence() -> dict[str, dict[str, int]]:
    return {
        "with_article": {"at_risk": 0, "recurred": 0},
        "without_article": {"at_risk": 0, "recurred": 0},
    }


def bulk_recurrence(*, period: Period) -> dict[str, dict[str, dict[str, int]]]:
    """The with/without-article recurrence split of metrics.kpis, for every scope at once.

    At risk: categorised incidents started in the 180 days before the period; counted = their
    postmortem had produced a published article before the period (knowledge_since); flag = an
    incident of the period repeats them (same category, a shared service, within 180 days, not
    rejected): the period's bit in their stored recurred_months.
    """
    period_month = _index(period)
    select = (
        "SELECT e.incident_id AS id, 'x' AS month, e.team_id AS team_id, e.severity AS severity, "
        "e.service_ids AS service_ids, "
        "CASE WHEN e.knowledge_since < %(start)s THEN 1 ELSE 0 END AS counted, "
        "(e.recurred_months >> (%(period_month)s - e.start_month)) & 1 AS flag, 1 AS amount "
        f"FROM {FACTS} e WHERE e.category_id IS NOT NULL "
        "AND e.started_at >= %(risk_start)s AND e.started_at < %(start)s"
    )
    params = {
        "start": db_time(period.start_at),
        "risk_start": db_time(period.start_at - LOOK_BACK),
        "period_month": period_month,
    }
    # Counts are all it needs: incidents alike in team, severity, services and both flags are
    # folded into one row first, so each kind of scope groups a few hundred rows, not every
    # incident of six months.
    folded = (
        "SELECT team_id, severity, service_ids, counted, flag, COUNT(*) AS incidents "
        f"FROM ({select}) e GROUP BY team_id, severity, service_ids, counted, flag"
    )
    split: dict[str, dict[str, dict[str, int]]] = {}
    with temporary_table(folded, params) as table, connection.cursor() as cursor:
        for kind, key_sql, joins in scope_groups():
            cursor.execute(
                f"SELECT {key_sql}, f.counted, SUM(f.incidents), SUM(f.flag * f.incidents) "
                f"FROM {table} f {joins} GROUP BY 1, 2"
            )
            for slug, had, at_risk_count, recurred_count in cursor.fetchall():
                scope_key = "all" if kind == "all" else f"{kind}:{slug}"
                bucket = split.setdefault(scope_key, _empty_recurrence())
                side = "with_article" if had else "without_article"
                bucket[side] = {"at_risk": int(at_risk_count), "recurred": int(recurred_count or 0)}
    return split


def time_saved_months(*, periods: list[Period]) -> Months:
    params = {"true": True, **_span(periods)}
    helpful_estimates = (
        "FROM postmortems_articleuse u WHERE u.incident_id = f.incident_id "
        "AND u.helped = %(true)s AND u.minutes_saved IS NOT NULL"
    )
    saved = (
        "CASE WHEN f.baseline_seconds > f.ttr_seconds "
        "THEN f.baseline_seconds - f.ttr_seconds ELSE 0 END"
    )
    # One row per incident resolved in the period with a helpful use (stored in IncidentFacts);
    # counted = it has a baseline; amount = seconds saved; minutes and estimates = responders'
    # own estimates.
    select = (
        f"SELECT f.incident_id AS id, {month_index_sql('f.resolved_at')} AS month, "
        "f.team_id AS team_id, f.severity AS severity, f.service_ids AS service_ids, "
        "CASE WHEN f.baseline_seconds IS NULL THEN 0 ELSE 1 END AS counted, "
        f"CASE WHEN f.baseline_seconds IS NOT NULL AND {saved} > 0 THEN 1 ELSE 0 END AS flag, "
        f"CASE WHEN f.baseline_seconds IS NULL THEN NULL ELSE {saved} END AS amount, "
        f"(SELECT COALESCE(SUM(u.minutes_saved), 0) {helpful_estimates}) AS minutes, "
        f"(SELECT COUNT(*) {helpful_estimates}) AS estimates "
        f"FROM {FACTS} f WHERE f.helped AND f.resolved_at >= %(start)s AND f.resolved_at < %(end)s"
    )
    groups = _grouped(select, params, extra_sums=("minutes", "estimates"))
    months: Months = {period.label: {} for period in periods}
    for (month, scope), group in groups.items():
        hours = group.amount / 3600
        months[month][scope] = KpiResult(
            value=hours if group.counted else None,
            numerator=hours,
            denominator=group.counted,
            incidents=group.drill,
            extra={
                "helped_incidents": group.rows,
                "without_baseline": group.rows - int(group.counted),
                "estimated_minutes_saved": int(group.sums["minutes"]),
                "estimates": int(group.sums["estimates"]),
            },
        )
    return months


def empty_result(kpi: str) -> KpiResult:
    """A period and scope without incidents: no data."""
    if kpi == "repeat_rate":
        extra: dict[str, Any] = {
            "baseline": None,
            "reduction": None,
            "baseline_repeats": 0,
            "baseline_incidents": 0,
            "recurrence": _empty_recurrence(),
        }
    elif kpi == "time_saved":
        extra = {
            "helped_incidents": 0,
            "without_baseline": 0,
            "estimated_minutes_saved": 0,
            "estimates": 0,
        }
    else:
        extra = {}
    return KpiResult(value=None, numerator=0, denominator=0, incidents=[], extra=extra)


def all_scope_keys() -> list[str]:
    return [
        "all",
        *(f"team:{slug}" for slug in Team.objects.order_by("slug").values_list("slug", flat=True)),
        *(
            f"service:{slug}"
            for slug in Service.objects.order_by("slug").values_list("slug", flat=True)
        ),
        *(f"severity:{severity}" for severity in SEVERITIES),
    ]


# Each KPI for consecutive months and every scope at once, as the jobs compute them.
BULK_MONTHS = {
    "lessons_documented": lessons_documented_months,
    "repeat_rate": repeat_rate_months,
    "time_saved": time_saved_months,
}


def _one_month(kpi: str) -> Callable[..., dict[str, KpiResult]]:
    def compute(*, period: Period) -> dict[str, KpiResult]:
        return BULK_MONTHS[kpi](periods=[period])[period.label]

    return compute


# One month: scope key -> figure (what tests compare with the per-figure definitions).
BULK = {kpi: _one_month(kpi) for kpi in BULK_MONTHS}


def scope_from_key(key: str) -> Scope:
    kind, _, slug = key.partition(":")
    return Scope(kind=kind, slug=slug)
