"""Incidents and postmortems against the contract: what the schemathesis run found (times out of
the calendar, NUL characters, answers the schema did not describe), pinned as plain tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from postmortems.models import Finding, Incident, PostmortemState
from tests.contract.schema_helpers import assert_conforms
from tests.postmortems.api_helpers import (
    INCIDENTS,
    domain_invalid,
    incident_snapshot,
    invalid,
    patch,
    post,
    signed_in,
)
from tests.postmortems.factories import (
    ActionItemFactory,
    FindingFactory,
    IncidentFactory,
    PostmortemFactory,
    RootCauseCategoryFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
NUL = "Null characters are not allowed."


@pytest.fixture
def checkout(payments_team):
    return ServiceFactory(name="Checkout", slug="checkout", team=payments_team)


@pytest.fixture
def incident(payments_team, checkout, responder):
    return IncidentFactory(
        title="Checkout returns 503 after deploy",
        team=payments_team,
        services=[checkout],
        started_at=T0,
        created_by=responder,
    )


def opening(**overrides):
    return {
        "title": "Checkout returns 503",
        "severity": "sev2",
        "team": "payments",
        "started_at": "2026-03-02T10:00:00Z",
        **overrides,
    }


# --- times the calendar cannot hold -----------------------------------------------------------


@pytest.mark.parametrize("started_at", ["0001-01-01T00:00:00Z", "1999-12-31T23:59:59Z"])
def test_an_incident_cannot_start_before_2000(client, responder, payments_team, started_at):
    response = post(signed_in(client, responder), INCIDENTS, opening(started_at=started_at))
    assert response.status_code == 400
    assert response.json() == domain_invalid(
        "started_at", "The started time is before 2000: give when it happened."
    )
    assert Incident.objects.count() == 0


def test_an_incident_cannot_be_moved_before_2000(client, responder, incident):
    before = incident_snapshot(incident)
    response = patch(
        signed_in(client, responder),
        f"{INCIDENTS}{incident.pk}/",
        {"version": incident.version, "started_at": "0001-01-01T00:00:00Z"},
    )
    assert response.status_code == 400
    assert response.json() == domain_invalid(
        "started_at", "The started time is before 2000: give when it happened."
    )
    incident.refresh_from_db()
    assert incident_snapshot(incident) == before


@pytest.mark.parametrize("started_at", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00"])
def test_a_time_outside_the_utc_calendar_is_400(client, responder, payments_team, started_at):
    response = post(signed_in(client, responder), INCIDENTS, opening(started_at=started_at))
    assert response.status_code == 400
    assert response.json() == invalid(started_at=["Datetime value out of range."])
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    "params",
    [
        {"started_after": "9999-12-31T23:59:59-23:59"},
        {"started_before": "0001-01-01T00:00:00+14:00"},
    ],
)
def test_a_list_filter_outside_the_utc_calendar_is_400(client, responder, params):
    response = signed_in(client, responder).get(INCIDENTS, params)
    assert response.status_code == 400
    [name] = params
    assert response.json() == invalid(
        **{name: ["That moment is out of range: give one between the years 1 and 9999 in UTC."]}
    )


# --- NUL characters ---------------------------------------------------------------------------


def test_a_nul_in_a_username_is_400_and_opens_nothing(client, responder, payments_team):
    # PostgreSQL refuses NUL characters in text: the lookup of the person failed with a 500.
    response = post(
        signed_in(client, responder), INCIDENTS, opening(responders=["rob", "ri\x00ta"])
    )
    assert response.status_code == 400
    assert response.json() == invalid(**{"responders.1": [NUL]})
    assert Incident.objects.count() == 0


# --- answers the schema describes -------------------------------------------------------------


def test_an_incident_without_an_external_link_matches_the_schema(client, responder, incident):
    response = signed_in(client, responder).get(f"{INCIDENTS}{incident.pk}/")
    assert response.json()["external_url"] == ""
    assert_conforms(response, path="/api/v1/incidents/{id}/", method="get")
    listed = client.get(INCIDENTS)
    assert_conforms(listed, path="/api/v1/incidents/", method="get")


def test_an_action_item_without_a_tracker_link_matches_the_schema(client, responder, incident):
    postmortem = PostmortemFactory(incident=incident, created_by=responder)
    ActionItemFactory(postmortem=postmortem, tracker_url="")
    response = signed_in(client, responder).get(f"/api/v1/postmortems/{postmortem.pk}/")
    assert response.json()["action_items"][0]["tracker_url"] == ""
    assert_conforms(response, path="/api/v1/postmortems/{id}/", method="get")
    items = client.get(f"/api/v1/postmortems/{postmortem.pk}/action-items/")
    assert_conforms(items, path="/api/v1/postmortems/{id}/action-items/", method="get")


def test_similar_incidents_list_their_articles_as_the_schema_says(
    client, responder, payments_team, checkout
):
    category = RootCauseCategoryFactory(name="Config", slug="config")
    earlier = IncidentFactory(
        title="Checkout 503 after a config deploy",
        team=payments_team,
        services=[checkout],
        root_cause_category=category,
        started_at=T0 - timedelta(days=30),
    )
    postmortem = PostmortemFactory(incident=earlier, state=PostmortemState.PUBLISHED)
    finding = FindingFactory(postmortem=postmortem, outcome=Finding.Outcome.LINKED)
    current = IncidentFactory(
        title="Checkout 503 after deploy",
        team=payments_team,
        services=[checkout],
        root_cause_category=category,
        started_at=T0,
    )
    response = signed_in(client, responder).get(f"{INCIDENTS}{current.pk}/similar/")
    assert response.status_code == 200
    [suggestion] = response.json()
    article = finding.article
    assert suggestion["articles"] == [
        {
            "id": article.pk,
            "title": article.title,
            "web_url": f"http://127.0.0.1:8000{article.get_absolute_url()}",
        }
    ]
    assert_conforms(response, path="/api/v1/incidents/{id}/similar/", method="get")
