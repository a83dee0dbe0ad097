"""Documents the `Idempotency-Key` header on every POST of the API in the OpenAPI schema.

The header is honoured by a middleware (kbsite.middleware.IdempotencyKeyMiddleware) rather than
by each view, so it is documented the same way: once, by a drf-spectacular postprocessing hook
(SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]), not in every view's `extend_schema`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from kbsite.idempotency import HEADER, MAX_KEY_LENGTH, REPLAYED_HEADER
from kbsite.middleware import API_PREFIX, IDEMPOTENCY_EXEMPT_PREFIXES


def _parameter() -> dict[str, Any]:
    hours = settings.IDEMPOTENCY_KEY_TTL_HOURS
    return {
        "in": "header",
        "name": HEADER,
        "required": False,
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_KEY_LENGTH,
            "pattern": "^[ -~]+$",
        },
        "description": (
            "Makes the POST safe to retry: send a unique value (a UUID) with the request, and "
            "the same value only when you send the very same request again. For "
            f"{hours} hours a retry gets the first answer (same status and body, with "
            f"`{REPLAYED_HEADER}: true`) instead of doing the work twice. Keys are yours alone; "
            f"1 to {MAX_KEY_LENGTH} printable ASCII characters. Server errors, 401, 408, 429 and "
            "answers that show a secret once (new tokens, new webhooks) are not kept: a retry "
            "runs again."
        ),
    }


REPLAYED: dict[str, Any] = {
    "schema": {"type": "string", "enum": ["true"]},
    "description": f"Present when this is the kept answer to an earlier request with the same "
    f"`{HEADER}`.",
}
ERRORS = {
    "400": f"Invalid input, or an invalid `{HEADER}` (code `idempotency_key_invalid`).",
    "409": f"`idempotency_key_in_progress`: the first request with this `{HEADER}` is still "
    "running; retry after `Retry-After` seconds with the same key.",
    "422": f"`idempotency_key_reused`: this `{HEADER}` was used for a different request "
    "(another method, address or body); use a new key for a new request.",
}


def _error_schema(result: dict[str, Any]) -> dict[str, Any]:
    if "Error" in result.get("components", {}).get("schemas", {}):
        return {"$ref": "#/components/schemas/Error"}
    return {"type": "object", "properties": {"error": {"type": "object"}}, "required": ["error"]}


def _document(
    operation: dict[str, Any], parameter: dict[str, Any], error_schema: dict[str, Any]
) -> None:
    parameters = operation.setdefault("parameters", [])
    if not any(item.get("name") == HEADER for item in parameters):
        parameters.append(dict(parameter))
    responses = operation.setdefault("responses", {})
    for status, response in responses.items():
        if status.startswith("2"):
            response.setdefault("headers", {})[REPLAYED_HEADER] = REPLAYED
    for status, description in ERRORS.items():
        existing = responses.get(status)
        if existing is None:
            responses[status] = {
                "content": {"application/json": {"schema": error_schema}},
                "description": description,
            }
        elif description not in existing.get("description", ""):
            existing["description"] = f"{existing.get('description', '')} {description}".strip()


def document_idempotency_key(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Postprocessing hook: the header, its replay marker and its 400/409/422 answers."""
    error_schema = _error_schema(result)
    parameter = _parameter()
    for path, operations in result.get("paths", {}).items():
        if not path.startswith(API_PREFIX) or path.startswith(IDEMPOTENCY_EXEMPT_PREFIXES):
            continue
        operation = operations.get("post")
        if operation is not None:
            _document(operation, parameter, error_schema)
    return result
