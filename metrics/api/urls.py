"""Metrics routes under /api/v1/ (included by kbsite.urls)."""

from django.urls import path

from metrics.api.views import KpiView

urlpatterns = [
    path("kpis/", KpiView.as_view(), name="kpi"),
]
