"""PagerDuty's v3 webhooks: one event per delivery, about one PagerDuty incident.

`incident.triggered` opens an incident, `incident.acknowledged` is noted on its timeline and
`incident.resolved` resolves it (a person resolved it in PagerDuty); other event types are
accepted and change nothing. Each event carries its own id, which makes a replayed delivery a
no-op, and its time, which lets an old one be refused. PagerDuty signs the raw body:
`X-PagerDuty-Signature: v1=<hex HMAC-SHA256>`, several comma-separated while a signing secret
is being rotated.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from postmortems.ingest.notices import AlertNotice, Change, Delivery
from postmortems.ingest.sources.common import (
    MAX_ID_LENGTH,
    MAX_TITLE_LENGTH,
    as_object,
    code,
    link,
    member,
    refuse,
    severity_of,
    shorten,
    summary_lines,
    text,
    timestamp,
)

SOURCE = "pagerduty"
LABEL = "PagerDuty"
SIGNATURE_HEADER = "X-PagerDuty-Signature"
ACTED_ON = {
    "incident.triggered": Change.FIRING,
    "incident.acknowledged": Change.ACKNOWLEDGED,
    "incident.resolved": Change.RESOLVED,
}
# Without a priority, PagerDuty's urgency decides; the integration's default is the last resort.
URGENCY_SEVERITY = {"high": "sev2", "low": "sev4"}


def signature_valid(*, signing_secret: str, header: str, body: bytes) -> bool:
    """True when one of the header's `v1=` signatures is the HMAC of `body` (constant time)."""
    expected = hmac.new(signing_secret.encode(), body, hashlib.sha256).hexdigest()
    given = [
        value.strip()
        for scheme, _, value in (part.strip().partition("=") for part in header.split(","))
        if scheme == "v1"
    ]
    # Compare against every candidate, so the time taken does not say which one was close.
    matches = [hmac.compare_digest(expected.encode(), value.encode()) for value in given]
    return any(matches)


def _name(value: Any) -> str:
    """The `summary` of a PagerDuty reference object ({"summary": "checkout", ...})."""
    if isinstance(value, dict) and isinstance(value.get("summary"), str):
        return value["summary"].strip()
    return ""


def _incident_notice(
    data: dict[str, Any], *, change: Change, event: dict[str, Any], occurred_at: Any
) -> AlertNotice:
    path = "event.data"
    kind = data.get("type")
    if kind != "incident":
        raise refuse(f"{path}.type", f"{path}.type is {kind!r}: expected incident.")
    incident_id = text(data, "id", path=path, source=LABEL, limit=MAX_ID_LENGTH)
    title = text(data, "title", path=path, source=LABEL, required=change == Change.FIRING)
    created_at = timestamp(data, "created_at", path=path, source=LABEL, required=False)
    urgency = text(data, "urgency", path=path, source=LABEL, required=False)
    priority = _name(data.get("priority"))
    service = _name(data.get("service"))
    url = text(data, "html_url", path=path, source=LABEL, required=False)
    number = data.get("number")
    agent = _name(event.get("agent"))
    facts = [
        ("PagerDuty incident", code(f"#{number}" if number is not None else incident_id)),
        ("Service", code(service) if service else ""),
        ("Urgency", urgency),
        ("Priority", priority),
        ("Escalation policy", _name(data.get("escalation_policy"))),
        ("Link", code(url) if url else ""),
    ]
    note = ""
    if change == Change.ACKNOWLEDGED:
        note = f"Acknowledged in PagerDuty by {agent}." if agent else "Acknowledged in PagerDuty."
    elif change == Change.RESOLVED:
        note = f"Resolved in PagerDuty by {agent}." if agent else "Resolved in PagerDuty."
    return AlertNotice(
        key=f"{SOURCE}:{incident_id}",
        change=change,
        title=shorten(title or f"PagerDuty incident {incident_id}", MAX_TITLE_LENGTH),
        summary=summary_lines(title, facts),
        severity=severity_of(priority) or URGENCY_SEVERITY.get(urgency.lower()),
        service_names=(service,) if service else (),
        started_at=created_at or occurred_at,
        ended_at=occurred_at if change == Change.RESOLVED else None,
        url=link(url),
        note=note,
    )


def parse(payload: Any) -> Delivery:
    body = as_object(payload, field="", source=LABEL)
    event = as_object(
        member(body, "event", path="", source=f"{LABEL} v3 webhook"), field="event", source=LABEL
    )
    event_id = text(event, "id", path="event", source=LABEL, limit=MAX_ID_LENGTH)
    event_type = text(event, "event_type", path="event", source=LABEL, limit=100)
    occurred_at = timestamp(event, "occurred_at", path="event", source=LABEL)
    if occurred_at is None:
        raise refuse("event.occurred_at", "event.occurred_at is the zero time.")
    change = ACTED_ON.get(event_type)
    if change is None:
        data = event.get("data")
        subject = data.get("id") if isinstance(data, dict) else None
        notice = AlertNotice(
            key=f"{SOURCE}:{subject}" if isinstance(subject, str) and subject else "",
            change=Change.IGNORED,
            note=f"PagerDuty event {event_type} is not used by kbsite: nothing changed.",
        )
    else:
        data = as_object(
            member(event, "data", path="event", source=LABEL), field="event.data", source=LABEL
        )
        notice = _incident_notice(
            dict(data), change=change, event=dict(event), occurred_at=occurred_at
        )
    return Delivery(notices=(notice,), event_id=event_id, occurred_at=occurred_at)
