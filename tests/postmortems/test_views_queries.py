"""Pinned query counts of the postmortems pages: the same for a few rows as for many."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.postmortems.factories import (
    ActionItemFactory,
    ArticleUseFactory,
    FindingFactory,
    IncidentFactory,
    PostmortemFactory,
    ServiceFactory,
    TimelineEntryFactory,
    restricted_incident,
)
from tests.postmortems.view_helpers import index_all_articles

pytestmark = pytest.mark.django_db


# Pinned per database: the knowledge search behind suggestions costs one query more on SQLite
# (FTS5 vocabulary lookup for typo tolerance) than on PostgreSQL.
def pinned(*, sqlite: int, postgresql: int) -> int:
    return sqlite if connection.vendor == "sqlite" else postgresql


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def incidents(count: int, team) -> None:
    service = ServiceFactory(name="checkout", team=team)
    for number in range(count):
        incident = IncidentFactory(team=team, services=[service], tags=[f"tag-{number % 3}"])
        if number % 2:
            PostmortemFactory(incident=incident)
    restricted_incident(team=team)


def test_incident_list_costs_the_same_for_5_and_40_incidents(client, responder, payments_team):
    client.force_login(responder)
    url = reverse("postmortems:index")
    incidents(5, payments_team)
    few = queries_of(client, url)
    incidents(35, payments_team)
    client.force_login(responder)
    many = queries_of(client, url)
    assert few == many == pinned(sqlite=10, postgresql=10)


def filled_postmortem(team, *, findings: int, entries: int, items: int, uses: int):
    incident = IncidentFactory(team=team)
    postmortem = PostmortemFactory(
        incident=incident, sections={"summary": "The deploy was rolled back."}
    )
    for number in range(findings):
        outcome = ("linked", "spawned", "nothing_to_capture", "")[number % 4]
        FindingFactory(postmortem=postmortem, outcome=outcome)
    for _ in range(entries):
        TimelineEntryFactory(incident=incident)
    for _ in range(items):
        ActionItemFactory(postmortem=postmortem)
    for _ in range(uses):
        ArticleUseFactory(incident=incident)
    return postmortem


def test_incident_page_costs_the_same_with_50_findings_and_200_timeline_entries(
    client, responder, payments_team
):
    client.force_login(responder)
    # An earlier look-alike, so that both pages show "possibly a repeat" suggestions.
    IncidentFactory(
        team=payments_team,
        title="Checkout returns 503 after deploy",
        started_at=timezone.now() - timedelta(days=3),
    )
    small = filled_postmortem(payments_team, findings=2, entries=2, items=1, uses=1)
    big = filled_postmortem(payments_team, findings=50, entries=200, items=20, uses=10)
    index_all_articles()
    few = queries_of(client, reverse("postmortems:incident_detail", args=[small.incident_id]))
    many = queries_of(client, reverse("postmortems:incident_detail", args=[big.incident_id]))
    assert few == many == pinned(sqlite=20, postgresql=20)
    # The two searching panels load after the page; each costs the same for both incidents.
    # PostgreSQL turns the title into words with one more query for the similar incidents.
    for name, sqlite, postgresql in (
        ("incident_similar_panel", 15, 16),
        ("incident_suggestions_panel", 16, 16),
    ):
        panel_few = queries_of(client, reverse(f"postmortems:{name}", args=[small.incident_id]))
        panel_many = queries_of(client, reverse(f"postmortems:{name}", args=[big.incident_id]))
        assert panel_few == panel_many == pinned(sqlite=sqlite, postgresql=postgresql), name


def test_postmortem_editor_costs_the_same_with_50_findings(client, responder, payments_team):
    client.force_login(responder)
    small = filled_postmortem(payments_team, findings=2, entries=2, items=1, uses=1)
    big = filled_postmortem(payments_team, findings=50, entries=200, items=20, uses=10)
    few = queries_of(client, reverse("postmortems:postmortem_edit", args=[small.pk]))
    many = queries_of(client, reverse("postmortems:postmortem_edit", args=[big.pk]))
    detail_few = queries_of(client, reverse("postmortems:postmortem_detail", args=[small.pk]))
    detail_many = queries_of(client, reverse("postmortems:postmortem_detail", args=[big.pk]))
    assert few == many == pinned(sqlite=21, postgresql=21)
    assert detail_few == detail_many == pinned(sqlite=20, postgresql=20)


def test_action_items_costs_the_same_for_few_and_many(client, responder, payments_team):
    client.force_login(responder)
    filled_postmortem(payments_team, findings=0, entries=0, items=2, uses=0)
    url = reverse("postmortems:action_items")
    few = queries_of(client, url)
    filled_postmortem(payments_team, findings=0, entries=0, items=30, uses=0)
    many = queries_of(client, url)
    assert few == many == pinned(sqlite=7, postgresql=7)
