"""Token authentication, the catalog endpoints and the one error shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kbsite.models import ApiToken
from kbsite.services import api_token_issue, api_token_revoke
from tests.kbsite.factories import ServiceFactory, TeamFactory

pytestmark = pytest.mark.django_db


def auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def test_catalog_lists_use_slugs(client, responder):
    payments = TeamFactory(name="Payments", slug="payments")
    ServiceFactory(name="checkout", team=payments)
    key = api_token_issue(user=responder, name="ci").key
    response = client.get("/api/v1/services/", **auth(key))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    assert [(s["slug"], s["team"]) for s in body["results"]] == [("checkout", "payments")]


def test_unknown_token_is_401_with_the_error_shape(client):
    response = client.get("/api/v1/teams/", **auth("not-a-real-key"))
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "authentication_failed",
            "message": "Invalid, expired or revoked token: create a new one on your profile page.",
            "fields": {},
        }
    }


def test_revoked_and_expired_tokens_are_refused(client, responder):
    revoked = api_token_issue(user=responder, name="old")
    api_token_revoke(token=revoked.token)
    expiring = api_token_issue(
        user=responder, name="soon", expires_at=timezone.now() + timedelta(seconds=1)
    )
    ApiToken.objects.filter(pk=expiring.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    for key in (revoked.key, expiring.key):
        assert client.get("/api/v1/teams/", **auth(key)).status_code == 401


def test_token_of_a_deactivated_user_is_refused(client, responder):
    key = api_token_issue(user=responder, name="ci").key
    responder.is_active = False
    responder.save()
    assert client.get("/api/v1/teams/", **auth(key)).status_code == 401


def test_read_only_token_cannot_write(client, responder):
    key = api_token_issue(user=responder, name="ro", scope=ApiToken.Scope.READ).key
    response = client.post("/api/v1/teams/", {}, content_type="application/json", **auth(key))
    assert response.status_code == 403
    assert response.json()["error"]["message"].startswith("This token is read-only")


def test_malformed_authorization_header(client):
    response = client.get("/api/v1/teams/", HTTP_AUTHORIZATION="Token a b")
    assert response.status_code == 401
    assert "Malformed Authorization header" in response.json()["error"]["message"]


def test_unknown_object_is_404_with_the_error_shape(client, responder):
    key = api_token_issue(user=responder, name="ci").key
    response = client.get("/api/v1/teams/no-such-team/", **auth(key))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_page_size_is_capped_at_100(client, responder):
    for number in range(3):
        TeamFactory(name=f"Team {number}")
    key = api_token_issue(user=responder, name="ci").key
    response = client.get("/api/v1/teams/?page_size=1", **auth(key))
    body = response.json()
    assert len(body["results"]) == 1
    assert body["next"].startswith("http://testserver/api/v1/teams/?cursor=")


def test_issuing_a_token_without_a_name_is_refused(responder):
    from kbsite.services import CatalogError

    with pytest.raises(CatalogError, match="Give the token a name"):
        api_token_issue(user=responder, name="  ")
    assert ApiToken.objects.count() == 0


def test_schema_and_docs_need_sign_in(client, responder):
    assert client.get("/api/schema/").status_code in (401, 403)
    client.force_login(responder)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert "cdn" not in docs.content.decode().lower()


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (
            "InvalidInput",
            400,
            {
                "code": "invalid",
                "message": "Title is required.",
                "fields": {"title": ["Title is required."]},
            },
        ),
        (
            "NotAllowed",
            403,
            {"code": "permission_denied", "message": "Title is required.", "fields": {}},
        ),
        (
            "StateConflict",
            409,
            {
                "code": "conflict",
                "message": "Title is required.",
                "fields": {},
                "reasons": ["one", "two"],
            },
        ),
        (
            "StaleVersion",
            412,
            {"code": "stale_version", "message": "Title is required.", "fields": {}},
        ),
    ],
)
def test_domain_errors_map_to_one_shape(error, status, body):
    from kbsite import errors
    from kbsite.api.errors import exception_handler

    kwargs = {"field": "title"} if error == "InvalidInput" else {}
    if error == "StateConflict":
        kwargs = {"reasons": ["one", "two"]}
    response = exception_handler(getattr(errors, error)("Title is required.", **kwargs), {})
    assert response.status_code == status
    assert response.data == {"error": body}
