"""What every knowledge service shares: the errors, the content value, validation, and the
conditional UPDATE that makes each change atomic against concurrent ones."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from kbsite.errors import InvalidInput, NotAllowed, StaleVersion, StateConflict
from kbsite.models import Service, Team
from knowledge import search
from knowledge.models import (
    CONTENT_FIELDS,
    MAX_FIELD_LENGTH,
    MAX_TAGS,
    Article,
    ArticleEvent,
    ArticleState,
    KnowledgeType,
)

MAX_TITLE_LENGTH = 200
MAX_TAG_LENGTH = 50
MAX_CHANGE_NOTE_LENGTH = 500
MAX_COMMENT_LENGTH = 5000


class ArticleError(InvalidInput):
    """The input cannot be accepted; `field` names the bad field."""


class ArticlePermissionError(NotAllowed):
    """This person may not do this to this article."""


class ArticleStateError(StateConflict):
    """The article's state does not allow this; `reasons` says why."""


class ArticleStaleVersion(StaleVersion):
    """Someone changed the article first; `current` is the article as it is now."""


@dataclass(frozen=True)
class ArticleContent:
    """Everything a person edits in an article, validated by `article_content_clean`."""

    title: str
    knowledge_type: str
    symptoms: str = ""
    environment: str = ""
    cause: str = ""
    resolution: str = ""
    prevention: str = ""
    body: str = ""
    team: Team | None = None
    services: Sequence[Service] = field(default=())
    tag_names: Sequence[str] = field(default=())


def article_content_of(article: Article) -> ArticleContent:
    """The article's current content, for forms and for merging a partial change."""
    return ArticleContent(
        title=article.title,
        knowledge_type=article.knowledge_type,
        **article.content(),
        team=article.team,
        services=tuple(article.services.all()),
        tag_names=tuple(tag.name for tag in article.tags.all()),
    )


def article_content_clean(content: ArticleContent) -> ArticleContent:
    """Validate `content` and return it normalized (title stripped, tag names deduplicated)."""
    title = (content.title or "").strip()
    if not title:
        raise ArticleError("Give the article a title.", field="title")
    if len(title) > MAX_TITLE_LENGTH:
        raise ArticleError(
            f"The title is {len(title)} characters long; at most {MAX_TITLE_LENGTH} fit.",
            field="title",
        )
    if content.knowledge_type not in KnowledgeType.values:
        raise ArticleError(
            f"Knowledge type must be one of: {', '.join(KnowledgeType.values)}.",
            field="knowledge_type",
        )
    for name in CONTENT_FIELDS:
        value = getattr(content, name)
        if not isinstance(value, str):
            raise ArticleError(f"{name.title()} must be text.", field=name)
        if len(value) > MAX_FIELD_LENGTH:
            raise ArticleError(
                f"{name.title()} is {len(value):,} characters long; "
                f"at most {MAX_FIELD_LENGTH:,} fit.",
                field=name,
            )
    if content.team is not None and (not isinstance(content.team, Team) or not content.team.pk):
        raise ArticleError("Choose an existing team.", field="team")
    for service in content.services:
        if not isinstance(service, Service) or not service.pk:
            raise ArticleError("Choose existing services.", field="services")
    return replace(
        content,
        title=title,
        services=tuple(dict.fromkeys(content.services)),
        tag_names=tag_names_clean(content.tag_names),
    )


def tag_names_clean(names: Iterable[str]) -> tuple[str, ...]:
    """Stripped tag names, deduplicated by slug; too many, too long or unsluggable is an error."""
    by_slug: dict[str, str] = {}
    for raw in names:
        name = str(raw).strip()
        if not name:
            continue
        if len(name) > MAX_TAG_LENGTH:
            raise ArticleError(
                f"The tag {name[:20]!r}… is longer than {MAX_TAG_LENGTH} characters.",
                field="tags",
            )
        slug = slugify(name)
        if not slug:
            raise ArticleError(
                f"The tag {name!r} needs at least one letter or digit.", field="tags"
            )
        by_slug.setdefault(slug, name)
    if len(by_slug) > MAX_TAGS:
        raise ArticleError(
            f"An article takes at most {MAX_TAGS} tags; this one has {len(by_slug)}.",
            field="tags",
        )
    return tuple(by_slug.values())


def text_clean(value: str, *, field: str, limit: int, required: bool = False, what: str) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ArticleError(f"Add {what}.", field=field)
    if len(text) > limit:
        raise ArticleError(
            f"The {field.replace('_', ' ')} is {len(text):,} characters; at most {limit:,} fit.",
            field=field,
        )
    return text


def fresh(article: Article) -> Article:
    return Article.objects.select_related("team", "author", "owner").get(pk=article.pk)


def stale(article: Article) -> ArticleStaleVersion:
    current = fresh(article)
    return ArticleStaleVersion(
        f"Someone saved version {current.version} of this article first; "
        "review their changes and apply yours again.",
        current=current,
    )


def state_error(article: Article, action: str, allowed: Iterable[str]) -> ArticleStateError:
    labels = " or ".join(str(ArticleState(state).label).lower() for state in allowed)
    current = str(ArticleState(article.state).label).lower()
    return ArticleStateError(
        f"This article cannot be {action}.",
        reasons=[f"Only {labels} articles can be {action}; this one is {current}."],
    )


def conditional_update(
    article: Article,
    *,
    action: str,
    allowed_states: Sequence[str],
    expected_version: int | None,
    **changes: Any,
) -> Article:
    """Apply `changes` only if the row is still in an allowed state (and at `expected_version`),
    bumping `version` by one; a lost race raises the stale or state error. Returns a fresh copy.

    Callers check the in-memory article first for friendly errors; this UPDATE is the guard
    that holds when another request changed the row in between.
    """
    rows = Article.objects.filter(pk=article.pk, state__in=allowed_states)
    if expected_version is not None:
        rows = rows.filter(version=expected_version)
    changed = rows.update(version=F("version") + 1, updated_at=timezone.now(), **changes)
    if changed != 1:
        current = fresh(article)
        if expected_version is not None and current.version != expected_version:
            raise stale(current)
        raise state_error(current, action, allowed_states)
    return fresh(article)


def event_record(*, article: Article, kind: str, actor: Any, comment: str = "") -> ArticleEvent:
    return ArticleEvent.objects.create(article=article, kind=kind, actor=actor, comment=comment)


def reindex(article_ids: Iterable[int]) -> None:
    """Keep the search index in step; called inside the transaction that changed the rows."""
    search.index_articles(article_ids=list(article_ids))


def review_owner(article: Article) -> Any:
    """Who answers for the article's accuracy: its owner, else its author."""
    return article.owner if article.owner_id else article.author
