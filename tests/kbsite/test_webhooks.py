"""Webhook subscriptions: the account pages and /api/v1/webhooks/."""

from __future__ import annotations

import socket

import pytest
from django.core.cache import cache

from kbsite.models import WebhookDelivery, WebhookSubscription
from kbsite.services import api_token_issue
from kbsite.webhooks import targets
from kbsite.webhooks.services import (
    MAX_SUBSCRIPTIONS_PER_OWNER,
    webhook_subscription_create,
    webhook_subscription_pause,
)

pytestmark = pytest.mark.django_db

PUBLIC = "https://hooks.example.test/kbsite"


@pytest.fixture(autouse=True)
def dns(monkeypatch, settings):
    """hooks.example.test is public, internal.example.test is a private address."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    answers = {"hooks.example.test": "93.184.215.14", "internal.example.test": "10.0.0.8"}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(targets.socket, "getaddrinfo", getaddrinfo)
    cache.clear()


def make(owner, name="chat", events=("incident.created",)):
    return webhook_subscription_create(
        owner=owner, name=name, target_url=PUBLIC, events=list(events)
    )


# --- pages ------------------------------------------------------------------------------------


def test_creating_a_webhook_shows_its_secret_once(client, responder):
    client.force_login(responder)
    response = client.post(
        "/accounts/webhooks/",
        {"name": "Chat bridge", "target_url": PUBLIC, "events": ["incident.created"]},
        follow=True,
    )
    assert response.redirect_chain == [("/accounts/webhooks/#new-secret", 302)]
    assert response["Cache-Control"] == "no-store"
    issued = response.context["issued"]
    page = response.content.decode()
    assert "you will not see it again" in page
    assert f'value="{issued.secret}" readonly' in page
    subscription = WebhookSubscription.objects.get()
    assert (subscription.owner, subscription.name, subscription.target_url) == (
        responder,
        "Chat bridge",
        PUBLIC,
    )
    assert subscription.events == ["incident.created"]
    assert subscription.secret == issued.secret
    assert issued.secret not in client.get("/accounts/webhooks/").content.decode()
    detail = client.get(f"/accounts/webhooks/{subscription.pk}/").content.decode()
    assert issued.secret not in detail


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "target_url": PUBLIC, "events": ["incident.created"]}, "name", "required"),
        ({"name": "x", "target_url": "", "events": ["incident.created"]}, "target_url", "required"),
        ({"name": "x", "target_url": PUBLIC}, "events", "Choose at least one event."),
        (
            {"name": "x", "target_url": PUBLIC, "events": ["incident.deleted"]},
            "events",
            "Select a valid choice",
        ),
        (
            {"name": "x", "target_url": "http://127.0.0.1:8000/", "events": ["incident.created"]},
            "target_url",
            "internal or reserved address",
        ),
        (
            {
                "name": "x",
                "target_url": "http://internal.example.test/",
                "events": ["incident.created"],
            },
            "target_url",
            "resolves to 10.0.0.8",
        ),
        (
            {"name": "x", "target_url": "file:///etc/passwd", "events": ["incident.created"]},
            "target_url",
            "http or https only",
        ),
        (
            {"name": "x" * 101, "target_url": PUBLIC, "events": ["incident.created"]},
            "name",
            "at most 100 characters",
        ),
    ],
)
def test_bad_webhook_input_is_explained_and_creates_nothing(
    client, responder, data, field, message
):
    client.force_login(responder)
    response = client.post("/accounts/webhooks/", data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not WebhookSubscription.objects.exists()


def test_the_list_shows_only_ones_own_webhooks(client, responder, outsider):
    make(responder, name="rita's hook")
    make(outsider, name="oscar's hook")
    client.force_login(responder)
    page = client.get("/accounts/webhooks/").content.decode()
    assert "rita&#x27;s hook" in page
    assert "oscar" not in page


def test_someone_elses_webhook_does_not_exist(client, responder, outsider):
    subscription = make(responder).subscription
    client.force_login(outsider)
    base = f"/accounts/webhooks/{subscription.pk}"
    assert client.get(f"{base}/").status_code == 404
    assert client.post(f"{base}/pause/").status_code == 404
    assert client.post(f"{base}/delete/").status_code == 404
    subscription.refresh_from_db()
    assert subscription.is_active


def test_pause_resume_and_delete_from_the_page(client, responder):
    subscription = make(responder).subscription
    client.force_login(responder)
    base = f"/accounts/webhooks/{subscription.pk}"
    response = client.post(f"{base}/pause/", follow=True)
    assert "Paused “chat”" in response.content.decode()
    subscription.refresh_from_db()
    assert (subscription.is_active, subscription.pause_reason) == (False, "Paused by its owner.")
    again = client.post(f"{base}/pause/", follow=True)
    assert "already paused" in again.content.decode()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(failure_count=4)
    client.post(f"{base}/resume/")
    subscription.refresh_from_db()
    assert (subscription.is_active, subscription.paused_at, subscription.failure_count) == (
        True,
        None,
        0,
    )
    confirm = client.get(f"{base}/delete/")
    assert "Delete the webhook “chat”?" in confirm.content.decode()
    assert WebhookSubscription.objects.exists()
    response = client.post(f"{base}/delete/")
    assert response["Location"] == "/accounts/webhooks/"
    assert not WebhookSubscription.objects.exists()


def test_resume_refuses_a_target_that_is_now_internal(client, responder, monkeypatch):
    subscription = make(responder).subscription
    webhook_subscription_pause(subscription=subscription)

    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(targets.socket, "getaddrinfo", getaddrinfo)
    client.force_login(responder)
    response = client.post(f"/accounts/webhooks/{subscription.pk}/resume/", follow=True)
    assert "Not resumed: The host" in response.content.decode()
    subscription.refresh_from_db()
    assert not subscription.is_active


def test_the_delivery_log_lists_deliveries_newest_first(client, responder):
    subscription = make(responder).subscription
    for number in range(3):
        WebhookDelivery.objects.create(
            subscription=subscription,
            event="incident.created",
            payload={"n": number},
            status="failed",
            attempts=5,
            response_status_code=503,
            duration_ms=12,
            error="The receiver answered 503.",
        )
    client.force_login(responder)
    response = client.get(f"/accounts/webhooks/{subscription.pk}/")
    rows = list(response.context["deliveries"])
    assert [row.payload["n"] for row in rows] == [2, 1, 0]
    page = response.content.decode()
    assert "The receiver answered 503." in page
    assert "12 ms" in page


def test_the_webhook_limit_per_person(responder):
    for number in range(MAX_SUBSCRIPTIONS_PER_OWNER):
        make(responder, name=f"hook {number}")
    with pytest.raises(Exception, match="already have 25 webhooks"):
        make(responder, name="one too many")
    assert WebhookSubscription.objects.count() == MAX_SUBSCRIPTIONS_PER_OWNER


# --- API --------------------------------------------------------------------------------------


def test_api_creates_a_webhook_and_answers_its_secret_once(client, responder):
    client.force_login(responder)
    response = client.post(
        "/api/v1/webhooks/",
        {"name": "pager", "target_url": PUBLIC, "events": ["Incident.Created", "article.flagged"]},
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    subscription = WebhookSubscription.objects.get()
    assert body == {
        "id": subscription.pk,
        "name": "pager",
        "target_url": PUBLIC,
        "events": ["incident.created", "article.flagged"],
        "is_active": True,
        "paused_at": None,
        "pause_reason": "",
        "failure_count": 0,
        "created_at": body["created_at"],
        "secret": subscription.secret,
    }
    listed = client.get("/api/v1/webhooks/").json()["results"]
    assert [item["id"] for item in listed] == [subscription.pk]
    assert "secret" not in listed[0]


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"target_url": PUBLIC, "events": ["incident.created"]}, "name", "invalid"),
        ({"name": "x", "events": ["incident.created"]}, "target_url", "invalid"),
        ({"name": "x", "target_url": PUBLIC, "events": []}, "events", "invalid"),
        ({"name": "x", "target_url": PUBLIC, "events": "incident.created"}, "events", "invalid"),
        ({"name": "x", "target_url": PUBLIC, "events": ["nope"]}, "events", "invalid"),
        (
            {"name": "x", "target_url": "http://[::1]/", "events": ["incident.created"]},
            "target_url",
            "target_refused",
        ),
        (
            {"name": "x", "target_url": "http://169.254.169.254/", "events": ["incident.created"]},
            "target_url",
            "target_refused",
        ),
        (
            {"name": "  ", "target_url": PUBLIC, "events": ["incident.created"]},
            "name",
            "invalid",
        ),
    ],
)
def test_api_refuses_bad_webhook_input_and_creates_nothing(client, responder, data, field, code):
    client.force_login(responder)
    response = client.post("/api/v1/webhooks/", data, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], list(error["fields"])) == (code, [field])
    assert not WebhookSubscription.objects.exists()


def test_api_hides_someone_elses_webhook(client, responder, outsider):
    subscription = make(responder).subscription
    client.force_login(outsider)
    assert client.get("/api/v1/webhooks/").json()["results"] == []
    for method, path in [
        ("get", f"/api/v1/webhooks/{subscription.pk}/"),
        ("get", f"/api/v1/webhooks/{subscription.pk}/deliveries/"),
        ("post", f"/api/v1/webhooks/{subscription.pk}/pause/"),
        ("delete", f"/api/v1/webhooks/{subscription.pk}/"),
    ]:
        assert getattr(client, method)(path).status_code == 404
    subscription.refresh_from_db()
    assert subscription.is_active


def test_api_pause_resume_delete_and_deliveries(client, responder):
    subscription = make(responder).subscription
    WebhookDelivery.objects.create(
        subscription=subscription, event="incident.created", payload={"event": "x"}
    )
    key = api_token_issue(user=responder, name="ci").key
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    base = f"/api/v1/webhooks/{subscription.pk}"
    paused = client.post(f"{base}/pause/", **auth)
    assert (paused.status_code, paused.json()["is_active"]) == (200, False)
    conflict = client.post(f"{base}/pause/", **auth)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["message"] == "This webhook is already paused."
    resumed = client.post(f"{base}/resume/", **auth)
    assert (resumed.status_code, resumed.json()["is_active"]) == (200, True)
    deliveries = client.get(f"{base}/deliveries/", **auth).json()
    assert [(d["event"], d["status"], d["attempts"]) for d in deliveries["results"]] == [
        ("incident.created", "pending", 0)
    ]
    assert client.delete(f"{base}/", **auth).status_code == 204
    assert not WebhookDelivery.objects.exists()


def test_a_read_only_token_cannot_create_webhooks(client, responder):
    key = api_token_issue(user=responder, name="reader", scope="read").key
    response = client.post(
        "/api/v1/webhooks/",
        {"name": "x", "target_url": PUBLIC, "events": ["incident.created"]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {key}",
    )
    assert response.status_code == 403
    assert not WebhookSubscription.objects.exists()


def test_webhooks_are_in_the_admin_without_their_secret(client, admin_user, responder):
    subscription = make(responder).subscription
    client.force_login(admin_user)
    page = client.get(f"/admin/kbsite/webhooksubscription/{subscription.pk}/change/")
    assert page.status_code == 200
    assert subscription.secret not in page.content.decode()
    assert client.get("/admin/kbsite/webhookdelivery/").status_code == 200
