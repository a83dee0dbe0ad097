"""Helpers shared by the postmortems page tests."""

from __future__ import annotations

import re
from html import unescape

from django.contrib.messages import get_messages
from django.urls import reverse


def url(name: str, *args: object) -> str:
    return reverse(f"postmortems:{name}", args=args)


def html_of(response) -> str:
    return response.content.decode()


def main_of(response) -> str:
    html = html_of(response)
    return html[html.index('<main id="main"') : html.index("</main>")]


def text_of(html: str) -> str:
    """The visible text, whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def incident_ids_listed(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-incident-id="(\d+)"', html_of(response))]


def index_all_articles() -> None:
    """Articles made by factories skip the search index that the services keep; index them as
    the services would (PostgreSQL ranks only indexed rows)."""
    from knowledge.models import Article
    from knowledge.search import index_articles

    index_articles(article_ids=list(Article.objects.values_list("pk", flat=True)))
