"""Request parsers that keep Django's limits: DRF's JSON parser reads the body itself and so
would skip DATA_UPLOAD_MAX_MEMORY_SIZE, which Django only checks for forms and `request.body`."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, parsers

NUL_MESSAGE = "Null characters are not allowed."
SURROGATES = re.compile("[\ud800-\udfff]")


def _text_problem(text: str) -> str | None:
    """DRF's own messages for what PostgreSQL cannot hold: a NUL, or half a surrogate pair."""
    if "\x00" in text:
        return NUL_MESSAGE
    surrogate = SURROGATES.search(text)
    if surrogate:
        return f"Surrogate characters are not allowed: U+{ord(surrogate.group()):X}."
    return None


def _readable(key: str) -> str:
    return key.encode("unicode_escape").decode("ascii") if _text_problem(key) else key


def unstorable_text(data: Any) -> dict[str, list[str]]:
    """Where parsed JSON holds text PostgreSQL cannot store or compare, by field path
    (`title`, `responders.0`, `sections.summary`), with what is wrong.

    A loop rather than recursion: the body may be nested as deeply as the JSON parser allows.
    """
    found: dict[str, list[str]] = {}
    pending: list[tuple[str, Any]] = [("", data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                found[path or "non_field_errors"] = [problem]
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                problem = _text_problem(str(key))
                if problem:
                    found[_readable(name)] = [problem]
                else:
                    pending.append((name, item))
        elif isinstance(value, list):
            pending.extend(
                (f"{path}.{index}" if path else str(index), item)
                for index, item in enumerate(value)
            )
    return dict(sorted(found.items()))


class JSONParser(parsers.JSONParser):
    """JSON bodies up to DATA_UPLOAD_MAX_MEMORY_SIZE (413 beyond), never a 500 on deep nesting,
    and no text PostgreSQL cannot hold (a NUL, a lone surrogate): anywhere in the body, such
    text would fail deep in a query (a 500) instead of being refused here by field (400)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request is not None and limit is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                raise RequestDataTooBig("Request body exceeded DATA_UPLOAD_MAX_MEMORY_SIZE.")
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(
                "JSON parse error - the body is nested too deeply."
            ) from None
        problems = unstorable_text(data)
        if problems:
            raise exceptions.ValidationError(problems)
        return data
