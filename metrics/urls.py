from django.urls import path

from metrics import views

app_name = "metrics"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export.csv", views.dashboard_csv, name="dashboard_csv"),
    path("drill-down/", views.kpi_drill_down, name="kpi_drill_down"),
    path("drill-down.csv", views.kpi_drill_down_csv, name="kpi_drill_down_csv"),
    path("recompute/", views.recompute, name="recompute"),
    path("recompute/progress/", views.recompute_progress, name="recompute_progress"),
]
