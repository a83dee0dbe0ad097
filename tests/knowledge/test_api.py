"""/api/v1/articles/: the API contract of DESIGN.md, asserted precisely.

Every refusal checks the full error body where it is representative and that nothing changed.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.management import call_command
from django.test import Client

from kbsite.api.errors import exception_handler
from kbsite.models import Tag
from kbsite.services import api_token_issue
from knowledge.markdown import render_markdown
from knowledge.models import (
    MAX_FIELD_LENGTH,
    MAX_TAGS,
    Article,
    ArticleEvent,
    ArticleFeedback,
    ArticleRevision,
    ArticleState,
    SearchGap,
)
from knowledge.search import MAX_OFFSET, index_articles
from tests.knowledge.factories import (
    ArticleFactory,
    ArticleFeedbackFactory,
    ServiceFactory,
    TagFactory,
    UserFactory,
    draft_article,
    in_review_article,
    published_article,
)

pytestmark = pytest.mark.django_db

ARTICLES = "/api/v1/articles/"

NOT_FOUND = {
    "error": {
        "code": "not_found",
        "message": "Not found, or you do not have access to it.",
        "fields": {},
    }
}
VERSION_REQUIRED = {
    "error": {
        "code": "version_required",
        "message": "Send the version you edited, as `version` in the body or an If-Match header.",
        "fields": {},
    }
}


def stale(current: int) -> dict[str, Any]:
    return {
        "error": {
            "code": "stale_version",
            "message": f"Someone saved version {current} of this article first; "
            "review their changes and apply yours again.",
            "fields": {},
        }
    }


def invalid(**fields: list[str]) -> dict[str, Any]:
    return {
        "error": {
            "code": "invalid",
            "message": "Some fields are invalid: see `fields`.",
            "fields": fields,
        }
    }


def url(article: Article, suffix: str = "") -> str:
    return f"{ARTICLES}{article.pk}/{suffix}"


def signed_in(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def post(client: Client, path: str, data: Any = None, **extra: Any) -> Any:
    return client.post(path, json.dumps(data or {}), content_type="application/json", **extra)


def patch(client: Client, path: str, data: Any, **extra: Any) -> Any:
    return client.patch(path, json.dumps(data), content_type="application/json", **extra)


def put(client: Client, path: str, data: Any, **extra: Any) -> Any:
    return client.put(path, json.dumps(data), content_type="application/json", **extra)


def snapshot_of(article: Article) -> dict[str, Any]:
    """Every column and relation the API can change, to assert that a refusal changed nothing."""
    article = Article.objects.get(pk=article.pk)
    row = {
        field.attname: getattr(article, field.attname)
        for field in Article._meta.concrete_fields
        if field.attname != "search_vector"
    }
    row["services"] = sorted(article.services.values_list("slug", flat=True))
    row["tags"] = sorted(article.tags.values_list("name", flat=True))
    row["revisions"] = ArticleRevision.objects.filter(article=article).count()
    row["events"] = ArticleEvent.objects.filter(article=article).count()
    return row


def expected_body(article: Article) -> dict[str, Any]:
    """The whole article as the API must answer it, built from the database row."""
    article = Article.objects.select_related("team", "author", "owner").get(pk=article.pk)

    def iso(value: Any) -> str | None:
        return None if value is None else value.isoformat().replace("+00:00", "Z")

    return {
        "id": article.pk,
        "title": article.title,
        "slug": article.slug,
        "knowledge_type": article.knowledge_type,
        "state": article.state,
        "symptoms": article.symptoms,
        "environment": article.environment,
        "cause": article.cause,
        "resolution": article.resolution,
        "prevention": article.prevention,
        "body": article.body,
        "rendered": article.rendered,
        "team": article.team.slug if article.team else None,
        "services": sorted(article.services.values_list("slug", flat=True)),
        "tags": sorted(article.tags.values_list("name", flat=True)),
        "author": article.author.username,
        "owner": article.owner.username if article.owner else None,
        "review_due": article.review_due.isoformat() if article.review_due else None,
        "last_reviewed_at": iso(article.last_reviewed_at),
        "open_flags": article.open_flags,
        "helpful_count": article.helpful_count,
        "not_helpful_count": article.not_helpful_count,
        "version": article.version,
        "created_at": iso(article.created_at),
        "updated_at": iso(article.updated_at),
        "web_url": f"{settings.SITE_URL}{article.get_absolute_url()}",
    }


def indexed() -> None:
    """Factories write rows directly; the services would have indexed them for search."""
    index_articles(article_ids=Article.objects.values_list("pk", flat=True))


def sorted_lists(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "services": sorted(body["services"]), "tags": sorted(body["tags"])}


@pytest.fixture
def checkout(payments_team):
    return ServiceFactory(name="checkout", slug="checkout", team=payments_team)


@pytest.fixture
def new_article() -> dict[str, Any]:
    return {
        "title": "Checkout returns 503 after deploy",
        "knowledge_type": "TECHNICAL",
        "symptoms": "Checkout answers **503** right after a deploy.",
        "cause": "New pods took traffic before they were ready.",
        "resolution": "Roll back, then fix the readiness probe.",
        "team": "payments",
        "services": ["checkout"],
        "tags": ["deploy", "Readiness Probe"],
    }


# --- create ------------------------------------------------------------------------------------


def test_create_answers_201_with_the_whole_draft(client, responder, checkout, new_article):
    TagFactory(name="deploy", slug="deploy")

    response = post(signed_in(client, responder), ARTICLES, new_article)

    assert response.status_code == 201
    article = Article.objects.get()
    assert article.state == ArticleState.DRAFT
    assert article.author == responder
    assert sorted_lists(response.json()) == expected_body(article)
    assert response.json()["knowledge_type"] == "technical"
    assert response.json()["rendered"]["symptoms"] == render_markdown(new_article["symptoms"])
    assert response["ETag"] == '"1"'
    assert response["Location"] == f"http://testserver/api/v1/articles/{article.pk}/"
    # the unknown tag was created, the known one reused
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["Readiness Probe", "deploy"]
    assert ArticleRevision.objects.get(article=article).number == 1


def test_create_with_a_token(client, responder, checkout, new_article):
    key = api_token_issue(user=responder, name="ci").key
    response = client.post(
        ARTICLES,
        json.dumps(new_article),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {key}",
    )
    assert response.status_code == 201
    assert response.json()["author"] == "rita"


def test_create_needs_credentials(client, new_article):
    response = post(client, ARTICLES, new_article)
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "fields": {},
        }
    }
    assert not Article.objects.exists()


def test_create_refuses_an_unknown_service_naming_the_field(
    client, responder, checkout, new_article
):
    new_article["services"] = ["checkout", "no-such-service"]
    response = post(signed_in(client, responder), ARTICLES, new_article)
    assert response.status_code == 400
    assert response.json() == invalid(
        services=["No service has the slug 'no-such-service': see /api/v1/services/."]
    )
    assert not Article.objects.exists()
    assert not Tag.objects.exists()


def test_create_refuses_an_unknown_team_naming_the_field(client, responder, checkout, new_article):
    new_article["team"] = "nobody"
    response = post(signed_in(client, responder), ARTICLES, new_article)
    assert response.status_code == 400
    assert response.json() == invalid(team=["No team has the slug 'nobody': see /api/v1/teams/."])
    assert not Article.objects.exists()


def test_create_refuses_missing_and_unknown_fields(client, responder):
    response = post(
        signed_in(client, responder), ARTICLES, {"knowledge_type": "recipe", "colour": "red"}
    )
    assert response.status_code == 400
    assert response.json() == invalid(colour=["Not a field that can be written here."])

    response = post(client, ARTICLES, {"knowledge_type": "recipe"})
    assert response.status_code == 400
    assert response.json() == invalid(
        title=["This field is required."],
        knowledge_type=['"recipe" is not a valid choice.'],
    )
    assert not Article.objects.exists()


def test_create_ignores_read_only_fields_so_an_answer_can_be_sent_back(
    client, responder, checkout, new_article
):
    response = post(
        signed_in(client, responder),
        ARTICLES,
        {**new_article, "id": 999, "state": "published", "helpful_count": 50, "author": "ada"},
    )
    assert response.status_code == 201
    assert (response.json()["state"], response.json()["helpful_count"]) == ("draft", 0)
    assert response.json()["author"] == "rita"


def test_create_refuses_too_many_tags(client, responder, new_article):
    del new_article["team"], new_article["services"]
    new_article["tags"] = [f"tag-{n}" for n in range(MAX_TAGS + 1)]
    response = post(signed_in(client, responder), ARTICLES, new_article)
    assert response.status_code == 400
    assert response.json() == invalid(tags=["Ensure this field has no more than 20 elements."])
    assert not Article.objects.exists()
    assert not Tag.objects.exists()


def test_create_refuses_an_over_large_field_naming_it(client, responder, new_article):
    del new_article["team"], new_article["services"]
    new_article["body"] = "x" * (MAX_FIELD_LENGTH + 1)
    response = post(signed_in(client, responder), ARTICLES, new_article)
    assert response.status_code == 400
    assert response.json() == invalid(
        body=["Ensure this field has no more than 1000000 characters."]
    )
    assert not Article.objects.exists()


def test_a_body_over_the_request_limit_is_413_json(client, responder, new_article):
    del new_article["team"], new_article["services"]
    new_article["body"] = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = post(signed_in(client, responder), ARTICLES, new_article)
    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "code": "too_large",
            "message": "The request body is larger than the limit of 2097152 bytes: send less.",
            "fields": {},
        }
    }
    assert not Article.objects.exists()


def test_a_form_body_is_415(client, responder):
    response = signed_in(client, responder).post(
        ARTICLES, "title=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_djangos_request_data_too_big_becomes_413_json():
    # Form parsers (and the CSRF check of session auth) let Django refuse an over-large body.
    response = exception_handler(RequestDataTooBig("too big"), {})
    assert response is not None
    assert (response.status_code, response.data["error"]["code"]) == (413, "too_large")


def test_malformed_json_is_400_with_the_error_shape(client, responder):
    response = signed_in(client, responder).post(
        ARTICLES, '{"title": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "parse_error",
            "message": "JSON parse error - Expecting value: line 1 column 11 (char 10)",
            "fields": {},
        }
    }


def test_deeply_nested_json_is_400_not_500(client, responder):
    response = signed_in(client, responder).post(
        ARTICLES, "[" * 100_000 + "]" * 100_000, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "parse_error",
        "message": "JSON parse error - the body is nested too deeply.",
        "fields": {},
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "Invalid data. Expected a dictionary, but got list."),
        ("a title", "Invalid data. Expected a dictionary, but got str."),
        (42, "Invalid data. Expected a dictionary, but got int."),
        (None, "No data provided"),
    ],
)
def test_a_body_that_is_not_an_object_is_400(client, responder, body, message):
    response = signed_in(client, responder).post(
        ARTICLES, json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "invalid", "message": message, "fields": {}}}
    assert not Article.objects.exists()


def test_wrong_content_type_is_415(client, responder):
    response = signed_in(client, responder).post(ARTICLES, "title=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json() == {
        "error": {
            "code": "unsupported_media_type",
            "message": 'Unsupported media type "text/plain" in request.',
            "fields": {},
        }
    }


def test_nul_and_lone_surrogate_characters_are_refused(client, responder):
    response = signed_in(client, responder).post(
        ARTICLES,
        '{"title": "a\\u0000b", "knowledge_type": "process", "body": "x\\ud800y"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == invalid(
        title=["Null characters are not allowed."],
        body=["Surrogate characters are not allowed: U+D800."],
    )
    assert not Article.objects.exists()


HOSTILE = {
    "title": '<img src=x onerror="alert(1)">Title',
    "knowledge_type": "reference",
    "symptoms": "<script>alert('x')</script>",
    "environment": "[click](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=)",
    "cause": '<svg><script>alert(1)</script></svg><a href="#" onclick="alert(1)">a</a>',
    "resolution": '<div style="position:fixed;top:0">cover</div><iframe src="//evil"></iframe>',
    "prevention": "<b><i>unclosed <table><tr><td>cell",
    "body": '![x](javascript:alert(1)) <object data="x"></object> <form action="/x"><input>',
}


def test_hostile_markdown_is_stored_as_written_and_rendered_inert(client, responder):
    response = post(signed_in(client, responder), ARTICLES, HOSTILE)
    assert response.status_code == 201
    body = response.json()
    for name, value in HOSTILE.items():
        if name != "knowledge_type":
            assert body[name] == value
    html = " ".join(body["rendered"].values()).lower()
    for dangerous in (
        "<script",
        "javascript:",
        "data:text",
        "onerror",
        "onclick",
        "style=",
        "<iframe",
        "<object",
        "<form",
        "<input",
        "<svg",
    ):
        assert dangerous not in html, dangerous
    assert body["rendered"] == {
        name: render_markdown(HOSTILE[name])
        for name in ("symptoms", "environment", "cause", "resolution", "prevention", "body")
    }


# --- read --------------------------------------------------------------------------------------


def test_detail_has_the_whole_article_and_its_etag(
    client, responder, reviewer, checkout, django_assert_num_queries
):
    article = published_article(
        team=checkout.team, services=[checkout], tags=["tls"], owner=reviewer
    )
    signed_in(client, responder)
    client.get(url(article))  # warm the session and role caches out of the count
    # session, user, roles, teams, article, services, tags, attachments, video links
    with django_assert_num_queries(9):
        response = client.get(url(article))
    assert response.status_code == 200
    assert response.json() == expected_body(article)
    assert response["ETag"] == f'"{article.version}"'


def test_detail_answers_304_when_the_etag_is_current(client, responder):
    article = published_article()
    signed_in(client, responder)
    for tag in ('"1"', 'W/"1"', '"7", "1"'):
        response = client.get(url(article), HTTP_IF_NONE_MATCH=tag)
        assert response.status_code == 304
        assert response["ETag"] == '"1"'
        assert response.content == b""
    assert client.get(url(article), HTTP_IF_NONE_MATCH='"2"').status_code == 200


def test_detail_of_an_invisible_or_absent_article_is_404(
    client, outsider, responder, payments_team
):
    draft = draft_article(author=responder, team=payments_team)
    signed_in(client, outsider)
    for path in (url(draft), f"{ARTICLES}999999/", f"{ARTICLES}99999999999999999999/"):
        response = client.get(path)
        assert response.status_code == 404
        if path != f"{ARTICLES}99999999999999999999/":
            assert response.json() == NOT_FOUND
    # and nothing of it shows through its sub-resources either
    assert client.get(url(draft, "revisions/")).status_code == 404
    assert client.get(url(draft, "feedback/")).status_code == 404
    assert patch(client, url(draft), {"title": "x", "version": 1}).json() == NOT_FOUND


# --- list and search ---------------------------------------------------------------------------


def test_list_is_paginated_and_scoped_to_what_the_user_may_see(client, outsider, responder):
    mine = draft_article(author=outsider, title="Mine")
    published = published_article(title="Public")
    draft_article(author=responder, title="Theirs")
    ArticleFactory(state=ArticleState.ARCHIVED, title="Gone")

    response = signed_in(client, outsider).get(ARTICLES)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    assert [a["title"] for a in body["results"]] == ["Public", "Mine"]
    assert body["results"][0] == {**expected_body(published), "rank": None, "snippet": None}
    assert {a["id"] for a in body["results"]} == {mine.pk, published.pk}


def test_list_pages_follow_the_cursor(client, editor):
    for n in range(5):
        published_article(title=f"Article {n}")
    signed_in(client, editor)
    first = client.get(ARTICLES, {"page_size": 2}).json()
    assert [a["title"] for a in first["results"]] == ["Article 4", "Article 3"]
    assert first["previous"] is None
    assert first["next"].startswith("http://testserver/api/v1/articles/?cursor=")
    second = client.get(first["next"]).json()
    assert [a["title"] for a in second["results"]] == ["Article 2", "Article 1"]
    third = client.get(second["next"]).json()
    assert [a["title"] for a in third["results"]] == ["Article 0"]
    assert third["next"] is None


def test_page_size_is_capped_at_100(client, editor):
    for _ in range(3):
        published_article()
    response = signed_in(client, editor).get(ARTICLES, {"page_size": 1000})
    assert len(response.json()["results"]) == 3


def test_list_filters_take_slugs_and_enums_in_any_case(client, editor, payments_team, checkout):
    match = published_article(
        title="Match",
        knowledge_type="process",
        team=payments_team,
        services=[checkout],
        tags=["tls"],
    )
    published_article(title="Other type", team=payments_team, services=[checkout], tags=["tls"])
    published_article(title="No service", knowledge_type="process", team=payments_team)
    draft_article(title="Draft", knowledge_type="process", services=[checkout], tags=["tls"])
    signed_in(client, editor)

    params = {
        "knowledge_type": "PROCESS",
        "state": "Published",
        "service": "checkout",
        "tag": "tls",
        "team": "payments",
    }
    response = client.get(ARTICLES, params)
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["results"]] == [match.pk]
    titles = lambda **p: sorted(a["title"] for a in client.get(ARTICLES, p).json()["results"])  # noqa: E731
    assert titles(state="DRAFT") == ["Draft"]
    assert titles(service="checkout") == ["Draft", "Match", "Other type"]
    assert titles(service="unknown") == []


def test_list_refuses_an_unknown_enum_value(client, editor):
    response = signed_in(client, editor).get(ARTICLES, {"state": "deleted"})
    assert response.status_code == 400
    assert response.json() == invalid(
        state=["Select a valid choice. deleted is not one of the available choices."]
    )


def _list_queries(client, user, django_assert_num_queries, count: int, expected: int) -> None:
    for n in range(count):
        published_article(services=[ServiceFactory()], tags=[f"tag-{n}", "common"])
    signed_in(client, user)
    client.get(ARTICLES)
    # session, user, roles, teams, the page, services, tags
    with django_assert_num_queries(expected):
        response = client.get(ARTICLES, {"page_size": 100})
    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("count", [5, 30])
def test_list_costs_the_same_queries_for_5_or_30_articles(
    client, responder, django_assert_num_queries, count
):
    _list_queries(client, responder, django_assert_num_queries, count, expected=7)


def test_search_ranks_the_best_match_first(client, responder):
    best = published_article(
        title="Certificate renewal for the payments gateway",
        symptoms="TLS handshake fails: certificate expired.",
        tags=["tls", "certificate"],
    )
    other = published_article(
        title="Rotating secrets", symptoms="Renew the certificate bundle in the vault."
    )
    published_article(title="Database connections exhausted", symptoms="Too many clients.")
    hidden = draft_article(title="Certificate draft of someone else", symptoms="certificate")
    indexed()

    response = signed_in(client, responder).get(ARTICLES, {"q": "certificate expired"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results", "message"}
    ids = [a["id"] for a in body["results"]]
    assert ids[0] == best.pk
    assert set(ids) <= {best.pk, other.pk}
    assert hidden.pk not in ids
    assert body["results"][0]["rank"] > 0
    assert "<mark>" in body["results"][0]["snippet"]
    assert body["next"] is None
    assert body["previous"] is None


def test_search_pages_by_offset_with_full_urls(client, responder):
    for n in range(5):
        published_article(title=f"Certificate renewal {n}", symptoms="certificate expired")
    indexed()
    signed_in(client, responder)
    first = client.get(ARTICLES, {"q": "certificate", "page_size": 2}).json()
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/v1/articles/?offset=2&page_size=2&q=certificate"
    second = client.get(first["next"]).json()
    assert second["previous"] == "http://testserver/api/v1/articles/?page_size=2&q=certificate"
    third = client.get(second["next"]).json()
    assert len(third["results"]) == 1
    assert third["next"] is None
    seen = [a["id"] for page in (first, second, third) for a in page["results"]]
    assert len(set(seen)) == 5


def test_search_applies_the_filters(client, responder, checkout):
    with_service = published_article(title="Certificate on checkout", services=[checkout])
    published_article(title="Certificate elsewhere")
    indexed()
    response = signed_in(client, responder).get(
        ARTICLES, {"q": "certificate", "service": "CHECKOUT"}
    )
    assert [a["id"] for a in response.json()["results"]] == [with_service.pk]


def test_search_refuses_an_offset_past_the_cap(client, responder):
    response = signed_in(client, responder).get(
        ARTICLES, {"q": "certificate", "offset": MAX_OFFSET + 1}
    )
    assert response.status_code == 400
    assert response.json() == invalid(offset=[f"Send a whole number from 0 to {MAX_OFFSET}."])
    response = client.get(ARTICLES, {"q": "certificate", "offset": "-1"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "query",
    ['"unbalanced', "a -b OR c", "ünïcødé 証明書", "x" * 2000, "the and of", "'; DROP TABLE", "*"],
)
def test_search_never_fails_on_odd_input(client, responder, query):
    published_article(title="Certificate renewal")
    indexed()
    response = signed_in(client, responder).get(ARTICLES, {"q": query})
    assert response.status_code == 200
    assert set(response.json()) == {"next", "previous", "results", "message"}


def test_a_search_that_finds_nothing_is_recorded_as_a_gap(client, responder, editor):
    signed_in(client, responder).get(ARTICLES, {"q": "kafka consumer lag"})
    assert SearchGap.objects.count() == 1
    response = signed_in(client, editor).get("/api/v1/knowledge-gaps/")
    assert response.status_code == 200
    gap = SearchGap.objects.get()
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            {
                "id": gap.pk,
                "query": gap.example_query,
                "count": 1,
                "first_seen_at": gap.first_seen_at.isoformat().replace("+00:00", "Z"),
                "last_seen_at": gap.last_seen_at.isoformat().replace("+00:00", "Z"),
            }
        ],
    }


def test_knowledge_gaps_are_for_editors_and_reviewers(client, responder):
    response = signed_in(client, responder).get("/api/v1/knowledge-gaps/")
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "permission_denied",
            "message": "Only editors and reviewers see knowledge gaps.",
            "fields": {},
        }
    }


@pytest.mark.parametrize("count", [5, 30])
def test_search_costs_the_same_queries_for_5_or_30_hits(
    client, responder, django_assert_num_queries, count
):
    for n in range(count):
        published_article(
            title=f"Certificate renewal {n}", services=[ServiceFactory()], tags=[f"t{n}"]
        )
    indexed()
    signed_in(client, responder)
    client.get(ARTICLES, {"q": "certificate"})
    # session, user, roles, teams; spelling vocabulary, ranked ids, the page; services, tags
    with django_assert_num_queries(9):
        response = client.get(ARTICLES, {"q": "certificate", "page_size": 100})
    assert len(response.json()["results"]) == count


# --- update ------------------------------------------------------------------------------------


def test_patch_saves_a_new_version_and_answers_the_whole_article(client, responder, checkout):
    article = draft_article(author=responder, tags=["tls"])
    response = patch(
        signed_in(client, responder),
        url(article),
        {"version": 1, "cause": "Expired **intermediate** certificate.", "services": ["checkout"]},
    )
    assert response.status_code == 200
    article.refresh_from_db()
    assert article.version == 2
    assert article.cause == "Expired **intermediate** certificate."
    assert list(article.tags.values_list("name", flat=True)) == ["tls"]  # untouched by PATCH
    assert response.json() == expected_body(article)
    assert response["ETag"] == '"2"'
    revision = ArticleRevision.objects.get(article=article, number=2)
    assert (revision.editor, revision.snapshot["services"]) == (responder, ["checkout"])


@pytest.mark.parametrize("if_match", ['"1"', 'W/"1"', "1"])
def test_patch_takes_the_version_from_if_match(client, responder, if_match):
    article = draft_article(author=responder)
    response = patch(
        signed_in(client, responder), url(article), {"title": "Renamed"}, HTTP_IF_MATCH=if_match
    )
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["version"]) == ("Renamed", 2)


def test_a_write_without_a_version_is_428_and_changes_nothing(client, responder):
    article = draft_article(author=responder)
    before = snapshot_of(article)
    signed_in(client, responder)
    response = patch(client, url(article), {"title": "Renamed"})
    assert response.status_code == 428
    assert response.json() == VERSION_REQUIRED
    assert post(client, url(article, "submit/")).json() == VERSION_REQUIRED
    assert snapshot_of(article) == before


def test_a_stale_version_is_412_and_changes_nothing(client, responder):
    article = draft_article(author=responder)
    signed_in(client, responder)
    assert patch(client, url(article), {"title": "First", "version": 1}).status_code == 200
    before = snapshot_of(article)

    response = patch(client, url(article), {"title": "Second", "version": 1})
    assert response.status_code == 412
    assert response.json() == stale(2)
    response = patch(client, url(article), {"title": "Second"}, HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert snapshot_of(article) == before


@pytest.mark.parametrize(
    ("body", "header", "field", "message"),
    [
        (
            {"version": "three"},
            None,
            "version",
            "Send the version you edited as a whole number, such as 3.",
        ),
        ({"version": 0}, None, "version", "Send the version you edited: a whole number from 1."),
        (
            {"version": True},
            None,
            "version",
            "Send the version you edited as a whole number, such as 3.",
        ),
        (
            {},
            "*",
            "If-Match",
            'Send one version as the If-Match header, such as "3" (or W/"3"); '
            "lists and * are not accepted.",
        ),
        (
            {"version": 1},
            '"2"',
            "version",
            "The body says version 1 but If-Match says 2: send one of them.",
        ),
    ],
)
def test_a_malformed_version_is_400(client, responder, body, header, field, message):
    article = draft_article(author=responder)
    before = snapshot_of(article)
    extra = {"HTTP_IF_MATCH": header} if header else {}
    response = patch(signed_in(client, responder), url(article), {"title": "x", **body}, **extra)
    assert response.status_code == 400
    assert response.json() == invalid(**{field: [message]})
    assert snapshot_of(article) == before


def test_put_replaces_the_content_and_empties_what_is_left_out(client, responder):
    article = draft_article(author=responder, tags=["tls"])
    response = put(
        signed_in(client, responder),
        url(article),
        {"version": 1, "title": "Replaced", "knowledge_type": "Process"},
    )
    assert response.status_code == 200
    article.refresh_from_db()
    assert (article.title, article.knowledge_type, article.cause) == ("Replaced", "process", "")
    assert not article.tags.exists()


def test_put_needs_title_and_type(client, responder):
    article = draft_article(author=responder)
    before = snapshot_of(article)
    response = put(signed_in(client, responder), url(article), {"version": 1, "cause": "x"})
    assert response.status_code == 400
    assert response.json() == invalid(
        title=["This field is required."], knowledge_type=["This field is required."]
    )
    assert snapshot_of(article) == before


def test_a_get_answer_can_be_sent_back_as_a_put(client, responder):
    article = draft_article(author=responder, tags=["tls"])
    signed_in(client, responder)
    body = client.get(url(article)).json()
    response = put(client, url(article), {**body, "title": "Round trip"})
    assert response.status_code == 200
    assert response.json()["tags"] == ["tls"]
    assert response.json()["version"] == 2


def test_someone_who_may_not_edit_gets_403_and_nothing_changes(client, outsider):
    article = published_article()
    before = snapshot_of(article)
    response = patch(signed_in(client, outsider), url(article), {"title": "Mine", "version": 1})
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "permission_denied",
            "message": "Only the author, the owner or an editor can change this article; once it "
            "is published, only editors can.",
            "fields": {},
        }
    }
    assert snapshot_of(article) == before


def test_editing_an_archived_article_is_409_with_the_reason(client, editor):
    article = ArticleFactory(state=ArticleState.ARCHIVED)
    before = snapshot_of(article)
    response = patch(signed_in(client, editor), url(article), {"title": "x", "version": 1})
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "conflict",
            "message": "This article is archived.",
            "fields": {},
            "reasons": ["Archived articles cannot be edited; restore it to a draft first."],
        }
    }
    assert snapshot_of(article) == before


def test_patch_refuses_an_unknown_service_and_changes_nothing(client, responder):
    article = draft_article(author=responder)
    before = snapshot_of(article)
    response = patch(
        signed_in(client, responder), url(article), {"services": ["ghost"], "version": 1}
    )
    assert response.status_code == 400
    assert response.json() == invalid(
        services=["No service has the slug 'ghost': see /api/v1/services/."]
    )
    assert snapshot_of(article) == before


# --- state changes -----------------------------------------------------------------------------


def test_the_whole_review_cycle_over_the_api(client, responder, reviewer, editor):
    article = draft_article(author=responder)
    signed_in(client, responder)
    response = post(client, url(article, "submit/"), {"version": 1})
    assert (response.status_code, response.json()["state"], response["ETag"]) == (
        200,
        "in_review",
        '"2"',
    )

    signed_in(client, reviewer)
    response = post(
        client, url(article, "request-changes/"), {"comment": "Add the cause."}, HTTP_IF_MATCH='"2"'
    )
    assert (response.status_code, response.json()["state"], response.json()["version"]) == (
        200,
        "draft",
        3,
    )
    signed_in(client, responder)
    assert post(client, url(article, "submit/"), {"version": 3}).status_code == 200

    signed_in(client, reviewer)
    response = post(client, url(article, "publish/"), {"version": 4, "comment": "Good."})
    assert response.status_code == 200
    article.refresh_from_db()
    assert response.json() == expected_body(article)
    assert (article.state, article.version) == (ArticleState.PUBLISHED, 5)
    assert article.review_due is not None

    response = post(client, url(article, "archive/"), {"version": 5})
    assert (response.status_code, response.json()["state"]) == (200, "archived")
    response = post(client, url(article, "restore/"), {"version": 6})
    assert (response.status_code, response.json()["state"], response.json()["version"]) == (
        200,
        "draft",
        7,
    )
    kinds = list(
        ArticleEvent.objects.filter(article=article).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == [
        "submitted",
        "changes_requested",
        "submitted",
        "published",
        "archived",
        "restored",
    ]


def test_publishing_a_draft_is_409_with_the_reasons(client, reviewer, responder):
    article = draft_article(author=responder)
    before = snapshot_of(article)
    response = post(signed_in(client, reviewer), url(article, "publish/"), {"version": 1})
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "conflict",
            "message": "This article cannot be published.",
            "fields": {},
            "reasons": ["Only in review articles can be published; this one is draft."],
        }
    }
    assert snapshot_of(article) == before


def test_a_responder_may_not_publish(client, responder):
    article = in_review_article(author=responder)
    before = snapshot_of(article)
    response = post(signed_in(client, responder), url(article, "publish/"), {"version": 1})
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "permission_denied",
            "message": "Only reviewers and editors can publish articles.",
            "fields": {},
        }
    }
    assert snapshot_of(article) == before


def test_request_changes_needs_a_comment(client, reviewer):
    article = in_review_article()
    before = snapshot_of(article)
    signed_in(client, reviewer)
    response = post(client, url(article, "request-changes/"), {"version": 1})
    assert response.status_code == 400
    assert response.json() == invalid(comment=["This field is required."])
    response = post(client, url(article, "request-changes/"), {"version": 1, "comment": "  "})
    assert response.json() == invalid(comment=["This field may not be blank."])
    assert snapshot_of(article) == before


def test_an_action_with_a_stale_version_is_412(client, reviewer):
    article = in_review_article()
    before = snapshot_of(article)
    response = post(signed_in(client, reviewer), url(article, "publish/"), HTTP_IF_MATCH='"7"')
    assert response.status_code == 412
    assert response.json() == stale(1)
    assert snapshot_of(article) == before


def test_mark_reviewed_keeps_a_published_article_trusted(client, editor):
    article = published_article()
    response = post(signed_in(client, editor), url(article, "mark-reviewed/"), {"version": 1})
    assert (response.status_code, response.json()["state"], response.json()["version"]) == (
        200,
        "published",
        2,
    )


def test_actions_answer_405_to_get(client, reviewer):
    article = in_review_article()
    response = signed_in(client, reviewer).get(url(article, "publish/"))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_articles_cannot_be_deleted(client, editor):
    article = published_article()
    response = signed_in(client, editor).delete(url(article))
    assert response.status_code == 405
    assert Article.objects.filter(pk=article.pk).exists()


# --- revisions and feedback --------------------------------------------------------------------


def test_revisions_list_newest_first(client, responder):
    article = draft_article(author=responder)
    signed_in(client, responder)
    patch(client, url(article), {"version": 1, "title": "Second", "change_note": "Renamed"})
    response = client.get(url(article, "revisions/"))
    assert response.status_code == 200
    body = response.json()
    assert (body["next"], body["previous"]) == (None, None)
    revision = ArticleRevision.objects.get(article=article, number=2)
    assert body["results"][0] == {
        "number": 2,
        "editor": "rita",
        "created_at": revision.created_at.isoformat().replace("+00:00", "Z"),
        "change_note": "Renamed",
        "snapshot": revision.snapshot,
    }
    assert [r["number"] for r in body["results"]] == [2, 1]
    assert body["results"][0]["snapshot"]["title"] == "Second"


def test_feedback_is_given_and_listed(client, responder, outsider):
    article = published_article()
    signed_in(client, outsider)
    response = post(client, url(article, "feedback/"), {"kind": "HELPFUL", "comment": "Saved me."})
    assert response.status_code == 201
    feedback = ArticleFeedback.objects.get()
    assert response.json() == {
        "id": feedback.pk,
        "kind": "helpful",
        "comment": "Saved me.",
        "user": "oscar",
        "created_at": feedback.created_at.isoformat().replace("+00:00", "Z"),
        "resolved_at": None,
    }
    article.refresh_from_db()
    assert article.helpful_count == 1

    ArticleFeedbackFactory(article=article, user=responder, kind="not_helpful")
    response = client.get(url(article, "feedback/"))
    assert response.status_code == 200
    assert [(f["user"], f["kind"]) for f in response.json()["results"]] == [
        ("rita", "not_helpful"),
        ("oscar", "helpful"),
    ]


def test_flagging_outdated_counts_an_open_flag(client, outsider):
    article = published_article()
    response = post(
        signed_in(client, outsider),
        url(article, "feedback/"),
        {"kind": "outdated", "comment": "The CLI flag was renamed."},
    )
    assert response.status_code == 201
    article.refresh_from_db()
    assert article.open_flags == 1


def test_feedback_refuses_bad_input_and_changes_nothing(client, outsider):
    article = published_article()
    before = snapshot_of(article)
    signed_in(client, outsider)
    response = post(client, url(article, "feedback/"), {"kind": "love"})
    assert response.status_code == 400
    assert response.json() == invalid(kind=['"love" is not a valid choice.'])
    response = post(client, url(article, "feedback/"), {"kind": "helpful", "comment": "x" * 5001})
    assert response.json() == invalid(
        comment=["Ensure this field has no more than 5000 characters."]
    )
    response = post(client, url(article, "feedback/"), {"kind": "outdated"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"comment": [response.json()["error"]["message"]]}
    assert not ArticleFeedback.objects.exists()
    assert snapshot_of(article) == before


# --- schema ------------------------------------------------------------------------------------


def test_the_schema_documents_every_article_endpoint_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = target.read_text()
    for path in (
        "/api/v1/articles/:",
        "/api/v1/articles/{id}/:",
        "/api/v1/articles/{id}/submit/:",
        "/api/v1/articles/{id}/publish/:",
        "/api/v1/articles/{id}/request-changes/:",
        "/api/v1/articles/{id}/archive/:",
        "/api/v1/articles/{id}/restore/:",
        "/api/v1/articles/{id}/revisions/:",
        "/api/v1/articles/{id}/feedback/:",
        "/api/v1/knowledge-gaps/:",
    ):
        assert path in schema, path
    for parameter in ("knowledge_type", "state", "service", "tag", "team", "q", "If-Match"):
        assert f"name: {parameter}\n" in schema, parameter
    assert "'428':" in schema and "'412':" in schema and "'413':" in schema


# --- concurrency (PostgreSQL) ------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_saves_of_one_version_one_wins_one_gets_412():
    author = UserFactory(username="writer", roles=["editor"])
    article = draft_article(author=author)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def save(title: str) -> None:
        from django.db import connection as thread_connection

        client = Client()
        client.force_login(author)
        barrier.wait()
        statuses.append(patch(client, url(article), {"title": title, "version": 1}).status_code)
        thread_connection.close()

    threads = [threading.Thread(target=save, args=(f"Writer {n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 412]
    article.refresh_from_db()
    assert article.version == 2
    assert ArticleRevision.objects.filter(article=article).count() == 2


def test_a_copy_of_an_answer_posted_back_creates_a_new_draft(client, responder):
    article = published_article(tags=["tls"])
    signed_in(client, responder)
    body = client.get(url(article)).json()
    response = post(client, ARTICLES, {**body, "title": "Copy"})
    assert response.status_code == 201
    assert (response.json()["version"], response.json()["state"]) == (1, "draft")
    assert response.json()["id"] != article.pk


def test_an_invalid_cursor_is_404_with_the_error_shape(client, responder):
    response = signed_in(client, responder).get(ARTICLES, {"cursor": "not-a-cursor"})
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Invalid cursor", "fields": {}}
    }
