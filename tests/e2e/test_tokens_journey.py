"""An integration developer makes a token on their profile page, uses it, and revokes it; and
sets up a webhook whose secret is shown once."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from kbsite.models import ApiToken, WebhookSubscription
from tests.e2e.conftest import sign_in
from tests.kbsite.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def api_status(base_url: str, key: str) -> int:
    request = urllib.request.Request(
        f"{base_url}/api/v1/tokens/", headers={"Authorization": f"Token {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            json.load(response)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_token_is_created_shown_once_used_and_revoked(page, live_server):
    UserFactory(username="rita", first_name="Rita")
    sign_in(page, "rita", PASSWORD)
    page.get_by_role("button", name="Sign out").wait_for()
    page.get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    expect(page.get_by_text("You have no API tokens yet.")).to_be_visible()

    page.get_by_label("Name").fill("Alertmanager")
    page.get_by_label("Read only").check()
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_text("you will not see it again")).to_be_visible()
    key_field = page.get_by_label("Token key")
    key = key_field.input_value()
    assert key_field.get_attribute("readonly") is not None
    token = ApiToken.objects.get(name="Alertmanager")
    assert (token.scope, token.prefix) == ("read", key[:8])
    row = page.locator("#token-list tbody tr").filter(has_text="Alertmanager")
    expect(row).to_contain_text(f"{key[:8]}…")
    expect(row).to_contain_text("Read only")
    expect(row).to_contain_text("active")

    assert api_status(live_server.url, key) == 200

    page.reload()  # the key is gone once the page is left
    expect(page.get_by_label("Token key")).to_have_count(0)
    row = page.locator("#token-list tbody tr").filter(has_text="Alertmanager")
    expect(row).to_contain_text("Read only")  # last used is filled in now
    row.get_by_role("link", name="Revoke Alertmanager").click()
    expect(page.get_by_role("heading", name="Revoke “Alertmanager”?")).to_be_visible()
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_text("Revoked “Alertmanager”")).to_be_visible()
    expect(page.locator("#token-list tbody tr").filter(has_text="Alertmanager")).to_contain_text(
        "revoked"
    )
    assert api_status(live_server.url, key) == 401


def test_bad_token_input_is_explained_on_the_page(page):
    UserFactory(username="rita")
    sign_in(page, "rita", PASSWORD)
    page.get_by_role("button", name="Sign out").wait_for()
    page.goto("/accounts/profile/")
    page.get_by_label("Expires on").fill("2020-01-01")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    expect(page.get_by_text("The expiry date must be today or later.")).to_be_visible()
    assert not ApiToken.objects.exists()


def test_a_webhook_is_added_and_its_secret_shown_once(page, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    UserFactory(username="rita")
    sign_in(page, "rita", PASSWORD)
    page.get_by_role("button", name="Sign out").wait_for()
    page.goto("/accounts/profile/")
    page.get_by_role("link", name="Webhooks").first.click()
    page.get_by_label("Name").fill("Chat bridge")
    page.get_by_label("Target URL").fill("http://127.0.0.1:9/hook")
    page.get_by_label("incident.created — An incident was opened.").check()
    page.get_by_role("button", name="Add webhook").click()
    expect(
        page.get_by_text("Copy its signing secret now: you will not see it again.")
    ).to_be_visible()
    secret = page.get_by_label("Signing secret").input_value()
    assert secret == WebhookSubscription.objects.get().secret
    page.get_by_role("link", name="Chat bridge").click()
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("Paused “Chat bridge”")).to_be_visible()
    assert secret not in page.content()


def test_too_many_failed_sign_ins_are_refused_with_a_clear_message(page, settings):
    settings.SIGNIN_RATE_LIMIT_PER_USERNAME = 2
    UserFactory(username="rita")
    for _ in range(2):
        sign_in(page, "rita", "wrong password")
        expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username")
    sign_in(page, "rita", PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("Too many sign-in attempts; try again in")
    assert "/accounts/login/" in page.url
