"""/api/v1/incidents/: the API contract of DESIGN.md for incidents, asserted precisely.

Refusals check the error body and that nothing changed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from knowledge.markdown import render_markdown
from knowledge.models import Article
from postmortems.models import (
    ArticleUse,
    Incident,
    IncidentStatus,
    RepeatRejection,
    TimelineEntry,
)
from tests.knowledge.factories import draft_article, published_article
from tests.postmortems.api_helpers import (
    INCIDENTS,
    NOT_FOUND,
    VERSION_REQUIRED,
    domain_invalid,
    forbidden,
    incident_snapshot,
    invalid,
    patch,
    post,
    signed_in,
    web,
)
from tests.postmortems.factories import (
    ArticleUseFactory,
    IncidentFactory,
    PostmortemFactory,
    RootCauseCategoryFactory,
    ServiceFactory,
    TimelineEntryFactory,
    UserFactory,
    restricted_incident,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


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


@pytest.fixture
def secret(payments_team, responder):
    """A restricted incident of the Payments team: oscar (Search) must never see it."""
    return restricted_incident(team=payments_team, started_at=T0, created_by=responder)


def url(incident: Incident, suffix: str = "") -> str:
    return f"{INCIDENTS}{incident.pk}/{suffix}"


def expected(incident: Incident, **overrides: Any) -> dict[str, Any]:
    """The whole incident as the API answers it, read back from the database."""
    incident = Incident.objects.get(pk=incident.pk)
    postmortem = incident.postmortem if hasattr(incident, "postmortem") else None
    body = {
        "id": incident.pk,
        "title": incident.title,
        "summary": incident.summary,
        "summary_html": incident.summary_html,
        "severity": incident.severity,
        "status": incident.status,
        "visibility": incident.visibility,
        "team": incident.team.slug,
        "services": [service.slug for service in incident.services.all()],
        "tags": [tag.name for tag in incident.tags.all()],
        "root_cause_category": (
            incident.root_cause_category.slug if incident.root_cause_category else None
        ),
        "commander": incident.commander.username if incident.commander else None,
        "responders": [person.username for person in incident.responders.all()],
        "started_at": iso(incident.started_at),
        "detected_at": iso(incident.detected_at),
        "mitigated_at": iso(incident.mitigated_at),
        "resolved_at": iso(incident.resolved_at),
        "closed_at": iso(incident.closed_at),
        "external_source": incident.external_source,
        "external_id": incident.external_id,
        "external_url": incident.external_url,
        "repeat_of": incident.repeat_of_id,
        "postmortem": postmortem.pk if postmortem else None,
        "postmortem_state": postmortem.state if postmortem else None,
        "created_by": incident.created_by.username,
        "created_at": iso(incident.created_at),
        "updated_at": iso(incident.updated_at),
        "version": incident.version,
        "web_url": f"{settings.SITE_URL}/postmortems/incidents/{incident.pk}/",
    }
    body.update(overrides)
    return body


# --- create ------------------------------------------------------------------------------------


@pytest.fixture
def new_incident(checkout, reviewer):
    return {
        "title": "Checkout returns 503 after deploy",
        "summary": "Checkout answered **503** after the 10:02 deploy.",
        "severity": "SEV2",
        "team": "Payments",
        "services": ["checkout"],
        "tags": ["deploy", "tls"],
        "started_at": "2026-03-02T10:00:00Z",
        "detected_at": "2026-03-02T10:04:00Z",
        "commander": "rita",
        "responders": ["rob"],
        "external_source": "pagerduty",
        "external_id": "PD-1234",
        "external_url": "https://example.pagerduty.com/incidents/PD-1234",
    }


def test_a_responder_opens_an_incident(client, responder, new_incident):
    category = RootCauseCategoryFactory(slug="deploy", name="Deploy")
    response = post(
        signed_in(client, responder), INCIDENTS, {**new_incident, "root_cause_category": "DEPLOY"}
    )
    assert response.status_code == 201
    incident = Incident.objects.get()
    assert response["Location"] == f"http://testserver{INCIDENTS}{incident.pk}/"
    assert response["ETag"] == '"1"'
    assert response.json() == expected(incident)
    body = response.json()
    assert body["severity"] == "sev2"
    assert body["status"] == "open"
    assert body["team"] == "payments"
    assert body["services"] == ["checkout"]
    assert sorted(body["tags"]) == ["deploy", "tls"]
    assert body["commander"] == "rita"
    assert body["responders"] == ["rob"]
    assert body["root_cause_category"] == category.slug
    assert body["started_at"] == "2026-03-02T10:00:00Z"
    assert body["detected_at"] == "2026-03-02T10:04:00Z"
    assert (
        body["summary_html"]
        == "<p>Checkout answered <strong>503</strong> after the 10:02 deploy.</p>"
    )
    assert body["postmortem"] is None
    assert body["version"] == 1
    assert body["web_url"] == web(f"/postmortems/incidents/{incident.pk}/")


def test_opening_an_incident_with_a_resolved_time_resolves_it(client, responder, new_incident):
    new_incident["resolved_at"] = "2026-03-02T10:30:00Z"
    response = post(signed_in(client, responder), INCIDENTS, new_incident)
    assert response.status_code == 201
    assert response.json()["status"] == "resolved"
    assert response.json()["resolved_at"] == "2026-03-02T10:30:00Z"


@pytest.mark.parametrize("role", ["editor", "reviewer", "manager"])
def test_only_responders_open_incidents(client, new_incident, role, payments_team):
    user = UserFactory(username=f"just-{role}", roles=[role])
    response = post(signed_in(client, user), INCIDENTS, new_incident)
    assert response.status_code == 403
    assert response.json() == forbidden("Only responders can open incidents.")
    assert not Incident.objects.exists()


def test_unknown_team_and_service_are_400_naming_the_field(client, responder, new_incident):
    new_incident.update(team="nope", services=["checkout", "ghost"])
    response = post(signed_in(client, responder), INCIDENTS, new_incident)
    assert response.status_code == 400
    assert response.json() == invalid(
        team=["No team has the slug 'nope': see /api/v1/teams/."],
        services=["No service has the slug 'ghost': see /api/v1/services/."],
    )
    assert not Incident.objects.exists()


def test_unknown_people_are_400_naming_the_field(client, responder, new_incident):
    new_incident.update(commander="nobody", responders=["rob", "ghost"])
    response = post(signed_in(client, responder), INCIDENTS, new_incident)
    assert response.status_code == 400
    assert response.json() == invalid(
        commander=["No active person has the username 'nobody'."],
        **{"responders.1": ["No active person has the username 'ghost'."]},
    )
    assert not Incident.objects.exists()


def test_missing_fields_and_bad_enums_are_400(client, responder):
    response = post(signed_in(client, responder), INCIDENTS, {"severity": "sev9"})
    assert response.status_code == 400
    assert response.json() == invalid(
        title=["This field is required."],
        severity=['"sev9" is not a valid choice.'],
        team=["This field is required."],
        started_at=["This field is required."],
    )
    assert not Incident.objects.exists()


def test_timestamps_out_of_order_are_400_naming_the_field(client, responder, new_incident):
    new_incident["detected_at"] = "2026-03-02T09:00:00Z"
    response = post(signed_in(client, responder), INCIDENTS, new_incident)
    assert response.status_code == 400
    assert response.json() == domain_invalid(
        "detected_at",
        "The detected time (2026-03-02 09:00 UTC) is before the started time "
        "(2026-03-02 10:00 UTC).",
    )
    assert not Incident.objects.exists()


def test_a_malformed_time_is_400(client, responder, new_incident):
    new_incident["started_at"] = "yesterday"
    response = post(signed_in(client, responder), INCIDENTS, new_incident)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["started_at"]
    assert not Incident.objects.exists()


def test_an_oversized_title_is_400(client, responder, new_incident):
    new_incident["title"] = "x" * 201
    response = post(signed_in(client, responder), INCIDENTS, new_incident)
    assert response.status_code == 400
    assert response.json() == invalid(title=["Ensure this field has no more than 200 characters."])
    assert not Incident.objects.exists()


def test_a_body_over_the_request_limit_is_413(client, responder, new_incident):
    new_incident["summary"] = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = post(signed_in(client, responder), INCIDENTS, new_incident)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not Incident.objects.exists()


def test_malformed_json_is_400(client, responder):
    response = signed_in(client, responder).post(
        INCIDENTS, '{"title": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "parse_error",
            "message": "JSON parse error - Expecting value: line 1 column 11 (char 10)",
            "fields": {},
        }
    }
    assert not Incident.objects.exists()


def test_wrong_content_type_is_415(client, responder):
    response = signed_in(client, responder).post(INCIDENTS, "title=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json() == {
        "error": {
            "code": "unsupported_media_type",
            "message": 'Unsupported media type "text/plain" in request.',
            "fields": {},
        }
    }
    assert not Incident.objects.exists()


def test_unknown_names_are_refused(client, responder, new_incident):
    new_incident["sevrity"] = "sev1"
    response = post(signed_in(client, responder), INCIDENTS, new_incident)
    assert response.status_code == 400
    assert response.json() == invalid(sevrity=["Not a field that can be written here."])


def test_hostile_markdown_is_stored_as_written_and_rendered_inert(client, responder, new_incident):
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">[click](javascript:alert(3))'
    new_incident["summary"] = hostile
    response = post(signed_in(client, responder), INCIDENTS, new_incident)
    assert response.status_code == 201
    body = response.json()
    assert body["summary"] == hostile
    assert body["summary_html"] == render_markdown(hostile)
    html = body["summary_html"].lower()
    assert "<script" not in html and "onerror" not in html and 'href="javascript' not in html
    assert Incident.objects.get().summary == hostile


def test_anonymous_requests_are_401_or_403(client):
    response = client.get(INCIDENTS)
    assert response.status_code in (401, 403)
    assert "error" in response.json()


# --- read --------------------------------------------------------------------------------------


def test_detail_has_the_whole_incident_and_its_etag(
    client, responder, incident, reviewer, django_assert_num_queries
):
    incident.responders.set([reviewer])
    signed_in(client, responder)
    client.get(url(incident))
    # session, user, roles, teams, the incident (with its joins), services, tags, responders
    with django_assert_num_queries(8):
        response = client.get(url(incident))
    assert response.status_code == 200
    assert response.json() == expected(incident)
    assert response["ETag"] == '"1"'
    assert client.get(url(incident), HTTP_IF_NONE_MATCH='"1"').status_code == 304


def test_the_incident_carries_its_postmortem(client, responder, incident):
    postmortem = PostmortemFactory(incident=incident)
    body = signed_in(client, responder).get(url(incident)).json()
    assert (body["postmortem"], body["postmortem_state"]) == (postmortem.pk, "draft")


def _list_queries(client, user, django_assert_num_queries, count: int) -> None:
    team = user.teams.first() if hasattr(user, "teams") else None
    for n in range(count):
        incident = IncidentFactory(
            services=[ServiceFactory()],
            tags=[f"tag-{n}", "common"],
            responders=[UserFactory()],
            commander=UserFactory(),
            started_at=T0 - timedelta(hours=n),
            team=team or IncidentFactory().team,
        )
        if n % 2:
            PostmortemFactory(incident=incident)
        if n % 3 == 0:
            restricted_incident(started_at=T0 - timedelta(days=30 + n))
    signed_in(client, user)
    client.get(INCIDENTS)
    # session, user, roles, teams, the page, services, tags, creators, responders (and one
    # more for a page with repeats: whether the earlier incidents are visible)
    with django_assert_num_queries(9):
        response = client.get(INCIDENTS, {"page_size": 100})
    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("count", [5, 40])
def test_the_list_costs_the_same_queries_for_5_or_40_incidents(
    client, responder, django_assert_num_queries, count
):
    _list_queries(client, responder, django_assert_num_queries, count)


def test_the_list_pages_newest_first_with_a_cursor(client, responder, payments_team):
    incidents = [
        IncidentFactory(team=payments_team, started_at=T0 - timedelta(hours=n)) for n in range(5)
    ]
    signed_in(client, responder)
    first = client.get(INCIDENTS, {"page_size": 2}).json()
    assert [row["id"] for row in first["results"]] == [incidents[0].pk, incidents[1].pk]
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == [incidents[2].pk, incidents[3].pk]
    third = client.get(second["next"]).json()
    assert [row["id"] for row in third["results"]] == [incidents[4].pk]
    assert third["next"] is None


def test_the_list_filters(client, responder, payments_team, search_team, checkout):
    sev1 = IncidentFactory(team=payments_team, severity="sev1", services=[checkout], started_at=T0)
    old = IncidentFactory(team=payments_team, started_at=T0 - timedelta(days=40))
    other = IncidentFactory(team=search_team, started_at=T0 - timedelta(days=1))
    mitigated = IncidentFactory(
        team=search_team,
        status="mitigated",
        started_at=T0 - timedelta(days=2),
        mitigated_at=T0 - timedelta(days=2) + timedelta(hours=1),
    )
    PostmortemFactory(incident=other)
    mine = restricted_incident(team=payments_team, started_at=T0 - timedelta(days=3))
    signed_in(client, responder)

    def ids(**params: str) -> list[int]:
        response = client.get(INCIDENTS, params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(severity="SEV1") == [sev1.pk]
    assert ids(team="payments") == [sev1.pk, mine.pk, old.pk]
    assert ids(service="checkout") == [sev1.pk]
    assert ids(status="MITIGATED") == [mitigated.pk]
    assert ids(visibility="restricted") == [mine.pk]
    assert ids(postmortem_state="draft") == [other.pk]
    assert ids(postmortem_state="none") == [sev1.pk, mitigated.pk, mine.pk, old.pk]
    assert ids(started_after="2026-02-28") == [sev1.pk, other.pk, mitigated.pk]
    assert ids(started_before="2026-02-28", started_after="2026-02-27") == [mitigated.pk, mine.pk]
    assert ids(started_after="2026-03-02T09:00:00Z") == [sev1.pk]
    assert ids(q="after deploy") == [sev1.pk, other.pk, mitigated.pk, mine.pk, old.pk]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"severity": "sev9"},
            "severity",
            "Select a valid choice. sev9 is not one of the available choices.",
        ),
        (
            {"started_after": "last week"},
            "started_after",
            "Give an ISO 8601 date or date and time, such as 2026-01-31 or 2026-01-31T09:00:00Z.",
        ),
        (
            {"started_after": "2026-03-02", "started_before": "2026-03-01"},
            "started_before",
            "started_before is earlier than started_after.",
        ),
        (
            {"postmortem_state": "lost"},
            "postmortem_state",
            "Select a valid choice. lost is not one of the available choices.",
        ),
    ],
)
def test_bad_filters_are_400_naming_the_filter(client, responder, params, field, message):
    response = signed_in(client, responder).get(INCIDENTS, params)
    assert response.status_code == 400
    assert response.json() == invalid(**{field: [message]})


# --- change ------------------------------------------------------------------------------------


def test_status_moves_forward_setting_its_time_to_now(client, responder, incident):
    before = timezone.now()
    response = patch(
        signed_in(client, responder), url(incident), {"status": "Mitigated", "version": 1}
    )
    assert response.status_code == 200
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.MITIGATED
    assert before <= incident.mitigated_at <= timezone.now()
    assert incident.version == 2
    assert response.json() == expected(incident)
    assert response["ETag"] == '"2"'

    for version, status in ((2, "resolved"), (3, "closed")):
        response = patch(client, url(incident), {"status": status}, HTTP_IF_MATCH=f'"{version}"')
        assert response.status_code == 200
    incident.refresh_from_db()
    assert (incident.status, incident.version) == ("closed", 4)
    assert incident.mitigated_at <= incident.resolved_at <= incident.closed_at


def test_a_given_time_is_kept_when_the_status_moves(client, responder, incident):
    response = patch(
        signed_in(client, responder),
        url(incident),
        {"status": "resolved", "resolved_at": "2026-03-02T11:00:00Z", "version": 1},
    )
    assert response.status_code == 200
    assert response.json()["resolved_at"] == "2026-03-02T11:00:00Z"
    assert response.json()["status"] == "resolved"


def test_status_never_goes_back(client, responder, incident):
    patch(signed_in(client, responder), url(incident), {"status": "resolved", "version": 1})
    before = incident_snapshot(incident)
    response = patch(client, url(incident), {"status": "open", "version": 2})
    assert response.status_code == 400
    assert response.json() == domain_invalid(
        "status", "The incident is resolved; its status cannot go back to open."
    )
    assert incident_snapshot(incident) == before


def test_a_change_without_a_version_is_428(client, responder, incident):
    before = incident_snapshot(incident)
    response = patch(signed_in(client, responder), url(incident), {"title": "New"})
    assert response.status_code == 428
    assert response.json() == VERSION_REQUIRED
    assert incident_snapshot(incident) == before


def test_a_stale_version_is_412(client, responder, incident):
    patch(signed_in(client, responder), url(incident), {"title": "Second", "version": 1})
    before = incident_snapshot(incident)
    response = patch(client, url(incident), {"title": "Third", "version": 1})
    assert response.status_code == 412
    assert response.json() == {
        "error": {
            "code": "stale_version",
            "message": "Someone saved version 2 of this incident after your version 1; "
            "review their changes and try again.",
            "fields": {},
        }
    }
    assert incident_snapshot(incident) == before


def test_timestamps_out_of_order_on_change_are_400(client, responder, incident):
    before = incident_snapshot(incident)
    response = patch(
        signed_in(client, responder),
        url(incident),
        {
            "detected_at": "2026-03-02T10:10:00Z",
            "mitigated_at": "2026-03-02T10:05:00Z",
            "version": 1,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "mitigated_at": [
            "The mitigated time (2026-03-02 10:05 UTC) is before the detected time "
            "(2026-03-02 10:10 UTC)."
        ]
    }
    assert incident_snapshot(incident) == before


def test_fields_change_by_slug_and_username(client, responder, incident, search_team, reviewer):
    ServiceFactory(slug="search-api", team=search_team)
    response = patch(
        signed_in(client, responder),
        url(incident),
        {
            "team": "search",
            "services": ["SEARCH-API"],
            "tags": ["dns"],
            "commander": "rob",
            "responders": ["rita", "rob"],
            "severity": "sev1",
            "version": 1,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["team"], body["services"], body["tags"]) == ("search", ["search-api"], ["dns"])
    assert (body["commander"], sorted(body["responders"]), body["severity"]) == (
        "rob",
        ["rita", "rob"],
        "sev1",
    )


def test_repeat_of_is_set_by_id(client, responder, incident, payments_team):
    earlier = IncidentFactory(team=payments_team, started_at=T0 - timedelta(days=3))
    response = patch(
        signed_in(client, responder), url(incident), {"repeat_of": earlier.pk, "version": 1}
    )
    assert response.status_code == 200
    assert response.json()["repeat_of"] == earlier.pk


def test_repeat_of_an_incident_the_user_cannot_see_is_not_found(client, outsider, search_team):
    mine = IncidentFactory(team=search_team, started_at=T0)
    hidden = restricted_incident(started_at=T0 - timedelta(days=1))
    before = incident_snapshot(mine)
    response = patch(signed_in(client, outsider), url(mine), {"repeat_of": hidden.pk, "version": 1})
    assert response.status_code == 400
    assert response.json() == invalid(repeat_of=["That incident was not found."])
    assert incident_snapshot(mine) == before


def test_repeat_of_pointing_at_a_hidden_incident_reads_as_null(client, outsider, search_team):
    hidden = restricted_incident(started_at=T0 - timedelta(days=1))
    mine = IncidentFactory(team=search_team, started_at=T0, repeat_of=hidden)
    signed_in(client, outsider)
    assert client.get(url(mine)).json()["repeat_of"] is None
    listed = client.get(INCIDENTS).json()["results"]
    assert [(row["id"], row["repeat_of"]) for row in listed] == [(mine.pk, None)]


def test_an_outsider_may_not_change_an_internal_incident(client, outsider, incident):
    before = incident_snapshot(incident)
    response = patch(signed_in(client, outsider), url(incident), {"title": "x", "version": 1})
    assert response.status_code == 403
    assert response.json() == forbidden(
        "Only the incident's commander, its responders and members of its team can change "
        "this incident."
    )
    assert incident_snapshot(incident) == before


# --- reject a suggested repeat -----------------------------------------------------------------


def test_rejecting_a_repeat_clears_it_and_records_the_pair(client, responder, payments_team):
    earlier = IncidentFactory(team=payments_team, started_at=T0 - timedelta(days=3))
    incident = IncidentFactory(team=payments_team, started_at=T0, repeat_of=earlier)
    response = post(
        signed_in(client, responder),
        url(incident, "reject-repeat/"),
        {"incident": earlier.pk, "version": 1},
    )
    assert response.status_code == 200
    assert response.json()["repeat_of"] is None
    assert response.json()["version"] == 2
    assert RepeatRejection.objects.filter(incident=incident, earlier=earlier).count() == 1


def test_rejecting_a_repeat_needs_a_version(client, responder, payments_team, incident):
    earlier = IncidentFactory(team=payments_team, started_at=T0 - timedelta(days=3))
    signed_in(client, responder)
    response = post(client, url(incident, "reject-repeat/"), {"incident": earlier.pk})
    assert response.status_code == 428
    response = post(client, url(incident, "reject-repeat/"), {"incident": earlier.pk, "version": 7})
    assert response.status_code == 412
    assert not RepeatRejection.objects.exists()


# --- restricted incidents do not exist for outsiders -------------------------------------------


def test_an_outsider_gets_404_on_every_path_of_a_restricted_incident(
    client, outsider, secret, search_team
):
    entry = TimelineEntryFactory(incident=secret)
    use = ArticleUseFactory(incident=secret)
    article = published_article()
    mine = IncidentFactory(team=search_team, started_at=T0 + timedelta(hours=1))
    before = incident_snapshot(secret)
    signed_in(client, outsider)
    requests = [
        client.get(url(secret)),
        patch(client, url(secret), {"title": "x", "version": 1}),
        patch(client, url(secret), {"title": "x"}),
        client.get(url(secret, "timeline/")),
        post(
            client,
            url(secret, "timeline/"),
            {"occurred_at": "2026-03-02T10:05:00Z", "kind": "action", "text": "x"},
        ),
        patch(client, url(secret, f"timeline/{entry.pk}/"), {"text": "x"}),
        client.delete(url(secret, f"timeline/{entry.pk}/")),
        client.get(url(secret, "article-uses/")),
        post(client, url(secret, "article-uses/"), {"article": article.pk, "helped": True}),
        post(client, url(secret, "reject-repeat/"), {"incident": mine.pk, "version": 1}),
    ]
    for response in requests:
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert incident_snapshot(secret) == before
    assert ArticleUse.objects.get().pk == use.pk
    # Nor does it appear anywhere in lists, whatever the filter.
    for params in ({}, {"visibility": "restricted"}, {"team": "payments"}, {"q": secret.title}):
        assert client.get(INCIDENTS, params).json()["results"] == [
            row for row in client.get(INCIDENTS, params).json()["results"] if row["id"] != secret.pk
        ]
        assert secret.pk not in [
            row["id"] for row in client.get(INCIDENTS, params).json()["results"]
        ]
    # Naming it in a body is "not found" too.
    response = patch(client, url(mine), {"repeat_of": secret.pk, "version": 1})
    assert response.json() == invalid(repeat_of=["That incident was not found."])


def test_the_team_commander_and_responders_see_a_restricted_incident(
    client, responder, secret, outsider, admin_user, manager
):
    for user, status_code in ((responder, 200), (admin_user, 200), (manager, 404)):
        assert signed_in(client, user).get(url(secret)).status_code == status_code
    secret.responders.set([outsider])
    assert signed_in(client, outsider).get(url(secret)).status_code == 200


# --- timeline ----------------------------------------------------------------------------------


def test_the_timeline_is_added_to_changed_and_removed(client, responder, incident):
    signed_in(client, responder)
    response = post(
        client,
        url(incident, "timeline/"),
        {"occurred_at": "2026-03-02T10:04:00Z", "kind": "DETECTION", "text": "Alert fired."},
    )
    assert response.status_code == 201
    entry = TimelineEntry.objects.get()
    assert response.json() == {
        "id": entry.pk,
        "occurred_at": "2026-03-02T10:04:00Z",
        "position": 1,
        "kind": "detection",
        "text": "Alert fired.",
        "author": "rita",
        "created_at": iso(entry.created_at),
    }
    response = patch(client, url(incident, f"timeline/{entry.pk}/"), {"text": "Alert paged."})
    assert response.status_code == 200
    assert response.json()["text"] == "Alert paged."
    listed = client.get(url(incident, "timeline/")).json()
    assert [row["text"] for row in listed["results"]] == ["Alert paged."]
    assert client.delete(url(incident, f"timeline/{entry.pk}/")).status_code == 204
    assert not TimelineEntry.objects.exists()


def test_a_timeline_entry_of_another_incident_is_404(client, responder, incident):
    other = TimelineEntryFactory()
    response = patch(
        signed_in(client, responder), url(incident, f"timeline/{other.pk}/"), {"text": "x"}
    )
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert TimelineEntry.objects.get().text == other.text


def test_a_timeline_entry_in_the_future_is_400(client, responder, incident):
    later = (timezone.now() + timedelta(days=1)).isoformat()
    response = post(
        signed_in(client, responder),
        url(incident, "timeline/"),
        {"occurred_at": later, "kind": "action", "text": "x"},
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["occurred_at"]
    assert not TimelineEntry.objects.exists()


def test_an_oversized_timeline_entry_is_400(client, responder, incident):
    response = post(
        signed_in(client, responder),
        url(incident, "timeline/"),
        {"occurred_at": "2026-03-02T10:04:00Z", "kind": "action", "text": "x" * 5001},
    )
    assert response.status_code == 400
    assert response.json() == invalid(text=["Ensure this field has no more than 5000 characters."])
    assert not TimelineEntry.objects.exists()


# --- article uses ------------------------------------------------------------------------------


def test_article_uses_are_recorded_once_per_article(client, responder, incident):
    article = published_article()
    signed_in(client, responder)
    response = post(
        client,
        url(incident, "article-uses/"),
        {"article": article.pk, "helped": True, "minutes_saved": 20},
    )
    assert response.status_code == 201
    use = ArticleUse.objects.get()
    assert response.json() == {
        "id": use.pk,
        "article": article.pk,
        "article_title": article.title,
        "article_web_url": web(article.get_absolute_url()),
        "user": "rita",
        "used_at": iso(use.used_at),
        "helped": True,
        "minutes_saved": 20,
        "note": "",
    }
    response = post(
        client, url(incident, "article-uses/"), {"article": article.pk, "helped": False}
    )
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["helped"]) == (use.pk, False)
    listed = client.get(url(incident, "article-uses/")).json()["results"]
    assert [(row["article"], row["helped"]) for row in listed] == [(article.pk, False)]


def test_an_article_the_user_cannot_see_is_not_found(client, responder, incident):
    hidden = draft_article(author=UserFactory())
    response = post(
        signed_in(client, responder), url(incident, "article-uses/"), {"article": hidden.pk}
    )
    assert response.status_code == 400
    assert response.json() == domain_invalid("article", "That article was not found.")
    missing = post(client, url(incident, "article-uses/"), {"article": 999999})
    assert missing.json() == invalid(article=["That article was not found."])
    assert not ArticleUse.objects.exists()
    assert Article.objects.count() == 1


def test_minutes_saved_out_of_range_is_400(client, responder, incident):
    article = published_article()
    response = post(
        signed_in(client, responder),
        url(incident, "article-uses/"),
        {"article": article.pk, "minutes_saved": -5},
    )
    assert response.status_code == 400
    assert response.json() == invalid(
        minutes_saved=["Ensure this value is greater than or equal to 0."]
    )
    assert not ArticleUse.objects.exists()
