"""Retries arriving at the same moment (PostgreSQL, real threads): one incident, never two."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from postmortems.models import Incident, IngestedPayload, TimelineEntry
from tests.postmortems.ingest_payloads import (
    alertmanager_payload,
    ingest_url,
    make_integration,
    pagerduty_payload,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def post_together(source: str, deliveries: list[tuple[str, dict]]) -> list[int]:
    """POST each (secret, body) from its own thread and connection, released together."""
    barrier = threading.Barrier(len(deliveries))
    statuses: list = [None] * len(deliveries)

    def run(index: int, secret: str, body: dict) -> None:
        try:
            client = Client()
            barrier.wait(timeout=10)
            response = client.post(
                ingest_url(source),
                json.dumps(body),
                content_type="application/json",
                headers={"Authorization": f"Bearer {secret}"},
            )
            statuses[index] = response.status_code
        except Exception as error:  # recorded for the assertions
            statuses[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, secret, body))
        for index, (secret, body) in enumerate(deliveries)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


def test_two_deliveries_of_the_same_firing_alert_open_one_incident(admin_user, payments_team):
    assert connection.vendor == "postgresql"
    issued = make_integration(user=admin_user, team=payments_team, source="alertmanager")
    payload = alertmanager_payload()

    statuses = post_together("alertmanager", [(issued.secret, payload)] * 3)

    assert sorted(statuses) == [200, 200, 201], statuses
    assert Incident.objects.count() == 1
    assert TimelineEntry.objects.count() == 1
    assert IngestedPayload.objects.filter(accepted=True).count() == 3


def test_a_pagerduty_event_delivered_twice_at_once_is_applied_once(admin_user, payments_team):
    issued = make_integration(user=admin_user, team=payments_team, source="pagerduty")
    payload = pagerduty_payload()

    statuses = post_together("pagerduty", [(issued.secret, payload)] * 2)

    assert sorted(statuses) == [200, 201], statuses
    assert Incident.objects.count() == 1
    assert list(IngestedPayload.objects.order_by("id").values_list("event_id", flat=True)) == [
        "01HZX4K7V3M8Q2R6T9W1Y5B0CD",
        "",
    ]


def test_two_integrations_of_one_tool_racing_on_one_alert_share_the_incident(
    admin_user, payments_team, search_team
):
    first = make_integration(user=admin_user, team=payments_team, source="alertmanager")
    second = make_integration(
        user=admin_user, team=search_team, source="alertmanager", name="Second"
    )
    payload = alertmanager_payload()

    statuses = post_together("alertmanager", [(first.secret, payload), (second.secret, payload)])

    # Each integration locks only its own row: the unique external id decides, and the loser
    # finds the winner's incident instead of failing.
    assert sorted(statuses) == [200, 201], statuses
    assert Incident.objects.count() == 1
    assert sorted(IngestedPayload.objects.values_list("reason", flat=True)) == sorted(
        [
            f"Opened incident #{Incident.objects.get().pk}.",
            f"Already incident #{Incident.objects.get().pk}: nothing changed.",
        ]
    )
