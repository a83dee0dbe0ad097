"""Webhook deliveries to a real HTTP receiver in this process: signing, retries, auto-pause."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from kbsite import events
from kbsite.celery import app as celery_app
from kbsite.models import Notification, WebhookDelivery, WebhookSubscription
from kbsite.webhooks import services, targets
from kbsite.webhooks.services import (
    retry_delay,
    webhook_deliveries_create,
    webhook_delivery_attempt,
    webhook_subscription_create,
)
from kbsite.webhooks.signing import signature_verify
from tests.worker import purge_queue, running_worker, wait_for

pytestmark = pytest.mark.django_db


@dataclass
class Receiver:
    url: str
    answers: list[int] = field(default_factory=list)  # status codes to give, in order; then 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    redirect_to: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.received.append((dict(self.headers), body))
            code = state.answers.pop(0) if state.answers else 200
            self.send_response(code)
            if 300 <= code < 400:
                self.send_header("Location", state.redirect_to)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def private_targets(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_RETRY_BACKOFF_SECONDS = 30
    settings.WEBHOOK_PAUSE_AFTER_FAILURES = 10
    settings.SITE_URL = "https://kb.example.com"


@pytest.fixture
def open_visibility(monkeypatch):
    """As if the app owning incidents said everyone may see every incident."""
    monkeypatch.setattr(services, "_visibility_checks", {"incident_id": lambda user, pk: True})


def subscribe(owner, url: str, events_: list[str] | None = None):
    return webhook_subscription_create(
        owner=owner, name="receiver", target_url=url, events=events_ or ["article.published"]
    )


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def test_an_event_is_delivered_signed_to_a_real_receiver(
    receiver, private_targets, responder, django_capture_on_commit_callbacks
):
    issued = subscribe(responder, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        events.emit("article.published", article_id=42)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status_code) == (
        "succeeded",
        1,
        200,
    )
    assert delivery.duration_ms is not None
    assert delivery.error == ""
    [(headers, body)] = receiver.received
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Kbsite-Event"] == "article.published"
    assert headers["X-Kbsite-Delivery"] == str(delivery.pk)
    assert signature_verify(secret=issued.secret, header=headers["X-Kbsite-Signature"], body=body)
    payload = json.loads(body)
    assert payload == {
        "event": "article.published",
        "occurred_at": payload["occurred_at"],
        "data": {"article_id": 42, "web_url": "https://kb.example.com/knowledge/42/"},
    }
    assert payload["occurred_at"].endswith("Z")
    assert delivery.payload == payload


def test_only_active_subscriptions_to_the_event_get_a_delivery(
    receiver, private_targets, open_visibility, responder, django_capture_on_commit_callbacks
):
    wanted = subscribe(responder, receiver.url, ["incident.created"]).subscription
    subscribe(responder, receiver.url, ["article.published"])
    paused = subscribe(responder, receiver.url, ["incident.created"]).subscription
    services.webhook_subscription_pause(subscription=paused)
    with django_capture_on_commit_callbacks(execute=True):
        events.emit("incident.created", incident_id=7)
    assert list(WebhookDelivery.objects.values_list("subscription_id", "event")) == [
        (wanted.pk, "incident.created")
    ]


def test_incident_events_reach_only_owners_who_may_see_the_incident(
    receiver, private_targets, responder, outsider, admin_user, monkeypatch
):
    mine = subscribe(responder, receiver.url, ["incident.created"]).subscription
    theirs = subscribe(outsider, receiver.url, ["incident.created"]).subscription
    admins = subscribe(admin_user, receiver.url, ["incident.created"]).subscription
    # Nothing registered: fail closed, admins only.
    monkeypatch.setattr(services, "_visibility_checks", {})
    created = webhook_deliveries_create(event="incident.created", data={"incident_id": 9})
    assert [d.subscription_id for d in created] == [admins.pk]
    services.webhook_visibility_register("incident_id", lambda user, pk: user.pk == mine.owner_id)
    created = webhook_deliveries_create(event="incident.created", data={"incident_id": 9})
    assert sorted(d.subscription_id for d in created) == sorted([admins.pk, mine.pk])
    assert theirs.pk not in [d.subscription_id for d in created]


def test_network_errors_and_5xx_are_retried_with_exponential_backoff(
    private_targets, responder, receiver
):
    receiver.answers = [503, 502, 500]
    subscription = subscribe(responder, receiver.url).subscription
    [delivery] = webhook_deliveries_create(event="article.published", data={"article_id": 1})
    outcomes = [webhook_delivery_attempt(delivery_id=delivery.pk) for _ in range(3)]
    assert [(o.status, o.retry_in) for o in outcomes] == [
        ("pending", 30),
        ("pending", 60),
        ("failed", None),
    ]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status_code) == (
        "failed",
        3,
        500,
    )
    assert delivery.error == "The receiver answered 500."
    assert len(receiver.received) == 3
    subscription.refresh_from_db()
    assert subscription.failure_count == 1
    # Done: running the task again does nothing.
    assert webhook_delivery_attempt(delivery_id=delivery.pk).status == "skipped"
    assert len(receiver.received) == 3


def test_a_refused_connection_is_retried(private_targets, responder):
    subscribe(responder, closed_port_url())
    [delivery] = webhook_deliveries_create(event="article.published", data={"article_id": 1})
    outcome = webhook_delivery_attempt(delivery_id=delivery.pk)
    assert (outcome.status, outcome.retry_in) == ("pending", 30)
    delivery.refresh_from_db()
    assert delivery.response_status_code is None
    assert delivery.error == "ConnectionRefusedError: Connection refused. Retrying in 30 s."


@pytest.mark.parametrize("code", [400, 401, 404, 410, 429])
def test_a_4xx_answer_is_final(private_targets, responder, receiver, code):
    receiver.answers = [code]
    subscribe(responder, receiver.url)
    [delivery] = webhook_deliveries_create(event="article.published", data={"article_id": 1})
    outcome = webhook_delivery_attempt(delivery_id=delivery.pk)
    assert (outcome.status, outcome.retry_in) == ("failed", None)
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_status_code) == (1, code)


def test_redirects_are_not_followed(private_targets, responder, receiver):
    receiver.answers = [302]
    receiver.redirect_to = "http://169.254.169.254/latest/meta-data/"
    subscribe(responder, receiver.url)
    [delivery] = webhook_deliveries_create(event="article.published", data={"article_id": 1})
    assert webhook_delivery_attempt(delivery_id=delivery.pk).status == "failed"
    delivery.refresh_from_db()
    assert delivery.response_status_code == 302
    assert len(receiver.received) == 1


def test_backoff_doubles_and_stops_at_an_hour(settings):
    settings.WEBHOOK_RETRY_BACKOFF_SECONDS = 30
    assert [retry_delay(attempts=n) for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]


def test_the_eager_task_makes_one_attempt(
    private_targets, responder, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [503]
    subscribe(responder, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        events.emit("article.published", article_id=3)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)


def test_a_subscription_failing_in_a_row_is_paused_and_its_owner_told(
    private_targets, settings, responder, receiver, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_PAUSE_AFTER_FAILURES = 3
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.answers = [500, 500, 200, 500, 500, 500]
    subscription = subscribe(responder, receiver.url).subscription

    def deliver_one() -> None:
        [delivery] = webhook_deliveries_create(event="article.published", data={"article_id": 1})
        webhook_delivery_attempt(delivery_id=delivery.pk)

    counts = []
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            deliver_one()
            subscription.refresh_from_db()
            counts.append((subscription.failure_count, subscription.is_active))
    assert counts == [(1, True), (2, True), (0, True), (1, True), (2, True)]
    with django_capture_on_commit_callbacks(execute=True):
        deliver_one()
    subscription.refresh_from_db()
    assert (subscription.is_active, subscription.failure_count) == (False, 3)
    assert subscription.paused_at is not None
    assert subscription.pause_reason == "Paused after 3 failed deliveries in a row."
    [notice] = Notification.objects.filter(user=responder)
    assert notice.text.startswith("Your webhook “receiver” was paused after 3 failed deliveries")
    assert notice.url == f"/accounts/webhooks/{subscription.pk}/"
    assert [m.subject for m in mail.outbox] == ["kbsite: webhook “receiver” paused"]
    # Paused: no more deliveries for new events.
    assert webhook_deliveries_create(event="article.published", data={"article_id": 1}) == []


def test_a_delivery_pending_when_its_webhook_is_paused_is_not_sent(
    private_targets, responder, receiver
):
    subscription = subscribe(responder, receiver.url).subscription
    [delivery] = webhook_deliveries_create(event="article.published", data={"article_id": 1})
    services.webhook_subscription_pause(subscription=subscription)
    assert webhook_delivery_attempt(delivery_id=delivery.pk).status == "failed"
    delivery.refresh_from_db()
    assert delivery.error == "Not sent: the webhook was paused."
    assert receiver.received == []


def test_the_target_is_checked_again_at_delivery_time(
    private_targets, settings, responder, receiver, monkeypatch
):
    subscription = subscribe(responder, receiver.url).subscription
    [delivery] = webhook_deliveries_create(event="article.published", data={"article_id": 1})
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    assert webhook_delivery_attempt(delivery_id=delivery.pk).status == "failed"
    delivery.refresh_from_db()
    assert "internal or reserved address" in delivery.error
    assert receiver.received == []
    subscription.refresh_from_db()
    assert subscription.failure_count == 1


def test_a_name_that_turns_to_loopback_after_creation_is_refused(
    settings, responder, receiver, monkeypatch
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    answers = {"hooks.example.test": "93.184.215.14"}

    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(targets.socket, "getaddrinfo", getaddrinfo)
    port = receiver.url.split(":")[2].split("/")[0]
    subscribe(responder, f"http://hooks.example.test:{port}/hook")
    answers["hooks.example.test"] = "127.0.0.1"  # DNS rebinding
    [delivery] = webhook_deliveries_create(event="article.published", data={"article_id": 1})
    assert webhook_delivery_attempt(delivery_id=delivery.pk).status == "failed"
    delivery.refresh_from_db()
    assert "resolves to 127.0.0.1" in delivery.error
    assert receiver.received == []


def test_the_connection_goes_to_the_checked_address_with_the_host_name(
    private_targets, responder, receiver, monkeypatch
):
    port = receiver.url.split(":")[2].split("/")[0]

    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(targets.socket, "getaddrinfo", getaddrinfo)
    subscribe(responder, f"http://receiver.example.test:{port}/hook")
    [delivery] = webhook_deliveries_create(event="article.published", data={"article_id": 1})
    assert webhook_delivery_attempt(delivery_id=delivery.pk).status == "succeeded"
    [(headers, _)] = receiver.received
    assert headers["Host"] == f"receiver.example.test:{port}"


def test_old_deliveries_are_pruned(private_targets, responder, receiver):
    from datetime import timedelta

    from django.utils import timezone

    subscribe(responder, receiver.url)
    old, new = (
        webhook_deliveries_create(event="article.published", data={"article_id": n})[0]
        for n in (1, 2)
    )
    WebhookDelivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert services.webhook_deliveries_prune() == 1
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [new.pk]


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_retries_a_5xx_then_delivers(settings, receiver, responder):
    assert settings.REDIS_URL, "the worker test needs REDIS_URL"
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    receiver.answers = [503]
    subscription = subscribe(responder, receiver.url).subscription
    purge_queue()
    celery_app.conf.task_always_eager = False
    try:
        with running_worker(
            WEBHOOK_ALLOW_PRIVATE_TARGETS="true", WEBHOOK_RETRY_BACKOFF_SECONDS="1"
        ):
            events.emit("article.published", article_id=5)
            assert wait_for(
                lambda: WebhookDelivery.objects.filter(status="succeeded").exists(), timeout=30
            )
    finally:
        celery_app.conf.task_always_eager = True
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert (delivery.attempts, delivery.response_status_code) == (2, 200)
    assert len(receiver.received) == 2
    assert WebhookSubscription.objects.get().failure_count == 0
