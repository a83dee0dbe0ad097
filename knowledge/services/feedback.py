"""Readers' feedback: one helpful / not helpful vote each, and "outdated" flags for the owner."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from kbsite.events import emit
from kbsite.services import notification_send
from knowledge.models import Article, ArticleEvent, ArticleFeedback, ArticleState
from knowledge.permissions import can_view
from knowledge.services.common import (
    MAX_COMMENT_LENGTH,
    ArticleError,
    ArticlePermissionError,
    ArticleStateError,
    event_record,
    review_owner,
    text_clean,
)

VOTES = (ArticleFeedback.Kind.HELPFUL, ArticleFeedback.Kind.NOT_HELPFUL)
_COUNTER: dict[str, str] = {
    ArticleFeedback.Kind.HELPFUL: "helpful_count",
    ArticleFeedback.Kind.NOT_HELPFUL: "not_helpful_count",
}


def feedback_give(*, article: Article, user: Any, kind: str, comment: str = "") -> ArticleFeedback:
    """Record a reader's feedback on a published article.

    A vote is one per person: voting again the same way changes nothing, voting the other way
    moves the vote. An "outdated" flag needs a comment saying what is wrong; it raises the
    article's open flag count, tells the owner and emits "article.flagged". Feedback does not
    change the article's version: readers voting must not make an editor's save stale.
    """
    if kind not in ArticleFeedback.Kind.values:
        raise ArticleError(
            f"Feedback must be one of: {', '.join(ArticleFeedback.Kind.values)}.", field="kind"
        )
    if not can_view(user, article):
        raise ArticlePermissionError("You cannot see this article.")
    if article.state != ArticleState.PUBLISHED:
        raise ArticleStateError(
            "Feedback is for published articles.",
            reasons=["Only published articles take feedback; review comments go elsewhere."],
        )
    text = text_clean(
        comment,
        field="comment",
        limit=MAX_COMMENT_LENGTH,
        required=kind == ArticleFeedback.Kind.OUTDATED,
        what="a comment saying what is out of date",
    )
    if kind == ArticleFeedback.Kind.OUTDATED:
        return _flag(article=article, user=user, comment=text)
    return _vote(article=article, user=user, kind=kind, comment=text)


def _vote(*, article: Article, user: Any, kind: str, comment: str) -> ArticleFeedback:
    with transaction.atomic():
        existing = (
            ArticleFeedback.objects.select_for_update()
            .filter(article=article, user=user, kind__in=VOTES)
            .first()
        )
        if existing is None:
            try:
                with transaction.atomic():
                    vote = ArticleFeedback.objects.create(
                        article=article, user=user, kind=kind, comment=comment
                    )
            except IntegrityError:  # the same person's other request won the race
                existing = ArticleFeedback.objects.get(article=article, user=user, kind__in=VOTES)
            else:
                Article.objects.filter(pk=article.pk).update(
                    **{_COUNTER[kind]: F(_COUNTER[kind]) + 1}
                )
                return vote
        if existing.kind == kind:
            if comment and comment != existing.comment:
                existing.comment = comment
                existing.save(update_fields=["comment"])
            return existing
        moved = ArticleFeedback.objects.filter(pk=existing.pk, kind=existing.kind).update(
            kind=kind, comment=comment
        )
        if moved:
            Article.objects.filter(pk=article.pk).update(
                **{
                    _COUNTER[existing.kind]: F(_COUNTER[existing.kind]) - 1,
                    _COUNTER[kind]: F(_COUNTER[kind]) + 1,
                }
            )
        existing.refresh_from_db()
        return existing


def _flag(*, article: Article, user: Any, comment: str) -> ArticleFeedback:
    with transaction.atomic():
        flag = ArticleFeedback.objects.create(
            article=article, user=user, kind=ArticleFeedback.Kind.OUTDATED, comment=comment
        )
        Article.objects.filter(pk=article.pk).update(open_flags=F("open_flags") + 1)
        event_record(article=article, kind=ArticleEvent.Kind.FLAGGED, actor=user, comment=comment)
        owner = review_owner(article)
        if owner.pk != user.pk:
            notification_send(
                user=owner,
                text=f"{user.get_full_name() or user.username} flagged “{article.title}” as "
                f"outdated: {comment}",
                url=article.get_absolute_url(),
                email_subject=f"Flagged as outdated: {article.title}",
            )
        emit("article.flagged", article_id=article.pk, feedback_id=flag.pk)
    return flag
