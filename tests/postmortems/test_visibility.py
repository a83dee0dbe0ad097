"""A restricted incident exists only for its team, commander, responders and admins.

For anyone else — managers included — it is absent from every selector: getters raise 404 and
listings, suggestions, action items and the incidents behind an article leave it out.
"""

from __future__ import annotations

import pytest
from django.http import Http404

from knowledge.search import index_articles
from postmortems.selectors import (
    action_items_for_user,
    incident_get_for_user,
    incident_list_for_user,
    incident_suggested_articles,
    incidents_for_article,
    postmortem_get_for_user,
    postmortem_page_data,
)
from tests.knowledge.factories import published_article
from tests.postmortems.factories import (
    ActionItemFactory,
    ArticleUseFactory,
    FindingFactory,
    IncidentFactory,
    PostmortemFactory,
    UserFactory,
    restricted_incident,
)


@pytest.fixture
def article(db):
    article = published_article(title="Card numbers in logs: masking at the sink")
    index_articles(article_ids=[article.pk])
    return article


@pytest.fixture
def hidden(payments_team, article):
    """A restricted Payments incident with a postmortem, a finding, a use and an action item."""
    incident = restricted_incident(team=payments_team, title="Card numbers in logs")
    postmortem = PostmortemFactory(incident=incident)
    FindingFactory(postmortem=postmortem, outcome="linked", article=article)
    ArticleUseFactory(incident=incident, article=article)
    ActionItemFactory(postmortem=postmortem)
    return incident


def sees(user, incident, article) -> dict[str, bool]:
    """Whether `user` reaches `incident` through each selector."""
    user = type(user).objects.get(pk=user.pk)
    results: dict[str, bool] = {}
    try:
        incident_get_for_user(pk=incident.pk, user=user)
        results["get"] = True
    except Http404:
        results["get"] = False
    try:
        postmortem = postmortem_get_for_user(pk=incident.postmortem.pk, user=user)
        postmortem_page_data(postmortem=postmortem, user=user)
        results["postmortem"] = True
    except Http404:
        results["postmortem"] = False
    try:
        incident_suggested_articles(incident=incident, user=user)
        results["suggestions"] = True
    except Http404:
        results["suggestions"] = False
    results["list"] = incident_list_for_user(user=user).filter(pk=incident.pk).exists()
    results["search_list"] = (
        incident_list_for_user(user=user).filter(title__icontains="card").exists()
    )
    results["action_items"] = (
        action_items_for_user(user=user).filter(postmortem__incident=incident).exists()
    )
    results["behind_article"] = (
        incidents_for_article(article=article, user=user).filter(pk=incident.pk).exists()
    )
    return results


ALL = {
    "get": True,
    "postmortem": True,
    "suggestions": True,
    "list": True,
    "search_list": True,
    "action_items": True,
    "behind_article": True,
}
NONE = dict.fromkeys(ALL, False)


@pytest.mark.django_db
def test_outsider_sees_nothing(hidden, outsider, article):
    assert sees(outsider, hidden, article) == NONE


@pytest.mark.django_db
def test_manager_sees_nothing(hidden, manager, article):
    assert sees(manager, hidden, article) == NONE


@pytest.mark.django_db
def test_reviewer_outside_the_team_sees_nothing(hidden, article):
    assert sees(UserFactory(username="vera", roles=["reviewer"]), hidden, article) == NONE


@pytest.mark.django_db
def test_team_member_sees_it(hidden, responder, article):
    assert sees(responder, hidden, article) == ALL


@pytest.mark.django_db
def test_commander_sees_it(hidden, article):
    commander = UserFactory(username="cora", roles=["responder"])
    hidden.commander = commander
    hidden.save(update_fields=["commander"])

    assert sees(commander, hidden, article) == ALL


@pytest.mark.django_db
def test_named_responder_sees_it(hidden, outsider, article):
    hidden.responders.add(outsider)

    assert sees(outsider, hidden, article) == ALL


@pytest.mark.django_db
def test_admin_sees_it(hidden, admin_user, article):
    assert sees(admin_user, hidden, article) == ALL


@pytest.mark.django_db
def test_internal_incidents_are_seen_by_everyone(payments_team, outsider, manager, article):
    incident = IncidentFactory(team=payments_team)
    PostmortemFactory(incident=incident)

    assert sees(outsider, incident, article)["get"] is True
    assert sees(manager, incident, article)["list"] is True
