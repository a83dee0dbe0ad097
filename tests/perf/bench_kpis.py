"""KPI benchmark: full and one-month recompute beside the raw SQL aggregates, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kb_bench \\
        .venv/bin/python tests/perf/bench_kpis.py --incidents 1000000

Seeds synthetic incidents (`seed_incidents --total`) if there are fewer than asked, then times:
- the refresh of the stored incident facts the figures read (from scratch with --rebuild-facts
  or on a fresh database; otherwise only what is stale), and what one ordinary change costs,
- the full recompute (13 months × every scope, as the nightly job runs it), and apart from it
  the dashboard's secondary figures that the same job stores afterwards,
- a one-month recompute of the last whole month (what an event enqueues),
- the raw SQL alone: the per-incident fact queries of one month, without writing snapshots,
- what a new incident costs: the facts its task marks stale, then its month's recompute,
- similar-incident suggestions for recent incidents (p50/p95), for an admin and for the
  responder named on the most incidents (whose visibility filter is the heaviest),
- the KPI API answer for one figure and the dashboard page (p50/p95), which read snapshots.
`--smoke` runs it at 300 incidents, for CI.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(function, *args, **kwargs) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, result


def raw_fact_queries_ms(*periods) -> float:  # type: ignore[no-untyped-def]
    """The SQL alone of recomputing `periods`: every KPI's per-incident rows and their GROUP
    BYs for every scope, as the job runs them, with no snapshot written (the stored incident
    facts are fresh, as after the job's refresh)."""
    from django.db import transaction

    from metrics import bulk
    from metrics.services import _computing

    started = time.perf_counter()
    with transaction.atomic():
        for _, compute in _computing(bulk.BULK_MONTHS):
            compute(periods=list(periods))
    return (time.perf_counter() - started) * 1000


def facts_event_ms(last_month):  # type: ignore[no-untyped-def]
    """What one ordinary change costs: an article use marked helpful on an incident resolved
    three days before the end of last month — mark the facts it can influence stale, then the
    recompute of its month, which refreshes them. Rolled back afterwards."""
    from django.db import transaction

    from metrics.facts import incident_facts_invalidate
    from metrics.services import kpi_period_recompute
    from postmortems.models import ArticleUse, Incident

    day = last_month.end_at - timedelta(days=3)
    incident = (
        Incident.objects.filter(resolved_at__gte=day, resolved_at__lt=day + timedelta(days=1))
        .exclude(article_uses__helped=True)
        .filter(article_uses__isnull=False)
        .first()
    )
    if incident is None:
        return None
    with transaction.atomic():
        ArticleUse.objects.filter(incident=incident).update(helped=True)
        mark_ms, marked = timed(incident_facts_invalidate, incident_id=incident.pk)
        recompute_ms, _ = timed(kpi_period_recompute, period=last_month)
        transaction.set_rollback(True)
    return mark_ms, marked, recompute_ms


def new_incident_ms(this_month):  # type: ignore[no-untyped-def]
    """What one new incident costs, as its "incident.created" task runs it: mark the facts it
    can influence stale (earlier incidents of its category and services, whose failure mode it
    may repeat), then the recompute of its month, which refreshes them. Rolled back."""
    from django.db import transaction
    from django.utils import timezone

    from metrics.facts import incident_facts_invalidate
    from metrics.services import kpi_period_recompute
    from postmortems.models import Incident

    like = (
        Incident.objects.filter(root_cause_category__isnull=False, services__isnull=False)
        .order_by("-started_at")
        .first()
    )
    if like is None:
        return None
    with transaction.atomic():
        opened = Incident.objects.create(
            title="Benchmark: a new incident like the latest one",
            severity=like.severity,
            team_id=like.team_id,
            root_cause_category_id=like.root_cause_category_id,
            created_by_id=like.created_by_id,
            started_at=max(timezone.now() - timedelta(minutes=30), this_month.start_at),
        )
        opened.services.set(like.services.all())
        mark_ms, marked = timed(incident_facts_invalidate, incident_id=opened.pk)
        recompute_ms, _ = timed(kpi_period_recompute, period=this_month)
        transaction.set_rollback(True)
    return mark_ms, marked, recompute_ms


def busiest_responder():  # type: ignore[no-untyped-def]
    """The non-admin named on the most incidents: the costliest visibility filter."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from kbsite.roles import Role, user_has_role
    from postmortems.models import Incident

    named = Incident.responders.through.objects.values("user_id").annotate(n=Count("id"))
    for row in named.order_by("-n")[:10]:
        user = get_user_model().objects.get(pk=row["user_id"])
        if not user_has_role(user, Role.ADMIN):
            return user
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--smoke", action="store_true", help="300 incidents, few runs (CI)")
    parser.add_argument(
        "--rebuild-facts",
        action="store_true",
        help="mark every stored incident fact stale first, to time building them from scratch",
    )
    args = parser.parse_args()
    if args.smoke:
        args.incidents, args.runs = 300, 3

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from kbsite.errors import InvalidInput  # noqa: F401 - settles app loading order
    from metrics.facts import facts_refresh
    from metrics.models import IncidentFacts
    from metrics.periods import month_period, recent_months
    from metrics.secondary_store import secondary_snapshots_store
    from metrics.services import (
        FULL_RECOMPUTE_MONTHS,
        facts_horizon,
        kpi_period_recompute,
        kpi_recent_recompute,
    )
    from postmortems.models import Incident
    from postmortems.permissions import incidents_visible_q
    from postmortems.similar import incident_similar_for_user
    from tests.kbsite.factories import UserFactory

    if connection.vendor != "postgresql" and not args.smoke:
        sys.exit("Set DATABASE_URL to a PostgreSQL database: the targets are for PostgreSQL.")
    if settings.DATABASES["default"]["NAME"].startswith("test_"):
        sys.exit("Refusing to run against a test database.")
    call_command("migrate", verbosity=0)
    have = Incident.objects.count()
    if have < args.incidents:
        call_command("seed_incidents", incidents=args.incidents, total=True)
    total = Incident.objects.count()
    print(f"{total} incidents on {connection.vendor}")

    # The last whole month: the current one holds only the days so far, which would flatter it.
    this_month = month_period(timezone.now().date())
    last_month = month_period(this_month.start - timedelta(days=1))
    periods = recent_months(today=this_month.start, count=FULL_RECOMPUTE_MONTHS)
    if args.rebuild_facts:
        IncidentFacts.objects.update(stale_at=timezone.now())
    start, end = facts_horizon(periods)
    facts_ms, refreshed = timed(facts_refresh, start=start, end=end)
    full_ms, _ = timed(kpi_recent_recompute, with_secondary=False)
    full_raw_ms = raw_fact_queries_ms(*periods)
    secondary_ms, _ = timed(secondary_snapshots_store, periods=periods)
    secondary_month_ms, _ = timed(secondary_snapshots_store, periods=[last_month])
    month_ms = [timed(kpi_period_recompute, period=last_month)[0] for _ in range(3)]
    raw_ms = [raw_fact_queries_ms(last_month) for _ in range(3)]
    event = facts_event_ms(last_month)
    created = new_incident_ms(this_month)

    admin = UserFactory(username="bench-admin", roles=["admin"], is_superuser=True)
    recent = list(
        Incident.objects.order_by("-started_at").values_list("pk", flat=True)[: args.runs]
    )
    similar_ms = []
    for pk in recent:
        incident = Incident.objects.get(pk=pk)
        similar_ms.append(timed(incident_similar_for_user, incident=incident, user=admin)[0])
    responder = busiest_responder()
    responder_ms = []
    if responder is not None:
        visible = Incident.objects.filter(incidents_visible_q(responder)).order_by("-started_at")
        for incident in visible[: args.runs]:
            responder_ms.append(
                timed(incident_similar_for_user, incident=incident, user=responder)[0]
            )

    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    api_ms = []
    for _ in range(args.runs):
        elapsed, response = timed(
            client.get, f"/api/v1/kpis/?kpi=repeat_rate&period={this_month.label}&scope=all"
        )
        assert response.status_code == 200, response.status_code  # type: ignore[attr-defined]
        api_ms.append(elapsed)
    dashboard_ms = []
    for _ in range(args.runs):
        elapsed, response = timed(client.get, "/dashboard/")
        assert response.status_code == 200, response.status_code  # type: ignore[attr-defined]
        dashboard_ms.append(elapsed)

    print(
        f"incident facts refreshed before the runs: {refreshed.incidents} "  # type: ignore[attr-defined]
        f"in {facts_ms / 1000:.1f} s (all of them only when built from scratch)"
    )
    if event is not None:
        mark_ms, marked, recompute_ms = event
        print(
            f"one change (help marked 3 days after resolution): {marked} facts marked stale in "
            f"{mark_ms:.1f} ms; the recompute of its month, refreshing them, {recompute_ms:.1f} ms"
        )
    if created is not None:
        mark_ms, marked, recompute_ms = created
        print(
            f"one new incident: {marked} facts marked stale in {mark_ms:.1f} ms; the recompute "
            f"of its month, refreshing them, {recompute_ms:.1f} ms"
        )
    print(
        f"dashboard secondary figures stored by the same job: 13 months {secondary_ms:.1f} ms, "
        f"one month {secondary_month_ms:.1f} ms"
    )
    rows = [
        ("full recompute (13 months × every scope)", full_ms, full_raw_ms),
        (
            f"one-month recompute ({last_month.label})",
            statistics.median(month_ms),
            statistics.median(raw_ms),
        ),
    ]
    print(f"{'what':<44} {'ms':>9} {'raw SQL ms':>11}")
    for name, value, raw in rows:
        raw_text = "-" if raw is None else f"{raw:.1f}"
        print(f"{name:<44} {value:>9.1f} {raw_text:>11}")
    print(
        f"{'similar incidents p50 / p95':<44} {statistics.median(similar_ms):>9.1f} "
        f"{percentile(similar_ms, 0.95):>11.1f}"
    )
    if responder_ms:
        print(
            f"{'similar, as the busiest responder p50 / p95':<44} "
            f"{statistics.median(responder_ms):>9.1f} {percentile(responder_ms, 0.95):>11.1f}"
        )
    print(
        f"{'KPI API p50 / p95':<44} {statistics.median(api_ms):>9.1f} "
        f"{percentile(api_ms, 0.95):>11.1f}"
    )
    print(
        f"{'dashboard page p50 / p95':<44} {statistics.median(dashboard_ms):>9.1f} "
        f"{percentile(dashboard_ms, 0.95):>11.1f}"
    )


if __name__ == "__main__":
    main()
