"""Opsgenie's outgoing webhook: one alert action per delivery.

`Create` opens an incident, `Acknowledge` is noted on its timeline and `Close` resolves it (a
person or the monitoring tool closed the alert); other actions are accepted and change nothing.
The incident's services come from the alert's entity or from tags written `service:<name>`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from postmortems.ingest.notices import AlertNotice, Change, Delivery
from postmortems.ingest.sources.common import (
    MAX_ID_LENGTH,
    MAX_TITLE_LENGTH,
    as_object,
    code,
    member,
    refuse,
    severity_of,
    shorten,
    summary_lines,
    text,
)

SOURCE = "opsgenie"
LABEL = "Opsgenie"
ACTED_ON = {
    "Create": Change.FIRING,
    "Acknowledge": Change.ACKNOWLEDGED,
    "Close": Change.RESOLVED,
}
SERVICE_TAG_PREFIX = "service:"


def _epoch(value: Any, *, field: str) -> datetime | None:
    """Opsgenie writes times as numbers since the epoch: createdAt in milliseconds, updatedAt
    in nanoseconds. The magnitude tells them apart."""
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise refuse(field, f"{field} must be a positive number of milliseconds since 1970.")
    seconds = float(value)
    while seconds > 100_000_000_000:  # later than the year 5138 in seconds: a finer unit
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise refuse(field, f"{field} is not a time kbsite can read.") from None


def _tags(alert: dict[str, Any]) -> list[str]:
    tags = alert.get("tags")
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise refuse("alert.tags", "alert.tags must be a list of strings.")
    return [tag.strip() for tag in tags if tag.strip()]


def parse(payload: Any) -> Delivery:
    body = as_object(payload, field="", source=LABEL)
    action = text(body, "action", path="", source=f"{LABEL} webhook", limit=100)
    alert = dict(
        as_object(member(body, "alert", path="", source=LABEL), field="alert", source=LABEL)
    )
    alert_id = text(alert, "alertId", path="alert", source=LABEL, limit=MAX_ID_LENGTH)
    change = ACTED_ON.get(action, Change.IGNORED)
    key = f"{SOURCE}:{alert_id}"
    if change == Change.IGNORED:
        note = f"Opsgenie action {action} is not used by kbsite: nothing changed."
        return Delivery(notices=(AlertNotice(key=key, change=change, note=note),))

    message = text(alert, "message", path="alert", source=LABEL, required=change == Change.FIRING)
    description = text(alert, "description", path="alert", source=LABEL, required=False)
    priority = text(alert, "priority", path="alert", source=LABEL, required=False, limit=10)
    entity = text(alert, "entity", path="alert", source=LABEL, required=False, limit=200)
    origin = text(alert, "source", path="alert", source=LABEL, required=False, limit=200)
    user = text(alert, "username", path="alert", source=LABEL, required=False, limit=200)
    tags = _tags(alert)
    created_at = _epoch(alert.get("createdAt"), field="alert.createdAt")
    services = [entity] if entity else []
    services += [
        tag[len(SERVICE_TAG_PREFIX) :].strip()
        for tag in tags
        if tag.lower().startswith(SERVICE_TAG_PREFIX)
    ]
    facts = [
        ("Opsgenie alert", code(str(alert.get("tinyId") or alert_id))),
        ("Priority", priority),
        ("Entity", code(entity) if entity else ""),
        ("Sent by", code(origin) if origin else ""),
        ("Tags", ", ".join(code(tag) for tag in tags)),
    ]
    note = ""
    if change == Change.ACKNOWLEDGED:
        note = f"Acknowledged in Opsgenie by {user}." if user else "Acknowledged in Opsgenie."
    elif change == Change.RESOLVED:
        note = f"Closed in Opsgenie by {user}." if user else "Closed in Opsgenie."
    return Delivery(
        notices=(
            AlertNotice(
                key=key,
                change=change,
                title=shorten(message or f"Opsgenie alert {alert_id}", MAX_TITLE_LENGTH),
                summary=summary_lines(description or message, facts),
                severity=severity_of(priority),
                service_names=tuple(name for name in services if name),
                started_at=created_at,
                note=note,
            ),
        )
    )
