"""The operators' view of stored figures and recompute runs."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from metrics.models import KpiSnapshot, RecomputeRun
from metrics.periods import ALL
from metrics.services import kpi_snapshot_compute
from tests.metrics.scenarios import MARCH

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_snapshots_are_listed_but_not_editable(operator):
    snapshot = kpi_snapshot_compute(kpi="repeat_rate", period=MARCH, scope=ALL)

    listing = operator.get(reverse("admin:metrics_kpisnapshot_changelist"))
    add = operator.get(reverse("admin:metrics_kpisnapshot_add"))
    change = operator.post(
        reverse("admin:metrics_kpisnapshot_change", args=[snapshot.pk]), {"value": "0.9"}
    )

    assert listing.status_code == 200
    assert "repeat_rate" in listing.content.decode()
    assert add.status_code == 403
    assert change.status_code == 403
    snapshot.refresh_from_db()
    assert snapshot.value is None


def test_a_stuck_run_can_be_marked_failed_so_recompute_is_possible_again(operator, manager):
    stuck = RecomputeRun.objects.create(requested_by=manager, status="running")
    done = RecomputeRun.objects.create(requested_by=manager, status="done", is_active=False)

    response = operator.post(
        reverse("admin:metrics_recomputerun_changelist"),
        {"action": "mark_failed", "_selected_action": [stuck.pk, done.pk]},
        follow=True,
    )

    assert response.status_code == 200
    stuck.refresh_from_db()
    done.refresh_from_db()
    assert (stuck.status, stuck.is_active) == ("failed", False)
    assert stuck.error == "Marked failed by ada in the admin."
    assert (done.status, done.error) == ("done", "")
    assert not KpiSnapshot.objects.exists()
