"""Search gaps: queries that found nothing, dismissed once someone has dealt with them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from knowledge.models import SearchGap
from knowledge.permissions import can_review
from knowledge.services.common import ArticlePermissionError


def search_gaps_dismiss(*, user: Any, gap_ids: Iterable[int]) -> int:
    """Hide the given gaps from the list (an article now covers them, or they are noise)."""
    if not can_review(user):
        raise ArticlePermissionError("Only reviewers and editors can dismiss search gaps.")
    return SearchGap.objects.filter(pk__in=list(gap_ids), dismissed_at__isnull=True).update(
        dismissed_at=timezone.now()
    )
