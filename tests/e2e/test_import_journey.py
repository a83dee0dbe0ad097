"""A responder moves postmortems in: uploads two files, checks them (one is refused and the page
says why), imports, and opens the incident that was created."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from postmortems.models import Incident
from tests.e2e.conftest import sign_in
from tests.kbsite.factories import PASSWORD, ServiceFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SAMPLES = Path(__file__).parent.parent / "postmortems" / "import_samples"


def test_a_responder_checks_then_imports_two_files_and_opens_the_incident(page):
    payments = TeamFactory(name="Payments", slug="payments")
    ServiceFactory(name="Checkout", slug="checkout", team=payments)
    UserFactory(username="rita", roles=["responder"], teams=[payments])
    sign_in(page, "rita", PASSWORD)
    page.get_by_role("button", name="Sign out").wait_for()

    page.goto("/postmortems/")
    page.get_by_role("link", name="Import postmortems from markdown").click()
    page.get_by_label("Markdown files or a zip").set_input_files(
        [SAMPLES / "default_headings_checkout.md", SAMPLES / "unknown_team.md"]
    )
    page.get_by_role("button", name="Check (dry run)").click()

    report = page.locator("#import-result")
    expect(report).to_contain_text("Check: nothing was written")
    expect(report).to_contain_text("2 files: 1 would be created, 0 already imported, 1 refused.")
    refused = page.locator('tr[data-file="unknown_team.md"]')
    expect(refused).to_contain_text("Refused")
    expect(refused).to_contain_text(
        "Unknown team 'networking-that-does-not-exist': no team has that slug here."
    )
    expect(page.locator('tr[data-file="default_headings_checkout.md"]')).to_contain_text(
        "Would create"
    )
    assert Incident.objects.count() == 0

    page.get_by_role("button", name="Import", exact=True).click()

    expect(page.locator("#import-result")).to_contain_text("Import done")
    created = page.locator('tr[data-file="default_headings_checkout.md"]')
    expect(created).to_contain_text("Created")
    created.get_by_role("link", name="Checkout answered 503 after a deploy").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Checkout answered 503 after a deploy"
    )
    incident = Incident.objects.get()
    assert page.url.endswith(incident.get_absolute_url())
    assert incident.timeline.count() == 4
