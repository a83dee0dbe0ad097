"""One JSON error shape for the whole API.

`{"error": {"code": "<snake_case>", "message": "<what to fix>", "fields": {...}}}`
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kbsite.errors import DomainError


class DomainConflict(exceptions.APIException):
    """The action is not allowed in the object's current state (409), with every reason."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, message: str, *, reasons: list[str] | None = None, code: str = "conflict"):
        super().__init__(detail=message, code=code)
        self.reasons = reasons or []


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "stale_version"
    default_detail = "Someone changed this since you loaded it: reload and apply your change again."


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_code = "version_required"
    default_detail = "Send the version you edited, as `version` in the body or an If-Match header."


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(
            detail=f"The request body is larger than the limit of {limit} bytes: send less.",
            code=self.default_code,
        )


API_PATH_PREFIX = "/api/"

# What Django's own error handlers answer under /api/, where no DRF view ran (a path that
# matches no route, such as /api/v1/articles/abc/, or a request refused before routing).
PLAIN_ERRORS = {
    400: ("bad_request", "The request could not be understood: check its address and headers."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found, or you do not have access to it."),
}


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith(API_PATH_PREFIX)


def plain_error_response(status_code: int) -> JsonResponse:
    """The one error shape for errors raised outside DRF's views, for API clients."""
    code, message = PLAIN_ERRORS[status_code]
    return JsonResponse(
        {"error": {"code": code, "message": message, "fields": {}}}, status=status_code
    )


def _flatten_fields(detail: Any) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for name, messages in detail.items():
            if isinstance(messages, dict):
                for inner, value in _flatten_fields(messages).items():
                    fields[f"{name}.{inner}"] = value
            elif isinstance(messages, list):
                fields[name] = [str(m) for m in messages if not isinstance(m, dict | list)] or [
                    str(messages)
                ]
            else:
                fields[name] = [str(messages)]
    return fields


def domain_error_response(exc: DomainError) -> Response:
    error: dict[str, Any] = {
        "code": exc.code,
        "message": exc.message,
        "fields": {exc.field: [exc.message]} if exc.field else {},
    }
    if exc.reasons:
        error["reasons"] = exc.reasons
    return Response({"error": error}, status=exc.status_code)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found, or you do not have access to it.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    error: dict[str, Any]
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        non_field = fields.pop("non_field_errors", None)
        if isinstance(exc.detail, list):
            non_field = [str(item) for item in exc.detail]
        message = " ".join(non_field) if non_field else "Some fields are invalid: see `fields`."
        error = {"code": "invalid", "message": message, "fields": fields}
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        error = {
            "code": codes if isinstance(codes, str) else "error",
            "message": str(detail),
            "fields": {},
        }
        if isinstance(exc, DomainConflict):
            error["reasons"] = exc.reasons
    response.data = {"error": error}
    return response
