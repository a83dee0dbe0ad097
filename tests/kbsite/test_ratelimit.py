"""Rate limits on sign-in and the API, counted atomically in the cache."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.test import RequestFactory

from kbsite import ratelimit
from kbsite.ratelimit import client_ip, rate_limit_hit
from kbsite.services import api_token_issue
from tests.kbsite.factories import PASSWORD, UserFactory

LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def hammer(*, threads: int, hits: int, **limit) -> list[bool]:
    """`threads` threads released together, each hitting the limit `hits` times."""
    barrier = threading.Barrier(threads)

    def run() -> list[bool]:
        barrier.wait()
        return [rate_limit_hit(**limit).allowed for _ in range(hits)]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = [future.result() for future in [pool.submit(run) for _ in range(threads)]]
    return [allowed for batch in results for allowed in batch]


# --- the counter ------------------------------------------------------------------------------


def test_a_window_allows_exactly_the_limit_then_says_when_to_retry():
    verdicts = [
        rate_limit_hit(scope="t", identity="a", limit=3, window=60, now=1200.0 + i)
        for i in range(5)
    ]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert [v.count for v in verdicts] == [1, 2, 3, 4, 5]
    assert [v.retry_after for v in verdicts] == [60, 59, 58, 57, 56]


def test_the_next_window_starts_afresh_and_identities_are_separate():
    for _ in range(3):
        rate_limit_hit(scope="t", identity="a", limit=3, window=60, now=1200.0)
    assert not rate_limit_hit(scope="t", identity="a", limit=3, window=60, now=1259.5).allowed
    assert rate_limit_hit(scope="t", identity="b", limit=3, window=60, now=1259.5).allowed
    assert rate_limit_hit(scope="u", identity="a", limit=3, window=60, now=1259.5).allowed
    fresh = rate_limit_hit(scope="t", identity="a", limit=3, window=60, now=1260.0)
    assert (fresh.allowed, fresh.count, fresh.retry_after) == (True, 1, 60)


def test_a_refund_gives_a_slot_back_but_never_goes_below_zero():
    first = rate_limit_hit(scope="t", identity="a", limit=1, window=60, now=0.0)
    ratelimit.rate_limit_refund(first)
    ratelimit.rate_limit_refund(first)
    assert rate_limit_hit(scope="t", identity="a", limit=1, window=60, now=1.0).count == 1


def test_threads_hammering_the_counter_never_pass_more_than_the_limit():
    allowed = hammer(threads=16, hits=25, scope="race", identity="x", limit=37, window=3600)
    assert len(allowed) == 400
    assert allowed.count(True) == 37


@pytest.mark.postgres
@pytest.mark.worker
def test_threads_hammering_the_redis_counter_never_pass_more_than_the_limit(settings, monkeypatch):
    from django.core.cache.backends.redis import RedisCache

    assert settings.REDIS_URL, "this test needs REDIS_URL"
    redis_cache = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": "ratelimit-test"})
    redis_cache.clear()
    monkeypatch.setattr(ratelimit, "cache", redis_cache)
    try:
        allowed = hammer(threads=16, hits=25, scope="race", identity="x", limit=37, window=3600)
        assert allowed.count(True) == 37
        after = rate_limit_hit(scope="race", identity="x", limit=37, window=3600)
        assert (after.allowed, after.count) == (False, 401)
    finally:
        redis_cache.clear()


# --- the client's address ---------------------------------------------------------------------


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post(LOGIN, **extra)


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "203.0.113.9", None, "203.0.113.9"),
        (0, "203.0.113.9", "198.51.100.1", "203.0.113.9"),  # no proxy: the header is a lie
        (1, "10.0.0.2", "198.51.100.1", "198.51.100.1"),
        (1, "10.0.0.2", "1.2.3.4, 198.51.100.1", "198.51.100.1"),  # client-written entry
        (2, "10.0.0.2", "1.2.3.4, 198.51.100.1, 10.0.0.3", "198.51.100.1"),
        (2, "10.0.0.2", "198.51.100.1", "10.0.0.2"),  # shorter than the proxy chain
        (1, "10.0.0.2", "not-an-address", "10.0.0.2"),
        (1, "10.0.0.2", "", "10.0.0.2"),
        (1, "10.0.0.2", " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_client_ip_believes_only_trusted_proxies(settings, proxies, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_ip(request_from(remote, forwarded)) == expected


# --- sign-in ----------------------------------------------------------------------------------


@pytest.fixture
def low_signin_limits(settings):
    settings.SIGNIN_RATE_LIMIT_PER_USERNAME = 3
    settings.SIGNIN_RATE_LIMIT_PER_IP = 5
    settings.SIGNIN_RATE_WINDOW_SECONDS = 300
    settings.TRUSTED_PROXY_COUNT = 0


@pytest.mark.django_db
def test_failed_sign_ins_past_the_limit_are_refused_even_with_the_right_password(
    client, low_signin_limits
):
    UserFactory(username="rita")
    for _ in range(3):
        response = client.post(LOGIN, {"username": "rita", "password": "wrong"})
        assert response.status_code == 200
        assert "Please enter a correct username" in response.content.decode()
    refused = client.post(LOGIN, {"username": "RITA", "password": PASSWORD})
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 300
    minutes = -(-int(refused["Retry-After"]) // 60)
    unit = "minute" if minutes == 1 else "minutes"
    assert f"Too many sign-in attempts; try again in {minutes} {unit}." in (
        refused.content.decode()
    )
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_successful_sign_ins_do_not_use_up_the_limit(client, low_signin_limits):
    UserFactory(username="rita")
    for _ in range(8):
        response = client.post(LOGIN, {"username": "rita", "password": PASSWORD})
        assert response.status_code == 302
        client.logout()
    client.post(LOGIN, {"username": "rita", "password": "wrong"})
    assert client.post(LOGIN, {"username": "rita", "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_a_spoofed_forwarded_for_does_not_escape_the_address_limit(client, low_signin_limits):
    statuses = [
        client.post(
            LOGIN,
            {"username": f"user{n}", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(7)
    ]
    assert statuses == [200, 200, 200, 200, 200, 429, 429]


@pytest.mark.django_db
def test_one_username_is_limited_across_addresses(client, low_signin_limits):
    UserFactory(username="rita")
    statuses = [
        client.post(
            LOGIN, {"username": "rita", "password": "wrong"}, REMOTE_ADDR=f"203.0.113.{n}"
        ).status_code
        for n in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]


@pytest.mark.django_db
def test_a_refused_sign_in_never_checks_the_password(client, low_signin_limits, monkeypatch):
    UserFactory(username="rita")
    for _ in range(3):
        client.post(LOGIN, {"username": "rita", "password": "wrong"})
    calls = []
    monkeypatch.setattr(
        "django.contrib.auth.forms.authenticate", lambda *a, **k: calls.append(k) or None
    )
    assert client.post(LOGIN, {"username": "rita", "password": "x"}).status_code == 429
    assert calls == []


# --- the API ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_answers_429_in_the_error_shape_past_the_limit(client, settings, responder):
    settings.API_RATE_LIMIT = 3
    settings.API_RATE_WINDOW_SECONDS = 60
    first = api_token_issue(user=responder, name="one").key
    second = api_token_issue(user=responder, name="two").key
    auth = [{"HTTP_AUTHORIZATION": f"Token {key}"} for key in (first, second, first)]
    assert [client.get("/api/v1/teams/", **headers).status_code for headers in auth] == [200] * 3
    # A second token of the same person shares the budget.
    refused = client.get("/api/v1/teams/", HTTP_AUTHORIZATION=f"Token {second}")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    error = refused.json()["error"]
    assert error["code"] == "throttled"
    assert error["fields"] == {}
    assert error["message"].startswith("Request was throttled.")


@pytest.mark.django_db
def test_each_person_has_their_own_api_budget(client, settings, responder, outsider):
    settings.API_RATE_LIMIT = 2
    client.force_login(responder)
    assert [client.get("/api/v1/teams/").status_code for _ in range(3)] == [200, 200, 429]
    client.force_login(outsider)
    assert client.get("/api/v1/teams/").status_code == 200


@pytest.mark.django_db
def test_requests_without_credentials_are_401_not_throttled(client, settings):
    settings.API_RATE_LIMIT = 1
    assert [client.get("/api/v1/teams/").status_code for _ in range(3)] == [401, 401, 401]
