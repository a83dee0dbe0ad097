"""Opsgenie outgoing webhooks: Create opens, Acknowledge is noted, Close resolves."""

from __future__ import annotations

import pytest

from postmortems.models import Incident, TimelineEntry
from tests.postmortems.factories import ServiceFactory
from tests.postmortems.ingest_payloads import (
    deliver,
    error,
    make_integration,
    minutes_ago,
    nothing_stored,
    opsgenie_payload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(admin_user, payments_team):
    return make_integration(user=admin_user, team=payments_team, source="opsgenie")


@pytest.fixture
def ledger(payments_team):
    return ServiceFactory(name="Ledger", slug="ledger", team=payments_team)


def send(client, issued, payload):
    # Opsgenie sets custom headers: the secret goes in X-Kbsite-Token here.
    return deliver(
        client, "opsgenie", payload, secret=None, headers={"X-Kbsite-Token": issued.secret}
    )


def test_create_opens_an_incident(client, issued, ledger, payments_team):
    created = minutes_ago(6)
    response = send(client, issued, opsgenie_payload(created_at=created))

    assert response.status_code == 201
    incident = Incident.objects.get()
    assert incident.title == "ledger-db-2 disk 95% full"
    assert incident.summary.startswith("/var/lib/postgresql on ledger-db-2 is 95% full")
    assert "- Tags: `database`, `service:ledger`, `prod`" in incident.summary
    assert (incident.severity, incident.team, incident.started_at) == (
        "sev2",
        payments_team,
        created,
    )
    assert list(incident.services.all()) == [ledger]
    assert incident.external_id == "opsgenie:70413a06-38d6-4c85-92b8-5ebc900d42e2"
    assert incident.external_url == ""


def test_a_service_tag_names_the_service_when_the_entity_does_not(
    client, issued, ledger, payments_team
):
    ServiceFactory(name="Billing", slug="billing", team=payments_team)
    send(client, issued, opsgenie_payload(entity="ledger-db-2", tags=["service:Billing"]))
    assert list(Incident.objects.get().services.values_list("slug", flat=True)) == ["billing"]


def test_create_again_changes_nothing(client, issued):
    send(client, issued, opsgenie_payload())
    response = send(client, issued, opsgenie_payload())
    assert (response.status_code, response.json()["alerts"][0]["action"]) == (200, "unchanged")
    assert Incident.objects.count() == 1


def test_acknowledge_is_noted_and_close_resolves(client, issued):
    send(client, issued, opsgenie_payload())
    incident = Incident.objects.get()

    send(client, issued, opsgenie_payload(action="Acknowledge"))
    assert incident.timeline.order_by("-id").first().text == (
        "Acknowledged in Opsgenie by Marta Kowalski."
    )

    response = send(client, issued, opsgenie_payload(action="Close"))

    assert response.json()["alerts"][0]["action"] == "resolved"
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.timeline.order_by("-id").first().text == (
        "Closed in Opsgenie by Marta Kowalski. Marked resolved by Prod opsgenie."
    )

    again = send(client, issued, opsgenie_payload(action="Close"))
    assert again.json()["alerts"][0]["action"] == "unchanged"


def test_other_actions_change_nothing(client, issued):
    send(client, issued, opsgenie_payload())
    response = send(client, issued, opsgenie_payload(action="AddNote"))
    assert response.status_code == 200
    assert response.json()["alerts"][0]["action"] == "ignored"
    assert TimelineEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        pytest.param(
            {"alert": {"alertId": "x"}},
            "action",
            "action is missing: Opsgenie webhook payloads carry it.",
            id="no-action",
        ),
        pytest.param(
            opsgenie_payload(alertId=None),
            "alert.alertId",
            "alert.alertId is missing: Opsgenie payloads carry it.",
            id="no-alert-id",
        ),
        pytest.param(
            opsgenie_payload(message=""),
            "alert.message",
            "alert.message is empty: Opsgenie payloads carry it.",
            id="empty-message",
        ),
        pytest.param(
            opsgenie_payload(createdAt="yesterday"),
            "alert.createdAt",
            "alert.createdAt must be a positive number of milliseconds since 1970.",
            id="bad-created-at",
        ),
        pytest.param(
            opsgenie_payload(tags="database"),
            "alert.tags",
            "alert.tags must be a list of strings.",
            id="tags-not-a-list",
        ),
    ],
)
def test_a_payload_that_is_not_opsgenies_is_refused(client, issued, payload, field, message):
    before = nothing_stored()
    response = send(client, issued, payload)
    assert response.status_code == 400
    assert response.json() == error("unexpected_payload", message, field)
    assert nothing_stored() == before
