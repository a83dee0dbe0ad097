"""The entry point: a query and filters in, a page of visible articles with snippets out.

Query count per search is constant: a vocabulary look-up, the ranked ids, then the page's
articles with their team, services and tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import QuerySet

from knowledge.models import Article
from knowledge.permissions import articles_visible_q
from knowledge.search import postgres, sqlite
from knowledge.search.corrections import pg_terms, sqlite_corrections, with_corrections
from knowledge.search.gaps import record_search_gap
from knowledge.search.query import (
    MAX_LIMIT,
    MAX_OFFSET,
    NO_FILTERS,
    SORT_ORDER,
    SORTS,
    ParsedQuery,
    Ranked,
    SearchFilters,
    corrections_message,
    filter_problem,
    filters_q,
    no_results_message,
    parse_query,
    truncated_message,
    unknown_sort_message,
    unsearchable_message,
)
from knowledge.search.snippets import plain_snippet, snippet


@dataclass(frozen=True)
class SearchHit:
    article: Article
    rank: float
    snippet: str  # safe HTML: the text escaped first, then matches wrapped in <mark>


@dataclass(frozen=True)
class SearchPage:
    query: str
    hits: list[SearchHit]
    has_more: bool
    message: str = ""  # explains a cut query, a typo correction, stop words, no results


def article_search(
    *,
    query: str,
    user: Any,
    filters: SearchFilters = NO_FILTERS,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
    record_gap: bool = True,
) -> SearchPage:
    """Articles visible to `user` matching `query` and `filters`, best first (or by `sort`).

    Never raises on user input: an empty, hostile or unusable query gives a page with a
    `message`. A searchable query that finds nothing, with no filter narrowing it, is recorded
    as a knowledge gap (unless `record_gap` is False).
    """
    parsed = parse_query(query)
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, min(int(offset), MAX_OFFSET))
    notes: list[str] = []
    if parsed.truncated:
        notes.append(truncated_message())
    if sort not in SORTS:
        notes.append(unknown_sort_message(sort))
        sort = "relevance"
    problem = filter_problem(filters)
    if problem:
        return SearchPage(query=parsed.text, hits=[], has_more=False, message=problem)

    base = Article.objects.filter(articles_visible_q(user)).filter(filters_q(filters))
    if not parsed.text:
        return _listing(base, parsed, sort, limit, offset, notes)
    if not parsed.searchable:
        notes.append(unsearchable_message(parsed))
        return SearchPage(query=parsed.text, hits=[], has_more=False, message=" ".join(notes))

    vendor = connections[base.db].vendor
    texts: postgres.QueryTexts | None = None
    if vendor == "postgresql":
        terms = pg_terms(parsed, base.db)
        parsed = with_corrections(parsed, terms.corrections)
        texts = postgres.QueryTexts.of(parsed, terms.queries)
        ranked = postgres.pg_ranked(base, texts, sort, limit, offset)
    else:
        parsed = with_corrections(parsed, sqlite_corrections(parsed.words, base.db))
        ranked = sqlite.sqlite_ranked(base, parsed, sort, limit, offset)
    also = corrections_message(parsed)
    if also:
        notes.append(also)
    has_more = len(ranked) > limit
    ranked = ranked[:limit]
    hits = _hits(ranked, texts, base.db)
    if not hits and offset == 0:
        notes.append(no_results_message(parsed))
        if record_gap and filters.is_empty():
            record_search_gap(query=parsed.text)
    return SearchPage(query=parsed.text, hits=hits, has_more=has_more, message=" ".join(notes))


def _page_queryset(qs: QuerySet[Article]) -> QuerySet[Article]:
    return qs.select_related("team", "author", "owner").prefetch_related("services", "tags")


def _listing(
    base: QuerySet[Article],
    parsed: ParsedQuery,
    sort: str,
    limit: int,
    offset: int,
    notes: list[str],
) -> SearchPage:
    """No query: the visible articles in `sort` order (relevance means most recently updated)."""
    order = SORT_ORDER.get(sort, SORT_ORDER["updated"])
    articles = list(_page_queryset(base.order_by(*order)[offset : offset + limit + 1]))
    hits = [
        SearchHit(article=a, rank=0.0, snippet=plain_snippet(a.symptoms or a.body))
        for a in articles[:limit]
    ]
    return SearchPage(
        query=parsed.text, hits=hits, has_more=len(articles) > limit, message=" ".join(notes)
    )


def _hits(
    ranked: Sequence[Ranked], texts: postgres.QueryTexts | None, using: str
) -> list[SearchHit]:
    """The ranked articles with their snippets: ts_headline on PostgreSQL (`texts` given),
    the highlighted text the ranking already chose on SQLite."""
    if not ranked:
        return []
    ids = [row[0] for row in ranked]
    qs = _page_queryset(Article.objects.using(using).filter(id__in=ids))
    if texts is not None:
        qs = postgres.with_headline(qs, texts)
    articles = {a.pk: a for a in qs}
    hits = []
    for row in ranked:
        article = articles.get(row[0])
        if article is None:  # deleted between the two queries
            continue
        raw = getattr(article, "headline", None) if texts is not None else row[2]
        text = snippet(raw, fallback=article.symptoms or article.body)
        hits.append(SearchHit(article=article, rank=float(row[1]), snippet=text))
    return hits
