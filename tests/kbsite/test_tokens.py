"""Personal API tokens: the profile page and /api/v1/tokens/."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from kbsite.models import ApiToken
from kbsite.services import api_token_issue, api_token_revoke

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def tokens_of(user) -> list[tuple[str, str, bool]]:
    return [
        (token.name, token.scope, token.revoked_at is not None)
        for token in ApiToken.objects.filter(user=user).order_by("id")
    ]


# --- the profile page -------------------------------------------------------------------------


def test_the_user_menu_links_to_the_profile_page(client, responder):
    client.force_login(responder)
    page = client.get("/").content.decode()
    assert '<a href="/accounts/profile/">Profile</a>' in page


def test_profile_page_needs_sign_in(client):
    response = client.get("/accounts/profile/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/profile/"


def test_creating_a_token_shows_its_key_once_and_stores_only_a_hash(client, responder):
    client.force_login(responder)
    expires_on = timezone.localdate() + timedelta(days=30)
    response = client.post(
        "/accounts/profile/",
        {"name": "Alertmanager", "scope": "read", "expires_on": expires_on.isoformat()},
        follow=True,
    )
    # Redirected, so that reloading the page cannot create a second token.
    assert response.redirect_chain == [("/accounts/profile/#new-token", 302)]
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    key = response.context["issued"].secret
    page = response.content.decode()
    assert "you will not see it again" in page
    assert f'value="{key}" readonly' in page
    token = ApiToken.objects.get(user=responder)
    assert (token.name, token.scope) == ("Alertmanager", "read")
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8]
    # Works through the whole expiry day.
    assert timezone.localtime(token.expires_at).date() == expires_on + timedelta(days=1)
    assert timezone.localtime(token.expires_at).time().isoformat() == "00:00:00"
    again = client.get("/accounts/profile/").content.decode()
    assert key not in again
    assert "account_issued_token" not in client.session
    assert f"<code>{token.prefix}…</code>" in again


def test_a_token_created_on_the_page_works_with_the_api(client, responder):
    client.force_login(responder)
    response = client.post(
        "/accounts/profile/", {"name": "script", "scope": "read_write"}, follow=True
    )
    key = response.context["issued"].secret
    client.logout()
    assert client.get("/api/v1/tokens/", **auth(key)).status_code == 200


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "scope": "read"}, "name", "This field is required."),
        ({"name": "   ", "scope": "read"}, "name", "This field is required."),
        ({"name": "x" * 101, "scope": "read"}, "name", "at most 100 characters"),
        ({"name": "ci", "scope": "admin"}, "scope", "Select a valid choice."),
        ({"name": "ci", "scope": "read", "expires_on": "2020-01-01"}, "expires_on", "today or"),
        ({"name": "ci", "scope": "read", "expires_on": "not a date"}, "expires_on", "valid date"),
    ],
)
def test_bad_token_input_is_explained_and_creates_nothing(client, responder, data, field, message):
    client.force_login(responder)
    response = client.post("/accounts/profile/", data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert response.context["issued"] is None
    assert not ApiToken.objects.exists()


def test_the_list_shows_each_tokens_status(client, responder):
    active = api_token_issue(user=responder, name="active").token
    expired = api_token_issue(
        user=responder, name="expired", expires_at=timezone.now() + timedelta(days=1)
    ).token
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    revoked = api_token_revoke(token=api_token_issue(user=responder, name="revoked").token)
    client.force_login(responder)
    rows = client.get("/accounts/profile/").context["tokens"]
    assert [(token.pk, status) for token, status in rows] == [
        (revoked.pk, "revoked"),
        (expired.pk, "expired"),
        (active.pk, "active"),
    ]


def test_the_profile_page_costs_the_same_queries_for_one_token_or_many(
    client, responder, django_assert_num_queries
):
    client.force_login(responder)
    api_token_issue(user=responder, name="one")
    client.get("/accounts/profile/")  # warm the session and permission caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get("/accounts/profile/")
    for number in range(10):
        api_token_issue(user=responder, name=f"token {number}")
    with django_assert_num_queries(len(one.captured_queries)):
        client.get("/accounts/profile/")


def test_revoking_asks_to_confirm_then_revokes(client, responder):
    token = api_token_issue(user=responder, name="old script").token
    client.force_login(responder)
    confirm = client.get(f"/accounts/tokens/{token.pk}/revoke/")
    assert confirm.status_code == 200
    assert "Revoke “old script”?" in confirm.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)
    assert response.redirect_chain == [("/accounts/profile/", 302)]
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Revoked “old script”" in response.content.decode()


def test_revoking_twice_changes_nothing(client, responder):
    token = api_token_revoke(token=api_token_issue(user=responder, name="ci").token)
    revoked_at = token.revoked_at
    client.force_login(responder)
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)
    assert "was already revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at == revoked_at


def test_someone_elses_token_does_not_exist_on_the_page(client, responder, outsider):
    token = api_token_issue(user=responder, name="rita's").token
    client.force_login(outsider)
    assert client.get(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert "rita's" not in client.get("/accounts/profile/").content.decode()


# --- the API ----------------------------------------------------------------------------------


def test_api_lists_own_tokens_without_keys(client, responder, outsider):
    mine = api_token_issue(user=responder, name="mine", scope="read")
    api_token_issue(user=outsider, name="theirs")
    response = client.get("/api/v1/tokens/", **auth(mine.key))
    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    assert body["results"] == [
        {
            "id": mine.token.pk,
            "name": "mine",
            "prefix": mine.key[:8],
            "scope": "read",
            "created_at": body["results"][0]["created_at"],
            "expires_at": None,
            "last_used_at": body["results"][0]["last_used_at"],
            "revoked_at": None,
            "status": "active",
        }
    ]
    assert body["results"][0]["last_used_at"] is not None


def test_api_creates_a_token_and_answers_its_key_once(client, responder):
    client.force_login(responder)
    expires_at = (timezone.now() + timedelta(days=7)).replace(microsecond=0)
    response = client.post(
        "/api/v1/tokens/",
        {"name": "grafana", "scope": "READ", "expires_at": expires_at.isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    token = ApiToken.objects.get(pk=body["id"])
    assert (body["name"], body["scope"], body["status"]) == ("grafana", "read", "active")
    assert token.key_hash == ApiToken.hash_key(body["key"])
    assert token.expires_at == expires_at
    detail = client.get(f"/api/v1/tokens/{token.pk}/").json()
    assert "key" not in detail
    assert client.get("/api/v1/teams/", **auth(body["key"])).status_code == 200


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ci", "scope": "owner"}, "scope"),
        ({"name": "ci", "scope": 5}, "scope"),
        ({"name": "ci", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "ci", "expires_at": "tomorrow"}, "expires_at"),
        ({"name": ["a"]}, "name"),
    ],
)
def test_api_refuses_bad_token_input_and_creates_nothing(client, responder, data, field):
    client.force_login(responder)
    response = client.post("/api/v1/tokens/", data, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert not ApiToken.objects.exists()


def test_api_refuses_malformed_json(client, responder):
    client.force_login(responder)
    response = client.post("/api/v1/tokens/", "{name:", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert not ApiToken.objects.exists()


def test_a_read_only_token_cannot_create_tokens(client, responder):
    key = api_token_issue(user=responder, name="reader", scope="read").key
    response = client.post(
        "/api/v1/tokens/", {"name": "more"}, content_type="application/json", **auth(key)
    )
    assert response.status_code == 403
    assert tokens_of(responder) == [("reader", "read", False)]


def test_api_revokes_own_token_once(client, responder):
    token = api_token_issue(user=responder, name="ci").token
    client.force_login(responder)
    response = client.post(f"/api/v1/tokens/{token.pk}/revoke/")
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    token.refresh_from_db()
    revoked_at = token.revoked_at
    again = client.post(f"/api/v1/tokens/{token.pk}/revoke/")
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "already_revoked",
        "message": "This token is already revoked.",
        "fields": {},
    }
    token.refresh_from_db()
    assert token.revoked_at == revoked_at


def test_api_hides_someone_elses_token(client, responder, outsider):
    token = api_token_issue(user=responder, name="rita's").token
    client.force_login(outsider)
    assert client.get(f"/api/v1/tokens/{token.pk}/").status_code == 404
    response = client.post(f"/api/v1/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    token.refresh_from_db()
    assert token.revoked_at is None


def test_a_token_revoked_over_the_api_stops_working(client, responder):
    issued = api_token_issue(user=responder, name="ci")
    response = client.post(f"/api/v1/tokens/{issued.token.pk}/revoke/", **auth(issued.key))
    assert response.status_code == 200
    assert client.get("/api/v1/tokens/", **auth(issued.key)).status_code == 401


def test_api_token_list_query_count_does_not_grow(client, responder, django_assert_num_queries):
    client.force_login(responder)
    api_token_issue(user=responder, name="one")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/tokens/")
    for number in range(10):
        api_token_issue(user=responder, name=f"token {number}")
    with django_assert_num_queries(len(one.captured_queries)):
        client.get("/api/v1/tokens/")
