"""Postmortem journeys in Chromium: a responder writes and submits a blameless postmortem whose
findings link and spawn knowledge; a reviewer sends it back, approves it, and publishing it
publishes the spawned article; an outsider cannot find or open a restricted incident."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from kbsite.roles import Role
from knowledge.models import Article, ArticleState
from knowledge.search import index_articles
from postmortems import services
from postmortems.models import ActionItem, ArticleUse, Finding, Postmortem, PostmortemState
from tests.e2e.conftest import sign_in
from tests.kbsite.factories import PASSWORD, UserFactory
from tests.knowledge.factories import published_article
from tests.postmortems.factories import IncidentFactory, complete_sections, restricted_incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SEED = importlib.import_module("postmortems.migrations.0002_seed_taxonomy_and_templates")


@pytest.fixture(autouse=True)
def seeded(transactional_db):
    """Roles and templates come from data migrations, which a transactional test's flush
    removes."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)
    SEED.seed(django_apps, None)


def signed_in(page, username: str) -> None:
    sign_in(page, username, PASSWORD)
    page.get_by_role("button", name="Sign out").wait_for()


def type_in_section(page, key: str, text: str) -> None:
    """Fill a section and release a key, as typing does (the live lint listens to keyup)."""
    box = page.locator(f"#id_{key}")
    box.fill(text)
    box.press("End")


def test_a_responder_writes_links_spawns_records_and_submits(page, payments_team):
    rita = UserFactory(
        username="rita", first_name="Rita", roles=["responder"], teams=[payments_team]
    )
    incident = IncidentFactory(team=payments_team, title="Checkout answers 503 after deploy")
    runbook = published_article(
        title="Readiness probes for checkout", symptoms="Pods get traffic before they are ready."
    )
    index_articles(article_ids=[runbook.pk])

    signed_in(page, "rita")
    page.goto(incident.get_absolute_url())
    page.get_by_role("button", name="Start postmortem").click()
    expect(page.locator(".message.success")).to_contain_text("Postmortem started")
    postmortem = Postmortem.objects.get(incident=incident)

    # A blameless warning while typing, and gone once the sentence is rewritten.
    type_in_section(page, "summary", "Bob forgot to check the readiness probe before the rollout.")
    warning = page.locator("#lint-summary .lint-warning")
    expect(warning).to_have_count(1)
    expect(warning.locator("mark")).to_contain_text("Bob forgot to")
    type_in_section(page, "summary", "The rollout did not wait for the readiness probe.")
    expect(page.locator("#lint-summary .lint-ok")).to_have_text("No blameless-language warnings.")
    expect(page.locator("#lint-summary .lint-warning")).to_have_count(0)
    for key, text in complete_sections(
        summary="The rollout did not wait for the readiness probe."
    ).items():
        type_in_section(page, key, text)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".message.success")).to_have_text("Saved as version 2.")

    # One finding linked through the inline search...
    finding_form = page.locator("#finding-form")
    finding_form.get_by_role("textbox", name="Finding:").fill(
        "Traffic reached pods before they were ready"
    )
    finding_form.get_by_label("Kind").select_option("root_cause")
    finding_form.get_by_label("Search the knowledge base").fill("readiness probes")
    finding_form.get_by_role("button", name="Link “Readiness probes for checkout”").click()
    expect(page.locator(".message.success")).to_have_text(
        "Finding recorded and linked to “Readiness probes for checkout”."
    )
    # ...and one that spawns a new draft article.
    finding_form = page.locator("#finding-form")
    finding_form.get_by_role("textbox", name="Finding:").fill(
        "Rollbacks need a one-command runbook"
    )
    finding_form.get_by_label("Kind").select_option("process_gap")
    finding_form.get_by_label("Spawn a new draft article from this finding").check()
    finding_form.get_by_role("button", name="Add finding").click()
    expect(page.locator(".message.success")).to_contain_text(
        "a draft article “Rollbacks need a one-command runbook” spawned"
    )
    expect(
        page.locator("#findings").get_by_role("link", name="Rollbacks need a one-command runbook")
    ).to_be_visible()

    # An action item.
    items = page.locator("#action-item-form")
    items.get_by_label("Title").fill("Gate rollouts on the readiness probe")
    items.get_by_label("Priority").select_option("p1")
    items.get_by_role("button", name="Add action item").click()
    expect(page.locator(".message.success")).to_contain_text("Action item added, due")

    # The article that helped during the response, on the incident page.
    page.goto(incident.get_absolute_url())
    uses = page.locator("#article-use-form")
    uses.get_by_label("Yes, it helped").check()
    uses.get_by_label("Minutes saved (estimate)").fill("20")
    uses.get_by_label("Search the knowledge base").fill("readiness")
    uses.get_by_role("button", name="Record use “Readiness probes for checkout”").click()
    expect(page.locator(".message.success")).to_have_text(
        "Recorded that “Readiness probes for checkout” was used."
    )

    # Submit for review.
    page.goto(f"/postmortems/{postmortem.pk}/edit/")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".message.success")).to_contain_text("Submitted for review.")

    postmortem.refresh_from_db()
    assert postmortem.state == PostmortemState.IN_REVIEW
    assert postmortem.sections["summary"] == "The rollout did not wait for the readiness probe."
    findings = list(Finding.objects.filter(postmortem=postmortem).order_by("position"))
    assert [(f.outcome, f.article.title) for f in findings] == [
        ("linked", "Readiness probes for checkout"),
        ("spawned", "Rollbacks need a one-command runbook"),
    ]
    assert findings[1].article.state == ArticleState.IN_REVIEW
    use = ArticleUse.objects.get()
    assert (use.article, use.helped, use.minutes_saved, use.user) == (runbook, True, 20, rita)
    assert ActionItem.objects.get().priority == "p1"
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_a_reviewer_asks_for_changes_approves_and_publishing_publishes_the_spawned_article(
    page, payments_team, search_team
):
    rita = UserFactory(
        username="rita", first_name="Rita", roles=["responder"], teams=[payments_team]
    )
    UserFactory(username="vic", first_name="Vic", roles=["reviewer"], teams=[search_team])
    incident = IncidentFactory(team=payments_team, title="Checkout answers 503 after deploy")
    postmortem = services.postmortem_start(incident=incident, user=rita)
    postmortem = services.postmortem_save_sections(
        postmortem=postmortem,
        user=rita,
        sections=complete_sections(impact="Some checkouts failed."),
        expected_version=postmortem.version,
    )
    services.finding_add(
        postmortem=postmortem,
        user=rita,
        text="Zanzibar rollback runbook",
        kind="process_gap",
        spawn_article=True,
    )
    services.postmortem_submit(postmortem=postmortem, user=rita)

    signed_in(page, "vic")
    page.goto(f"/postmortems/{postmortem.pk}/")
    expect(page.locator("#spawned-articles")).to_contain_text("Zanzibar rollback runbook")
    page.get_by_label("What should change? (required)").fill(
        "Quantify the impact: how many checkouts?"
    )
    page.get_by_role("button", name="Request changes").click()
    expect(page.locator(".message.success")).to_have_text(
        "Sent back to its authors with your comment."
    )
    page.get_by_role("button", name="Sign out").click()

    signed_in(page, "rita")
    page.goto(f"/postmortems/{postmortem.pk}/edit/")
    type_in_section(page, "impact", "About 2,300 checkouts failed over 14 minutes.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".message.success")).to_contain_text("Saved as version")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".message.success")).to_contain_text("Submitted for review.")
    page.get_by_role("button", name="Sign out").click()

    signed_in(page, "vic")
    page.goto(f"/postmortems/{postmortem.pk}/")
    expect(page.locator("#section-impact")).to_contain_text("About 2,300 checkouts failed")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".message.success")).to_have_text("Approval recorded.")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".message.success")).to_have_text("Published.")
    expect(page.locator("#postmortem .badge.published").first).to_have_text("Published")

    article = Article.objects.get(title="Zanzibar rollback runbook")
    assert article.state == ArticleState.PUBLISHED
    page.goto("/knowledge/?q=zanzibar+rollback")
    expect(page.locator("li.result h2 a").first).to_have_text("Zanzibar rollback runbook")


def test_an_outsider_cannot_find_or_open_a_restricted_incident(page, payments_team, search_team):
    rita = UserFactory(username="rita", roles=["responder"], teams=[payments_team])
    UserFactory(username="oscar", roles=["responder"], teams=[search_team])
    secret = restricted_incident(team=payments_team, title="Cardholder data exposure")
    postmortem = services.postmortem_start(incident=secret, user=rita)
    visible = IncidentFactory(team=payments_team, title="Cardholder page slow")

    signed_in(page, "oscar")
    page.goto("/postmortems/")
    expect(page.locator("#incident-list")).to_contain_text("Cardholder page slow")
    expect(page.locator("#incident-list")).not_to_contain_text("Cardholder data exposure")

    page.get_by_label("Search titles").fill("cardholder")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"q=cardholder"))
    expect(page.locator("#incident-list tbody tr")).to_have_count(1)
    expect(page.locator("#incident-list")).to_contain_text(visible.title)

    for address in (
        f"/postmortems/incidents/{secret.pk}/",
        f"/postmortems/{postmortem.pk}/",
        f"/postmortems/{postmortem.pk}/edit/",
    ):
        response = page.goto(address)
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
        expect(page.locator("main")).not_to_contain_text("Cardholder data exposure")

    export = page.request.get(f"/postmortems/{postmortem.pk}/export.md")
    assert export.status == 404
    assert "Cardholder data exposure" not in export.text()
