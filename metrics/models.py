"""Computed KPI figures. The dashboard and the API read these; jobs write them."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

# What a recompute writes over a stored snapshot.
SNAPSHOT_FIELDS = ["value", "numerator", "denominator", "incidents", "extra", "computed_at"]


class KpiSnapshotQuerySet(models.QuerySet["KpiSnapshot"]):
    def upsert(self, rows: list[Any], *, fields: list[str]) -> None:
        """Write `rows` over the stored ones with the same (kpi, period, scope)."""
        self.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["kpi", "period_start", "period_end", "scope"],
            update_fields=fields,
            batch_size=500,
        )


class KpiSnapshot(models.Model):
    """One KPI for one period and scope, as computed at `computed_at`.

    Unique on (kpi, period, scope): recomputing replaces the row instead of adding one.
    `value` is null when the period has no data (the denominator is 0).
    """

    kpi = models.CharField(max_length=50)
    period_start = models.DateField()
    period_end = models.DateField()  # exclusive
    scope = models.CharField(max_length=120, default="all")  # all | team:<slug> | service:<slug>
    value = models.FloatField(null=True, blank=True)
    numerator = models.FloatField(default=0)
    denominator = models.FloatField(default=0)
    # [[incident id, counts in the numerator], ...] — the drill-down behind the figure.
    incidents = models.JSONField(default=list, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)
    # A fingerprint of the figure and its drill-down: a recompute that finds the same rewrites
    # only computed_at, not megabytes of drill-down lists.
    digest = models.CharField(max_length=64, blank=True)

    objects = KpiSnapshotQuerySet.as_manager()

    class Meta:
        ordering = ["kpi", "scope", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["kpi", "period_start", "period_end", "scope"], name="kpi_snapshot_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["scope", "period_start"], name="kpi_snapshot_scope_period"),
        ]

    def __str__(self) -> str:
        return f"{self.kpi} {self.period_start:%Y-%m} {self.scope}"


class RecomputeRun(models.Model):
    """A full or partial recompute, so that the dashboard can show progress and refuse doubles."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    requested_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    # True while queued or running; the database allows one such run, so two clicks make one.
    is_active = models.BooleanField(default=True)
    total_steps = models.PositiveIntegerField(default=0)
    done_steps = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="one_active_recompute",
            ),
        ]

    def __str__(self) -> str:
        return f"recompute {self.pk} ({self.status})"

    @property
    def progress(self) -> float:
        return self.done_steps / self.total_steps if self.total_steps else 0.0


class IncidentFacts(models.Model):
    """What the KPI jobs need to know of one incident, computed once and kept until an input
    changes: whether it is a repeat, and its time to resolve against its baseline.

    Both are expensive to find — a repeat looks back 180 days for a matching incident, a baseline
    is the median over hundreds of comparable ones — and both depend on other incidents, so a
    figure computed from scratch repeats that work for every month and every recompute. The jobs
    group these rows instead (metrics.bulk), and metrics.facts keeps them true: an incident's
    change marks its row and the rows it can influence stale (`stale_at`), and the next
    recompute refreshes every stale or missing row before it groups.

    The incident's own inputs are copied here as they were when the row was computed, so that a
    change can be compared with what the figures were built on.
    """

    incident = models.OneToOneField(
        "postmortems.Incident", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    started_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    severity = models.CharField(max_length=10)
    team_id = models.IntegerField()
    category_id = models.IntegerField(null=True, blank=True)
    service_ids = models.TextField(blank=True)  # "3,7": the incident's services, sorted
    helped = models.BooleanField(default=False)  # an article use marked helpful
    is_repeat = models.BooleanField(default=False)  # `repeat_of` set, or a match by the rule
    ttr_seconds = models.FloatField(null=True, blank=True)
    baseline_seconds = models.FloatField(null=True, blank=True)  # only for helped incidents
    # Its postmortem is published with a finding linked to, or spawning, an article.
    documented = models.BooleanField(default=False)
    # When the first article its postmortem's findings link, and that is published now, was
    # published: a failure mode "had knowledge" in a period that starts after this.
    knowledge_since = models.DateTimeField(null=True, blank=True)
    # The month it started, as year * 12 + month - 1, and for a categorised incident a bit per
    # month after that one (bit k: k months later) in which an incident of its category and one
    # of its services started within its 180 days, the pair not rejected: the months in which
    # this failure mode "recurred", for the recurrence split of the repeat rate.
    start_month = models.IntegerField(default=0)
    recurred_months = models.IntegerField(default=0)
    computed_at = models.DateTimeField(default=timezone.now)
    # Set when an input may have changed; a refresh clears it unless it was set again meanwhile.
    stale_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["started_at"], name="incident_facts_started"),
            models.Index(fields=["resolved_at"], name="incident_facts_resolved"),
            models.Index(
                fields=["stale_at"],
                condition=models.Q(stale_at__isnull=False),
                name="incident_facts_stale",
            ),
        ]

    def __str__(self) -> str:
        return f"facts of incident {self.incident_id}"


class FactsCoverage(models.Model):
    """The last thorough check that no incident lacks its IncidentFacts row: every incident with
    an id up to `through_incident_id` that started or resolved in [start, end) had one.

    A row goes missing in two ways only. An incident written through the services has a task
    that writes its row, stale, whatever its dates (incident_facts_invalidate). Seeders and other
    bulk writers add new incidents, with higher ids. So a later check of a window inside this one
    needs to look only at incidents above `through_incident_id`, instead of counting every
    incident of the window; the nightly recompute checks thoroughly again. One row (pk 1).
    """

    start = models.DateTimeField()
    end = models.DateTimeField()
    through_incident_id = models.BigIntegerField()
    checked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"facts checked through incident {self.through_incident_id}"
