"""Knowledge services: each change's exact outcome, and on every refused path, nothing changed."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import timezone

from kbsite import events
from kbsite.models import Notification, Tag
from kbsite.services import notification_send
from knowledge import search
from knowledge.models import (
    MAX_FIELD_LENGTH,
    Article,
    ArticleEvent,
    ArticleFeedback,
    ArticleRevision,
    ArticleState,
    KnowledgeType,
)
from knowledge.services import (
    KNOWLEDGE_ATTACHMENT_MAX_BYTES,
    ArticleContent,
    ArticleError,
    ArticlePermissionError,
    ArticleStaleVersion,
    ArticleStateError,
    article_archive,
    article_content_of,
    article_create,
    article_mark_reviewed,
    article_publish,
    article_request_changes,
    article_restore,
    article_revert,
    article_submit,
    article_update,
    attachment_add,
    attachment_is_inline,
    feedback_give,
    flags_resolve,
    video_link_add,
)
from tests.kbsite.factories import ServiceFactory
from tests.knowledge.factories import (
    PNG_BYTES,
    ArticleFactory,
    in_review_article,
    overdue_article,
    published_article,
)


def world(article: Article) -> dict[str, Any]:
    """Everything a refused call must leave as it was."""
    return {
        "row": Article.objects.filter(pk=article.pk).values().get(),
        "services": sorted(article.services.values_list("slug", flat=True)),
        "tags": sorted(article.tags.values_list("name", flat=True)),
        "revisions": list(
            ArticleRevision.objects.filter(article=article).values_list("number", flat=True)
        ),
        "events": ArticleEvent.objects.count(),
        "feedback": ArticleFeedback.objects.count(),
        "notifications": Notification.objects.count(),
        "tag_count": Tag.objects.count(),
        "mail": len(mail.outbox),
    }


@pytest.fixture
def checkout(payments_team):
    return ServiceFactory(name="checkout", team=payments_team)


@pytest.fixture
def gateway(payments_team):
    return ServiceFactory(name="api-gateway", team=payments_team)


@pytest.fixture
def indexed(monkeypatch):
    """The ids handed to the search index, while the real indexing still runs."""
    calls: list[list[int]] = []
    real = search.index_articles

    def spy(*, article_ids, **kwargs):
        calls.append(list(article_ids))
        return real(article_ids=article_ids, **kwargs)

    monkeypatch.setattr(search, "index_articles", spy)
    return calls


def content(**overrides: Any) -> ArticleContent:
    values: dict[str, Any] = {
        "title": "Checkout returns 503 after deploy",
        "knowledge_type": KnowledgeType.TECHNICAL,
        "symptoms": "Checkout answers **503**.",
        "resolution": "Roll back.",
    }
    values.update(overrides)
    return ArticleContent(**values)


# --- article_create ---------------------------------------------------------------------------


def test_create_makes_a_draft_with_revision_one_and_a_created_event(
    responder, payments_team, checkout, indexed
):
    article = article_create(
        author=responder,
        content=content(team=payments_team, services=[checkout], tag_names=["deploy", " TLS "]),
        change_note="First draft",
    )

    assert (article.state, article.version, article.slug) == (
        ArticleState.DRAFT,
        1,
        "checkout-returns-503-after-deploy",
    )
    assert article.rendered == {
        "symptoms": "<p>Checkout answers <strong>503</strong>.</p>",
        "environment": "",
        "cause": "",
        "resolution": "<p>Roll back.</p>",
        "prevention": "",
        "body": "",
    }
    assert article.tags_text == "deploy TLS"
    assert (article.author, article.owner, article.team) == (responder, None, payments_team)
    revision = ArticleRevision.objects.get(article=article)
    assert (revision.number, revision.editor, revision.change_note) == (1, responder, "First draft")
    assert revision.snapshot == {
        "title": "Checkout returns 503 after deploy",
        "knowledge_type": "technical",
        "symptoms": "Checkout answers **503**.",
        "environment": "",
        "cause": "",
        "resolution": "Roll back.",
        "prevention": "",
        "body": "",
        "team": "payments",
        "services": ["checkout"],
        "tags": ["TLS", "deploy"],
    }
    assert list(article.events.values_list("kind", "actor__username")) == [("created", "rita")]
    assert indexed == [[article.pk]]


def test_create_gives_a_repeated_title_its_own_slug(responder):
    first = article_create(author=responder, content=content())
    second = article_create(author=responder, content=content())
    assert first.slug == "checkout-returns-503-after-deploy"
    assert second.slug.startswith("checkout-returns-503-after-deploy-")
    assert len(second.slug) == len(first.slug) + 7


def test_create_reuses_an_existing_tag_whatever_its_case(responder):
    Tag.objects.create(name="tls", slug="tls")
    article = article_create(author=responder, content=content(tag_names=["TLS", "tls"]))
    assert list(article.tags.values_list("name", flat=True)) == ["tls"]
    assert Tag.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"knowledge_type": "gossip"}, "knowledge_type"),
        ({"cause": "x" * (MAX_FIELD_LENGTH + 1)}, "cause"),
        ({"tag_names": [f"tag{n}" for n in range(21)]}, "tags"),
        ({"tag_names": ["x" * 51]}, "tags"),
        ({"tag_names": ["!!!"]}, "tags"),
    ],
)
def test_create_refuses_bad_input_and_saves_nothing(responder, overrides, field):
    with pytest.raises(ArticleError) as refused:
        article_create(author=responder, content=content(**overrides))
    assert refused.value.field == field
    assert (Article.objects.count(), Tag.objects.count(), ArticleEvent.objects.count()) == (0, 0, 0)


def test_create_accepts_a_title_of_exactly_200_characters(responder):
    assert len(article_create(author=responder, content=content(title="x" * 200)).title) == 200


def test_create_refuses_a_deactivated_account(responder):
    responder.is_active = False
    with pytest.raises(ArticlePermissionError):
        article_create(author=responder, content=content())
    assert Article.objects.count() == 0


# --- article_update ---------------------------------------------------------------------------


def test_update_saves_a_new_revision_and_bumps_the_version(
    responder, payments_team, checkout, gateway, indexed
):
    article = ArticleFactory(author=responder, team=payments_team, tags=["deploy"])
    article.services.set([checkout])

    updated = article_update(
        article=article,
        editor=responder,
        content=content(
            title="Checkout 503 after a deploy",
            cause="Readiness probe <script>x</script> too lax.",
            team=None,
            services=[gateway],
            tag_names=["rollback", "config"],
        ),
        expected_version=1,
        change_note="Named the cause",
    )

    assert (updated.version, updated.title, updated.slug) == (
        2,
        "Checkout 503 after a deploy",
        article.slug,
    )
    assert updated.rendered["cause"] == "<p>Readiness probe  too lax.</p>"
    assert updated.tags_text == "rollback config"
    assert updated.team is None
    assert list(updated.services.values_list("slug", flat=True)) == ["api-gateway"]
    assert sorted(updated.tags.values_list("name", flat=True)) == ["config", "rollback"]
    revision = ArticleRevision.objects.get(article=article, number=2)
    assert (revision.editor, revision.change_note) == (responder, "Named the cause")
    assert revision.snapshot["services"] == ["api-gateway"]
    assert revision.snapshot["tags"] == ["config", "rollback"]
    assert revision.snapshot["team"] is None
    assert indexed == [[article.pk]]


def test_update_with_a_stale_version_changes_nothing(responder):
    article = ArticleFactory(author=responder)
    article_update(article=article, editor=responder, content=content(), expected_version=1)
    before = world(article)

    with pytest.raises(ArticleStaleVersion) as refused:
        article_update(
            article=article,
            editor=responder,
            content=content(title="Lost edit"),
            expected_version=1,
        )

    assert refused.value.current.version == 2
    assert refused.value.current.title == "Checkout returns 503 after deploy"
    assert world(article) == before


def test_update_from_an_old_copy_is_refused_by_the_conditional_update(responder):
    article = ArticleFactory(author=responder)
    old_copy = Article.objects.get(pk=article.pk)
    article_update(article=article, editor=responder, content=content(), expected_version=1)
    before = world(article)

    with pytest.raises(ArticleStaleVersion):
        article_update(
            article=old_copy, editor=responder, content=content(title="Late"), expected_version=1
        )
    assert world(article) == before


def test_update_refuses_someone_who_cannot_edit(responder, outsider):
    article = ArticleFactory(author=responder)
    before = world(article)
    with pytest.raises(ArticlePermissionError):
        article_update(article=article, editor=outsider, content=content(), expected_version=1)
    assert world(article) == before


def test_only_editors_change_a_published_article(responder, editor):
    article = published_article(author=responder)
    before = world(article)
    with pytest.raises(ArticlePermissionError):
        article_update(article=article, editor=responder, content=content(), expected_version=1)
    assert world(article) == before

    updated = article_update(article=article, editor=editor, content=content(), expected_version=1)
    assert (updated.state, updated.version) == (ArticleState.PUBLISHED, 2)


def test_update_refuses_an_archived_article(editor):
    article = ArticleFactory(state=ArticleState.ARCHIVED)
    before = world(article)
    with pytest.raises(ArticleStateError) as refused:
        article_update(article=article, editor=editor, content=content(), expected_version=1)
    assert refused.value.reasons == [
        "Archived articles cannot be edited; restore it to a draft first."
    ]
    assert world(article) == before


def test_update_refuses_bad_input_and_changes_nothing(responder):
    article = ArticleFactory(author=responder, tags=["deploy"])
    before = world(article)
    with pytest.raises(ArticleError) as refused:
        article_update(
            article=article,
            editor=responder,
            content=content(tag_names=["ok", "x" * 51]),
            expected_version=1,
        )
    assert refused.value.field == "tags"
    assert world(article) == before


def test_content_of_round_trips_through_update(responder, checkout):
    article = ArticleFactory(author=responder, tags=["deploy"])
    article.services.set([checkout])
    current = article_content_of(article)
    assert current.services == (checkout,)
    assert current.tag_names == ("deploy",)
    updated = article_update(article=article, editor=responder, content=current, expected_version=1)
    revisions = ArticleRevision.objects.filter(article=article).order_by("number")
    assert revisions[1].snapshot == revisions[0].snapshot | {"services": ["checkout"]}
    assert updated.version == 2


# --- article_revert ---------------------------------------------------------------------------


def test_revert_restores_an_old_revision_as_a_new_one(responder):
    article = ArticleFactory(
        title="Checkout returns 503 after deploy", author=responder, tags=["deploy"]
    )
    article_update(
        article=article,
        editor=responder,
        content=content(title="Wrong turn", tag_names=["oops"]),
        expected_version=1,
    )

    reverted = article_revert(
        article=article, user=responder, revision_number=1, expected_version=2
    )

    assert (reverted.version, reverted.title, reverted.tags_text) == (
        3,
        "Checkout returns 503 after deploy",
        "deploy",
    )
    revisions = {r.number: r for r in ArticleRevision.objects.filter(article=article)}
    assert revisions[3].snapshot == revisions[1].snapshot
    assert revisions[3].change_note == "Restored revision 1."
    assert list(article.events.values_list("kind", "comment")) == [
        ("reverted", "Restored revision 1 as revision 3.")
    ]


def test_revert_to_an_unknown_revision_changes_nothing(responder):
    article = ArticleFactory(author=responder)
    before = world(article)
    with pytest.raises(ArticleError) as refused:
        article_revert(article=article, user=responder, revision_number=9, expected_version=1)
    assert refused.value.field == "revision_number"
    assert world(article) == before


def test_revert_with_a_stale_version_changes_nothing(responder):
    article = ArticleFactory(author=responder)
    before = world(article)
    with pytest.raises(ArticleStaleVersion):
        article_revert(article=article, user=responder, revision_number=1, expected_version=4)
    assert world(article) == before


# --- life cycle -------------------------------------------------------------------------------


def test_submit_moves_a_draft_into_review(responder):
    article = ArticleFactory(author=responder)
    submitted = article_submit(article=article, user=responder, expected_version=1)
    assert (submitted.state, submitted.version) == (ArticleState.IN_REVIEW, 2)
    assert list(submitted.events.values_list("kind", flat=True)) == ["submitted"]


def test_submit_refuses_an_article_already_in_review(responder):
    article = in_review_article(author=responder)
    before = world(article)
    with pytest.raises(ArticleStateError) as refused:
        article_submit(article=article, user=responder)
    assert refused.value.reasons == [
        "Only draft articles can be submitted for review; this one is in review."
    ]
    assert world(article) == before


def test_submit_refuses_an_outsider_and_a_stale_version(responder, outsider):
    article = ArticleFactory(author=responder)
    before = world(article)
    with pytest.raises(ArticlePermissionError):
        article_submit(article=article, user=outsider)
    with pytest.raises(ArticleStaleVersion):
        article_submit(article=article, user=responder, expected_version=7)
    assert world(article) == before


def test_publish_sets_dates_from_the_cadence_and_emits_after_commit(
    responder, reviewer, django_capture_on_commit_callbacks
):
    article = in_review_article(author=responder, knowledge_type=KnowledgeType.PROCESS)
    seen: list[int] = []

    def handler(*, article_id: int) -> None:
        seen.append(article_id)

    events.subscribe("article.published", handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            published = article_publish(
                article=article, user=reviewer, comment="Clear and tested.", expected_version=1
            )
    finally:
        events.unsubscribe("article.published", handler)

    today = timezone.localdate()
    assert (published.state, published.version) == (ArticleState.PUBLISHED, 2)
    assert published.review_due == today + timedelta(days=365)
    assert published.published_at is not None
    assert published.last_reviewed_at == published.published_at
    assert list(published.events.values_list("kind", "actor", "comment")) == [
        ("published", reviewer.pk, "Clear and tested.")
    ]
    assert seen == [article.pk]


def test_publish_refuses_a_responder_and_a_draft(responder, reviewer):
    article = ArticleFactory(author=responder)
    before = world(article)
    with pytest.raises(ArticlePermissionError):
        article_publish(article=article, user=responder)
    with pytest.raises(ArticleStateError) as refused:
        article_publish(article=article, user=reviewer)
    assert refused.value.reasons == ["Only in review articles can be published; this one is draft."]
    assert world(article) == before


def test_request_changes_returns_the_draft_and_tells_the_author(
    responder, reviewer, django_capture_on_commit_callbacks
):
    article = in_review_article(author=responder, title="DNS failures")
    with django_capture_on_commit_callbacks(execute=True):
        returned = article_request_changes(
            article=article, user=reviewer, comment="Add the resolver IPs.", expected_version=1
        )
    assert (returned.state, returned.version) == (ArticleState.DRAFT, 2)
    notice = Notification.objects.get()
    assert (notice.user, notice.text, notice.url) == (
        responder,
        "Rob asked for changes to “DNS failures”: Add the resolver IPs.",
        article.get_absolute_url(),
    )
    assert [(m.subject, m.to) for m in mail.outbox] == [
        ("Changes requested: DNS failures", ["rita@example.com"])
    ]


def test_request_changes_needs_a_comment(responder, reviewer):
    article = in_review_article(author=responder)
    before = world(article)
    with pytest.raises(ArticleError) as refused:
        article_request_changes(article=article, user=reviewer, comment="   ")
    assert refused.value.field == "comment"
    assert world(article) == before


def test_archive_and_restore(responder, editor):
    article = published_article(author=responder)
    archived = article_archive(article=article, user=editor, comment="Replaced by #12")
    assert (archived.state, archived.version) == (ArticleState.ARCHIVED, 2)
    restored = article_restore(article=archived, user=editor, expected_version=2)
    assert (restored.state, restored.version) == (ArticleState.DRAFT, 3)
    assert list(article.events.values_list("kind", "comment").order_by("id")) == [
        ("archived", "Replaced by #12"),
        ("restored", ""),
    ]


def test_archive_and_restore_refuse_wrong_states_and_people(responder, editor):
    live = published_article(author=responder)
    archived = ArticleFactory(author=responder, state=ArticleState.ARCHIVED)
    before = (world(live), world(archived))
    with pytest.raises(ArticlePermissionError):
        article_archive(article=live, user=responder)
    with pytest.raises(ArticleStateError):
        article_archive(article=archived, user=editor)
    with pytest.raises(ArticleStateError):
        article_restore(article=live, user=editor)
    assert (world(live), world(archived)) == before


def test_a_transition_that_lost_a_race_is_refused(responder, reviewer):
    article = in_review_article(author=responder)
    old_copy = Article.objects.get(pk=article.pk)
    article_publish(article=article, user=reviewer)
    before = world(article)
    with pytest.raises(ArticleStateError):
        article_request_changes(article=old_copy, user=reviewer, comment="Too late")
    assert world(article) == before


def test_mark_reviewed_resets_the_due_date_and_resolves_flags(responder, outsider):
    article = overdue_article(author=responder, days_overdue=10)
    flag = ArticleFeedback.objects.create(
        article=article, user=outsider, kind="outdated", comment="Port changed"
    )
    Article.objects.filter(pk=article.pk).update(open_flags=1)
    article.refresh_from_db()

    reviewed = article_mark_reviewed(article=article, user=responder, expected_version=1)

    assert reviewed.review_due == timezone.localdate() + timedelta(days=180)
    assert (reviewed.open_flags, reviewed.version, reviewed.is_overdue()) == (0, 2, False)
    flag.refresh_from_db()
    assert (flag.resolved_by, flag.resolved_at is not None) == (responder, True)
    assert list(reviewed.events.values_list("kind", flat=True)) == ["reviewed"]


def test_mark_reviewed_refuses_outsiders_and_drafts(responder, outsider):
    overdue = overdue_article(author=responder)
    draft = ArticleFactory(author=responder)
    before = (world(overdue), world(draft))
    with pytest.raises(ArticlePermissionError):
        article_mark_reviewed(article=overdue, user=outsider)
    with pytest.raises(ArticleStateError):
        article_mark_reviewed(article=draft, user=responder)
    assert (world(overdue), world(draft)) == before


def test_flags_resolve_closes_open_flags(responder, outsider, reviewer):
    article = published_article(author=responder)
    ArticleFeedback.objects.create(article=article, user=outsider, kind="outdated", comment="a")
    Article.objects.filter(pk=article.pk).update(open_flags=1)
    article.refresh_from_db()
    due = article.review_due

    resolved = flags_resolve(article=article, user=reviewer, comment="Fixed the port")

    assert (resolved.open_flags, resolved.version, resolved.review_due) == (0, 2, due)
    assert ArticleFeedback.objects.filter(resolved_at__isnull=True).count() == 0
    assert list(resolved.events.values_list("kind", "comment")) == [
        ("flags_resolved", "Fixed the port")
    ]


def test_flags_resolve_refuses_when_nothing_is_open(responder, reviewer, outsider):
    article = published_article(author=responder)
    before = world(article)
    with pytest.raises(ArticleStateError) as refused:
        flags_resolve(article=article, user=reviewer)
    assert refused.value.reasons == ["This article has no open flags."]
    with pytest.raises(ArticlePermissionError):
        flags_resolve(article=article, user=outsider)
    assert world(article) == before


# --- feedback ---------------------------------------------------------------------------------


def counts(article: Article) -> tuple[int, int, int]:
    article.refresh_from_db()
    return (article.helpful_count, article.not_helpful_count, article.open_flags)


def test_a_vote_counts_once_and_switching_moves_it(responder, outsider):
    article = published_article(author=responder)
    vote = feedback_give(article=article, user=outsider, kind="helpful")
    assert counts(article) == (1, 0, 0)
    assert feedback_give(article=article, user=outsider, kind="helpful").pk == vote.pk
    assert counts(article) == (1, 0, 0)
    moved = feedback_give(article=article, user=outsider, kind="not_helpful", comment="Old port")
    assert (moved.pk, moved.kind, moved.comment) == (vote.pk, "not_helpful", "Old port")
    assert counts(article) == (0, 1, 0)
    assert article.version == 1  # readers' votes never make an editor's save stale


def test_an_outdated_flag_tells_the_owner_and_emits(
    responder, outsider, editor, django_capture_on_commit_callbacks
):
    article = published_article(author=responder, owner=editor, title="Redis stampede")
    seen: list[dict[str, int]] = []

    def handler(**payload: int) -> None:
        seen.append(payload)

    events.subscribe("article.flagged", handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            flag = feedback_give(
                article=article, user=outsider, kind="outdated", comment="TTL is now 60s"
            )
    finally:
        events.unsubscribe("article.flagged", handler)

    assert counts(article) == (0, 0, 1)
    assert (flag.kind, flag.comment, flag.resolved_at) == ("outdated", "TTL is now 60s", None)
    assert list(article.events.values_list("kind", "comment")) == [("flagged", "TTL is now 60s")]
    notice = Notification.objects.get()
    assert (notice.user, notice.text) == (
        editor,
        "Oscar flagged “Redis stampede” as outdated: TTL is now 60s",
    )
    assert [m.subject for m in mail.outbox] == ["Flagged as outdated: Redis stampede"]
    assert seen == [{"article_id": article.pk, "feedback_id": flag.pk}]


@pytest.mark.parametrize(
    ("kind", "comment", "field"),
    [("outdated", "", "comment"), ("outdated", "x" * 5001, "comment"), ("love", "", "kind")],
)
def test_feedback_refuses_bad_input(responder, outsider, kind, comment, field):
    article = published_article(author=responder)
    before = world(article)
    with pytest.raises(ArticleError) as refused:
        feedback_give(article=article, user=outsider, kind=kind, comment=comment)
    assert refused.value.field == field
    assert world(article) == before


def test_feedback_refuses_drafts_and_articles_the_person_cannot_see(responder, outsider):
    draft = ArticleFactory(author=responder)
    before = world(draft)
    with pytest.raises(ArticlePermissionError):
        feedback_give(article=draft, user=outsider, kind="helpful")
    with pytest.raises(ArticleStateError):
        feedback_give(article=draft, user=responder, kind="helpful")
    assert world(draft) == before


# --- attachments and videos -------------------------------------------------------------------


def upload(data: bytes, name: str = "diagram.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


def test_attachment_is_typed_by_its_bytes_and_stored_under_a_random_name(responder):
    article = ArticleFactory(author=responder)
    attachment = attachment_add(
        article=article, user=responder, uploaded_file=upload(PNG_BYTES, "../../etc/flow.png")
    )
    assert (attachment.content_type, attachment.size, attachment.original_name) == (
        "image/png",
        len(PNG_BYTES),
        "flow.png",
    )
    assert attachment.stored_name.endswith(".png") and len(attachment.stored_name) == 36
    assert attachment.file.read() == PNG_BYTES
    assert attachment_is_inline(attachment)


def test_svg_is_accepted_but_never_shown_inline(responder):
    article = ArticleFactory(author=responder)
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>'
    attachment = attachment_add(article=article, user=responder, uploaded_file=upload(svg, "a.svg"))
    assert attachment.content_type == "image/svg+xml"
    assert not attachment_is_inline(attachment)


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00 a windows program named .png",
        b"<html><script>alert(1)</script></html>",
        b"",
        PNG_BYTES + b"\0" * (KNOWLEDGE_ATTACHMENT_MAX_BYTES + 1 - len(PNG_BYTES)),
    ],
    ids=["exe", "html", "empty", "oversized"],
)
def test_attachment_refuses_other_files(responder, data):
    article = ArticleFactory(author=responder)
    with pytest.raises(ArticleError) as refused:
        attachment_add(article=article, user=responder, uploaded_file=upload(data))
    assert refused.value.field == "file"
    assert article.attachments.count() == 0


def test_attachment_of_exactly_the_limit_is_accepted(responder):
    article = ArticleFactory(author=responder)
    data = PNG_BYTES + b"\0" * (KNOWLEDGE_ATTACHMENT_MAX_BYTES - len(PNG_BYTES))
    attachment = attachment_add(article=article, user=responder, uploaded_file=upload(data))
    assert attachment.size == KNOWLEDGE_ATTACHMENT_MAX_BYTES


def test_attachment_and_video_need_edit_rights(responder, outsider):
    article = ArticleFactory(author=responder)
    with pytest.raises(ArticlePermissionError):
        attachment_add(article=article, user=outsider, uploaded_file=upload(PNG_BYTES))
    with pytest.raises(ArticlePermissionError):
        video_link_add(article=article, user=outsider, url="https://v.example.com/1", title="x")
    assert (article.attachments.count(), article.video_links.count()) == (0, 0)


def test_video_link_is_added(responder):
    article = ArticleFactory(author=responder)
    link = video_link_add(
        article=article, user=responder, url=" https://v.example.com/w/1 ", title=" Walkthrough "
    )
    assert (link.url, link.title) == ("https://v.example.com/w/1", "Walkthrough")


@pytest.mark.parametrize(
    ("url", "title", "field"),
    [
        ("http://v.example.com/1", "Talk", "url"),
        ("javascript:alert(1)", "Talk", "url"),
        ("https://", "Talk", "url"),
        ("https://v.example.com/" + "a" * 500, "Talk", "url"),
        ("https://v.example.com/1", "  ", "title"),
    ],
)
def test_video_link_refuses_bad_input(responder, url, title, field):
    article = ArticleFactory(author=responder)
    with pytest.raises(ArticleError) as refused:
        video_link_add(article=article, user=responder, url=url, title=title)
    assert refused.value.field == field
    assert article.video_links.count() == 0


# --- notification_send ------------------------------------------------------------------------


def test_notification_is_stored_and_emailed_after_commit(
    responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notice = notification_send(
            user=responder, text="Review due", url="/knowledge/1/x/", email_subject="Due"
        )
        assert mail.outbox == []
    assert (notice.user, notice.text, notice.url, notice.read_at) == (
        responder,
        "Review due",
        "/knowledge/1/x/",
        None,
    )
    assert [(m.subject, m.body, m.to) for m in mail.outbox] == [
        ("Due", "Review due\n\nhttp://127.0.0.1:8000/knowledge/1/x/\n", ["rita@example.com"])
    ]


def test_notification_without_subject_or_address_sends_no_email(
    responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(user=responder, text="In-app only")
        responder.email = ""
        notification_send(user=responder, text="No address", email_subject="Hello")
    assert Notification.objects.count() == 2
    assert mail.outbox == []


def test_notification_in_a_rolled_back_change_sends_nothing(
    responder, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notification_send(user=responder, text="Never", email_subject="Never")
        raise RuntimeError
    assert (Notification.objects.count(), mail.outbox) == (0, [])


# --- concurrency (PostgreSQL) -----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_saves_of_the_same_version_at_once_one_wins(responder, editor):
    article = ArticleFactory(author=responder)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def save(title: str) -> None:
        try:
            copy = Article.objects.get(pk=article.pk)
            barrier.wait(timeout=10)
            article_update(
                article=copy, editor=editor, content=content(title=title), expected_version=1
            )
            outcomes.append("saved")
        except ArticleStaleVersion as error:
            outcomes.append(f"stale:{error.current.version}")
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(f"Edit {n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["saved", "stale:2"]
    article.refresh_from_db()
    assert article.version == 2
    assert list(
        ArticleRevision.objects.filter(article=article).values_list("number", flat=True)
    ) == [2, 1]


def test_archive_is_announced_once_committed(responder, editor, django_capture_on_commit_callbacks):
    article = published_article(author=responder)
    seen: list[int] = []

    def handler(*, article_id: int) -> None:
        seen.append(article_id)

    events.subscribe("article.archived", handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            article_archive(article=article, user=editor)
    finally:
        events.unsubscribe("article.archived", handler)
    assert seen == [article.pk]
