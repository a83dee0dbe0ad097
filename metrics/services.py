"""Writes of KPI snapshots: recompute one figure, a period, or the recent months for every scope.

Each write is an upsert on (kpi, period, scope), so that running a recompute twice — or a
worker dying half-way and the task running again — leaves exactly one row per figure.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from kbsite.events import emit
from kbsite.models import Service, Team
from metrics.bulk import BULK_MONTHS, all_scope_keys, empty_result
from metrics.facts import facts_refresh
from metrics.kpis import BASELINE_MONTHS, KPIS, KpiResult
from metrics.models import SNAPSHOT_FIELDS, KpiSnapshot, RecomputeRun
from metrics.periods import ALL, SEVERITIES, Period, Scope, recent_months
from metrics.secondary_store import secondary_snapshots_store
from metrics.sql import tune_for_bulk

FULL_RECOMPUTE_MONTHS = 13
STALE_RUN_AFTER = timedelta(hours=2)


def all_scopes() -> list[Scope]:
    teams = Team.objects.order_by("slug").values_list("slug", flat=True)
    services = Service.objects.order_by("slug").values_list("slug", flat=True)
    return [
        ALL,
        *(Scope(kind="team", slug=slug) for slug in teams),
        *(Scope(kind="service", slug=slug) for slug in services),
        *(Scope(kind="severity", slug=severity) for severity in SEVERITIES),
    ]


def _snapshot_fields(result: KpiResult) -> dict[str, object]:
    return {
        "value": result.value,
        "numerator": result.numerator,
        "denominator": result.denominator,
        "incidents": [[pk, counted] for pk, counted in result.incidents],
        "extra": result.extra,
        "computed_at": timezone.now(),
    }


def kpi_snapshot_compute(*, kpi: str, period: Period, scope: Scope) -> KpiSnapshot:
    """Compute one figure and store it, replacing any earlier snapshot of it."""
    result = KPIS[kpi].compute(period=period, scope=scope)
    snapshot, _ = KpiSnapshot.objects.update_or_create(
        kpi=kpi,
        period_start=period.start,
        period_end=period.end,
        scope=scope.key,
        defaults=_snapshot_fields(result),
    )
    return snapshot


def _computing(bulk: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The bulk computations, inside the caller's transaction, tuned for them."""
    tune_for_bulk()
    yield from bulk.items()


def facts_horizon(periods: list[Period]) -> tuple[datetime, datetime]:
    """The incidents whose facts the periods' figures read: started in the six months before
    the first (the repeat baseline) up to the end of the last; those resolved in a period are
    inside it too."""
    first, last = min(periods), max(periods)
    return first.months_before(BASELINE_MONTHS).start_at, last.end_at


def _months_compute(periods: list[Period]) -> dict[str, dict[str, dict[str, KpiResult]]]:
    """kpi -> month label -> scope key -> figure, for consecutive months, in one transaction."""
    with transaction.atomic():
        return {kpi: compute(periods=periods) for kpi, compute in _computing(BULK_MONTHS)}


def _digest(result: KpiResult) -> str:
    """A fingerprint of everything a snapshot stores but its time. Pickling is a few times
    faster than repr on drill-downs of tens of thousands of incidents; equal bytes mean equal
    content, and should equal content ever pickle differently (another Python, say), the cost
    is one rewrite of the row, never a figure left unwritten."""
    content = (result.value, result.numerator, result.denominator, result.incidents, result.extra)
    return hashlib.blake2b(pickle.dumps(content, protocol=5), digest_size=20).hexdigest()


def _month_store(
    *, period: Period, results_by_kpi: dict[str, dict[str, KpiResult]], scope_keys: list[str]
) -> int:
    """Store every KPI of one month for every scope (no data where a scope has none). A figure
    equal to the stored one only gets its computed_at moved."""
    now = timezone.now()
    stored = {
        (kpi, scope): (pk, digest)
        for pk, kpi, scope, digest in KpiSnapshot.objects.filter(
            kpi__in=list(results_by_kpi), period_start=period.start, period_end=period.end
        ).values_list("pk", "kpi", "scope", "digest")
    }
    unchanged, rows = [], []
    for kpi, results in results_by_kpi.items():
        for scope in scope_keys:
            result = results.get(scope) or empty_result(kpi)
            digest = _digest(result)
            pk, stored_digest = stored.get((kpi, scope), (None, ""))
            if pk is not None and stored_digest == digest:
                unchanged.append(pk)
                continue
            rows.append(
                KpiSnapshot(
                    kpi=kpi,
                    period_start=period.start,
                    period_end=period.end,
                    scope=scope,
                    digest=digest,
                    **{**_snapshot_fields(result), "computed_at": now},
                )
            )
    with transaction.atomic():
        KpiSnapshot.objects.filter(pk__in=unchanged).update(computed_at=now)
        KpiSnapshot.objects.upsert(rows, fields=[*SNAPSHOT_FIELDS, "digest"])
    return len(rows) + len(unchanged)


def _period_store(*, period: Period) -> tuple[int, int, frozenset[date]]:
    """Refresh the facts it reads, recompute and store every KPI of `period` for every scope:
    (figures, scopes, and the other months whose figures the refreshed facts may have moved)."""
    start, end = facts_horizon([period])
    moved = facts_refresh(start=start, end=end).months - {period.start}
    scope_keys = all_scope_keys()
    computed = _months_compute([period])
    results = {kpi: months[period.label] for kpi, months in computed.items()}
    count = _month_store(period=period, results_by_kpi=results, scope_keys=scope_keys)
    return count, len(scope_keys), moved


def kpis_recomputed_announce(
    *, periods: list[Period], scopes_count: int, run_id: int | None = None
) -> None:
    """Emit `kpis.recomputed` once for a finished recompute, however many figures it stored:
    receivers learn which periods to read again, not every snapshot."""
    emit(
        "kpis.recomputed",
        periods=[period.label for period in periods],
        scopes_count=scopes_count,
        run_id=run_id,
        finished_at=timezone.now().isoformat().replace("+00:00", "Z"),
    )


@dataclass(frozen=True)
class PeriodRecomputed:
    figures: int
    # Other months whose figures the facts refreshed on the way may have moved.
    moved_months: frozenset[date]


def kpi_period_recompute(*, period: Period) -> PeriodRecomputed:
    """Refresh the stale incident facts, recompute every KPI of one period for every scope in
    one transaction, then announce it.

    Uses metrics.bulk (each incident's facts once, then one GROUP BY per kind of scope). Scopes
    without incidents get a "no data" snapshot, so the dashboard never mistakes them for stale.
    The other months whose figures the refreshed facts may have moved (a change to one incident
    can make a later one a repeat) are returned for the caller to queue.
    """
    count, scopes_count, moved = _period_store(period=period)
    kpis_recomputed_announce(periods=[period], scopes_count=scopes_count)
    return PeriodRecomputed(figures=count, moved_months=moved)


def kpi_recent_recompute(
    *,
    today: date | None = None,
    months: int = FULL_RECOMPUTE_MONTHS,
    progress: Callable[[int, int], None] | None = None,
    run_id: int | None = None,
    with_secondary: bool = True,
) -> int:
    """Recompute the last `months` months (the current one included) for every scope; each
    month commits on its own, so an interrupted run keeps what it finished. A run that
    finishes is announced once (`kpis.recomputed`, with `run_id` when a manager asked for it).
    The dashboard's secondary figures are stored last, for all the months at once."""
    periods = recent_months(today=today or timezone.now().date(), count=months)
    count = 0
    scopes_count = 0
    # Steps: the facts' refresh batches, the computation of every month at once, then each
    # month's snapshots (each month commits on its own, so an interrupted run keeps them).
    refresh_steps = 0

    def report(done: int) -> None:
        if progress:
            progress(done, refresh_steps + 1 + len(periods) + int(with_secondary))

    def refreshing(done: int, total: int) -> None:
        nonlocal refresh_steps
        refresh_steps = total
        report(done)

    if periods:
        start, end = facts_horizon(periods)
        # Thorough: the nightly run also catches rows that bulk writers left missing.
        facts_refresh(start=start, end=end, thorough=True, progress=refreshing)
        computed = _months_compute(periods)
        report(refresh_steps + 1)
        scope_keys = all_scope_keys()
        scopes_count = len(scope_keys)
        for done, period in enumerate(periods, start=1):
            results = {kpi: months[period.label] for kpi, months in computed.items()}
            count += _month_store(period=period, results_by_kpi=results, scope_keys=scope_keys)
            report(refresh_steps + 1 + done)
        if with_secondary:
            secondary_snapshots_store(periods=periods)
            report(refresh_steps + 2 + len(periods))
    if periods:
        kpis_recomputed_announce(periods=periods, scopes_count=scopes_count, run_id=run_id)
    return count


def recompute_run_start(*, user: User) -> tuple[RecomputeRun, bool]:
    """Start a manager's "recompute now" unless one is already queued or running.

    Returns the run and whether it is new. The database allows one active run, so two clicks at
    the same moment still make one.
    """
    # A run whose worker died never finishes; after STALE_RUN_AFTER it no longer blocks.
    RecomputeRun.objects.filter(
        is_active=True, created_at__lt=timezone.now() - STALE_RUN_AFTER
    ).update(
        is_active=False,
        status=RecomputeRun.Status.FAILED,
        error="No progress for two hours; presumed lost.",
        finished_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            return RecomputeRun.objects.create(requested_by=user), True
    except IntegrityError:
        return RecomputeRun.objects.get(is_active=True), False


def recompute_run_progress(*, run: RecomputeRun, done: int, total: int) -> None:
    RecomputeRun.objects.filter(pk=run.pk).update(
        status=RecomputeRun.Status.RUNNING, done_steps=done, total_steps=total
    )


def recompute_run_finish(*, run: RecomputeRun, error: str = "") -> None:
    RecomputeRun.objects.filter(pk=run.pk).update(
        status=RecomputeRun.Status.FAILED if error else RecomputeRun.Status.DONE,
        is_active=False,
        error=error[:2000],
        finished_at=timezone.now(),
    )
