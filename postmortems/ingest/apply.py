"""Notices become incident changes, through the same services a person's change goes through,
so that events, webhooks and KPI recomputes follow as usual.

The integration's creator (an admin) is the acting user, and every change an alert makes is
also written on the incident's timeline, saying which integration made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from kbsite.errors import InvalidInput, StateConflict
from kbsite.models import Service
from kbsite.roles import Role, user_has_role
from postmortems.ingest.notices import AlertNotice, Change
from postmortems.models import (
    AlertIntegration,
    AlertSource,
    Incident,
    IncidentStatus,
    TimelineEntry,
)
from postmortems.services import incident_create, incident_update, timeline_add
from postmortems.services.common import lock_incident

FINISHED = (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)


@dataclass(frozen=True)
class AlertOutcome:
    key: str
    action: str  # opened, unchanged, acknowledged, mitigated, resolved, ignored, not_found
    incident: Incident | None
    message: str


def acting_user(integration: AlertIntegration) -> Any:
    """The admin who set the integration up; refuses (409) when they no longer may act."""
    owner = integration.created_by
    if not owner.is_active or not user_has_role(owner, Role.ADMIN):
        raise StateConflict(
            f"The integration was set up by {owner.get_username()}, who is no longer an active "
            "admin, so it cannot open incidents: an admin should create a new integration and "
            "give its secret to the alerting tool.",
            code="integration_owner_inactive",
        )
    return owner


def _services(integration: AlertIntegration, names: Sequence[str]) -> list[Service]:
    """Catalog services named by the alert (slug or name, any case), else the defaults."""
    found: list[Service] = []
    for name in names:
        service = Service.objects.filter(Q(slug__iexact=name) | Q(name__iexact=name)).first()
        if service is not None and service not in found:
            found.append(service)
    return found or list(integration.default_services.all())


def _moment(
    wanted: datetime | None, *, not_before: Sequence[datetime | None], now: datetime
) -> datetime:
    """`wanted` (else now), moved into [the latest of `not_before`, now]: the alerting tool's
    clock and kbsite's differ a little, and an incident's times must stay in order."""
    moment = min(wanted or now, now)
    for floor in not_before:
        if floor is not None and moment < floor:
            moment = floor
    return moment


def _find(integration: AlertIntegration, key: str) -> Incident | None:
    if not key:
        return None
    return Incident.objects.filter(external_source=integration.source, external_id=key).first()


def _label(integration: AlertIntegration) -> str:
    return str(AlertSource(integration.source).label)


def _open(
    integration: AlertIntegration, notice: AlertNotice, *, user: Any, now: datetime
) -> AlertOutcome:
    started = min(notice.started_at or now, now)
    try:
        incident = incident_create(
            user=user,
            title=notice.title,
            summary=notice.summary,
            severity=notice.severity or integration.default_severity,
            team=integration.team,
            services=_services(integration, notice.service_names),
            started_at=started,
            detected_at=now,
            external_source=integration.source,
            external_id=notice.key,
            external_url=notice.url,
        )
    except InvalidInput as error:
        # Another integration of this source opened it at the same moment: same alert.
        existing = _find(integration, notice.key) if error.field == "external_id" else None
        if existing is None:
            raise
        return AlertOutcome(
            notice.key, "unchanged", existing, f"Already incident #{existing.pk}: nothing changed."
        )
    timeline_add(
        incident=incident,
        user=user,
        occurred_at=now,
        kind=TimelineEntry.Kind.DETECTION,
        text=f"Opened by alert from {integration.name} ({_label(integration)}).",
    )
    return AlertOutcome(notice.key, "opened", incident, f"Opened incident #{incident.pk}.")


def _move(
    integration: AlertIntegration,
    notice: AlertNotice,
    incident: Incident,
    *,
    user: Any,
    now: datetime,
) -> AlertOutcome:
    """Mitigate or resolve, unless the incident is already that far."""
    mitigating = notice.change == Change.MITIGATED
    target = str(IncidentStatus.MITIGATED if mitigating else IncidentStatus.RESOLVED)
    current = lock_incident(incident)
    reached = [IncidentStatus.MITIGATED, *FINISHED] if mitigating else list(FINISHED)
    if current.status in reached:
        return AlertOutcome(
            notice.key,
            "unchanged",
            current,
            f"Incident #{current.pk} is already {current.status}: nothing changed.",
        )
    field = "mitigated_at" if mitigating else "resolved_at"
    when = _moment(
        notice.ended_at,
        not_before=[current.started_at, current.detected_at, current.mitigated_at],
        now=now,
    )
    incident_update(
        incident=current,
        user=user,
        expected_version=current.version,
        status=target,
        **{field: when},
    )
    if mitigating:
        text = (
            f"The alert cleared in {_label(integration)} ({integration.name}): marked mitigated. "
            "Resolve the incident once the fix is confirmed."
        )
    else:
        text = f"{notice.note} Marked resolved by {integration.name}."
    timeline_add(
        incident=current,
        user=user,
        occurred_at=when,
        kind=TimelineEntry.Kind.RESOLUTION,
        text=text,
    )
    return AlertOutcome(notice.key, target, current, f"Incident #{current.pk} is {target}.")


def notice_apply(
    *, integration: AlertIntegration, notice: AlertNotice, user: Any, now: datetime
) -> AlertOutcome:
    """Apply one notice. The caller holds the integration's row lock, which serialises
    deliveries of one integration: a retry arriving during the first delivery waits, then
    finds the incident the first one opened."""
    if notice.change == Change.IGNORED:
        return AlertOutcome(notice.key, "ignored", _find(integration, notice.key), notice.note)
    existing = _find(integration, notice.key)
    if notice.change == Change.FIRING:
        if existing is not None:
            return AlertOutcome(
                notice.key,
                "unchanged",
                existing,
                f"Already incident #{existing.pk}: nothing changed.",
            )
        return _open(integration, notice, user=user, now=now)
    if existing is None:
        return AlertOutcome(
            notice.key,
            "not_found",
            None,
            "No incident was opened for this alert (its firing notice never arrived here): "
            "nothing to change.",
        )
    if notice.change == Change.ACKNOWLEDGED:
        if existing.status in FINISHED:
            return AlertOutcome(
                notice.key,
                "unchanged",
                existing,
                f"Incident #{existing.pk} is already {existing.status}: nothing changed.",
            )
        timeline_add(
            incident=existing,
            user=user,
            occurred_at=now,
            kind=TimelineEntry.Kind.ESCALATION,
            text=notice.note,
        )
        return AlertOutcome(
            notice.key, "acknowledged", existing, f"Noted on incident #{existing.pk}."
        )
    return _move(integration, notice, existing, user=user, now=now)
