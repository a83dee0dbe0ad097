"""The real path: PostgreSQL and a Celery worker process on Redis."""

from __future__ import annotations

import pytest
from django.db import connection

from kbsite.celery import app as celery_app
from kbsite.models import Heartbeat
from kbsite.tasks import record_heartbeat
from tests.worker import purge_queue, running_worker, wait_for


@pytest.mark.postgres
@pytest.mark.django_db
def test_suite_runs_on_postgresql_with_trigram_support():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int")
        assert cursor.fetchone()[0] >= 150000


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_and_its_effect_lands_in_the_database(settings):
    assert settings.REDIS_URL, "the worker test needs REDIS_URL"
    purge_queue()
    celery_app.conf.task_always_eager = False
    try:
        with running_worker():
            record_heartbeat.apply_async(kwargs={"source": "integration-test"})
            assert wait_for(lambda: Heartbeat.objects.filter(source="integration-test").exists())
    finally:
        celery_app.conf.task_always_eager = True
    beat = Heartbeat.objects.get(source="integration-test")
    assert beat.worker != ""
