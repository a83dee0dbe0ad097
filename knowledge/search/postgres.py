"""PostgreSQL full-text search: the tsquery of a parsed query, bounded candidate tiers, exact
ranking by coverage and weighted ts_rank, and ts_headline snippets.

`Article.search_vector` holds title (A), symptoms and tags (B), cause, resolution and
prevention (C), body and environment (D); `knowledge.search.indexing` keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.search import SearchHeadline, SearchQueryField, SearchRank
from django.db.models import BooleanField, F, Func, IntegerField, QuerySet, TextField, Value
from django.db.models.expressions import Combinable, RawSQL
from django.db.models.functions import Concat, Substr

from knowledge.models import Article
from knowledge.search.query import SORT_ORDER, ParsedQuery, Ranked
from knowledge.search.snippets import START, STOP

CONFIG = "english"
WEIGHTS = [0.1, 0.2, 0.4, 1.0]  # D, C, B, A
CANDIDATES = 100  # rows per candidate tier ranked exactly (at least offset + limit + 1)
SNIPPET_SOURCE_CHARS = 20_000  # text ts_headline reads per hit


class _Matches(Func):
    """`vector @@ query` as 0 or 1."""

    arg_joiner = " @@ "
    template = "(%(expressions)s)::int"
    output_field = IntegerField()


class _HeadIds(Func):
    """Ids of up to `size` articles whose title, symptoms or tags match (migration 0002's
    `knowledge_search_head`, served by the GIN index on the stored head vector of 0003)."""

    template = "(SELECT knowledge_search_head(%(expressions)s))"
    output_field = IntegerField()


class _TsQuery(Func):
    """A tsquery given as its finished text (from `corrections.pg_terms`): a parameter cast,
    so PostgreSQL parses nothing again and Django builds no expression per word."""

    template = "%(expressions)s::tsquery"
    output_field = SearchQueryField()

    def __init__(self, text: str) -> None:
        super().__init__(Value(text))


class _Matching(Func):
    """`search_vector @@ query`, a condition that the GIN index serves."""

    arg_joiner = " @@ "
    template = "(%(expressions)s)"
    output_field = BooleanField()

    def __init__(self, query: _TsQuery) -> None:
        super().__init__(F("search_vector"), query)


@dataclass(frozen=True)
class QueryTexts:
    """The parts of a parsed query as tsquery texts, each in parentheses: one per word (the
    word, or it or its correction), one per phrase, one per excluded word or phrase."""

    words: tuple[str, ...]
    phrases: tuple[str, ...]
    excluded: tuple[str, ...]

    @classmethod
    def of(cls, parsed: ParsedQuery, texts: dict[str, str]) -> QueryTexts:
        def part(*items: str) -> str:
            found = [texts.get(item, "") for item in items]
            alternatives = " | ".join(f"({text})" for text in found if text)
            return f"({alternatives})" if alternatives else ""

        words = [part(w, *filter(None, [parsed.corrections.get(w)])) for w in parsed.words]
        return cls(
            words=tuple(filter(None, words)),
            phrases=tuple(filter(None, (part(p) for p in parsed.phrases))),
            excluded=tuple(filter(None, (part(e) for e in parsed.excluded))),
        )

    def _with_exclusions(self, text: str) -> str:
        return " & ".join([text, *(f"!{excluded}" for excluded in self.excluded)])

    def any_word(self) -> str:
        """(word1 | word2 | …) & "phrase" & !excluded; '' when nothing is searchable."""
        required = [" | ".join(self.words)] if self.words else []
        required += self.phrases
        if not required:
            return ""
        return self._with_exclusions(" & ".join(f"({part})" for part in required))

    def every_word(self) -> str:
        return self._with_exclusions(" & ".join([*self.words, *self.phrases]))

    def highlighted(self) -> str:
        """What snippets mark: any word or phrase."""
        return " | ".join([*self.words, *self.phrases])


def _candidate_ids(base: QuerySet[Article], texts: QueryTexts, size: int) -> Any:
    """A bounded set of candidate ids (a subquery) that the exact ranking then orders.

    GIN cannot order by relevance, and ranking every match costs 100-220 ms for a word in most
    of 100k articles. So candidates come in tiers, each at most `size` rows, strongest first:
    every word in title/symptoms/tags (the small head index), every word anywhere, any
    word in title/symptoms/tags, any word anywhere. The exact rank (coverage, then weighted
    ts_rank) orders their union; an article found only by the last tier competes only when
    the stronger tiers did not fill up.
    """
    any_head, any_anywhere = _tiers(base, _TsQuery(texts.any_word()), size)
    if len(texts.words) < 2:
        return any_head.union(any_anywhere)
    every_head, every_anywhere = _tiers(base, _TsQuery(texts.every_word()), size)
    # When `size` visible articles hold every word, the any-word tiers cannot reach the page
    # (coverage ranks first), so they are skipped: the condition does not depend on the row,
    # PostgreSQL evaluates it once and runs neither tier. For common words that saves merging
    # their long posting lists, the dearest part of a plain-language query.
    full_sql, full_params = _sql(every_anywhere)
    every_head_sql, every_head_params = _sql(every_head)
    any_head_sql, any_head_params = _sql(any_head)
    any_anywhere_sql, any_anywhere_params = _sql(any_anywhere)
    too_few = "(SELECT count(*) FROM full_coverage) < %s"
    # Every piece is SQL that Django compiled from the querysets above, values kept apart as
    # parameters; only the statement around them is written here.
    return RawSQL(  # noqa: S611
        f"WITH full_coverage AS MATERIALIZED ({full_sql}) "  # noqa: S608
        f"SELECT id FROM full_coverage UNION ({every_head_sql}) "
        f"UNION SELECT id FROM ({any_head_sql}) AS any_head WHERE {too_few} "
        f"UNION SELECT id FROM ({any_anywhere_sql}) AS any_anywhere WHERE {too_few}",
        (
            *full_params,
            *every_head_params,
            *any_head_params,
            size,
            *any_anywhere_params,
            size,
        ),
    )


def _sql(qs: QuerySet[Any, Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = qs.query.get_compiler(using=qs.db).as_sql()
    return sql, tuple(params)


def _tiers(base: QuerySet[Article], query: _TsQuery, size: int) -> list[Any]:
    """The two tiers of one tsquery: its head-vector matches, then its matches anywhere."""
    # Visibility and filters apply to the union's consumer; the head tier ignores them so that
    # it stays one index scan (a filter can only make it return fewer useful ids).
    head = Article.objects.filter(id__in=_HeadIds(query, Value(size))).order_by()
    # .order_by(): no sort, so each tier stops reading after `size` rows.
    anywhere = base.filter(_Matching(query)).order_by()
    return [head.values("id"), anywhere.values("id")[:size]]


def pg_ranked(
    base: QuerySet[Article], texts: QueryTexts, sort: str, limit: int, offset: int
) -> list[Ranked]:
    """Up to `limit + 1` matching ids from `offset`, best first (or by `sort`)."""
    any_word = texts.any_word()
    if not any_word:  # every word is one PostgreSQL's dictionary ignores
        return []
    query = _TsQuery(any_word)
    if sort != "relevance":
        order = SORT_ORDER[sort]
        matching = base.filter(_Matching(query)).order_by(*order)
        ids = matching.values_list("id", flat=True)[offset : offset + limit + 1]
        return [(pk, 0.0, "") for pk in ids]
    size = max(CANDIDATES, offset + limit + 1)
    candidates = base.filter(id__in=_candidate_ids(base, texts, size))
    # Coverage first: an article with more of the words beats one with fewer, whatever the
    # weights; rank (0..1 with normalization 32) orders articles of equal coverage.
    rank: Combinable = SearchRank(F("search_vector"), query, weights=WEIGHTS, normalization=32)
    for word in texts.words:
        rank = rank + _Matches(F("search_vector"), _TsQuery(word))
    rows = (
        candidates.annotate(score=rank)
        .order_by("-score", "-updated_at", "-id")
        .values_list("id", "score")[offset : offset + limit + 1]
    )
    # An article saved before indexing has no vector yet: it ranks last instead of failing.
    return [(pk, float(score or 0.0), "") for pk, score in rows]


def with_headline(qs: QuerySet[Article], texts: QueryTexts) -> QuerySet[Article]:
    """`qs` with `headline`: matches in symptoms, cause, resolution and body between the
    START and STOP markers, for `snippets.highlight`."""
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
    return qs.annotate(
        headline=SearchHeadline(
            source,
            _TsQuery(texts.highlighted()),
            config=CONFIG,
            start_sel=START,
            stop_sel=STOP,
            max_words=30,
            min_words=12,
            max_fragments=2,
            fragment_delimiter=" … ",
        )
    )
