"""/api/v1/postmortems/ and /api/v1/postmortem-templates/: the API contract, asserted precisely.

Refusals check the error body and that nothing changed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from knowledge.markdown import render_markdown
from knowledge.models import Article, ArticleState
from postmortems.models import (
    ActionItem,
    Finding,
    Postmortem,
    PostmortemState,
    Review,
    SectionComment,
)
from tests.knowledge.factories import draft_article, published_article
from tests.postmortems.api_helpers import (
    NOT_FOUND,
    POSTMORTEMS,
    TEMPLATES,
    VERSION_REQUIRED,
    conflict,
    domain_invalid,
    forbidden,
    incident_snapshot,
    invalid,
    patch,
    post,
    postmortem_snapshot,
    signed_in,
    web,
)
from tests.postmortems.factories import (
    ActionItemFactory,
    FindingFactory,
    IncidentFactory,
    PostmortemFactory,
    ServiceFactory,
    UserFactory,
    blameless_template,
    complete_sections,
    restricted_incident,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
KEYS = [
    "summary",
    "impact",
    "timeline",
    "root_causes",
    "detection",
    "response",
    "went_well",
    "went_wrong",
    "lucky",
    "lessons",
]


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
def postmortem(incident, responder):
    return PostmortemFactory(incident=incident, created_by=responder)


@pytest.fixture
def outside_reviewer(db):
    """A reviewer who wrote none of it: may approve."""
    return UserFactory(username="rhea", roles=["reviewer"])


def url(postmortem: Postmortem, suffix: str = "") -> str:
    return f"{POSTMORTEMS}{postmortem.pk}/{suffix}"


def in_review(incident: Any, **kwargs: Any) -> Postmortem:
    return PostmortemFactory(
        incident=incident, state=PostmortemState.IN_REVIEW, sections=complete_sections(), **kwargs
    )


# --- templates ---------------------------------------------------------------------------------


def test_templates_are_listed_with_their_sections(client, responder):
    response = signed_in(client, responder).get(TEMPLATES)
    assert response.status_code == 200
    rows = {row["slug"]: row for row in response.json()["results"]}
    blameless = rows["blameless"]
    template = blameless_template()
    assert blameless["version"] == template.version
    assert blameless["is_current"] is True
    assert [section["key"] for section in blameless["sections"]] == KEYS
    first = template.sections.order_by("position", "id").first()
    assert blameless["sections"][0] == {
        "key": first.key,
        "heading": first.heading,
        "prompt": first.prompt,
        "required": first.required,
    }
    assert client.get(f"{TEMPLATES}blameless/").json() == blameless
    assert client.get(f"{TEMPLATES}nope/").status_code == 404


# --- start -------------------------------------------------------------------------------------


def test_an_author_starts_the_postmortem(client, responder, incident):
    response = post(signed_in(client, responder), POSTMORTEMS, {"incident": incident.pk})
    assert response.status_code == 201
    postmortem = Postmortem.objects.get()
    assert response["Location"] == f"http://testserver{POSTMORTEMS}{postmortem.pk}/"
    assert response["ETag"] == '"1"'
    body = response.json()
    template = blameless_template()
    assert {key: body[key] for key in ("id", "incident", "incident_title", "template")} == {
        "id": postmortem.pk,
        "incident": incident.pk,
        "incident_title": "Checkout returns 503 after deploy",
        "template": "blameless",
    }
    assert body["template_version"] == template.version
    assert body["state"] == "draft"
    assert body["sections"] == dict.fromkeys(KEYS, "")
    assert body["sections_html"] == dict.fromkeys(KEYS, "")
    assert body["blameless_warnings"] == {}
    assert body["version"] == 1
    assert body["web_url"] == web(f"/postmortems/{postmortem.pk}/")
    assert body["findings"] == [] and body["action_items"] == []
    assert body["approvals"] == 0 and body["required_approvals"] == 1
    assert [section["key"] for section in body["template_sections"]] == KEYS
    assert body["publish_blockers"][0] == "It is a draft: submit it for review first."
    incident_body = client.get(f"/api/v1/incidents/{incident.pk}/").json()
    assert (incident_body["postmortem"], incident_body["postmortem_state"]) == (
        postmortem.pk,
        "draft",
    )


def test_a_second_postmortem_is_409(client, responder, postmortem):
    before = postmortem_snapshot(postmortem)
    response = post(signed_in(client, responder), POSTMORTEMS, {"incident": postmortem.incident_id})
    assert response.status_code == 409
    assert response.json() == conflict(
        "This incident already has a postmortem.",
        [f"Postmortem #{postmortem.pk} is this incident's postmortem; open it instead."],
    )
    assert Postmortem.objects.count() == 1
    assert postmortem_snapshot(postmortem) == before


def test_an_unknown_template_or_incident_is_400(client, responder, incident):
    signed_in(client, responder)
    response = post(client, POSTMORTEMS, {"incident": incident.pk, "template": "nope"})
    assert response.status_code == 400
    assert response.json() == invalid(
        template=["No postmortem template has the slug 'nope': see /api/v1/postmortem-templates/."]
    )
    response = post(client, POSTMORTEMS, {"incident": 99999})
    assert response.json() == invalid(incident=["That incident was not found."])
    assert not Postmortem.objects.exists()


def test_someone_not_named_on_the_incident_may_not_start_it(client, outsider, incident):
    response = post(signed_in(client, outsider), POSTMORTEMS, {"incident": incident.pk})
    assert response.status_code == 403
    assert response.json() == forbidden(
        "Only the incident's commander, its responders and members of its team can start its "
        "postmortem."
    )
    assert not Postmortem.objects.exists()


# --- read --------------------------------------------------------------------------------------


def _detail_queries(client, user, postmortem, django_assert_num_queries, findings: int) -> Any:
    for n in range(findings):
        FindingFactory(
            postmortem=postmortem,
            outcome=["", "linked", "nothing_to_capture"][n % 3],
            created_by=UserFactory(),
        )
    for _ in range(3):
        ActionItemFactory(postmortem=postmortem, created_by=UserFactory())
    signed_in(client, user)
    client.get(url(postmortem))
    # session, user, roles, teams, postmortem (with incident, template), incident services,
    # tags, responders; page: template sections, findings, timeline, action items (and their
    # creators), article uses, visible articles, comments, reviews, draft, last revision,
    # approvals
    with django_assert_num_queries(20):
        response = client.get(url(postmortem))
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("findings", [5, 50])
def test_the_detail_costs_the_same_queries_for_5_or_50_findings(
    client, responder, postmortem, django_assert_num_queries, findings
):
    body = _detail_queries(client, responder, postmortem, django_assert_num_queries, findings)
    assert len(body["findings"]) == findings


def test_the_detail_has_findings_action_items_and_the_gate(client, responder, postmortem):
    linked = FindingFactory(postmortem=postmortem, outcome="linked", created_by=responder)
    open_finding = FindingFactory(postmortem=postmortem, created_by=responder)
    hidden = draft_article(author=UserFactory())
    spawned = FindingFactory(
        postmortem=postmortem, outcome="spawned", article=hidden, created_by=responder
    )
    item = ActionItemFactory(postmortem=postmortem, owner=responder, created_by=responder)
    body = signed_in(client, responder).get(url(postmortem)).json()
    assert body["findings"] == [
        {
            "id": linked.pk,
            "text": linked.text,
            "kind": "root_cause",
            "outcome": "linked",
            "article": linked.article_id,
            "article_title": linked.article.title,
            "article_web_url": web(linked.article.get_absolute_url()),
            "no_article_reason": "",
            "position": linked.position,
            "created_by": "rita",
            "created_at": iso(linked.created_at),
        },
        {
            "id": open_finding.pk,
            "text": open_finding.text,
            "kind": "root_cause",
            "outcome": None,
            "article": None,
            "article_title": None,
            "article_web_url": None,
            "no_article_reason": "",
            "position": open_finding.position,
            "created_by": "rita",
            "created_at": iso(open_finding.created_at),
        },
        {
            "id": spawned.pk,
            "text": spawned.text,
            "kind": "root_cause",
            "outcome": "spawned",
            "article": hidden.pk,
            "article_title": None,  # a draft someone else is writing: not visible to rita
            "article_web_url": None,
            "no_article_reason": "",
            "position": spawned.position,
            "created_by": "rita",
            "created_at": iso(spawned.created_at),
        },
    ]
    assert body["action_items"] == [
        {
            "id": item.pk,
            "title": item.title,
            "owner": "rita",
            "team": None,
            "due_date": item.due_date.isoformat(),
            "priority": "p2",
            "status": "open",
            "status_reason": "",
            "tracker_url": "",
            "completed_at": None,
            "created_by": "rita",
            "created_at": iso(item.created_at),
            "version": 1,
        }
    ]


def test_the_list_shows_visible_postmortems_only(client, outsider, postmortem, search_team):
    secret = PostmortemFactory(incident=restricted_incident(team=postmortem.incident.team))
    theirs = PostmortemFactory(incident=IncidentFactory(team=search_team))
    signed_in(client, outsider)
    rows = client.get(POSTMORTEMS).json()["results"]
    assert sorted(row["id"] for row in rows) == sorted([postmortem.pk, theirs.pk])
    assert secret.pk not in [
        row["id"] for row in client.get(POSTMORTEMS, {"team": "payments"}).json()["results"]
    ]
    filtered = client.get(POSTMORTEMS, {"team": "search", "state": "DRAFT"}).json()["results"]
    assert [row["id"] for row in filtered] == [theirs.pk]
    assert (
        client.get(POSTMORTEMS, {"incident": postmortem.incident_id}).json()["results"][0]["id"]
        == postmortem.pk
    )


# --- sections ----------------------------------------------------------------------------------


def test_saving_sections_changes_only_those_sent(client, responder, incident):
    signed_in(client, responder)
    postmortem = Postmortem.objects.get(
        pk=post(client, POSTMORTEMS, {"incident": incident.pk}).json()["id"]
    )
    patch(client, url(postmortem), {"sections": {"impact": "Some users."}, "version": 1})
    response = patch(
        client, url(postmortem), {"sections": {"summary": "Checkout failed."}, "version": 2}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 3
    assert response["ETag"] == '"3"'
    assert body["sections"] == {
        **dict.fromkeys(KEYS, ""),
        "summary": "Checkout failed.",
        "impact": "Some users.",
    }
    assert body["sections_html"]["summary"] == "<p>Checkout failed.</p>"


def test_concurrent_saves_of_other_sections_merge(client, responder, reviewer, postmortem):
    signed_in(client, responder)
    patch(client, url(postmortem), {"sections": {"summary": "Mine."}, "version": 1})
    response = patch(client, url(postmortem), {"sections": {"impact": "Theirs."}, "version": 1})
    assert response.status_code == 200
    assert response.json()["sections"]["summary"] == "Mine."
    assert response.json()["sections"]["impact"] == "Theirs."
    assert response.json()["version"] == 3


def test_a_clashing_save_is_412_and_changes_nothing(client, responder, postmortem):
    signed_in(client, responder)
    patch(client, url(postmortem), {"sections": {"summary": "First."}, "version": 1})
    before = postmortem_snapshot(postmortem)
    response = patch(client, url(postmortem), {"sections": {"summary": "Second."}, "version": 1})
    assert response.status_code == 412
    assert response.json() == {
        "error": {
            "code": "stale_version",
            "message": "Someone else changed “Summary” after your version 1; review their "
            "text and apply your changes again.",
            "fields": {},
        }
    }
    assert postmortem_snapshot(postmortem) == before


def test_a_save_without_a_version_is_428(client, responder, postmortem):
    before = postmortem_snapshot(postmortem)
    response = patch(signed_in(client, responder), url(postmortem), {"sections": {"summary": "x"}})
    assert (response.status_code, response.json()) == (428, VERSION_REQUIRED)
    assert postmortem_snapshot(postmortem) == before


def test_an_unknown_section_is_400(client, responder, postmortem):
    before = postmortem_snapshot(postmortem)
    response = patch(
        signed_in(client, responder), url(postmortem), {"sections": {"blame": "x"}, "version": 1}
    )
    assert response.status_code == 400
    assert response.json() == domain_invalid(
        "sections",
        "Unknown section: blame. This template's sections are " + ", ".join(KEYS) + ".",
    )
    assert postmortem_snapshot(postmortem) == before


def test_an_oversized_section_is_400(client, responder, postmortem):
    before = postmortem_snapshot(postmortem)
    response = patch(
        signed_in(client, responder),
        url(postmortem),
        {"sections": {"summary": "x" * 100_001}, "version": 1},
    )
    assert response.status_code == 400
    assert response.json() == invalid(
        **{"sections.summary": ["Ensure this field has no more than 100000 characters."]}
    )
    assert postmortem_snapshot(postmortem) == before


def test_hostile_markdown_in_a_section_is_stored_and_rendered_inert(client, responder, postmortem):
    hostile = '<script>alert(1)</script>\n\n<a href="javascript:alert(2)" onclick="x()">go</a>'
    response = patch(
        signed_in(client, responder),
        url(postmortem),
        {"sections": {"summary": hostile}, "version": 1},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["sections"]["summary"] == hostile
    assert body["sections_html"]["summary"] == render_markdown(hostile)
    html = body["sections_html"]["summary"].lower()
    assert "<script" not in html and "javascript:" not in html and "onclick" not in html


def test_blameless_warnings_are_listed_per_section(client, responder, postmortem):
    response = patch(
        signed_in(client, responder),
        url(postmortem),
        {"sections": {"summary": "It was human error."}, "version": 1},
    )
    warnings = response.json()["blameless_warnings"]
    assert list(warnings) == ["summary"]
    assert warnings["summary"][0]["phrase"].lower() == "human error"
    assert set(warnings["summary"][0]) == {
        "rule",
        "phrase",
        "start",
        "end",
        "message",
        "suggestion",
    }


# --- review and publish ------------------------------------------------------------------------


def test_submit_then_approve_then_publish(client, responder, outside_reviewer, incident):
    postmortem = PostmortemFactory(incident=incident, sections=complete_sections())
    FindingFactory(postmortem=postmortem, outcome="nothing_to_capture")
    signed_in(client, responder)
    response = post(client, url(postmortem, "submit/"), {"version": 1})
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["version"]) == ("in_review", 2)

    signed_in(client, outside_reviewer)
    response = post(client, url(postmortem, "approve/"), {"comment": "Clear."}, HTTP_IF_MATCH='"2"')
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["approvals"]) == ("approved", 1)

    signed_in(client, responder)
    response = post(client, url(postmortem, "publish/"), {"version": 3})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["version"], body["publish_blockers"]) == ("published", 4, [])
    assert body["published_at"] is not None


def test_an_author_approving_is_403(client, reviewer, incident):
    postmortem = in_review(incident)
    before = postmortem_snapshot(postmortem)
    response = post(signed_in(client, reviewer), url(postmortem, "approve/"), {"version": 1})
    assert response.status_code == 403
    assert response.json() == forbidden(
        "You are one of this postmortem's authors; a reviewer who did not write it must approve it."
    )
    assert postmortem_snapshot(postmortem) == before
    assert not Review.objects.exists()


def test_request_changes_needs_a_comment(client, outside_reviewer, incident):
    postmortem = in_review(incident)
    before = postmortem_snapshot(postmortem)
    signed_in(client, outside_reviewer)
    response = post(client, url(postmortem, "request-changes/"), {"version": 1})
    assert response.status_code == 400
    assert response.json() == invalid(comment=["This field is required."])
    assert postmortem_snapshot(postmortem) == before
    response = post(
        client, url(postmortem, "request-changes/"), {"version": 1, "comment": "Add the impact."}
    )
    assert response.status_code == 200
    assert response.json()["state"] == "changes_requested"


def test_publishing_an_incomplete_postmortem_is_409_with_every_reason(
    client, responder, postmortem
):
    FindingFactory(postmortem=postmortem, text="The probe checked the wrong port.")
    patch(
        signed_in(client, responder),
        url(postmortem),
        {"sections": {"summary": "Bob forgot to check the probe.", "impact": ""}, "version": 1},
    )
    before = postmortem_snapshot(postmortem)
    response = post(client, url(postmortem, "publish/"), {"version": 2})
    assert response.status_code == 409
    reasons = response.json()["error"]["reasons"]
    assert response.json() == conflict("This postmortem cannot be published yet.", reasons)
    assert reasons[0] == "It is a draft: submit it for review first."
    required = [section for section in blameless_template().sections.all() if section.required]
    empty = [
        f"The required section “{section.heading}” is empty."
        for section in sorted(required, key=lambda section: (section.position, section.pk))
        if section.key != "summary"
    ]
    assert reasons[1 : 1 + len(empty)] == empty
    assert reasons[1 + len(empty)] == (
        "Finding 1 (“The probe checked the wrong port.”) has no knowledge outcome: link an "
        "article, spawn one, or say why there is nothing to capture."
    )
    assert reasons[2 + len(empty)].endswith(
        "in “Summary”: reword, or acknowledge the warnings to publish."
    )
    assert len(reasons) == 3 + len(empty)
    assert postmortem_snapshot(postmortem) == before


def test_acknowledging_warnings_lets_an_approved_postmortem_publish(
    client, responder, outside_reviewer, incident
):
    postmortem = PostmortemFactory(
        incident=incident,
        state=PostmortemState.IN_REVIEW,
        sections=complete_sections(summary="It was human error."),
    )
    post(signed_in(client, outside_reviewer), url(postmortem, "approve/"), {"version": 1})
    signed_in(client, responder)
    refused = post(client, url(postmortem, "publish/"), {"version": 2})
    assert refused.status_code == 409
    assert len(refused.json()["error"]["reasons"]) == 1
    response = post(
        client, url(postmortem, "publish/"), {"version": 2, "acknowledge_warnings": True}
    )
    assert response.status_code == 200
    assert response.json()["state"] == "published"


def test_actions_need_a_current_version(client, responder, incident):
    postmortem = PostmortemFactory(incident=incident, sections=complete_sections())
    signed_in(client, responder)
    before = postmortem_snapshot(postmortem)
    assert post(client, url(postmortem, "submit/")).json() == VERSION_REQUIRED
    response = post(client, url(postmortem, "submit/"), {"version": 9})
    assert response.status_code == 412
    assert response.json()["error"]["code"] == "stale_version"
    assert postmortem_snapshot(postmortem) == before


def test_submitting_twice_is_409(client, responder, incident):
    postmortem = in_review(incident)
    before = postmortem_snapshot(postmortem)
    response = post(signed_in(client, responder), url(postmortem, "submit/"), {"version": 1})
    assert response.status_code == 409
    assert response.json() == conflict(
        "This postmortem cannot be submitted for review.",
        [
            "Only a postmortem that is draft or changes requested can be submitted for review; "
            "this one is in review."
        ],
    )
    assert postmortem_snapshot(postmortem) == before


# --- findings ----------------------------------------------------------------------------------


def test_findings_with_each_outcome(client, responder, postmortem):
    article = published_article()
    signed_in(client, responder)
    linked = post(
        client,
        url(postmortem, "findings/"),
        {"text": "The probe checked the wrong port.", "kind": "ROOT_CAUSE", "article": article.pk},
    )
    assert linked.status_code == 201
    finding = Finding.objects.get()
    assert linked.json() == {
        "id": finding.pk,
        "text": "The probe checked the wrong port.",
        "kind": "root_cause",
        "outcome": "linked",
        "article": article.pk,
        "article_title": article.title,
        "article_web_url": web(article.get_absolute_url()),
        "no_article_reason": "",
        "position": 1,
        "created_by": "rita",
        "created_at": iso(finding.created_at),
    }
    nothing = post(
        client,
        url(postmortem, "findings/"),
        {"text": "Lucky timing.", "kind": "what_worked", "no_article_reason": "A one-off."},
    )
    assert (nothing.json()["outcome"], nothing.json()["article"]) == ("nothing_to_capture", None)
    spawned = post(
        client,
        url(postmortem, "findings/"),
        {"text": "Gate rollouts on readiness.", "kind": "process_gap", "spawn_article": True},
    )
    assert spawned.status_code == 201
    new_article = Article.objects.get(pk=spawned.json()["article"])
    assert (spawned.json()["outcome"], new_article.state) == ("spawned", ArticleState.DRAFT)
    assert new_article.title == "Gate rollouts on readiness."
    open_one = post(
        client, url(postmortem, "findings/"), {"text": "Unclear.", "kind": "detection_gap"}
    )
    assert (open_one.json()["outcome"], open_one.json()["article"]) == (None, None)
    listed = client.get(url(postmortem, "findings/")).json()["results"]
    assert [row["outcome"] for row in listed] == ["linked", "nothing_to_capture", "spawned", None]


def test_two_outcomes_at_once_are_400(client, responder, postmortem):
    article = published_article()
    response = post(
        signed_in(client, responder),
        url(postmortem, "findings/"),
        {"text": "x", "kind": "root_cause", "article": article.pk, "no_article_reason": "y"},
    )
    assert response.status_code == 400
    assert response.json() == domain_invalid(
        "no_article_reason",
        "Choose one outcome: link an article, spawn a new one, or say why there is nothing to "
        "capture.",
    )
    assert not Finding.objects.exists()


def test_a_finding_changes_and_goes(client, responder, postmortem):
    finding = FindingFactory(postmortem=postmortem, created_by=responder)
    signed_in(client, responder)
    response = patch(
        client, url(postmortem, f"findings/{finding.pk}/"), {"no_article_reason": "Known issue."}
    )
    assert response.status_code == 200
    assert response.json()["outcome"] == "nothing_to_capture"
    assert client.delete(url(postmortem, f"findings/{finding.pk}/")).status_code == 204
    assert not Finding.objects.exists()


def test_a_finding_of_another_postmortem_is_404(client, responder, postmortem):
    other = FindingFactory()
    response = patch(
        signed_in(client, responder), url(postmortem, f"findings/{other.pk}/"), {"text": "x"}
    )
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert Finding.objects.get().text == other.text


def test_an_oversized_finding_is_400(client, responder, postmortem):
    response = post(
        signed_in(client, responder),
        url(postmortem, "findings/"),
        {"text": "x" * 10_001, "kind": "root_cause"},
    )
    assert response.json() == invalid(text=["Ensure this field has no more than 10000 characters."])
    assert not Finding.objects.exists()


# --- action items ------------------------------------------------------------------------------


def test_action_items_are_added_and_changed(client, responder, reviewer, postmortem):
    signed_in(client, responder)
    response = post(
        client,
        url(postmortem, "action-items/"),
        {
            "title": "Gate rollouts on readiness",
            "owner": "rob",
            "due_date": "2026-12-01",
            "priority": "P1",
            "tracker_url": "https://tracker.example.com/OPS-1",
        },
    )
    assert response.status_code == 201
    item = ActionItem.objects.get()
    assert response.json() == {
        "id": item.pk,
        "title": "Gate rollouts on readiness",
        "owner": "rob",
        "team": "payments",
        "due_date": "2026-12-01",
        "priority": "p1",
        "status": "open",
        "status_reason": "",
        "tracker_url": "https://tracker.example.com/OPS-1",
        "completed_at": None,
        "created_by": "rita",
        "created_at": iso(item.created_at),
        "version": 1,
    }
    assert response["ETag"] == '"1"'
    path = url(postmortem, f"action-items/{item.pk}/")
    refused = patch(client, path, {"status": "wont_do", "version": 1})
    assert refused.status_code == 400
    assert refused.json() == domain_invalid(
        "status_reason", "Say why this will not be done, so that the decision can be reviewed."
    )
    assert ActionItem.objects.get().status == "open"
    assert patch(client, path, {"status": "done"}).json() == VERSION_REQUIRED
    response = patch(
        client, path, {"status": "WONT_DO", "status_reason": "Replaced by OPS-2.", "version": 1}
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["version"]) == ("wont_do", 2)
    stale = patch(client, path, {"title": "x", "version": 1})
    assert stale.status_code == 412
    assert ActionItem.objects.get().title == "Gate rollouts on readiness"
    listed = client.get(url(postmortem, "action-items/")).json()["results"]
    assert [row["id"] for row in listed] == [item.pk]


def test_an_action_item_may_start_done(client, responder, postmortem):
    response = post(
        signed_in(client, responder),
        url(postmortem, "action-items/"),
        {"title": "Rolled back", "status": "done"},
    )
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["version"]) == ("done", 2)
    assert response.json()["completed_at"] is not None
    assert response.json()["due_date"] == (timezone.localdate() + timedelta(days=30)).isoformat()


def test_an_unknown_owner_is_400(client, responder, postmortem):
    response = post(
        signed_in(client, responder),
        url(postmortem, "action-items/"),
        {"title": "x", "owner": "ghost", "priority": "p4"},
    )
    assert response.json() == invalid(
        owner=["No active person has the username 'ghost'."],
        priority=['"p4" is not a valid choice.'],
    )
    assert not ActionItem.objects.exists()


# --- comments ----------------------------------------------------------------------------------


def test_section_comments(client, outside_reviewer, postmortem):
    signed_in(client, outside_reviewer)
    response = post(
        client, url(postmortem, "comments/"), {"section_key": "impact", "text": "How many users?"}
    )
    assert response.status_code == 201
    comment = SectionComment.objects.get()
    assert response.json() == {
        "id": comment.pk,
        "section_key": "impact",
        "text": "How many users?",
        "author": "rhea",
        "created_at": iso(comment.created_at),
        "resolved_at": None,
    }
    assert [row["id"] for row in client.get(url(postmortem, "comments/")).json()["results"]] == [
        comment.pk
    ]


# --- restricted incidents do not exist for outsiders -------------------------------------------


def test_an_outsider_gets_404_on_every_path_of_a_restricted_postmortem(
    client, outsider, payments_team
):
    incident = restricted_incident(team=payments_team, started_at=T0)
    postmortem = in_review(incident)
    finding = FindingFactory(postmortem=postmortem)
    item = ActionItemFactory(postmortem=postmortem)
    article = published_article()
    before = postmortem_snapshot(postmortem)
    incident_before = incident_snapshot(incident)
    signed_in(client, outsider)
    requests = [
        client.get(url(postmortem)),
        patch(client, url(postmortem), {"sections": {"summary": "x"}, "version": 1}),
        patch(client, url(postmortem), {"sections": {"summary": "x"}}),
        post(client, url(postmortem, "submit/"), {"version": 1}),
        post(client, url(postmortem, "approve/"), {"version": 1}),
        post(client, url(postmortem, "request-changes/"), {"version": 1, "comment": "x"}),
        post(client, url(postmortem, "publish/"), {"version": 1}),
        client.get(url(postmortem, "findings/")),
        post(
            client,
            url(postmortem, "findings/"),
            {"text": "x", "kind": "root_cause", "article": article.pk},
        ),
        patch(client, url(postmortem, f"findings/{finding.pk}/"), {"text": "x"}),
        client.delete(url(postmortem, f"findings/{finding.pk}/")),
        client.get(url(postmortem, "action-items/")),
        post(client, url(postmortem, "action-items/"), {"title": "x"}),
        patch(client, url(postmortem, f"action-items/{item.pk}/"), {"title": "x", "version": 1}),
        client.get(url(postmortem, "comments/")),
        post(client, url(postmortem, "comments/"), {"section_key": "impact", "text": "x"}),
    ]
    for response in requests:
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert postmortem_snapshot(postmortem) == before
    assert incident_snapshot(incident) == incident_before
    for params in ({}, {"team": "payments"}, {"incident": incident.pk}, {"state": "in_review"}):
        assert client.get(POSTMORTEMS, params).json()["results"] == []
    response = post(client, POSTMORTEMS, {"incident": incident.pk})
    assert response.json() == invalid(incident=["That incident was not found."])
