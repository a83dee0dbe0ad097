"""Reading the user's words: plain words, "required phrases", -exclusions, stop words, the
length limits, filters and sorts, and the messages that explain what was searched."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.db.models import Q

from knowledge.models import ArticleState, KnowledgeType
from knowledge.search.stop_words import STOP_WORDS

SORTS = ("relevance", "updated", "helpful", "title")
MAX_OFFSET = 1000
MAX_LIMIT = 100
MAX_QUERY_LENGTH = 256  # characters kept of a query; longer input is cut, and the page says so
MAX_WORDS = 12  # plain words searched (after stop words); more add noise, not precision
MAX_TERM_LENGTH = 40

# Field order of every sort but relevance (which each backend ranks itself).
SORT_ORDER = {
    "updated": ("-updated_at", "-id"),
    "helpful": ("-helpful_count", "-updated_at", "-id"),
    "title": ("title", "id"),
}


@dataclass(frozen=True)
class SearchFilters:
    knowledge_type: str | None = None
    state: str | None = None  # None: every visible state except archived
    service: str | None = None  # slug
    tag: str | None = None  # slug
    team: str | None = None  # slug

    def is_empty(self) -> bool:
        return not any((self.knowledge_type, self.state, self.service, self.tag, self.team))


NO_FILTERS = SearchFilters()


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
WORD = re.compile(r"\w+")


def normalize(raw: str) -> str:
    """NFKC, control characters as spaces, runs of white space as one space."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    return " ".join(text.split())


def parse_query(raw: str) -> ParsedQuery:
    """Split a query into plain words, required phrases and exclusions. Never raises."""
    text = normalize(raw)
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
        pieces = [p[:MAX_TERM_LENGTH] for p in WORD.findall((quoted or bare or "").lower())]
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


def is_variant(word: str, other: str) -> bool:
    """True when `other` is only another form of `word` (no correction worth showing)."""
    a, b = prefix_stem(word), prefix_stem(other)
    return a.startswith(b) or b.startswith(a)


# --- filters --------------------------------------------------------------------------------


def filter_problem(filters: SearchFilters) -> str:
    """What is wrong with `filters`, or "" when they can be applied."""
    if filters.knowledge_type and filters.knowledge_type not in KnowledgeType.values:
        return f"Unknown knowledge type “{filters.knowledge_type[:30]}”."
    if filters.state and filters.state not in ArticleState.values:
        return f"Unknown state “{filters.state[:30]}”."
    return ""


def filters_q(filters: SearchFilters) -> Q:
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


# --- messages -------------------------------------------------------------------------------


def truncated_message() -> str:
    return f"Your search was shortened to its first {MAX_QUERY_LENGTH} characters."


def unknown_sort_message(sort: str) -> str:
    return f"Unknown sort “{sort[:30]}”: sorted by relevance."


def unsearchable_message(parsed: ParsedQuery) -> str:
    """Why a query with text has nothing to search for."""
    if parsed.only_stop_words:
        return f"“{parsed.text[:60]}” has only very common words: add a more specific word."
    if parsed.excluded:
        return "Add a word to search for: a minus sign only excludes words."
    return "Nothing to search for: type a word with letters or digits."


def corrections_message(parsed: ParsedQuery) -> str:
    """The corrections worth telling about ("" when each is only another form of the word)."""
    shown = [w for w, c in parsed.corrections.items() if not is_variant(w, c)]
    if not shown:
        return ""
    also = ", ".join(f"“{parsed.corrections[w]}”" for w in shown)
    return f"Also searched for {also}."


def no_results_message(parsed: ParsedQuery) -> str:
    return f"No articles match “{parsed.text[:60]}”."
