"""Knowledge journeys in Chromium: find an article despite a typo and flag it; fix it while a
second editor saves first; read the diff; publish it. Also: nothing typed is lost on reload."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from kbsite.roles import Role
from knowledge.models import Article, ArticleFeedback, ArticleState
from knowledge.search import index_articles
from tests.e2e.conftest import sign_in
from tests.kbsite.factories import PASSWORD, UserFactory
from tests.knowledge.factories import draft_article, published_article

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def roles(transactional_db):
    """The role groups come from a data migration, which a transactional test's flush removes."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def signed_in(page, username: str) -> None:
    """Sign in and wait until the home page is there (the login page's URL also ends in /)."""
    sign_in(page, username, PASSWORD)
    page.get_by_role("button", name="Sign out").wait_for()


def test_an_engineer_finds_an_article_despite_a_typo_and_flags_it_outdated(page, payments_team):
    UserFactory(username="rita", first_name="Rita", roles=["responder"], teams=[payments_team])
    owner = UserFactory(username="erin", first_name="Erin", roles=["editor"])
    article = published_article(
        title="Renew an expired TLS certificate",
        symptoms="Browsers show **certificate expired**; checkout calls fail the TLS handshake.",
        resolution="Run `certbot renew` and reload nginx.",
        owner=owner,
    )
    published_article(title="Checkout returns 503 after deploy", symptoms="Pods not ready.")
    index_articles(article_ids=list(Article.objects.values_list("pk", flat=True)))

    signed_in(page, "rita")
    page.get_by_label("Search knowledge").fill("certficate expired")
    page.get_by_label("Search knowledge").press("Enter")

    page.wait_for_url(re.compile(r"/knowledge/\?q=certficate"))
    results = page.locator("li.result h2 a")
    expect(results.first).to_have_text("Renew an expired TLS certificate")
    expect(page.locator("li.result").first.locator("mark").first).to_be_visible()

    results.first.click()
    page.wait_for_url(f"**{article.get_absolute_url()}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Renew an expired TLS certificate")
    expect(page.locator("#symptoms strong")).to_have_text("certificate expired")

    # The comment is required: an empty flag does not submit.
    page.get_by_role("button", name="Flag as outdated").click()
    assert ArticleFeedback.objects.count() == 0

    page.get_by_label("Flag as outdated: what is wrong?").fill(
        "We moved to cert-manager; certbot is gone."
    )
    page.get_by_role("button", name="Flag as outdated").click()

    expect(page.locator(".message.success")).to_have_text(
        "Flagged as outdated. The owner has been notified."
    )
    expect(page.locator("#open-flags")).to_contain_text(
        "We moved to cert-manager; certbot is gone."
    )
    expect(page.locator(".badge.flagged").first).to_have_text("Flagged outdated")
    article.refresh_from_db()
    assert article.open_flags == 1
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_editors_fix_an_article_a_concurrent_save_keeps_its_text_and_a_reviewer_publishes(
    browser, page, live_server, payments_team
):
    UserFactory(username="erin", first_name="Erin", roles=["editor"])
    UserFactory(username="erik", first_name="Erik", roles=["editor"])
    UserFactory(username="rob", first_name="Rob", roles=["reviewer"], teams=[payments_team])
    article = draft_article(
        title="Renew an expired TLS certificate",
        resolution="Run certbot renew and reload nginx.",
    )
    edit_url = f"/knowledge/{article.pk}/edit/"

    # Erin and Erik open the same version of the article in two browsers.
    signed_in(page, "erin")
    page.goto(edit_url)
    second = browser.new_context(base_url=live_server.url)
    other = second.new_page()
    other.set_default_timeout(10_000)
    try:
        signed_in(other, "erik")
        other.goto(edit_url)

        # Erin fixes the resolution; the live preview renders her markdown.
        resolution = page.get_by_label("Resolution")
        resolution.fill("cert-manager renews it: check `kubectl get certificate`.")
        resolution.press("End")  # the preview follows key presses (htmx: keyup changed)
        expect(page.locator("#preview-resolution code")).to_have_text("kubectl get certificate")
        page.get_by_label("Change note").fill("certbot is gone")
        page.get_by_role("button", name="Save changes").click()
        expect(page.locator(".message.success")).to_have_text("Saved as version 2.")

        # Erik's save, from the version he loaded, is refused without losing his text.
        erik_text = "Run certbot renew, then reload nginx and check the expiry date."
        other.get_by_label("Resolution").fill(erik_text)
        other.get_by_role("button", name="Save changes").click()
        conflict = other.locator("#edit-conflict")
        expect(conflict).to_contain_text("Erin saved a newer version while you were editing")
        expect(conflict.locator("ins").first).to_be_visible()
        expect(other.get_by_label("Resolution")).to_have_value(erik_text)
        article.refresh_from_db()
        assert article.version == 2
        assert article.resolution.startswith("cert-manager")

        # Having read the diff, he merges by hand and saves deliberately.
        merged = (
            "cert-manager renews it: check `kubectl get certificate`; then check the expiry date."
        )
        other.get_by_label("Resolution").fill(merged)
        other.get_by_role("button", name="Save changes").click()
        expect(other.locator(".message.success")).to_have_text("Saved as version 3.")
    finally:
        second.close()

    # The history shows both saves, and the diff between them.
    page.goto(f"/knowledge/{article.pk}/history/")
    expect(page.locator("#revisions tbody tr")).to_have_count(3)
    page.get_by_label("From revision").select_option("1")
    page.get_by_label("To revision").select_option("3")
    page.get_by_role("button", name="Show the differences").click()
    expect(page.get_by_role("heading", name="Resolution")).to_be_visible()
    expect(page.locator(".diff ins").filter(has_text="cert-manager").first).to_be_visible()
    expect(page.locator(".diff del").filter(has_text="certbot").first).to_be_visible()

    # Erin submits it; Rob finds it in his queue and publishes it.
    page.goto(article.get_absolute_url())
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".message.success")).to_contain_text("Submitted for review.")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")

    signed_in(page, "rob")
    page.goto("/knowledge/review/")
    page.locator("#in-review").get_by_role("link", name="Renew an expired TLS certificate").click()
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".message.success")).to_have_text(
        "Published. It is now visible to everyone and found by search."
    )
    expect(page.locator(".badge.published")).to_have_text("Published")
    article.refresh_from_db()
    assert (article.state, article.version) == (ArticleState.PUBLISHED, 5)
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_unsaved_text_survives_a_reload(page):
    UserFactory(username="erin", first_name="Erin", roles=["editor"])
    article = published_article(title="Deploy rollback", cause="Bad image.")

    signed_in(page, "erin")
    page.goto(f"/knowledge/{article.pk}/edit/")
    page.get_by_label("Cause").fill("A bad image tag reached production.")
    page.wait_for_timeout(600)  # the draft is kept 300 ms after typing stops
    page.reload()

    expect(page.get_by_label("Cause")).to_have_value("Bad image.")
    banner = page.locator("#draft-restore")
    expect(banner).to_be_visible()
    page.get_by_role("button", name="Restore my unsaved text").click()
    expect(page.get_by_label("Cause")).to_have_value("A bad image tag reached production.")
    expect(banner).to_be_hidden()
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".message.success")).to_have_text("Saved as version 2.")
    # The article page's script drops the draft; it has run once the page has loaded. (Not
    # wait_for_function: it compiles its predicate in the page, which the CSP forbids.)
    page.wait_for_load_state("load")
    assert page.evaluate("window.localStorage.length") == 0

    # Saved: the draft is gone, so the editor offers nothing next time.
    page.goto(f"/knowledge/{article.pk}/edit/")
    expect(page.get_by_label("Cause")).to_have_value("A bad image tag reached production.")
    expect(page.locator("#draft-restore")).to_be_hidden()
    assert page.evaluate("window.localStorage.length") == 0
