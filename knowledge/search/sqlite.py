"""SQLite search: an FTS5 table (`knowledge_article_fts`, migration 0002) ranked by coverage
and bm25 with column weights; FTS5's snippet() marks the matches."""

from __future__ import annotations

from django.db import connections
from django.db.models import QuerySet

from knowledge.models import Article
from knowledge.search.query import ParsedQuery, Ranked, prefix_stem

SQLITE_BM25_WEIGHTS = (10.0, 4.0, 2.0, 1.0)  # title, symptoms+tags, details, body+environment


def _fts_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _fts_word(word: str, correction: str | None) -> str:
    options = [_fts_string(word)]
    stem = prefix_stem(word)
    if len(stem) >= 3 and not word.isdigit():
        options.append(_fts_string(stem) + "*")
    if correction:
        options.append(_fts_string(correction))
    return "(" + " OR ".join(options) + ")"


def _match(parsed: ParsedQuery) -> str:
    parts = []
    if parsed.words:
        words = [_fts_word(w, parsed.corrections.get(w)) for w in parsed.words]
        parts.append("(" + " OR ".join(words) + ")")
    parts += [_fts_string(p) for p in parsed.phrases]
    expression = "(" + " AND ".join(parts) + ")"
    for excluded in parsed.excluded:
        expression += " NOT " + _fts_string(excluded)
    return expression


def sqlite_ranked(
    base: QuerySet[Article], parsed: ParsedQuery, sort: str, limit: int, offset: int
) -> list[Ranked]:
    """Up to `limit + 1` matching ids from `offset`, best first (or by `sort`), each with its
    snippet source."""
    visible_sql, visible_params = base.values("id").query.sql_with_params()
    coverage = " + ".join(
        "(f.rowid IN (SELECT rowid FROM knowledge_article_fts WHERE knowledge_article_fts "
        "MATCH %s))"
        for _ in parsed.words
    )
    coverage_params = [_fts_word(w, parsed.corrections.get(w)) for w in parsed.words]
    weights = ", ".join(str(w) for w in SQLITE_BM25_WEIGHTS)
    order = {
        "relevance": "score DESC, a.updated_at DESC, a.id DESC",
        "updated": "a.updated_at DESC, a.id DESC",
        "helpful": "a.helpful_count DESC, a.updated_at DESC, a.id DESC",
        "title": "a.title, a.id",
    }[sort]
    sql = (
        # Only constants and Django's own compiled SQL are formatted in; values are parameters.
        f"SELECT f.rowid, ({coverage or '0'}) - bm25(knowledge_article_fts, {weights}) / 1000.0 "  # noqa: S608
        f"AS score, snippet(knowledge_article_fts, -1, char(2), char(3), ' … ', 24) "
        f"FROM knowledge_article_fts AS f JOIN knowledge_article AS a ON a.id = f.rowid "
        f"WHERE knowledge_article_fts MATCH %s AND f.rowid IN ({visible_sql}) "
        f"ORDER BY {order} LIMIT %s OFFSET %s"
    )
    params = [*coverage_params, _match(parsed), *visible_params, limit + 1, offset]
    with connections[base.db].cursor() as cursor:
        cursor.execute(sql, params)
        return [(pk, float(score), snippet) for pk, score, snippet in cursor.fetchall()]
