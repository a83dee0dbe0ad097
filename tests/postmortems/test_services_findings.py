"""Findings, timeline, action items and article uses: rules, refusals, nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kbsite.errors import InvalidInput, NotAllowed, StaleVersion, StateConflict
from knowledge.models import Article, ArticleState
from postmortems.models import ActionItem, ArticleUse, Finding, TimelineEntry
from postmortems.services import (
    action_item_add,
    action_item_update,
    article_use_record,
    finding_add,
    finding_delete,
    finding_update,
    findings_reorder,
    timeline_add,
    timeline_reorder,
    timeline_update,
)
from tests.knowledge.factories import draft_article, published_article
from tests.postmortems.factories import (
    ActionItemFactory,
    FindingFactory,
    IncidentFactory,
    PostmortemFactory,
    ServiceFactory,
    TimelineEntryFactory,
    restricted_incident,
)


@pytest.fixture
def incident(payments_team):
    checkout = ServiceFactory(name="checkout", team=payments_team)
    return IncidentFactory(team=payments_team, services=[checkout], tags=["deploy"])


@pytest.fixture
def postmortem(incident, responder):
    return PostmortemFactory(
        incident=incident,
        created_by=responder,
        sections={
            "impact": "2,300 checkouts failed.",
            "detection": "Error-rate alert after 4 minutes.",
            "root_causes": "Readiness probe checked the wrong port.",
            "response": "Rolled back the deploy.",
        },
    )


def rows(model) -> list:
    return list(model.objects.order_by("pk").values())


# --- findings --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_finding_linked_to_a_visible_article(postmortem, responder):
    article = published_article()

    finding = finding_add(
        postmortem=postmortem,
        user=responder,
        text="Probe checked the wrong port",
        kind="root_cause",
        article=article,
    )

    assert (finding.outcome, finding.article, finding.position) == ("linked", article, 1)


@pytest.mark.django_db
def test_finding_cannot_link_an_article_the_user_cannot_see(postmortem, responder):
    hidden = draft_article()  # someone else's draft, no team

    with pytest.raises(InvalidInput) as refused:
        finding_add(
            postmortem=postmortem, user=responder, text="x", kind="root_cause", article=hidden
        )

    assert (refused.value.field, refused.value.message) == (
        "article",
        "That article was not found.",
    )
    assert not Finding.objects.exists()


@pytest.mark.django_db
def test_spawned_article_is_prefilled_from_the_postmortem(postmortem, responder):
    finding = finding_add(
        postmortem=postmortem,
        user=responder,
        text="Gate rollouts on the readiness probe\nMore detail below.",
        kind="process_gap",
        spawn_article=True,
    )

    article = finding.article
    assert finding.outcome == "spawned"
    assert (article.title, article.knowledge_type, article.state, article.author) == (
        "Gate rollouts on the readiness probe",
        "process",
        ArticleState.DRAFT,
        responder,
    )
    assert article.symptoms == "2,300 checkouts failed.\n\nError-rate alert after 4 minutes."
    assert article.cause == (
        "Readiness probe checked the wrong port.\n\nGate rollouts on the readiness probe\n"
        "More detail below."
    )
    assert article.resolution == "Rolled back the deploy."
    assert article.team == postmortem.incident.team
    assert [s.slug for s in article.services.all()] == ["checkout"]
    assert [t.name for t in article.tags.all()] == ["deploy"]


@pytest.mark.django_db
def test_finding_with_two_outcomes_is_refused(postmortem, responder):
    with pytest.raises(InvalidInput) as refused:
        finding_add(
            postmortem=postmortem,
            user=responder,
            text="x",
            kind="root_cause",
            article=published_article(),
            no_article_reason="nothing",
        )

    assert refused.value.field == "no_article_reason"
    assert refused.value.message == (
        "Choose one outcome: link an article, spawn a new one, or say why there is nothing to "
        "capture."
    )
    assert not Finding.objects.exists()
    assert Article.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"text": " "}, "text", "Describe the finding."),
        (
            {"text": "x" * 10_001},
            "text",
            "The finding is 10,001 characters long; at most 10,000 fit.",
        ),
        (
            {"kind": "blame"},
            "kind",
            "Choose a kind of finding: one of root_cause, contributing_factor, detection_gap, "
            "process_gap, what_worked.",
        ),
        (
            {"no_article_reason": "r" * 2001},
            "no_article_reason",
            "The reason there is nothing to capture is 2,001 characters long; at most 2,000 fit.",
        ),
    ],
)
@pytest.mark.django_db
def test_finding_bad_input_is_refused(postmortem, responder, changes, field, message):
    arguments = {"text": "Probe", "kind": "root_cause", **changes}

    with pytest.raises(InvalidInput) as refused:
        finding_add(postmortem=postmortem, user=responder, **arguments)

    assert (refused.value.field, refused.value.message) == (field, message)
    assert not Finding.objects.exists()


@pytest.mark.django_db
def test_finding_update_resolves_with_a_reason(postmortem, responder):
    finding = FindingFactory(postmortem=postmortem)

    updated = finding_update(
        finding=finding, user=responder, no_article_reason="A one-off hardware fault."
    )

    assert (updated.outcome, updated.article, updated.no_article_reason) == (
        "nothing_to_capture",
        None,
        "A one-off hardware fault.",
    )


@pytest.mark.django_db
def test_unresolved_finding_on_a_published_postmortem_is_refused(incident, responder):
    postmortem = PostmortemFactory(incident=incident, state="published")

    with pytest.raises(StateConflict) as refused:
        finding_add(postmortem=postmortem, user=responder, text="Late lesson", kind="root_cause")

    assert refused.value.reasons == [
        "A finding added to a published postmortem needs its outcome: link an article, spawn "
        "one, or say why there is nothing to capture."
    ]
    assert not Finding.objects.exists()


@pytest.mark.django_db
def test_findings_reorder_and_delete(postmortem, responder):
    first, second = FindingFactory(postmortem=postmortem), FindingFactory(postmortem=postmortem)

    findings_reorder(postmortem=postmortem, user=responder, finding_ids=[second.pk, first.pk])
    with pytest.raises(InvalidInput) as refused:
        findings_reorder(postmortem=postmortem, user=responder, finding_ids=[first.pk])
    finding_delete(finding=first, user=responder)

    assert refused.value.message == "List every finding of this postmortem exactly once."
    assert list(Finding.objects.values_list("pk", "position")) == [(second.pk, 1)]


@pytest.mark.django_db
def test_outsider_cannot_add_findings_to_a_restricted_postmortem(outsider, payments_team):
    postmortem = PostmortemFactory(incident=restricted_incident(team=payments_team))

    with pytest.raises(NotAllowed) as refused:
        finding_add(postmortem=postmortem, user=outsider, text="x", kind="root_cause")

    assert refused.value.message == "You do not have access to this incident."
    assert not Finding.objects.exists()


# --- timeline --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_timeline_add_update_and_reorder(incident, responder):
    at = incident.started_at + timedelta(minutes=4)
    first = timeline_add(
        incident=incident, user=responder, occurred_at=at, kind="detection", text="Alert fired"
    )
    second = timeline_add(
        incident=incident, user=responder, occurred_at=at, kind="action", text="Rolled back"
    )

    timeline_reorder(incident=incident, user=responder, entry_ids=[second.pk, first.pk])
    updated = timeline_update(entry=first, user=responder, text="Checkout alert fired")

    assert updated.text == "Checkout alert fired"
    assert list(TimelineEntry.objects.values_list("pk", flat=True)) == [second.pk, first.pk]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"occurred_at": "10:05"}, "occurred_at", "Give occurred at as a date and time."),
        ({"occurred_at": "future"}, "occurred_at", "The entry's time is in the future."),
        (
            {"kind": "blame"},
            "kind",
            "Choose a kind: one of detection, escalation, action, communication, resolution.",
        ),
        ({"text": ""}, "text", "Say what happened."),
        ({"text": "t" * 5001}, "text", "The entry is 5,001 characters long; at most 5,000 fit."),
    ],
)
@pytest.mark.django_db
def test_timeline_bad_input_is_refused(incident, responder, changes, field, message):
    if changes.get("occurred_at") == "future":
        changes["occurred_at"] = timezone.now() + timedelta(hours=1)
    arguments = {
        "occurred_at": incident.started_at,
        "kind": "action",
        "text": "Rolled back",
        **changes,
    }

    with pytest.raises(InvalidInput) as refused:
        timeline_add(incident=incident, user=responder, **arguments)

    assert (refused.value.field, refused.value.message) == (field, message)
    assert not TimelineEntry.objects.exists()


@pytest.mark.django_db
def test_timeline_update_of_a_restricted_incident_by_outsider(outsider, payments_team):
    entry = TimelineEntryFactory(incident=restricted_incident(team=payments_team))
    before = rows(TimelineEntry)

    with pytest.raises(NotAllowed):
        timeline_update(entry=entry, user=outsider, text="Mine")

    assert rows(TimelineEntry) == before


# --- action items ----------------------------------------------------------------------------


@pytest.mark.parametrize(("priority", "days"), [("p1", 7), ("P2", 30), ("p3", 90)])
@pytest.mark.django_db
def test_action_item_due_date_defaults_by_priority(postmortem, responder, priority, days):
    item = action_item_add(postmortem=postmortem, user=responder, title="Gate", priority=priority)

    assert item.due_date == timezone.localdate() + timedelta(days=days)
    assert (item.team, item.priority, item.status) == (
        postmortem.incident.team,
        priority.lower(),
        "open",
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": ""}, "title", "Add a title."),
        ({"title": "t" * 301}, "title", "The title is 301 characters long; at most 300 fit."),
        ({"priority": "p0"}, "priority", "Choose a priority: one of p1, p2, p3."),
        (
            {"tracker_url": "ftp://x"},
            "tracker_url",
            "Give the tracker link as an http or https address.",
        ),
    ],
)
@pytest.mark.django_db
def test_action_item_bad_input_is_refused(postmortem, responder, changes, field, message):
    with pytest.raises(InvalidInput) as refused:
        action_item_add(postmortem=postmortem, user=responder, **{"title": "Gate", **changes})

    assert (refused.value.field, refused.value.message) == (field, message)
    assert not ActionItem.objects.exists()


@pytest.mark.django_db
def test_wont_do_needs_a_reason_and_done_records_when(postmortem, responder):
    item = ActionItemFactory(postmortem=postmortem, owner=responder)
    before = rows(ActionItem)

    with pytest.raises(InvalidInput) as refused:
        action_item_update(item=item, user=responder, status="wont_do")
    assert (refused.value.field, refused.value.message) == (
        "status_reason",
        "Say why this will not be done, so that the decision can be reviewed.",
    )
    assert rows(ActionItem) == before

    done = action_item_update(item=item, user=responder, expected_version=1, status="done")
    assert (done.status, done.version) == ("done", 2)
    assert done.completed_at is not None

    with pytest.raises(StaleVersion):
        action_item_update(item=item, user=responder, expected_version=1, status="open")
    wont = action_item_update(
        item=item, user=responder, status="wont_do", status_reason="Replaced by the canary."
    )
    assert (wont.status, wont.completed_at) == ("wont_do", None)


@pytest.mark.django_db
def test_action_item_owner_outside_the_team_may_update_it(postmortem, outsider):
    item = ActionItemFactory(postmortem=postmortem, owner=outsider)

    updated = action_item_update(item=item, user=outsider, status="in_progress")

    assert updated.status == "in_progress"


# --- article uses ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_article_use_is_upserted_per_incident_and_article(incident, responder):
    article = published_article()

    article_use_record(incident=incident, user=responder, article=article)
    use = article_use_record(
        incident=incident, user=responder, article=article, helped=True, minutes_saved=30
    )

    assert ArticleUse.objects.get() == use
    assert (use.helped, use.minutes_saved) == (True, 30)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"minutes_saved": -1},
            "minutes_saved",
            "Give the minutes saved as a whole number from 0 to 10,000.",
        ),
        (
            {"minutes_saved": 10_001},
            "minutes_saved",
            "Give the minutes saved as a whole number from 0 to 10,000.",
        ),
        ({"helped": "yes"}, "helped", "Say whether it helped: yes, no, or leave it open."),
        ({"note": "n" * 2001}, "note", "The note is 2,001 characters long; at most 2,000 fit."),
    ],
)
@pytest.mark.django_db
def test_article_use_bad_input_is_refused(incident, responder, changes, field, message):
    with pytest.raises(InvalidInput) as refused:
        article_use_record(
            incident=incident, user=responder, article=published_article(), **changes
        )

    assert (refused.value.field, refused.value.message) == (field, message)
    assert not ArticleUse.objects.exists()


@pytest.mark.django_db
def test_article_use_of_an_invisible_article_is_refused(incident, responder):
    with pytest.raises(InvalidInput) as refused:
        article_use_record(incident=incident, user=responder, article=draft_article())

    assert (refused.value.field, refused.value.message) == (
        "article",
        "That article was not found.",
    )
    assert not ArticleUse.objects.exists()


@pytest.mark.django_db
def test_article_use_on_a_restricted_incident_by_outsider(outsider, payments_team):
    with pytest.raises(NotAllowed):
        article_use_record(
            incident=restricted_incident(team=payments_team),
            user=outsider,
            article=published_article(),
        )

    assert not ArticleUse.objects.exists()


def test_every_change_of_findings_is_announced_once_committed(
    postmortem, responder, django_capture_on_commit_callbacks
):
    from kbsite import events

    seen: list[dict] = []

    def handler(**payload) -> None:
        seen.append(payload)

    events.subscribe("postmortem.findings_changed", handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            finding = finding_add(
                postmortem=postmortem,
                user=responder,
                text="Probe checked the wrong port",
                kind="root_cause",
                article=published_article(),
            )
            finding_update(finding=finding, user=responder, text="Probe checked port 8080")
            finding_update(finding=finding, user=responder)  # nothing to change: no event
            finding_delete(finding=finding, user=responder)
    finally:
        events.unsubscribe("postmortem.findings_changed", handler)
    expected = {"postmortem_id": postmortem.pk, "incident_id": postmortem.incident_id}
    assert seen == [expected, expected, expected]
