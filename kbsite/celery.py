"""The Celery application and the single place where periodic schedules live.

Without REDIS_URL, settings make every task run eagerly in the calling process, so the embedded
mode needs no broker. With REDIS_URL, run `celery -A kbsite worker --beat` beside the web server.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kbsite.settings")

app = Celery("kbsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Proves the worker and beat are alive; /healthz and the admin show the latest beat.
    "heartbeat": {
        "task": "kbsite.tasks.record_heartbeat",
        "schedule": crontab(minute="*/5"),
        "kwargs": {"source": "beat"},
    },
    # Once a day, remind owners of published articles that are past their review date; an
    # article is reminded once per due date, so a rerun or a missed day sends nothing twice.
    "knowledge-overdue-reviews": {
        "task": "knowledge.tasks.notify_overdue_reviews",
        "schedule": crontab(hour=7, minute=0),
    },
    # Every night, recompute the KPI snapshots of the last 13 months for every scope: late
    # postmortems and new comparable incidents change earlier months' figures.
    "metrics-nightly-recompute": {
        "task": "metrics.tasks.recompute_recent",
        "schedule": crontab(hour=2, minute=30),
    },
    # Every night, delete webhook delivery logs older than WEBHOOK_DELIVERY_RETENTION_DAYS.
    "webhooks-prune-deliveries": {
        "task": "kbsite.webhooks.tasks.prune_webhook_deliveries",
        "schedule": crontab(hour=3, minute=15),
    },
    # Every hour, forget API answers kept for Idempotency-Key replays once they are older than
    # IDEMPOTENCY_KEY_TTL_HOURS (expired keys are already ignored; this only frees the rows).
    "idempotency-prune-records": {
        "task": "kbsite.tasks.prune_idempotency_records",
        "schedule": crontab(minute=40),
    },
    # Once a day, tell owners (and `action_item.overdue` webhooks) of action items past their due
    # date; each item is announced once per due date, so a rerun or a missed day repeats nothing.
    "postmortems-overdue-action-items": {
        "task": "postmortems.tasks.notify_overdue_action_items",
        "schedule": crontab(hour=7, minute=10),
    },
}
