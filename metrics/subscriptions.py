"""What metrics listens to (kbsite.events). Handlers only enqueue a task: it marks the incident
facts the change can influence stale and queues a coalesced recompute of the months."""

from __future__ import annotations

from typing import Any

from kbsite import events
from postmortems.models import Postmortem


def _enqueue_for_incident(incident_id: int) -> None:
    from metrics.tasks import incident_changed

    incident_changed.delay(incident_id=incident_id)


def on_incident_changed(*, incident_id: int, **_: Any) -> None:
    _enqueue_for_incident(incident_id)


def on_postmortem_published(*, postmortem_id: int, **_: Any) -> None:
    incident_id = Postmortem.objects.filter(pk=postmortem_id).values_list("incident_id", flat=True)
    for pk in incident_id:
        _enqueue_for_incident(pk)


def on_article_use_recorded(*, incident_id: int, **_: Any) -> None:
    _enqueue_for_incident(incident_id)


def on_findings_changed(*, incident_id: int, **_: Any) -> None:
    _enqueue_for_incident(incident_id)


def on_article_changed(*, article_id: int, **_: Any) -> None:
    """Published or archived: the incidents whose findings link it had knowledge, or not."""
    from metrics.tasks import article_changed

    article_changed.delay(article_id=article_id)


def subscribe_all() -> None:
    # A new incident counts in its month, and can be the recurrence of earlier ones.
    events.subscribe("incident.created", on_incident_changed)
    events.subscribe("incident.resolved", on_incident_changed)
    events.subscribe("incident.updated", on_incident_changed)
    events.subscribe("postmortem.published", on_postmortem_published)
    events.subscribe("article_use.recorded", on_article_use_recorded)
    events.subscribe("postmortem.findings_changed", on_findings_changed)
    events.subscribe("article.published", on_article_changed)
    events.subscribe("article.archived", on_article_changed)
