"""Grafana alerting deliveries: handled like Alertmanager's, linked to the alert's panel."""

from __future__ import annotations

import pytest

from postmortems.models import Incident
from tests.postmortems.factories import ServiceFactory
from tests.postmortems.ingest_payloads import (
    alertmanager_payload,
    deliver,
    error,
    grafana_alert,
    grafana_payload,
    last_log,
    make_integration,
    minutes_ago,
    nothing_stored,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(admin_user, search_team):
    return make_integration(
        user=admin_user, team=search_team, source="grafana", default_severity="sev2"
    )


@pytest.fixture
def search_service(search_team):
    return ServiceFactory(name="Search", slug="search", team=search_team)


def test_a_firing_grafana_alert_opens_an_incident_linked_to_its_panel(
    client, issued, search_team, search_service
):
    starts = minutes_ago(15)
    response = deliver(
        client, "grafana", grafana_payload(grafana_alert(starts_at=starts)), secret=issued.secret
    )

    assert response.status_code == 201
    incident = Incident.objects.get()
    assert incident.title == "Search p99 latency: Search p99 above 2 s"
    assert incident.summary.startswith("p99 of /search was 2.7 s over 10 minutes.")
    assert (incident.severity, incident.team, incident.started_at) == ("sev3", search_team, starts)
    assert list(incident.services.all()) == [search_service]
    assert incident.external_id == f"grafana:f00dfacecafe1234@{starts:%Y%m%dT%H%M%SZ}"
    assert incident.external_url == "https://grafana.example.org/d/search-slo?viewPanel=7"


def test_a_grafana_retry_changes_nothing_and_resolved_mitigates(client, issued, search_service):
    starts = minutes_ago(15)
    firing = grafana_payload(grafana_alert(starts_at=starts))
    deliver(client, "grafana", firing, secret=issued.secret)
    again = deliver(client, "grafana", firing, secret=issued.secret)
    assert (again.status_code, again.json()["alerts"][0]["action"]) == (200, "unchanged")
    assert Incident.objects.count() == 1

    resolved = grafana_payload(grafana_alert(status="resolved", starts_at=starts))
    response = deliver(client, "grafana", resolved, secret=issued.secret)

    assert response.json()["alerts"][0]["action"] == "mitigated"
    assert Incident.objects.get().status == "mitigated"


def test_an_alertmanager_payload_sent_to_the_grafana_address_is_refused(client, issued):
    before = nothing_stored()
    response = deliver(client, "grafana", alertmanager_payload(), secret=issued.secret)
    message = (
        "orgId is missing: Grafana's alerting webhook carries the organisation's number. "
        "Is this integration's source right?"
    )
    assert response.status_code == 400
    assert response.json() == error("unexpected_payload", message, "orgId")
    assert nothing_stored() == before
    assert last_log(issued.integration).reason == message


def test_a_grafana_alert_without_a_start_is_refused(client, issued):
    alert = grafana_alert()
    del alert["startsAt"]
    response = deliver(client, "grafana", grafana_payload(alert), secret=issued.secret)
    assert response.status_code == 400
    assert response.json() == error(
        "unexpected_payload",
        "alerts[0].startsAt is missing: Grafana payloads carry it.",
        "alerts[0].startsAt",
    )
    assert Incident.objects.count() == 0
