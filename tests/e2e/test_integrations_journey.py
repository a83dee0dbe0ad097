"""An admin connects Alertmanager: creates the integration, copies its secret once, the tool
posts a firing alert with it, and the admin sees the delivery accepted and the incident open."""

from __future__ import annotations

import json
import urllib.request

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from kbsite.roles import Role
from postmortems.models import AlertIntegration, Incident
from tests.e2e.conftest import sign_in
from tests.kbsite.factories import PASSWORD, TeamFactory, UserFactory
from tests.postmortems.ingest_payloads import alertmanager_payload, prometheus_alert

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def roles(transactional_db):
    """Roles come from a data migration, which a transactional test's flush removes."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def post_alert(base_url: str, secret: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{base_url}/api/v1/ingest/alertmanager/",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {secret}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.load(response)


def test_an_admin_connects_alertmanager_and_sees_the_incident_it_opened(page, live_server):
    TeamFactory(name="Payments", slug="payments")
    UserFactory(username="ada", first_name="Ada", roles=["admin"])
    sign_in(page, "ada", PASSWORD)
    page.get_by_role("button", name="Sign out").wait_for()

    page.goto("/postmortems/integrations/")
    expect(page.get_by_text("No alert integrations yet.")).to_be_visible()
    page.get_by_label("Name").fill("Prod Alertmanager")
    page.get_by_label("Alerting tool").select_option(label="Prometheus Alertmanager")
    page.get_by_label("Team").select_option(label="Payments")
    page.get_by_label("Default severity").select_option(value="sev2")
    page.get_by_role("button", name="Add integration").click()

    expect(page.get_by_role("heading", name="Prod Alertmanager")).to_be_visible()
    expect(page.get_by_text("Copy the secret now: you will not see it again.")).to_be_visible()
    url = page.get_by_label("URL").input_value()
    assert url.endswith("/api/v1/ingest/alertmanager/")
    secret = page.get_by_label("Secret").input_value()
    assert AlertIntegration.hash_secret(secret) == AlertIntegration.objects.get().secret_hash
    expect(page.locator("pre").first).to_contain_text(f"credentials: {secret}")

    status, answer = post_alert(
        live_server.url,
        secret,
        alertmanager_payload(prometheus_alert(summary="Checkout 5xx ratio above 5%")),
    )
    assert status == 201
    incident = Incident.objects.get()
    assert answer["alerts"][0]["incident"] == incident.pk

    page.reload()  # the secret is gone once the page is left
    expect(page.get_by_label("Secret")).to_have_count(0)
    row = page.locator("#payload-log tbody tr").first
    expect(row).to_contain_text("accepted")
    expect(row).to_contain_text(f"Opened incident #{incident.pk}.")
    row.locator("details summary").click()
    expect(row.locator("pre")).to_contain_text('"fingerprint": "8c1d2e3f4a5b6c7d"')

    row.get_by_role("link", name=f"#{incident.pk} CheckoutHighErrorRate").click()
    expect(
        page.get_by_role("heading", name="CheckoutHighErrorRate: Checkout 5xx ratio above 5%")
    ).to_be_visible()
    expect(page.locator("#timeline .timeline-entry").first).to_contain_text(
        "Opened by alert from Prod Alertmanager (Prometheus Alertmanager)."
    )
    assert incident.severity == "sev1"  # the alert's critical label beats the default


def test_someone_who_is_not_an_admin_cannot_open_the_integration_pages(page, payments_team):
    UserFactory(username="rita", roles=["responder"], teams=[payments_team])
    sign_in(page, "rita", PASSWORD)
    page.get_by_role("button", name="Sign out").wait_for()
    response = page.goto("/postmortems/integrations/")
    assert response is not None and response.status == 403
