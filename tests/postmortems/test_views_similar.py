"""The "possibly a repeat" panel on the incident page: shown, confirmed, rejected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from postmortems.models import Incident, RepeatRejection
from tests.kbsite.factories import ServiceFactory, TeamFactory
from tests.postmortems.factories import IncidentFactory, RootCauseCategoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(payments_team, responder):
    category = RootCauseCategoryFactory(name="Scenario config", slug="scenario-config")
    checkout = ServiceFactory(name="checkout", team=payments_team)
    earlier = IncidentFactory(
        title="Checkout returns 503 after deploy",
        summary="The readiness probe checked the wrong port.",
        team=payments_team,
        services=[checkout],
        root_cause_category=category,
        started_at=timezone.now() - timedelta(days=30),
    )
    current = IncidentFactory(
        title="Checkout 503s after the morning deploy",
        summary="Pods took traffic before they were ready.",
        team=payments_team,
        services=[checkout],
        root_cause_category=category,
        responders=[responder],
    )
    return earlier, current


def panel(client, incident):
    """The "possibly a repeat" panel as htmx fetches it after the incident page."""
    url = reverse("postmortems:incident_similar_panel", args=[incident.pk])
    return client.get(url, HTTP_HX_REQUEST="true").content.decode()


def test_the_incident_page_suggests_the_earlier_incident_with_its_reason(client, responder, pair):
    earlier, current = pair
    client.force_login(responder)
    page = client.get(reverse("postmortems:incident_detail", args=[current.pk])).content.decode()
    assert f'hx-get="/postmortems/incidents/{current.pk}/similar/"' in page
    html = panel(client, current)
    assert f"Possibly a repeat of #{earlier.pk} Checkout returns 503 after deploy" in html
    assert (
        "Same root cause (Scenario config) and service checkout, 29 days earlier" in html
    )  # 30 days before, less the 3 hours
    assert f"Confirm: a repeat of #{earlier.pk}" in html


def test_confirming_sets_repeat_of(client, responder, pair):
    earlier, current = pair
    client.force_login(responder)
    response = client.post(
        reverse("postmortems:incident_confirm_repeat", args=[current.pk]),
        {"earlier": earlier.pk, "version": current.version},
        follow=True,
    )
    assert response.status_code == 200
    current.refresh_from_db()
    assert current.repeat_of_id == earlier.pk
    assert f"Marked as a repeat of #{earlier.pk}" in response.content.decode()
    assert f"Possibly a repeat of #{earlier.pk}" not in panel(client, current)


def test_rejecting_records_the_pair_and_hides_the_suggestion(client, responder, pair):
    earlier, current = pair
    client.force_login(responder)
    response = client.post(
        reverse("postmortems:incident_reject_repeat", args=[current.pk]),
        {"earlier": earlier.pk},
        follow=True,
    )
    assert RepeatRejection.objects.filter(incident=current, earlier=earlier).count() == 1
    assert f"#{earlier.pk} will not be suggested" in response.content.decode()
    assert f"Possibly a repeat of #{earlier.pk}" not in panel(client, current)
    current.refresh_from_db()
    assert current.repeat_of_id is None


def test_a_stale_version_changes_nothing(client, responder, pair):
    earlier, current = pair
    client.force_login(responder)
    response = client.post(
        reverse("postmortems:incident_confirm_repeat", args=[current.pk]),
        {"earlier": earlier.pk, "version": current.version + 5},
        follow=True,
    )
    assert response.status_code == 200
    current.refresh_from_db()
    assert current.repeat_of_id is None


def test_someone_not_on_the_incident_cannot_confirm(client, outsider, pair):
    earlier, current = pair
    client.force_login(outsider)
    response = client.post(
        reverse("postmortems:incident_confirm_repeat", args=[current.pk]),
        {"earlier": earlier.pk, "version": current.version},
    )
    assert response.status_code == 403
    current.refresh_from_db()
    assert current.repeat_of_id is None


def test_a_restricted_earlier_incident_cannot_be_confirmed_by_guessing_its_id(
    client, responder, pair
):
    _, current = pair
    hidden = IncidentFactory(team=TeamFactory(name="Identity"), visibility="restricted")
    client.force_login(responder)
    response = client.post(
        reverse("postmortems:incident_confirm_repeat", args=[current.pk]),
        {"earlier": hidden.pk, "version": current.version},
    )
    assert response.status_code == 404
    assert Incident.objects.get(pk=current.pk).repeat_of_id is None


def test_malformed_input_is_refused(client, responder, pair):
    _, current = pair
    client.force_login(responder)
    response = client.post(
        reverse("postmortems:incident_reject_repeat", args=[current.pk]),
        {"earlier": "not-a-number"},
        follow=True,
    )
    assert "Choose which suggestion is not a repeat." in response.content.decode()
    assert RepeatRejection.objects.count() == 0


def test_the_panel_works_without_javascript_as_a_page(client, responder, pair):
    earlier, current = pair
    client.force_login(responder)
    response = client.get(reverse("postmortems:incident_similar_panel", args=[current.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>" in html
    assert f"Possibly a repeat of #{earlier.pk}" in html


def test_the_panel_of_a_restricted_incident_is_404_for_an_outsider(client, outsider, pair):
    _, current = pair
    current.visibility = "restricted"
    current.save()
    client.force_login(outsider)
    for name in ("incident_similar_panel", "incident_suggestions_panel"):
        assert client.get(reverse(f"postmortems:{name}", args=[current.pk])).status_code == 404
