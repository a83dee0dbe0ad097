"""Reading payloads strictly: each helper names the place in the payload that is wrong, so that
whoever configures the alerting tool sees what to fix."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from postmortems.ingest.notices import UnexpectedPayload
from postmortems.models import Severity

MAX_ALERTS_PER_DELIVERY = 50
MAX_TITLE_LENGTH = 200
MAX_SUMMARY_LENGTH = 20_000
MAX_URL_LENGTH = 500
MAX_ID_LENGTH = 120

# What alerting setups call their levels, mapped to kbsite's severities. Labels and priorities
# outside this table fall back to the integration's default severity.
SEVERITY_WORDS = {
    "sev1": Severity.SEV1,
    "critical": Severity.SEV1,
    "fatal": Severity.SEV1,
    "emergency": Severity.SEV1,
    "page": Severity.SEV1,
    "p1": Severity.SEV1,
    "sev2": Severity.SEV2,
    "high": Severity.SEV2,
    "major": Severity.SEV2,
    "error": Severity.SEV2,
    "p2": Severity.SEV2,
    "sev3": Severity.SEV3,
    "warning": Severity.SEV3,
    "warn": Severity.SEV3,
    "medium": Severity.SEV3,
    "minor": Severity.SEV3,
    "p3": Severity.SEV3,
    "sev4": Severity.SEV4,
    "low": Severity.SEV4,
    "info": Severity.SEV4,
    "informational": Severity.SEV4,
    "none": Severity.SEV4,
    "p4": Severity.SEV4,
    "p5": Severity.SEV4,
}

# Go's zero time: Alertmanager and Grafana send it as endsAt of an alert still firing.
_GO_ZERO_YEAR = 1
_FRACTION = re.compile(r"(\.\d{6})\d+")
_url_validator = URLValidator(schemes=["http", "https"])


def where(path: str, key: str | int) -> str:
    """`alerts[0]` + `fingerprint` → `alerts[0].fingerprint`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def refuse(field: str, message: str) -> UnexpectedPayload:
    return UnexpectedPayload(message, field=field)


def as_object(value: Any, *, field: str, source: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise refuse(field or "body", f"{field or 'The body'} must be a JSON object ({source}).")
    return value


def refuse_nul_characters(payload: Any) -> None:
    """NUL is nothing a tool sends on purpose, and PostgreSQL cannot store it in text: refuse
    it wherever it is, naming the place (walked without recursion: payloads nest freely)."""
    pending: list[tuple[str, Any]] = [("", payload)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise refuse(path or "body", f"{path or 'The body'} contains a NUL character.")
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    raise refuse(path or "body", f"A key in {path or 'the body'} contains a NUL.")
                pending.append((where(path, key), item))
        elif isinstance(value, list):
            pending.extend((where(path, index), item) for index, item in enumerate(value))


def member(
    data: Mapping[str, Any], key: str, *, path: str, source: str, required: bool = True
) -> Any:
    field = where(path, key)
    if key not in data or data[key] is None:
        if required:
            raise refuse(field, f"{field} is missing: {source} payloads carry it.")
        return None
    return data[key]


def text(
    data: Mapping[str, Any],
    key: str,
    *,
    path: str,
    source: str,
    required: bool = True,
    limit: int | None = None,
) -> str:
    value = member(data, key, path=path, source=source, required=required)
    field = where(path, key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise refuse(field, f"{field} must be a string.")
    value = value.strip()
    if required and not value:
        raise refuse(field, f"{field} is empty: {source} payloads carry it.")
    if limit is not None and len(value) > limit:
        raise refuse(field, f"{field} is {len(value)} characters long; at most {limit} fit.")
    return value


def string_map(
    data: Mapping[str, Any], key: str, *, path: str, source: str, required: bool = True
) -> dict[str, str]:
    """A JSON object of strings, such as Alertmanager's labels and annotations."""
    value = member(data, key, path=path, source=source, required=required)
    field = where(path, key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise refuse(field, f"{field} must be an object of strings.")
    for name, item in value.items():
        if not isinstance(item, str):
            raise refuse(where(field, name), f"{where(field, name)} must be a string.")
    return {str(name): item for name, item in value.items()}


def items_of(data: Mapping[str, Any], key: str, *, path: str, source: str, hint: str) -> list[Any]:
    """A non-empty list of at most MAX_ALERTS_PER_DELIVERY items; `hint` says how to send
    fewer."""
    value = member(data, key, path=path, source=source)
    field = where(path, key)
    if not isinstance(value, list):
        raise refuse(field, f"{field} must be a list.")
    if not value:
        raise refuse(field, f"{field} is empty: send at least one alert.")
    if len(value) > MAX_ALERTS_PER_DELIVERY:
        raise refuse(
            field,
            f"{field} holds {len(value)} alerts; at most {MAX_ALERTS_PER_DELIVERY} are taken "
            f"per delivery. {hint}",
        )
    return value


def timestamp(
    data: Mapping[str, Any], key: str, *, path: str, source: str, required: bool = True
) -> datetime | None:
    """An RFC 3339 time with its offset; Go's zero time (an alert still firing) is None."""
    raw = text(data, key, path=path, source=source, required=required)
    field = where(path, key)
    if not raw:
        return None
    try:
        # Go writes nanoseconds; Python reads at most microseconds.
        moment = datetime.fromisoformat(_FRACTION.sub(r"\1", raw))
    except ValueError:
        raise refuse(
            field, f"{field} is not a time: send RFC 3339, like 2024-05-02T10:15:00Z."
        ) from None
    if moment.tzinfo is None:
        raise refuse(field, f"{field} has no time zone: send it with Z or an offset.")
    if moment.year == _GO_ZERO_YEAR:
        return None
    return moment.astimezone(UTC)


def severity_of(*words: str | None) -> str | None:
    """The first of `words` that names a severity, or None (the integration's default)."""
    for word in words:
        if word:
            found = SEVERITY_WORDS.get(word.strip().lower().replace("-", "").replace(" ", ""))
            if found:
                return str(found)
    return None


def link(value: Any) -> str:
    """An http(s) address fit to store as the incident's external link, else "" (a host name
    without a dot, as inside a cluster, fails Django's validator; it stays in the summary)."""
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if not value or len(value) > MAX_URL_LENGTH:
        return ""
    try:
        _url_validator(value)
    except ValidationError:
        return ""
    return value


def shorten(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def code(value: str) -> str:
    """Text for a markdown code span: backticks and line breaks would end it early."""
    return "`" + " ".join(value.replace("`", "'").split())[:300] + "`"


def summary_lines(lead: str, facts: list[tuple[str, str]]) -> str:
    """The incident's summary: the alert's own words, then a list of facts about it."""
    parts = [lead.strip()] if lead.strip() else []
    listed = [f"- {name}: {value}" for name, value in facts if value]
    if listed:
        parts.append("\n".join(listed))
    return "\n\n".join(parts)[:MAX_SUMMARY_LENGTH]
