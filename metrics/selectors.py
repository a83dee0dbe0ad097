"""Reads of KPI figures: one snapshot (computed on request when missing), a trend, and the
drill-down behind a figure as a given person may see it.

Restricted incidents count in every figure, but a drill-down never names one to a person who
may not see it: it says how many it leaves out instead (`hidden`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from django.conf import settings
from django.db.models import BooleanField, Case, CharField, Q, Value, When
from django.urls import NoReverseMatch, reverse

from kbsite.errors import InvalidInput
from kbsite.models import Service, Team
from metrics.kpis import kpi_definition
from metrics.models import KpiSnapshot, RecomputeRun
from metrics.periods import Period, Scope
from metrics.secondary import SecondaryMetrics
from metrics.secondary_store import SECONDARY_KPI, secondary_from_snapshot
from metrics.services import kpi_snapshot_compute
from metrics.sql import ids_subquery
from postmortems.models import Incident
from postmortems.permissions import incidents_visible_q

# A drill-down reads its incidents in batches of this many ids per query, so that one answer
# stays bounded however large the month a figure rests on.
DRILL_DOWN_BATCH = 10_000


def scope_check(*, scope: Scope) -> Scope:
    """The scope itself when its team or service exists; InvalidInput naming `scope` otherwise.

    Teams and services are public in kbsite, so anyone signed in may look at any of them.
    """
    if scope.kind in ("team", "service"):
        model = Team if scope.kind == "team" else Service
        if not model.objects.filter(slug=scope.slug).exists():
            raise InvalidInput(f"There is no {scope.kind} {scope.slug!r}.", field="scope")
    return scope


def kpi_snapshot_get(*, kpi: str, period: Period, scope: Scope) -> KpiSnapshot:
    """The stored figure of `kpi` for (period, scope); computed and stored when there is none.

    Raises InvalidInput (field `kpi` or `scope`) for an unknown KPI or a team or service that
    does not exist.
    """
    kpi_definition(kpi)
    scope_check(scope=scope)
    snapshot = KpiSnapshot.objects.filter(
        kpi=kpi, period_start=period.start, period_end=period.end, scope=scope.key
    ).first()
    if snapshot is None:
        snapshot = kpi_snapshot_compute(kpi=kpi, period=period, scope=scope)
    return snapshot


def kpi_trend(*, kpi: str, scope: Scope, periods: Sequence[Period]) -> list[KpiSnapshot | None]:
    """The stored figures of `kpi` for each period, in the order given; None where a period has
    no snapshot yet. One query; nothing is computed."""
    found = kpi_snapshots_by_period(kpis=[kpi], scope=scope, periods=periods)
    return [found.get((kpi, period)) for period in periods]


def kpi_snapshots_by_period(
    *, kpis: Iterable[str], scope: Scope, periods: Sequence[Period]
) -> dict[tuple[str, Period], KpiSnapshot]:
    """Every stored snapshot of the given KPIs, scope and periods, keyed by (kpi, period), in
    one query. The dashboard reads its figures through this and computes nothing. The rows of
    the secondary figures are not KPIs (no value, no drill-down): they are never answered
    here, even when asked for."""
    if not periods:
        return {}
    wanted = set(periods)
    rows = KpiSnapshot.objects.filter(
        kpi__in=[kpi for kpi in kpis if kpi != SECONDARY_KPI],
        scope=scope.key,
        period_start__gte=min(period.start for period in periods),
        period_end__lte=max(period.end for period in periods),
    ).defer("incidents")  # the drill-down lists (thousands of ids a month) are for drill-downs
    found: dict[tuple[str, Period], KpiSnapshot] = {}
    for snapshot in rows:
        period = Period(start=snapshot.period_start, end=snapshot.period_end)
        if period in wanted:
            found[(snapshot.kpi, period)] = snapshot
    return found


def secondary_metrics_stored(*, period: Period, scope: Scope, user: Any) -> SecondaryMetrics | None:
    """The stored secondary figures of (period, scope) as `user` may see them, or None when
    they have not been computed yet. Nothing is computed: one query for the row, and one for
    the articles of its most reused list that `user` may read (none when the list is empty)."""
    snapshot = (
        KpiSnapshot.objects.filter(
            kpi=SECONDARY_KPI,
            period_start=period.start,
            period_end=period.end,
            scope=scope.key,
        )
        .defer("incidents")
        .first()
    )
    if snapshot is None:
        return None
    return secondary_from_snapshot(snapshot=snapshot, user=user)


class DrillDownIncident(TypedDict):
    id: int
    title: str
    path: str  # the incident's page on this site, for links in pages
    web_url: str  # the same, absolute, for programs and CSV
    in_numerator: bool


@dataclass(frozen=True)
class DrillDown:
    """The incidents behind a figure that one person may see, and how many it may not."""

    incidents: list[DrillDownIncident]
    hidden: int

    @property
    def total(self) -> int:
        return len(self.incidents) + self.hidden

    @property
    def in_numerator(self) -> int:
        return sum(1 for incident in self.incidents if incident["in_numerator"])


def incident_path_template() -> str:
    """The path of an incident's page with `{pk}` in place of its id (reversed once, not per
    row). Falls back to the incident list while the incident pages are not routed."""
    sentinel = 987654321
    try:
        path = reverse("postmortems:incident_detail", kwargs={"pk": sentinel})
    except NoReverseMatch:
        return reverse("postmortems:index") + "#incident-{pk}"
    return path.replace(str(sentinel), "{pk}")


def kpi_drill_down(*, snapshot: KpiSnapshot, user: Any) -> DrillDown:
    """The snapshot's incidents that `user` may see, in the snapshot's order, each marked with
    whether it counts in the numerator; the others are only counted, in `hidden`.

    One query per DRILL_DOWN_BATCH incidents (one for any ordinary month). The title of an
    incident the user may not see is never read from the database.
    """
    counted = {int(pk): bool(in_numerator) for pk, in_numerator in snapshot.incidents}
    ids = list(counted)
    visible_q = incidents_visible_q(user)
    # Admins see every incident, and an empty Q cannot be a When() condition.
    visible: Q = visible_q if visible_q else Q(pk__isnull=False)
    titles: dict[int, str] = {}
    invisible = 0
    for start in range(0, len(ids), DRILL_DOWN_BATCH):
        batch = ids[start : start + DRILL_DOWN_BATCH]
        rows = (
            Incident.objects.filter(pk__in=ids_subquery(batch))
            .annotate(
                is_visible=Case(
                    When(visible, then=Value(True)),
                    default=Value(False),
                    output_field=BooleanField(),
                ),
                shown_title=Case(
                    When(visible, then="title"), default=Value(""), output_field=CharField()
                ),
            )
            .values_list("pk", "is_visible", "shown_title")
        )
        for pk, is_visible, title in rows:
            if is_visible:
                titles[pk] = title
            else:
                invisible += 1
    # An incident deleted since the figure was computed is neither listed nor hidden: it is gone.
    path_of = incident_path_template()
    site_url = settings.SITE_URL  # read once: a settings lookup costs more than the row
    incidents: list[DrillDownIncident] = []
    for pk in ids:
        if pk not in titles:
            continue
        path = path_of.format(pk=pk)
        incidents.append(
            DrillDownIncident(
                id=pk,
                title=titles[pk],
                path=path,
                web_url=f"{site_url}{path}",
                in_numerator=counted[pk],
            )
        )
    return DrillDown(incidents=incidents, hidden=invisible)


def recompute_run_latest() -> RecomputeRun | None:
    """The active recompute when there is one, else the most recent."""
    return (
        RecomputeRun.objects.select_related("requested_by")
        .order_by("-is_active", "-created_at", "-id")
        .first()
    )
