"""The knowledge part of the demo: hand-written articles in the KCS structure.

Most are published; one waits in review, one is a draft, one carries an "outdated" flag and one
is past its review date, so every page and the review queue have something to show. Articles are
created through the services (revisions, events and the search index stay right) and found again
by slug, so running the seeder twice changes nothing. Authors are the catalog's demo people; an
article whose author is missing is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from kbsite.models import Service, Team
from knowledge.demo_articles import ARTICLES, DemoArticle
from knowledge.models import Article, ArticleState
from knowledge.services import (
    ArticleContent,
    article_create,
    article_publish,
    article_submit,
    feedback_give,
)

PUBLISHER = "rob"
OVERDUE_BY = timedelta(days=12)


def _content(demo: DemoArticle) -> ArticleContent:
    return ArticleContent(
        title=demo.title,
        knowledge_type=demo.knowledge_type,
        symptoms=demo.symptoms,
        environment=demo.environment,
        cause=demo.cause,
        resolution=demo.resolution,
        prevention=demo.prevention,
        body=demo.body,
        team=Team.objects.filter(slug=demo.team).first(),
        services=tuple(Service.objects.filter(slug__in=demo.services).order_by("slug")),
        tag_names=demo.tags,
    )


def _seed_one(demo: DemoArticle, people: dict[str, Any]) -> Article:
    author = people[demo.author]
    article = article_create(author=author, content=_content(demo), change_note="Demo article")
    if demo.state == ArticleState.DRAFT:
        return article
    article = article_submit(article=article, user=author)
    if demo.state == ArticleState.IN_REVIEW or PUBLISHER not in people:
        return article
    article = article_publish(article=article, user=people[PUBLISHER], comment="Looks good.")
    for username in demo.helpful_votes:
        if username in people and username != demo.author:
            feedback_give(article=article, user=people[username], kind="helpful")
    if demo.flag and "oscar" in people:
        feedback_give(article=article, user=people["oscar"], kind="outdated", comment=demo.flag)
    if demo.overdue:
        # Demo history only: this article was published and reviewed long ago, so its review
        # is now due. No service backdates a review, by design.
        reviewed = timezone.now() - timedelta(days=180) - OVERDUE_BY
        Article.objects.filter(pk=article.pk).update(
            published_at=reviewed,
            last_reviewed_at=reviewed,
            review_due=timezone.localdate() - OVERDUE_BY,
        )
    return article


def seed_knowledge(say: Callable[[str], None]) -> None:
    usernames = {demo.author for demo in ARTICLES} | {PUBLISHER, "oscar"}
    usernames |= {name for demo in ARTICLES for name in demo.helpful_votes}
    people = {
        user.username: user for user in get_user_model().objects.filter(username__in=usernames)
    }
    created = skipped = 0
    for demo in ARTICLES:
        if Article.objects.filter(slug=slugify(demo.title)).exists():
            continue
        if demo.author not in people:
            skipped += 1
            continue
        with transaction.atomic():
            _seed_one(demo, people)
        created += 1
    note = f", {skipped} skipped for missing authors" if skipped else ""
    say(f"knowledge: {created} articles created, {len(ARTICLES)} in the demo{note}")
