"""Request examples of the ingest endpoint's schema: what each tool sends, abridged."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

ALERTMANAGER = {
    "version": "4",
    "groupKey": '{}:{alertname="CheckoutErrorRate"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "kbsite",
    "groupLabels": {"alertname": "CheckoutErrorRate"},
    "commonLabels": {"alertname": "CheckoutErrorRate", "severity": "critical"},
    "commonAnnotations": {},
    "externalURL": "https://alertmanager.example.com",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "CheckoutErrorRate",
                "service": "checkout",
                "severity": "critical",
            },
            "annotations": {
                "summary": "Checkout answers 5xx to more than 5% of requests",
                "description": "9.2% of checkout requests failed over the last 5 minutes.",
                "runbook_url": "https://runbooks.example.com/checkout-5xx",
            },
            "startsAt": "2025-03-04T09:12:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://prometheus.example.com/graph?g0.expr=checkout_5xx_ratio",
            "fingerprint": "5f1a7c3e9b2d4a60",
        }
    ],
}

GRAFANA = {
    "receiver": "kbsite",
    "status": "firing",
    "orgId": 1,
    "state": "alerting",
    "title": "[FIRING:1] Search latency (search)",
    "message": "Search p99 latency is above 2 s",
    "groupKey": '{}:{alertname="Search latency"}',
    "truncatedAlerts": 0,
    "version": "1",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "Search latency", "service": "search", "severity": "warning"},
            "annotations": {"summary": "Search p99 latency is above 2 s"},
            "startsAt": "2025-03-04T09:20:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example.com/alerting/grafana/b7Qe1/view",
            "fingerprint": "a03c9e77d1b25f48",
            "silenceURL": "https://grafana.example.com/alerting/silence/new",
            "dashboardURL": "https://grafana.example.com/d/search-overview",
            "panelURL": "https://grafana.example.com/d/search-overview?viewPanel=4",
            "values": {"B": 2.41, "C": 1},
        }
    ],
}

PAGERDUTY = {
    "event": {
        "id": "01DEN3ZQ7K2VX8M4T6B1C5R9PA",
        "event_type": "incident.triggered",
        "resource_type": "incident",
        "occurred_at": "2025-03-04T09:30:12.418Z",
        "agent": None,
        "data": {
            "id": "Q2K9X7PLM4",
            "type": "incident",
            "html_url": "https://example.pagerduty.com/incidents/Q2K9X7PLM4",
            "number": 1841,
            "status": "triggered",
            "title": "Payments API health check failing",
            "created_at": "2025-03-04T09:30:11Z",
            "urgency": "high",
            "priority": {"summary": "P1"},
            "service": {"id": "PSVC42", "summary": "payments-api", "type": "service_reference"},
        },
    }
}

OPSGENIE = {
    "action": "Create",
    "alert": {
        "alertId": "4f0b6c1e-2d7a-4c39-9e58-0a1b2c3d4e5f",
        "message": "Disk of ledger-db-2 is 95% full",
        "description": "/var/lib/postgresql is at 95% and growing 1% an hour.",
        "priority": "P2",
        "tags": ["database", "service:ledger"],
        "entity": "ledger",
        "source": "node-exporter",
        "tinyId": "812",
        "createdAt": 1741080600000,
    },
    "source": {"name": "", "type": "api"},
    "integrationName": "kbsite",
}

REQUEST_EXAMPLES = [
    OpenApiExample(
        "Alertmanager",
        summary="Prometheus Alertmanager webhook (payload version 4)",
        value=ALERTMANAGER,
        request_only=True,
    ),
    OpenApiExample(
        "Grafana", summary="Grafana unified alerting webhook", value=GRAFANA, request_only=True
    ),
    OpenApiExample(
        "PagerDuty", summary="PagerDuty v3 webhook event", value=PAGERDUTY, request_only=True
    ),
    OpenApiExample(
        "Opsgenie", summary="Opsgenie outgoing webhook", value=OPSGENIE, request_only=True
    ),
]
