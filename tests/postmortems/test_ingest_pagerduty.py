"""PagerDuty v3 webhooks: triggered opens, acknowledged is noted, resolved resolves; the
signature is checked when the integration has a signing secret; old events are refused and a
replayed one is a no-op."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from postmortems.models import Incident, IngestedPayload, TimelineEntry
from tests.postmortems.factories import ServiceFactory
from tests.postmortems.ingest_payloads import (
    deliver,
    error,
    last_log,
    make_integration,
    minutes_ago,
    nothing_stored,
    pagerduty_payload,
    pagerduty_signature,
)

pytestmark = pytest.mark.django_db

SIGNING_SECRET = "pd-signing-1c6f0c1b2a8e4d7f"


@pytest.fixture
def issued(admin_user, payments_team):
    return make_integration(user=admin_user, team=payments_team, source="pagerduty")


@pytest.fixture
def signed(admin_user, payments_team):
    return make_integration(
        user=admin_user,
        team=payments_team,
        source="pagerduty",
        name="PagerDuty signed",
        signing_secret=SIGNING_SECRET,
    )


@pytest.fixture
def payments_api(payments_team):
    return ServiceFactory(name="Payments API", slug="payments-api", team=payments_team)


def signed_delivery(client, integration_secret: str, payload: dict, *, signing: str = ""):
    body = json.dumps(payload).encode()
    signature = signing or pagerduty_signature(SIGNING_SECRET, body)
    return deliver(
        client,
        "pagerduty",
        None,
        raw=body,
        secret=integration_secret,
        headers={"X-PagerDuty-Signature": signature},
    )


def test_incident_triggered_opens_an_incident(client, issued, payments_team, payments_api):
    created = minutes_ago(3)
    response = deliver(
        client, "pagerduty", pagerduty_payload(created_at=created), secret=issued.secret
    )

    assert response.status_code == 201
    incident = Incident.objects.get()
    assert incident.title == "Payments API health check failing in eu-west-1"
    assert (incident.severity, incident.team, incident.started_at) == (
        "sev1",
        payments_team,
        created,
    )
    # The catalog service is matched by name, in any case.
    assert list(incident.services.all()) == [payments_api]
    assert (incident.external_source, incident.external_id) == ("pagerduty", "pagerduty:Q1W2E3R4T5")
    assert incident.external_url == "https://acme-payments.pagerduty.com/incidents/Q1W2E3R4T5"
    assert "- PagerDuty incident: `#4711`" in incident.summary
    assert "- Escalation policy: Payments on-call" in incident.summary
    log = last_log(issued.integration)
    assert (log.event_id, log.external_id) == ("01HZX4K7V3M8Q2R6T9W1Y5B0CD", "pagerduty:Q1W2E3R4T5")


@pytest.mark.parametrize(
    ("priority", "urgency", "severity"),
    [("P2", "high", "sev2"), ("P5", "high", "sev4"), (None, "high", "sev2"), (None, "low", "sev4")],
)
def test_priority_then_urgency_give_the_severity(client, issued, priority, urgency, severity):
    deliver(
        client,
        "pagerduty",
        pagerduty_payload(priority=priority, urgency=urgency),
        secret=issued.secret,
    )
    assert Incident.objects.get().severity == severity


def test_a_replayed_event_is_a_no_op(client, issued):
    payload = pagerduty_payload()
    deliver(client, "pagerduty", payload, secret=issued.secret)

    again = deliver(client, "pagerduty", payload, secret=issued.secret)

    assert again.status_code == 200
    assert again.json() == {
        "accepted": True,
        "duplicate": True,
        "message": "Event 01HZX4K7V3M8Q2R6T9W1Y5B0CD was already received: nothing changed.",
        "alerts": [],
    }
    assert Incident.objects.count() == 1
    assert TimelineEntry.objects.count() == 1
    assert IngestedPayload.objects.filter(accepted=True).count() == 2


def test_another_trigger_of_the_same_incident_changes_nothing(client, issued):
    deliver(client, "pagerduty", pagerduty_payload(event_id="E1"), secret=issued.secret)
    response = deliver(client, "pagerduty", pagerduty_payload(event_id="E2"), secret=issued.secret)
    assert response.json()["alerts"][0]["action"] == "unchanged"
    assert Incident.objects.count() == 1


def test_acknowledged_is_noted_and_resolved_resolves(client, issued, admin_user):
    deliver(client, "pagerduty", pagerduty_payload(event_id="E1"), secret=issued.secret)
    incident = Incident.objects.get()

    ack = deliver(
        client,
        "pagerduty",
        pagerduty_payload(event_id="E2", event_type="incident.acknowledged"),
        secret=issued.secret,
    )
    assert ack.json()["alerts"][0]["action"] == "acknowledged"
    entry = incident.timeline.order_by("-id").first()
    assert (entry.kind, entry.text, entry.author) == (
        "escalation",
        "Acknowledged in PagerDuty by Priya Natarajan.",
        admin_user,
    )

    resolved_at = timezone.now().replace(microsecond=0) + timedelta(seconds=1)
    resolved = deliver(
        client,
        "pagerduty",
        pagerduty_payload(event_id="E3", event_type="incident.resolved", occurred_at=resolved_at),
        secret=issued.secret,
    )

    assert resolved.json()["alerts"][0]["action"] == "resolved"
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.resolved_at == incident.mitigated_at
    assert incident.resolved_at <= timezone.now()
    assert incident.timeline.order_by("-id").first().text == (
        "Resolved in PagerDuty by Priya Natarajan. Marked resolved by Prod pagerduty."
    )


def test_an_event_type_kbsite_does_not_use_is_accepted_and_changes_nothing(client, issued):
    deliver(client, "pagerduty", pagerduty_payload(event_id="E1"), secret=issued.secret)
    response = deliver(
        client,
        "pagerduty",
        pagerduty_payload(event_id="E2", event_type="incident.escalated"),
        secret=issued.secret,
    )
    assert response.status_code == 200
    assert response.json()["alerts"][0]["action"] == "ignored"
    assert response.json()["message"] == (
        "PagerDuty event incident.escalated is not used by kbsite: nothing changed."
    )
    assert TimelineEntry.objects.count() == 1


def test_an_event_older_than_the_tolerance_is_refused(client, issued, settings):
    settings.INGEST_REPLAY_TOLERANCE_SECONDS = 300
    before = nothing_stored()
    old = minutes_ago(6)

    response = deliver(
        client, "pagerduty", pagerduty_payload(occurred_at=old), secret=issued.secret
    )

    message = (
        f"The event occurred at {old:%Y-%m-%d %H:%M:%S} UTC, more than 300 seconds ago: old "
        "events are refused as possible replays. Check the sender's clock, or send a new event."
    )
    assert response.status_code == 409
    assert response.json() == error("stale_event", message)
    assert nothing_stored() == before
    assert (last_log(issued.integration).accepted, last_log().status_code) == (False, 409)


def test_an_event_from_the_future_is_refused(client, issued):
    future = timezone.now() + timedelta(minutes=30)
    response = deliver(
        client, "pagerduty", pagerduty_payload(occurred_at=future), secret=issued.secret
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "event.occurred_at": [
            f"The event occurred at {future:%Y-%m-%d %H:%M:%S} UTC, in the future: check the "
            "sender's clock."
        ]
    }
    assert Incident.objects.count() == 0


# --- signatures -------------------------------------------------------------------------------


def test_a_signed_delivery_is_accepted(client, signed):
    response = signed_delivery(client, signed.secret, pagerduty_payload())
    assert response.status_code == 201


def test_any_of_several_signatures_may_match(client, signed):
    payload = pagerduty_payload()
    good = pagerduty_signature(SIGNING_SECRET, json.dumps(payload).encode())
    response = signed_delivery(client, signed.secret, payload, signing=f"v1=00ff00ff, {good}")
    assert response.status_code == 201


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("v1=" + "0" * 64, id="wrong"),
        pytest.param("v0=abc", id="other-scheme"),
        pytest.param("garbage", id="garbage"),
    ],
)
def test_a_bad_signature_is_refused(client, signed, signature):
    before = nothing_stored()
    response = signed_delivery(client, signed.secret, pagerduty_payload(), signing=signature)
    message = (
        "X-PagerDuty-Signature does not match the body: save the signing secret PagerDuty "
        "shows for this webhook subscription on the integration's page."
    )
    assert response.status_code == 401
    assert response.json() == error("bad_signature", message)
    assert response["WWW-Authenticate"] == 'Bearer realm="kbsite alert ingestion"'
    assert nothing_stored() == before
    log = last_log(signed.integration)
    assert (log.accepted, log.status_code, log.reason) == (False, 401, message)


def test_a_body_changed_after_signing_is_refused(client, signed):
    payload = pagerduty_payload()
    signature = pagerduty_signature(SIGNING_SECRET, json.dumps(payload).encode())
    payload["event"]["data"]["title"] = "Something else"
    response = signed_delivery(client, signed.secret, payload, signing=signature)
    assert response.status_code == 401
    assert Incident.objects.count() == 0


def test_a_missing_signature_is_refused_when_a_signing_secret_is_set(client, signed):
    response = deliver(client, "pagerduty", pagerduty_payload(), secret=signed.secret)
    assert response.status_code == 401
    assert response.json() == error(
        "bad_signature",
        "Send the X-PagerDuty-Signature header: this integration checks PagerDuty's signature.",
    )


def test_without_a_signing_secret_signatures_are_not_checked(client, issued):
    response = deliver(
        client,
        "pagerduty",
        pagerduty_payload(),
        secret=issued.secret,
        headers={"X-PagerDuty-Signature": "v1=nonsense"},
    )
    assert response.status_code == 201


# --- shapes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        pytest.param(
            {"messages": []},
            "event",
            "event is missing: PagerDuty v3 webhook payloads carry it.",
            id="v2-webhook",
        ),
        pytest.param(
            {"event": {"event_type": "incident.triggered"}},
            "event.id",
            "event.id is missing: PagerDuty payloads carry it.",
            id="no-event-id",
        ),
        pytest.param(
            pagerduty_payload(type="incident_note"),
            "event.data.type",
            "event.data.type is 'incident_note': expected incident.",
            id="not-an-incident",
        ),
        pytest.param(
            pagerduty_payload(title=None),
            "event.data.title",
            "event.data.title is missing: PagerDuty payloads carry it.",
            id="no-title",
        ),
        pytest.param(
            pagerduty_payload(id=42),
            "event.data.id",
            "event.data.id must be a string.",
            id="numeric-id",
        ),
    ],
)
def test_a_payload_that_is_not_pagerdutys_is_refused(client, issued, payload, field, message):
    before = nothing_stored()
    response = deliver(client, "pagerduty", payload, secret=issued.secret)
    assert response.status_code == 400
    assert response.json() == error("unexpected_payload", message, field)
    assert nothing_stored() == before
