"""Reads of alert integrations and their payload logs."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from kbsite.models import Service
from postmortems.models import AlertIntegration, IngestedPayload

# Refused deliveries that no integration owns (an unknown secret): how many the list page shows.
UNOWNED_SHOWN = 20


def integration_for_secret(*, source: str, secret: str) -> AlertIntegration | None:
    """The integration of `source` whose secret this is, enabled or not; None for anything else
    (an empty secret, one of another source). Looked up by hash: the secret is never stored."""
    if not secret:
        return None
    return (
        AlertIntegration.objects.select_related("team", "created_by")
        .filter(source=source, secret_hash=AlertIntegration.hash_secret(secret))
        .first()
    )


def integrations_list() -> QuerySet[AlertIntegration]:
    return AlertIntegration.objects.select_related("team", "created_by").prefetch_related(
        Prefetch("default_services", queryset=Service.objects.order_by("name"))
    )


def integration_get(*, pk: int) -> AlertIntegration | None:
    return integrations_list().filter(pk=pk).first()


def payloads_for_integration(*, integration: AlertIntegration) -> list[IngestedPayload]:
    """The integration's log, newest first (it keeps at most INGEST_LOG_KEEP rows)."""
    return list(
        IngestedPayload.objects.filter(integration=integration)
        .select_related("incident")
        .order_by("-id")
    )


def payloads_unowned(*, limit: int = UNOWNED_SHOWN) -> list[IngestedPayload]:
    """The latest refused deliveries whose secret matched no integration (no body kept)."""
    return list(IngestedPayload.objects.filter(integration__isnull=True).order_by("-id")[:limit])
