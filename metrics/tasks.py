"""KPI jobs: thin, idempotent wrappers around metrics.services.

Every task upserts on (kpi, period, scope), so a rerun — after a retry, or a redelivery when a
worker died — leaves the same rows. That is what makes `acks_late` safe here.
"""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from metrics.facts import article_facts_invalidate, incident_facts_invalidate
from metrics.models import RecomputeRun
from metrics.periods import month_period
from metrics.secondary_store import secondary_snapshots_store
from metrics.services import (
    kpi_period_recompute,
    kpi_recent_recompute,
    recompute_run_finish,
    recompute_run_progress,
)
from postmortems.models import Incident

# Database hiccups are worth retrying; anything else is a bug and should surface at once.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
# Every job here: acknowledged after it ran (a worker's death redelivers it), retried with
# backoff for transient errors only.
job = shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)


def pending_key(period_start: date) -> str:
    return f"metrics:recompute-pending:{period_start:%Y-%m}"


def enqueue_period_recompute(*, day: date) -> bool:
    """Schedule a recompute of the month of `day`, unless one is already waiting.

    `cache.add` is atomic (Redis SET NX in production), so a burst of events from many
    processes schedules one task; the task clears the mark before it starts, so an event that
    lands while it runs schedules the next one and nothing is missed.
    """
    period = month_period(day)
    # Events within this many seconds of the first one share the recompute.
    coalesce = settings.KPI_COALESCE_SECONDS
    if not cache.add(pending_key(period.start), 1, timeout=max(coalesce, 1) * 20):
        return False
    recompute_period.apply_async(
        kwargs={"period_start": period.start.isoformat()}, countdown=coalesce
    )
    return True


@job
def recompute_period(*, period_start: str) -> int:
    start = date.fromisoformat(period_start)
    cache.delete(pending_key(start))
    period = month_period(start)
    recomputed = kpi_period_recompute(period=period)
    secondary_snapshots_store(periods=[period])
    this_month = timezone.now().date().replace(day=1)
    for month in sorted(recomputed.moved_months):
        if month <= this_month:
            enqueue_period_recompute(day=month)
    return recomputed.figures


@job
def incident_changed(*, incident_id: int) -> None:
    """An incident (or its article uses, or its rejected repeats) changed: mark its facts and
    those it can influence stale, then queue the recompute of its months, which refreshes them."""
    incident_facts_invalidate(incident_id=incident_id)
    incident = Incident.objects.filter(pk=incident_id).only("started_at", "resolved_at").first()
    if incident is None:
        return
    enqueue_period_recompute(day=incident.started_at.date())
    if incident.resolved_at is not None:
        enqueue_period_recompute(day=incident.resolved_at.date())


@job
def recompute_recent(*, run_id: int | None = None) -> int:
    """The nightly job (and "recompute now"): the last 13 months for every scope."""
    run = RecomputeRun.objects.filter(pk=run_id).first() if run_id else None

    def progress(done: int, total: int) -> None:
        if run is not None:
            recompute_run_progress(run=run, done=done, total=total)

    try:
        count = kpi_recent_recompute(progress=progress, run_id=run_id)
    except TRANSIENT_ERRORS:
        raise
    except Exception as error:
        if run is not None:
            recompute_run_finish(run=run, error=f"{type(error).__name__}: {error}")
        raise
    if run is not None:
        recompute_run_finish(run=run)
    return count


@job
def article_changed(*, article_id: int) -> None:
    """An article was published or archived: mark stale the facts of the incidents whose
    findings link it, then queue this month's recompute; its refresh queues the other months
    whose figures moved."""
    if article_facts_invalidate(article_id=article_id):
        enqueue_period_recompute(day=timezone.now().date())
