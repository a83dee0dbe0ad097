"""Selectors: what they return, filtered and loaded, at a query cost that does not grow."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from knowledge.models import Article
from knowledge.search import index_articles
from postmortems.selectors import (
    IncidentFilters,
    action_items_for_user,
    incident_get_for_user,
    incident_list_for_user,
    incident_suggested_articles,
    incidents_for_article,
    postmortem_get_for_user,
    postmortem_page_data,
)
from tests.knowledge.factories import draft_article, published_article
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


def build_postmortem(team, responder, *, findings: int, entries: int):
    incident = IncidentFactory(team=team, responders=[responder])
    postmortem = PostmortemFactory(
        incident=incident, sections={"summary": "The engineer forgot.", "impact": "Some"}
    )
    for index in range(findings):
        FindingFactory(postmortem=postmortem, outcome="linked" if index % 2 else "")
    for _ in range(entries):
        TimelineEntryFactory(incident=incident)
    ActionItemFactory.create_batch(3, postmortem=postmortem)
    ArticleUseFactory(incident=incident)
    return postmortem


def page_queries(postmortem_pk, user) -> int:
    user = type(user).objects.get(pk=user.pk)  # fresh: no cached roles or teams
    with CaptureQueriesContext(connection) as captured:
        postmortem = postmortem_get_for_user(pk=postmortem_pk, user=user)
        data = postmortem_page_data(postmortem=postmortem, user=user)
        for finding in data.findings:
            _ = finding.visible_article and finding.visible_article.title
        for entry in data.timeline:
            _ = entry.author.username
        for item in data.action_items:
            _ = item.owner and item.owner.username
    return len(captured)


@pytest.mark.django_db
def test_page_data_costs_the_same_for_2_and_for_50_findings_and_200_entries(
    payments_team, responder
):
    small = build_postmortem(payments_team, responder, findings=2, entries=2)
    large = build_postmortem(payments_team, responder, findings=50, entries=200)

    assert page_queries(small.pk, responder) == page_queries(large.pk, responder)
    assert page_queries(large.pk, responder) == 17


@pytest.mark.django_db
def test_page_data_holds_sections_warnings_and_blockers(payments_team, responder):
    postmortem = build_postmortem(payments_team, responder, findings=2, entries=3)

    data = postmortem_page_data(postmortem=postmortem, user=responder)

    assert [section.key for section in data.sections][:3] == ["summary", "impact", "timeline"]
    assert [w.rule for w in data.sections[0].warnings] == ["person-failed"]
    assert data.warning_count == 1
    assert len(data.timeline) == 3
    assert data.can_edit is True
    assert data.can_review is False
    assert data.publish_blockers[0] == "It is a draft: submit it for review first."


@pytest.mark.django_db
def test_incident_list_filters(payments_team, search_team, responder):
    checkout = ServiceFactory(name="checkout", team=payments_team)
    old = IncidentFactory(
        team=payments_team,
        severity="sev1",
        started_at=timezone.now() - timedelta(days=40),
        title="Old ledger drift",
    )
    new = IncidentFactory(team=payments_team, services=[checkout], title="Checkout 503")
    other = IncidentFactory(
        team=search_team, status="resolved", resolved_at=timezone.now() - timedelta(hours=1)
    )
    PostmortemFactory(incident=new)

    def ids(**filters):
        return list(
            incident_list_for_user(user=responder, filters=IncidentFilters(**filters)).values_list(
                "pk", flat=True
            )
        )

    assert ids() == [other.pk, new.pk, old.pk] or ids() == [new.pk, other.pk, old.pk]
    assert ids(severity="SEV1") == [old.pk]
    assert ids(status="resolved") == [other.pk]
    assert ids(team="search") == [other.pk]
    assert ids(service="checkout") == [new.pk]
    assert ids(started_to=(timezone.now() - timedelta(days=30)).date()) == [old.pk]
    assert ids(started_from=date.today() - timedelta(days=1), team="payments") == [new.pk]
    assert ids(postmortem_state="draft") == [new.pk]
    assert sorted(ids(postmortem_state="none")) == sorted([old.pk, other.pk])
    assert ids(q="ledger") == [old.pk]


@pytest.mark.django_db
def test_incident_list_costs_the_same_for_2_and_20(
    payments_team, responder, django_assert_num_queries
):
    checkout = ServiceFactory(name="checkout", team=payments_team)
    for _ in range(2):
        IncidentFactory(team=payments_team, services=[checkout], tags=["deploy"])
    with django_assert_num_queries(5):  # roles, teams of the user, incidents, services, tags
        list(incident_list_for_user(user=responder))
    for _ in range(18):
        IncidentFactory(team=payments_team, services=[checkout], tags=["deploy"])
    responder = type(responder).objects.get(pk=responder.pk)
    with django_assert_num_queries(5):
        list(incident_list_for_user(user=responder))


@pytest.mark.django_db
def test_incident_get_hides_a_repeat_of_the_user_cannot_see(payments_team, search_team, outsider):
    hidden = restricted_incident(team=payments_team, started_at=timezone.now() - timedelta(days=5))
    incident = IncidentFactory(team=search_team, repeat_of=hidden)

    loaded = incident_get_for_user(pk=incident.pk, user=outsider)

    assert loaded.repeat_of is None


@pytest.mark.django_db
def test_action_items_for_user(payments_team, responder):
    postmortem = PostmortemFactory(incident=IncidentFactory(team=payments_team))
    overdue = ActionItemFactory(
        postmortem=postmortem,
        owner=responder,
        team=payments_team,
        due_date=timezone.localdate() - timedelta(days=3),
    )
    upcoming = ActionItemFactory(postmortem=postmortem, team=payments_team)
    ActionItemFactory(postmortem=postmortem, status="done")

    assert list(action_items_for_user(user=responder)) == [overdue, upcoming]
    assert list(action_items_for_user(user=responder, overdue_only=True)) == [overdue]
    assert list(action_items_for_user(user=responder, owner=responder)) == [overdue]
    assert list(action_items_for_user(user=responder, team="payments")) == [overdue, upcoming]
    assert len(action_items_for_user(user=responder, include_closed=True)) == 3


@pytest.mark.django_db
def test_incidents_for_article_through_findings_and_uses(payments_team, responder):
    article = published_article()
    via_finding = IncidentFactory(team=payments_team)
    FindingFactory(
        postmortem=PostmortemFactory(incident=via_finding), outcome="linked", article=article
    )
    via_use = IncidentFactory(team=payments_team, started_at=timezone.now() - timedelta(days=2))
    ArticleUseFactory(incident=via_use, article=article, helped=True)
    IncidentFactory(team=payments_team)

    found = list(incidents_for_article(article=article, user=responder))

    assert [(i.pk, i.via_finding, i.via_use, i.helped) for i in found] == [
        (via_finding.pk, True, False, False),
        (via_use.pk, False, True, True),
    ]


@pytest.mark.django_db
def test_suggested_articles_leave_out_those_already_linked(payments_team, responder):
    incident = IncidentFactory(
        team=payments_team,
        title="Checkout returns 503 after deploy",
        summary="Checkout answered 503 after the deploy.",
    )
    linked = published_article(title="Checkout returns 503 after deploy: readiness")
    other = published_article(title="Checkout 503 after deploy: rollback steps")
    draft_article(title="Checkout 503 after deploy: hidden draft")
    ArticleUseFactory(incident=incident, article=linked)
    index_articles(article_ids=Article.objects.values_list("pk", flat=True))

    hits = incident_suggested_articles(incident=incident, user=responder)

    assert [hit.article for hit in hits] == [other]


@pytest.mark.django_db
def test_getters_raise_404_for_absent_objects(responder):
    with pytest.raises(Http404):
        incident_get_for_user(pk=999_999, user=responder)
    with pytest.raises(Http404):
        postmortem_get_for_user(pk=999_999, user=responder)
