"""The daily overdue sweep: each open action item past its due date is announced once per due
date, to its owner in the app and to `action_item.overdue` webhooks that may see its incident."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from kbsite import events
from kbsite.celery import app
from kbsite.models import Notification, WebhookDelivery
from kbsite.webhooks import tasks as webhook_tasks
from kbsite.webhooks.services import webhook_subscription_create
from postmortems.models import ActionItem
from postmortems.services import action_item_update
from postmortems.services import action_items as action_item_services
from postmortems.services.action_items import action_items_notify_overdue
from postmortems.tasks import notify_overdue_action_items
from tests.postmortems.factories import (
    ActionItemFactory,
    IncidentFactory,
    PostmortemFactory,
    restricted_incident,
)

pytestmark = pytest.mark.django_db

TODAY = date(2026, 5, 20)
STARTED = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def announced() -> Any:
    """Records every `action_item.overdue` emission, handlers run as after a commit."""
    received: list[dict[str, Any]] = []

    def record(**payload: Any) -> None:
        received.append(payload)

    events.subscribe("action_item.overdue", record)
    yield received
    events.unsubscribe("action_item.overdue", record)


@pytest.fixture
def postmortem(payments_team, responder):
    incident = IncidentFactory(title="Checkout returns 503", team=payments_team, started_at=STARTED)
    return PostmortemFactory(incident=incident, created_by=responder)


def item(postmortem, owner, *, due: date, **kwargs: Any) -> ActionItem:
    return ActionItemFactory(
        postmortem=postmortem, owner=owner, created_by=owner, due_date=due, **kwargs
    )


def sweep(capture, today: date = TODAY) -> int:
    with capture(execute=True):
        return action_items_notify_overdue(today=today)


def test_an_item_past_its_due_date_is_announced_to_its_owner_once(
    postmortem, responder, announced, django_capture_on_commit_callbacks
):
    late = item(postmortem, responder, due=TODAY - timedelta(days=1), title="Fix the probe")

    assert sweep(django_capture_on_commit_callbacks) == 1

    notice = Notification.objects.get()
    assert (notice.user, notice.text, notice.url) == (
        responder,
        "The action item “Fix the probe” of “Checkout returns 503” was due on 19 May 2026 and "
        "is not done. Finish it, give it a new due date, or mark it won't do with the reason.",
        f"/postmortems/{postmortem.pk}/#action-items",
    )
    assert [message.subject for message in mail.outbox] == ["Action item overdue: Fix the probe"]
    assert announced == [
        {
            "action_item_id": late.pk,
            "postmortem_id": postmortem.pk,
            "incident_id": postmortem.incident_id,
            "due_date": "2026-05-19",
        }
    ]
    late.refresh_from_db()
    assert late.overdue_notified_for == date(2026, 5, 19)

    assert sweep(django_capture_on_commit_callbacks) == 0
    assert sweep(django_capture_on_commit_callbacks, TODAY + timedelta(days=3)) == 0
    assert (Notification.objects.count(), len(mail.outbox), len(announced)) == (1, 1, 1)


def test_items_done_wont_do_or_not_yet_due_are_not_announced(
    postmortem, responder, announced, django_capture_on_commit_callbacks
):
    yesterday = TODAY - timedelta(days=1)
    item(postmortem, responder, due=yesterday, status=ActionItem.Status.DONE)
    item(
        postmortem,
        responder,
        due=yesterday,
        status=ActionItem.Status.WONT_DO,
        status_reason="Replaced by the new rollout gate.",
    )
    item(postmortem, responder, due=TODAY)
    in_progress = item(postmortem, responder, due=yesterday, status=ActionItem.Status.IN_PROGRESS)

    assert sweep(django_capture_on_commit_callbacks) == 1
    assert [payload["action_item_id"] for payload in announced] == [in_progress.pk]


def test_a_new_due_date_is_announced_again_when_it_passes(
    postmortem, responder, announced, django_capture_on_commit_callbacks
):
    late = item(postmortem, responder, due=TODAY - timedelta(days=2))
    assert sweep(django_capture_on_commit_callbacks) == 1

    late.refresh_from_db()
    action_item_update(item=late, user=responder, due_date=TODAY + timedelta(days=7))
    assert sweep(django_capture_on_commit_callbacks) == 0

    assert sweep(django_capture_on_commit_callbacks, TODAY + timedelta(days=8)) == 1
    assert [payload["due_date"] for payload in announced] == ["2026-05-18", "2026-05-27"]
    assert Notification.objects.count() == 2


def test_an_owner_who_may_not_see_the_incident_is_not_told(
    payments_team, responder, outsider, announced, django_capture_on_commit_callbacks
):
    secret = PostmortemFactory(incident=restricted_incident(team=payments_team, started_at=STARTED))
    late = item(secret, outsider, due=TODAY - timedelta(days=1))

    assert sweep(django_capture_on_commit_callbacks) == 1

    assert not Notification.objects.exists()
    assert [payload["action_item_id"] for payload in announced] == [late.pk]


def test_an_item_without_an_owner_is_still_announced(
    postmortem, responder, announced, django_capture_on_commit_callbacks
):
    ActionItemFactory(
        postmortem=postmortem, owner=None, created_by=responder, due_date=TODAY - timedelta(days=1)
    )
    assert sweep(django_capture_on_commit_callbacks) == 1
    assert not Notification.objects.exists()
    assert len(announced) == 1


def test_the_sweep_reads_items_in_batches(
    postmortem, responder, announced, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(action_item_services, "OVERDUE_BATCH_SIZE", 2)
    late = [item(postmortem, responder, due=TODAY - timedelta(days=1)) for _ in range(5)]

    assert sweep(django_capture_on_commit_callbacks) == 5

    assert sorted(payload["action_item_id"] for payload in announced) == [i.pk for i in late]


def test_the_task_runs_the_sweep_and_is_scheduled_daily(
    postmortem, responder, django_capture_on_commit_callbacks
):
    item(postmortem, responder, due=timezone.localdate() - timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert notify_overdue_action_items.delay().get() == 1
    entry = app.conf.beat_schedule["postmortems-overdue-action-items"]
    assert entry["task"] == "postmortems.tasks.notify_overdue_action_items"
    assert notify_overdue_action_items.acks_late is True


# --- webhooks ---------------------------------------------------------------------------------


@pytest.fixture
def webhooks(settings, monkeypatch):
    """Subscriptions to a local address; deliveries are recorded, not sent."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.SITE_URL = "https://kb.example.com"
    monkeypatch.setattr(webhook_tasks.deliver_webhook, "delay", lambda **kwargs: None)

    def subscribe(owner: Any) -> Any:
        return webhook_subscription_create(
            owner=owner,
            name="chat",
            target_url="http://127.0.0.1:9/hook",
            events=["action_item.overdue"],
        ).subscription

    return subscribe


def test_the_event_is_delivered_with_its_ids_and_page(
    postmortem, responder, webhooks, django_capture_on_commit_callbacks
):
    subscription = webhooks(responder)
    late = item(postmortem, responder, due=TODAY - timedelta(days=1))

    sweep(django_capture_on_commit_callbacks)
    sweep(django_capture_on_commit_callbacks)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.subscription, delivery.event) == (subscription, "action_item.overdue")
    assert delivery.payload == {
        "event": "action_item.overdue",
        "occurred_at": delivery.payload["occurred_at"],
        "data": {
            "action_item_id": late.pk,
            "postmortem_id": postmortem.pk,
            "incident_id": postmortem.incident_id,
            "due_date": "2026-05-19",
            "web_url": f"https://kb.example.com/postmortems/{postmortem.pk}/",
        },
    }


def test_an_overdue_item_of_a_restricted_incident_reaches_only_those_who_may_see_it(
    payments_team, responder, outsider, admin_user, webhooks, django_capture_on_commit_callbacks
):
    member = webhooks(responder)
    stranger = webhooks(outsider)
    admin = webhooks(admin_user)
    secret = PostmortemFactory(incident=restricted_incident(team=payments_team, started_at=STARTED))
    item(secret, responder, due=TODAY - timedelta(days=1))

    sweep(django_capture_on_commit_callbacks)

    recipients = set(WebhookDelivery.objects.values_list("subscription_id", flat=True))
    assert recipients == {member.pk, admin.pk}
    assert stranger.pk not in recipients


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_announce_each_item_once(postmortem, responder):
    assert connection.vendor == "postgresql"
    received: list[int] = []
    lock = threading.Lock()

    def record(*, action_item_id: int, **_: Any) -> None:
        with lock:
            received.append(action_item_id)

    late = [item(postmortem, responder, due=TODAY - timedelta(days=1)) for _ in range(20)]
    barrier = threading.Barrier(2)
    counts: list[Any] = [None, None]

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            counts[index] = action_items_notify_overdue(today=TODAY)
        except Exception as failure:  # recorded for the assertions
            counts[index] = failure
        finally:
            connection.close()

    events.subscribe("action_item.overdue", record)
    try:
        threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        events.unsubscribe("action_item.overdue", record)

    assert sum(counts) == 20, counts
    assert sorted(received) == [i.pk for i in late]
    assert Notification.objects.count() == 20
