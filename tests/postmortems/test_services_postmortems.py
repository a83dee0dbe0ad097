"""The postmortem's life through its services: start, save (merging), review, publish."""

from __future__ import annotations

import pytest
from django.core import mail

from kbsite.errors import InvalidInput, NotAllowed, StaleVersion, StateConflict
from kbsite.events import subscribe, unsubscribe
from kbsite.models import Notification
from knowledge.models import ArticleState
from postmortems.models import (
    Postmortem,
    PostmortemDraft,
    PostmortemRevision,
    PostmortemTemplate,
    Review,
    SectionComment,
    SeverityDefaultTemplate,
)
from postmortems.services import (
    finding_add,
    postmortem_approve,
    postmortem_autosave,
    postmortem_publish,
    postmortem_publish_blockers,
    postmortem_request_changes,
    postmortem_save_sections,
    postmortem_start,
    postmortem_submit,
    section_comment_add,
)
from tests.postmortems.factories import (
    FindingFactory,
    IncidentFactory,
    PostmortemFactory,
    UserFactory,
    complete_sections,
    restricted_incident,
)

BLAMELESS_KEYS = [
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


@pytest.fixture
def vera(db):
    """A reviewer outside the Payments team: not an author of Payments incidents."""
    return UserFactory(username="vera", roles=["reviewer"])


@pytest.fixture
def incident(payments_team):
    return IncidentFactory(team=payments_team)


@pytest.fixture
def postmortem(incident, responder):
    return PostmortemFactory(incident=incident, created_by=responder)


def state_of(postmortem: Postmortem) -> tuple:
    postmortem.refresh_from_db()
    return (
        postmortem.state,
        postmortem.version,
        postmortem.sections,
        postmortem.sections_html,
        postmortem.revisions.count(),
        postmortem.reviews.count(),
    )


def approved(postmortem, responder, vera, sections=None):
    saved = postmortem_save_sections(
        postmortem=postmortem,
        user=responder,
        sections=sections or complete_sections(),
        expected_version=postmortem.version,
    )
    submitted = postmortem_submit(postmortem=saved, user=responder)
    return postmortem_approve(postmortem=submitted, user=vera)


# --- start -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_start_uses_the_blameless_template_with_every_section_empty(incident, responder):
    postmortem = postmortem_start(incident=incident, user=responder)

    assert postmortem.template.slug == "blameless"
    assert sorted(postmortem.sections) == sorted(BLAMELESS_KEYS)
    assert set(postmortem.sections.values()) == {""}
    assert (postmortem.state, postmortem.version) == ("draft", 1)
    assert list(postmortem.revisions.values_list("number", "change_note")) == [(1, "Started")]


@pytest.mark.django_db
def test_start_uses_the_severity_default(incident, responder):
    SeverityDefaultTemplate.objects.filter(severity="sev2").update(template_slug="sre-classic")

    postmortem = postmortem_start(incident=incident, user=responder)

    assert postmortem.template.slug == "sre-classic"
    assert "trigger" in postmortem.sections


@pytest.mark.django_db
def test_start_twice_is_a_conflict(incident, responder):
    first = postmortem_start(incident=incident, user=responder)

    with pytest.raises(StateConflict) as refused:
        postmortem_start(incident=incident, user=responder)

    assert refused.value.message == "This incident already has a postmortem."
    assert refused.value.reasons == [
        f"Postmortem #{first.pk} is this incident's postmortem; open it instead."
    ]
    assert Postmortem.objects.count() == 1


@pytest.mark.django_db
def test_start_refuses_a_replaced_template_version(incident, responder):
    old = PostmortemTemplate.objects.get(slug="sre-classic")
    PostmortemTemplate.objects.filter(pk=old.pk).update(is_current=False)
    old.refresh_from_db()

    with pytest.raises(InvalidInput) as refused:
        postmortem_start(incident=incident, user=responder, template=old)

    assert refused.value.field == "template"
    assert Postmortem.objects.count() == 0


@pytest.mark.django_db
def test_outsider_cannot_start_a_restricted_incidents_postmortem(outsider, payments_team):
    hidden = restricted_incident(team=payments_team)

    with pytest.raises(NotAllowed) as refused:
        postmortem_start(incident=hidden, user=outsider)

    assert refused.value.message == "You do not have access to this incident."
    assert Postmortem.objects.count() == 0


# --- save sections ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_save_records_a_revision_renders_html_and_clears_the_draft(postmortem, responder):
    postmortem_autosave(
        postmortem=postmortem, user=responder, sections={"summary": "half"}, based_on_version=1
    )

    saved = postmortem_save_sections(
        postmortem=postmortem,
        user=responder,
        sections={"summary": "Checkout **503**."},
        expected_version=1,
        change_note="First pass",
    )

    assert saved.version == 2
    assert saved.sections == {"summary": "Checkout **503**."}
    assert saved.sections_html == {"summary": "<p>Checkout <strong>503</strong>.</p>"}
    revision = saved.revisions.get(number=2)
    assert (revision.editor, revision.change_note, revision.sections) == (
        responder,
        "First pass",
        {"summary": "Checkout **503**."},
    )
    assert not PostmortemDraft.objects.exists()


@pytest.mark.django_db
def test_hostile_markdown_is_stored_as_written_and_rendered_sanitized(postmortem, responder):
    hostile = (
        "<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3)) "
        '<a href="https://example.com" onclick="steal()">ok</a>'
    )

    saved = postmortem_save_sections(
        postmortem=postmortem, user=responder, sections={"impact": hostile}, expected_version=1
    )

    assert saved.sections["impact"] == hostile
    html = saved.sections_html["impact"]
    for needle in ("<script", "onerror", "javascript:", "onclick", "alert(1)"):
        assert needle not in html
    assert 'href="https://example.com"' in html


@pytest.mark.django_db
def test_save_merges_with_a_concurrent_save_of_another_section(postmortem, responder, reviewer):
    postmortem_save_sections(
        postmortem=postmortem,
        user=reviewer,
        sections={"impact": "2,300 checkouts"},
        expected_version=1,
    )

    merged = postmortem_save_sections(
        postmortem=postmortem,
        user=responder,
        sections={"summary": "503s", "impact": ""},
        expected_version=1,
    )

    assert merged.version == 3
    assert merged.sections == {"summary": "503s", "impact": "2,300 checkouts"}


@pytest.mark.django_db
def test_save_of_a_section_someone_changed_since_is_stale(postmortem, responder, reviewer):
    postmortem_save_sections(
        postmortem=postmortem, user=reviewer, sections={"summary": "Theirs"}, expected_version=1
    )
    before = state_of(postmortem)

    with pytest.raises(StaleVersion) as refused:
        postmortem_save_sections(
            postmortem=postmortem,
            user=responder,
            sections={"summary": "Mine"},
            expected_version=1,
        )

    assert refused.value.message == (
        "Someone else changed “Summary” after your version 1; review their text and apply "
        "your changes again."
    )
    assert refused.value.current.sections["summary"] == "Theirs"
    assert state_of(postmortem) == before


@pytest.mark.django_db
def test_save_refuses_unknown_and_oversized_sections(postmortem, responder):
    before = state_of(postmortem)

    with pytest.raises(InvalidInput) as unknown:
        postmortem_save_sections(
            postmortem=postmortem, user=responder, sections={"blame": "x"}, expected_version=1
        )
    with pytest.raises(InvalidInput) as oversized:
        postmortem_save_sections(
            postmortem=postmortem,
            user=responder,
            sections={"summary": "x" * 100_001},
            expected_version=1,
        )

    assert unknown.value.field == "sections"
    assert unknown.value.message == (
        "Unknown section: blame. This template's sections are " + ", ".join(BLAMELESS_KEYS) + "."
    )
    assert (oversized.value.field, oversized.value.message) == (
        "summary",
        "The section “Summary” is 100,001 characters long; at most 100,000 fit.",
    )
    assert state_of(postmortem) == before


@pytest.mark.django_db
def test_saving_an_approved_postmortem_sends_it_back_to_review(postmortem, responder, vera):
    postmortem = approved(postmortem, responder, vera)
    assert postmortem.state == "approved"

    edited = postmortem_save_sections(
        postmortem=postmortem,
        user=responder,
        sections={"lucky": "Low traffic."},
        expected_version=postmortem.version,
    )

    assert (edited.state, edited.approved_at) == ("in_review", None)
    assert postmortem_publish_blockers(postmortem=edited, acknowledge_warnings=True) == [
        "It has 0 of the 1 approvals it needs."
    ]


@pytest.mark.django_db
def test_saving_a_published_postmortem_keeps_it_published_with_history(postmortem, responder, vera):
    published = postmortem_publish(postmortem=approved(postmortem, responder, vera), user=responder)

    edited = postmortem_save_sections(
        postmortem=published,
        user=responder,
        sections={"lucky": "Low traffic."},
        expected_version=published.version,
    )

    assert edited.state == "published"
    assert edited.sections["lucky"] == "Low traffic."
    assert list(edited.revisions.values_list("number", flat=True)) == [edited.version, 2, 1]


@pytest.mark.django_db
def test_autosave_keeps_one_draft_per_person(postmortem, responder):
    postmortem_autosave(
        postmortem=postmortem, user=responder, sections={"summary": "a"}, based_on_version=1
    )
    draft = postmortem_autosave(
        postmortem=postmortem, user=responder, sections={"summary": "ab"}, based_on_version=1
    )

    assert PostmortemDraft.objects.get() == draft
    assert draft.sections == {"summary": "ab"}


@pytest.mark.django_db
def test_autosave_refuses_an_unknown_version(postmortem, responder):
    with pytest.raises(InvalidInput) as refused:
        postmortem_autosave(
            postmortem=postmortem, user=responder, sections={"summary": "a"}, based_on_version=7
        )

    assert refused.value.field == "based_on_version"
    assert not PostmortemDraft.objects.exists()


# --- review ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_submit_moves_to_review_and_takes_spawned_drafts_along(postmortem, responder):
    finding = finding_add(
        postmortem=postmortem,
        user=responder,
        text="Readiness probe checked the wrong port",
        kind="root_cause",
        spawn_article=True,
    )
    assert finding.article.state == ArticleState.DRAFT

    submitted = postmortem_submit(postmortem=postmortem, user=responder, expected_version=1)

    finding.article.refresh_from_db()
    assert (submitted.state, submitted.version) == ("in_review", 2)
    assert submitted.submitted_at is not None
    assert finding.article.state == ArticleState.IN_REVIEW


@pytest.mark.django_db
def test_submit_twice_is_a_conflict(postmortem, responder):
    postmortem_submit(postmortem=postmortem, user=responder)
    before = state_of(postmortem)

    with pytest.raises(StateConflict) as refused:
        postmortem_submit(postmortem=postmortem, user=responder)

    assert refused.value.reasons == [
        "Only a postmortem that is draft or changes requested can be submitted for review; "
        "this one is in review."
    ]
    assert state_of(postmortem) == before


@pytest.mark.django_db
def test_an_author_cannot_approve(postmortem, responder, reviewer):
    postmortem_submit(postmortem=postmortem, user=responder)
    before = state_of(postmortem)

    with pytest.raises(NotAllowed) as refused:
        postmortem_approve(postmortem=postmortem, user=reviewer)

    assert refused.value.message == (
        "You are one of this postmortem's authors; a reviewer who did not write it must approve it."
    )
    assert state_of(postmortem) == before


@pytest.mark.django_db
def test_approving_your_own_postmortem_as_admin_commander_is_refused(postmortem, admin_user):
    Postmortem.objects.filter(pk=postmortem.pk).update(state="in_review")
    postmortem.incident.commander = admin_user
    postmortem.incident.save(update_fields=["commander"])
    postmortem.refresh_from_db()
    before = state_of(postmortem)

    with pytest.raises(NotAllowed):
        postmortem_approve(postmortem=postmortem, user=admin_user)

    assert state_of(postmortem) == before


@pytest.mark.django_db
def test_a_responder_cannot_approve(postmortem, responder, outsider):
    postmortem_submit(postmortem=postmortem, user=responder)

    with pytest.raises(NotAllowed) as refused:
        postmortem_approve(postmortem=postmortem, user=outsider)

    assert refused.value.message == "Only reviewers can approve it."


@pytest.mark.django_db
def test_approval_counts_distinct_reviewers(postmortem, responder, vera, settings):
    settings.POSTMORTEM_REQUIRED_APPROVALS = 2
    other = UserFactory(username="otto", roles=["reviewer"])
    postmortem_submit(postmortem=postmortem, user=responder)

    once = postmortem_approve(postmortem=postmortem, user=vera, comment="Clear.")
    with pytest.raises(StateConflict) as twice:
        postmortem_approve(postmortem=postmortem, user=vera)
    both = postmortem_approve(postmortem=postmortem, user=other)

    assert once.state == "in_review"
    assert twice.value.message == "You already approved this version."
    assert both.state == "approved"
    assert both.approved_at is not None
    assert Review.objects.filter(decision="approved").count() == 2


@pytest.mark.django_db
def test_request_changes_needs_a_comment_and_notifies_the_author(postmortem, responder, vera):
    postmortem_submit(postmortem=postmortem, user=responder)
    before = state_of(postmortem)
    with pytest.raises(InvalidInput) as refused:
        postmortem_request_changes(postmortem=postmortem, user=vera, comment="  ")
    assert (refused.value.field, refused.value.message) == ("comment", "Say what to change.")
    assert state_of(postmortem) == before

    changed = postmortem_request_changes(
        postmortem=postmortem, user=vera, comment="Quantify the impact."
    )

    assert changed.state == "changes_requested"
    review = Review.objects.get()
    assert (review.decision, review.comment, review.postmortem_version) == (
        "changes_requested",
        "Quantify the impact.",
        2,
    )
    notice = Notification.objects.get(user=responder)
    assert notice.text.endswith(": Quantify the impact.")
    assert notice.url == postmortem.get_absolute_url()


# --- publish ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_publish_of_an_incomplete_postmortem_lists_every_reason(postmortem, responder):
    FindingFactory(postmortem=postmortem, text="Probe checked the wrong port")
    postmortem_save_sections(
        postmortem=postmortem,
        user=responder,
        sections={"summary": "Bob should have checked the probe. Careless.", "impact": "Some"},
        expected_version=1,
    )
    before = state_of(postmortem)

    with pytest.raises(StateConflict) as refused:
        postmortem_publish(postmortem=postmortem, user=responder)

    assert refused.value.message == "This postmortem cannot be published yet."
    assert refused.value.reasons == [
        "It is a draft: submit it for review first.",
        "The required section “Root causes and contributing factors” is empty.",
        "The required section “Lessons learned” is empty.",
        "Finding 1 (“Probe checked the wrong port”) has no knowledge outcome: link an "
        "article, spawn one, or say why there is nothing to capture.",
        "2 blameless-language warnings in “Summary”: reword, or acknowledge the warnings to "
        "publish.",
    ]
    assert state_of(postmortem) == before


@pytest.mark.django_db
def test_publish_needs_warnings_acknowledged(postmortem, responder, vera):
    postmortem = approved(
        postmortem, responder, vera, sections=complete_sections(lessons="The engineer forgot.")
    )
    with pytest.raises(StateConflict) as refused:
        postmortem_publish(postmortem=postmortem, user=responder)
    assert refused.value.reasons == [
        "1 blameless-language warning in “Lessons learned”: reword, or acknowledge the warnings "
        "to publish."
    ]

    published = postmortem_publish(postmortem=postmortem, user=responder, acknowledge_warnings=True)

    assert published.state == "published"


@pytest.mark.django_db(transaction=True)
def test_publish_publishes_spawned_articles_and_emits(postmortem, responder, vera):
    seen = []

    def handler(**payload):
        seen.append(payload)

    subscribe("postmortem.published", handler)
    try:
        finding = finding_add(
            postmortem=postmortem,
            user=responder,
            text="Gate rollouts on readiness",
            kind="process_gap",
            spawn_article=True,
        )
        published = postmortem_publish(
            postmortem=approved(postmortem, responder, vera), user=responder
        )
    finally:
        unsubscribe("postmortem.published", handler)

    finding.article.refresh_from_db()
    assert published.state == "published"
    assert published.published_at is not None
    assert finding.article.state == ArticleState.PUBLISHED
    # The responder may not publish articles: the approving reviewer's approval is the review.
    assert finding.article.events.filter(kind="published").get().actor == vera
    assert seen == [{"postmortem_id": published.pk, "incident_id": published.incident_id}]


@pytest.mark.django_db
def test_publish_of_a_restricted_incident_leaves_spawned_articles_in_review(
    responder, vera, payments_team
):
    postmortem = PostmortemFactory(
        incident=restricted_incident(team=payments_team, responders=[vera]), created_by=responder
    )
    Postmortem.objects.filter(pk=postmortem.pk).update()
    finding = finding_add(
        postmortem=postmortem,
        user=responder,
        text="Card data in logs",
        kind="root_cause",
        spawn_article=True,
    )
    reviewer = UserFactory(username="rhea", roles=["reviewer"], teams=[])
    # rhea may not see the restricted incident: name her on it to review.
    postmortem.incident.responders.add(reviewer)
    saved = postmortem_save_sections(
        postmortem=postmortem, user=responder, sections=complete_sections(), expected_version=1
    )
    submitted = postmortem_submit(postmortem=saved, user=responder)
    with pytest.raises(NotAllowed):  # named on it, so an author
        postmortem_approve(postmortem=submitted, user=reviewer)
    postmortem.incident.responders.remove(reviewer)
    admin = UserFactory(username="adele", roles=["admin"])
    approved_pm = postmortem_approve(postmortem=submitted, user=admin)

    published = postmortem_publish(postmortem=approved_pm, user=responder)

    finding.article.refresh_from_db()
    assert published.state == "published"
    assert finding.article.state == ArticleState.IN_REVIEW


@pytest.mark.django_db
def test_publish_with_a_stale_version_changes_nothing(postmortem, responder, vera):
    postmortem = approved(postmortem, responder, vera)
    before = state_of(postmortem)

    with pytest.raises(StaleVersion):
        postmortem_publish(postmortem=postmortem, user=responder, expected_version=1)

    assert state_of(postmortem) == before
    assert len(mail.outbox) == 0


# --- comments --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_section_comment_by_a_reviewer(postmortem, vera):
    comment = section_comment_add(
        postmortem=postmortem, user=vera, section_key="impact", text="How many users?"
    )

    assert (comment.section_key, comment.author, comment.text) == (
        "impact",
        vera,
        "How many users?",
    )


@pytest.mark.django_db
def test_section_comment_refuses_unknown_sections_and_empty_text(postmortem, vera):
    with pytest.raises(InvalidInput) as unknown:
        section_comment_add(postmortem=postmortem, user=vera, section_key="nope", text="x")
    with pytest.raises(InvalidInput) as empty:
        section_comment_add(postmortem=postmortem, user=vera, section_key="impact", text=" ")

    assert (unknown.value.field, unknown.value.message) == (
        "section_key",
        "Choose a section of this postmortem.",
    )
    assert (empty.value.field, empty.value.message) == ("text", "Add a comment.")
    assert not SectionComment.objects.exists()


@pytest.mark.django_db
def test_revisions_are_numbered_by_version(postmortem, responder):
    for number, text in enumerate(["a", "b", "c"], start=1):
        postmortem_save_sections(
            postmortem=postmortem,
            user=responder,
            sections={"summary": text},
            expected_version=number,
        )

    assert list(
        PostmortemRevision.objects.filter(postmortem=postmortem).values_list("number", flat=True)
    ) == [4, 3, 2, 1]


@pytest.mark.django_db
def test_a_section_that_starts_with_an_indented_code_block_keeps_it(responder):
    from postmortems.services import postmortem_save_sections
    from tests.postmortems.factories import IncidentFactory, PostmortemFactory

    incident = IncidentFactory(team=responder.teams.first())
    postmortem = PostmortemFactory(incident=incident)
    saved = postmortem_save_sections(
        postmortem=postmortem,
        user=responder,
        sections={"timeline": "\n    10:02 deploy starts\n    10:06 alert fires\n\n"},
        expected_version=postmortem.version,
    )
    assert saved.sections["timeline"] == "    10:02 deploy starts\n    10:06 alert fires"
    assert saved.sections_html["timeline"].startswith("<pre><code>10:02 deploy starts")
