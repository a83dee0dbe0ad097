"""The article's life cycle (draft → in review → published → archived) and review cadence."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from kbsite.events import emit
from kbsite.services import notification_send
from kbsite.sweeps import sweep_claiming
from knowledge.models import (
    REVIEW_CADENCE,
    Article,
    ArticleEvent,
    ArticleFeedback,
    ArticleState,
    KnowledgeType,
)
from knowledge.permissions import can_edit, can_review
from knowledge.services.common import (
    MAX_COMMENT_LENGTH,
    ArticlePermissionError,
    ArticleStateError,
    conditional_update,
    event_record,
    review_owner,
    state_error,
    text_clean,
)

OVERDUE_BATCH_SIZE = 200


def review_due_from(*, article: Article, today: date) -> date:
    return today + REVIEW_CADENCE[KnowledgeType(article.knowledge_type)]


def _transition(
    *,
    article: Article,
    user: Any,
    action: str,
    allowed_states: tuple[str, ...],
    expected_version: int | None,
    event: str,
    comment: str = "",
    **changes: Any,
) -> Article:
    """Check state and version, apply `changes` with the conditional UPDATE, record `event`."""
    if article.state not in allowed_states:
        raise state_error(article, action, allowed_states)
    with transaction.atomic():
        article = conditional_update(
            article,
            action=action,
            allowed_states=allowed_states,
            expected_version=expected_version,
            **changes,
        )
        event_record(article=article, kind=event, actor=user, comment=comment)
    return article


def _require_reviewer(user: Any, doing: str) -> None:
    if not can_review(user):
        raise ArticlePermissionError(f"Only reviewers and editors can {doing}.")


def _comment(comment: str, *, required: bool = False, what: str = "a comment") -> str:
    return text_clean(
        comment, field="comment", limit=MAX_COMMENT_LENGTH, required=required, what=what
    )


def article_submit(*, article: Article, user: Any, expected_version: int | None = None) -> Article:
    """Draft → in review. The author, the owner or an editor submits."""
    if not can_edit(user, article):
        raise ArticlePermissionError("Only the author, the owner or an editor can submit this.")
    return _transition(
        article=article,
        user=user,
        action="submitted for review",
        allowed_states=(ArticleState.DRAFT,),
        expected_version=expected_version,
        event=ArticleEvent.Kind.SUBMITTED,
        state=ArticleState.IN_REVIEW,
    )


def article_publish(
    *, article: Article, user: Any, comment: str = "", expected_version: int | None = None
) -> Article:
    """In review → published, due for review after its type's cadence; emits
    "article.published" once committed. Reviewers and editors only."""
    _require_reviewer(user, "publish articles")
    text = _comment(comment)
    now = timezone.now()
    published = _transition(
        article=article,
        user=user,
        action="published",
        allowed_states=(ArticleState.IN_REVIEW,),
        expected_version=expected_version,
        event=ArticleEvent.Kind.PUBLISHED,
        comment=text,
        state=ArticleState.PUBLISHED,
        published_at=article.published_at or now,
        last_reviewed_at=now,
        review_due=review_due_from(article=article, today=timezone.localdate()),
        review_reminded_at=None,
    )
    emit("article.published", article_id=published.pk)
    return published


def article_request_changes(
    *, article: Article, user: Any, comment: str, expected_version: int | None = None
) -> Article:
    """In review → draft, with a comment that tells the author what to change."""
    _require_reviewer(user, "request changes")
    text = _comment(comment, required=True, what="a comment telling the author what to change")
    with transaction.atomic():
        article = _transition(
            article=article,
            user=user,
            action="sent back for changes",
            allowed_states=(ArticleState.IN_REVIEW,),
            expected_version=expected_version,
            event=ArticleEvent.Kind.CHANGES_REQUESTED,
            comment=text,
            state=ArticleState.DRAFT,
        )
        if article.author_id != user.pk:
            notification_send(
                user=article.author,
                text=f"{user.get_full_name() or user.username} asked for changes to "
                f"“{article.title}”: {text}",
                url=article.get_absolute_url(),
                email_subject=f"Changes requested: {article.title}",
            )
    return article


def article_archive(
    *, article: Article, user: Any, comment: str = "", expected_version: int | None = None
) -> Article:
    """Any live article → archived: kept and readable, no longer offered as current."""
    _require_reviewer(user, "archive articles")
    archived = _transition(
        article=article,
        user=user,
        action="archived",
        allowed_states=(ArticleState.DRAFT, ArticleState.IN_REVIEW, ArticleState.PUBLISHED),
        expected_version=expected_version,
        event=ArticleEvent.Kind.ARCHIVED,
        comment=_comment(comment),
        state=ArticleState.ARCHIVED,
    )
    # No longer published: the KPIs that ask "was there knowledge?" must hear of it.
    emit("article.archived", article_id=archived.pk)
    return archived


def article_restore(*, article: Article, user: Any, expected_version: int | None = None) -> Article:
    """Archived → draft, to be reviewed again before it is published."""
    _require_reviewer(user, "restore articles")
    return _transition(
        article=article,
        user=user,
        action="restored",
        allowed_states=(ArticleState.ARCHIVED,),
        expected_version=expected_version,
        event=ArticleEvent.Kind.RESTORED,
        state=ArticleState.DRAFT,
    )


def _may_maintain(user: Any, article: Article) -> bool:
    """Mark reviewed and resolve flags: the owner, the author, reviewers and editors."""
    return can_review(user) or user.pk in (article.author_id, article.owner_id)


def _resolve_open_flags(*, article: Article, user: Any, now: datetime) -> int:
    return ArticleFeedback.objects.filter(
        article=article, kind=ArticleFeedback.Kind.OUTDATED, resolved_at__isnull=True
    ).update(resolved_at=now, resolved_by=user)


def article_mark_reviewed(
    *, article: Article, user: Any, expected_version: int | None = None
) -> Article:
    """A published article is still accurate: due again after its cadence, open flags resolved."""
    if not _may_maintain(user, article):
        raise ArticlePermissionError(
            "Only the owner, the author, reviewers and editors can mark this reviewed."
        )
    now = timezone.now()
    with transaction.atomic():
        article = _transition(
            article=article,
            user=user,
            action="marked reviewed",
            allowed_states=(ArticleState.PUBLISHED,),
            expected_version=expected_version,
            event=ArticleEvent.Kind.REVIEWED,
            last_reviewed_at=now,
            review_due=review_due_from(article=article, today=timezone.localdate()),
            review_reminded_at=None,
            open_flags=0,
        )
        _resolve_open_flags(article=article, user=user, now=now)
    return article


def flags_resolve(*, article: Article, user: Any, comment: str = "") -> Article:
    """Close the article's open "outdated" flags, say with a fix made or a flag judged wrong."""
    if not _may_maintain(user, article):
        raise ArticlePermissionError(
            "Only the owner, the author, reviewers and editors can resolve flags."
        )
    if article.open_flags == 0:
        raise ArticleStateError(
            "There is nothing to resolve.", reasons=["This article has no open flags."]
        )
    text = _comment(comment)
    now = timezone.now()
    with transaction.atomic():
        changed = Article.objects.filter(pk=article.pk, open_flags__gt=0).update(
            open_flags=0, version=F("version") + 1, updated_at=now
        )
        if changed != 1:
            raise ArticleStateError(
                "There is nothing to resolve.", reasons=["This article has no open flags."]
            )
        _resolve_open_flags(article=article, user=user, now=now)
        event_record(
            article=article, kind=ArticleEvent.Kind.FLAGS_RESOLVED, actor=user, comment=text
        )
    article.refresh_from_db()
    return article


def _overdue_unreminded(today: date) -> Q:
    # Every service that sets a new due date (publish, mark reviewed) clears the reminder mark,
    # so a set mark always belongs to the current due date.
    return Q(state=ArticleState.PUBLISHED, review_due__lt=today, review_reminded_at__isnull=True)


def articles_notify_overdue(*, today: date | None = None) -> int:
    """Remind the owner (else the author) of each published article past its review date, once
    per due date, in the app and by email. Returns how many were reminded; safe to run twice,
    even at once (kbsite.sweeps claims each article first)."""

    def remind(article: Article) -> None:
        notification_send(
            user=review_owner(article),
            text=f"“{article.title}” was due for review on "
            f"{article.review_due:%d %B %Y}. Check it is still accurate, then mark it "
            "reviewed, edit it or archive it.",
            url=article.get_absolute_url(),
            email_subject=f"Review due: {article.title}",
        )

    return sweep_claiming(
        model=Article,
        pending=_overdue_unreminded(today or timezone.localdate()),
        claim={"review_reminded_at": timezone.now()},
        act=remind,
        select_related=["owner", "author"],
        batch_size=OVERDUE_BATCH_SIZE,
    )
