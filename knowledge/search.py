"""Ranked article search: one interface over PostgreSQL full-text search and SQLite FTS5.

A responder types symptoms in plain words, so a query is read as:
- plain words are OR-ed and results are ranked by *coverage* (how many of the words an article
  contains) and then by the weighted text rank; one absent word never empties the result;
- "quoted phrases" are required; -word and -"a phrase" exclude;
- a word found nowhere in the articles is also searched as the closest known word (typos).

PostgreSQL: `Article.search_vector` holds title (A), symptoms and tags (B), cause, resolution
and prevention (C), body and environment (D). Ranking every match with ts_rank costs 100-220 ms
for a word in most of 100k articles, so only a bounded candidate set is ranked, gathered in
tiers from title/symptoms/tag matches and all matches (see `_pg_candidate_ids`).
SQLite: an FTS5 table (`knowledge_article_fts`) ranked with bm25 and column weights.

Query count per search is constant: a vocabulary look-up, the ranked ids, then the page's
articles with their team, services and tags.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
)
from django.db import IntegrityError, connections, transaction
from django.db.models import (
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from knowledge.models import Article, ArticleState, KnowledgeType, SearchGap
from knowledge.permissions import articles_visible_q

SORTS = ("relevance", "updated", "helpful", "title")
MAX_OFFSET = 1000
MAX_LIMIT = 100
MAX_QUERY_LENGTH = 256  # characters kept of a query; longer input is cut, and the page says so
MAX_WORDS = 12  # plain words searched (after stop words); more add noise, not precision
MAX_TERM_LENGTH = 40
CANDIDATES = 100  # rows per candidate tier ranked exactly (at least offset + limit + 1)
SNIPPET_SOURCE_CHARS = 20_000  # text ts_headline reads per hit
INDEX_FIELD_CHARS = 200_000  # text indexed per field (keeps a tsvector well under 1 MB)
CONFIG = "english"
WEIGHTS = [0.1, 0.2, 0.4, 1.0]  # D, C, B, A
SQLITE_BM25_WEIGHTS = (10.0, 4.0, 2.0, 1.0)  # title, symptoms+tags, details, body+environment

# PostgreSQL's english stop words (tsearch_data/english.stop), so both backends agree on what
# "only stop words" means.
STOP_WORDS = frozenset(
    [
        "i",
        "me",
        "my",
        "myself",
        "we",
        "our",
        "ours",
        "ourselves",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "he",
        "him",
        "his",
        "himself",
        "she",
        "her",
        "hers",
        "herself",
        "it",
        "its",
        "itself",
        "they",
        "them",
        "their",
        "theirs",
        "themselves",
        "what",
        "which",
        "who",
        "whom",
        "this",
        "that",
        "these",
        "those",
        "am",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "have",
        "has",
        "had",
        "having",
        "do",
        "does",
        "did",
        "doing",
        "a",
        "an",
        "the",
        "and",
        "but",
        "if",
        "or",
        "because",
        "as",
        "until",
        "while",
        "of",
        "at",
        "by",
        "for",
        "with",
        "about",
        "against",
        "between",
        "into",
        "through",
        "during",
        "before",
        "after",
        "above",
        "below",
        "to",
        "from",
        "up",
        "down",
        "in",
        "out",
        "on",
        "off",
        "over",
        "under",
        "again",
        "further",
        "then",
        "once",
        "here",
        "there",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "no",
        "nor",
        "not",
        "only",
        "own",
        "same",
        "so",
        "than",
        "too",
        "very",
        "s",
        "t",
        "can",
        "will",
        "just",
        "don",
        "should",
        "now",
    ]
)

_START, _STOP = "\x02", "\x03"  # highlight markers: never in escaped text, replaced by <mark>

# The weighted vector of one article row (alias "a"); kept in one place for index_articles,
# seed_synthetic and the migration.
PG_VECTOR_SQL = f"""
    setweight(to_tsvector('{CONFIG}', left(coalesce(a.title, ''), 500)), 'A')
 || setweight(to_tsvector('{CONFIG}',
        left(a.symptoms || ' ' || a.tags_text, {INDEX_FIELD_CHARS})), 'B')
 || setweight(to_tsvector('{CONFIG}',
        left(a.cause || ' ' || a.resolution || ' ' || a.prevention, {INDEX_FIELD_CHARS})), 'C')
 || setweight(to_tsvector('{CONFIG}',
        left(a.body || ' ' || a.environment, {INDEX_FIELD_CHARS})), 'D')
"""
# Words of the fields a responder is most likely to misspell, unstemmed, for typo correction.
PG_VOCABULARY_SQL = f"""
    INSERT INTO knowledge_search_term (word)
    SELECT DISTINCT w.word FROM knowledge_article a,
        unnest(tsvector_to_array(to_tsvector('simple', left(
            a.title || ' ' || a.tags_text || ' ' || a.symptoms || ' ' || a.cause || ' '
            || a.resolution || ' ' || a.prevention, {INDEX_FIELD_CHARS})))) AS w(word)
    WHERE a.id = ANY(%s) AND length(w.word) BETWEEN 3 AND {MAX_TERM_LENGTH}
        AND w.word ~ '^[[:alpha:]]'
    ORDER BY w.word
    ON CONFLICT (word) DO NOTHING
"""  # noqa: S608 - constants only
PG_CORRECTION_SQL = """
    SELECT w.word,
        CASE WHEN NOT EXISTS (SELECT 1 FROM knowledge_search_term t WHERE t.word = w.word) THEN
            ARRAY(
                SELECT t.word FROM knowledge_search_term t
                WHERE t.word %% w.word AND left(t.word, 1) = left(w.word, 1)
                ORDER BY similarity(t.word, w.word) DESC, t.word LIMIT 8
            )
        END
    FROM unnest(%s::text[]) AS w(word)
"""


@dataclass(frozen=True)
class SearchFilters:
    knowledge_type: str | None = None
    state: str | None = None  # None: every visible state except archived
    service: str | None = None  # slug
    tag: str | None = None  # slug
    team: str | None = None  # slug

    def is_empty(self) -> bool:
        return not any((self.knowledge_type, self.state, self.service, self.tag, self.team))


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


@dataclass(frozen=True)
class ParsedQuery:
    """A query as the search reads it. `words` are lower case, stop words removed."""

    text: str  # the query as searched: normalized and cut to MAX_QUERY_LENGTH
    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()  # words or phrases
    truncated: bool = False
    only_stop_words: bool = False
    corrections: dict[str, str] = field(default_factory=dict)  # word -> closest known word

    @property
    def searchable(self) -> bool:
        return bool(self.words or self.phrases)


Ranked = tuple[int, float, str]  # article id, score, highlighted snippet source (SQLite)

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+")


def _normalize(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw or "")
    text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    return " ".join(text.split())


def parse_query(raw: str) -> ParsedQuery:
    """Split a query into plain words, required phrases and exclusions. Never raises."""
    text = _normalize(raw)
    truncated = len(text) > MAX_QUERY_LENGTH
    text = text[:MAX_QUERY_LENGTH]
    words: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    stop_words_seen = False
    for match in _TOKEN.finditer(text):
        negated, quoted, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None:
            negated = "-" if bare.startswith("-") and len(bare) > 1 else ""
            quoted = None
        pieces = [p[:MAX_TERM_LENGTH] for p in _WORD.findall((quoted or bare or "").lower())]
        if not pieces:
            continue
        if negated:
            excluded.append(" ".join(pieces))
        elif quoted is not None and len(pieces) > 1:
            phrases.append(" ".join(pieces))
        else:
            for piece in pieces:
                if piece in STOP_WORDS:
                    stop_words_seen = True
                elif piece not in words and (len(piece) > 1 or piece.isdigit()):
                    words.append(piece)
    return ParsedQuery(
        text=text,
        words=tuple(words[:MAX_WORDS]),
        phrases=tuple(dict.fromkeys(phrases))[:4],
        excluded=tuple(dict.fromkeys(excluded))[:8],
        truncated=truncated,
        only_stop_words=stop_words_seen and not words and not phrases,
    )


def prefix_stem(word: str) -> str:
    """A crude stem for prefix matching on SQLite ("returns" -> "return", "expired" -> "expir")."""
    for suffix in ("ations", "ation", "ings", "ing", "edly", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _is_variant(word: str, other: str) -> bool:
    """True when `other` is only another form of `word` (no correction worth showing)."""
    a, b = prefix_stem(word), prefix_stem(other)
    return a.startswith(b) or b.startswith(a)


# --- entry points ----------------------------------------------------------------------------


def article_search(
    *,
    query: str,
    user: Any,
    filters: SearchFilters = SearchFilters(),
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
        notes.append(f"Your search was shortened to its first {MAX_QUERY_LENGTH} characters.")
    if sort not in SORTS:
        notes.append(f"Unknown sort “{sort[:30]}”: sorted by relevance.")
        sort = "relevance"
    filter_problem = _filter_problem(filters)
    if filter_problem:
        return SearchPage(query=parsed.text, hits=[], has_more=False, message=filter_problem)

    base = Article.objects.filter(articles_visible_q(user)).filter(_filters_q(filters))
    if not parsed.text:
        return _listing(base, parsed, sort, limit, offset, notes)
    if not parsed.searchable:
        if parsed.only_stop_words:
            notes.append(
                f"“{parsed.text[:60]}” has only very common words: add a more specific word."
            )
        elif parsed.excluded:
            notes.append("Add a word to search for: a minus sign only excludes words.")
        else:
            notes.append("Nothing to search for: type a word with letters or digits.")
        return SearchPage(query=parsed.text, hits=[], has_more=False, message=" ".join(notes))

    vendor = connections[base.db].vendor
    if vendor == "postgresql":
        parsed = _with_corrections(parsed, _pg_corrections(parsed.words, base.db))
        ranked = _pg_ranked(base, parsed, sort, limit, offset)
    else:
        parsed = _with_corrections(parsed, _sqlite_corrections(parsed.words, base.db))
        ranked = _sqlite_ranked(base, parsed, sort, limit, offset)
    shown = [w for w, c in parsed.corrections.items() if not _is_variant(w, c)]
    if shown:
        also = ", ".join(f"“{parsed.corrections[w]}”" for w in shown)
        notes.append(f"Also searched for {also}.")
    has_more = len(ranked) > limit
    ranked = ranked[:limit]
    hits = _hits(ranked, parsed, vendor, base.db)
    if not hits and offset == 0:
        notes.append(f"No articles match “{parsed.text[:60]}”.")
        if record_gap and filters.is_empty():
            record_search_gap(query=parsed.text)
    return SearchPage(query=parsed.text, hits=hits, has_more=has_more, message=" ".join(notes))


def index_articles(*, article_ids: Iterable[int], using: str = "default") -> None:
    """Bring the search index of these articles in step with their rows (absent ids: removed)."""
    ids = sorted({int(pk) for pk in article_ids})
    if not ids:
        return
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE knowledge_article AS a SET search_vector = {PG_VECTOR_SQL} "  # noqa: S608
                "WHERE a.id = ANY(%s)",
                [ids],
            )
            cursor.execute(PG_VOCABULARY_SQL, [ids])
        elif connection.vendor == "sqlite":
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"DELETE FROM knowledge_article_fts WHERE rowid IN ({marks})",  # noqa: S608
                    chunk,
                )
                cursor.execute(
                    "INSERT INTO knowledge_article_fts (rowid, title, symptoms, details, body) "  # noqa: S608
                    "SELECT id, title, symptoms || ' ' || tags_text, "
                    "cause || ' ' || resolution || ' ' || prevention, body || ' ' || environment "
                    f"FROM knowledge_article WHERE id IN ({marks})",
                    chunk,
                )


def normalize_gap_query(query: str) -> str:
    """The key a gap is counted under: lower case, words only, single spaces."""
    return " ".join(_WORD.findall(_normalize(query).lower()))[:300]


def record_search_gap(*, query: str) -> None:
    """Count one search that found nothing (atomically; safe under concurrent searches)."""
    normalized = normalize_gap_query(query)
    if not normalized:
        return
    now = timezone.now()
    bump = {"count": F("count") + 1, "last_seen_at": now}
    if SearchGap.objects.filter(normalized_query=normalized).update(**bump):
        return
    try:
        with transaction.atomic():
            SearchGap.objects.create(
                normalized_query=normalized,
                example_query=_normalize(query)[:300],
                first_seen_at=now,
                last_seen_at=now,
            )
    except IntegrityError:  # a concurrent search created it first
        SearchGap.objects.filter(normalized_query=normalized).update(**bump)


# --- filters and plain listings --------------------------------------------------------------


def _filter_problem(filters: SearchFilters) -> str:
    if filters.knowledge_type and filters.knowledge_type not in KnowledgeType.values:
        return f"Unknown knowledge type “{filters.knowledge_type[:30]}”."
    if filters.state and filters.state not in ArticleState.values:
        return f"Unknown state “{filters.state[:30]}”."
    return ""


def _filters_q(filters: SearchFilters) -> Q:
    q = Q()
    if filters.knowledge_type:
        q &= Q(knowledge_type=filters.knowledge_type)
    q &= Q(state=filters.state) if filters.state else ~Q(state=ArticleState.ARCHIVED)
    if filters.service:
        q &= Q(services__slug=filters.service)
    if filters.tag:
        q &= Q(tags__slug=filters.tag)
    if filters.team:
        q &= Q(team__slug=filters.team)
    return q


_SORT_ORDER = {
    "updated": ("-updated_at", "-id"),
    "helpful": ("-helpful_count", "-updated_at", "-id"),
    "title": ("title", "id"),
}


def _listing(
    base: QuerySet[Article],
    parsed: ParsedQuery,
    sort: str,
    limit: int,
    offset: int,
    notes: list[str],
) -> SearchPage:
    order = _SORT_ORDER.get(sort, _SORT_ORDER["updated"])
    articles = list(_page_queryset(base.order_by(*order)[offset : offset + limit + 1]))
    hits = [
        SearchHit(article=a, rank=0.0, snippet=_plain_snippet(a.symptoms or a.body))
        for a in articles[:limit]
    ]
    return SearchPage(
        query=parsed.text, hits=hits, has_more=len(articles) > limit, message=" ".join(notes)
    )


def _page_queryset(qs: QuerySet[Article]) -> QuerySet[Article]:
    return qs.select_related("team", "author", "owner").prefetch_related("services", "tags")


# --- typo correction ---------------------------------------------------------------------------


def _with_corrections(parsed: ParsedQuery, corrections: dict[str, str]) -> ParsedQuery:
    return ParsedQuery(
        text=parsed.text,
        words=parsed.words,
        phrases=parsed.phrases,
        excluded=parsed.excluded,
        truncated=parsed.truncated,
        only_stop_words=parsed.only_stop_words,
        corrections={w: c for w, c in corrections.items() if c and c != w},
    )


def _pg_corrections(words: Sequence[str], using: str) -> dict[str, str]:
    candidates = [w for w in words if not w.isdigit() and len(w) >= 4]
    if not candidates:
        return {}
    with connections[using].cursor() as cursor:
        cursor.execute(PG_CORRECTION_SQL, [candidates])
        rows = cursor.fetchall()
    corrections = {}
    for word, known_words in rows:
        best = _closest(word, known_words or [])
        if best:
            corrections[word] = best
    return corrections


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: a swap of two neighbours counts as one edit."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def _closest(word: str, known_words: Iterable[str]) -> str | None:
    """The known word a typo most likely meant: same first letter, one edit away (two for
    words of six letters or more); None when nothing is that close."""
    allowed = 1 if len(word) <= 5 else 2
    best: tuple[int, str] | None = None
    for known in known_words:
        if not known or known[0] != word[0] or abs(len(known) - len(word)) > allowed:
            continue
        distance = _edit_distance(word, known)
        if distance <= allowed and (best is None or (distance, known) < best):
            best = (distance, known)
    return best[1] if best else None


def _sqlite_corrections(words: Sequence[str], using: str) -> dict[str, str]:
    candidates = [w for w in words if not w.isdigit() and len(w) >= 4]
    if not candidates:
        return {}
    initials = sorted({w[0] for w in candidates})
    ranges = " OR ".join("(term >= %s AND term < %s)" for _ in initials)
    params: list[str] = []
    for initial in initials:
        params += [initial, chr(ord(initial) + 1)]
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT term FROM knowledge_article_fts_vocab WHERE {ranges}",  # noqa: S608
            params,
        )
        terms = [row[0] for row in cursor.fetchall()]
    corrections = {}
    for word in candidates:
        stem = prefix_stem(word)
        if any(term.startswith(stem) for term in terms):
            continue
        close = _closest(word, terms)
        if close:
            corrections[word] = close
    return corrections


# --- PostgreSQL -------------------------------------------------------------------------------


class _Matches(Func):
    """`vector @@ query` as 0 or 1."""

    arg_joiner = " @@ "
    template = "(%(expressions)s)::int"
    output_field = IntegerField()


def _pg_word_queries(parsed: ParsedQuery) -> list[SearchQuery]:
    """One query per plain word: the word, or it and its correction."""
    queries = []
    for word in parsed.words:
        query = SearchQuery(word, config=CONFIG, search_type="plain")
        correction = parsed.corrections.get(word)
        if correction:
            query = query | SearchQuery(correction, config=CONFIG, search_type="plain")
        queries.append(query)
    return queries


def _pg_query(parsed: ParsedQuery) -> Any:
    """(word1 | word2 | …) & "phrase" & !excluded."""
    query: Any = None
    for word_query in _pg_word_queries(parsed):
        query = word_query if query is None else query | word_query
    for phrase in parsed.phrases:
        phrase_query = SearchQuery(phrase, config=CONFIG, search_type="phrase")
        query = phrase_query if query is None else query & phrase_query
    for excluded in parsed.excluded:
        query = query & ~SearchQuery(excluded, config=CONFIG, search_type="phrase")
    return query


class _HeadIds(Func):
    """Ids of up to `size` articles whose title, symptoms or tags match (migration 0002's
    `knowledge_search_head`, served by the expression index on those fields)."""

    template = "(SELECT knowledge_search_head(%(expressions)s))"
    output_field = IntegerField()


def _pg_and_query(parsed: ParsedQuery) -> Any:
    query: Any = None
    for part in _pg_word_queries(parsed) + [
        SearchQuery(p, config=CONFIG, search_type="phrase") for p in parsed.phrases
    ]:
        query = part if query is None else query & part
    for excluded in parsed.excluded:
        query = query & ~SearchQuery(excluded, config=CONFIG, search_type="phrase")
    return query


def _pg_candidate_ids(base: QuerySet[Article], parsed: ParsedQuery, size: int) -> Any:
    """A bounded set of candidate ids (a subquery) that the exact ranking then orders.

    GIN cannot order by relevance, and ranking every match costs 100-220 ms for a word in most
    of 100k articles. So candidates come in tiers, each at most `size` rows, strongest first:
    every word in title/symptoms/tags (a small expression index), every word anywhere, any
    word in title/symptoms/tags, any word anywhere. The exact rank (coverage, then weighted
    ts_rank) orders their union; an article found only by the last tier competes only when
    the stronger tiers did not fill up.
    """
    any_word = _pg_query(parsed)
    queries = [any_word]
    if len(parsed.words) > 1:
        queries.insert(0, _pg_and_query(parsed))
    tiers = []
    for query in queries:
        # Visibility and filters apply to the union below; the head tier ignores them so that
        # it stays one index scan (a filter can only make it return fewer useful ids).
        head = Article.objects.filter(id__in=_HeadIds(query, Value(size))).order_by()
        tiers.append(head.values("id"))
        # .order_by(): no sort, so each tier stops reading after `size` rows.
        tiers.append(base.filter(search_vector=query).order_by().values("id")[:size])
    first, *rest = tiers
    return first.union(*rest) if rest else first


def _pg_ranked(
    base: QuerySet[Article], parsed: ParsedQuery, sort: str, limit: int, offset: int
) -> list[Ranked]:
    query = _pg_query(parsed)
    rank: Combinable = SearchRank(F("search_vector"), query, weights=WEIGHTS, normalization=32)
    if sort != "relevance":
        order = _SORT_ORDER[sort]
        matching = base.filter(search_vector=query).order_by(*order)
        ids = matching.values_list("id", flat=True)[offset : offset + limit + 1]
        return [(pk, 0.0, "") for pk in ids]
    size = max(CANDIDATES, offset + limit + 1)
    candidates = base.filter(id__in=_pg_candidate_ids(base, parsed, size))
    # Coverage first: an article with more of the words beats one with fewer, whatever the
    # weights; rank (0..1 with normalization 32) orders articles of equal coverage.
    for word_query in _pg_word_queries(parsed):
        rank = rank + _Matches(F("search_vector"), word_query)
    rows = (
        candidates.annotate(score=rank)
        .order_by("-score", "-updated_at", "-id")
        .values_list("id", "score")[offset : offset + limit + 1]
    )
    # An article saved before indexing has no vector yet: it ranks last instead of failing.
    return [(pk, float(score or 0.0), "") for pk, score in rows]


# --- SQLite -----------------------------------------------------------------------------------


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


def _sqlite_match(parsed: ParsedQuery) -> str:
    parts = []
    if parsed.words:
        words = [_fts_word(w, parsed.corrections.get(w)) for w in parsed.words]
        parts.append("(" + " OR ".join(words) + ")")
    parts += [_fts_string(p) for p in parsed.phrases]
    expression = "(" + " AND ".join(parts) + ")"
    for excluded in parsed.excluded:
        expression += " NOT " + _fts_string(excluded)
    return expression


def _sqlite_ranked(
    base: QuerySet[Article], parsed: ParsedQuery, sort: str, limit: int, offset: int
) -> list[Ranked]:
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
    params = [*coverage_params, _sqlite_match(parsed), *visible_params, limit + 1, offset]
    with connections[base.db].cursor() as cursor:
        cursor.execute(sql, params)
        return [(pk, float(score), snippet) for pk, score, snippet in cursor.fetchall()]


# --- hits and snippets ------------------------------------------------------------------------


_MARKED = re.compile(f"{_START}(.*?){_STOP}", re.DOTALL)
_MARKDOWN_NOISE = re.compile(r"\*\*|__|`+|^\s*#{1,6}\s|^\s*>\s?", re.MULTILINE)


def highlight(text: str) -> str:
    """Escape `text`, then turn marker pairs into <mark>; stray markers are dropped."""
    cleaned = _MARKDOWN_NOISE.sub(" ", text or "")
    escaped = escape(cleaned)
    marked = _MARKED.sub(lambda m: f"<mark>{m.group(1)}</mark>", escaped)
    return mark_safe(" ".join(marked.replace(_START, "").replace(_STOP, "").split()))  # noqa: S308


def _plain_snippet(text: str, length: int = 200) -> str:
    cleaned = " ".join(_MARKDOWN_NOISE.sub(" ", text or "").split())
    if len(cleaned) > length:
        cleaned = cleaned[:length].rsplit(" ", 1)[0] + " …"
    return mark_safe(escape(cleaned))  # noqa: S308


def _hits(
    ranked: Sequence[Ranked], parsed: ParsedQuery, vendor: str, using: str
) -> list[SearchHit]:
    if not ranked:
        return []
    ids = [row[0] for row in ranked]
    qs = _page_queryset(Article.objects.using(using).filter(id__in=ids))
    if vendor == "postgresql":
        headline_query = _pg_headline_query(parsed)
        source = Substr(
            Concat(
                "symptoms",
                Value(" … "),
                "cause",
                Value(" … "),
                "resolution",
                Value(" … "),
                "body",
                output_field=TextField(),
            ),
            1,
            SNIPPET_SOURCE_CHARS,
        )
        qs = qs.annotate(
            headline=SearchHeadline(
                source,
                headline_query,
                config=CONFIG,
                start_sel=_START,
                stop_sel=_STOP,
                max_words=30,
                min_words=12,
                max_fragments=2,
                fragment_delimiter=" … ",
            )
        )
    articles = {a.pk: a for a in qs}
    hits = []
    for row in ranked:
        article = articles.get(row[0])
        if article is None:  # deleted between the two queries
            continue
        raw = getattr(article, "headline", None) if vendor == "postgresql" else row[2]
        snippet = (
            highlight(raw)
            if raw and _START in raw
            else _plain_snippet(article.symptoms or article.body)
        )
        hits.append(SearchHit(article=article, rank=float(row[1]), snippet=snippet))
    return hits


def _pg_headline_query(parsed: ParsedQuery) -> Any:
    query: Any = None
    for word_query in _pg_word_queries(parsed):
        query = word_query if query is None else query | word_query
    for phrase in parsed.phrases:
        phrase_query = SearchQuery(phrase, config=CONFIG, search_type="phrase")
        query = phrase_query if query is None else query | phrase_query
    return query
