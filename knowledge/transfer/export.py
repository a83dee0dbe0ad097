"""The knowledge base as a zip of markdown files: `<knowledge type>/<slug>.md`, each with YAML
front matter (values JSON-quoted, which YAML reads, so no value can break out of its line) and
the KCS fields under fixed headings. Attachments and video links are not exported.

The zip is the same bytes for the same articles: members in a fixed order with a fixed date.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from datetime import date
from typing import IO, Any

from django.db.models import Q, QuerySet

from kbsite.roles import Role, user_has_role
from knowledge.models import Article
from knowledge.permissions import articles_visible_q
from knowledge.transfer.documents import time_text

# KCS field → its heading in the file, in reading order. The importer reads these back.
FIELD_HEADINGS = {
    "symptoms": "Symptoms",
    "environment": "Environment",
    "cause": "Cause",
    "resolution": "Resolution",
    "prevention": "Prevention",
    "body": "Details",
}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# Other apps leave articles out of a person's export here: postmortems knows which drafts came
# from incidents the person may not see (knowledge must not know about incidents).
ExportExclusion = Callable[[Any], Q]
_exclusions: dict[str, ExportExclusion] = {}


def can_export(user: Any) -> bool:
    """Editors and admins download the knowledge base."""
    return user_has_role(user, Role.EDITOR)


def register_export_exclusion(*, name: str, exclude: ExportExclusion) -> None:
    """`exclude(user)` returns a filter of the articles to leave out of `user`'s export."""
    _exclusions[name] = exclude


def unregister_export_exclusion(*, name: str) -> None:
    _exclusions.pop(name, None)


def articles_for_export(*, user: Any | None) -> QuerySet[Article]:
    """Every article the user may read, archived ones included, in the zip's order; with no
    user (the command, which runs with the server's rights), every article."""
    articles = Article.objects.all()
    if user is not None:
        articles = articles.filter(articles_visible_q(user))
        for exclude in _exclusions.values():
            articles = articles.exclude(exclude(user))
    return (
        articles.select_related("team", "author", "owner")
        .prefetch_related("services", "tags")
        .order_by("knowledge_type", "slug")
    )


def _quoted(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _date_text(value: date | None) -> str | None:
    return value.isoformat() if value else None


def article_to_markdown(article: Article) -> str:
    """One article as a markdown file; its relations must be loaded (articles_for_export)."""
    front = {
        "kind": "article",
        "title": article.title,
        "slug": article.slug,
        "knowledge_type": article.knowledge_type,
        "state": article.state,
        "team": article.team.slug if article.team else None,
        "services": sorted(service.slug for service in article.services.all()),
        "tags": sorted(tag.name for tag in article.tags.all()),
        "review_due": _date_text(article.review_due),
        "last_reviewed_at": time_text(article.last_reviewed_at) or None,
        "published_at": time_text(article.published_at) or None,
        "author": article.author.get_username(),
        "owner": article.owner.get_username() if article.owner else None,
    }
    lines = ["---", *(f"{key}: {_quoted(value)}" for key, value in front.items()), "---", ""]
    lines += [f"# {' '.join(article.title.split())}", ""]
    for name, heading in FIELD_HEADINGS.items():
        text = getattr(article, name).strip("\n").rstrip()
        lines += [f"## {heading}", ""]
        if text:
            lines += [text, ""]
    return "\n".join(lines).rstrip() + "\n"


def article_path(article: Article) -> str:
    return f"{article.knowledge_type}/{article.slug}.md"


def knowledge_export_zip(*, user: Any | None, stream: IO[bytes]) -> int:
    """Write the articles `user` may export (all, without a user) as a zip into `stream`;
    returns how many."""
    count = 0
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for article in articles_for_export(user=user).iterator(chunk_size=200):
            member = zipfile.ZipInfo(article_path(article), date_time=ZIP_DATE)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            archive.writestr(member, article_to_markdown(article).encode("utf-8"))
            count += 1
    return count
