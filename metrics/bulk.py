"""Every KPI of one period for every scope at once, the way the jobs compute them.

The per-figure functions in metrics.kpis answer one (period, scope) and stay the readable
definition. Recomputing 13 months × every team, service and severity that way would repeat the
same per-incident work for each scope, so the jobs compute each incident's facts once — whether
it counts, whether it is in the numerator, what it adds — into a temporary table, and then
aggregate that table with one GROUP BY per kind of scope. Tests check that both paths agree.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from kbsite.models import Service, Team
from knowledge.models import ArticleState
from metrics.kpis import (
    LOOK_BACK,
    MIN_COMPARABLE,
    KpiResult,
    _epoch,
    _time_saved_sql,
    lessons_severities,
    ratio,
)
from metrics.periods import SEVERITIES, Period, Scope
from postmortems.models import Finding, Incident, PostmortemState

_table_numbers = itertools.count()

# (kind, the SQL that names the scope's slug, the joins it needs)
SCOPE_GROUPS = [
    ("all", "'all'", ""),
    ("team", "tm.slug", "JOIN kbsite_team tm ON tm.id = f.team_id"),
    ("severity", "f.severity", ""),
    (
        "service",
        "sv.slug",
        "JOIN postmortems_incident_services ps ON ps.incident_id = f.id "
        "JOIN kbsite_service sv ON sv.id = ps.service_id",
    ),
]


def _month_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"
    return f"strftime('%%Y-%%m', {column})"


def _id_list_sql(condition: str) -> str:
    """Ids of the group's rows matching `condition`, comma separated (NULLs are skipped)."""
    if connection.vendor == "postgresql":
        return f"STRING_AGG(CASE WHEN {condition} THEN CAST(f.id AS text) END, ',')"
    return f"GROUP_CONCAT(CASE WHEN {condition} THEN f.id END)"


def _ids(text: str | None) -> list[int]:
    return sorted(int(pk) for pk in text.split(",")) if text else []


@contextmanager
def _facts_table(select_sql: str, params: Any) -> Iterator[str]:
    """A temporary table of (id, month, team_id, severity, counted, flag, amount)."""
    name = f"kpi_facts_{next(_table_numbers)}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {name} AS {select_sql}", params)
        try:
            yield name
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


@contextmanager
def _failure_modes_table(*, start: datetime, end: datetime) -> Iterator[str]:
    """(service, category, start time, incident) of every categorised incident started in
    [start, end), indexed for "an incident of this service and category started between t1
    and t2" — the question the repeat rule asks once per incident. Without it each lookup walks
    every incident of the category; with it, it is one short index range."""
    name = f"kpi_modes_{next(_table_numbers)}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {name} AS "
            f"SELECT ps.service_id AS service_id, i.root_cause_category_id AS category_id, "
            f"{_epoch('i.started_at')} AS started, i.id AS incident_id "
            "FROM postmortems_incident i "
            "JOIN postmortems_incident_services ps ON ps.incident_id = i.id "
            "WHERE i.root_cause_category_id IS NOT NULL "
            "AND i.started_at >= %(start)s AND i.started_at < %(end)s",
            {"start": _db_time(start), "end": _db_time(end)},
        )
        cursor.execute(f"CREATE INDEX {name}_lookup ON {name} (service_id, category_id, started)")
        # Temporary tables have no statistics until analysed; without them PostgreSQL plans a
        # sequential scan of this table per incident.
        cursor.execute(f"ANALYZE {name}")
        try:
            yield name
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


def _services_of(incident_column: str) -> str:
    """`= ANY(ARRAY(...))` on PostgreSQL, so the list can drive an index; IN on SQLite."""
    services = (
        "SELECT service_id FROM postmortems_incident_services "
        f"WHERE incident_id = {incident_column}"
    )
    if connection.vendor == "postgresql":
        return f"= ANY(ARRAY({services}))"
    return f"IN ({services})"


def _fence() -> str:
    """A subquery fence: the planner keeps the subquery whole instead of inlining it."""
    return "OFFSET 0" if connection.vendor == "postgresql" else "LIMIT -1 OFFSET 0"


def _db_time(moment: datetime) -> Any:
    """A datetime as this database compares it with stored values."""
    return connection.ops.adapt_datetimefield_value(moment)


@dataclass
class Group:
    rows: int
    counted: float
    amount: float
    ids: list[int]
    numerator_ids: list[int]
    sums: dict[str, float]


def _grouped(table: str, *, extra_sums: tuple[str, ...] = ()) -> dict[tuple[str, str], Group]:
    """(month, scope key) -> the group's sums and ids, for every kind of scope."""
    groups: dict[tuple[str, str], Group] = {}
    extra_sql = "".join(f", SUM(f.{column})" for column in extra_sums)
    with connection.cursor() as cursor:
        for kind, key_sql, joins in SCOPE_GROUPS:
            cursor.execute(
                f"SELECT f.month, {key_sql}, COUNT(*), SUM(f.counted), SUM(f.amount), "
                f"{_id_list_sql('f.counted = 1')}, {_id_list_sql('f.counted = 1 AND f.flag = 1')}"
                f"{extra_sql} FROM {table} f {joins} GROUP BY 1, 2"
            )
            for row in cursor.fetchall():
                month, slug, rows, counted, amount, ids, numerator_ids = row[:7]
                scope_key = "all" if kind == "all" else f"{kind}:{slug}"
                groups[(month, scope_key)] = Group(
                    rows=int(rows),
                    counted=float(counted or 0),
                    amount=float(amount or 0),
                    ids=_ids(ids),
                    numerator_ids=_ids(numerator_ids),
                    sums={
                        name: float(value or 0)
                        for name, value in zip(extra_sums, row[7:], strict=True)
                    },
                )
    return groups


def _queryset_sql(queryset: QuerySet[Any]) -> tuple[str, Any]:
    sql, params = queryset.query.sql_with_params()
    return sql, params


def _facts_from_queryset(
    queryset: QuerySet[Incident], *, month_of: str, flag: str
) -> tuple[str, Any]:
    inner, params = _queryset_sql(queryset.values("pk", "team_id", "severity", month_of, flag))
    select = (
        f"SELECT raw.pk AS id, {_month_sql('raw.' + month_of)} AS month, raw.team_id AS team_id, "
        f"raw.severity AS severity, 1 AS counted, CASE WHEN raw.{flag} THEN 1 ELSE 0 END AS flag, "
        f"CASE WHEN raw.{flag} THEN 1 ELSE 0 END AS amount FROM ({inner}) raw"
    )
    return select, params


def _month_key(period: Period) -> str:
    return f"{period.start:%Y-%m}"


def bulk_lessons_documented(*, period: Period) -> dict[str, KpiResult]:
    documented = Finding.objects.filter(
        postmortem__incident_id=OuterRef("pk"),
        postmortem__state=PostmortemState.PUBLISHED,
        article__isnull=False,
    )
    incidents = Incident.objects.filter(
        resolved_at__gte=period.start_at,
        resolved_at__lt=period.end_at,
        severity__in=lessons_severities(),
    ).annotate(documented=Exists(documented))
    select, params = _facts_from_queryset(incidents, month_of="resolved_at", flag="documented")
    with _facts_table(select, params) as table:
        groups = _grouped(table)
    month = _month_key(period)
    return {
        scope: KpiResult(
            value=ratio(len(group.numerator_ids), group.counted),
            numerator=len(group.numerator_ids),
            denominator=group.counted,
            incidents=_drill(group),
        )
        for (group_month, scope), group in groups.items()
        if group_month == month
    }


def _drill(group: Group) -> list[tuple[int, bool]]:
    numerator = set(group.numerator_ids)
    return [(pk, pk in numerator) for pk in group.ids]


def _repeat_facts_sql(modes: str) -> str:
    """Each incident started in the window, with flag = it is a repeat: `repeat_of` set, or an
    incident of one of its services and its category started in the 180 days before it, the
    pair not rejected (metrics.kpis.incidents_with_repeat_flag says the same with the ORM)."""
    # One index range per incident on (service, category, start): the incident's services go
    # in as a list, so they lead the index instead of being joined afterwards.
    rule_match = (
        f"EXISTS (SELECT 1 FROM {modes} e WHERE e.service_id {_services_of('i.id')} "
        "AND e.category_id = i.root_cause_category_id "
        f"AND e.started >= {_epoch('i.started_at')} - %(look_back)s "
        f"AND e.started < {_epoch('i.started_at')} "
        "AND NOT EXISTS (SELECT 1 FROM postmortems_repeatrejection r "
        "WHERE r.incident_id = i.id AND r.earlier_id = e.incident_id))"
    )
    flag = f"CASE WHEN i.repeat_of_id IS NOT NULL OR {rule_match} THEN 1 ELSE 0 END"
    return (
        "SELECT facts.*, facts.flag AS amount FROM ("
        f"SELECT i.id AS id, {_month_sql('i.started_at')} AS month, i.team_id AS team_id, "
        f"i.severity AS severity, 1 AS counted, {flag} AS flag "
        "FROM postmortems_incident i "
        # The fence keeps the subquery whole, so `flag` is computed once per incident.
        f"WHERE i.started_at >= %(start)s AND i.started_at < %(end)s {_fence()}) facts"
    )


def bulk_repeat_rate(*, period: Period) -> dict[str, KpiResult]:
    window = period.months_before(6)
    with _failure_modes_table(start=window.start_at - LOOK_BACK, end=period.end_at) as modes:
        params = {
            "look_back": LOOK_BACK.total_seconds(),
            "start": _db_time(window.start_at),
            "end": _db_time(period.end_at),
        }
        with _facts_table(_repeat_facts_sql(modes), params) as table:
            groups = _grouped(table)
        recurrence = bulk_recurrence(period=period, modes=modes)
    month = _month_key(period)
    baseline_months = {f"{day:%Y-%m}" for day in _month_starts(window.start, window.end)}
    empty = Group(rows=0, counted=0, amount=0, ids=[], numerator_ids=[], sums={})
    results = {}
    # A scope without incidents this month still has a baseline and a recurrence split.
    for scope in {scope for _, scope in groups} | set(recurrence):
        group = groups.get((month, scope), empty)
        repeats, total = len(group.numerator_ids), group.counted
        in_baseline = [g for (m, s), g in groups.items() if s == scope and m in baseline_months]
        base_repeats = sum(len(g.numerator_ids) for g in in_baseline)
        base_total = sum(g.counted for g in in_baseline)
        rate, baseline = ratio(repeats, total), ratio(base_repeats, base_total)
        results[scope] = KpiResult(
            value=rate,
            numerator=repeats,
            denominator=total,
            incidents=_drill(group),
            extra={
                "baseline": baseline,
                "reduction": 1 - rate / baseline if rate is not None and baseline else None,
                "baseline_repeats": base_repeats,
                "baseline_incidents": int(base_total),
                "recurrence": recurrence.get(scope, _empty_recurrence()),
            },
        )
    return results


def _month_starts(start: date, end: date) -> list[date]:
    from metrics.periods import add_months

    months, day = [], start
    while day < end:
        months.append(day)
        day = add_months(day, 1)
    return months


def _empty_recurrence() -> dict[str, dict[str, int]]:
    return {
        "with_article": {"at_risk": 0, "recurred": 0},
        "without_article": {"at_risk": 0, "recurred": 0},
    }


def bulk_recurrence(*, period: Period, modes: str) -> dict[str, dict[str, dict[str, int]]]:
    """The with/without-article recurrence split of metrics.kpis, for every scope at once.

    At risk: categorised incidents started in the 180 days before the period; counted = their
    postmortem had produced a published article before the period; flag = an incident of the
    period repeats them (same category, a shared service, within 180 days, not rejected).
    """
    had_article = (
        "EXISTS (SELECT 1 FROM postmortems_finding f "
        "JOIN postmortems_postmortem pm ON pm.id = f.postmortem_id "
        "JOIN knowledge_article a ON a.id = f.article_id "
        "WHERE pm.incident_id = e.id AND a.state = %(published)s AND a.published_at < %(start)s)"
    )
    recurred = (
        f"EXISTS (SELECT 1 FROM {modes} later WHERE later.service_id {_services_of('e.id')} "
        "AND later.category_id = e.root_cause_category_id "
        "AND later.started >= %(start_epoch)s AND later.started < %(end_epoch)s "
        f"AND later.started < {_epoch('e.started_at')} + %(look_back)s "
        "AND NOT EXISTS (SELECT 1 FROM postmortems_repeatrejection r "
        "WHERE r.incident_id = later.incident_id AND r.earlier_id = e.id))"
    )
    select = (
        "SELECT e.id AS id, 'x' AS month, e.team_id AS team_id, e.severity AS severity, "
        f"CASE WHEN {had_article} THEN 1 ELSE 0 END AS counted, "
        f"CASE WHEN {recurred} THEN 1 ELSE 0 END AS flag, 1 AS amount "
        "FROM postmortems_incident e "
        "WHERE e.root_cause_category_id IS NOT NULL "
        "AND e.started_at >= %(risk_start)s AND e.started_at < %(start)s"
    )
    params = {
        "published": ArticleState.PUBLISHED.value,
        "start": _db_time(period.start_at),
        "risk_start": _db_time(period.start_at - LOOK_BACK),
        "start_epoch": period.start_at.timestamp(),
        "end_epoch": period.end_at.timestamp(),
        "look_back": LOOK_BACK.total_seconds(),
    }
    split: dict[str, dict[str, dict[str, int]]] = {}
    with _facts_table(select, params) as table, connection.cursor() as cursor:
        for kind, key_sql, joins in SCOPE_GROUPS:
            cursor.execute(
                f"SELECT {key_sql}, f.counted, COUNT(*), SUM(f.flag) FROM {table} f {joins} "
                "GROUP BY 1, 2"
            )
            for slug, had, at_risk_count, recurred_count in cursor.fetchall():
                scope_key = "all" if kind == "all" else f"{kind}:{slug}"
                bucket = split.setdefault(scope_key, _empty_recurrence())
                side = "with_article" if had else "without_article"
                bucket[side] = {"at_risk": int(at_risk_count), "recurred": int(recurred_count or 0)}
    return split


def bulk_time_saved(*, period: Period) -> dict[str, KpiResult]:
    params = {
        "true": True,
        "start": period.start_at.timestamp(),
        "end": period.end_at.timestamp(),
        "window": LOOK_BACK.total_seconds(),
        "minimum": MIN_COMPARABLE,
    }
    helpful_estimates = (
        "FROM postmortems_articleuse u WHERE u.incident_id = r.id AND u.helped = %(true)s "
        "AND u.minutes_saved IS NOT NULL"
    )
    # One row per incident resolved in the period with a helpful use; counted = it has a
    # baseline; amount = seconds saved; minutes and estimates = responders' own estimates.
    select = (
        _time_saved_sql("")
        + "SELECT r.id AS id, 'x' AS month, i.team_id AS team_id, i.severity AS severity, "
        "CASE WHEN r.baseline IS NULL THEN 0 ELSE 1 END AS counted, "
        "CASE WHEN r.saved > 0 THEN 1 ELSE 0 END AS flag, r.saved AS amount, "
        f"(SELECT COALESCE(SUM(u.minutes_saved), 0) {helpful_estimates}) AS minutes, "
        f"(SELECT COUNT(*) {helpful_estimates}) AS estimates "
        "FROM result r JOIN postmortems_incident i ON i.id = r.id"
    )
    with _facts_table(select, params) as table:
        groups = _grouped(table, extra_sums=("minutes", "estimates"))
    results = {}
    for (_, scope), group in groups.items():
        hours = group.amount / 3600
        results[scope] = KpiResult(
            value=hours if group.counted else None,
            numerator=hours,
            denominator=group.counted,
            incidents=_drill(group),
            extra={
                "helped_incidents": group.rows,
                "without_baseline": group.rows - int(group.counted),
                "estimated_minutes_saved": int(group.sums["minutes"]),
                "estimates": int(group.sums["estimates"]),
            },
        )
    return results


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


BULK = {
    "lessons_documented": bulk_lessons_documented,
    "repeat_rate": bulk_repeat_rate,
    "time_saved": bulk_time_saved,
}


def scope_from_key(key: str) -> Scope:
    kind, _, slug = key.partition(":")
    return Scope(kind=kind, slug=slug)
