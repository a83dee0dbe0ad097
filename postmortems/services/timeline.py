"""The incident's timeline: what happened when, as the responders saw it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from kbsite.errors import InvalidInput
from postmortems.models import Incident, TimelineEntry
from postmortems.services.common import (
    MAX_TIMELINE_TEXT_LENGTH,
    aware,
    check_can_edit,
    choice_clean,
    not_in_future,
    text_clean,
)


def _occurred_clean(occurred_at: Any) -> datetime:
    value = aware(occurred_at, field="occurred_at")
    return not_in_future(value, field="occurred_at", now=timezone.now())


def timeline_add(
    *, incident: Incident, user: Any, occurred_at: datetime, kind: str, text: str
) -> TimelineEntry:
    """Add an entry; entries at the same time keep the order they were added in."""
    check_can_edit(user, incident, doing="add to the timeline")
    when = _occurred_clean(occurred_at)
    kind = choice_clean(kind, field="kind", choices=TimelineEntry.Kind.values, label="kind")
    body = text_clean(
        text,
        field="text",
        limit=MAX_TIMELINE_TEXT_LENGTH,
        label="entry",
        required=True,
        missing="Say what happened.",
    )
    with transaction.atomic():
        Incident.objects.select_for_update().filter(pk=incident.pk).exists()
        last = TimelineEntry.objects.filter(incident=incident).aggregate(last=Max("position"))
        return TimelineEntry.objects.create(
            incident=incident,
            occurred_at=when,
            kind=kind,
            text=body,
            author=user,
            position=(last["last"] or 0) + 1,
        )


def timeline_update(
    *,
    entry: TimelineEntry,
    user: Any,
    occurred_at: datetime | None = None,
    kind: str | None = None,
    text: str | None = None,
) -> TimelineEntry:
    """Change an entry (None leaves a field as it is)."""
    check_can_edit(user, entry.incident, doing="change the timeline")
    values: dict[str, Any] = {}
    if occurred_at is not None:
        values["occurred_at"] = _occurred_clean(occurred_at)
    if kind is not None:
        values["kind"] = choice_clean(
            kind, field="kind", choices=TimelineEntry.Kind.values, label="kind"
        )
    if text is not None:
        values["text"] = text_clean(
            text,
            field="text",
            limit=MAX_TIMELINE_TEXT_LENGTH,
            label="entry",
            missing="Say what happened.",
            required=True,
        )
    if values:
        TimelineEntry.objects.filter(pk=entry.pk).update(**values)
    return TimelineEntry.objects.get(pk=entry.pk)


def timeline_delete(*, entry: TimelineEntry, user: Any) -> None:
    check_can_edit(user, entry.incident, doing="change the timeline")
    TimelineEntry.objects.filter(pk=entry.pk).delete()


def timeline_reorder(*, incident: Incident, user: Any, entry_ids: list[int]) -> None:
    """Order entries that share a time; the ids must be exactly the incident's entries."""
    check_can_edit(user, incident, doing="reorder the timeline")
    with transaction.atomic():
        existing = set(
            TimelineEntry.objects.select_for_update()
            .filter(incident=incident)
            .values_list("pk", flat=True)
        )
        if len(entry_ids) != len(set(entry_ids)) or set(entry_ids) != existing:
            raise InvalidInput("List every entry of this timeline exactly once.", field="entry_ids")
        for position, entry_id in enumerate(entry_ids, start=1):
            TimelineEntry.objects.filter(pk=entry_id).update(position=position)
