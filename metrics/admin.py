"""Operators read the stored figures and recompute runs here. Jobs write them (upserts on the
unique key), so the admin only views; a stuck run can be marked failed, through the service,
so that "recompute now" is possible again."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from metrics.models import KpiSnapshot, RecomputeRun
from metrics.services import recompute_run_finish


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(ReadOnlyAdmin):
    list_display = [
        "kpi",
        "scope",
        "period_start",
        "period_end",
        "value",
        "numerator",
        "denominator",
        "computed_at",
    ]
    list_filter = ["kpi", "period_start"]
    search_fields = ["scope"]
    date_hierarchy = "period_start"
    ordering = ["-period_start", "kpi", "scope"]


@admin.register(RecomputeRun)
class RecomputeRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "status",
        "requested_by",
        "done_steps",
        "total_steps",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status"]
    list_select_related = ["requested_by"]
    actions = ["mark_failed"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The action below needs it; every field stays read-only.
        return super(ReadOnlyAdmin, self).has_change_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    @admin.action(description="Mark as failed (a worker died and the run is stuck)")
    def mark_failed(self, request: HttpRequest, queryset: QuerySet[RecomputeRun]) -> None:
        count = 0
        for run in queryset.filter(is_active=True):
            recompute_run_finish(run=run, error=f"Marked failed by {request.user} in the admin.")
            count += 1
        messages.success(request, f"{count} run(s) marked failed.")
