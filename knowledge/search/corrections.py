"""Typo correction: a word found nowhere in the articles is also searched as the closest known
word. PostgreSQL finds close words with a trigram index on the vocabulary table that
`index_articles` fills; SQLite reads the FTS5 vocabulary of the same first letters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connections

from knowledge.search.query import ParsedQuery, prefix_stem

# Every word's and phrase's tsquery text, and for each correctable word that no article holds
# the close known words (with theirs), in one round trip: the ranking then passes finished
# tsqueries to PostgreSQL instead of asking it to parse each word again in several places.
PG_TERMS_SQL = """
    SELECT 'word', w.word, plainto_tsquery('english', w.word)::text,
        CASE WHEN w.correctable
            AND NOT EXISTS (SELECT 1 FROM knowledge_search_term t WHERE t.word = w.word) THEN
            ARRAY(
                SELECT ARRAY[t.word, plainto_tsquery('english', t.word)::text]
                FROM knowledge_search_term t
                WHERE t.word %% w.word AND left(t.word, 1) = left(w.word, 1)
                ORDER BY similarity(t.word, w.word) DESC, t.word LIMIT 8
            )
        END
    FROM unnest(%s::text[], %s::boolean[]) AS w(word, correctable)
    UNION ALL
    SELECT 'phrase', p.phrase, phraseto_tsquery('english', p.phrase)::text, NULL
    FROM unnest(%s::text[]) AS p(phrase)
"""


@dataclass(frozen=True)
class PgTerms:
    corrections: dict[str, str]  # word -> the known word it was probably meant to be
    queries: dict[str, str]  # word, correction or phrase -> its tsquery text ('' if none)


def pg_terms(parsed: ParsedQuery, using: str) -> PgTerms:
    """The tsquery text of every word, correction and phrase (excluded ones too) of `parsed`,
    and the corrections of its words, from one query."""
    correctable = set(_correctable(parsed.words))
    phrases = list(dict.fromkeys([*parsed.phrases, *parsed.excluded]))
    if not parsed.words and not phrases:
        return PgTerms(corrections={}, queries={})
    with connections[using].cursor() as cursor:
        cursor.execute(
            PG_TERMS_SQL,
            [list(parsed.words), [w in correctable for w in parsed.words], phrases],
        )
        rows = cursor.fetchall()
    corrections: dict[str, str] = {}
    queries: dict[str, str] = {}
    for _kind, item, query_text, candidates in rows:
        queries[item] = query_text
        known = {word: text for word, text in candidates or []}
        best = closest(item, known)
        if best and best != item:
            corrections[item] = best
            queries[best] = known[best]
    return PgTerms(corrections=corrections, queries=queries)


def with_corrections(parsed: ParsedQuery, corrections: dict[str, str]) -> ParsedQuery:
    """`parsed` with the corrections that differ from the word typed."""
    return ParsedQuery(
        text=parsed.text,
        words=parsed.words,
        phrases=parsed.phrases,
        excluded=parsed.excluded,
        truncated=parsed.truncated,
        only_stop_words=parsed.only_stop_words,
        corrections={w: c for w, c in corrections.items() if c and c != w},
    )


def _correctable(words: Sequence[str]) -> list[str]:
    return [w for w in words if not w.isdigit() and len(w) >= 4]


def sqlite_corrections(words: Sequence[str], using: str) -> dict[str, str]:
    candidates = _correctable(words)
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
        close = closest(word, terms)
        if close:
            corrections[word] = close
    return corrections


def edit_distance(a: str, b: str) -> int:
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


def closest(word: str, known_words: Iterable[str]) -> str | None:
    """The known word a typo most likely meant: same first letter, one edit away (two for
    words of six letters or more); None when nothing is that close."""
    allowed = 1 if len(word) <= 5 else 2
    best: tuple[int, str] | None = None
    for known in known_words:
        if not known or known[0] != word[0] or abs(len(known) - len(word)) > allowed:
            continue
        distance = edit_distance(word, known)
        if distance <= allowed and (best is None or (distance, known) < best):
            best = (distance, known)
    return best[1] if best else None
