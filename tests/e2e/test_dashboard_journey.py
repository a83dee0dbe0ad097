"""A manager's dashboard journey in Chromium, on the demo data: trends for the three KPIs, a
team filter, the drill-down behind "repeat incidents", one incident, and the CSV."""

from __future__ import annotations

import csv
import importlib
import io
import json
import re

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from playwright.sync_api import expect

from kbsite.demo_catalog import DEMO_PASSWORD
from metrics.models import RecomputeRun
from postmortems.models import Incident
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def migrated_data(transactional_db):
    """The role groups, categories and postmortem templates come from data migrations, which an
    earlier transactional test's flush removes; their seed functions are idempotent."""
    for migration in ("kbsite.migrations.0002_roles", MIGRATION_0002_POSTMORTEMS):
        module = importlib.import_module(migration)
        seed = getattr(module, "create_roles", None) or module.seed
        seed(django_apps, None)


MIGRATION_0002_POSTMORTEMS = "postmortems.migrations.0002_seed_taxonomy_and_templates"


def test_a_manager_follows_a_repeat_figure_to_its_incidents_and_exports_them(page):
    call_command("seed_demo", "--quiet-sign-ins")
    restricted = Incident.objects.filter(visibility="restricted").values_list("title", flat=True)
    sign_in(page, "maya", DEMO_PASSWORD)
    page.get_by_role("button", name="Sign out").wait_for()

    # Fresh figures first: "Recompute now" runs while the page shows its progress.
    page.goto("/dashboard/")
    page.get_by_role("button", name="Recompute now").click()
    expect(page.locator("#recompute-status")).to_contain_text("Recompute started")
    assert RecomputeRun.objects.get().status == "done"
    page.get_by_role("link", name="reload to see the new figures").click()

    # Non-empty trends for all three headline KPIs, drawn by Chart.js from the JSON block.
    data = json.loads(page.locator("#dashboard-data").text_content() or "{}")
    assert [chart["key"] for chart in data["charts"]] == [
        "lessons_documented",
        "repeat_rate",
        "time_saved",
    ]
    for chart in data["charts"]:
        assert any(value is not None for value in chart["values"]), chart["key"]
        expect(page.locator(f'canvas[data-chart="{chart["key"]}"]')).to_have_attribute(
            "data-rendered", "true"
        )
    expect(page.locator("#computed-at")).to_contain_text("Computed")
    expect(page.locator("#methods")).to_contain_text("180 days")

    # Filter by a team.
    page.get_by_label("Team").select_option("payments")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"team=payments"))
    expect(page.locator("#figures-for")).to_contain_text("team payments")

    # Drill down from "repeat incidents": open the trend's data table and pick a month with
    # repeats in it.
    page.locator('[data-toggle-table="table-repeat_rate"]').click()
    table = page.locator("#table-repeat_rate")
    expect(table).to_be_visible()
    rows = table.locator("tbody tr")
    month_with_repeats = None
    for index in range(rows.count()):
        numerator = rows.nth(index).locator("td").nth(1).text_content() or ""
        if numerator.strip() not in ("", "0"):
            month_with_repeats = rows.nth(index)
    assert month_with_repeats is not None, "the demo has no repeat incidents for Payments"
    month_with_repeats.get_by_role("link", name=re.compile("Incidents")).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Repeat incidents")
    listed = page.locator("#drill-down-incidents tbody tr")
    expect(listed.first).to_be_visible()
    for title in restricted:
        expect(page.locator("main")).not_to_contain_text(title)
    repeat_row = listed.filter(has_text="Yes: in the numerator").first
    link = repeat_row.get_by_role("link")
    incident_label = link.text_content() or ""
    incident_id = int(re.match(r"#(\d+)", incident_label).group(1))  # type: ignore[union-attr]
    drill_down_url = page.url

    # Open one incident.
    link.click()
    expect(page).to_have_url(re.compile(rf"/postmortems/incidents/{incident_id}/"))
    title = Incident.objects.get(pk=incident_id).title
    expect(page.locator("main")).to_contain_text(title)

    # Back to the list, and download its CSV.
    page.goto(drill_down_url)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download these incidents (CSV)").click()
    download = download_info.value
    assert download.suggested_filename.endswith("-incidents.csv")
    assert download.suggested_filename.startswith("kbsite-repeat_rate-")
    with open(download.path(), encoding="utf-8") as handle:
        exported = list(csv.reader(io.StringIO(handle.read())))
    assert exported[0] == ["incident_id", "title", "web_url", "in_numerator"]
    ids = [row[0] for row in exported[1:] if row[0]]
    assert str(incident_id) in ids
    assert len(ids) == listed.count()
    for title in restricted:
        assert all(title not in row for row in exported)
