"""What the alerting tools send, written for these tests, and helpers to deliver it.

Builders take the parts a test varies and fill the rest as each tool does; times default to a
few minutes ago so that PagerDuty's replay window accepts them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from postmortems.ingest.services import IssuedIntegration, integration_create
from postmortems.models import AlertIntegration, Incident, IngestedPayload, TimelineEntry

GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def minutes_ago(minutes: float) -> datetime:
    return (timezone.now() - timedelta(minutes=minutes)).replace(microsecond=0)


def ingest_url(source: str) -> str:
    return f"/api/v1/ingest/{source}/"


def make_integration(*, user: Any, team: Any, source: str, **options: Any) -> IssuedIntegration:
    return integration_create(
        user=user, name=options.pop("name", f"Prod {source}"), source=source, team=team, **options
    )


def deliver(
    client: Client,
    source: str,
    payload: Any,
    *,
    secret: str | None,
    raw: bytes | None = None,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    query: str = "",
) -> Any:
    """POST a payload as the tool would: JSON body, `Authorization: Bearer <secret>`."""
    sent = dict(headers or {})
    if secret is not None:
        sent.setdefault("Authorization", f"Bearer {secret}")
    body = raw if raw is not None else json.dumps(payload).encode()
    return client.generic(
        "POST", ingest_url(source) + query, body, content_type=content_type, headers=sent
    )


def pagerduty_signature(secret: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def nothing_stored() -> dict[str, int]:
    """Counts that a refused delivery must leave as they were (its log row aside)."""
    return {
        "incidents": Incident.objects.count(),
        "timeline": TimelineEntry.objects.count(),
        "accepted": IngestedPayload.objects.filter(accepted=True).count(),
    }


def last_log(integration: AlertIntegration | None = None) -> IngestedPayload:
    rows = IngestedPayload.objects.all()
    if integration is not None:
        rows = rows.filter(integration=integration)
    return rows.order_by("-id").first()  # type: ignore[return-value]


def error(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": message, "fields": {field: [message]} if field else {}}
    }


# --- Alertmanager and Grafana -----------------------------------------------------------------


def prometheus_alert(
    *,
    fingerprint: str = "8c1d2e3f4a5b6c7d",
    status: str = "firing",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    alertname: str = "CheckoutHighErrorRate",
    service: str | None = "checkout",
    severity: str | None = "critical",
    summary: str = "Checkout 5xx ratio above 5%",
    description: str = "12% of checkout requests answered 5xx for 5 minutes.",
    **extra: Any,
) -> dict[str, Any]:
    labels = {"alertname": alertname, "instance": "checkout-7d9f:9102", "job": "checkout"}
    if service is not None:
        labels["service"] = service
    if severity is not None:
        labels["severity"] = severity
    alert = {
        "status": status,
        "labels": labels,
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": "https://runbooks.example.org/checkout/5xx",
        },
        "startsAt": iso(starts_at or minutes_ago(12)),
        "endsAt": iso(ends_at) if ends_at else GO_ZERO_TIME,
        "generatorURL": "https://prometheus.example.org/graph?g0.expr=checkout%3A5xx_ratio",
        "fingerprint": fingerprint,
    }
    alert.update(extra)
    return alert


def alertmanager_payload(*alerts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    alerts = alerts or (prometheus_alert(),)
    payload = {
        "version": "4",
        "groupKey": '{}/{severity="critical"}:{alertname="CheckoutHighErrorRate"}',
        "truncatedAlerts": 0,
        "status": "resolved" if all(a["status"] == "resolved" for a in alerts) else "firing",
        "receiver": "kbsite-payments",
        "groupLabels": {"alertname": alerts[0]["labels"].get("alertname", "")},
        "commonLabels": {"job": "checkout"},
        "commonAnnotations": {},
        "externalURL": "https://alertmanager.example.org",
        "alerts": list(alerts),
    }
    payload.update(extra)
    return payload


def grafana_alert(
    *,
    fingerprint: str = "f00dfacecafe1234",
    status: str = "firing",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    alert = prometheus_alert(
        fingerprint=fingerprint,
        status=status,
        starts_at=starts_at,
        ends_at=ends_at,
        alertname="Search p99 latency",
        service="search",
        severity="warning",
        summary="Search p99 above 2 s",
        description="p99 of /search was 2.7 s over 10 minutes.",
    )
    alert["generatorURL"] = "https://grafana.example.org/alerting/grafana/c1x9/view"
    alert.update(
        {
            "silenceURL": "https://grafana.example.org/alerting/silence/new?matcher=x",
            "dashboardURL": "https://grafana.example.org/d/search-slo",
            "panelURL": "https://grafana.example.org/d/search-slo?viewPanel=7",
            "values": {"B": 2.7, "C": 1},
            "valueString": "[ var='B' labels={} value=2.7 ]",
        }
    )
    alert.update(extra)
    return alert


def grafana_payload(*alerts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    alerts = alerts or (grafana_alert(),)
    firing = any(a["status"] == "firing" for a in alerts)
    payload = {
        "receiver": "kbsite",
        "status": "firing" if firing else "resolved",
        "orgId": 1,
        "alerts": list(alerts),
        "groupLabels": {"alertname": "Search p99 latency"},
        "commonLabels": {"service": "search"},
        "commonAnnotations": {},
        "externalURL": "https://grafana.example.org/",
        "version": "1",
        "groupKey": '{}:{alertname="Search p99 latency"}',
        "truncatedAlerts": 0,
        "title": f"[{'FIRING' if firing else 'RESOLVED'}:{len(alerts)}] Search p99 latency",
        "state": "alerting" if firing else "ok",
        "message": "Search p99 above 2 s",
    }
    payload.update(extra)
    return payload


# --- PagerDuty --------------------------------------------------------------------------------


def pagerduty_payload(
    *,
    event_type: str = "incident.triggered",
    event_id: str = "01HZX4K7V3M8Q2R6T9W1Y5B0CD",
    incident_id: str = "Q1W2E3R4T5",
    occurred_at: datetime | None = None,
    created_at: datetime | None = None,
    priority: str | None = "P1",
    urgency: str = "high",
    service: str = "Payments API",
    agent: str | None = "Priya Natarajan",
    **data_extra: Any,
) -> dict[str, Any]:
    occurred = occurred_at or minutes_ago(1)
    data = {
        "id": incident_id,
        "type": "incident",
        "self": f"https://api.pagerduty.com/incidents/{incident_id}",
        "html_url": f"https://acme-payments.pagerduty.com/incidents/{incident_id}",
        "number": 4711,
        "status": event_type.split(".")[-1],
        "incident_key": "payments-api/health",
        "created_at": iso(created_at or occurred - timedelta(minutes=2)),
        "title": "Payments API health check failing in eu-west-1",
        "service": {
            "html_url": "https://acme-payments.pagerduty.com/services/PSV1",
            "id": "PSV1",
            "self": "https://api.pagerduty.com/services/PSV1",
            "summary": service,
            "type": "service_reference",
        },
        "assignees": [{"id": "PU1", "summary": "Priya Natarajan", "type": "user_reference"}],
        "escalation_policy": {"id": "PEP1", "summary": "Payments on-call"},
        "teams": [{"id": "PT1", "summary": "Payments"}],
        "urgency": urgency,
        "conference_bridge": None,
        "resolve_reason": None,
    }
    if priority is not None:
        data["priority"] = {"id": "PPR1", "summary": priority, "type": "priority_reference"}
    data.update(data_extra)
    return {
        "event": {
            "id": event_id,
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": iso(occurred),
            "agent": ({"id": "PU1", "summary": agent, "type": "user_reference"} if agent else None),
            "client": None,
            "data": data,
        }
    }


# --- Opsgenie ---------------------------------------------------------------------------------


def opsgenie_payload(
    *,
    action: str = "Create",
    alert_id: str = "70413a06-38d6-4c85-92b8-5ebc900d42e2",
    created_at: datetime | None = None,
    priority: str = "P2",
    entity: str = "ledger",
    tags: list[str] | None = None,
    **alert_extra: Any,
) -> dict[str, Any]:
    created = created_at or minutes_ago(6)
    alert = {
        "alertId": alert_id,
        "message": "ledger-db-2 disk 95% full",
        "description": "/var/lib/postgresql on ledger-db-2 is 95% full, growing 1%/h.",
        "priority": priority,
        "tags": tags if tags is not None else ["database", "service:ledger", "prod"],
        "entity": entity,
        "source": "node-exporter",
        "alias": "ledger-db-2-disk",
        "tinyId": "1207",
        "createdAt": int(created.timestamp() * 1000),
        "updatedAt": int(created.timestamp() * 1_000_000_000),
        "username": "Marta Kowalski" if action != "Create" else "System",
        "userId": "b1a2c3d4",
    }
    alert.update(alert_extra)
    return {
        "action": action,
        "alert": alert,
        "source": {"name": "", "type": "api"},
        "integrationName": "kbsite",
        "integrationId": "f1e2d3c4-0000-4000-8000-000000000001",
        "integrationType": "Webhook",
    }
