"""Knowledge gaps: searches that found nothing, counted per normalized query."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from knowledge.models import SearchGap
from knowledge.search.query import WORD, normalize


def normalize_gap_query(query: str) -> str:
    """The key a gap is counted under: lower case, words only, single spaces."""
    return " ".join(WORD.findall(normalize(query).lower()))[:300]


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
                example_query=normalize(query)[:300],
                first_seen_at=now,
                last_seen_at=now,
            )
    except IntegrityError:  # a concurrent search created it first
        SearchGap.objects.filter(normalized_query=normalized).update(**bump)
