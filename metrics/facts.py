"""Keeping metrics.models.IncidentFacts true: refresh what is stale or missing, and mark stale
what a change can influence.

Whether an incident is a repeat depends on the incidents of its category started in the 180
days before it, whether its failure mode recurred on those started in the 180 days after it, its
baseline on the incidents of its severity resolved in the 180 days before it started, and its
knowledge on its findings' articles. So a change to one incident can change the facts of others
within 180 days: `incident_facts_invalidate` and `article_facts_invalidate` mark those rows stale
— over-marking is safe, missing one is not — and `facts_refresh` recomputes every stale or
missing row with the conditions the per-figure definitions in metrics.kpis state, in batches of
incidents close in time. Tests hold the figures grouped from these rows equal to the
definitions.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min, QuerySet
from django.utils import timezone

from knowledge.models import ArticleState
from metrics.kpis import LOOK_BACK, MIN_COMPARABLE, _epoch, _helped, _time_saved_sql
from metrics.models import FactsCoverage, IncidentFacts
from metrics.periods import add_months
from metrics.sql import (
    db_time,
    failure_modes_table,
    ids_subquery,
    month_index_sql,
    month_sql,
    services_of,
    temporary_table,
)
from postmortems.models import ArticleUse, Finding, Incident, PostmortemState, RepeatRejection

FACTS = IncidentFacts._meta.db_table
_COLUMNS = (
    "incident_id, started_at, resolved_at, severity, team_id, category_id, service_ids, helped, "
    "is_repeat, ttr_seconds, baseline_seconds, documented, knowledge_since, start_month, "
    "recurred_months"
)


def _service_ids_sql(incident_column: str) -> str:
    """The incident's services as sorted, comma-separated ids ('' when it has none)."""
    if connection.vendor == "postgresql":
        aggregate = "STRING_AGG(CAST(service_id AS text), ',' ORDER BY service_id)"
        source = "postmortems_incident_services"
    else:
        aggregate = "GROUP_CONCAT(service_id, ',')"
        source = "(SELECT incident_id, service_id FROM postmortems_incident_services "
        source += "ORDER BY service_id)"
    of_incident = f"s.incident_id = {incident_column}"
    return f"COALESCE((SELECT {aggregate} FROM {source} s WHERE {of_incident}), '')"


def _rule_match_sql(modes: str) -> str:
    """An incident of one of i's services and its category started in the 180 days before i,
    the pair not rejected: the repeat rule (metrics.kpis.incidents_with_repeat_flag)."""
    return (
        f"EXISTS (SELECT 1 FROM {modes} e WHERE e.service_id {services_of('i.id')} "
        "AND e.category_id = i.root_cause_category_id "
        f"AND e.started >= {_epoch('i.started_at')} - %(look_back)s "
        f"AND e.started < {_epoch('i.started_at')} "
        "AND NOT EXISTS (SELECT 1 FROM postmortems_repeatrejection r "
        "WHERE r.incident_id = i.id AND r.earlier_id = e.incident_id))"
    )


def _baselines_sql(batch: str, pool: str, pool_services: str) -> str:
    """PostgreSQL: (id, baseline) of each resolved incident of `batch` with a helpful use.

    The same comparable incidents and tiers as metrics.kpis._time_saved_sql, computed one
    target at a time: each target reads its comparable incidents as one range of an index on
    (service, severity, resolution time) and takes their median there, instead of pairing every
    target with every comparable incident and sorting millions of pairs. A wider tier is read
    only when the narrower one found fewer than three. percentile_cont(0.5) is the median with
    an even count's middle two averaged, as the definition says.
    """
    window = "c.resolved >= t.started - %(window)s AND c.resolved < t.started"
    median = "COUNT(*) AS found, percentile_cont(0.5) WITHIN GROUP (ORDER BY c.ttr) AS median"
    return f"""
        SELECT t.id,
               CASE WHEN s1.found >= %(minimum)s THEN s1.median
                    WHEN s2.found >= %(minimum)s THEN s2.median
                    WHEN s3.found >= %(minimum)s THEN s3.median END AS baseline
        FROM (
            SELECT i.id, i.severity, i.root_cause_category_id AS category_id,
                   {_epoch("i.started_at")} AS started,
                   ARRAY(SELECT service_id FROM postmortems_incident_services
                         WHERE incident_id = i.id) AS services
            FROM postmortems_incident i JOIN {batch} b ON b.id = i.id
            WHERE i.resolved_at IS NOT NULL AND {_helped("i.id")}
        ) t
        CROSS JOIN LATERAL (
            SELECT {median} FROM (
                SELECT c.ttr FROM {pool_services} c
                WHERE cardinality(t.services) = 1
                  AND c.service_id = t.services[1] AND c.severity = t.severity AND {window}
                UNION ALL
                -- With several services, an incident sharing two of them counts once.
                SELECT MIN(c.ttr) FROM {pool_services} c
                WHERE cardinality(t.services) > 1
                  AND c.service_id = ANY(t.services) AND c.severity = t.severity AND {window}
                GROUP BY c.id
            ) c
        ) s1
        CROSS JOIN LATERAL (
            SELECT {median} FROM {pool} c
            WHERE s1.found < %(minimum)s
              AND c.severity = t.severity AND c.category_id = t.category_id AND {window}
        ) s2
        CROSS JOIN LATERAL (
            SELECT {median} FROM {pool} c
            WHERE s1.found < %(minimum)s AND s2.found < %(minimum)s
              AND c.severity = t.severity AND {window}
        ) s3
    """


@dataclass(frozen=True)
class _Comparisons:
    """The temporary tables a refresh compares incidents with, built once for all batches."""

    modes: str  # (service, category, start, incident), for the repeat rule and recurrence
    months: str  # (month index, start and end in epoch seconds) of the months a batch spans
    pool: str | None = None  # PostgreSQL: incidents without help that resolved in the window
    pool_services: str | None = None  # the same, one row per service


# metrics.kpis.kpi_lessons_documented's test, for one incident i.
_DOCUMENTED = (
    "EXISTS (SELECT 1 FROM postmortems_postmortem pm "
    "JOIN postmortems_finding f ON f.postmortem_id = pm.id "
    "WHERE pm.incident_id = i.id AND pm.state = %(postmortem_published)s "
    "AND f.article_id IS NOT NULL)"
)
# The first publication of an article its postmortem's findings link that is published now:
# metrics.kpis' "had a published article before the period began" is knowledge_since < start.
_KNOWLEDGE_SINCE = (
    "(SELECT MIN(a.published_at) FROM postmortems_postmortem pm "
    "JOIN postmortems_finding f ON f.postmortem_id = pm.id "
    "JOIN knowledge_article a ON a.id = f.article_id "
    "WHERE pm.incident_id = i.id AND a.state = %(article_published)s)"
)


RECURRENCE_MONTHS = 7  # months after its own in which an incident's 180 days can reach


def _recurred_months_sql(modes: str, months: str) -> str:
    """The recurred_months bits of i: for each of the months after its own, whether an
    incident of one of its services and its category started in that month and within i's 180
    days, the pair not rejected (metrics.kpis._recurrence_by_prior_knowledge's "recurred")."""
    return f"""COALESCE((
        SELECT SUM(1 << (m.month - {month_index_sql("i.started_at")})) FROM {months} m
        WHERE m.month > {month_index_sql("i.started_at")}
          AND m.month <= {month_index_sql("i.started_at")} + {RECURRENCE_MONTHS}
          AND EXISTS (
            SELECT 1 FROM {modes} l
            WHERE l.service_id {services_of("i.id")} AND l.category_id = i.root_cause_category_id
              AND l.started >= m.start_epoch AND l.started < m.end_epoch
              AND l.started < {_epoch("i.started_at")} + %(look_back)s
              AND NOT EXISTS (SELECT 1 FROM postmortems_repeatrejection r
                              WHERE r.incident_id = l.incident_id AND r.earlier_id = i.id)
            -- LIMIT keeps this a lookup per month, one short range of the index, instead of
            -- the planner reading i's whole 180 days once and filtering them by month.
            LIMIT 1 OFFSET 0)
    ), 0)"""


def _computed_facts_sql(batch: str, tables: _Comparisons) -> str:
    """Each incident of `batch` (a table of ids) with its facts, as IncidentFacts holds them."""
    if tables.pool and tables.pool_services:
        prefix = ""
        baselines = f"({_baselines_sql(batch, tables.pool, tables.pool_services)})"
    else:
        prefix = _time_saved_sql(f"t.id IN (SELECT id FROM {batch}) AND {_helped('t.id')}")
        baselines = "result"
    return (
        prefix + f"SELECT i.id AS incident_id, i.started_at AS started_at, "
        "i.resolved_at AS resolved_at, i.severity AS severity, i.team_id AS team_id, "
        "i.root_cause_category_id AS category_id, "
        f"{_service_ids_sql('i.id')} AS service_ids, "
        f"CASE WHEN {_helped('i.id')} THEN 1 ELSE 0 END AS helped, "
        "CASE WHEN i.repeat_of_id IS NOT NULL OR ("
        f"i.root_cause_category_id IS NOT NULL AND {_rule_match_sql(tables.modes)}) "
        "THEN 1 ELSE 0 END AS is_repeat, "
        f"CASE WHEN i.resolved_at IS NULL THEN NULL "
        f"ELSE {_epoch('i.resolved_at')} - {_epoch('i.started_at')} END AS ttr_seconds, "
        "r.baseline AS baseline_seconds, "
        f"CASE WHEN {_DOCUMENTED} THEN 1 ELSE 0 END AS documented, "
        f"{_KNOWLEDGE_SINCE} AS knowledge_since, "
        f"{month_index_sql('i.started_at')} AS start_month, "
        "CASE WHEN i.root_cause_category_id IS NULL THEN 0 "
        f"ELSE {_recurred_months_sql(tables.modes, tables.months)} END AS recurred_months "
        f"FROM postmortems_incident i JOIN {batch} b ON b.id = i.id "
        f"LEFT JOIN {baselines} r ON r.id = i.id"
    )


def _upsert_sql(source: str) -> str:
    """Write `source`'s rows over the stored ones. A row marked stale after `began` stays stale:
    the change came after the values this refresh read."""
    updates = ", ".join(
        f"{column} = excluded.{column}"
        for column in (*_COLUMNS.split(", ")[1:], "computed_at")
        if column != "incident_id"
    )
    return (
        f"INSERT INTO {FACTS} ({_COLUMNS}, computed_at, stale_at) "
        "SELECT incident_id, started_at, resolved_at, severity, team_id, category_id, "
        "service_ids, helped = 1, is_repeat = 1, ttr_seconds, baseline_seconds, documented = 1, "
        "knowledge_since, start_month, recurred_months, %(now)s, NULL "
        # `WHERE 1 = 1`: SQLite needs it to read ON CONFLICT as the upsert, not a join clause.
        f"FROM {source} WHERE 1 = 1 "
        f"ON CONFLICT (incident_id) DO UPDATE SET {updates}, stale_at = CASE "
        f"WHEN {FACTS}.stale_at > %(began)s THEN {FACTS}.stale_at ELSE NULL END"
    )


def _changed_months_sql(source: str) -> str:
    """The months (by start and by resolution) of rows whose figures moved or that are new."""
    moved = (
        "o.incident_id IS NULL OR o.is_repeat <> (n.is_repeat = 1) "
        "OR o.team_id <> n.team_id OR o.severity <> n.severity "
        "OR o.service_ids <> n.service_ids OR o.helped <> (n.helped = 1) "
        "OR o.started_at <> n.started_at "
        "OR COALESCE(o.resolved_at, o.started_at) <> COALESCE(n.resolved_at, n.started_at) "
        "OR COALESCE(o.baseline_seconds, -1) <> COALESCE(n.baseline_seconds, -1) "
        "OR o.documented <> (n.documented = 1) "
        "OR COALESCE(o.knowledge_since, o.started_at) <> COALESCE(n.knowledge_since, n.started_at) "
        "OR o.recurred_months <> n.recurred_months"
    )
    return (
        f"SELECT {month_sql('n.started_at')}, {month_sql('n.resolved_at')}, "
        f"{month_sql('o.started_at')}, {month_sql('o.resolved_at')} "
        f"FROM {source} n LEFT JOIN {FACTS} o ON o.incident_id = n.incident_id "
        f"WHERE {moved} GROUP BY 1, 2, 3, 4"
    )


@dataclass(frozen=True)
class _ToRefresh:
    ids: list[int]
    # What a thorough check proved, to be stored once the rows it found missing are written.
    coverage: FactsCoverage | None


_WINDOW = (
    "((i.started_at >= %(start)s AND i.started_at < %(end)s) "
    "OR (i.resolved_at >= %(start)s AND i.resolved_at < %(end)s))"
)
_WITHOUT_FACTS = f"NOT EXISTS (SELECT 1 FROM {FACTS} f WHERE f.incident_id = i.id)"


def _missing_ids(*, start: datetime, end: datetime, thorough: bool) -> _ToRefresh:
    """Incidents started or resolved in [start, end) without a row.

    Unless `thorough`, a window inside the last thorough check's only looks among the
    incidents added since (FactsCoverage says why that is enough). A thorough check counts both
    sides by their own start and resolution times, which tells cheaply whether any row is
    missing; only then are they compared one by one."""
    window = {"start": db_time(start), "end": db_time(end)}
    missing: list[int] = []
    with connection.cursor() as cursor:
        covered = FactsCoverage.objects.filter(pk=1, start__lte=start, end__gte=end).first()
        if covered is not None and not thorough:
            cursor.execute(
                "SELECT i.id FROM postmortems_incident i "
                f"WHERE i.id > %(through)s AND {_WINDOW} AND {_WITHOUT_FACTS}",
                {**window, "through": covered.through_incident_id},
            )
            return _ToRefresh(ids=[pk for (pk,) in cursor.fetchall()], coverage=None)
        # Read first: an incident added during the counts is left for the next check.
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM postmortems_incident")
        (through,) = cursor.fetchone()
        counts = "(SELECT COUNT(*) FROM {table} WHERE {column} >= %(start)s AND {column} < %(end)s)"
        cursor.execute(
            "SELECT "
            + ", ".join(
                counts.format(table=table, column=column)
                for column in ("started_at", "resolved_at")
                for table in ("postmortems_incident", FACTS)
            ),
            window,
        )
        started, started_facts, resolved, resolved_facts = cursor.fetchone()
        if started != started_facts or resolved != resolved_facts:
            cursor.execute(
                f"SELECT i.id FROM postmortems_incident i WHERE {_WINDOW} AND {_WITHOUT_FACTS}",
                window,
            )
            missing = [pk for (pk,) in cursor.fetchall()]
    coverage = FactsCoverage(pk=1, start=start, end=end, through_incident_id=through)
    return _ToRefresh(ids=missing, coverage=coverage)


def _neighbours_invalidate(missing: list[int], *, at: datetime) -> None:
    """Mark stale the stored rows that incidents without a row can influence — what their
    "incident.created" task would have marked, had a bulk writer not skipped it: incidents of
    their categories started within 180 days of them, and incidents with help of their
    severities started within 180 days after they resolved. One range per category and per
    severity, so a bulk import costs a few statements (over-marking is safe). Marked as of the
    refresh's start, so that the refresh about to run clears them."""
    added = Incident.objects.filter(pk__in=ids_subquery(missing))
    fresh = IncidentFacts.objects.filter(stale_at__isnull=True)
    by_category = (
        added.exclude(root_cause_category_id=None)
        .values("root_cause_category_id")
        .annotate(first=Min("started_at"), last=Max("started_at"))
    )
    for category in by_category:
        _repeat_neighbours(
            fresh,
            categories=[category["root_cause_category_id"]],
            first=category["first"],
            last=category["last"],
        ).update(stale_at=at)
    by_severity = (
        added.exclude(resolved_at=None)
        .values("severity")
        .annotate(first=Min("resolved_at"), last=Max("resolved_at"))
    )
    for severity in by_severity:
        _baseline_neighbours(
            fresh, severities=[severity["severity"]], first=severity["first"], last=severity["last"]
        ).update(stale_at=at)


def _ids_to_refresh(
    *, start: datetime, end: datetime, thorough: bool, began: datetime
) -> _ToRefresh:
    """Stale rows anywhere, the missing rows of [start, end) (_missing_ids), and the rows those
    can influence."""
    found = _missing_ids(start=start, end=end, thorough=thorough)
    if found.ids:
        _neighbours_invalidate(found.ids, at=began)
    stale = IncidentFacts.objects.filter(stale_at__isnull=False).values_list("pk", flat=True)
    return _ToRefresh(ids=sorted({*stale, *found.ids}), coverage=found.coverage)


@dataclass(frozen=True)
class Refreshed:
    incidents: int
    months: frozenset[date]  # first days of the months whose figures may have moved


class _Target(NamedTuple):
    """An incident whose facts a refresh computes."""

    id: int
    started_at: datetime
    category_id: int | None
    severity: str


def _in_start_order(ids: list[int]) -> list[_Target]:
    """The incidents, by start: batches then cover narrow windows of history."""
    rows = Incident.objects.filter(pk__in=ids_subquery(ids)).order_by("started_at", "pk")
    fields = ("pk", "started_at", "root_cause_category_id", "severity")
    return [_Target(*row) for row in rows.values_list(*fields)]


@contextmanager
def _months_table(*, first: datetime, last: datetime) -> Iterator[str]:
    """(month index, start, end in epoch seconds) of every month from first's to last's."""
    rows = []
    month = date(first.year, first.month, 1)
    while month <= last.date():
        following = add_months(month, 1)
        rows.append(
            (
                month.year * 12 + month.month - 1,
                datetime.combine(month, time.min, tzinfo=UTC).timestamp(),
                datetime.combine(following, time.min, tzinfo=UTC).timestamp(),
            )
        )
        month = following
    select = " UNION ALL ".join(
        "SELECT %s AS month, %s AS start_epoch, %s AS end_epoch" for _ in rows
    )
    with temporary_table(
        select, [value for row in rows for value in row], prefix="kpi_months"
    ) as name:
        yield name


@contextmanager
def _comparisons(targets: list[_Target]) -> Iterator[_Comparisons]:
    """Everything the targets (by start) are compared with: incidents of their categories
    started in the 180 days before them (the repeat rule) and after (recurrence), and on
    PostgreSQL incidents of their severities without help resolved in the 180 days before
    (baselines), indexed for one range per incident. A change marks incidents of its own
    category or severity, so these are a fraction of the history."""
    first, last = targets[0].started_at, targets[-1].started_at
    categories = {target.category_id for target in targets if target.category_id is not None}
    severities = sorted({target.severity for target in targets})
    # Recurrence looks at the incidents started up to 180 days after each one.
    reach = last + LOOK_BACK
    with (
        failure_modes_table(start=first - LOOK_BACK, end=reach, categories=categories) as modes,
        _months_table(first=first, last=reach) as months,
    ):
        if connection.vendor != "postgresql":
            yield _Comparisons(modes=modes, months=months)
            return
        params = {
            "true": True,
            "since": db_time(first - LOOK_BACK),
            "until": db_time(last),
            "severities": severities,
        }
        pool_sql = (
            "SELECT c.id, c.severity, c.root_cause_category_id AS category_id, "
            f"{_epoch('c.resolved_at')} AS resolved, "
            f"{_epoch('c.resolved_at')} - {_epoch('c.started_at')} AS ttr "
            "FROM postmortems_incident c "
            "WHERE c.resolved_at >= %(since)s AND c.resolved_at < %(until)s "
            f"AND c.severity = ANY(%(severities)s) AND NOT {_helped('c.id')}"
        )
        with temporary_table(pool_sql, params, prefix="kpi_pool") as pool:
            services_sql = (
                "SELECT s.service_id, p.severity, p.resolved, p.ttr, p.id "
                f"FROM {pool} p JOIN postmortems_incident_services s ON s.incident_id = p.id "
                "ORDER BY s.service_id, p.severity, p.resolved"
            )
            with (
                temporary_table(services_sql, {}, prefix="kpi_pool_services") as pool_services,
                connection.cursor() as cursor,
            ):
                for table, columns in (
                    (pool_services, "service_id, severity, resolved) INCLUDE (ttr, id"),
                    (pool, "severity, category_id, resolved) INCLUDE (ttr"),
                    (pool, "severity, resolved) INCLUDE (ttr"),
                ):
                    cursor.execute(f"CREATE INDEX ON {table} ({columns})")
                for table in (pool, pool_services):
                    # VACUUM marks the pages all-visible, so each target's range is read from
                    # the index alone; it cannot run inside a transaction, where ANALYZE must do.
                    analyse = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
                    cursor.execute(f"{analyse} {table}")
                yield _Comparisons(
                    modes=modes, months=months, pool=pool, pool_services=pool_services
                )


def _refresh_batch(ids: list[int], tables: _Comparisons, *, began: datetime) -> set[date]:
    params: dict[str, Any] = {
        "true": True,
        "window": LOOK_BACK.total_seconds(),
        "look_back": LOOK_BACK.total_seconds(),
        "minimum": MIN_COMPARABLE,
        "postmortem_published": PostmortemState.PUBLISHED.value,
        "article_published": ArticleState.PUBLISHED.value,
        "now": db_time(timezone.now()),
        "began": db_time(began),
    }
    months: set[date] = set()
    with transaction.atomic(), connection.cursor() as cursor:
        batch = f"kpi_batch_{ids[0]}"
        cursor.execute(f"CREATE TEMPORARY TABLE {batch} (id bigint PRIMARY KEY)")
        computed = f"kpi_computed_{ids[0]}"
        try:
            cursor.executemany(f"INSERT INTO {batch} (id) VALUES (%s)", [(pk,) for pk in ids])
            cursor.execute(f"ANALYZE {batch}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {computed} AS {_computed_facts_sql(batch, tables)}",
                params,
            )
            cursor.execute(_changed_months_sql(computed), [])
            for row in cursor.fetchall():
                months.update(_month_start(label) for label in row if label)
            cursor.execute(_upsert_sql(computed), params)
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {computed}")
            cursor.execute(f"DROP TABLE IF EXISTS {batch}")
    return months


def _month_start(label: str) -> date:
    year, month = label.split("-")
    return date(int(year), int(month), 1)


def facts_refresh(
    *,
    start: datetime,
    end: datetime,
    thorough: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Refreshed:
    """Recompute every stale row, and the missing rows of incidents started or resolved in
    [start, end) (`thorough`: counted again over the whole window, as the nightly run does).
    Each batch commits on its own, so an interrupted refresh keeps its work."""
    # Taken before anything is read: a row marked stale after this stays stale.
    began = timezone.now()
    to_refresh = _ids_to_refresh(start=start, end=end, thorough=thorough, began=began)
    ordered = _in_start_order(to_refresh.ids)
    months: set[date] = set()
    # A batch bounds what one statement holds, commits its work, and is one progress step.
    size = settings.KPI_FACTS_BATCH
    batches = [ordered[i : i + size] for i in range(0, len(ordered), size)]
    if batches:
        with _comparisons(ordered) as tables:
            for done, batch in enumerate(batches, start=1):
                months |= _refresh_batch([target.id for target in batch], tables, began=began)
                if progress:
                    progress(done, len(batches))
    if to_refresh.coverage is not None:
        # Only now are the rows the check found missing written. An upsert: two jobs may
        # finish a thorough check at once.
        FactsCoverage.objects.bulk_create(
            [to_refresh.coverage],
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["start", "end", "through_incident_id", "checked_at"],
        )
    if len(ordered) >= settings.KPI_FACTS_BATCH:
        # Many rows rewritten at once: until autovacuum comes by, the planner's statistics are
        # out of date and the old row versions slow every read of the table. VACUUM cannot run
        # inside a transaction, where ANALYZE does what it can.
        tidy = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
        if connection.vendor != "postgresql":
            tidy = "ANALYZE"
        with connection.cursor() as cursor:
            cursor.execute(f"{tidy} {FACTS}")
    return Refreshed(incidents=len(ordered), months=frozenset(months))


def _inputs(incident_id: int) -> dict[str, Any] | None:
    current = (
        Incident.objects.filter(pk=incident_id)
        .values("started_at", "resolved_at", "severity", "team_id", "root_cause_category_id")
        .first()
    )
    if current is None:
        return None
    services = Incident.services.through.objects.filter(incident_id=incident_id)
    ids = sorted(services.values_list("service_id", flat=True))
    return {
        "started_at": current["started_at"],
        "resolved_at": current["resolved_at"],
        "severity": current["severity"],
        "team_id": current["team_id"],
        "category_id": current["root_cause_category_id"],
        "service_ids": ",".join(str(pk) for pk in ids),
        "helped": ArticleUse.objects.filter(incident_id=incident_id, helped=True).exists(),
    }


REPEAT_INPUTS = ("started_at", "category_id", "service_ids")
BASELINE_INPUTS = ("started_at", "resolved_at", "severity", "category_id", "service_ids", "helped")


def _sharing_any_of(service_ids: set[str]) -> str:
    """A regular expression matching a stored service list ("3,7") that holds any of them."""
    return rf"(^|,)({'|'.join(sorted(service_ids))})(,|$)"


def _repeat_neighbours(
    rows: QuerySet[IncidentFacts],
    *,
    categories: Collection[int],
    first: datetime,
    last: datetime,
    services: set[str] | None = None,
) -> QuerySet[IncidentFacts]:
    """The rows whose repeat flag or recurrence an incident of `categories` started between
    `first` and `last` can change: later incidents it can make repeats and earlier ones whose
    recurrence it can be, within 180 days, sharing one of `services` when they are known (the
    rule needs the category and a shared service)."""
    near = rows.filter(
        category_id__in=categories,
        started_at__gte=first - LOOK_BACK,
        started_at__lte=last + LOOK_BACK,
    )
    return near.filter(service_ids__regex=_sharing_any_of(services)) if services else near


def _baseline_neighbours(
    rows: QuerySet[IncidentFacts], *, severities: Collection[str], first: datetime, last: datetime
) -> QuerySet[IncidentFacts]:
    """The rows whose baseline an incident of `severities` resolved between `first` and `last`
    can change: incidents with help of those severities started within 180 days after it."""
    return rows.filter(
        helped=True,
        severity__in=severities,
        started_at__gt=first,
        started_at__lte=last + LOOK_BACK,
    )


def incident_facts_invalidate(*, incident_id: int) -> int:
    """Mark stale the facts of an incident that changed and of every incident it can influence:
    for the repeat rule and recurrence, incidents of its category sharing one of its services
    (old or new) started in the 180 days around it, and the incidents it rejected as its earlier
    one; for baselines, incidents with help of its severity (old or new) started in the 180
    days after it was resolved. An incident without a row gets one, stale. Returns how many
    rows were marked (a row can be counted twice)."""
    now = timezone.now()
    stored = IncidentFacts.objects.filter(pk=incident_id)
    marked = stored.update(stale_at=now)
    current = _inputs(incident_id)
    if current is None:
        return marked
    old = stored.values(*BASELINE_INPUTS).first() or current
    if old is current:
        # No row yet (a new incident, or an old one now dated into the figures' months): write
        # it stale, so that the next refresh computes it without searching for missing rows.
        IncidentFacts.objects.bulk_create(
            [IncidentFacts(incident_id=incident_id, stale_at=now, **current)],
            ignore_conflicts=True,
        )
        marked += 1
    others = IncidentFacts.objects.exclude(pk=incident_id)

    def changed(inputs: tuple[str, ...]) -> bool:
        return old is current or any(old[name] != current[name] for name in inputs)

    categories = {old["category_id"], current["category_id"]} - {None}
    services = {pk for inputs in (old, current) for pk in inputs["service_ids"].split(",") if pk}
    if categories and services and changed(REPEAT_INPUTS):
        marked += _repeat_neighbours(
            others,
            categories=categories,
            first=min(old["started_at"], current["started_at"]),
            last=max(old["started_at"], current["started_at"]),
            services=services,
        ).update(stale_at=now)
    # A rejected pair changes the earlier incident's recurrence, not only this one's repeat.
    rejected = RepeatRejection.objects.filter(incident_id=incident_id).values("earlier_id")
    marked += others.filter(pk__in=rejected).update(stale_at=now)
    resolved = [moment for moment in (old["resolved_at"], current["resolved_at"]) if moment]
    if resolved and changed(BASELINE_INPUTS):
        marked += _baseline_neighbours(
            others,
            severities={old["severity"], current["severity"]},
            first=min(resolved),
            last=max(resolved),
        ).update(stale_at=now)
    return marked


def article_facts_invalidate(*, article_id: int) -> int:
    """Mark stale the facts of the incidents whose postmortem's findings link the article (its
    publication decides whether their failure modes had knowledge). Returns how many."""
    linked = Finding.objects.filter(article_id=article_id).values("postmortem__incident_id")
    return IncidentFacts.objects.filter(pk__in=linked).update(stale_at=timezone.now())
