"""Computed KPI figures. The dashboard and the API read these; jobs write them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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
