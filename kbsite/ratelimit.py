"""Fixed-window rate limits counted in Django's cache, so that every web process shares them.

A hit is `cache.add(key, 1)` (the first in a window) or else `cache.incr(key)`: both are atomic
in Redis and under a lock in the local-memory cache, so parallel requests each get their own
number and can never all see "one left". A request is allowed while its number is within the
limit. Sign-in attempts that succeed give their slot back, so only failures use up the budget.

The client's address is REMOTE_ADDR unless TRUSTED_PROXY_COUNT says how many proxies in front
append to X-Forwarded-For; addresses a client writes itself are never believed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle


@dataclass(frozen=True)
class Verdict:
    """The outcome of one hit: whether it is allowed, and when the window resets."""

    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window resets, at least 1
    key: str

    @property
    def retry_after_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


def _cache_key(scope: str, identity: str, window_start: int) -> str:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}:{window_start}"


def _window(window: int, now: float | None) -> tuple[int, int]:
    moment = time.time() if now is None else now
    start = int(moment // window) * window
    retry_after = max(1, math.ceil(start + window - moment))
    return start, retry_after


def rate_limit_hit(
    *, scope: str, identity: str, limit: int, window: int, now: float | None = None
) -> Verdict:
    """Count one request of `identity` in `scope`'s current window and say if it is allowed."""
    start, retry_after = _window(window, now)
    key = _cache_key(scope, identity, start)
    # The key lives a little past its window; a later window never reads it.
    if cache.add(key, 1, timeout=window + 5):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:
            # It expired between add and incr: this request opens the window again.
            cache.add(key, 0, timeout=window + 5)
            count = cache.incr(key)
    return Verdict(
        allowed=count <= limit, count=count, limit=limit, retry_after=retry_after, key=key
    )


def rate_limit_refund(verdict: Verdict) -> None:
    """Give back a slot taken by `verdict` (a sign-in that succeeded). Never below zero."""
    try:
        if cache.decr(verdict.key) < 0:
            cache.incr(verdict.key)
    except ValueError:
        pass  # the window has already gone


def client_ip(request: HttpRequest) -> str:
    """The address to count a request under: never one the client could have written itself.

    With TRUSTED_PROXY_COUNT = n, each of the n proxies in front appended the address it saw to
    X-Forwarded-For, so the n-th entry from the right is the one the outermost proxy saw; entries
    further left are whatever the client sent. When the header is shorter than that, or the entry
    is not an address, the connection's own address is used.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "unknown")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip() for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
    ]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        return remote
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


# --- sign-in ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignInAttempt:
    """The slots one sign-in attempt took; refunded when the password turns out right."""

    verdicts: tuple[Verdict, ...]

    @property
    def allowed(self) -> bool:
        return all(verdict.allowed for verdict in self.verdicts)

    @property
    def retry_after(self) -> int:
        refused = [verdict.retry_after for verdict in self.verdicts if not verdict.allowed]
        return max(refused, default=0)

    def refund(self) -> None:
        for verdict in self.verdicts:
            rate_limit_refund(verdict)


def signin_attempt(*, request: HttpRequest, username: str) -> SignInAttempt:
    """Count a sign-in attempt against the client's address and against the username."""
    window = settings.SIGNIN_RATE_WINDOW_SECONDS
    verdicts = [
        rate_limit_hit(
            scope="signin-ip",
            identity=client_ip(request),
            limit=settings.SIGNIN_RATE_LIMIT_PER_IP,
            window=window,
        )
    ]
    name = username.strip().lower()
    if name:
        verdicts.append(
            rate_limit_hit(
                scope="signin-user",
                identity=name,
                limit=settings.SIGNIN_RATE_LIMIT_PER_USERNAME,
                window=window,
            )
        )
    return SignInAttempt(verdicts=tuple(verdicts))


# --- API --------------------------------------------------------------------------------------


def api_identity(user: Any) -> str:
    """One budget per person, whichever of their tokens or sessions they use.

    The join time is part of it: on SQLite a deleted user's id can be given to a new one.
    """
    joined = getattr(user, "date_joined", None)
    stamp = f"{joined.timestamp():.6f}" if joined else ""
    return f"user:{user.pk}:{stamp}"


class ApiRateThrottle(BaseThrottle):
    """DRF throttle: API_RATE_LIMIT requests per API_RATE_WINDOW_SECONDS for each person.

    Requests without a user are refused by authentication before this runs. Over the limit, DRF
    answers 429 in the one error shape with a Retry-After header.
    """

    def __init__(self) -> None:
        self.verdict: Verdict | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return True
        self.verdict = rate_limit_hit(
            scope="api",
            identity=api_identity(user),
            limit=settings.API_RATE_LIMIT,
            window=settings.API_RATE_WINDOW_SECONDS,
        )
        return self.verdict.allowed

    def wait(self) -> float | None:
        return float(self.verdict.retry_after) if self.verdict else None
