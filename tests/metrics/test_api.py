"""/api/v1/kpis/: the KPI contract of DESIGN.md, asserted precisely."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework import serializers

from kbsite.services import api_token_issue
from metrics.kpis import KPIS
from metrics.models import KpiSnapshot
from metrics.periods import ALL
from metrics.services import kpi_snapshot_compute
from tests.metrics.scenarios import MARCH, SECRET_TITLE, incident, lessons_scenario

pytestmark = pytest.mark.django_db

KPIS_URL = "/api/v1/kpis/"


def api(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def iso(moment) -> str:
    return serializers.DateTimeField().to_representation(moment)


def row(incident_, *, counted: bool) -> dict:
    path = reverse("postmortems:incident_detail", kwargs={"pk": incident_.pk})
    return {
        "id": incident_.pk,
        "title": incident_.title,
        "web_url": f"{settings.SITE_URL}{path}",
        "in_numerator": counted,
    }


def bad_request(field: str, message: str) -> dict:
    return {"error": {"code": "invalid", "message": message, "fields": {field: [message]}}}


@pytest.fixture
def scenario(payments_team):
    return lessons_scenario(payments_team)


# --- the list ---------------------------------------------------------------------------------


def test_without_kpi_lists_every_kpi_with_its_method(outsider):
    response = api(outsider).get(KPIS_URL)

    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            {
                "key": definition.key,
                "title": definition.title,
                "unit": definition.unit,
                "method": definition.method,
            }
            for definition in KPIS.values()
        ],
    }
    assert [item["key"] for item in response.json()["results"]] == [
        "lessons_documented",
        "repeat_rate",
        "time_saved",
    ]
    assert "180 days" in response.json()["results"][1]["method"]


def test_needs_credentials(db):
    response = Client().get(KPIS_URL)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_token_reads_figures(scenario, responder):
    key = api_token_issue(user=responder, name="grafana", scope="read").key

    response = Client().get(
        KPIS_URL,
        {"kpi": "lessons_documented", "period": "2026-03"},
        HTTP_AUTHORIZATION=f"Token {key}",
    )

    assert response.status_code == 200
    assert response.json()["hidden"] == 0


# --- one figure -------------------------------------------------------------------------------


def test_outsider_gets_the_figure_with_the_restricted_incident_counted_but_not_named(
    scenario, outsider
):
    response = api(outsider).get(
        KPIS_URL, {"kpi": "lessons_documented", "period": "2026-03", "scope": "all"}
    )

    snapshot = KpiSnapshot.objects.get(kpi="lessons_documented", scope="all")
    assert response.status_code == 200
    assert response.json() == {
        "kpi": "lessons_documented",
        "period": "2026-03",
        "scope": "all",
        "value": 2 / 3,
        "numerator": 2,
        "denominator": 3,
        "computed_at": iso(snapshot.computed_at),
        "incidents": [
            row(scenario.documented, counted=True),
            row(scenario.plain, counted=False),
        ],
        "hidden": 1,
        "extra": {},
    }
    assert SECRET_TITLE not in response.content.decode()
    assert f'"id": {scenario.secret.pk},' not in response.content.decode()


def test_team_member_sees_every_incident_of_the_figure(scenario, responder):
    response = api(responder).get(
        KPIS_URL, {"kpi": "lessons_documented", "period": "2026-03", "scope": "team:payments"}
    )

    body = response.json()
    assert (body["scope"], body["value"], body["hidden"]) == ("team:payments", 2 / 3, 0)
    assert body["incidents"] == [
        row(scenario.documented, counted=True),
        row(scenario.plain, counted=False),
        row(scenario.secret, counted=True),
    ]


def test_a_missing_figure_is_computed_on_request_and_stored(scenario, outsider):
    assert not KpiSnapshot.objects.exists()

    api(outsider).get(KPIS_URL, {"kpi": "lessons_documented", "period": "2026-03"})
    api(outsider).get(KPIS_URL, {"kpi": "lessons_documented", "period": "2026-03"})

    assert KpiSnapshot.objects.filter(kpi="lessons_documented", scope="all").count() == 1


def test_a_stored_figure_is_answered_as_stored(scenario, outsider):
    snapshot = kpi_snapshot_compute(kpi="lessons_documented", period=MARCH, scope=ALL)
    KpiSnapshot.objects.filter(pk=snapshot.pk).update(value=0.5, numerator=1, denominator=2)

    body = api(outsider).get(KPIS_URL, {"kpi": "lessons_documented", "period": "2026-03"}).json()

    assert (body["value"], body["numerator"], body["denominator"]) == (0.5, 1, 2)


def test_no_data_is_null_with_zero_counts(outsider):
    response = api(outsider).get(KPIS_URL, {"kpi": "time_saved", "period": "2026-03"})

    snapshot = KpiSnapshot.objects.get(kpi="time_saved")
    assert response.status_code == 200
    assert response.json() == {
        "kpi": "time_saved",
        "period": "2026-03",
        "scope": "all",
        "value": None,
        "numerator": 0,
        "denominator": 0,
        "computed_at": iso(snapshot.computed_at),
        "incidents": [],
        "hidden": 0,
        "extra": {
            "helped_incidents": 0,
            "without_baseline": 0,
            "estimated_minutes_saved": 0,
            "estimates": 0,
        },
    }


def test_repeat_rate_carries_baseline_reduction_and_recurrence(payments_team, outsider):
    from tests.postmortems.factories import RootCauseCategoryFactory, ServiceFactory

    category = RootCauseCategoryFactory(name="Config push", slug="config-push")
    checkout = ServiceFactory(name="checkout")
    # February: two incidents, the second repeats the first (same category and service).
    incident("2026-02-01 09:00", root_cause_category=category, services=[checkout])
    incident("2026-02-10 09:00", root_cause_category=category, services=[checkout])
    # March: one repeat of February's, one unrelated incident.
    mar1 = incident("2026-03-03 09:00", root_cause_category=category, services=[checkout])
    mar2 = incident("2026-03-04 09:00", services=[checkout])

    body = api(outsider).get(KPIS_URL, {"kpi": "REPEAT_RATE", "period": "2026-03"}).json()

    # Rate 1/2; baseline (September–February) 1/2; reduction 1 − 0.5/0.5 = 0.
    assert (body["kpi"], body["value"], body["numerator"], body["denominator"]) == (
        "repeat_rate",
        0.5,
        1,
        2,
    )
    assert (body["baseline"], body["reduction"]) == (0.5, 0.0)
    assert body["incidents"] == [row(mar1, counted=True), row(mar2, counted=False)]
    assert body["extra"] == {
        "baseline": 0.5,
        "reduction": 0.0,
        "baseline_repeats": 1,
        "baseline_incidents": 2,
        "recurrence": {
            # February's two incidents were at risk; both recurred (mar1); neither had an article.
            "with_article": {"at_risk": 0, "recurred": 0},
            "without_article": {"at_risk": 2, "recurred": 2},
        },
    }


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"kpi": "mttr", "period": "2026-03"},
            "kpi",
            "Unknown KPI 'mttr'; choose one of: lessons_documented, repeat_rate, time_saved.",
        ),
        (
            {"kpi": "repeat_rate", "period": "March"},
            "period",
            "Give the period as YYYY-MM, for example 2026-03.",
        ),
        (
            {"kpi": "repeat_rate"},
            "period",
            "Give the period as YYYY-MM, for example 2026-03.",
        ),
        (
            {"kpi": "repeat_rate", "period": "2026-13"},
            "period",
            "'2026-13' is not a month between 2000-01 and 2100-12.",
        ),
        (
            {"kpi": "repeat_rate", "period": "2026-03", "scope": "team:ghosts"},
            "scope",
            "There is no team 'ghosts'.",
        ),
        (
            {"kpi": "repeat_rate", "period": "2026-03", "scope": "service:nothing"},
            "scope",
            "There is no service 'nothing'.",
        ),
        (
            {"kpi": "repeat_rate", "period": "2026-03", "scope": "planet:earth"},
            "scope",
            "Scope must be all, team:<slug>, service:<slug> or severity:sev1…sev4.",
        ),
        (
            {"kpi": "repeat_rate", "period": "2026-03", "scope": "team:<script>"},
            "scope",
            "Scope must be all, team:<slug>, service:<slug> or severity:sev1…sev4.",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(outsider, params, field, message):
    response = api(outsider).get(KPIS_URL, params)

    assert response.status_code == 400
    assert response.json() == bad_request(field, message)
    assert not KpiSnapshot.objects.exists()


@pytest.mark.parametrize(
    ("name", "value"), [("kpi", "k" * 10_000), ("period", "2026-03" * 1000), ("scope", "x" * 500)]
)
def test_oversized_parameters_are_refused_without_echoing_them(outsider, name, value):
    params = {"kpi": "repeat_rate", "period": "2026-03", name: value}

    response = api(outsider).get(KPIS_URL, params)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [name]
    assert len(response.content) < 1000
    assert not KpiSnapshot.objects.exists()


def test_query_count_is_constant_whatever_the_number_of_incidents(payments_team, outsider):
    def count_queries(how_many: int) -> int:
        for number in range(how_many):
            incident(f"2026-03-{number % 28 + 1:02d} 10:00", hours=1, team=payments_team)
        KpiSnapshot.objects.all().delete()
        kpi_snapshot_compute(kpi="lessons_documented", period=MARCH, scope=ALL)
        client = api(outsider)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(KPIS_URL, {"kpi": "lessons_documented", "period": "2026-03"})
        assert response.status_code == 200
        return len(queries)

    assert count_queries(2) == count_queries(30)
