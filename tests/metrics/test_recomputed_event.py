"""`kpis.recomputed`: emitted once per finished recompute (never per snapshot), and delivered."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.utils.dateparse import parse_datetime

from kbsite import events
from kbsite.models import WebhookDelivery
from kbsite.webhooks import tasks as webhook_tasks
from kbsite.webhooks.services import webhook_subscription_create
from metrics.bulk import all_scope_keys
from metrics.models import RecomputeRun
from metrics.periods import parse_month
from metrics.services import kpi_period_recompute, kpi_recent_recompute, recompute_run_start
from metrics.tasks import recompute_recent
from tests.kbsite.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def announced() -> Any:
    received: list[dict[str, Any]] = []

    def record(**payload: Any) -> None:
        received.append(payload)

    events.subscribe("kpis.recomputed", record)
    yield received
    events.unsubscribe("kpis.recomputed", record)


@pytest.fixture
def catalog(payments_team):
    ServiceFactory(name="checkout", slug="checkout", team=payments_team)


def test_a_period_recompute_is_announced_once(
    catalog, announced, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        kpi_period_recompute(period=parse_month("2026-03"))

    [payload] = announced
    assert payload == {
        "periods": ["2026-03"],
        "scopes_count": len(all_scope_keys()),
        "run_id": None,
        "finished_at": payload["finished_at"],
    }
    assert payload["scopes_count"] == 1 + 1 + 1 + 4  # all, a team, a service, four severities
    assert payload["finished_at"].endswith("Z")
    assert parse_datetime(payload["finished_at"]) is not None


def test_a_run_over_several_months_is_announced_once_with_every_period(
    catalog, announced, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        kpi_recent_recompute(today=date(2026, 3, 15), months=3)

    assert announced == [
        {
            "periods": ["2026-01", "2026-02", "2026-03"],
            "scopes_count": 7,
            "run_id": None,
            "finished_at": announced[0]["finished_at"],
        }
    ]


def test_a_managers_run_carries_its_id(
    catalog, manager, announced, django_capture_on_commit_callbacks
):
    run, _ = recompute_run_start(user=manager)

    with django_capture_on_commit_callbacks(execute=True):
        recompute_recent.delay(run_id=run.pk)

    [payload] = announced
    assert payload["run_id"] == run.pk
    assert len(payload["periods"]) == 13
    assert RecomputeRun.objects.get(pk=run.pk).status == RecomputeRun.Status.DONE


def test_a_failed_run_is_not_announced(
    catalog, announced, monkeypatch, django_capture_on_commit_callbacks
):
    from metrics import services

    def broken(periods: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_months_compute", broken)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        kpi_recent_recompute(today=date(2026, 3, 15), months=2)
    assert announced == []


def test_the_event_is_delivered_to_subscribers_with_its_periods(
    catalog, responder, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    monkeypatch.setattr(webhook_tasks.deliver_webhook, "delay", lambda **kwargs: None)
    subscription = webhook_subscription_create(
        owner=responder,
        name="dashboards",
        target_url="http://127.0.0.1:9/hook",
        events=["kpis.recomputed"],
    ).subscription

    with django_capture_on_commit_callbacks(execute=True):
        kpi_recent_recompute(today=date(2026, 3, 15), months=2)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.subscription, delivery.event) == (subscription, "kpis.recomputed")
    data = delivery.payload["data"]
    assert data == {
        "periods": ["2026-02", "2026-03"],
        "scopes_count": 7,
        "run_id": None,
        "finished_at": data["finished_at"],
    }
