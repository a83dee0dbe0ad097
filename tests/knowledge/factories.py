"""Factories for knowledge articles, built through the model the way the services leave them.

`ArticleFactory` renders every content field, fills `tags_text`, and records revision 1 (the
snapshot the services would have written), so history and diff pages work on factory articles.
A published article gets `published_at`, `last_reviewed_at` and a `review_due` from the cadence.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone
from django.utils.text import slugify

from knowledge.markdown import render_markdown
from knowledge.models import (
    CONTENT_FIELDS,
    REVIEW_CADENCE,
    Article,
    ArticleAttachment,
    ArticleEvent,
    ArticleFeedback,
    ArticleRevision,
    ArticleState,
    ArticleVideoLink,
    KnowledgeType,
)
from tests.kbsite.factories import ServiceFactory, TagFactory, TeamFactory, UserFactory

__all__ = [
    "ArticleEventFactory",
    "ArticleFactory",
    "ArticleFeedbackFactory",
    "ArticleVideoLinkFactory",
    "ServiceFactory",
    "TagFactory",
    "TeamFactory",
    "UserFactory",
    "article_snapshot",
    "attachment_for",
    "draft_article",
    "in_review_article",
    "overdue_article",
    "published_article",
]


def article_snapshot(article: Article) -> dict[str, Any]:
    """The revision snapshot of `article` as it is now (the same shape the services record)."""
    snapshot: dict[str, Any] = {"title": article.title, "knowledge_type": article.knowledge_type}
    snapshot.update(article.content())
    snapshot["team"] = article.team.slug if article.team_id else None
    snapshot["services"] = sorted(service.slug for service in article.services.all())
    snapshot["tags"] = sorted(tag.name for tag in article.tags.all())
    return snapshot


class ArticleFactory(factory.django.DjangoModelFactory):
    """An article; `services=[...]` and `tags=[...]` (Tag objects or names) set relations.

    `revision=False` skips recording revision 1; `review_due` may be given to make an overdue
    published article.
    """

    class Meta:
        model = Article
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Checkout returns 503 after deploy {n}")
    slug = factory.LazyAttributeSequence(lambda article, n: f"{slugify(article.title)[:200]}-{n}")
    knowledge_type = KnowledgeType.TECHNICAL
    symptoms = "Checkout answers **503** right after a deploy."
    environment = "Production, checkout service behind the api-gateway."
    cause = "The new pods were not ready when traffic moved to them."
    resolution = "Roll back the deploy, then fix the readiness probe."
    prevention = "Gate rollouts on the readiness probe."
    body = ""
    state = ArticleState.DRAFT
    team = None
    author = factory.SubFactory(UserFactory)
    owner = None
    rendered = factory.LazyAttribute(
        lambda article: {name: render_markdown(getattr(article, name)) for name in CONTENT_FIELDS}
    )
    published_at = factory.LazyAttribute(
        lambda article: (
            timezone.now()
            if article.state in (ArticleState.PUBLISHED, ArticleState.ARCHIVED)
            else None
        )
    )
    last_reviewed_at = factory.LazyAttribute(lambda article: article.published_at)
    review_due = factory.LazyAttribute(
        lambda article: (
            timezone.localdate() + REVIEW_CADENCE[KnowledgeType(article.knowledge_type)]
            if article.state == ArticleState.PUBLISHED
            else None
        )
    )

    @factory.post_generation
    def services(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.services.set(extracted)

    @factory.post_generation
    def tags(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not (create and extracted):
            return
        tags = [
            TagFactory(name=tag, slug=slugify(tag)) if isinstance(tag, str) else tag
            for tag in extracted
        ]
        self.tags.set(tags)
        self.tags_text = " ".join(tag.name for tag in tags)
        Article.objects.filter(pk=self.pk).update(tags_text=self.tags_text)

    @factory.post_generation
    def revision(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not create or extracted is False:
            return
        ArticleRevision.objects.create(
            article=self,
            number=self.version,
            editor=self.author,
            snapshot=article_snapshot(self),
            change_note="Created",
        )


def draft_article(**kwargs: Any) -> Article:
    return ArticleFactory(state=ArticleState.DRAFT, **kwargs)


def in_review_article(**kwargs: Any) -> Article:
    return ArticleFactory(state=ArticleState.IN_REVIEW, **kwargs)


def published_article(**kwargs: Any) -> Article:
    """A published article, due for review after its type's cadence (or `review_due=`)."""
    return ArticleFactory(state=ArticleState.PUBLISHED, **kwargs)


def overdue_article(*, days_overdue: int = 1, **kwargs: Any) -> Article:
    """A published article whose review date passed `days_overdue` days ago."""
    return published_article(
        review_due=timezone.localdate() - timedelta(days=days_overdue), **kwargs
    )


class ArticleFeedbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ArticleFeedback

    article = factory.SubFactory(ArticleFactory, state=ArticleState.PUBLISHED)
    user = factory.SubFactory(UserFactory)
    kind = ArticleFeedback.Kind.HELPFUL
    comment = ""


class ArticleEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ArticleEvent

    article = factory.SubFactory(ArticleFactory)
    kind = ArticleEvent.Kind.CREATED
    actor = factory.SubFactory(UserFactory)


class ArticleVideoLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ArticleVideoLink

    article = factory.SubFactory(ArticleFactory)
    url = "https://videos.example.com/watch/rollback-walkthrough"
    title = "Rollback walkthrough"


# The smallest valid PNG: 1x1 transparent pixel.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000000500010d0a2db40000000049454e44ae426082"
)


def attachment_for(
    article: Article, *, uploader: Any = None, name: str = "diagram.png"
) -> ArticleAttachment:
    """An attachment stored directly (bypassing the upload checks), for page and API tests."""
    from django.core.files.base import ContentFile

    attachment = ArticleAttachment(
        article=article,
        stored_name=f"{slugify(name)}-{article.pk}.png",
        original_name=name,
        content_type="image/png",
        size=len(PNG_BYTES),
        uploaded_by=uploader or article.author,
    )
    attachment.file.save(attachment.stored_name, ContentFile(PNG_BYTES), save=False)
    attachment.save()
    return attachment
