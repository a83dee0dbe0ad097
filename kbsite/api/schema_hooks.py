"""Schema post-processing: what is true of every operation is written once, here.

Every API operation can answer 401 (sign-in everywhere) and 429 (the per-person rate limit);
every write can be refused for a read-only token (403); every body can be malformed (400), too
large (413) or not JSON (415); every address with an object in it, or a list with a cursor, can
be 404. Views document what is particular to them (409, 412, 428, their own 403 and 404
wording); this hook adds the shared codes they leave out, in the one error shape with an
example, and names the objects in path parameters.
"""

from __future__ import annotations

import re
from typing import Any

from kbsite.api.errors import PreconditionFailed, PreconditionRequired
from kbsite.api.openapi import ERROR_DESCRIPTIONS

ERROR_REF = {"$ref": "#/components/schemas/Error"}
UNSAFE_METHODS = {"post", "put", "patch", "delete"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

ERROR_EXAMPLES: dict[int, tuple[str, str, dict[str, list[str]]]] = {
    400: ("invalid", "Some fields are invalid: see `fields`.", {"title": ["Title is required."]}),
    401: ("not_authenticated", "Authentication credentials were not provided.", {}),
    403: (
        "permission_denied",
        "This token is read-only: use a read-write token to change data.",
        {},
    ),
    404: ("not_found", "Not found, or you do not have access to it.", {}),
    409: ("conflict", "Not allowed in the object's current state.", {}),
    412: ("stale_version", str(PreconditionFailed.default_detail), {}),
    413: (
        "too_large",
        "The request body is larger than the limit of 2097152 bytes: send less.",
        {},
    ),
    415: ("unsupported_media_type", 'Unsupported media type "text/plain" in request.', {}),
    428: ("version_required", str(PreconditionRequired.default_detail), {}),
    429: ("throttled", "Request was throttled. Expected available in 42 seconds.", {}),
}
ERROR_DESCRIPTIONS_WITH_LIMIT = {
    **ERROR_DESCRIPTIONS,
    429: "Too many requests from you: wait the `Retry-After` seconds, then try again.",
}

# Resources named in paths whose singular is not the name without its last letter.
RESOURCE_NAMES = {
    "knowledge-gaps": "knowledge gap",
    "postmortem-templates": "postmortem template",
    "webhooks": "webhook subscription",
    "tokens": "API token",
}
_ID_PATTERN = re.compile(r"^\^?\[0-9\]")


def error_example(status_code: int) -> dict[str, Any]:
    code, message, fields = ERROR_EXAMPLES[status_code]
    return {code: {"value": {"error": {"code": code, "message": message, "fields": fields}}}}


def error_response(status_code: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERROR_DESCRIPTIONS_WITH_LIMIT[status_code],
        "content": {
            "application/json": {"schema": ERROR_REF, "examples": error_example(status_code)}
        },
    }
    if status_code == 429:
        response["headers"] = {
            "Retry-After": {
                "schema": {"type": "integer"},
                "description": "Seconds until the rate-limit window resets.",
            }
        }
    return response


def shared_error_codes(*, method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """The error status codes this operation can answer whatever it does."""
    parameters = operation.get("parameters", [])
    query = {p["name"] for p in parameters if p.get("in") == "query"}
    has_body = "requestBody" in operation
    codes = {401}
    if any(
        requirement.get("tokenAuth") is not None for requirement in operation.get("security", [])
    ):
        codes.add(429)
    if method in UNSAFE_METHODS:
        codes.add(403)
    if has_body or query:
        codes.add(400)
    if has_body:
        codes |= {413, 415}
    if "{" in path or "cursor" in query:
        codes.add(404)
    return codes


def _resource_of(path: str, parameter: str) -> str:
    """`/api/v1/incidents/{id}/timeline/{entry_id}/`, `id` → "incident"."""
    segments = [segment for segment in path.strip("/").split("/") if segment]
    position = segments.index("{" + parameter + "}")
    collection = segments[position - 1] if position else parameter
    if collection in RESOURCE_NAMES:
        return RESOURCE_NAMES[collection]
    return collection.removesuffix("s").replace("-", " ")


def describe_path_parameters(path: str, operation: dict[str, Any]) -> None:
    """Objects are addressed by integer id or by slug: say which, and of what."""
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "path" or parameter["name"] not in {"id", "slug"}:
            continue
        what = _resource_of(path, parameter["name"])
        schema = parameter.get("schema", {})
        if parameter["name"] == "id":
            if schema.get("type") != "integer" and _ID_PATTERN.match(schema.get("pattern", "")):
                parameter["schema"] = {"type": "integer", "minimum": 0}
            parameter.setdefault("description", f"The {what}'s id.")
        else:
            parameter.setdefault("description", f"The {what}'s slug.")


def document_shared_errors(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry: see the module's docstring."""
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            describe_path_parameters(path, operation)
            responses = operation.setdefault("responses", {})
            for status_code in sorted(
                shared_error_codes(method=method, path=path, operation=operation)
            ):
                responses.setdefault(str(status_code), error_response(status_code))
            add_error_examples(responses)
    return result


def add_error_examples(responses: dict[str, Any]) -> None:
    """Error responses a view documented itself get the example of their status code."""
    for status_code, response in responses.items():
        body = response.get("content", {}).get("application/json", {})
        if body.get("schema") == ERROR_REF and int(status_code) in ERROR_EXAMPLES:
            body.setdefault("examples", error_example(int(status_code)))
