"""Ranked article search: one interface over PostgreSQL full-text search and SQLite FTS5.

A responder types symptoms in plain words, so a query is read as:
- plain words are OR-ed and results are ranked by *coverage* (how many of the words an article
  contains) and then by the weighted text rank; one absent word never empties the result;
- "quoted phrases" are required; -word and -"a phrase" exclude;
- a word found nowhere in the articles is also searched as the closest known word (typos).

Modules, by idea:
- `query`: reading the user's words, filters, sorts, limits and the messages shown;
- `corrections`: typo correction against the indexed vocabulary;
- `postgres`: candidate tiers, ranking and ts_headline snippets (only a bounded candidate set
  is ranked: ranking every match costs 100-220 ms for a word in most of 100k articles);
- `sqlite`: the FTS5 path, ranked with bm25 and column weights;
- `snippets`: escaping, then <mark>;
- `gaps`: counting searches that found nothing;
- `indexing`: keeping the index in step with the rows;
- `engine`: `article_search`, which ties them together.

Import from `knowledge.search`, not from the modules: this is the interface.
"""

from __future__ import annotations

from knowledge.search.engine import SearchHit, SearchPage, article_search
from knowledge.search.gaps import normalize_gap_query, record_search_gap
from knowledge.search.indexing import (
    INDEX_FIELD_CHARS,
    PG_VECTOR_SQL,
    PG_VOCABULARY_SQL,
    index_articles,
)
from knowledge.search.postgres import CONFIG
from knowledge.search.query import (
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_QUERY_LENGTH,
    MAX_TERM_LENGTH,
    MAX_WORDS,
    SORTS,
    ParsedQuery,
    SearchFilters,
    parse_query,
    prefix_stem,
)
from knowledge.search.snippets import highlight
from knowledge.search.stop_words import STOP_WORDS

__all__ = [
    "CONFIG",
    "INDEX_FIELD_CHARS",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "MAX_QUERY_LENGTH",
    "MAX_TERM_LENGTH",
    "MAX_WORDS",
    "PG_VECTOR_SQL",
    "PG_VOCABULARY_SQL",
    "SORTS",
    "STOP_WORDS",
    "ParsedQuery",
    "SearchFilters",
    "SearchHit",
    "SearchPage",
    "article_search",
    "highlight",
    "index_articles",
    "normalize_gap_query",
    "parse_query",
    "prefix_stem",
    "record_search_gap",
]
