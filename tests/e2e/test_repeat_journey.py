"""A responder opens an incident that resembles a demo incident, sees "possibly a repeat", and
confirms it (issue 5's responder journey)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from postmortems.models import Incident
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_responder_sees_the_possible_repeat_and_confirms_it(page):
    call_command("seed_demo", quiet_sign_ins=True)
    sign_in(page, "rita", "kbsite-demo")
    page.get_by_role("button", name="Sign out").wait_for()

    page.goto("/postmortems/incidents/new/")
    page.locator("#id_title").fill("Checkout answers 503 right after the deploy")
    page.locator("#id_team").select_option("payments")
    page.locator("#id_services").select_option(["checkout"])
    page.locator("#id_root_cause_category").select_option("binary-push")
    page.locator("#id_started_at").fill(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Open incident").click()

    panel = page.locator("#similar-incidents")
    expect(panel).to_be_visible()
    first = panel.locator("li[data-similar-id]").first
    earlier_id = int(first.get_attribute("data-similar-id") or 0)
    earlier = Incident.objects.get(pk=earlier_id)
    assert earlier.title == "Checkout returns 503 after a deploy"
    expect(first).to_contain_text("Same root cause (Binary push)")
    expect(first.get_by_role("link", name="read it")).to_be_visible()

    first.get_by_role("button", name=f"Confirm: a repeat of #{earlier_id}").click()
    expect(page.get_by_text(f"Marked as a repeat of #{earlier_id}")).to_be_visible()
    created = Incident.objects.get(title="Checkout answers 503 right after the deploy")
    assert created.repeat_of_id == earlier_id
