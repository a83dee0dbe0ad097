"""The secondary figures of many months for every scope at once, stored for the dashboard.

metrics.secondary defines each figure for one (period, scope); asking it for 13 months × every
team, service and severity would repeat the same scans hundreds of times, and the dashboard
must cost the same whatever the data size. So the KPI jobs call `secondary_snapshots_store`,
which computes every figure for all the months and scopes at once — one statement per figure,
grouped by (month, kind of scope, scope), over narrow copies of the rows they need — with the
same conditions as metrics.secondary (tests check that both agree). The figures of one (month,
scope) are one `KpiSnapshot` row with kpi "secondary": no value of its own, the figures as
JSON in `extra`. Scopes without data get a row too, so the dashboard can tell "no data" from
"not computed".

Two figures depend on more than (month, scope):
- Overdue action items and articles past review depend on the day: they are counted as of the
  job's day (`today`, stored with the figures and shown on the page).
- Most reused articles depend on who looks (only articles the viewer may read are listed): the
  row keeps the first STORED_MOST_REUSED (article, uses, helped) of every article, and
  `secondary_from_snapshot` keeps those the viewer may read, in one query.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from kbsite.models import Service, Team
from knowledge.models import Article, ArticleRevision, ArticleState
from knowledge.permissions import articles_visible_q
from metrics.bulk import all_scope_keys, scope_from_key
from metrics.models import SNAPSHOT_FIELDS, KpiSnapshot
from metrics.periods import SEVERITIES, Period, add_months
from metrics.secondary import (
    HELPED,
    LINK_RATE_CONDITIONS,
    MOST_REUSED_LIMIT,
    ActionItemFigures,
    CrossTeamFigures,
    FreshnessFigures,
    LinkRateFigures,
    Median,
    ParticipationFigures,
    ReusedArticle,
    SecondaryMetrics,
    _epoch,
    action_item_conditions,
    action_item_figures_from_counts,
    cross_team_conditions,
    freshness_conditions,
)
from metrics.sql import tune_for_bulk
from postmortems.models import ActionItem, ArticleUse, Finding, PostmortemRevision

SECONDARY_KPI = "secondary"
# The most reused articles kept per (month, scope): enough that a viewer who may not read some
# of them still sees MOST_REUSED_LIMIT, in all but odd cases.
STORED_MOST_REUSED = 20
# Bumped when the shape of the stored figures changes: a row of another shape reads as "not
# computed yet" until the next recompute, never as wrong figures.
FIGURES_FORMAT = 1

Figures = dict[str, Any]
# Kinds of scope as the statements answer them, with the scope's key: 0 for everything, the
# team's or the service's id, the severity's place in SEVERITIES (integers sort and hash
# faster than text over hundreds of thousands of rows).
KIND_NAMES = ["all", "team", "severity", "service"]
ALL_SCOPES, TEAM_SCOPES, SEVERITY_SCOPES, SERVICE_SCOPES = range(4)
# Up to this many months, the postmortems needed are looked up by index rather than read all.
SHORT_WINDOW_MONTHS = 2
# The counts of metrics.secondary.action_item_conditions, in its order.
ACTION_ITEM_COUNTS = ["due", "done", "done_late", "overdue", "not_yet_due", "wont_do"]


def secondary_snapshots_store(*, periods: list[Period], today: date | None = None) -> int:
    """Compute every secondary figure of `periods` (calendar months) for every scope and store
    them, replacing earlier rows (an upsert on the snapshot's unique key). Returns the number
    of rows written. Overdue action items and articles past review are counted as of `today`
    (the current day by default)."""
    periods = sorted(set(periods))
    if not periods:
        return 0
    today = today or timezone.localdate()
    scope_keys = all_scope_keys()
    with transaction.atomic():
        tune_for_bulk()
        figures = secondary_figures_bulk(periods=periods, scope_keys=scope_keys, today=today)
    now = timezone.now()
    rows = [
        KpiSnapshot(
            kpi=SECONDARY_KPI,
            period_start=period.start,
            period_end=period.end,
            scope=key,
            value=None,
            numerator=0,
            denominator=0,
            incidents=[],
            extra=figures[(_month_key(period), key)],
            computed_at=now,
        )
        for period in periods
        for key in scope_keys
    ]
    with transaction.atomic():
        KpiSnapshot.objects.upsert(rows, fields=SNAPSHOT_FIELDS)
    return len(rows)


def secondary_from_snapshot(*, snapshot: KpiSnapshot, user: Any) -> SecondaryMetrics | None:
    """The stored figures as metrics.secondary's dataclass, as `user` may see them: the most
    reused articles are those of the stored list that `user` may read (one query, none when
    the list is empty). None when the row is of another format: not computed yet."""
    extra = snapshot.extra or {}
    if extra.get("format") != FIGURES_FORMAT:
        return None
    return SecondaryMetrics(
        period=Period(start=snapshot.period_start, end=snapshot.period_end),
        scope=scope_from_key(snapshot.scope),
        today=date.fromisoformat(extra["today"]),
        mttd=Median(**extra["mttd"]),
        mttr=Median(**extra["mttr"]),
        action_items=ActionItemFigures(**extra["action_items"]),
        freshness=FreshnessFigures(**extra["freshness"]),
        participation=ParticipationFigures(**extra["participation"]),
        link_rate=LinkRateFigures(**extra["link_rate"]),
        most_reused=_readable_most_reused(extra["most_reused"], user=user),
        cross_team=CrossTeamFigures(**extra["cross_team"]),
        computed_at=snapshot.computed_at,
    )


def _readable_most_reused(stored: list[list[int]], *, user: Any) -> list[ReusedArticle]:
    if not stored:
        return []
    readable = {
        pk: (title, slug)
        for pk, title, slug in Article.objects.filter(
            articles_visible_q(user), pk__in=[row[0] for row in stored]
        ).values_list("pk", "title", "slug")
    }
    articles = []
    # The stored order is the ranking (uses, helped, title, id) at computation time.
    for pk, uses, helped in stored:
        if pk not in readable:
            continue
        title, slug = readable[pk]
        path = Article(pk=pk, slug=slug).get_absolute_url()
        articles.append(ReusedArticle(id=pk, title=title, path=path, uses=uses, helped=helped))
        if len(articles) == MOST_REUSED_LIMIT:
            break
    return articles


# --- the bulk computation -------------------------------------------------------------------
#
# Each large table is read once, into a narrow temporary table: the action items, postmortem
# revisions and article uses of the window; the postmortems and incidents they belong to (with
# the incidents started or resolved in the window); those incidents' services. Every figure is
# then one statement over these, grouped by (kind of scope, scope, month). Reading the wide
# tables (an incident, a postmortem, a revision are each about a kilobyte) once instead of once
# per figure is most of the cost saved; on PostgreSQL, ANALYZE lets the planner choose index
# lookups for one month and hash joins for thirteen.


def secondary_figures_bulk(
    *, periods: list[Period], scope_keys: list[str], today: date
) -> dict[tuple[str, str], Figures]:
    """(month "YYYY-MM", scope key) -> the stored form of every secondary figure, for every
    month of `periods` and every scope in `scope_keys`, empty figures included."""
    months = sorted({_month_key(period) for period in periods})
    window = Period(start=min(p.start for p in periods), end=max(p.end for p in periods))
    freshness = _freshness(today=today)
    figures = {
        (month, key): _empty_figures(today=today, freshness=freshness.get(key))
        for month in months
        for key in scope_keys
    }
    slugs = {
        "team": dict(Team.objects.values_list("pk", "slug")),
        "service": dict(Service.objects.values_list("pk", "slug")),
    }
    labels = [f"{day:%Y-%m}" for day in _month_starts(window)]

    def put(kind: int, key: int, month: Any, name: str, value: Any) -> None:
        if kind == ALL_SCOPES:
            scope = "all"
        elif kind == SEVERITY_SCOPES:
            scope = f"severity:{SEVERITIES[key - 1]}"
        else:
            scope = f"{KIND_NAMES[kind]}:{slugs[KIND_NAMES[kind]].get(key)}"
        # PostgreSQL answers a month as its number in the window, SQLite as "YYYY-MM".
        label = labels[month - 1] if isinstance(month, int) else month
        target = figures.get((label, scope))
        if target is not None:  # a month between two requested ones, or a scope just added
            target[name] = value

    with _scratch() as scratch:
        tables = _gather(scratch, window=window, today=today)
        for kind, key, month, measure, seconds, count in _medians(tables, window):
            # SQLite's julianday carries float noise of a few microseconds: whole milliseconds,
            # as metrics.secondary.median_minutes keeps them.
            minutes = round(float(seconds), 3) / 60 if count else None
            put(kind, key, month, measure, asdict(Median(minutes=minutes, count=int(count))))
        for kind, key, month, counts in _action_items(tables):
            put(kind, key, month, "action_items", asdict(action_item_figures_from_counts(counts)))
        for kind, key, month, counts in _link_rate(tables, window):
            put(kind, key, month, "link_rate", asdict(LinkRateFigures(**counts)))
        for kind, key, month, counts in _cross_team(tables):
            put(kind, key, month, "cross_team", asdict(CrossTeamFigures(**counts)))
        for kind, key, month, counts in _participation(tables, window):
            put(kind, key, month, "participation", asdict(ParticipationFigures(**counts)))
        for (kind, key, month), articles in _most_reused(tables).items():
            put(kind, key, month, "most_reused", articles)
    return figures


def _month_key(period: Period) -> str:
    if not period.is_month:
        raise ValueError(f"secondary snapshots are monthly, not {period.label}")
    return f"{period.start:%Y-%m}"


def _month_starts(window: Period) -> list[date]:
    """The first day of every month in `window`, which starts on a first of the month."""
    months = [window.start]
    while (following := add_months(months[-1], 1)) < window.end:
        months.append(following)
    return months


def _empty_figures(*, today: date, freshness: FreshnessFigures | None) -> Figures:
    return {
        "format": FIGURES_FORMAT,
        "today": today.isoformat(),
        "mttd": asdict(Median(minutes=None, count=0)),
        "mttr": asdict(Median(minutes=None, count=0)),
        "action_items": asdict(ActionItemFigures(0, 0, 0, 0, 0, 0)),
        "freshness": asdict(freshness or FreshnessFigures(0, 0, 0)),
        "participation": asdict(ParticipationFigures(0, 0, 0)),
        "link_rate": asdict(LinkRateFigures(0, 0, 0, 0)),
        "most_reused": [],
        "cross_team": asdict(CrossTeamFigures(0, 0)),
    }


def _month_of(column: str, *, window: Period, is_date: bool = False) -> str:
    """Which month of `window` a timestamp or date column falls in: on PostgreSQL its number
    (1 for the first), found by binary search over the months' starts, far cheaper over many
    rows than formatting or truncating each value in UTC; on SQLite its "YYYY-MM"."""
    if connection.vendor == "postgresql":
        if is_date:
            starts = ", ".join(f"DATE '{day.isoformat()}'" for day in _month_starts(window))
        else:
            starts = ", ".join(
                f"TIMESTAMPTZ '{day.isoformat()} 00:00:00+00'" for day in _month_starts(window)
            )
        return f"width_bucket({column}, ARRAY[{starts}])"
    return f"strftime('%%Y-%%m', {column})"


def _flag(condition: Q) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def _db_time(moment: Any) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


class _Scratch:
    """The temporary tables of one computation, dropped at the end."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def create(self, name: str, select: str, params: list[Any]) -> str:
        table = f"secondary_{name}_{next(_table_numbers)}"
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {table} AS {select}", params)
        self.names.append(table)
        self.analyse(table)
        return table

    def insert(self, table: str, select: str, params: list[Any]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} {select}", params)
        self.analyse(table)

    def analyse(self, table: str) -> None:
        # A temporary table has no statistics until analysed; without them PostgreSQL plans
        # joins on it blind (hundreds of thousands of index lookups instead of one hash).
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {table}")


_table_numbers = itertools.count()


@contextmanager
def _scratch() -> Iterator[_Scratch]:
    scratch = _Scratch()
    # On an error the caller's transaction rolls back, and the tables with it: dropping them
    # then would only hide the error behind "current transaction is aborted".
    yield scratch
    with connection.cursor() as cursor:
        for table in scratch.names:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _orm_rows(
    queryset: QuerySet[Any],
    *,
    moment: str,
    columns: dict[str, Any],
    window: Period,
    is_date: bool = False,
) -> tuple[str, list[Any]]:
    """One row per row of `queryset`: `columns` and the `month` of `moment`. Built by the ORM,
    so that conditions read exactly as in metrics.secondary."""
    values = queryset.order_by().values(
        f_moment=F(moment), **{f"f_{name}": expression for name, expression in columns.items()}
    )
    inner, params = values.query.sql_with_params()
    named = "".join(f"raw.f_{name} AS {name}, " for name in columns)
    month = _month_of("raw.f_moment", window=window, is_date=is_date)
    return f"SELECT {named}{month} AS month FROM ({inner}) raw", list(params)


@dataclass(frozen=True)
class _Tables:
    items: str  # action items due in the window: postmortem_id, month, one column per count
    revisions: str  # postmortem revisions saved in the window: postmortem_id, month, editor
    uses: str  # article uses in the window: incident_id, month, article, helped, uses, ...
    postmortems: str  # id, incident_id of (at least) the postmortems the figures need
    incidents: str  # id, team_id, severity, started/detected/resolved_at of those incidents
    services: str  # incident_id, service_id of those incidents


def _gather(scratch: _Scratch, *, window: Period, today: date) -> _Tables:
    start, end = _db_time(window.start_at), _db_time(window.end_at)
    conditions = action_item_conditions(today=today)
    items = scratch.create(
        "items",
        *_orm_rows(
            ActionItem.objects.filter(due_date__gte=window.start, due_date__lt=window.end),
            moment="due_date",
            window=window,
            is_date=True,
            columns={
                "postmortem_id": F("postmortem"),
                **{name: _flag(condition) for name, condition in conditions.items()},
            },
        ),
    )
    in_window = {"created_at__gte": window.start_at, "created_at__lt": window.end_at}
    revisions = scratch.create(
        "revisions",
        *_orm_rows(
            PostmortemRevision.objects.filter(**in_window),
            moment="created_at",
            window=window,
            columns={"postmortem_id": F("postmortem"), "editor": F("editor")},
        ),
    )
    uses = scratch.create(
        "uses",
        *_orm_rows(
            ArticleUse.objects.filter(used_at__gte=window.start_at, used_at__lt=window.end_at),
            moment="used_at",
            window=window,
            columns={
                "incident_id": F("incident"),
                "article": F("article"),
                "helped": _flag(HELPED),
                **{name: _flag(condition) for name, condition in cross_team_conditions().items()},
            },
        ),
    )
    # Incidents started or resolved in the window (time to detect and resolve, link rate) ...
    incident_columns = (
        "SELECT i.id AS id, i.team_id AS team_id, i.severity AS severity, i.started_at AS "
        "started_at, i.detected_at AS detected_at, i.resolved_at AS resolved_at "
        "FROM postmortems_incident i WHERE "
    )
    resolved = "i.resolved_at >= %s AND i.resolved_at < %s"
    incidents = scratch.create(
        "incidents",
        f"{incident_columns} (i.started_at >= %s AND i.started_at < %s) OR ({resolved})",
        [start, end, start, end],
    )
    # ... the postmortems' incidents: for a few months, of the postmortems the figures need
    # (found by index); for more, of every postmortem (one pass over a wide table costs less
    # than looking up most of its rows one by one) ...
    if len(_month_starts(window)) <= SHORT_WINDOW_MONTHS:
        postmortems = scratch.create(
            "postmortems",
            "SELECT p.id AS id, p.incident_id AS incident_id FROM postmortems_postmortem p "
            f"WHERE p.id IN (SELECT postmortem_id FROM {items}) "
            "UNION SELECT p.id, p.incident_id FROM postmortems_postmortem p "
            f"WHERE p.id IN (SELECT postmortem_id FROM {revisions}) "
            "UNION SELECT p.id, p.incident_id FROM postmortems_postmortem p "
            f"WHERE p.incident_id IN (SELECT i.id FROM {incidents} i WHERE {resolved})",
            [start, end],
        )
    else:
        postmortems = scratch.create(
            "postmortems",
            "SELECT p.id AS id, p.incident_id AS incident_id FROM postmortems_postmortem p",
            [],
        )
    # ... and the few incidents of the action items, revisions and article uses that were
    # neither started nor resolved in the window.
    scratch.insert(
        incidents,
        f"{incident_columns} i.id IN (SELECT r.id FROM ("
        f"SELECT p.incident_id AS id FROM {items} t JOIN {postmortems} p ON p.id = t.postmortem_id "
        f"UNION SELECT p.incident_id FROM {revisions} t JOIN {postmortems} p "
        f"ON p.id = t.postmortem_id UNION SELECT incident_id FROM {uses}) r "
        f"LEFT JOIN {incidents} known ON known.id = r.id WHERE known.id IS NULL)",
        [],
    )
    services = scratch.create(
        "services",
        "SELECT s.incident_id AS incident_id, s.service_id AS service_id "
        f"FROM postmortems_incident_services s WHERE s.incident_id IN (SELECT id FROM {incidents})",
        [],
    )
    return _Tables(items, revisions, uses, postmortems, incidents, services)


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _incident_facts(tables: _Tables, source: str, *, via_postmortem: bool) -> str:
    """The rows `t` of `source` (with a postmortem_id or an incident_id, and a month) with
    their incident's id, team and severity, which the scopes group on."""
    if via_postmortem:
        return (
            "SELECT i.id AS id, i.team_id AS team_id, i.severity AS severity, t.* "
            f"FROM {source} t JOIN {tables.postmortems} p ON p.id = t.postmortem_id "
            f"JOIN {tables.incidents} i ON i.id = p.incident_id"
        )
    return (
        "SELECT i.id AS id, i.team_id AS team_id, i.severity AS severity, t.* "
        f"FROM {source} t JOIN {tables.incidents} i ON i.id = t.incident_id"
    )


def _severity_number(column: str) -> str:
    """A severity's place in SEVERITIES (1 for sev1), from fixed strings only."""
    cases = " ".join(
        f"WHEN '{severity}' THEN {number}" for number, severity in enumerate(SEVERITIES, 1)
    )
    return f"CASE {column} {cases} END"


def _rolled_up(tables: _Tables, *, facts: str, sums: list[str], by: str = "") -> str:
    """Statement text answering (kind, scope_key, month, [by,] *sums) for every scope.

    The facts `f` (an incident's id, team_id, severity and month, and `sums` columns) are
    summed once by (month, team, severity[, by]); everything, a team and a severity are sums
    of those few rows. Services cut across, so they are summed from the facts themselves.
    """
    summed = ", ".join(f"SUM(f.{name}) AS {name}" for name in sums)
    again = ", ".join(f"SUM(g.{name})" for name in sums)
    extra = f", f.{by}" if by else ""
    extra_again = f", g.{by}" if by else ""
    return (
        f"WITH facts AS ({facts}), fine AS (SELECT f.month AS month, f.team_id AS team_id, "
        f"f.severity AS severity{extra}, {summed} FROM facts f "
        f"GROUP BY f.month, f.team_id, f.severity{extra}) "
        f"SELECT {ALL_SCOPES}, 0, g.month{extra_again}, {again} FROM fine g "
        f"GROUP BY g.month{extra_again} "
        f"UNION ALL SELECT {TEAM_SCOPES}, g.team_id, g.month{extra_again}, {again} "
        f"FROM fine g GROUP BY g.month, g.team_id{extra_again} "
        f"UNION ALL SELECT {SEVERITY_SCOPES}, {_severity_number('g.severity')}, "
        f"g.month{extra_again}, {again} FROM fine g GROUP BY g.month, g.severity{extra_again} "
        f"UNION ALL SELECT {SERVICE_SCOPES}, s.service_id, f.month{extra}, "
        + ", ".join(f"SUM(f.{name})" for name in sums)
        + f" FROM facts f JOIN {tables.services} s ON s.incident_id = f.id "
        f"GROUP BY f.month, s.service_id{extra}"
    )


def _counted(
    sql: str, params: list[Any], names: list[str]
) -> Iterable[tuple[int, int, Any, dict[str, int]]]:
    for kind, key, month, *values in _fetch(sql, params):
        counts = {name: int(value or 0) for name, value in zip(names, values, strict=True)}
        yield kind, key, month, counts


def _medians(tables: _Tables, window: Period) -> list[tuple[Any, ...]]:
    """(kind, key, month, "mttd" | "mttr", median seconds, count): the medians of
    metrics.secondary.median_minutes, the median of an even count being the mean of the
    middle two."""

    def durations(measure: str, *, until: str, month_of: str) -> str:
        return (
            "SELECT i.id AS id, i.team_id AS team_id, i.severity AS severity, "
            f"{_month_of('i.' + month_of, window=window)} AS month, '{measure}' AS measure, "
            f"{_epoch('i.' + until)} - {_epoch('i.started_at')} AS seconds "
            f"FROM {tables.incidents} i WHERE i.{until} IS NOT NULL "
            f"AND i.{month_of} >= %s AND i.{month_of} < %s"
        )

    # Time to detect: incidents started in the month that were detected; to resolve: those
    # resolved in it.
    facts = (
        f"{durations('mttd', until='detected_at', month_of='started_at')} UNION ALL "
        f"{durations('mttr', until='resolved_at', month_of='resolved_at')}"
    )
    bounds = [_db_time(window.start_at), _db_time(window.end_at)]
    groups = [
        (ALL_SCOPES, "0", "", ""),
        (TEAM_SCOPES, "f.team_id", ", f.team_id", ""),
        (SEVERITY_SCOPES, _severity_number("f.severity"), ", f.severity", ""),
        (
            SERVICE_SCOPES,
            "s.service_id",
            ", s.service_id",
            f"JOIN {tables.services} s ON s.incident_id = f.id",
        ),
    ]
    if connection.vendor == "postgresql":
        # Each group's durations are collected by hashing, then sorted alone as plain floats
        # by percentile_cont(0.5) (which interpolates to the mean of the middle two): far
        # cheaper than sorting every (group, duration) row for each kind of scope.
        collected = " UNION ALL ".join(
            f"SELECT {kind} AS kind, {key} AS scope_key, f.month AS month, f.measure AS "
            f"measure, array_agg(f.seconds) AS seconds FROM facts f {joins} "
            f"GROUP BY f.month, f.measure{group}"
            for kind, key, group, joins in groups
        )
        with connection.cursor() as cursor:
            # The planner would sort every row by group before aggregating, several times
            # slower here than hashing them: it may not, for this statement.
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute(
                f"WITH facts AS ({facts}), collected AS ({collected}) "
                "SELECT kind, scope_key, month, measure, (SELECT percentile_cont(0.5) WITHIN "
                "GROUP (ORDER BY x) FROM unnest(c.seconds) x), cardinality(c.seconds) "
                "FROM collected c",
                bounds + bounds,
            )
            rows = cursor.fetchall()
            cursor.execute("SET LOCAL enable_sort = on")
        return rows
    ranked = " UNION ALL ".join(
        f"SELECT {kind} AS kind, {key} AS scope_key, f.month AS month, f.measure AS measure, "
        f"f.seconds AS seconds, ROW_NUMBER() OVER (PARTITION BY f.month{group}, f.measure "
        f"ORDER BY f.seconds) AS position, "
        f"COUNT(*) OVER (PARTITION BY f.month{group}, f.measure) AS size FROM facts f {joins}"
        for kind, key, group, joins in groups
    )
    return _fetch(
        f"WITH facts AS ({facts}) SELECT kind, scope_key, month, measure, AVG(seconds), "
        f"MAX(size) FROM ({ranked}) ranked WHERE position IN ((size + 1) / 2, (size + 2) / 2) "
        "GROUP BY kind, scope_key, month, measure",
        bounds + bounds,
    )


def _action_items(tables: _Tables) -> Iterable[tuple[int, int, Any, dict[str, int]]]:
    """Action items by the month they fall due in, counted as metrics.secondary counts them
    (the counts are columns of the items table, computed with the job's day)."""
    facts = _incident_facts(tables, tables.items, via_postmortem=True)
    sql = _rolled_up(tables, facts=facts, sums=ACTION_ITEM_COUNTS)
    return _counted(sql, [], ACTION_ITEM_COUNTS)


def _link_rate(tables: _Tables, window: Period) -> Iterable[tuple[int, int, Any, dict[str, int]]]:
    """Findings of the postmortems of incidents resolved in the window, by that month."""
    findings = Finding.objects.order_by().values(
        f_postmortem=F("postmortem"),
        **{f"f_{name}": _flag(condition) for name, condition in LINK_RATE_CONDITIONS.items()},
    )
    # The ORM's query is a plain projection of findings: the database joins it directly (by
    # index on the postmortem for a month, by hashing for many).
    inner, params = findings.query.sql_with_params()
    flags = "".join(f", f.f_{name} AS {name}" for name in LINK_RATE_CONDITIONS)
    facts = (
        "SELECT r.id AS id, r.team_id AS team_id, r.severity AS severity, r.month AS month, "
        f"1 AS findings{flags} FROM ({inner}) f JOIN ("
        "SELECT p.id AS postmortem_id, i.id AS id, i.team_id AS team_id, i.severity AS "
        f"severity, {_month_of('i.resolved_at', window=window)} AS month "
        f"FROM {tables.postmortems} p JOIN {tables.incidents} i ON i.id = p.incident_id "
        "WHERE i.resolved_at >= %s AND i.resolved_at < %s) r ON r.postmortem_id = f.f_postmortem"
    )
    names = ["findings", *LINK_RATE_CONDITIONS]
    bounds = [_db_time(window.start_at), _db_time(window.end_at)]
    return _counted(_rolled_up(tables, facts=facts, sums=names), [*params, *bounds], names)


def _cross_team(tables: _Tables) -> Iterable[tuple[int, int, Any, dict[str, int]]]:
    """Article uses by the month they happened in: of team-owned articles, and across teams."""
    names = list(cross_team_conditions())
    facts = _incident_facts(tables, tables.uses, via_postmortem=False)
    return _counted(_rolled_up(tables, facts=facts, sums=names), [], names)


def _most_reused(tables: _Tables) -> dict[tuple[int, int, Any], list[list[int]]]:
    """(kind, key, month) -> the first STORED_MOST_REUSED [article id, uses, helped], ranked as
    metrics.secondary.most_reused_articles ranks them (before anyone's visibility)."""
    facts = (
        "SELECT i.id AS id, i.team_id AS team_id, i.severity AS severity, t.month AS month, "
        f"t.article AS article, 1 AS uses, t.helped AS helped FROM {tables.uses} t "
        f"JOIN {tables.incidents} i ON i.id = t.incident_id"
    )
    grouped = _rolled_up(tables, facts=facts, sums=["uses", "helped"], by="article")
    # Ranked in two steps: by uses and helped first, which is cheap, keeping every article
    # that can still be among the first (ties included); titles break ties only among those.
    sql = (
        "WITH grouped (kind, scope_key, month, article, uses, helped) AS ("
        f"SELECT * FROM ({grouped}) g), "
        "contenders AS (SELECT g.kind AS kind, g.scope_key AS scope_key, g.month AS month, "
        "g.article AS article, g.uses AS uses, g.helped AS helped FROM (SELECT g.*, RANK() "
        "OVER (PARTITION BY g.kind, g.scope_key, g.month ORDER BY g.uses DESC, g.helped DESC) "
        f"AS standing FROM grouped g) g WHERE g.standing <= {STORED_MOST_REUSED}) "
        "SELECT kind, scope_key, month, article, uses, helped FROM ("
        "SELECT c.*, ROW_NUMBER() OVER (PARTITION BY c.kind, c.scope_key, c.month "
        "ORDER BY c.uses DESC, c.helped DESC, a.title, c.article) AS position "
        "FROM contenders c JOIN knowledge_article a ON a.id = c.article) ranked "
        f"WHERE position <= {STORED_MOST_REUSED} ORDER BY kind, scope_key, month, position"
    )
    found: dict[tuple[int, int, Any], list[list[int]]] = {}
    for kind, key, month, article, uses, helped in _fetch(sql, []):
        found.setdefault((kind, key, month), []).append([int(article), int(uses), int(helped)])
    return found


def _participation(
    tables: _Tables, window: Period
) -> Iterable[tuple[int, int, Any, dict[str, int]]]:
    """Distinct people who saved a revision of a postmortem (of the scope's incidents) or of an
    article (of the scope's articles) in the month. Distinct counts do not add up across
    scopes or the two sources, so the (scope, month, person) rows are made distinct first."""
    article_rows, params = _orm_rows(
        ArticleRevision.objects.filter(
            created_at__gte=window.start_at, created_at__lt=window.end_at
        ),
        moment="created_at",
        window=window,
        columns={"article_id": F("article"), "team_id": F("article__team"), "editor": F("editor")},
    )
    postmortem_facts = _incident_facts(tables, tables.revisions, via_postmortem=True)
    # Articles have no severity: a severity scope counts every article's authors.
    severities = " UNION ALL ".join(
        f"SELECT {number} AS severity" for number in range(1, len(SEVERITIES) + 1)
    )
    article_services = Article.services.through._meta.db_table
    sql = (
        f"WITH facts AS ({postmortem_facts}), article_rows AS ({article_rows}), "
        "fine AS (SELECT f.month AS month, f.team_id AS team_id, f.severity AS severity, "
        "f.editor AS editor FROM facts f GROUP BY f.month, f.team_id, f.severity, f.editor), "
        "people AS ("
        f"SELECT {ALL_SCOPES} AS kind, 0 AS scope_key, g.month AS month, g.editor AS editor, "
        "1 AS on_postmortem FROM fine g "
        f"UNION ALL SELECT {TEAM_SCOPES}, g.team_id, g.month, g.editor, 1 FROM fine g "
        f"UNION ALL SELECT {SEVERITY_SCOPES}, {_severity_number('g.severity')}, g.month, "
        "g.editor, 1 FROM fine g "
        f"UNION ALL SELECT {SERVICE_SCOPES}, s.service_id, f.month, f.editor, 1 "
        f"FROM facts f JOIN {tables.services} s ON s.incident_id = f.id "
        "GROUP BY f.month, s.service_id, f.editor "
        f"UNION ALL SELECT {ALL_SCOPES}, 0, a.month, a.editor, 0 FROM article_rows a "
        f"UNION ALL SELECT {SEVERITY_SCOPES}, s.severity, a.month, a.editor, 0 "
        f"FROM article_rows a CROSS JOIN ({severities}) s "
        f"UNION ALL SELECT {TEAM_SCOPES}, a.team_id, a.month, a.editor, 0 "
        "FROM article_rows a WHERE a.team_id IS NOT NULL "
        f"UNION ALL SELECT {SERVICE_SCOPES}, x.service_id, a.month, a.editor, 0 "
        f"FROM article_rows a JOIN {article_services} x ON x.article_id = a.article_id) "
        "SELECT kind, scope_key, month, "
        "COUNT(DISTINCT CASE WHEN on_postmortem = 1 THEN editor END), "
        "COUNT(DISTINCT CASE WHEN on_postmortem = 0 THEN editor END), "
        "COUNT(DISTINCT editor) FROM people GROUP BY kind, scope_key, month"
    )
    names = ["postmortem_authors", "article_authors", "people"]
    return _counted(sql, params, names)


def _freshness(*, today: date) -> dict[str, FreshnessFigures]:
    """Scope key -> published articles, past their review date, flagged — as of `today`, the
    same for every month. A severity scope covers every article; a scope missing here has
    no published article."""
    conditions = freshness_conditions(today=today)
    counts = {
        "published": Count("pk", distinct=True),
        **{
            name: Count("pk", filter=condition, distinct=True)
            for name, condition in conditions.items()
        },
    }
    published = Article.objects.filter(state=ArticleState.PUBLISHED).order_by()
    everything = FreshnessFigures(**published.aggregate(**counts))
    found = {"all": everything}
    found.update({f"severity:{severity}": everything for severity in SEVERITIES})
    for kind, field in (("team", "team__slug"), ("service", "services__slug")):
        for row in published.filter(**{f"{field}__isnull": False}).values(field).annotate(**counts):
            found[f"{kind}:{row[field]}"] = FreshnessFigures(
                published=row["published"],
                past_review=row["past_review"],
                flagged=row["flagged"],
            )
    return found
