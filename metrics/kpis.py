"""The KPI definitions: each is a documented function of (period, scope), computed with SQL
aggregates. DESIGN.md's "KPI contract" is the specification; the docstrings say it in words and
the dashboard shows them as each figure's method.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)

from kbsite.errors import InvalidInput
from kbsite.models import Service, Team
from knowledge.models import ArticleState
from metrics.periods import Period, Scope
from postmortems.models import ArticleUse, Finding, Incident, PostmortemState, RepeatRejection

LOOK_BACK = timedelta(days=180)
BASELINE_MONTHS = 6
MIN_COMPARABLE = 3


def lessons_severities() -> list[str]:
    return list(getattr(settings, "LESSONS_DOCUMENTED_SEVERITIES", ["sev1", "sev2", "sev3"]))


@dataclass(frozen=True)
class KpiResult:
    value: float | None
    numerator: float
    denominator: float
    # The denominator's incidents, each with whether it counts in the numerator.
    incidents: list[tuple[int, bool]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def ratio(numerator: float, denominator: float) -> float | None:
    """No data (None) when nothing is in the denominator: never 0 %, never an error."""
    return numerator / denominator if denominator else None


def _drill_down(incidents: QuerySet[Incident], flag: str) -> list[tuple[int, bool]]:
    return [(pk, bool(counted)) for pk, counted in incidents.order_by("pk").values_list("pk", flag)]


# --- 1. lessons documented ------------------------------------------------------------------


def kpi_lessons_documented(*, period: Period, scope: Scope) -> KpiResult:
    """Of the incidents resolved in the period with a severity that requires a postmortem
    (SEV1–SEV3 by default), the share whose postmortem is published — as the data stand when the
    figure is computed — with at least one finding linked to, or spawning, a knowledge article."""
    documented = Finding.objects.filter(
        postmortem__incident_id=OuterRef("pk"),
        postmortem__state=PostmortemState.PUBLISHED,
        article__isnull=False,
    )
    incidents = (
        scoped_incidents(scope)
        .filter(
            resolved_at__gte=period.start_at,
            resolved_at__lt=period.end_at,
            severity__in=lessons_severities(),
        )
        .annotate(documented=Exists(documented))
    )
    totals = incidents.aggregate(
        denominator=Count("pk"), numerator=Count("pk", filter=Q(documented=True))
    )
    return KpiResult(
        value=ratio(totals["numerator"], totals["denominator"]),
        numerator=totals["numerator"],
        denominator=totals["denominator"],
        incidents=_drill_down(incidents, "documented"),
    )


# --- 2. repeat incidents --------------------------------------------------------------------


def _earlier_matches() -> QuerySet[Incident]:
    """Incidents E that make the outer incident I a repeat by the rule: E started in
    [I.start − 180 days, I.start), shares I's root-cause category (not empty) and at least one
    service, and nobody rejected the pair (I, E). Use inside an Exists on an annotated I."""
    services_of_outer = Incident.services.through.objects.filter(
        incident_id=OuterRef(OuterRef("pk"))
    ).values("service_id")
    # Nested one level deeper than `earlier` itself, so the outer incident is two levels out.
    rejected = RepeatRejection.objects.filter(incident_id=OuterRef(OuterRef("pk"))).values(
        "earlier_id"
    )
    return Incident.objects.filter(
        root_cause_category_id=OuterRef("root_cause_category_id"),
        started_at__gte=OuterRef("window_start"),
        started_at__lt=OuterRef("started_at"),
        services__in=Subquery(services_of_outer),
    ).exclude(pk__in=Subquery(rejected))


def incidents_with_repeat_flag(incidents: QuerySet[Incident]) -> QuerySet[Incident]:
    """Annotate `is_repeat`: `repeat_of` set by a person, or a match by the rule."""
    return (
        incidents.annotate(
            window_start=ExpressionWrapper(
                F("started_at") - LOOK_BACK, output_field=DateTimeField()
            )
        )
        .annotate(
            rule_match=Exists(_earlier_matches()),
        )
        .annotate(
            is_repeat=Q(repeat_of__isnull=False) | Q(rule_match=True),
        )
    )


def _repeat_counts(*, period: Period, scope: Scope) -> tuple[QuerySet[Incident], int, int]:
    incidents = incidents_with_repeat_flag(
        scoped_incidents(scope).filter(
            started_at__gte=period.start_at, started_at__lt=period.end_at
        )
    )
    totals = incidents.aggregate(
        incidents=Count("pk"), repeats=Count("pk", filter=Q(is_repeat=True))
    )
    return incidents, totals["repeats"], totals["incidents"]


def _recurrence_by_prior_knowledge(*, period: Period, scope: Scope) -> dict[str, dict[str, int]]:
    """Failure modes at risk in the period — incidents with a category that started in the 180
    days before it — split by whether their postmortem had produced a published article before
    the period began, and how many of each recurred (an incident in the period repeats them)."""
    window = Period(start=(period.start_at - LOOK_BACK).date(), end=period.start)
    published_article = Finding.objects.filter(
        postmortem__incident_id=OuterRef("pk"),
        article__state=ArticleState.PUBLISHED,
        article__published_at__lt=period.start_at,
    )
    services_of_earlier = Incident.services.through.objects.filter(
        incident_id=OuterRef(OuterRef("pk"))
    ).values("service_id")
    later_repeat = Incident.objects.filter(
        started_at__gte=period.start_at,
        started_at__lt=period.end_at,
        root_cause_category_id=OuterRef("root_cause_category_id"),
        services__in=Subquery(services_of_earlier),
    ).exclude(
        pk__in=Subquery(
            RepeatRejection.objects.filter(earlier_id=OuterRef(OuterRef("pk"))).values(
                "incident_id"
            )
        )
    )
    # The rule's window: the later incident starts within 180 days after the earlier one.
    later_repeat = later_repeat.filter(started_at__lt=OuterRef("window_end"))
    at_risk = (
        scoped_incidents(scope)
        .filter(
            started_at__gte=window.start_at,
            started_at__lt=window.end_at,
            root_cause_category__isnull=False,
        )
        .annotate(
            window_end=ExpressionWrapper(F("started_at") + LOOK_BACK, output_field=DateTimeField()),
            had_article=Exists(published_article),
        )
        .annotate(recurred=Exists(later_repeat))
    )
    counts = at_risk.aggregate(
        with_at_risk=Count("pk", filter=Q(had_article=True)),
        with_recurred=Count("pk", filter=Q(had_article=True, recurred=True)),
        without_at_risk=Count("pk", filter=Q(had_article=False)),
        without_recurred=Count("pk", filter=Q(had_article=False, recurred=True)),
    )
    return {
        "with_article": {"at_risk": counts["with_at_risk"], "recurred": counts["with_recurred"]},
        "without_article": {
            "at_risk": counts["without_at_risk"],
            "recurred": counts["without_recurred"],
        },
    }


def kpi_repeat_rate(*, period: Period, scope: Scope) -> KpiResult:
    """Repeat rate = repeats started in the period / incidents started in the period (every
    severity). An incident is a repeat when a person set `repeat_of`, or when an incident started
    in the 180 days before it shares its root-cause category and a service, unless someone
    rejected that pair. Baseline = the pooled rate of the 6 months before the period; reduction =
    1 − rate / baseline (none when the baseline is 0 or has no data)."""
    incidents, repeats, total = _repeat_counts(period=period, scope=scope)
    _, baseline_repeats, baseline_total = _repeat_counts(
        period=period.months_before(BASELINE_MONTHS), scope=scope
    )
    rate = ratio(repeats, total)
    baseline = ratio(baseline_repeats, baseline_total)
    reduction = 1 - rate / baseline if rate is not None and baseline else None
    return KpiResult(
        value=rate,
        numerator=repeats,
        denominator=total,
        incidents=_drill_down(incidents, "is_repeat"),
        extra={
            "baseline": baseline,
            "reduction": reduction,
            "baseline_repeats": baseline_repeats,
            "baseline_incidents": baseline_total,
            "recurrence": _recurrence_by_prior_knowledge(period=period, scope=scope),
        },
    )


# --- 3. time saved through knowledge reuse --------------------------------------------------


def _epoch(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})::double precision"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


def _resolved_since(column: str, seconds: str) -> str:
    """`column` at or after an epoch-seconds SQL expression; on PostgreSQL in a form the
    column's index serves."""
    if connection.vendor == "postgresql":
        return f"{column} >= to_timestamp({seconds})"
    return f"{_epoch(column)} >= {seconds}"


def _resolved_before(column: str, seconds: str) -> str:
    if connection.vendor == "postgresql":
        return f"{column} < to_timestamp({seconds})"
    return f"{_epoch(column)} < {seconds}"


def _helped(incident_column: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM postmortems_articleuse u "
        f"WHERE u.incident_id = {incident_column} AND u.helped = %(true)s)"
    )


def _resolved_in_period_sql() -> str:
    """Targets of the time saved: resolved in the period (%(start)s, %(end)s) with help."""
    return (
        f"{_resolved_since('t.resolved_at', '%(start)s')} "
        f"AND {_resolved_before('t.resolved_at', '%(end)s')} AND {_helped('t.id')}"
    )


def _time_saved_sql(targets_sql: str) -> str:
    """Per target incident (resolved, and matching `targets_sql` — by default resolved in the
    period with a helpful article use): its time to resolve and the median time to resolve of
    its comparable incidents, in one statement.

    Comparable: resolved in the 180 days before the incident started, without a helpful article
    use, same severity and a shared service; fewer than 3 → same severity and category; fewer
    than 3 → same severity; fewer than 3 → no baseline. The median of an even count is the mean
    of the middle two.

    Each tier is joined only for the incidents the tier before left without a baseline: most
    incidents find theirs among incidents of a shared service, so the wide same-severity join
    is rarely made. Comparable incidents are read once, from the window the targets span.
    """
    # Only fixed fragments are interpolated (the dialect's epoch and the scope's clause); every
    # value travels as a parameter.
    window = "c.resolved >= t.started - %(window)s AND c.resolved < t.started"
    # PostgreSQL would fold the two service lists back into the pairing and plan it from row
    # estimates it cannot make for CTEs; kept apart, they meet in one hash join on the service.
    materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""
    return f"""
    WITH target AS (
        SELECT t.id, t.severity, t.root_cause_category_id AS category_id, t.team_id,
               {_epoch("t.started_at")} AS started, {_epoch("t.resolved_at")} AS resolved
        FROM postmortems_incident t
        WHERE t.resolved_at IS NOT NULL AND {targets_sql}
    ),
    pool AS (
        SELECT c.id, c.severity, c.root_cause_category_id AS category_id,
               {_epoch("c.resolved_at")} AS resolved,
               {_epoch("c.resolved_at")} - {_epoch("c.started_at")} AS ttr
        FROM postmortems_incident c
        WHERE c.resolved_at IS NOT NULL
          AND {_resolved_since("c.resolved_at", "(SELECT MIN(started) FROM target) - %(window)s")}
          AND {_resolved_before("c.resolved_at", "(SELECT MAX(started) FROM target)")}
          AND NOT {_helped("c.id")}
    ),
    -- Pairs sharing a service meet through the service, not by pairing every target with every
    -- comparable incident and then looking for a shared service.
    target_services AS {materialized} (
        SELECT t.id AS target_id, t.severity, t.started, ts.service_id
        FROM target t JOIN postmortems_incident_services ts ON ts.incident_id = t.id
    ),
    pool_services AS {materialized} (
        SELECT c.id, c.severity, c.resolved, c.ttr, cs.service_id
        FROM pool c JOIN postmortems_incident_services cs ON cs.incident_id = c.id
    ),
    service_pairs AS (
        SELECT DISTINCT t.target_id, c.id AS comparable_id, c.ttr
        FROM target_services t
        JOIN pool_services c ON c.service_id = t.service_id AND c.severity = t.severity
        WHERE {window}
    ),
    -- Each tier's pairs carry how many their incident has, so keeping the incidents with enough
    -- is a filter, not a join of the pairs against a list of incidents.
    service_counted AS (
        SELECT target_id, ttr, COUNT(*) OVER (PARTITION BY target_id) AS found
        FROM service_pairs
    ),
    category_counted AS (
        SELECT t.id AS target_id, c.ttr, COUNT(*) OVER (PARTITION BY t.id) AS found
        FROM target t
        JOIN pool c ON c.severity = t.severity AND c.category_id = t.category_id AND {window}
        WHERE t.id NOT IN (
            SELECT target_id FROM service_counted WHERE found >= %(minimum)s
        )
    ),
    severity_counted AS (
        SELECT t.id AS target_id, c.ttr, COUNT(*) OVER (PARTITION BY t.id) AS found
        FROM target t
        JOIN pool c ON c.severity = t.severity AND {window}
        WHERE t.id NOT IN (
            SELECT target_id FROM service_counted WHERE found >= %(minimum)s
            UNION ALL
            SELECT target_id FROM category_counted WHERE found >= %(minimum)s
        )
    ),
    chosen AS (
        SELECT target_id, ttr, 1 AS tier FROM service_counted WHERE found >= %(minimum)s
        UNION ALL
        SELECT target_id, ttr, 2 AS tier FROM category_counted WHERE found >= %(minimum)s
        UNION ALL
        SELECT target_id, ttr, 3 AS tier FROM severity_counted WHERE found >= %(minimum)s
    ),
    ranked AS (
        SELECT target_id, ttr, tier,
               ROW_NUMBER() OVER (PARTITION BY target_id ORDER BY ttr) AS position,
               COUNT(*) OVER (PARTITION BY target_id) AS size
        FROM chosen
    ),
    medians AS (
        SELECT target_id, MIN(tier) AS tier, AVG(ttr) AS baseline FROM ranked
        WHERE position IN ((size + 1) / 2, (size + 2) / 2)
        GROUP BY target_id
    ),
    result AS (
        SELECT t.id, t.resolved - t.started AS ttr, m.baseline, m.tier,
               CASE WHEN m.baseline > t.resolved - t.started
                    THEN m.baseline - (t.resolved - t.started) ELSE 0 END AS saved
        FROM target t
        LEFT JOIN medians m ON m.target_id = t.id
    )
    """


def _scope_id(scope: Scope) -> int | None:
    """The id of the scope's team or service; InvalidInput when it does not exist."""
    if scope.kind in ("all", "severity"):
        return None
    model = Team if scope.kind == "team" else Service
    pk = model.objects.filter(slug=scope.slug).values_list("pk", flat=True).first()
    if pk is None:
        raise InvalidInput(f"There is no {scope.kind} {scope.slug!r}.", field="scope")
    return pk


def scoped_incidents(scope: Scope) -> QuerySet[Incident]:
    scope_id = _scope_id(scope)
    if scope.kind == "severity":
        return Incident.objects.filter(severity=scope.slug)
    if scope_id is None:
        return Incident.objects.all()
    if scope.kind == "team":
        return Incident.objects.filter(team_id=scope_id)
    if scope.kind == "service":
        through = Incident.services.through.objects.filter(
            incident_id=OuterRef("pk"), service_id=scope_id
        )
        return Incident.objects.filter(Exists(through))
    raise AssertionError(f"unknown scope kind {scope.kind!r}")


def _scope_sql(scope: Scope) -> tuple[str, dict[str, Any]]:
    if scope.kind == "severity":
        return "AND t.severity = %(scope_severity)s", {"scope_severity": scope.slug}
    scope_id = _scope_id(scope)
    if scope.kind == "team":
        return "AND t.team_id = %(scope_id)s", {"scope_id": scope_id}
    if scope.kind == "service":
        return (
            "AND EXISTS (SELECT 1 FROM postmortems_incident_services s "
            "WHERE s.incident_id = t.id AND s.service_id = %(scope_id)s)",
            {"scope_id": scope_id},
        )
    return "", {}


def kpi_time_saved(*, period: Period, scope: Scope) -> KpiResult:
    """Hours saved in the period through knowledge reuse: for each incident resolved in the
    period with an article use marked helpful and a baseline, max(0, baseline − its time to
    resolve), the baseline being the median time to resolve of comparable incidents without
    reuse. The denominator is the number of incidents the figure rests on. Responders' own
    minutes-saved estimates are reported separately and never enter it."""
    scope_sql, scope_params = _scope_sql(scope)
    params = {
        "true": True,
        "start": period.start_at.timestamp(),
        "end": period.end_at.timestamp(),
        "window": LOOK_BACK.total_seconds(),
        "minimum": MIN_COMPARABLE,
        **scope_params,
    }
    sql = _time_saved_sql(f"{_resolved_in_period_sql()} {scope_sql}")
    with connection.cursor() as cursor:
        cursor.execute(
            sql + "SELECT COUNT(baseline), COALESCE(SUM(saved), 0), COUNT(*) FROM result",
            params,
        )
        based, saved_seconds, helped_total = cursor.fetchone()
        cursor.execute(
            sql + "SELECT id, saved FROM result WHERE baseline IS NOT NULL ORDER BY id",
            params,
        )
        rows = cursor.fetchall()
    hours = float(saved_seconds) / 3600
    estimates = ArticleUse.objects.filter(
        incident__in=scoped_incidents(scope).filter(
            resolved_at__gte=period.start_at, resolved_at__lt=period.end_at
        ),
        helped=True,
        minutes_saved__isnull=False,
    ).aggregate(total=Count("pk"), minutes=Sum("minutes_saved"))
    return KpiResult(
        value=hours if based else None,
        numerator=hours,
        denominator=based,
        incidents=[(pk, float(saved) > 0) for pk, saved in rows],
        extra={
            "helped_incidents": helped_total,
            "without_baseline": helped_total - based,
            "estimated_minutes_saved": estimates["minutes"] or 0,
            "estimates": estimates["total"],
        },
    )


@dataclass(frozen=True)
class KpiDefinition:
    key: str
    title: str
    unit: str  # "fraction" or "hours"
    compute: Callable[..., KpiResult]

    @property
    def method(self) -> str:
        """The docstring in plain words, as the dashboard and the API show it."""
        return " ".join((self.compute.__doc__ or "").replace("`", "").split())


KPIS: dict[str, KpiDefinition] = {
    definition.key: definition
    for definition in [
        KpiDefinition(
            "lessons_documented", "Lessons documented", "fraction", kpi_lessons_documented
        ),
        KpiDefinition("repeat_rate", "Repeat incidents", "fraction", kpi_repeat_rate),
        KpiDefinition("time_saved", "Time saved through knowledge reuse", "hours", kpi_time_saved),
    ]
}


def kpi_definition(key: str) -> KpiDefinition:
    try:
        return KPIS[key]
    except KeyError:
        raise InvalidInput(
            f"Unknown KPI {key!r}; choose one of: {', '.join(KPIS)}.", field="kpi"
        ) from None
