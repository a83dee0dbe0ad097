"""Similar earlier incidents: "possibly a repeat of #N", with the reason for each suggestion.

An earlier incident is suggested when it matches by the repeat rule (same root-cause category
and a shared service, started in the 180 days before), when its text is similar, or both. The
incident's own `repeat_of` and pairs someone rejected are never suggested; restricted incidents
the user may not see do not exist here either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from knowledge.models import Article, ArticleState
from postmortems.models import Finding, Incident, RepeatRejection
from postmortems.permissions import can_view_incident, incidents_visible_q

LOOK_BACK = timedelta(days=180)
# Text matches reach further back than the rule: an old postmortem can still be the answer.
TEXT_LOOK_BACK = timedelta(days=365)
TEXT_CANDIDATES = 50
RECENT_TEXT_MATCHES = 500  # matches ranked per suggestion, newest first
RULE_WEIGHT = 1.0
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]{2,}")
_STOP_WORDS = frozenset(
    {
        "the",
        "and",
        "for",
        "with",
        "after",
        "before",
        "from",
        "into",
        "during",
        "while",
        "when",
        "then",
        "than",
        "this",
        "that",
        "were",
        "was",
        "are",
        "not",
        "our",
        "all",
        "its",
        "out",
        "off",
        "over",
        "under",
        "again",
        "about",
    }
)


@dataclass
class SimilarIncident:
    incident: Incident
    score: float
    reasons: list[str] = field(default_factory=list)
    matches_rule: bool = False
    # The published articles the earlier incident's postmortem linked or spawned.
    articles: list[Article] = field(default_factory=list)


# Earlier incidents sharing any of the title's words, over the stored vector of migration 0004;
# only the most recent matches are ranked (cover density rewards sharing several words close
# together), so a common word costs a bounded amount. Requiring two shared words was measured
# slower: the index then combines every word's posting list for each pair.
_TEXT_SQL = """
    SELECT recent.id, recent.started_at, ts_rank_cd(recent.text_vector, recent.q) AS rank
    FROM (
        SELECT i.id, i.started_at, i.text_vector, query.q
        FROM postmortems_incident i
        CROSS JOIN (SELECT %(query)s::tsquery AS q) AS query
        WHERE i.text_vector @@ query.q
          AND i.started_at >= %(start)s AND i.started_at < %(end)s AND i.id <> %(id)s
        ORDER BY i.started_at DESC
        LIMIT %(recent)s
    ) AS recent
    ORDER BY rank DESC
    LIMIT %(limit)s
"""
_LEXEME = re.compile(r"'(?:[^']|'')*'")
MAX_QUERY_LEXEMES = 6


def _any_of(lexemes: list[str]) -> str:
    """A tsquery matching any of the (quoted) lexemes: 'a' | 'b' | …"""
    return " | ".join(list(dict.fromkeys(lexemes))[:MAX_QUERY_LEXEMES])


def _words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if word not in _STOP_WORDS}


def _rule_candidates(
    incident: Incident,
    service_ids: list[int],
    *,
    user: Any,
    excluded: set[int],
    limit: int,
    text_ids: list[int],
) -> dict[int, datetime]:
    """The earlier incidents the user may see that match the repeat rule and can reach the top
    `limit`, with their start times: the `limit` most recent, and those among `text_ids`.

    Rule matches rank by their text score, then by recency, and only the text candidates have
    a text score: every other rule match below the `limit` most recent has those `limit` above
    it, so it can never be suggested. A category with thousands of matches in the window costs
    a short walk back down its (category, start) index, not a read of all of them.
    """
    if incident.root_cause_category_id is None or not service_ids:
        return {}
    matches = (
        Incident.objects.filter(
            incidents_visible_q(user),
            Exists(
                Incident.services.through.objects.filter(
                    incident_id=OuterRef("pk"), service_id__in=service_ids
                )
            ),
            root_cause_category_id=incident.root_cause_category_id,
            started_at__gte=incident.started_at - LOOK_BACK,
            started_at__lt=incident.started_at,
        )
        .exclude(pk__in=excluded)
        .order_by()
    )
    recent = matches.order_by("-started_at", "-id")
    among_text = matches.filter(pk__in=text_ids)
    if connection.features.supports_slicing_ordering_in_compound:
        # PostgreSQL: each part walks its own index, where an OR of the two reads the whole
        # window. SQLite cannot limit one part of a UNION, and the embedded data is small.
        rows = among_text.values_list("pk", "started_at").union(
            recent.values_list("pk", "started_at")[:limit]
        )
    else:
        rows = matches.filter(
            Q(pk__in=text_ids) | Q(pk__in=recent.values("pk")[:limit])
        ).values_list("pk", "started_at")
    # Most recent first, as the ranking breaks ties of score and start time by this order.
    return dict(sorted(rows, key=lambda row: (-row[1].timestamp(), -row[0])))


def _text_candidates(incident: Incident) -> dict[int, tuple[float, datetime]]:
    """Earlier incidents with similar words: id → (a 0–1 text score, start time). Visibility is
    checked later, on the few that make it into the suggestions."""
    window: dict[str, Any] = {
        "start": incident.started_at - TEXT_LOOK_BACK,
        "end": incident.started_at,
        "id": incident.pk,
    }
    if connection.vendor == "postgresql":
        if not _words(incident.title):
            return {}
        with connection.cursor() as cursor:
            cursor.execute("SELECT plainto_tsquery('english', %s)::text", [incident.title])
            query = _any_of(_LEXEME.findall(cursor.fetchone()[0]))
            if not query:
                return {}
            cursor.execute(
                _TEXT_SQL,
                {**window, "query": query, "limit": TEXT_CANDIDATES, "recent": RECENT_TEXT_MATCHES},
            )
            rows = cursor.fetchall()
        best = max((rank for _, _, rank in rows), default=0) or 1
        return {pk: (min(float(rank) / best, 1.0) * 0.9, started) for pk, started, rank in rows}
    # SQLite (the embedded mode): score word overlap of recent incidents in Python.
    own = _words(incident.title)
    if not own:
        return {}
    recent = (
        Incident.objects.filter(started_at__gte=window["start"], started_at__lt=window["end"])
        .exclude(pk=incident.pk)
        .order_by("-started_at")
        .values_list("pk", "started_at", "title", "summary")[:500]
    )
    scores = {}
    for pk, started, title, summary in recent:
        theirs = _words(f"{title} {summary}")
        shared = own & theirs
        if shared:
            scores[pk] = (0.9 * len(shared) / len(own | theirs), started)
    return dict(sorted(scores.items(), key=lambda item: -item[1][0])[:TEXT_CANDIDATES])


def _ranked_ids(
    rule: dict[int, datetime], text: dict[int, tuple[float, datetime]]
) -> list[tuple[int, float]]:
    """Every candidate as (id, score), best first: a rule match scores 1 plus its text score, so
    it always outranks a match by text alone (at most 0.9); ties go to the more recent."""
    scored = {
        pk: (RULE_WEIGHT + text.get(pk, (0.0, started))[0], started) for pk, started in rule.items()
    }
    for pk, (score, started) in text.items():
        scored.setdefault(pk, (score, started))
    ranked = sorted(scored.items(), key=lambda item: (-item[1][0], -item[1][1].timestamp()))
    return [(pk, score) for pk, (score, _) in ranked]


def _shortlist(ranked: list[tuple[int, float]], rule: dict[int, datetime], limit: int) -> list[int]:
    """The ids worth loading: the ranking's head, down to where `limit` rule matches (visible
    for certain) are in hand. Text matches in it may still turn out hidden, so they are loaded
    too; the list is bounded by `limit` plus the text candidates, whatever the history's size."""
    shortlist, sure = [], 0
    for pk, _ in ranked:
        if sure >= limit:
            break
        shortlist.append(pk)
        sure += pk in rule
    return shortlist


def _taught_articles(incident_ids: list[int]) -> dict[int, dict[int, Article]]:
    """What the earlier incidents taught: their published articles, readable by everyone. One
    query whether or not they have postmortems, so the page's cost stays the same."""
    taught: dict[int, dict[int, Article]] = {}
    for finding in (
        Finding.objects.filter(
            postmortem__incident_id__in=incident_ids, article__state=ArticleState.PUBLISHED
        )
        .select_related("article", "postmortem")
        .only("article__id", "article__title", "article__slug", "postmortem__incident_id")
        .order_by("position", "id")
    ):
        assert finding.article is not None
        taught.setdefault(finding.postmortem.incident_id, {})[finding.article.pk] = finding.article
    return taught


def incident_similar_for_user(
    *, incident: Incident, user: Any, limit: int = 5
) -> list[SimilarIncident]:
    """Earlier incidents that look like `incident`, best first, each with its reasons.

    Candidates are ranked as bare ids and start times, and only those that can reach the top
    `limit` are read at all; only the few that do are loaded as incidents, so a category with
    thousands of earlier incidents costs no more than one with ten.
    """
    if not can_view_incident(user, incident):
        raise Http404("No such incident.")
    if limit < 1:
        return []
    service_ids = list(incident.services.values_list("pk", flat=True))
    excluded = set(
        RepeatRejection.objects.filter(incident=incident).values_list("earlier_id", flat=True)
    )
    if incident.repeat_of_id is not None:
        excluded.add(incident.repeat_of_id)
    text = {pk: match for pk, match in _text_candidates(incident).items() if pk not in excluded}
    rule = _rule_candidates(
        incident, service_ids, user=user, excluded=excluded, limit=limit, text_ids=list(text)
    )
    ranked = _ranked_ids(rule, text)
    if not ranked:
        return []
    scores = dict(ranked)
    loaded = {
        candidate.pk: candidate
        for candidate in Incident.objects.filter(
            incidents_visible_q(user), pk__in=_shortlist(ranked, rule, limit)
        )
        .select_related("root_cause_category", "postmortem", "team")
        .prefetch_related("services")
    }
    chosen = [loaded[pk] for pk, _ in ranked if pk in loaded][:limit]
    taught = _taught_articles([candidate.pk for candidate in chosen])
    own_words = _words(incident.title)
    suggestions = []
    for candidate in chosen:
        suggestion = SimilarIncident(
            incident=candidate,
            score=scores[candidate.pk],
            articles=list(taught.get(candidate.pk, {}).values()),
        )
        if candidate.pk in rule:
            suggestion.matches_rule = True
            shared = sorted(s.slug for s in candidate.services.all() if s.pk in service_ids)
            days = (incident.started_at - candidate.started_at).days
            suggestion.reasons.append(
                f"same root cause ({candidate.root_cause_category}) and service "
                f"{', '.join(shared)}, {days} days earlier"
            )
        if candidate.pk in text:
            common = sorted(own_words & _words(f"{candidate.title} {candidate.summary}"))[:5]
            suggestion.reasons.append(
                "similar description" + (f": {', '.join(common)}" if common else "")
            )
        suggestions.append(suggestion)
    return suggestions
