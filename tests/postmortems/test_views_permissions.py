"""Who may see and change what. A restricted incident does not exist for an outsider: every URL
about it is the styled 404 page, the same as for an id that was never used, and nothing changes.
People who may see an incident but not write its postmortem get the 403 page."""

from __future__ import annotations

import pytest

from postmortems.models import (
    ActionItem,
    ArticleUse,
    Finding,
    PostmortemDraft,
    SectionComment,
    TimelineEntry,
)
from tests.knowledge.factories import published_article
from tests.postmortems.factories import (
    ActionItemFactory,
    FindingFactory,
    IncidentFactory,
    PostmortemFactory,
    TimelineEntryFactory,
    restricted_incident,
)
from tests.postmortems.view_helpers import html_of, incident_ids_listed, main_of, url

pytestmark = pytest.mark.django_db

MISSING = 999_999


@pytest.fixture
def restricted(payments_team):
    incident = restricted_incident(team=payments_team, title="Card data exposure")
    postmortem = PostmortemFactory(incident=incident, sections={"summary": "Secret details"})
    return {
        "incident": incident,
        "postmortem": postmortem,
        "finding": FindingFactory(postmortem=postmortem),
        "entry": TimelineEntryFactory(incident=incident),
        "item": ActionItemFactory(postmortem=postmortem),
    }


def restricted_urls(objects) -> list[tuple[str, str, dict]]:
    incident, postmortem = objects["incident"].pk, objects["postmortem"].pk
    article = published_article().pk
    return [
        ("get", url("incident_detail", incident), {}),
        ("get", url("incident_edit", incident), {}),
        ("post", url("incident_edit", incident), {"title": "Hacked"}),
        ("post", url("incident_status", incident), {"action": "close", "version": 1}),
        ("post", url("postmortem_start", incident), {}),
        (
            "post",
            url("timeline_add", incident),
            {"occurred_at": "2026-01-01T00:00", "kind": "action", "text": "x"},
        ),
        ("post", url("timeline_edit", objects["entry"].pk), {"action": "delete"}),
        ("post", url("article_use_add", incident), {"article": article, "helped": "yes"}),
        ("get", url("postmortem_detail", postmortem), {}),
        ("get", url("postmortem_edit", postmortem), {}),
        ("post", url("postmortem_edit", postmortem), {"summary": "Hacked", "version": 1}),
        ("get", url("postmortem_export", postmortem), {}),
        ("post", url("postmortem_autosave", postmortem), {"summary": "x", "version": 1}),
        ("post", url("postmortem_lint", postmortem), {"section": "summary", "summary": "x"}),
        ("post", url("postmortem_transition", postmortem, "submit"), {}),
        ("post", url("postmortem_transition", postmortem, "approve"), {}),
        (
            "post",
            url("postmortem_transition", postmortem, "publish"),
            {"acknowledge_warnings": "on"},
        ),
        ("post", url("section_comment_add", postmortem), {"section_key": "summary", "text": "x"}),
        ("post", url("finding_add", postmortem), {"text": "x", "kind": "root_cause"}),
        ("post", url("finding_edit", objects["finding"].pk), {"action": "delete"}),
        ("post", url("action_item_add", postmortem), {"title": "x", "priority": "p2"}),
        ("post", url("action_item_edit", objects["item"].pk), {"item-1-title": "x"}),
    ]


def counts() -> tuple:
    return (
        Finding.objects.count(),
        TimelineEntry.objects.count(),
        ActionItem.objects.count(),
        ArticleUse.objects.count(),
        SectionComment.objects.count(),
        PostmortemDraft.objects.count(),
    )


def test_every_url_of_a_restricted_incident_is_404_for_an_outsider(client, outsider, restricted):
    client.force_login(outsider)
    not_found_page = main_of(client.get(url("incident_detail", MISSING)))
    before = counts()
    postmortem = restricted["postmortem"]
    state = (postmortem.state, postmortem.version)

    for method, address, data in restricted_urls(restricted):
        response = getattr(client, method)(address, data)
        assert response.status_code == 404, (method, address)
        assert main_of(response) == not_found_page
        assert "Card data exposure" not in html_of(response)

    assert counts() == before
    postmortem.refresh_from_db()
    assert (postmortem.state, postmortem.version) == state


def test_a_restricted_incident_is_absent_from_the_lists_for_an_outsider(
    client, outsider, restricted, payments_team
):
    visible = IncidentFactory(team=payments_team, title="Card terminal slow")
    client.force_login(outsider)

    listed = client.get(url("index"))
    searched = client.get(url("index"), {"q": "card"})
    items = client.get(url("action_items"))

    assert incident_ids_listed(listed) == [visible.pk]
    assert incident_ids_listed(searched) == [visible.pk]
    assert "Card data exposure" not in html_of(listed) + html_of(searched)
    assert items.context["rows"] == []


def test_the_owning_team_and_admins_see_the_restricted_incident(
    client, responder, admin_user, restricted
):
    incident = restricted["incident"]
    for person in (responder, admin_user):
        client.force_login(person)
        assert incident_ids_listed(client.get(url("index"))) == [incident.pk]
        assert client.get(url("incident_detail", incident.pk)).status_code == 200
        assert client.get(url("postmortem_export", restricted["postmortem"].pk)).status_code == 200


def test_a_manager_is_an_outsider_too(client, manager, restricted):
    client.force_login(manager)
    assert client.get(url("incident_detail", restricted["incident"].pk)).status_code == 404
    assert client.get(url("postmortem_detail", restricted["postmortem"].pk)).status_code == 404


def test_people_who_may_read_but_not_write_get_403_and_nothing_changes(
    client, outsider, payments_team
):
    incident = IncidentFactory(team=payments_team)
    postmortem = PostmortemFactory(incident=incident)
    finding = FindingFactory(postmortem=postmortem)
    entry = TimelineEntryFactory(incident=incident)
    client.force_login(outsider)
    before = counts()

    assert client.get(url("incident_detail", incident.pk)).status_code == 200
    assert client.get(url("postmortem_detail", postmortem.pk)).status_code == 200
    assert client.get(url("postmortem_export", postmortem.pk)).status_code == 200
    for method, address, data in [
        ("get", url("incident_edit", incident.pk), {}),
        ("get", url("postmortem_edit", postmortem.pk), {}),
        ("post", url("postmortem_autosave", postmortem.pk), {"summary": "x", "version": 1}),
        ("post", url("finding_add", postmortem.pk), {"text": "x", "kind": "root_cause"}),
        ("post", url("finding_edit", finding.pk), {"action": "delete"}),
        (
            "post",
            url("timeline_add", incident.pk),
            {"occurred_at": "2026-01-01T00:00", "kind": "action", "text": "x"},
        ),
        ("post", url("timeline_edit", entry.pk), {"action": "delete"}),
        ("post", url("action_item_add", postmortem.pk), {"title": "x", "priority": "p2"}),
    ]:
        response = getattr(client, method)(address, data)
        assert response.status_code == 403, address
        assert "You don't have access to this" in html_of(response)
    assert counts() == before


def test_missing_objects_are_404(client, responder):
    client.force_login(responder)
    for address in (
        url("finding_edit", MISSING),
        url("timeline_edit", MISSING),
        url("action_item_edit", MISSING),
    ):
        assert client.post(address, {"action": "delete"}).status_code == 404
    assert client.get(url("postmortem_detail", MISSING)).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, restricted):
    response = client.get(url("incident_detail", restricted["incident"].pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
