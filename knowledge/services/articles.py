"""Creating and editing article content: every save is a new revision and a new version."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from kbsite.models import Service, Team
from kbsite.services import tags_get_or_create
from knowledge.markdown import render_markdown
from knowledge.models import CONTENT_FIELDS, Article, ArticleEvent, ArticleRevision, ArticleState
from knowledge.permissions import can_edit
from knowledge.services.common import (
    MAX_CHANGE_NOTE_LENGTH,
    ArticleContent,
    ArticleError,
    ArticlePermissionError,
    ArticleStateError,
    article_content_clean,
    event_record,
    fresh,
    reindex,
    stale,
    text_clean,
)

EDITABLE_STATES = (ArticleState.DRAFT, ArticleState.IN_REVIEW, ArticleState.PUBLISHED)


def _snapshot(content: ArticleContent, *, tag_names: list[str]) -> dict[str, Any]:
    snapshot: dict[str, Any] = {"title": content.title, "knowledge_type": content.knowledge_type}
    snapshot.update({name: getattr(content, name) for name in CONTENT_FIELDS})
    snapshot["team"] = content.team.slug if content.team is not None else None
    snapshot["services"] = sorted(service.slug for service in content.services)
    snapshot["tags"] = sorted(tag_names)
    return snapshot


def _rendered(content: ArticleContent) -> dict[str, str]:
    return {name: render_markdown(getattr(content, name)) for name in CONTENT_FIELDS}


def _columns(content: ArticleContent, *, tags_text: str) -> dict[str, Any]:
    columns: dict[str, Any] = {"title": content.title, "knowledge_type": content.knowledge_type}
    columns.update({name: getattr(content, name) for name in CONTENT_FIELDS})
    columns["rendered"] = _rendered(content)
    columns["team"] = content.team
    columns["tags_text"] = tags_text
    return columns


def _set_relations(article: Article, content: ArticleContent) -> list[str]:
    """Set services and tags (creating missing tags); return the tag names as stored."""
    tags = tags_get_or_create(names=list(content.tag_names))
    article.services.set(content.services)
    article.tags.set(tags)
    return [tag.name for tag in tags]


def _unique_slug(title: str) -> str:
    base = slugify(title)[:200].strip("-") or "article"
    if not Article.objects.filter(slug=base).exists():
        return base
    return f"{base}-{secrets.token_hex(3)}"


def article_create(
    *, author: Any, content: ArticleContent, owner: Any = None, change_note: str = ""
) -> Article:
    """Create a draft article from `content`, with revision 1 and a CREATED event.

    Anyone signed in may write a draft. Raises ArticleError naming the bad field.
    """
    if not getattr(author, "is_authenticated", False) or not author.is_active:
        raise ArticlePermissionError("Sign in with an active account to write an article.")
    content = article_content_clean(content)
    note = text_clean(change_note, field="change_note", limit=MAX_CHANGE_NOTE_LENGTH, what="")
    rendered = _rendered(content)
    with transaction.atomic():
        for _attempt in range(3):
            try:
                with transaction.atomic():
                    article = Article.objects.create(
                        title=content.title,
                        slug=_unique_slug(content.title),
                        knowledge_type=content.knowledge_type,
                        **{name: getattr(content, name) for name in CONTENT_FIELDS},
                        rendered=rendered,
                        team=content.team,
                        author=author,
                        owner=owner,
                        state=ArticleState.DRAFT,
                        version=1,
                    )
                break
            except IntegrityError:  # two articles with one title at the same instant
                continue
        else:  # pragma: no cover - three slug collisions in a row
            raise ArticleError("Could not save the article; try again.", field="title")
        tag_names = _set_relations(article, content)
        Article.objects.filter(pk=article.pk).update(tags_text=" ".join(tag_names))
        ArticleRevision.objects.create(
            article=article,
            number=1,
            editor=author,
            change_note=note,
            snapshot=_snapshot(content, tag_names=tag_names),
        )
        event_record(article=article, kind=ArticleEvent.Kind.CREATED, actor=author)
        reindex([article.pk])
    return fresh(article)


def _check_editable(article: Article, editor: Any) -> None:
    if article.state == ArticleState.ARCHIVED:
        raise ArticleStateError(
            "This article is archived.",
            reasons=["Archived articles cannot be edited; restore it to a draft first."],
        )
    if not can_edit(editor, article):
        raise ArticlePermissionError(
            "Only the author, the owner or an editor can change this article; once it is "
            "published, only editors can."
        )


def _save_content(
    *, article: Article, editor: Any, content: ArticleContent, expected_version: int, note: str
) -> Article:
    """The conditional UPDATE behind every content save; runs inside the caller's atomic block."""
    tags_text = " ".join(content.tag_names)
    changed = Article.objects.filter(
        pk=article.pk, version=expected_version, state__in=EDITABLE_STATES
    ).update(
        **_columns(content, tags_text=tags_text),
        version=expected_version + 1,
        updated_at=timezone.now(),
    )
    if changed != 1:
        current = fresh(article)
        if current.version != expected_version:
            raise stale(current)
        _check_editable(current, editor)
        raise stale(current)
    tag_names = _set_relations(article, content)
    if " ".join(tag_names) != tags_text:  # existing tags keep their own spelling
        Article.objects.filter(pk=article.pk).update(tags_text=" ".join(tag_names))
    ArticleRevision.objects.create(
        article=article,
        number=expected_version + 1,
        editor=editor,
        change_note=note,
        snapshot=_snapshot(content, tag_names=tag_names),
    )
    reindex([article.pk])
    return fresh(article)


def article_update(
    *,
    article: Article,
    editor: Any,
    content: ArticleContent,
    expected_version: int,
    change_note: str = "",
) -> Article:
    """Save new content as revision `expected_version + 1`.

    Raises ArticleStaleVersion (with the current article) when someone saved first,
    ArticlePermissionError, ArticleStateError for archived articles, ArticleError for bad input.
    """
    _check_editable(article, editor)
    content = article_content_clean(content)
    note = text_clean(change_note, field="change_note", limit=MAX_CHANGE_NOTE_LENGTH, what="")
    with transaction.atomic():
        return _save_content(
            article=article,
            editor=editor,
            content=content,
            expected_version=expected_version,
            note=note,
        )


def _content_from_snapshot(snapshot: dict[str, Any]) -> ArticleContent:
    """An old revision's content; a team or service deleted since then is left out."""
    team_slug = snapshot.get("team")
    team = Team.objects.filter(slug=team_slug).first() if team_slug else None
    services = tuple(Service.objects.filter(slug__in=snapshot.get("services") or []))
    return ArticleContent(
        title=snapshot.get("title", ""),
        knowledge_type=snapshot.get("knowledge_type", ""),
        **{name: snapshot.get(name) or "" for name in CONTENT_FIELDS},
        team=team,
        services=services,
        tag_names=tuple(snapshot.get("tags") or ()),
    )


def article_revert(
    *,
    article: Article,
    user: Any,
    revision_number: int,
    expected_version: int,
    change_note: str = "",
) -> Article:
    """Restore revision `revision_number`'s content as a new revision, with a REVERTED event."""
    _check_editable(article, user)
    revision = ArticleRevision.objects.filter(article=article, number=revision_number).first()
    if revision is None:
        raise ArticleError(
            f"This article has no revision {revision_number}.", field="revision_number"
        )
    content = article_content_clean(_content_from_snapshot(revision.snapshot))
    note = text_clean(change_note, field="change_note", limit=MAX_CHANGE_NOTE_LENGTH, what="")
    note = note or f"Restored revision {revision_number}."
    with transaction.atomic():
        article = _save_content(
            article=article,
            editor=user,
            content=content,
            expected_version=expected_version,
            note=note,
        )
        event_record(
            article=article,
            kind=ArticleEvent.Kind.REVERTED,
            actor=user,
            comment=f"Restored revision {revision_number} as revision {article.version}.",
        )
    return article
