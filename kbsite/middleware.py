from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from rest_framework.authentication import CSRFCheck

from kbsite import idempotency
from kbsite.errors import DomainError
from kbsite.models import ApiToken, IdempotencyRecord
from kbsite.selectors import api_token_for_key

# Everything the pages need is served by kbsite itself: no inline scripts, no third-party hosts.
# `style-src 'unsafe-inline'` is left out too; markdown output carries no style attributes.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Adds a strict Content-Security-Policy so that injected markup cannot run script."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


# --- Idempotency-Key on API POSTs ---------------------------------------------------------------

API_PREFIX = "/api/v1/"
# Alert ingestion deduplicates by the alerting tool's own id, and is not signed in as a person.
IDEMPOTENCY_EXEMPT_PREFIXES = ("/api/v1/ingest/",)


def _token_user(header: list[str]) -> Any | None:
    if len(header) != 2:
        return None
    token = api_token_for_key(key=header[1])
    if token is None or token.scope == ApiToken.Scope.READ:
        return None  # DRF refuses the request itself; there is nothing to claim
    return token.user


def _session_user(request: HttpRequest) -> Any | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    # DRF's session authentication refuses a POST without a valid CSRF token; so does this, so
    # that such a refusal is never kept and replayed to the corrected request.
    check = CSRFCheck(lambda _request: HttpResponse())
    check.process_request(request)
    if check.process_view(request, lambda _request: HttpResponse(), (), {}) is not None:
        return None
    return user


def api_request_user(request: HttpRequest) -> Any | None:
    """The person the API will take this request for: as REST_FRAMEWORK's authenticators do, a
    `Token` Authorization header first, else the session. None when there is none: the API then
    refuses the request on its own, and no key is claimed for it."""
    header = request.headers.get("Authorization", "").split()
    if header and header[0].lower() == "token":
        return _token_user(header)
    return _session_user(request)


def _request_body(request: HttpRequest) -> bytes | None:
    """The body, or None when the API will refuse it as too large (413) anyway."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if limit is not None and length > limit:
        return None
    try:
        return request.body
    except (RequestDataTooBig, UnreadablePostError):
        return None


def _error_response(error: DomainError) -> HttpResponse:
    body = {"error": {"code": error.code, "message": error.message, "fields": {}}}
    return JsonResponse(body, status=error.status_code)


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body),
        status=record.status_code or 200,
        content_type=record.content_type or None,
    )
    for name, value in record.response_headers.items():
        response[name] = value
    response[idempotency.REPLAYED_HEADER] = "true"
    return response


def _settle(record: IdempotencyRecord, response: HttpResponse) -> None:
    """Keep the answer for replay, or release the key so that a retry runs again."""
    if response.streaming:
        idempotency.idempotency_release(record=record)
        return
    content = response.content
    if not idempotency.answer_is_kept(
        status_code=response.status_code,
        cache_control=response.get("Cache-Control", ""),
        size=len(content),
    ):
        idempotency.idempotency_release(record=record)
        return
    idempotency.idempotency_complete(
        record=record,
        status_code=response.status_code,
        body=content,
        content_type=response.get("Content-Type", ""),
        headers={
            name: response[name] for name in idempotency.KEPT_HEADERS if response.has_header(name)
        },
    )


class IdempotencyKeyMiddleware:
    """Honours `Idempotency-Key` on every POST of the API (see kbsite.idempotency).

    It sits after authentication and before the views, so that no view needs to know: a POST
    without the header, or without a signed-in person, passes through untouched.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw_key = request.headers.get(idempotency.HEADER)
        path = request.path_info
        if (
            raw_key is None
            or request.method != "POST"
            or not path.startswith(API_PREFIX)
            or path.startswith(IDEMPOTENCY_EXEMPT_PREFIXES)
        ):
            return self.get_response(request)
        user = api_request_user(request)
        body = _request_body(request) if user is not None else None
        if user is None or body is None:
            return self.get_response(request)
        try:
            key = idempotency.idempotency_key_parse(raw_key)
            claim = idempotency.idempotency_claim(
                user=user,
                key=key,
                method=request.method,
                path=path,
                fingerprint=idempotency.request_fingerprint(
                    body=body,
                    content_type=request.content_type or "",
                    query_string=request.META.get("QUERY_STRING", ""),
                ),
            )
        except idempotency.IdempotencyKeyInProgress as error:
            response = _error_response(error)
            response["Retry-After"] = str(idempotency.RETRY_AFTER_SECONDS)
            return response
        except DomainError as error:
            return _error_response(error)
        if claim.replay:
            return _replay(claim.record)
        try:
            response = self.get_response(request)
        except BaseException:
            idempotency.idempotency_release(record=claim.record)
            raise
        _settle(claim.record, response)
        return response
