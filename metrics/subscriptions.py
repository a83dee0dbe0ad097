"""What metrics listens to (kbsite.events). Handlers only enqueue a coalesced recompute."""

from __future__ import annotations

from typing import Any

from kbsite import events
from postmortems.models import Incident, Postmortem


def _enqueue_for_incident(incident_id: int) -> None:
    from metrics.tasks import enqueue_period_recompute

    incident = Incident.objects.filter(pk=incident_id).only("started_at", "resolved_at").first()
    if incident is None:
        return
    enqueue_period_recompute(day=incident.started_at.date())
    if incident.resolved_at is not None:
        enqueue_period_recompute(day=incident.resolved_at.date())


def on_incident_changed(*, incident_id: int, **_: Any) -> None:
    _enqueue_for_incident(incident_id)


def on_postmortem_published(*, postmortem_id: int, **_: Any) -> None:
    incident_id = Postmortem.objects.filter(pk=postmortem_id).values_list("incident_id", flat=True)
    for pk in incident_id:
        _enqueue_for_incident(pk)


def on_article_use_recorded(*, incident_id: int, **_: Any) -> None:
    _enqueue_for_incident(incident_id)


def subscribe_all() -> None:
    events.subscribe("incident.resolved", on_incident_changed)
    events.subscribe("incident.updated", on_incident_changed)
    events.subscribe("postmortem.published", on_postmortem_published)
    events.subscribe("article_use.recorded", on_article_use_recorded)
