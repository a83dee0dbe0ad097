"""Reads of the knowledge base. Views and the API reach articles only through these: they apply
the visibility rules and decide the joins, so a page costs the same queries for 10 rows or 10,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from kbsite.errors import InvalidInput
from knowledge.diff import FieldDiff, diff_snapshots
from knowledge.models import Article, ArticleEvent, ArticleRevision, ArticleState, SearchGap
from knowledge.permissions import articles_visible_q
from knowledge.search import SearchFilters, SearchHit, SearchPage, article_search

__all__ = [
    "LIST_SORTS",
    "ReviewQueue",
    "SearchFilters",
    "SearchHit",
    "SearchPage",
    "article_events",
    "article_get_for_user",
    "article_list_for_user",
    "article_revisions",
    "article_search",
    "review_queue",
    "revision_pair_diff",
    "search_gaps",
]

# Sort keys of a list without a query; "relevance" means nothing there, so it falls back to
# "updated".
LIST_SORTS: dict[str, tuple[str, ...]] = {
    "relevance": ("-updated_at", "-id"),
    "updated": ("-updated_at", "-id"),
    "helpful": ("-helpful_count", "-updated_at", "-id"),
    "title": ("title", "id"),
}


def _visible(user: Any) -> QuerySet[Article]:
    return Article.objects.filter(articles_visible_q(user))


def article_get_for_user(*, pk: int, user: Any) -> Article:
    """The article with everything its page shows; Http404 when absent or not visible."""
    article = (
        _visible(user)
        .select_related("team", "author", "owner")
        .prefetch_related("services", "tags", "attachments", "video_links")
        .filter(pk=pk)
        .first()
    )
    if article is None:
        raise Http404("No such article.")
    return article


def article_list_for_user(
    *, user: Any, filters: SearchFilters | None = None, sort: str = "updated"
) -> QuerySet[Article]:
    """Visible articles matching `filters` (archived ones only when asked for by state)."""
    if sort not in LIST_SORTS:
        raise InvalidInput(f"Sort by one of: {', '.join(LIST_SORTS)}.", field="sort")
    filters = filters or SearchFilters()
    articles = _visible(user)
    if filters.state:
        articles = articles.filter(state=filters.state)
    else:
        articles = articles.exclude(state=ArticleState.ARCHIVED)
    if filters.knowledge_type:
        articles = articles.filter(knowledge_type=filters.knowledge_type)
    if filters.team:
        articles = articles.filter(team__slug=filters.team)
    if filters.service:
        articles = articles.filter(services__slug=filters.service)
    if filters.tag:
        articles = articles.filter(tags__slug=filters.tag)
    return (
        articles.distinct()
        .select_related("team", "author", "owner")
        .prefetch_related("services", "tags")
        .order_by(*LIST_SORTS[sort])
    )


@dataclass(frozen=True)
class ReviewQueue:
    in_review: QuerySet[Article]  # waiting for a reviewer, oldest first
    flagged: QuerySet[Article]  # published with open "outdated" flags, most flags first
    overdue: QuerySet[Article]  # published and past their review date, longest overdue first

    @property
    def is_empty(self) -> bool:
        return not (self.in_review.exists() or self.flagged.exists() or self.overdue.exists())


def review_queue(*, user: Any, today: date | None = None) -> ReviewQueue:
    """What needs a reviewer's or owner's attention, limited to what `user` may see."""
    day = today or timezone.localdate()
    base = _visible(user).select_related("team", "author", "owner")
    return ReviewQueue(
        in_review=base.filter(state=ArticleState.IN_REVIEW).order_by("updated_at", "id"),
        flagged=base.filter(state=ArticleState.PUBLISHED, open_flags__gt=0).order_by(
            "-open_flags", "-updated_at", "id"
        ),
        overdue=base.filter(state=ArticleState.PUBLISHED, review_due__lt=day).order_by(
            "review_due", "id"
        ),
    )


def article_revisions(*, article: Article) -> QuerySet[ArticleRevision]:
    """Every revision, newest first, with its editor."""
    return (
        ArticleRevision.objects.filter(article=article).select_related("editor").order_by("-number")
    )


def article_events(*, article: Article) -> QuerySet[ArticleEvent]:
    """State changes and review decisions, newest first, with who made them."""
    return (
        ArticleEvent.objects.filter(article=article)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


def revision_pair_diff(*, article: Article, from_number: int, to_number: int) -> list[FieldDiff]:
    """How revision `from_number` became `to_number`; Http404 when either does not exist."""
    revisions = {
        revision.number: revision
        for revision in ArticleRevision.objects.filter(
            article=article, number__in=[from_number, to_number]
        )
    }
    if from_number not in revisions or to_number not in revisions:
        raise Http404("No such revision.")
    return diff_snapshots(revisions[from_number].snapshot, revisions[to_number].snapshot)


def search_gaps(*, limit: int = 50) -> QuerySet[SearchGap]:
    """Searches that found nothing, most frequent first, leaving out dismissed ones."""
    return SearchGap.objects.filter(dismissed_at__isnull=True).order_by(
        "-count", "-last_seen_at", "id"
    )[: max(0, limit)]
