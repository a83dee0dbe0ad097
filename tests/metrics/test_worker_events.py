"""The event path on the real worker: an incident opened through the services reaches its
month's figures with no recompute asked for — the incident_changed task writes its facts row,
stale, and queues the month, whose refresh computes it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kbsite.celery import app as celery_app
from kbsite.models import Service, Team
from metrics.kpis import KPIS
from metrics.models import IncidentFacts, KpiSnapshot
from metrics.periods import ALL, month_period
from metrics.services import kpi_recent_recompute
from postmortems.models import RootCauseCategory
from postmortems.services.incidents import incident_create
from tests.kbsite.factories import UserFactory
from tests.metrics.test_worker_fault import make_history
from tests.worker import purge_queue, start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def repeat_rate(period) -> KpiSnapshot:  # type: ignore[no-untyped-def]
    return KpiSnapshot.objects.get(kpi="repeat_rate", period_start=period.start, scope="all")


def test_an_incident_opened_through_the_services_reaches_its_months_figures():
    make_history()
    kpi_recent_recompute()  # the nightly run: every figure, and a thorough facts check
    now = timezone.now()
    month = month_period(now.date())
    before = repeat_rate(month).denominator
    responder = UserFactory(username="rita", roles=["responder"])

    purge_queue()
    celery_app.conf.task_always_eager = False
    worker = start_worker(KPI_COALESCE_SECONDS="1")
    try:
        opened = incident_create(
            user=responder,
            title="Checkout times out after the config push",
            severity="sev2",
            team=Team.objects.order_by("pk").first(),
            started_at=max(now - timedelta(hours=1), month.start_at),
            services=list(Service.objects.order_by("pk")[:2]),
            root_cause_category=RootCauseCategory.objects.order_by("pk").first(),
        )
        arrived = wait_for(lambda: repeat_rate(month).denominator == before + 1, timeout=90)
    finally:
        celery_app.conf.task_always_eager = True
        stop_worker(worker)

    assert arrived, "the month's figure never counted the new incident"
    facts = IncidentFacts.objects.get(pk=opened.pk)
    assert facts.stale_at is None
    snapshot = repeat_rate(month)
    assert [opened.pk, facts.is_repeat] in snapshot.incidents
    expected = KPIS["repeat_rate"].compute(period=month, scope=ALL)
    assert (snapshot.numerator, snapshot.denominator) == (expected.numerator, expected.denominator)
