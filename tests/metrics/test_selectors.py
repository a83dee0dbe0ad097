"""Reads of KPI figures: snapshots on request, trends, and drill-downs as each person sees them."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from kbsite.errors import InvalidInput
from kbsite.roles import user_roles
from kbsite.selectors import user_team_ids
from metrics import selectors
from metrics.models import KpiSnapshot, RecomputeRun
from metrics.periods import ALL, Scope, parse_month
from metrics.selectors import (
    kpi_drill_down,
    kpi_snapshot_get,
    kpi_trend,
    recompute_run_latest,
    scope_check,
)
from metrics.services import kpi_snapshot_compute
from tests.metrics.scenarios import FEBRUARY, MARCH, SECRET_TITLE, lessons_scenario

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario(payments_team):
    return lessons_scenario(payments_team)


def _warm(user) -> None:
    """Load the person's roles and teams, which are cached on the user for the request."""
    user_roles(user)
    user_team_ids(user=user)


# --- kpi_snapshot_get -----------------------------------------------------------------------


def test_snapshot_get_computes_and_stores_a_missing_figure(scenario):
    snapshot = kpi_snapshot_get(kpi="lessons_documented", period=MARCH, scope=ALL)

    assert KpiSnapshot.objects.count() == 1
    assert (snapshot.value, snapshot.numerator, snapshot.denominator) == (2 / 3, 2, 3)
    assert snapshot.scope == "all"
    assert (snapshot.period_start, snapshot.period_end) == (MARCH.start, MARCH.end)


def test_snapshot_get_reads_a_stored_figure_in_one_query(scenario, django_assert_num_queries):
    stored = kpi_snapshot_compute(kpi="lessons_documented", period=MARCH, scope=ALL)
    KpiSnapshot.objects.filter(pk=stored.pk).update(value=0.25)

    with django_assert_num_queries(1):
        snapshot = kpi_snapshot_get(kpi="lessons_documented", period=MARCH, scope=ALL)

    # The stored figure is answered as it is: reading never recomputes.
    assert (snapshot.pk, snapshot.value) == (stored.pk, 0.25)
    assert KpiSnapshot.objects.count() == 1


def test_snapshot_get_of_an_empty_period_is_no_data_and_stored(db):
    snapshot = kpi_snapshot_get(kpi="repeat_rate", period=MARCH, scope=ALL)

    assert (snapshot.value, snapshot.numerator, snapshot.denominator) == (None, 0, 0)
    assert KpiSnapshot.objects.filter(kpi="repeat_rate").count() == 1


@pytest.mark.parametrize(
    ("kpi", "scope", "field"),
    [
        ("mttr", ALL, "kpi"),
        ("lessons_documented", Scope(kind="team", slug="nobody"), "scope"),
        ("lessons_documented", Scope(kind="service", slug="nothing"), "scope"),
    ],
)
def test_snapshot_get_refuses_unknown_kpis_and_scopes(db, kpi, scope, field):
    with pytest.raises(InvalidInput) as refused:
        kpi_snapshot_get(kpi=kpi, period=MARCH, scope=scope)

    assert refused.value.field == field
    assert KpiSnapshot.objects.count() == 0


def test_scope_check_accepts_any_existing_team_or_service(payments_team, search_team):
    for scope in (ALL, Scope(kind="team", slug="search"), Scope(kind="severity", slug="sev1")):
        assert scope_check(scope=scope) is scope


# --- kpi_trend ------------------------------------------------------------------------------


def test_trend_is_one_query_and_leaves_missing_months_empty(scenario, django_assert_num_queries):
    january = parse_month("2026-01")
    march = kpi_snapshot_compute(kpi="lessons_documented", period=MARCH, scope=ALL)
    kpi_snapshot_compute(kpi="lessons_documented", period=FEBRUARY, scope=Scope("team", "payments"))
    kpi_snapshot_compute(kpi="repeat_rate", period=FEBRUARY, scope=ALL)

    with django_assert_num_queries(1):
        trend = kpi_trend(kpi="lessons_documented", scope=ALL, periods=[january, FEBRUARY, MARCH])

    assert [snapshot.pk if snapshot else None for snapshot in trend] == [None, None, march.pk]
    assert KpiSnapshot.objects.count() == 3  # nothing computed


# --- kpi_drill_down -------------------------------------------------------------------------


def _listed(drill_down):
    return [(row["id"], row["title"], row["in_numerator"]) for row in drill_down.incidents]


def test_drill_down_counts_a_restricted_incident_but_never_names_it_to_an_outsider(
    scenario, outsider, django_assert_num_queries
):
    snapshot = kpi_snapshot_get(kpi="lessons_documented", period=MARCH, scope=ALL)
    _warm(outsider)

    with django_assert_num_queries(1):
        drill_down = kpi_drill_down(snapshot=snapshot, user=outsider)

    assert _listed(drill_down) == [
        (scenario.documented.pk, "Checkout 503 after deploy", True),
        (scenario.plain.pk, "Ledger lag", False),
    ]
    assert drill_down.hidden == 1
    assert drill_down.total == 3
    assert SECRET_TITLE not in repr(drill_down)


def test_drill_down_of_a_large_month_reads_its_incidents_in_batches(
    scenario, outsider, django_assert_num_queries, monkeypatch
):
    snapshot = kpi_snapshot_get(kpi="lessons_documented", period=MARCH, scope=ALL)
    _warm(outsider)
    monkeypatch.setattr(selectors, "DRILL_DOWN_BATCH", 2)

    with django_assert_num_queries(2):  # three incidents, two per query
        drill_down = kpi_drill_down(snapshot=snapshot, user=outsider)

    assert _listed(drill_down) == [
        (scenario.documented.pk, "Checkout 503 after deploy", True),
        (scenario.plain.pk, "Ledger lag", False),
    ]
    assert drill_down.hidden == 1


def test_drill_down_names_the_restricted_incident_to_its_team_and_admins(
    scenario, responder, admin_user
):
    snapshot = kpi_snapshot_get(kpi="lessons_documented", period=MARCH, scope=ALL)

    for person in (responder, admin_user):
        drill_down = kpi_drill_down(snapshot=snapshot, user=person)
        assert _listed(drill_down) == [
            (scenario.documented.pk, "Checkout 503 after deploy", True),
            (scenario.plain.pk, "Ledger lag", False),
            (scenario.secret.pk, SECRET_TITLE, True),
        ]
        assert drill_down.hidden == 0


def test_drill_down_hides_the_restricted_incident_from_managers_too(scenario, manager):
    snapshot = kpi_snapshot_get(kpi="lessons_documented", period=MARCH, scope=ALL)

    drill_down = kpi_drill_down(snapshot=snapshot, user=manager)

    assert [row["id"] for row in drill_down.incidents] == [
        scenario.documented.pk,
        scenario.plain.pk,
    ]
    assert (drill_down.hidden, drill_down.in_numerator) == (1, 1)


def test_drill_down_rows_carry_the_incident_page(scenario, outsider):
    snapshot = kpi_snapshot_get(kpi="lessons_documented", period=MARCH, scope=ALL)

    first = kpi_drill_down(snapshot=snapshot, user=outsider).incidents[0]

    path = reverse("postmortems:incident_detail", kwargs={"pk": scenario.documented.pk})
    assert first == {
        "id": scenario.documented.pk,
        "title": "Checkout 503 after deploy",
        "path": path,
        "web_url": f"{settings.SITE_URL}{path}",
        "in_numerator": True,
    }


def test_drill_down_leaves_out_an_incident_deleted_since_the_figure(scenario, outsider):
    snapshot = kpi_snapshot_get(kpi="lessons_documented", period=MARCH, scope=ALL)
    scenario.plain.delete()

    drill_down = kpi_drill_down(snapshot=snapshot, user=outsider)

    assert [row["id"] for row in drill_down.incidents] == [scenario.documented.pk]
    assert drill_down.hidden == 1


def test_drill_down_of_no_data_is_empty(outsider):
    snapshot = kpi_snapshot_get(kpi="time_saved", period=MARCH, scope=ALL)

    drill_down = kpi_drill_down(snapshot=snapshot, user=outsider)

    assert (drill_down.incidents, drill_down.hidden) == ([], 0)


# --- recompute runs -------------------------------------------------------------------------


def test_latest_run_prefers_the_active_one(manager):
    RecomputeRun.objects.create(requested_by=manager, is_active=False, status="done")
    active = RecomputeRun.objects.create(requested_by=manager)
    RecomputeRun.objects.filter(pk=active.pk).update(
        created_at=active.created_at.replace(year=2020)
    )

    assert recompute_run_latest() == active


def test_latest_run_is_none_before_any(db):
    assert recompute_run_latest() is None
