"""Optimistic locking over HTTP, shared by every API that edits versioned objects.

A write names the version it was made against, as `version` in the body or an `If-Match`
header (`"3"`, `W/"3"` or `3`). Neither is 428; the service compares it with the stored
version and raises StaleVersion (412) when someone saved first. Answers that carry an editable
object carry `ETag: "<version>"`, and a GET whose `If-None-Match` names the current version
may answer 304.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from kbsite.api.errors import PreconditionRequired

VERSION_FIELD = "version"
_ENTITY_TAG = re.compile(r'^\s*(?:W/)?(?:"(?P<quoted>[0-9]{1,10})"|(?P<bare>[0-9]{1,10}))\s*$')
_MAX_VERSION = 2_147_483_647  # the largest value a PositiveIntegerField holds everywhere


def _tag_number(match: re.Match[str] | None) -> int:
    if match is None:
        return 0
    return int(match["quoted"] or match["bare"])


def etag_for(version: int) -> str:
    return f'"{version}"'


def _version_from_body(data: Any) -> int | None:
    if not isinstance(data, Mapping) or data.get(VERSION_FIELD) is None:
        return None
    value = data[VERSION_FIELD]
    # bool is an int in Python; "true" is not a version.
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 10:
        number = int(value.strip())
    else:
        raise exceptions.ValidationError(
            {VERSION_FIELD: ["Send the version you edited as a whole number, such as 3."]}
        )
    if not 1 <= number <= _MAX_VERSION:
        raise exceptions.ValidationError(
            {VERSION_FIELD: ["Send the version you edited: a whole number from 1."]}
        )
    return number


def _version_from_if_match(header: str | None) -> int | None:
    if header is None or not header.strip():
        return None
    match = _ENTITY_TAG.match(header)
    number = _tag_number(match)
    if not 1 <= number <= _MAX_VERSION:
        raise exceptions.ValidationError(
            {
                "If-Match": [
                    'Send one version as the If-Match header, such as "3" (or W/"3"); '
                    "lists and * are not accepted."
                ]
            }
        )
    return number


def expected_version(request: Request, *, data: Any = None) -> int:
    """The version the client edited, from the body's `version` or the `If-Match` header.

    `data` defaults to `request.data`. Both may be given when they agree; when they differ the
    request is refused (400) rather than guessing which one the client meant. Neither is 428.
    """
    body_version = _version_from_body(request.data if data is None else data)
    header_version = _version_from_if_match(request.headers.get("If-Match"))
    if body_version is not None and header_version is not None:
        if body_version != header_version:
            raise exceptions.ValidationError(
                {
                    VERSION_FIELD: [
                        f"The body says version {body_version} but If-Match says "
                        f"{header_version}: send one of them."
                    ]
                }
            )
        return body_version
    version = body_version if body_version is not None else header_version
    if version is None:
        raise PreconditionRequired()
    return version


def with_etag(response: Response, *, version: int) -> Response:
    response["ETag"] = etag_for(version)
    return response


def is_not_modified(request: Request, *, version: int) -> bool:
    """True when the GET's `If-None-Match` already names this version (weak comparison)."""
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    for candidate in header.split(","):
        match = _ENTITY_TAG.match(candidate)
        if match and _tag_number(match) == version:
            return True
    return False


def not_modified(*, version: int) -> Response:
    return with_etag(Response(status=304), version=version)
