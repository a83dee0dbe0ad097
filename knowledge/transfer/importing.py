"""Articles read back from markdown files (the export's format, see knowledge.transfer.export).

An article keeps its slug, type, team, services, tags, author and owner, and its review dates.
Its history starts again with one revision, "Imported from <file>", by the person importing.
State: only editors and admins import an article as published or archived (publishing is an
editor's decision here too); anyone else's import is a draft, or in review when the file says
so and they may submit it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.text import slugify

from kbsite.errors import DomainError, InvalidInput
from kbsite.models import Service, Team
from kbsite.roles import Role, user_has_role
from knowledge.models import Article, ArticleEvent, ArticleRevision, ArticleState, KnowledgeType
from knowledge.permissions import can_edit, can_view
from knowledge.services import (
    ArticleContent,
    article_archive,
    article_create,
    article_publish,
    article_submit,
)
from knowledge.transfer.documents import (
    list_value,
    parse_date,
    parse_time,
    split_at_headings,
    split_front_matter,
    text_value,
)
from knowledge.transfer.export import FIELD_HEADINGS
from knowledge.transfer.report import FileResult, Outcome
from knowledge.transfer.runs import file_transaction

MAX_SLUG_LENGTH = 220
_HEADING_KEYS = {heading.lower(): name for name, heading in FIELD_HEADINGS.items()} | {
    "body": "body"
}


@dataclass(frozen=True)
class ArticleFile:
    """An article file's fields, checked for shape (not yet against the database)."""

    title: str
    slug: str
    knowledge_type: str
    state: str
    team: str
    services: list[str]
    tags: list[str]
    review_due: date | None
    last_reviewed_at: datetime | None
    published_at: datetime | None
    author: str
    owner: str
    content: dict[str, str]
    preamble: str


def _choice(front: dict[str, Any], key: str, choices: list[str], default: str) -> str:
    value = text_value(front, key).lower() or default
    if value not in choices:
        raise InvalidInput(f"`{key}` must be one of: {', '.join(choices)}.", field=key)
    return value


def article_file_parse(*, front: dict[str, Any], body: str) -> ArticleFile:
    """The article a file describes; InvalidInput naming the field when it cannot be read."""
    title, content, preamble = split_at_headings(body, names=_HEADING_KEYS)
    slug = text_value(front, "slug")
    if slug and (slugify(slug) != slug or len(slug) > MAX_SLUG_LENGTH):
        raise InvalidInput(
            f"`slug` {slug[:40]!r} is not a slug: lower-case letters, digits and hyphens.",
            field="slug",
        )
    return ArticleFile(
        title=text_value(front, "title") or title,
        slug=slug,
        knowledge_type=_choice(
            front, "knowledge_type", list(KnowledgeType.values), KnowledgeType.TECHNICAL
        ),
        state=_choice(front, "state", list(ArticleState.values), ArticleState.DRAFT),
        team=text_value(front, "team"),
        services=list_value(front, "services"),
        tags=list_value(front, "tags"),
        review_due=parse_date(front.get("review_due"), field="review_due"),
        last_reviewed_at=parse_time(front.get("last_reviewed_at"), field="last_reviewed_at"),
        published_at=parse_time(front.get("published_at"), field="published_at"),
        author=text_value(front, "author"),
        owner=text_value(front, "owner"),
        content={name: content.get(name, "") for name in FIELD_HEADINGS},
        preamble=preamble,
    )


def _person(username: str, *, role: str, result: FileResult) -> Any:
    if not username:
        return None
    person = get_user_model().objects.filter(username=username, is_active=True).first()
    if person is None:
        result.warnings.append(f"The {role} {username!r} has no active account here.")
    return person


def _catalog(parsed: ArticleFile) -> tuple[Team | None, list[Service]]:
    team = None
    if parsed.team:
        team = Team.objects.filter(slug=parsed.team).first()
        if team is None:
            raise InvalidInput(
                f"Unknown team {parsed.team!r}: no team has that slug.", field="team"
            )
    services = list(Service.objects.filter(slug__in=parsed.services))
    missing = sorted(set(parsed.services) - {service.slug for service in services})
    if missing:
        raise InvalidInput(f"Unknown service: {', '.join(missing)}.", field="services")
    return team, sorted(services, key=lambda service: parsed.services.index(service.slug))


def _reach_state(
    *, article: Article, user: Any, target: str, source_name: str, result: FileResult
) -> Article:
    """Move the new draft to the file's state, as far as the importing person may take it."""
    if target == ArticleState.DRAFT:
        return article
    editor = user_has_role(user, Role.EDITOR)
    if target in (ArticleState.PUBLISHED, ArticleState.ARCHIVED) and not editor:
        result.warnings.append(
            f"The file says {target}; only editors and admins import articles in that state, "
            "so it was imported as a draft."
        )
        return article
    if target == ArticleState.ARCHIVED:
        return article_archive(article=article, user=user, comment=f"Imported from {source_name}")
    if not can_edit(user, article):
        result.warnings.append(
            "The file says in review; only its author, its owner or an editor may submit it, "
            "so it was imported as a draft."
        )
        return article
    article = article_submit(article=article, user=user)
    if target == ArticleState.PUBLISHED:
        article = article_publish(
            article=article, user=user, comment=f"Imported from {source_name}"
        )
    return article


def article_import(
    *, user: Any, parsed: ArticleFile, source_name: str, result: FileResult
) -> Article:
    """Create the article a file describes, through the knowledge services, inside the caller's
    transaction. Refusals raise DomainError; what was adjusted is added to `result.warnings`."""
    team, services = _catalog(parsed)
    author = _person(parsed.author, role="author", result=result) or user
    owner = _person(parsed.owner, role="owner", result=result)
    body = parsed.content["body"]
    if parsed.preamble:
        body = f"{parsed.preamble}\n\n{body}".strip()
        result.warnings.append("Text before the first field heading was added to Details.")
    content = ArticleContent(
        title=parsed.title,
        knowledge_type=parsed.knowledge_type,
        **{**parsed.content, "body": body},
        team=team,
        services=services,
        tag_names=parsed.tags,
    )
    with transaction.atomic():
        article = article_create(
            author=author, content=content, owner=owner, change_note=f"Imported from {source_name}"
        )
        # The history says who imported it; the article still credits its author.
        ArticleRevision.objects.filter(article=article, number=1).update(editor=user)
        ArticleEvent.objects.filter(article=article, kind=ArticleEvent.Kind.CREATED).update(
            actor=user, comment=f"Imported from {source_name}"
        )
        article = _reach_state(
            article=article,
            user=user,
            target=parsed.state,
            source_name=source_name,
            result=result,
        )
        kept: dict[str, Any] = {}
        if parsed.slug and parsed.slug != article.slug:
            kept["slug"] = parsed.slug
        if article.state == parsed.state:
            # The dates of the review the article had where it came from.
            for name in ("review_due", "last_reviewed_at", "published_at"):
                if getattr(parsed, name) is not None:
                    kept[name] = getattr(parsed, name)
        if kept:
            Article.objects.filter(pk=article.pk).update(**kept)
            article.refresh_from_db()
    return article


def article_import_file(*, user: Any, name: str, text: str, dry_run: bool) -> FileResult:
    """Import one article file (already decoded) in its own transaction; the report entry."""
    result = FileResult(name=name, kind="article")
    try:
        front, body = split_front_matter(text)
        parsed = article_file_parse(front=front, body=body)
    except DomainError as error:
        return result.refuse(error.message)
    result.title = parsed.title
    result.sections = [
        FIELD_HEADINGS[key] for key, value in parsed.content.items() if value.strip()
    ]
    if not parsed.title:
        return result.refuse("The article has no title: give `title` in the front matter.")
    if not parsed.slug:
        # The title's slug keys a file that names none, so that importing it twice is harmless.
        parsed = replace(parsed, slug=slugify(parsed.title)[:200].strip("-"))
    if parsed.slug:
        existing = Article.objects.filter(slug=parsed.slug).first()
        if existing is not None:
            result.outcome = Outcome.ALREADY_IMPORTED
            result.url = existing.get_absolute_url() if can_view(user, existing) else ""
            return result
    try:
        with file_transaction(dry_run=dry_run):
            article = article_import(user=user, parsed=parsed, source_name=name, result=result)
            result.url = "" if dry_run else article.get_absolute_url()
    except DomainError as error:
        result.warnings.clear()
        return result.refuse(error.message)
    result.outcome = Outcome.WOULD_CREATE if dry_run else Outcome.CREATED
    return result
