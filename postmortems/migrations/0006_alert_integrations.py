"""Alert ingestion: the integrations alerting tools deliver through, and their payload log."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("kbsite", "0001_initial"),
        ("postmortems", "0005_action_item_overdue_notice"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AlertIntegration",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("alertmanager", "Prometheus Alertmanager"),
                            ("grafana", "Grafana alerting"),
                            ("pagerduty", "PagerDuty"),
                            ("opsgenie", "Opsgenie"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "default_severity",
                    models.CharField(
                        choices=[
                            ("sev1", "SEV1 — critical"),
                            ("sev2", "SEV2 — major"),
                            ("sev3", "SEV3 — minor"),
                            ("sev4", "SEV4 — low"),
                        ],
                        default="sev3",
                        max_length=10,
                    ),
                ),
                ("secret_prefix", models.CharField(max_length=8)),
                ("secret_hash", models.CharField(max_length=64, unique=True)),
                ("signing_secret", models.CharField(blank=True, max_length=200)),
                ("is_enabled", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("last_received_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "default_services",
                    models.ManyToManyField(blank=True, related_name="+", to="kbsite.service"),
                ),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="alert_integrations",
                        to="kbsite.team",
                    ),
                ),
            ],
            options={
                "ordering": ["name", "id"],
            },
        ),
        migrations.CreateModel(
            name="IngestedPayload",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("source", models.CharField(max_length=20)),
                ("received_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("accepted", models.BooleanField()),
                ("status_code", models.PositiveSmallIntegerField()),
                ("reason", models.CharField(max_length=1000)),
                ("external_id", models.CharField(blank=True, max_length=200)),
                ("event_id", models.CharField(blank=True, max_length=200)),
                ("body_excerpt", models.TextField(blank=True)),
                ("remote_addr", models.CharField(blank=True, max_length=45)),
                (
                    "incident",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="postmortems.incident",
                    ),
                ),
                (
                    "integration",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="payloads",
                        to="postmortems.alertintegration",
                    ),
                ),
            ],
            options={
                "ordering": ["-received_at", "-id"],
                "indexes": [
                    models.Index(fields=["integration", "-id"], name="ingested_payload_log")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(
                            ("accepted", True), models.Q(("event_id", ""), _negated=True)
                        ),
                        fields=("integration", "event_id"),
                        name="ingested_payload_event_once",
                    )
                ],
            },
        ),
    ]
