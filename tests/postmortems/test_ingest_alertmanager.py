"""Alertmanager deliveries: each alert of a group is one incident; retries change nothing; a
resolved alert marks its incident mitigated through the incident services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from kbsite.events import subscribe, unsubscribe
from postmortems.models import Incident, IngestedPayload, TimelineEntry
from tests.postmortems.factories import ServiceFactory
from tests.postmortems.ingest_payloads import (
    alertmanager_payload,
    deliver,
    error,
    last_log,
    make_integration,
    minutes_ago,
    nothing_stored,
    prometheus_alert,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def checkout(payments_team):
    return ServiceFactory(name="Checkout", slug="checkout", team=payments_team)


@pytest.fixture
def issued(admin_user, payments_team):
    fallback = ServiceFactory(name="Payments edge", slug="payments-edge", team=payments_team)
    return make_integration(
        user=admin_user,
        team=payments_team,
        source="alertmanager",
        default_severity="sev3",
        default_services=[fallback],
    )


@pytest.fixture
def events():
    seen: list[tuple[str, dict]] = []
    handlers = {}
    for name in ("incident.created", "incident.updated", "incident.resolved"):
        handlers[name] = lambda name=name, **payload: seen.append((name, payload))
        subscribe(name, handlers[name])
    yield seen
    for name, handler in handlers.items():
        unsubscribe(name, handler)


def test_a_firing_alert_opens_an_incident_with_the_mapped_fields(
    client, issued, checkout, admin_user, payments_team, django_capture_on_commit_callbacks, events
):
    starts = minutes_ago(12)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(
            client,
            "alertmanager",
            alertmanager_payload(prometheus_alert(starts_at=starts)),
            secret=issued.secret,
        )

    assert response.status_code == 201, response.json()
    incident = Incident.objects.get()
    key = f"alertmanager:8c1d2e3f4a5b6c7d@{starts:%Y%m%dT%H%M%SZ}"
    assert response.json() == {
        "accepted": True,
        "duplicate": False,
        "message": f"Opened incident #{incident.pk}.",
        "alerts": [
            {
                "external_id": key,
                "action": "opened",
                "incident": incident.pk,
                "web_url": f"{settings.SITE_URL}/postmortems/incidents/{incident.pk}/",
                "message": f"Opened incident #{incident.pk}.",
            }
        ],
    }
    assert incident.title == "CheckoutHighErrorRate: Checkout 5xx ratio above 5%"
    assert incident.summary.startswith("12% of checkout requests answered 5xx for 5 minutes.")
    assert "- Runbook: `https://runbooks.example.org/checkout/5xx`" in incident.summary
    assert "`service=checkout`" in incident.summary
    assert (incident.severity, incident.status, incident.team) == ("sev1", "open", payments_team)
    assert list(incident.services.all()) == [checkout]
    assert incident.started_at == starts
    assert before <= incident.detected_at <= timezone.now()
    assert (incident.external_source, incident.external_id) == ("alertmanager", key)
    assert incident.external_url == (
        "https://prometheus.example.org/graph?g0.expr=checkout%3A5xx_ratio"
    )
    assert incident.created_by == admin_user
    entry = TimelineEntry.objects.get(incident=incident)
    assert (entry.kind, entry.text, entry.author) == (
        "detection",
        "Opened by alert from Prod alertmanager (Prometheus Alertmanager).",
        admin_user,
    )
    assert events == [("incident.created", {"incident_id": incident.pk})]
    log = last_log(issued.integration)
    assert (log.accepted, log.status_code, log.external_id, log.incident) == (
        True,
        201,
        key,
        incident,
    )
    assert '"fingerprint": "8c1d2e3f4a5b6c7d"' in log.body_excerpt
    issued.integration.refresh_from_db()
    assert issued.integration.last_received_at == log.received_at


def test_the_same_alert_again_changes_nothing(client, issued, checkout):
    payload = alertmanager_payload()
    first = deliver(client, "alertmanager", payload, secret=issued.secret)
    incident = Incident.objects.get()
    version = incident.version

    again = deliver(client, "alertmanager", payload, secret=issued.secret)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["alerts"][0]["action"] == "unchanged"
    assert again.json()["alerts"][0]["incident"] == incident.pk
    assert again.json()["message"] == f"Already incident #{incident.pk}: nothing changed."
    assert Incident.objects.count() == 1
    assert TimelineEntry.objects.count() == 1
    incident.refresh_from_db()
    assert incident.version == version
    assert IngestedPayload.objects.filter(accepted=True).count() == 2


def test_a_resolved_alert_marks_the_incident_mitigated(
    client, issued, checkout, admin_user, django_capture_on_commit_callbacks, events
):
    starts = minutes_ago(30)
    deliver(
        client,
        "alertmanager",
        alertmanager_payload(prometheus_alert(starts_at=starts)),
        secret=issued.secret,
    )
    ends = timezone.now()  # after the firing notice was received
    resolved = alertmanager_payload(
        prometheus_alert(status="resolved", starts_at=starts, ends_at=ends)
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, "alertmanager", resolved, secret=issued.secret)

    incident = Incident.objects.get()
    assert response.status_code == 200
    assert response.json()["alerts"][0]["action"] == "mitigated"
    assert (incident.status, incident.mitigated_at, incident.resolved_at) == (
        "mitigated",
        ends,
        None,
    )
    last = incident.timeline.order_by("-id").first()
    assert (last.kind, last.occurred_at, last.text) == (
        "resolution",
        ends,
        "The alert cleared in Prometheus Alertmanager (Prod alertmanager): marked mitigated. "
        "Resolve the incident once the fix is confirmed.",
    )
    assert events == [("incident.updated", {"incident_id": incident.pk})]

    again = deliver(client, "alertmanager", resolved, secret=issued.secret)
    assert again.json()["alerts"][0]["action"] == "unchanged"
    assert (
        again.json()["message"] == f"Incident #{incident.pk} is already mitigated: nothing changed."
    )
    assert incident.timeline.count() == 2


def test_a_mitigation_time_before_detection_is_moved_to_detection(client, issued, checkout):
    starts = minutes_ago(30)
    deliver(
        client,
        "alertmanager",
        alertmanager_payload(prometheus_alert(starts_at=starts)),
        secret=issued.secret,
    )
    incident = Incident.objects.get()
    # The tool's clock is behind: it says the alert ended before kbsite heard of it.
    ends = incident.detected_at - timedelta(minutes=1)
    deliver(
        client,
        "alertmanager",
        alertmanager_payload(prometheus_alert(status="resolved", starts_at=starts, ends_at=ends)),
        secret=issued.secret,
    )
    incident.refresh_from_db()
    assert incident.mitigated_at == incident.detected_at


def test_a_resolved_alert_without_its_incident_changes_nothing(client, issued):
    response = deliver(
        client,
        "alertmanager",
        alertmanager_payload(prometheus_alert(status="resolved", ends_at=minutes_ago(1))),
        secret=issued.secret,
    )
    assert response.status_code == 200
    assert response.json()["alerts"][0]["action"] == "not_found"
    assert response.json()["alerts"][0]["incident"] is None
    assert Incident.objects.count() == 0


def test_each_alert_of_a_group_opens_its_own_incident(client, issued, checkout):
    payload = alertmanager_payload(
        prometheus_alert(fingerprint="aaaa000000000001", service="checkout"),
        prometheus_alert(fingerprint="aaaa000000000002", service="unknown-service"),
    )

    response = deliver(client, "alertmanager", payload, secret=issued.secret)

    assert response.status_code == 201
    assert [alert["action"] for alert in response.json()["alerts"]] == ["opened", "opened"]
    first, second = Incident.objects.order_by("id")
    assert list(first.services.values_list("slug", flat=True)) == ["checkout"]
    # A service label the catalog does not know falls back to the integration's defaults.
    assert list(second.services.values_list("slug", flat=True)) == ["payments-edge"]
    log = last_log(issued.integration)
    assert log.incident == first
    assert log.reason == f"Opened incident #{first.pk}. Opened incident #{second.pk}."


def test_severity_falls_back_to_the_integration_default(client, issued):
    for fingerprint, severity in (
        ("b1", "Critical"),
        ("b2", "warning"),
        ("b3", "odd"),
        ("b4", None),
    ):
        deliver(
            client,
            "alertmanager",
            alertmanager_payload(prometheus_alert(fingerprint=fingerprint, severity=severity)),
            secret=issued.secret,
        )
    found = dict(
        (external_id.split("@")[0], severity)
        for external_id, severity in Incident.objects.values_list("external_id", "severity")
    )
    assert found == {
        "alertmanager:b1": "sev1",
        "alertmanager:b2": "sev3",
        "alertmanager:b3": "sev3",
        "alertmanager:b4": "sev3",
    }


def test_the_same_alert_firing_again_after_it_cleared_opens_a_new_incident(client, issued):
    first_start = minutes_ago(90)
    deliver(
        client,
        "alertmanager",
        alertmanager_payload(prometheus_alert(starts_at=first_start)),
        secret=issued.secret,
    )
    deliver(
        client,
        "alertmanager",
        alertmanager_payload(
            prometheus_alert(status="resolved", starts_at=first_start, ends_at=minutes_ago(60))
        ),
        secret=issued.secret,
    )

    response = deliver(
        client,
        "alertmanager",
        alertmanager_payload(prometheus_alert(starts_at=minutes_ago(5))),
        secret=issued.secret,
    )

    assert response.status_code == 201
    assert list(Incident.objects.order_by("id").values_list("status", flat=True)) == [
        "mitigated",
        "open",
    ]


def test_a_start_time_in_the_future_is_taken_as_now(client, issued):
    response = deliver(
        client,
        "alertmanager",
        alertmanager_payload(prometheus_alert(starts_at=timezone.now() + timedelta(hours=2))),
        secret=issued.secret,
    )
    assert response.status_code == 201
    incident = Incident.objects.get()
    assert incident.started_at == incident.detected_at


def test_nanosecond_times_and_offsets_are_read(client, issued):
    alert = prometheus_alert()
    alert["startsAt"] = "2026-01-05T10:15:30.123456789+01:00"
    response = deliver(client, "alertmanager", alertmanager_payload(alert), secret=issued.secret)
    assert response.status_code == 201
    assert Incident.objects.get().started_at.isoformat() == "2026-01-05T09:15:30.123456+00:00"


def test_an_unreachable_generator_url_stays_in_the_summary_only(client, issued):
    alert = prometheus_alert(generatorURL="http://prometheus-0:9090/graph?g0.expr=up")
    deliver(client, "alertmanager", alertmanager_payload(alert), secret=issued.secret)
    incident = Incident.objects.get()
    assert incident.external_url == ""
    assert "- Link: `http://prometheus-0:9090/graph?g0.expr=up`" in incident.summary


# --- payloads that are not Alertmanager's -----------------------------------------------------


def without(data: dict, *keys: str) -> dict:
    return {key: value for key, value in data.items() if key not in keys}


BAD_SHAPES = [
    pytest.param(
        [1, 2],
        "body",
        "The body must be a JSON object (Alertmanager).",
        id="not-an-object",
    ),
    pytest.param(
        without(alertmanager_payload(), "version"),
        "version",
        'version is None: kbsite reads Alertmanager\'s webhook payload version "4". '
        "Is this integration's source right?",
        id="no-version",
    ),
    pytest.param(
        without(alertmanager_payload(), "alerts"),
        "alerts",
        "alerts is missing: Alertmanager payloads carry it.",
        id="no-alerts",
    ),
    pytest.param(
        alertmanager_payload(alerts={"0": {}}),
        "alerts",
        "alerts must be a list.",
        id="alerts-not-a-list",
    ),
    pytest.param(
        alertmanager_payload(alerts=[]),
        "alerts",
        "alerts is empty: send at least one alert.",
        id="no-alert",
    ),
    pytest.param(
        alertmanager_payload(without(prometheus_alert(), "fingerprint")),
        "alerts[0].fingerprint",
        "alerts[0].fingerprint is missing: Alertmanager payloads carry it.",
        id="no-fingerprint",
    ),
    pytest.param(
        alertmanager_payload(prometheus_alert(), prometheus_alert(status="pending")),
        "alerts[1].status",
        "alerts[1].status is 'pending': expected firing or resolved.",
        id="bad-status",
    ),
    pytest.param(
        alertmanager_payload(prometheus_alert(labels={"alertname": 5})),
        "alerts[0].labels.alertname",
        "alerts[0].labels.alertname must be a string.",
        id="label-not-a-string",
    ),
    pytest.param(
        alertmanager_payload(prometheus_alert(startsAt="yesterday")),
        "alerts[0].startsAt",
        "alerts[0].startsAt is not a time: send RFC 3339, like 2024-05-02T10:15:00Z.",
        id="bad-time",
    ),
    pytest.param(
        alertmanager_payload(prometheus_alert(startsAt="2026-01-05T10:15:30")),
        "alerts[0].startsAt",
        "alerts[0].startsAt has no time zone: send it with Z or an offset.",
        id="naive-time",
    ),
    pytest.param(
        alertmanager_payload(prometheus_alert(fingerprint="x" * 121)),
        "alerts[0].fingerprint",
        "alerts[0].fingerprint is 121 characters long; at most 120 fit.",
        id="long-fingerprint",
    ),
    pytest.param(
        alertmanager_payload(prometheus_alert(fingerprint="ab\u0000cd")),
        "alerts[0].fingerprint",
        "alerts[0].fingerprint contains a NUL character.",
        id="nul-character",
    ),
    pytest.param(
        alertmanager_payload(*[prometheus_alert(fingerprint=f"f{n}") for n in range(51)]),
        "alerts",
        "alerts holds 51 alerts; at most 50 are taken per delivery. Set max_alerts in the "
        "receiver's webhook_configs, or group by more labels.",
        id="too-many-alerts",
    ),
]


@pytest.mark.parametrize(("payload", "field", "message"), BAD_SHAPES)
def test_a_payload_that_is_not_alertmanagers_is_refused_and_changes_nothing(
    client, issued, payload, field, message
):
    before = nothing_stored()

    response = deliver(client, "alertmanager", payload, secret=issued.secret)

    assert response.status_code == 400
    assert response.json() == error("unexpected_payload", message, field)
    assert nothing_stored() == before
    log = last_log(issued.integration)
    assert (log.accepted, log.status_code, log.reason, log.incident) == (False, 400, message, None)
    assert log.body_excerpt.startswith(("{", "["))


def test_a_group_with_one_bad_alert_opens_none(client, issued):
    payload = alertmanager_payload(prometheus_alert(), prometheus_alert(fingerprint=""))
    response = deliver(client, "alertmanager", payload, secret=issued.secret)
    assert response.status_code == 400
    assert Incident.objects.count() == 0
