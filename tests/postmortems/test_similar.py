"""Similar earlier incidents ("possibly a repeat of #N") with their reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import pytest
from django.http import Http404

from postmortems.models import Incident, RepeatRejection
from postmortems.similar import _rule_candidates, incident_similar_for_user
from tests.kbsite.factories import ServiceFactory, TeamFactory, UserFactory
from tests.postmortems.factories import IncidentFactory, RootCauseCategoryFactory

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def days_ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
def scenario(payments_team, search_team):
    config = RootCauseCategoryFactory(name="Scenario config", slug="scenario-config")
    capacity = RootCauseCategoryFactory(name="Scenario capacity", slug="scenario-capacity")
    checkout = ServiceFactory(name="checkout", team=payments_team)
    ledger = ServiceFactory(name="ledger", team=payments_team)
    other_team = TeamFactory(name="Identity")
    judge = UserFactory(username="judge")
    made = {
        "current": IncidentFactory(
            summary="Checkout answered 503 for 14 minutes after the 10:02 deploy.",
            title="Checkout returns 503 after deploy",
            started_at=NOW,
            root_cause_category=config,
            services=[checkout],
            team=payments_team,
        ),
        "rule": IncidentFactory(
            summary="The payment page timed out for card payments while the ledger was locked.",
            title="Payment page timeouts",
            started_at=days_ago(20),
            root_cause_category=config,
            services=[checkout, ledger],
            team=payments_team,
        ),
        "text": IncidentFactory(
            summary="Checkout answered 503 at the evening peak; the pods were at their CPU limit.",
            title="Checkout 503 errors at peak",
            started_at=days_ago(100),
            root_cause_category=capacity,
            services=[ledger],
            team=payments_team,
        ),
        "both": IncidentFactory(
            summary="Checkout answered 503 after a config deploy changed the upstream port.",
            title="Checkout returns 503 after config deploy",
            started_at=days_ago(40),
            root_cause_category=config,
            services=[checkout],
            team=payments_team,
        ),
        "restricted": IncidentFactory(
            summary="Checkout answered 503 after the partner deploy.",
            title="Checkout returns 503 after deploy",
            started_at=days_ago(10),
            root_cause_category=config,
            services=[checkout],
            team=other_team,
            visibility="restricted",
        ),
        "rejected": IncidentFactory(
            summary="Checkout answered 503 after the deploy of the fraud rules.",
            title="Checkout returns 503 after deploy",
            started_at=days_ago(5),
            root_cause_category=config,
            services=[checkout],
            team=payments_team,
        ),
        "later": IncidentFactory(
            summary="Checkout answered 503 after deploy again.",
            title="Checkout returns 503 after deploy",
            started_at=NOW + timedelta(days=1),
            root_cause_category=config,
            services=[checkout],
            team=payments_team,
        ),
        "too_old": IncidentFactory(
            summary="The payment page timed out after a config change.",
            title="Payment page timeouts",
            started_at=days_ago(200),
            root_cause_category=config,
            services=[checkout],
            team=payments_team,
        ),
        "unrelated": IncidentFactory(
            summary="New products took an hour to appear in search results.",
            title="Search index lag",
            started_at=days_ago(3),
            root_cause_category=capacity,
            services=[ServiceFactory(name="indexer")],
            team=search_team,
        ),
    }
    RepeatRejection.objects.create(
        incident=made["current"], earlier=made["rejected"], rejected_by=judge
    )
    return made


def check_suggestions(scenario, user):
    made = scenario
    suggestions = incident_similar_for_user(incident=made["current"], user=user)
    by_id = {s.incident.pk: s for s in suggestions}
    assert [s.incident.pk for s in suggestions] == [
        made["both"].pk,
        made["rule"].pk,
        made["text"].pk,
    ]
    assert by_id[made["both"].pk].matches_rule
    assert by_id[made["both"].pk].reasons[0] == (
        "same root cause (Scenario config) and service checkout, 40 days earlier"
    )
    assert by_id[made["both"].pk].reasons[1].startswith("similar description: 503, checkout")
    assert by_id[made["rule"].pk].reasons == [
        "same root cause (Scenario config) and service checkout, 20 days earlier"
    ]
    assert not by_id[made["text"].pk].matches_rule
    assert by_id[made["text"].pk].reasons == ["similar description: 503, checkout"]


@pytest.mark.django_db
def test_suggestions_rank_rule_matches_first_and_hide_what_the_user_cannot_see(scenario, responder):
    check_suggestions(scenario, responder)


@pytest.mark.postgres
@pytest.mark.django_db
def test_suggestions_on_postgresql_use_full_text(scenario, responder):
    check_suggestions(scenario, responder)


@pytest.mark.django_db
def test_a_confirmed_repeat_is_not_suggested_again(scenario, responder):
    made = scenario
    made["current"].repeat_of = made["both"]
    made["current"].save()
    ids = [
        s.incident.pk for s in incident_similar_for_user(incident=made["current"], user=responder)
    ]
    assert made["both"].pk not in ids


@pytest.mark.django_db
def test_a_restricted_incident_has_no_suggestions_for_an_outsider(scenario, outsider):
    scenario["current"].visibility = "restricted"
    scenario["current"].save()
    with pytest.raises(Http404):
        incident_similar_for_user(incident=scenario["current"], user=outsider)


@pytest.mark.django_db
def test_the_restricted_match_is_suggested_to_its_own_team(scenario):
    insider = UserFactory(username="ida", teams=[scenario["restricted"].team])
    ids = [
        s.incident.pk for s in incident_similar_for_user(incident=scenario["current"], user=insider)
    ]
    assert scenario["restricted"].pk in ids


@pytest.mark.django_db
def test_the_api_answers_ranked_suggestions_with_reasons(client, scenario, responder):
    made = scenario
    client.force_login(responder)
    response = client.get(f"/api/v1/incidents/{made['current'].pk}/similar/")
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body] == [made["both"].pk, made["rule"].pk, made["text"].pk]
    first = body[0]
    assert first["matches_rule"] is True
    assert first["reasons"][0] == (
        "same root cause (Scenario config) and service checkout, 40 days earlier"
    )
    assert first["web_url"] == f"http://127.0.0.1:8000/postmortems/incidents/{made['both'].pk}/"
    assert (first["postmortem"], first["articles"]) == (None, [])
    assert made["restricted"].pk not in [row["id"] for row in body]


@pytest.mark.django_db
def test_the_api_hides_a_restricted_incident_from_an_outsider(client, scenario, outsider):
    scenario["current"].visibility = "restricted"
    scenario["current"].save()
    client.force_login(outsider)
    response = client.get(f"/api/v1/incidents/{scenario['current'].pk}/similar/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_a_long_history_loads_only_the_incidents_that_reach_the_top(
    scenario, responder, django_assert_max_num_queries
):
    made = scenario
    many = [
        IncidentFactory(
            title=f"Ledger lock number {number}",
            summary="Writes to the ledger queued behind a long lock.",
            started_at=days_ago(50 + number),
            root_cause_category=made["current"].root_cause_category,
            services=list(made["current"].services.all()),
            team=made["current"].team,
        )
        for number in range(12)
    ]

    loaded: list[int] = []
    original = Incident.from_db.__func__  # type: ignore[attr-defined]

    def counting_from_db(cls, db, field_names, values):
        instance = original(cls, db, field_names, values)
        loaded.append(instance.pk)
        return instance

    with patch.object(Incident, "from_db", classmethod(counting_from_db)):
        suggestions = incident_similar_for_user(incident=made["current"], user=responder, limit=3)

    # Rule matches first, most recent first: "both" (40 days), "rule" (20 days) outrank by
    # text, then the newest of the twelve.
    assert [s.incident.pk for s in suggestions] == [made["both"].pk, made["rule"].pk, many[0].pk]
    assert sorted(loaded) == sorted([made["both"].pk, made["rule"].pk, many[0].pk])


@pytest.mark.django_db
def test_a_hidden_text_match_leaves_room_for_the_next_suggestion(scenario, outsider):
    made = scenario
    suggestions = incident_similar_for_user(incident=made["current"], user=outsider, limit=5)

    assert made["restricted"].pk not in [s.incident.pk for s in suggestions]
    assert [s.incident.pk for s in suggestions] == [
        made["both"].pk,
        made["rule"].pk,
        made["text"].pk,
    ]


def rule_matches(current: Incident, *, count: int, newest_days_ago: int) -> list[Incident]:
    """`count` earlier incidents matching `current` by the rule alone (their words differ), the
    newest first, a day apart."""
    return [
        IncidentFactory(
            title=f"Ledger lock number {number}",
            summary="Writes to the ledger queued behind a long lock.",
            started_at=days_ago(newest_days_ago + number),
            root_cause_category=current.root_cause_category,
            services=list(current.services.all()),
            team=current.team,
        )
        for number in range(count)
    ]


@pytest.mark.django_db
def test_an_older_rule_match_with_similar_words_outranks_more_recent_rule_matches(
    scenario, responder
):
    made = scenario
    # Six rule matches more recent than "both" (40 days): "both" is the 7th most recent of the
    # rule matches, yet its words lift it above them all.
    newer = rule_matches(made["current"], count=6, newest_days_ago=1)

    suggestions = incident_similar_for_user(incident=made["current"], user=responder, limit=3)

    assert [s.incident.pk for s in suggestions] == [made["both"].pk, newer[0].pk, newer[1].pk]
    assert suggestions[0].reasons == [
        "same root cause (Scenario config) and service checkout, 40 days earlier",
        "similar description: 503, checkout, deploy, returns",
    ]
    assert suggestions[1].reasons == [
        "same root cause (Scenario config) and service checkout, 1 days earlier"
    ]
    assert [s.score for s in suggestions[1:]] == [1.0, 1.0]


@pytest.mark.django_db
def test_only_the_rule_matches_that_can_reach_the_top_are_read(scenario, responder):
    made = scenario
    many = rule_matches(made["current"], count=12, newest_days_ago=50)
    current = made["current"]

    read = _rule_candidates(
        current,
        [service.pk for service in current.services.all()],
        user=responder,
        excluded={made["rejected"].pk},
        limit=3,
        # Text candidates: two rule matches far down the window, and one that is not a rule match.
        text_ids=[made["both"].pk, many[11].pk, made["text"].pk],
    )

    # The 3 most recent ("rule" at 20 days, "both" at 40, the first of the twelve at 50) and the
    # text candidates that match the rule; the other ten are never read. "restricted" (10 days)
    # is hidden from this user and "rejected" (5 days) was rejected.
    assert list(read) == [made["rule"].pk, made["both"].pk, many[0].pk, many[11].pk]
    assert read[many[11].pk] == days_ago(61)


@pytest.mark.django_db
def test_rule_matches_that_start_at_the_same_moment_go_to_the_later_one(scenario, responder):
    made = scenario
    same = days_ago(2)
    first = IncidentFactory(
        title="Ledger lock",
        started_at=same,
        root_cause_category=made["current"].root_cause_category,
        services=list(made["current"].services.all()),
        team=made["current"].team,
    )
    second = IncidentFactory(
        title="Ledger lock",
        started_at=same,
        root_cause_category=made["current"].root_cause_category,
        services=list(made["current"].services.all()),
        team=made["current"].team,
    )

    suggestions = incident_similar_for_user(incident=made["current"], user=responder, limit=2)

    assert second.pk > first.pk
    assert [s.incident.pk for s in suggestions] == [made["both"].pk, second.pk]
