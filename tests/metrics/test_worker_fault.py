"""Fault test: SIGKILL the worker in the middle of a full recompute, start it again, and the
snapshot table ends complete and identical to an undisturbed run, without duplicates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kbsite.celery import app as celery_app
from metrics.models import IncidentFacts, KpiSnapshot, RecomputeRun
from metrics.services import kpi_recent_recompute, recompute_run_start
from metrics.tasks import recompute_recent
from tests.kbsite.factories import ServiceFactory, TeamFactory, UserFactory
from tests.postmortems.factories import IncidentFactory, RootCauseCategoryFactory
from tests.worker import purge_queue, start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def snapshot_rows() -> list[tuple]:
    return sorted(
        KpiSnapshot.objects.values_list(
            "kpi",
            "period_start",
            "period_end",
            "scope",
            "value",
            "numerator",
            "denominator",
            "incidents",
            "extra",
        )
    )


def facts_rows() -> list[tuple]:
    fields = [field.attname for field in IncidentFacts._meta.concrete_fields]
    ignored = {"computed_at", "stale_at"}
    return sorted(
        IncidentFacts.objects.values_list(*(name for name in fields if name not in ignored))
    )


def make_history() -> None:
    teams = [TeamFactory(name=f"Fault team {n}") for n in range(3)]
    services = [ServiceFactory(name=f"fault-service-{n}", team=teams[n % 3]) for n in range(12)]
    categories = [RootCauseCategoryFactory(name=f"Fault category {n}") for n in range(3)]
    now = timezone.now()
    for number in range(80):
        started = now - timedelta(days=5 * number + 1)
        IncidentFactory(
            team=teams[number % 3],
            services=[services[number % 12], services[(number * 5) % 12]],
            root_cause_category=categories[number % 3],
            severity=f"sev{number % 4 + 1}",
            started_at=started,
            resolved_at=started + timedelta(hours=1 + number % 9),
        )


def test_a_killed_worker_leaves_the_snapshots_complete_and_identical(settings):
    make_history()
    kpi_recent_recompute()
    expected = snapshot_rows()
    # Three KPIs and the dashboard's secondary figures, 13 months, every scope.
    assert len(expected) == 4 * 13 * (1 + 3 + 12 + 4)
    facts = facts_rows()
    # The run must rebuild the stored incident facts too, a few incidents per step, so that
    # the worker dies in the middle of that.
    KpiSnapshot.objects.all().delete()
    IncidentFacts.objects.all().delete()

    purge_queue()
    run, _ = recompute_run_start(user=UserFactory(username="maya"))
    celery_app.conf.task_always_eager = False
    environment = {"CELERY_VISIBILITY_TIMEOUT": "3", "KPI_FACTS_BATCH": "4"}
    first = start_worker(pool="solo", **environment)
    second = None
    try:
        recompute_recent.apply_async(kwargs={"run_id": run.pk})
        # Steps: the facts in batches of 4, computing every month, storing each month, and
        # the secondary figures.
        total = -(-len(facts) // 4) + 1 + 13 + 1
        assert wait_for(lambda: RecomputeRun.objects.get(pk=run.pk).done_steps >= 3, timeout=60)
        stop_worker(first, hard=True)
        killed_at = RecomputeRun.objects.get(pk=run.pk)
        assert killed_at.status == RecomputeRun.Status.RUNNING
        assert killed_at.done_steps < total
        assert KpiSnapshot.objects.count() < len(expected)

        second = start_worker(pool="solo", **environment)
        assert wait_for(
            lambda: RecomputeRun.objects.get(pk=run.pk).status == RecomputeRun.Status.DONE,
            timeout=120,
        )
    finally:
        celery_app.conf.task_always_eager = True
        stop_worker(first, hard=True)
        if second is not None:
            stop_worker(second)

    assert snapshot_rows() == expected
    assert KpiSnapshot.objects.count() == len(expected)
    assert facts_rows() == facts
