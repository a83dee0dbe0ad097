"""Incidents: create, change, and say which earlier incident one repeats (or does not)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from kbsite.errors import InvalidInput, NotAllowed
from kbsite.events import emit
from kbsite.models import Service, Team
from kbsite.services import CatalogError, tags_get_or_create
from knowledge.markdown import render_markdown
from postmortems.models import (
    Incident,
    IncidentStatus,
    RepeatRejection,
    RootCauseCategory,
    Severity,
    Visibility,
)
from postmortems.permissions import can_create_incident, can_view_incident
from postmortems.services.common import (
    MAX_SUMMARY_LENGTH,
    MAX_TITLE_LENGTH,
    MAX_URL_LENGTH,
    aware,
    check_can_edit,
    check_can_view,
    check_expected_version,
    choice_clean,
    lock_incident,
    not_in_future,
    text_clean,
)

# The lifecycle, in order; an incident only moves forward.
STATUS_ORDER = [
    IncidentStatus.OPEN,
    IncidentStatus.MITIGATED,
    IncidentStatus.RESOLVED,
    IncidentStatus.CLOSED,
]
# The timestamp each status sets; reaching the status sets it to now when it is not given.
STATUS_TIMESTAMP = {
    IncidentStatus.MITIGATED: "mitigated_at",
    IncidentStatus.RESOLVED: "resolved_at",
    IncidentStatus.CLOSED: "closed_at",
}
# Timestamps in the order they must happen.
TIMESTAMP_ORDER = ("started_at", "detected_at", "mitigated_at", "resolved_at", "closed_at")
# No real incident started earlier, and the 180-day windows of similar incidents and of the
# KPIs would run off the calendar from a start in year 1.
EARLIEST_START = datetime(2000, 1, 1, tzinfo=UTC)
MAX_TAGS = 20
MAX_RESPONDERS = 50

UPDATABLE = frozenset(
    {
        "title",
        "summary",
        "severity",
        "team",
        "services",
        "tag_names",
        "started_at",
        "detected_at",
        "mitigated_at",
        "resolved_at",
        "closed_at",
        "status",
        "visibility",
        "root_cause_category",
        "commander",
        "responders",
        "external_source",
        "external_id",
        "external_url",
        "repeat_of",
    }
)


def _label(field: str) -> str:
    return field.replace("_at", "").replace("_", " ")


def _check_timestamps(times: dict[str, datetime | None], *, now: datetime) -> None:
    """started <= detected <= mitigated <= resolved <= closed, none in the future."""
    previous_field: str | None = None
    for field in TIMESTAMP_ORDER:
        value = times.get(field)
        if value is None:
            continue
        aware(value, field=field)
        not_in_future(value, field=field, now=now)
        if value < EARLIEST_START:
            raise InvalidInput(
                f"The {_label(field)} time is before {EARLIEST_START:%Y}: give when it happened.",
                field=field,
            )
        if previous_field is not None:
            previous = times[previous_field]
            assert previous is not None
            if value < previous:
                raise InvalidInput(
                    f"The {_label(field)} time ({value.astimezone(UTC):%Y-%m-%d %H:%M} UTC) is "
                    f"before the {_label(previous_field)} time "
                    f"({previous.astimezone(UTC):%Y-%m-%d %H:%M} UTC).",
                    field=field,
                )
        previous_field = field


def _stamp_reached(times: dict[str, datetime | None], *, target: str, now: datetime) -> None:
    """Reaching a status stamps its time (now, unless given). A status skipped on the way —
    open straight to resolved — takes the time of the next one: resolving also mitigated it,
    and time-to-mitigate must not be left blank."""
    order = [str(value) for value in STATUS_ORDER]
    reached = [
        field
        for candidate, field in STATUS_TIMESTAMP.items()
        if order.index(candidate) <= order.index(target)
    ]
    later = now
    for field in reversed(reached):
        if times[field] is None:
            times[field] = later
        later = times[field] or later


def _status_for(times: dict[str, datetime | None]) -> str:
    """The furthest status the given timestamps imply."""
    status = IncidentStatus.OPEN
    for candidate, field in STATUS_TIMESTAMP.items():
        if times.get(field) is not None:
            status = candidate
    return status


def _users_clean(users: Iterable[Any], *, field: str) -> list[Any]:
    cleaned = list(dict.fromkeys(users))
    if len(cleaned) > MAX_RESPONDERS:
        raise InvalidInput(f"Name at most {MAX_RESPONDERS} responders.", field=field)
    user_model = get_user_model()
    for user in cleaned:
        if not isinstance(user, user_model) or not user.is_active:
            raise InvalidInput("Name active people only.", field=field)
    return cleaned


def _services_clean(services: Iterable[Any]) -> list[Service]:
    cleaned = list(dict.fromkeys(services))
    for service in cleaned:
        if not isinstance(service, Service) or service.pk is None:
            raise InvalidInput("Choose services from the catalog.", field="services")
    return cleaned


def _tags_clean(names: Sequence[str]) -> list[Any]:
    names = [name for name in names if name and name.strip()]
    if len(names) > MAX_TAGS:
        raise InvalidInput(f"Give at most {MAX_TAGS} tags.", field="tags")
    try:
        return tags_get_or_create(names=list(names))
    except CatalogError as error:
        raise InvalidInput(str(error), field="tags") from error


def _category_clean(category: Any, *, current: RootCauseCategory | None = None) -> Any:
    if category is None:
        return None
    if not isinstance(category, RootCauseCategory):
        raise InvalidInput(
            "Choose a root cause category from the list.", field="root_cause_category"
        )
    if not category.is_active and category != current:
        raise InvalidInput(
            f"The category “{category.name}” is retired; choose a current one.",
            field="root_cause_category",
        )
    return category


def _external_url_clean(url: str) -> str:
    url = text_clean(url, field="external_url", limit=MAX_URL_LENGTH, label="external link")
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError as error:
            raise InvalidInput(
                "Give the external link as an http or https address.", field="external_url"
            ) from error
    return url


def _check_external_unique(*, source: str, external_id: str, exclude_pk: int | None) -> None:
    if not external_id:
        return
    clash = Incident.objects.filter(external_source=source, external_id=external_id)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    existing = clash.values_list("pk", flat=True).first()
    if existing is not None:
        raise InvalidInput(
            f"Incident #{existing} already has the external id {external_id!r} from "
            f"{source or 'this source'}.",
            field="external_id",
        )


def incident_create(
    *,
    user: Any,
    title: str,
    severity: str,
    team: Team,
    started_at: datetime,
    summary: str = "",
    services: Sequence[Service] = (),
    tag_names: Sequence[str] = (),
    detected_at: datetime | None = None,
    mitigated_at: datetime | None = None,
    resolved_at: datetime | None = None,
    status: str | None = None,
    visibility: str = Visibility.INTERNAL,
    root_cause_category: RootCauseCategory | None = None,
    commander: Any = None,
    responders: Sequence[Any] = (),
    external_source: str = "",
    external_id: str = "",
    external_url: str = "",
) -> Incident:
    """Open an incident. Responders (and admins) create them.

    Timestamps must run started <= detected <= mitigated <= resolved, none in the future; the
    status defaults to the furthest the timestamps imply, and a status given without its
    timestamp sets it to now. Emits "incident.created" (and "incident.resolved" when it is
    created resolved) once committed. Raises InvalidInput naming the field, NotAllowed.
    """
    if not getattr(user, "is_authenticated", False) or not can_create_incident(user):
        raise NotAllowed("Only responders can open incidents.")
    now = timezone.now()
    values: dict[str, Any] = {
        "title": text_clean(
            title, field="title", limit=MAX_TITLE_LENGTH, label="title", required=True
        ),
        "summary": text_clean(summary, field="summary", limit=MAX_SUMMARY_LENGTH, label="summary"),
        "severity": choice_clean(
            severity, field="severity", choices=Severity.values, label="severity"
        ),
        "visibility": choice_clean(
            visibility, field="visibility", choices=Visibility.values, label="visibility"
        ),
        "external_source": text_clean(
            external_source, field="external_source", limit=50, label="external source"
        ),
        "external_id": text_clean(external_id, field="external_id", limit=200, label="external id"),
        "external_url": _external_url_clean(external_url),
        "root_cause_category": _category_clean(root_cause_category),
    }
    if not isinstance(team, Team) or team.pk is None:
        raise InvalidInput("Choose the team that owns the incident.", field="team")
    if started_at is None:
        raise InvalidInput("Give the time the incident started.", field="started_at")
    times: dict[str, datetime | None] = {
        "started_at": started_at,
        "detected_at": detected_at,
        "mitigated_at": mitigated_at,
        "resolved_at": resolved_at,
        "closed_at": None,
    }
    implied = _status_for(times)
    final_status = implied
    if status is not None:
        final_status = choice_clean(
            status, field="status", choices=IncidentStatus.values, label="status"
        )
        order = [str(value) for value in STATUS_ORDER]
        if order.index(final_status) < order.index(implied):
            raise InvalidInput(
                f"An incident with a {_label(STATUS_TIMESTAMP[IncidentStatus(implied)])} time "
                f"cannot be {final_status}.",
                field="status",
            )
    _stamp_reached(times, target=final_status, now=now)
    _check_timestamps(times, now=now)
    if commander is not None:
        _users_clean([commander], field="commander")
    responder_list = _users_clean(responders, field="responders")
    service_list = _services_clean(services)

    with transaction.atomic():
        tags = _tags_clean(tag_names)
        _check_external_unique(
            source=values["external_source"], external_id=values["external_id"], exclude_pk=None
        )
        try:
            with transaction.atomic():
                incident = Incident.objects.create(
                    **values,
                    **times,
                    summary_html=render_markdown(values["summary"]),
                    status=final_status,
                    team=team,
                    commander=commander,
                    created_by=user,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError as error:  # the same external id arrived twice at once
            raise InvalidInput(
                f"An incident with the external id {values['external_id']!r} already exists.",
                field="external_id",
            ) from error
        incident.services.set(service_list)
        incident.tags.set(tags)
        incident.responders.set(responder_list)
        emit("incident.created", incident_id=incident.pk)
        if final_status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
            emit("incident.resolved", incident_id=incident.pk)
    return incident


def _check_repeat_of(*, incident: Incident, earlier: Any, user: Any, started_at: datetime) -> None:
    if earlier is None:
        return
    if not isinstance(earlier, Incident) or not can_view_incident(user, earlier):
        raise InvalidInput("That earlier incident was not found.", field="repeat_of")
    if earlier.pk == incident.pk:
        raise InvalidInput("An incident cannot repeat itself.", field="repeat_of")
    if earlier.started_at >= started_at:
        raise InvalidInput(
            f"Incident #{earlier.pk} started after this one; only an earlier incident can be "
            "repeated.",
            field="repeat_of",
        )


def incident_update(
    *, incident: Incident, user: Any, expected_version: int, **changes: Any
) -> Incident:
    """Change an incident's fields; `changes` takes the names incident_create takes, plus
    `status`, `closed_at` and `repeat_of`.

    The status only moves forward (open → mitigated → resolved → closed); reaching one sets its
    timestamp to now unless given, and a later timestamp given alone moves the status up to it.
    Timestamps stay in order. `repeat_of` must be an earlier incident the user can see. Checks
    `expected_version` (StaleVersion) and bumps the version. Emits "incident.updated", and
    "incident.resolved" when this change resolves it.
    """
    unknown = sorted(set(changes) - UPDATABLE)
    if unknown:
        raise InvalidInput(f"Unknown field: {', '.join(unknown)}.", field=unknown[0])
    check_can_edit(user, incident, doing="change this incident")
    now = timezone.now()

    with transaction.atomic():
        current = lock_incident(incident)
        check_expected_version(
            current_version=current.version,
            expected_version=expected_version,
            current=current,
            what="incident",
        )
        values: dict[str, Any] = {}
        if "title" in changes:
            values["title"] = text_clean(
                changes["title"],
                field="title",
                limit=MAX_TITLE_LENGTH,
                label="title",
                required=True,
            )
        if "summary" in changes:
            values["summary"] = text_clean(
                changes["summary"], field="summary", limit=MAX_SUMMARY_LENGTH, label="summary"
            )
            values["summary_html"] = render_markdown(values["summary"])
        if "severity" in changes:
            values["severity"] = choice_clean(
                changes["severity"], field="severity", choices=Severity.values, label="severity"
            )
        if "visibility" in changes:
            values["visibility"] = choice_clean(
                changes["visibility"],
                field="visibility",
                choices=Visibility.values,
                label="visibility",
            )
        if "team" in changes:
            team = changes["team"]
            if not isinstance(team, Team) or team.pk is None:
                raise InvalidInput("Choose the team that owns the incident.", field="team")
            values["team"] = team
        if "root_cause_category" in changes:
            values["root_cause_category"] = _category_clean(
                changes["root_cause_category"], current=current.root_cause_category
            )
        if "commander" in changes:
            if changes["commander"] is not None:
                _users_clean([changes["commander"]], field="commander")
            values["commander"] = changes["commander"]
        for field, limit in (("external_source", 50), ("external_id", 200)):
            if field in changes:
                values[field] = text_clean(
                    changes[field], field=field, limit=limit, label=field.replace("_", " ")
                )
        if "external_url" in changes:
            values["external_url"] = _external_url_clean(changes["external_url"])
        if "external_id" in values or "external_source" in values:
            _check_external_unique(
                source=values.get("external_source", current.external_source),
                external_id=values.get("external_id", current.external_id),
                exclude_pk=current.pk,
            )

        times = {field: getattr(current, field) for field in TIMESTAMP_ORDER}
        for field in TIMESTAMP_ORDER:
            if field in changes:
                if changes[field] is None and field == "started_at":
                    raise InvalidInput("Give the time the incident started.", field=field)
                times[field] = changes[field]
        order = [str(value) for value in STATUS_ORDER]
        target = current.status
        if "status" in changes:
            target = choice_clean(
                changes["status"], field="status", choices=IncidentStatus.values, label="status"
            )
            if order.index(target) < order.index(current.status):
                raise InvalidInput(
                    f"The incident is {current.status}; its status cannot go back to {target}.",
                    field="status",
                )
        implied = _status_for(times)
        if order.index(implied) > order.index(target):
            target = implied
        for candidate, field in STATUS_TIMESTAMP.items():
            reached = order.index(candidate) <= order.index(target)
            if reached and field in changes and changes[field] is None and getattr(current, field):
                raise InvalidInput(
                    f"The {_label(field)} time cannot be cleared while the incident is {target}.",
                    field=field,
                )
        _stamp_reached(times, target=target, now=now)
        _check_timestamps(times, now=now)
        values.update({field: times[field] for field in TIMESTAMP_ORDER})
        values["status"] = target

        if "repeat_of" in changes:
            _check_repeat_of(
                incident=current,
                earlier=changes["repeat_of"],
                user=user,
                started_at=times["started_at"] or current.started_at,
            )
            values["repeat_of"] = changes["repeat_of"]
        elif "started_at" in changes and current.repeat_of_id is not None:
            earlier = Incident.objects.get(pk=current.repeat_of_id)
            if earlier.started_at >= times["started_at"]:
                raise InvalidInput(
                    f"This incident repeats #{earlier.pk}, so it cannot start before it.",
                    field="started_at",
                )

        service_list = _services_clean(changes["services"]) if "services" in changes else None
        responder_list = (
            _users_clean(changes["responders"], field="responders")
            if "responders" in changes
            else None
        )
        tags = _tags_clean(changes["tag_names"]) if "tag_names" in changes else None

        Incident.objects.filter(pk=current.pk).update(
            **values, version=F("version") + 1, updated_at=now
        )
        if service_list is not None:
            current.services.set(service_list)
        if responder_list is not None:
            current.responders.set(responder_list)
        if tags is not None:
            current.tags.set(tags)
        emit("incident.updated", incident_id=current.pk)
        was_resolved = current.status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)
        if target in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED) and not was_resolved:
            emit("incident.resolved", incident_id=current.pk)
    return Incident.objects.get(pk=current.pk)


def incident_reject_repeat(*, incident: Incident, user: Any, earlier: Incident) -> RepeatRejection:
    """Say that `incident` does not repeat `earlier`: the pair is never suggested or counted
    again. Clears `repeat_of` when it pointed at `earlier`. Idempotent."""
    check_can_edit(user, incident, doing="say which incidents this one repeats")
    if not isinstance(earlier, Incident) or not can_view_incident(user, earlier):
        raise InvalidInput("That earlier incident was not found.", field="incident")
    if earlier.pk == incident.pk:
        raise InvalidInput("An incident cannot repeat itself.", field="incident")
    check_can_view(user, earlier)
    with transaction.atomic():
        rejection, created = RepeatRejection.objects.get_or_create(
            incident=incident, earlier=earlier, defaults={"rejected_by": user}
        )
        cleared = Incident.objects.filter(pk=incident.pk, repeat_of=earlier).update(
            repeat_of=None, version=F("version") + 1, updated_at=timezone.now()
        )
        # A new rejection can change whether the incident counts as a repeat by the rule, even
        # when no field of it changed.
        if cleared or created:
            emit("incident.updated", incident_id=incident.pk)
    return rejection
