"""What every source's parser produces, and the refusals a delivery can meet.

A notice is one alert of a delivery in the terms of an incident: which incident it is about
(`key`, stored as the incident's external id) and what it asks for (`change`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kbsite.errors import DomainError, InvalidInput, StateConflict


class Change(StrEnum):
    FIRING = "firing"  # open an incident, unless this alert already has one
    ACKNOWLEDGED = "acknowledged"  # a person took it: noted on the timeline
    MITIGATED = "mitigated"  # the alert cleared: the symptoms stopped, a person confirms the fix
    RESOLVED = "resolved"  # a person closed it in the alerting tool
    IGNORED = "ignored"  # an event kbsite does not act on (escalations, notes, ...)


@dataclass(frozen=True)
class AlertNotice:
    key: str  # "<source>:<the tool's id>"; becomes Incident.external_id
    change: Change
    title: str = ""
    summary: str = ""
    severity: str | None = None  # None: the integration's default
    service_names: tuple[str, ...] = ()
    started_at: datetime | None = None
    ended_at: datetime | None = None
    url: str = ""
    note: str = ""  # timeline text for acknowledgements, or why an event was ignored


@dataclass(frozen=True)
class Delivery:
    notices: tuple[AlertNotice, ...]
    event_id: str = ""  # the sender's id of this delivery, when it sends one (PagerDuty)
    occurred_at: datetime | None = None  # when the sender says the event happened


# --- refusals: each maps to one status code and the API's one error shape -----------------------


class UnknownSource(DomainError):
    status_code = 404
    code = "not_found"


class NotAuthenticated(DomainError):
    """No secret, a secret no integration of this source has, or a bad signature (401)."""

    status_code = 401
    code = "authentication_failed"


class IntegrationDisabled(DomainError):
    status_code = 403
    code = "integration_disabled"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "too_large"


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


class UnexpectedPayload(InvalidInput):
    """Valid JSON, but not what this source sends; `field` points into the payload."""

    code = "unexpected_payload"


class StaleEvent(StateConflict):
    """A signed event older than the replay tolerance (409): it may be a recorded delivery
    played again, and is refused rather than applied late."""

    code = "stale_event"
