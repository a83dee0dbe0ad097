from django.apps import AppConfig


class MetricsConfig(AppConfig):
    """KPI definitions, jobs, snapshots and the dashboard. Reads kbsite, knowledge, postmortems."""

    name = "metrics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from metrics.subscriptions import subscribe_all

        subscribe_all()
