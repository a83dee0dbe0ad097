"""Idempotency-Key on API POSTs: retries replay the first answer and create nothing twice."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from kbsite.idempotency import (
    CLAIM_TIMEOUT,
    idempotency_claim,
    idempotency_records_prune,
    request_fingerprint,
)
from kbsite.models import ApiToken, IdempotencyRecord
from kbsite.services import api_token_issue
from kbsite.tasks import prune_idempotency_records
from knowledge.models import Article
from postmortems.models import Incident
from tests.kbsite.factories import ServiceFactory

pytestmark = pytest.mark.django_db

ARTICLES = "/api/v1/articles/"
INCIDENTS = "/api/v1/incidents/"
KEY = "5b0c7c52-3f5e-4c1e-9d0b-7f1f8f3b9a10"


@pytest.fixture
def checkout(payments_team):
    return ServiceFactory(name="checkout", slug="checkout", team=payments_team)


@pytest.fixture
def new_article(checkout) -> dict[str, Any]:
    return {
        "title": "Checkout returns 503 after deploy",
        "knowledge_type": "technical",
        "symptoms": "Checkout answers 503 right after a deploy.",
        "team": "payments",
        "services": ["checkout"],
    }


@pytest.fixture
def new_incident(checkout) -> dict[str, Any]:
    return {
        "title": "Checkout returns 503 after deploy",
        "severity": "sev2",
        "team": "payments",
        "services": ["checkout"],
        "started_at": "2026-03-02T10:00:00Z",
    }


def post(client: Client, path: str, data: Any, key: str | None = KEY, **extra: Any) -> Any:
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    body = data if isinstance(data, str) else json.dumps(data)
    return client.post(path, body, content_type="application/json", **extra)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": {}}}


REUSED = error(
    "idempotency_key_reused",
    "This Idempotency-Key was already used for another request (POST /api/v1/articles/ with a "
    "different body or address): send a new key with each new request, and the same key only "
    "to retry the very same one.",
)
IN_PROGRESS = error(
    "idempotency_key_in_progress",
    "A request with this Idempotency-Key is still being processed: retry in a moment, with the "
    "same key, to get its answer.",
)


# --- replays ----------------------------------------------------------------------------------


def test_a_retried_article_create_replays_the_first_answer(responder, new_article):
    client = signed_in(responder)

    first = post(client, ARTICLES, new_article)
    second = post(client, ARTICLES, new_article)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert (second["Location"], second["ETag"]) == (first["Location"], first["ETag"])
    assert second["Content-Type"] == "application/json"
    article = Article.objects.get()
    assert first.json()["id"] == article.pk
    record = IdempotencyRecord.objects.get()
    assert (record.user, record.key, record.method, record.path, record.status_code) == (
        responder,
        KEY,
        "POST",
        ARTICLES,
        201,
    )


def test_a_retried_incident_create_with_a_token_replays_the_first_answer(
    client, responder, new_incident
):
    token = f"Token {api_token_issue(user=responder, name='pager').key}"

    first = post(client, INCIDENTS, new_incident, HTTP_AUTHORIZATION=token)
    second = post(client, INCIDENTS, new_incident, HTTP_AUTHORIZATION=token)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Incident.objects.count() == 1


def test_the_key_is_the_persons_whichever_token_or_session_they_use(responder, new_article):
    token = f"Token {api_token_issue(user=responder, name='ci').key}"
    first = post(Client(), ARTICLES, new_article, HTTP_AUTHORIZATION=token)

    second = post(signed_in(responder), ARTICLES, new_article)

    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert Article.objects.count() == 1


def test_the_same_json_spelled_differently_is_the_same_request(responder, new_article):
    client = signed_in(responder)
    first = post(client, ARTICLES, new_article)

    reordered = json.dumps(dict(reversed(list(new_article.items()))), indent=2)
    second = post(client, ARTICLES, reordered)

    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert Article.objects.count() == 1


def test_the_quoted_form_of_the_draft_standard_is_the_same_key(responder, new_article):
    client = signed_in(responder)
    first = post(client, ARTICLES, new_article, key=KEY)

    second = post(client, ARTICLES, new_article, key=f'"{KEY}"')

    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()


def test_a_refusal_is_kept_and_replayed(responder, new_article):
    client = signed_in(responder)
    incomplete = {**new_article, "title": ""}

    first = post(client, ARTICLES, incomplete)
    second = post(client, ARTICLES, incomplete)

    assert first.status_code == second.status_code == 400
    assert second.json() == first.json()
    assert first.json()["error"]["fields"]["title"]
    assert second["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.get().status_code == 400
    assert not Article.objects.exists()


def test_a_replay_costs_a_fixed_number_of_queries(
    responder, new_article, django_assert_num_queries
):
    client = signed_in(responder)
    post(client, ARTICLES, new_article)

    # the session, its user, and the kept record
    with django_assert_num_queries(3):
        response = post(client, ARTICLES, new_article)

    assert response["Idempotent-Replayed"] == "true"


# --- refusals ---------------------------------------------------------------------------------


def test_the_same_key_with_another_body_is_refused(responder, new_article):
    client = signed_in(responder)
    first = post(client, ARTICLES, new_article)
    before = IdempotencyRecord.objects.values().get()

    response = post(client, ARTICLES, {**new_article, "title": "Another article"})

    assert response.status_code == 422
    assert response.json() == REUSED
    assert list(Article.objects.values_list("pk", flat=True)) == [first.json()["id"]]
    assert IdempotencyRecord.objects.values().get() == before


def test_the_same_key_on_another_address_is_refused(responder, new_article, new_incident):
    client = signed_in(responder)
    post(client, ARTICLES, new_article)

    response = post(client, INCIDENTS, new_incident)

    assert response.status_code == 422
    assert response.json() == REUSED
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "k" * 256,
            "The Idempotency-Key header is 256 characters long; it may have at most 255: a UUID "
            "is enough.",
        ),
        (
            "bad\x07key",
            "The Idempotency-Key header may contain only printable ASCII characters (no control "
            "characters, no accented letters): a UUID is a good key.",
        ),
        (
            "clé-1",
            "The Idempotency-Key header may contain only printable ASCII characters (no control "
            "characters, no accented letters): a UUID is a good key.",
        ),
        (
            "",
            "The Idempotency-Key header is empty: send a unique value, such as a UUID, or leave "
            "the header out.",
        ),
        (
            '""',
            "The Idempotency-Key header is empty: send a unique value, such as a UUID, or leave "
            "the header out.",
        ),
    ],
    ids=["too-long", "control-character", "non-ascii", "empty", "empty-quoted"],
)
def test_a_malformed_key_is_refused_and_nothing_is_created(responder, new_article, key, message):
    response = post(signed_in(responder), ARTICLES, new_article, key=key)

    assert response.status_code == 400
    assert response.json() == error("idempotency_key_invalid", message)
    assert not Article.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_a_key_of_255_printable_characters_is_accepted(responder, new_article):
    key = "".join(chr(32 + index % 95) for index in range(255)).strip() + "x"
    response = post(signed_in(responder), ARTICLES, new_article, key=key[-255:])
    assert response.status_code == 201
    assert IdempotencyRecord.objects.get().key == key[-255:]


def test_a_request_still_running_is_answered_409_with_retry_after(responder, new_article):
    body = json.dumps(new_article).encode()
    idempotency_claim(
        user=responder,
        key=KEY,
        method="POST",
        path=ARTICLES,
        fingerprint=request_fingerprint(body=body, content_type="application/json"),
    )

    response = post(signed_in(responder), ARTICLES, new_article)

    assert response.status_code == 409
    assert response["Retry-After"] == "1"
    assert response.json() == IN_PROGRESS
    assert not Article.objects.exists()


def test_a_claim_left_by_a_lost_request_is_taken_over(responder, new_article):
    body = json.dumps(new_article).encode()
    idempotency_claim(
        user=responder,
        key=KEY,
        method="POST",
        path=ARTICLES,
        fingerprint=request_fingerprint(body=body, content_type="application/json"),
        now=timezone.now() - CLAIM_TIMEOUT - timedelta(seconds=1),
    )

    response = post(signed_in(responder), ARTICLES, new_article)

    assert response.status_code == 201
    assert not response.has_header("Idempotent-Replayed")
    assert IdempotencyRecord.objects.get().status_code == 201


# --- what is not kept -------------------------------------------------------------------------


def test_another_persons_key_is_not_theirs(responder, reviewer, new_article):
    mine = post(signed_in(responder), ARTICLES, new_article)

    theirs = post(signed_in(reviewer), ARTICLES, new_article)

    assert theirs.status_code == 201
    assert not theirs.has_header("Idempotent-Replayed")
    assert theirs.json()["id"] != mine.json()["id"]
    assert theirs.json()["author"] == "rob"
    assert IdempotencyRecord.objects.count() == 2


def test_a_server_error_is_not_kept_so_the_retry_runs_again(responder, new_article, monkeypatch):
    from knowledge import services

    real = services.article_create
    client = signed_in(responder)
    client.raise_request_exception = False

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "article_create", broken)
    failed = post(client, ARTICLES, new_article)
    assert failed.status_code == 500
    assert not IdempotencyRecord.objects.exists()

    monkeypatch.setattr(services, "article_create", real)
    retried = post(client, ARTICLES, new_article)

    assert retried.status_code == 201
    assert not retried.has_header("Idempotent-Replayed")
    assert Article.objects.count() == 1


def test_without_the_header_nothing_changes(responder, new_article):
    client = signed_in(responder)

    first = post(client, ARTICLES, new_article, key=None)
    second = post(client, ARTICLES, new_article, key=None)

    assert first.status_code == second.status_code == 201
    assert not second.has_header("Idempotent-Replayed")
    assert Article.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_a_request_without_credentials_claims_nothing(client, new_article):
    response = post(client, ARTICLES, new_article)
    assert response.status_code == 401
    assert not IdempotencyRecord.objects.exists()


def test_a_read_only_token_claims_nothing(client, responder, new_article):
    token = api_token_issue(user=responder, name="read", scope=ApiToken.Scope.READ).key
    response = post(client, ARTICLES, new_article, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 403
    assert not IdempotencyRecord.objects.exists()


def test_a_session_post_without_its_csrf_token_claims_nothing(responder, new_article):
    client = Client(enforce_csrf_checks=True)
    client.force_login(responder)

    response = post(client, ARTICLES, new_article)

    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]
    assert not IdempotencyRecord.objects.exists()


def test_alert_ingestion_is_left_to_its_own_deduplication(responder):
    post(signed_in(responder), "/api/v1/ingest/alertmanager/", {"alerts": []})
    assert not IdempotencyRecord.objects.exists()


def test_an_answer_showing_a_secret_once_is_not_kept(responder):
    client = signed_in(responder)

    first = post(client, "/api/v1/tokens/", {"name": "ci"})
    second = post(client, "/api/v1/tokens/", {"name": "ci"})

    assert first.status_code == second.status_code == 201
    assert not second.has_header("Idempotent-Replayed")
    assert first.json()["key"] != second.json()["key"]
    assert not IdempotencyRecord.objects.exists()


def test_other_methods_ignore_the_header(responder, new_article):
    client = signed_in(responder)
    response = client.get(ARTICLES, HTTP_IDEMPOTENCY_KEY="\x07")
    assert response.status_code == 200
    assert not IdempotencyRecord.objects.exists()


# --- expiry -----------------------------------------------------------------------------------


def test_an_expired_key_may_be_used_afresh(responder, new_article, settings):
    client = signed_in(responder)
    first = post(client, ARTICLES, new_article)
    IdempotencyRecord.objects.update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS, minutes=1)
    )

    second = post(client, ARTICLES, {**new_article, "title": "Another article"})

    assert second.status_code == 201
    assert not second.has_header("Idempotent-Replayed")
    assert second.json()["id"] != first.json()["id"]
    assert IdempotencyRecord.objects.get().fingerprint == request_fingerprint(
        body=json.dumps({**new_article, "title": "Another article"}).encode(),
        content_type="application/json",
    )


def test_pruning_deletes_only_records_past_their_lifetime(responder, reviewer, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    now = timezone.now()
    for user, age in ((responder, timedelta(hours=24, seconds=1)), (reviewer, timedelta(hours=23))):
        idempotency_claim(
            user=user, key=KEY, method="POST", path=ARTICLES, fingerprint="f", now=now - age
        )

    assert idempotency_records_prune(now=now) == 1
    assert list(IdempotencyRecord.objects.values_list("user__username", flat=True)) == ["rob"]
    assert prune_idempotency_records.delay().get() == 0


def test_the_pruning_task_is_scheduled():
    from kbsite.celery import app

    entry = app.conf.beat_schedule["idempotency-prune-records"]
    assert entry["task"] == "kbsite.tasks.prune_idempotency_records"


# --- schema -----------------------------------------------------------------------------------


def test_the_schema_documents_the_header_on_every_post(responder):
    client = signed_in(responder)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    posts = {
        path: operations["post"]
        for path, operations in schema["paths"].items()
        if "post" in operations and path.startswith("/api/v1/")
    }
    # Alert ingestion has its own deduplication (by the alerting tool's id) and no person.
    for path in [path for path in posts if path.startswith("/api/v1/ingest/")]:
        names = [parameter["name"] for parameter in posts.pop(path)["parameters"]]
        assert "Idempotency-Key" not in names, path
    assert "/api/v1/articles/" in posts and "/api/v1/incidents/" in posts
    for path, operation in posts.items():
        names = [parameter["name"] for parameter in operation["parameters"]]
        assert "Idempotency-Key" in names, path
        assert {"400", "409", "422"} <= set(operation["responses"]), path
    created = posts["/api/v1/articles/"]["responses"]
    assert "idempotency_key_reused" in created["422"]["description"]
    assert "idempotency_key_in_progress" in created["409"]["description"]
    assert "Idempotent-Replayed" in created["201"]["headers"]


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_identical_requests_at_once_create_one_article(responder, new_article):
    assert connection.vendor == "postgresql"
    token = f"Token {api_token_issue(user=responder, name='ci').key}"
    barrier = threading.Barrier(2)
    outcomes: list[Any] = [None, None]

    def run(index: int) -> None:
        try:
            client = Client()
            barrier.wait(timeout=10)
            outcomes[index] = post(client, ARTICLES, new_article, HTTP_AUTHORIZATION=token)
        except Exception as failure:  # recorded for the assertions
            outcomes[index] = failure
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert Article.objects.count() == 1
    statuses = sorted(response.status_code for response in outcomes)
    assert statuses in ([201, 201], [201, 409]), outcomes
    created = [
        r for r in outcomes if r.status_code == 201 and not r.has_header("Idempotent-Replayed")
    ]
    assert len(created) == 1
    for response in outcomes:
        if response.status_code == 201:
            assert response.json() == created[0].json()
        else:
            assert response.json() == IN_PROGRESS
