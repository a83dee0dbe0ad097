"""The search and list page."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from knowledge import selectors
from knowledge.forms import MAX_PAGE, PAGE_SIZE, SORT_LABELS, SearchForm
from knowledge.models import Article
from knowledge.views.common import create_url, page_render

NO_MATCH_NOTE = re.compile(r"No articles match “[^”]*”\.")


@dataclass(frozen=True)
class ResultRow:
    article: Article
    snippet: SafeString | None = None


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Ranked search when there is a query, else the articles the person may read."""
    form = SearchForm(request.GET)
    form.is_valid()
    query = form.value("q") or ""
    page = form.value("page") or 1
    offset = (page - 1) * PAGE_SIZE
    filters = form.filters()
    message = ""
    if query:
        sort = form.value("sort") or "relevance"
        result = selectors.article_search(
            query=query,
            user=request.user,
            filters=filters,
            sort=sort,
            limit=PAGE_SIZE,
            offset=offset,
            record_gap=offset == 0,
        )
        # The snippet is escaped before <mark> is added (knowledge.search's contract).
        rows = [ResultRow(hit.article, mark_safe(hit.snippet)) for hit in result.hits]  # noqa: S308
        has_more, message = result.has_more, result.message
        if not rows:  # The empty state below says it in its own words.
            message = NO_MATCH_NOTE.sub("", message).strip()
    else:
        sort = form.value("sort") or "updated"
        if sort == "relevance":
            sort = "updated"
        articles = list(
            selectors.article_list_for_user(user=request.user, filters=filters, sort=sort)[
                offset : offset + PAGE_SIZE + 1
            ]
        )
        has_more = len(articles) > PAGE_SIZE
        rows = [ResultRow(article) for article in articles[:PAGE_SIZE]]
    context = {
        "form": form,
        "query": query,
        "rows": rows,
        "sort": sort,
        "sort_label": SORT_LABELS[sort],
        "message": message,
        "page_number": page,
        "previous_url": _page_url(request, page - 1) if page > 1 else None,
        "next_url": _page_url(request, page + 1) if has_more and page < MAX_PAGE else None,
        "create_url": create_url(title=query),
    }
    return page_render(request, "knowledge/index.html", context)


def _page_url(request: HttpRequest, page: int) -> str:
    params = request.GET.copy()
    params["page"] = str(page)
    return f"{reverse('knowledge:index')}?{params.urlencode()}"
