"""What the contract run (schemathesis, tests/contract/) found and what keeps it passing: every
answer under /api/ in the one error shape, forged cursors and odd addresses refused cleanly,
and a schema in which every operation, parameter and error is described."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from kbsite.models import ApiToken
from kbsite.services import api_token_issue
from tests.contract.schema_helpers import assert_conforms, served_schema
from tests.kbsite.factories import ServiceFactory, TagFactory, TeamFactory

pytestmark = pytest.mark.django_db

NOT_FOUND = {
    "error": {
        "code": "not_found",
        "message": "Not found, or you do not have access to it.",
        "fields": {},
    }
}
INVALID_CURSOR = {"error": {"code": "not_found", "message": "Invalid cursor", "fields": {}}}
NUL = "Null characters are not allowed."
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}


def auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


@pytest.fixture
def key(admin_user):
    return api_token_issue(user=admin_user, name="ci", scope=ApiToken.Scope.READ_WRITE).key


def cursor(raw: str) -> str:
    return quote(base64.b64encode(raw.encode()).decode())


def operations():
    for path, item in served_schema()["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


# --- addresses no view answers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/articles/abc/",
        "/api/v1/incidents/%C2%84/timeline/",
        "/api/v1/postmortems/-1/findings/0/",
        "/api/v1/no-such-thing/",
        "/api/v1/teams/%00/",
        "/api/v1/tags/a%20b/",
    ],
)
def test_an_api_address_that_matches_no_route_is_a_json_404(client, key, path):
    response = client.get(path, **auth(key))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


def test_a_page_address_that_matches_nothing_is_still_the_html_404(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/knowledge/no/such/page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_catalog_slugs_with_other_characters_never_reach_a_query(
    client, key, django_assert_num_queries
):
    TeamFactory(name="Payments", slug="payments")
    # The router refuses the address: no view runs, so not even the token is looked up.
    with django_assert_num_queries(0):
        response = client.get("/api/v1/teams/pay%00ments/", **auth(key))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert client.get("/api/v1/teams/payments/", **auth(key)).json()["slug"] == "payments"


# --- forged cursors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "position"),
    [
        ("/api/v1/teams/", "p=abc"),  # ordered by id: not a number
        ("/api/v1/teams/", "p=99999999999999999999"),  # beyond any id
        ("/api/v1/tags/", "o=1&p=%00"),
        ("/api/v1/articles/", "p=2026-13-45"),  # ordered by a time: not one
        ("/api/v1/articles/", "p=0001-01-01 00:00:00%2B14:00"),  # before year 1 in UTC
        ("/api/v1/incidents/", "r=1&p=abc"),
        ("/api/v1/postmortems/", "p=9999-12-31 23:59:59-23:59"),  # after year 9999 in UTC
        ("/api/v1/postmortem-templates/", "p=a%00b"),  # ordered by slug: a NUL
        ("/api/v1/tokens/", "p=1.5"),
    ],
)
def test_a_forged_cursor_is_the_invalid_cursor_404(client, key, path, position):
    TeamFactory(name="Payments", slug="payments")
    TagFactory(name="tls")
    response = client.get(path, {"cursor": ""}, **auth(key))  # the list works without one
    assert response.status_code == 200
    response = client.get(f"{path}?cursor={cursor(position)}", **auth(key))
    assert response.status_code == 404
    assert response.json() == INVALID_CURSOR


def test_a_cursor_the_api_gave_still_pages(client, key):
    for name in ("Payments", "Platform", "Search"):
        TeamFactory(name=name, slug=name.lower())
    first = client.get("/api/v1/teams/", {"page_size": 2}, **auth(key)).json()
    second = client.get(first["next"], **auth(key)).json()
    assert [team["slug"] for team in first["results"] + second["results"]] == [
        "search",
        "platform",
        "payments",
    ]


# --- text PostgreSQL cannot hold: NUL characters, lone surrogates ------------------------------


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "ci\x00"}, {"name": [NUL]}),
        ({"name": "ci", "scope": ["read", "\x00"]}, {"scope.1": [NUL]}),
        (
            {"name": "ci", "extra": {"a": {"b\x00": 1}, "c": "\x00"}},
            {"extra.a.b\\x00": [NUL], "extra.c": [NUL]},
        ),
        (
            {"name": "ci", "scope": "read\udc00"},
            {"scope": ["Surrogate characters are not allowed: U+DC00."]},
        ),
    ],
)
def test_text_postgresql_cannot_hold_is_refused_anywhere_in_a_body(client, key, body, fields):
    before = ApiToken.objects.count()
    response = client.post(
        "/api/v1/tokens/", json.dumps(body), content_type="application/json", **auth(key)
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "Some fields are invalid: see `fields`.",
            "fields": fields,
        }
    }
    assert ApiToken.objects.count() == before


def test_a_body_that_is_only_a_string_with_a_nul_is_refused(client, key):
    response = client.post(
        "/api/v1/tokens/", json.dumps("\x00"), content_type="application/json", **auth(key)
    )
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "invalid", "message": NUL, "fields": {}}}


def test_deeply_nested_bodies_are_checked_without_recursion(client, key):
    body = "[" * 5000 + "]" * 5000
    response = client.post("/api/v1/tokens/", body, content_type="application/json", **auth(key))
    assert response.status_code == 400
    assert ApiToken.objects.count() == 1  # the one authenticating


# --- answers match the schema -----------------------------------------------------------------


def test_catalog_answers_and_errors_match_the_schema(client, key):
    payments = TeamFactory(name="Payments", slug="payments")
    ServiceFactory(name="checkout", team=payments)
    cases = [
        ("/api/v1/teams/", "/api/v1/teams/", 200),
        ("/api/v1/teams/payments/", "/api/v1/teams/{slug}/", 200),
        ("/api/v1/teams/nope/", "/api/v1/teams/{slug}/", 404),
        ("/api/v1/services/?team__slug=payments", "/api/v1/services/", 200),
        (f"/api/v1/services/?cursor={cursor('p=x')}", "/api/v1/services/", 404),
    ]
    for url, template, status in cases:
        response = client.get(url, **auth(key))
        assert response.status_code == status, url
        assert_conforms(response, path=template, method="get")
    response = client.get("/api/v1/teams/", HTTP_AUTHORIZATION="Token wrong")
    assert response.status_code == 401
    assert_conforms(response, path="/api/v1/teams/", method="get")


def test_webhook_pause_twice_is_a_documented_409(client, admin_user, key, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    from kbsite.webhooks.services import webhook_subscription_create

    subscription = webhook_subscription_create(
        owner=admin_user, name="chat", target_url="http://127.0.0.1:9/", events=["incident.created"]
    ).subscription
    path = f"/api/v1/webhooks/{subscription.pk}/pause/"
    assert client.post(path, **auth(key)).status_code == 200
    response = client.post(path, **auth(key))
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "This webhook is already paused."
    assert_conforms(response, path="/api/v1/webhooks/{id}/pause/", method="post")


# --- the schema describes everything ----------------------------------------------------------


def test_every_operation_has_a_summary():
    missing = [
        f"{method.upper()} {path}" for path, method, op in operations() if not op.get("summary")
    ]
    assert missing == []


def test_every_parameter_is_described():
    missing = [
        f"{method.upper()} {path} {parameter['in']}:{parameter['name']}"
        for path, method, op in operations()
        for parameter in op.get("parameters", [])
        if not parameter.get("description")
    ]
    assert missing == []


def test_every_error_is_documented_in_the_one_shape_with_an_example():
    for path, method, op in operations():
        responses = op["responses"]
        expected = {"401"}
        if "{" in path:
            expected.add("404")
        if "requestBody" in op:
            expected |= {"400", "413", "415"}
        if method != "get":
            expected.add("403")
        if any("tokenAuth" in requirement for requirement in op.get("security", [])):
            expected.add("429")
        assert expected <= set(responses), f"{method.upper()} {path}: {sorted(responses)}"
        for status, response in responses.items():
            if not status.startswith("4"):
                continue
            body = response["content"]["application/json"]
            assert body["schema"] == {"$ref": "#/components/schemas/Error"}, (path, status)
            assert response["description"], (path, status)
            if status in {"400", "401", "403", "404", "412", "413", "415", "428", "429"}:
                assert body.get("examples"), (path, method, status)


def test_path_ids_are_integers_named_after_their_object():
    parameters = {
        (path, parameter["name"]): parameter
        for path, method, op in operations()
        for parameter in op.get("parameters", [])
        if parameter["in"] == "path"
    }
    article = parameters[("/api/v1/articles/{id}/", "id")]
    assert article["schema"] == {"type": "integer", "minimum": 0}
    assert article["description"] == "The article's id."
    assert parameters[("/api/v1/teams/{slug}/", "slug")]["description"] == "The team's slug."
    assert parameters[("/api/v1/webhooks/{id}/", "id")]["schema"]["type"] == "integer"


def test_the_rate_limit_answer_documents_retry_after():
    response = served_schema()["paths"]["/api/v1/articles/"]["get"]["responses"]["429"]
    assert set(response["headers"]) == {"Retry-After"}


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/articles/", "post"),
        ("/api/v1/articles/{id}/", "patch"),
        ("/api/v1/articles/{id}/feedback/", "post"),
        ("/api/v1/incidents/", "post"),
        ("/api/v1/incidents/{id}/", "patch"),
        ("/api/v1/incidents/{id}/timeline/", "post"),
        ("/api/v1/incidents/{id}/article-uses/", "post"),
        ("/api/v1/postmortems/", "post"),
        ("/api/v1/postmortems/{id}/", "patch"),
        ("/api/v1/postmortems/{id}/findings/", "post"),
        ("/api/v1/postmortems/{id}/action-items/", "post"),
        ("/api/v1/postmortems/{id}/publish/", "post"),
        ("/api/v1/tokens/", "post"),
        ("/api/v1/webhooks/", "post"),
    ],
)
def test_the_main_writes_carry_a_request_example(path, method):
    body = served_schema()["paths"][path][method]["requestBody"]["content"]["application/json"]
    assert body["examples"]
