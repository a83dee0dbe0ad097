"""Similar earlier incidents: "possibly a repeat of #N", with the reason for each suggestion.

An earlier incident is suggested when it matches by the repeat rule (same root-cause category
and a shared service, started in the 180 days before), when its text is similar, or both. The
incident's own `repeat_of` and pairs someone rejected are never suggested; restricted incidents
the user may not see do not exist here either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet
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
    SELECT recent.id, ts_rank_cd(recent.text_vector, recent.q) AS rank
    FROM (
        SELECT i.id, i.text_vector, query.q
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


def _rule_candidates(incident: Incident, service_ids: list[int]) -> QuerySet[Incident]:
    if incident.root_cause_category_id is None or not service_ids:
        return Incident.objects.none()
    return Incident.objects.filter(
        root_cause_category_id=incident.root_cause_category_id,
        started_at__gte=incident.started_at - LOOK_BACK,
        started_at__lt=incident.started_at,
        services__in=service_ids,
    ).distinct()


def _text_candidates(incident: Incident) -> dict[int, float]:
    """Ids of earlier incidents with similar words, with a 0–1 text score."""
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
        best = max((rank for _, rank in rows), default=0) or 1
        return {pk: min(float(rank) / best, 1.0) * 0.9 for pk, rank in rows}
    # SQLite (the embedded mode): score word overlap of recent incidents in Python.
    own = _words(incident.title)
    if not own:
        return {}
    recent = (
        Incident.objects.filter(started_at__gte=window["start"], started_at__lt=window["end"])
        .exclude(pk=incident.pk)
        .order_by("-started_at")
        .values_list("pk", "title", "summary")[:500]
    )
    scores = {}
    for pk, title, summary in recent:
        theirs = _words(f"{title} {summary}")
        shared = own & theirs
        if shared:
            scores[pk] = 0.9 * len(shared) / len(own | theirs)
    return dict(sorted(scores.items(), key=lambda item: -item[1])[:TEXT_CANDIDATES])


def incident_similar_for_user(
    *, incident: Incident, user: Any, limit: int = 5
) -> list[SimilarIncident]:
    """Earlier incidents that look like `incident`, best first, each with its reasons."""
    if not can_view_incident(user, incident):
        raise Http404("No such incident.")
    service_ids = list(incident.services.values_list("pk", flat=True))
    rule_ids = set(_rule_candidates(incident, service_ids).values_list("pk", flat=True))
    text_scores = _text_candidates(incident)
    rejected = set(
        RepeatRejection.objects.filter(incident=incident).values_list("earlier_id", flat=True)
    )
    candidate_ids = (rule_ids | set(text_scores)) - rejected - {incident.repeat_of_id}
    if not candidate_ids:
        return []
    candidates = (
        Incident.objects.filter(incidents_visible_q(user), pk__in=candidate_ids)
        .select_related("root_cause_category", "postmortem", "team")
        .prefetch_related("services")
    )
    # What the earlier incidents taught: their published articles, readable by everyone. One
    # query whether or not they have postmortems, so the page's cost stays the same.
    taught: dict[int, dict[int, Article]] = {}
    for finding in (
        Finding.objects.filter(
            postmortem__incident_id__in=candidate_ids, article__state=ArticleState.PUBLISHED
        )
        .select_related("article", "postmortem")
        .only("article__id", "article__title", "article__slug", "postmortem__incident_id")
        .order_by("position", "id")
    ):
        assert finding.article is not None
        taught.setdefault(finding.postmortem.incident_id, {})[finding.article.pk] = finding.article
    own_words = _words(incident.title)
    suggestions = []
    for candidate in candidates:
        suggestion = SimilarIncident(
            incident=candidate,
            score=text_scores.get(candidate.pk, 0.0),
            articles=list(taught.get(candidate.pk, {}).values()),
        )
        if candidate.pk in rule_ids:
            suggestion.matches_rule = True
            suggestion.score += RULE_WEIGHT
            shared = sorted(s.slug for s in candidate.services.all() if s.pk in service_ids)
            days = (incident.started_at - candidate.started_at).days
            suggestion.reasons.append(
                f"same root cause ({candidate.root_cause_category}) and service "
                f"{', '.join(shared)}, {days} days earlier"
            )
        if candidate.pk in text_scores:
            common = sorted(own_words & _words(f"{candidate.title} {candidate.summary}"))[:5]
            suggestion.reasons.append(
                "similar description" + (f": {', '.join(common)}" if common else "")
            )
        suggestions.append(suggestion)
    suggestions.sort(key=lambda s: (-s.score, -s.incident.started_at.timestamp()))
    return suggestions[:limit]
