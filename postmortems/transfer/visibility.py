"""What a knowledge base export must leave out for a person: the drafts and articles in review
that findings of incidents they may not see spawned. Their text may carry what the incident
restricts (that is why they are not published with it), so they do not leave in a zip either.
Registered with knowledge, which must not know about incidents, in PostmortemsConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from knowledge.models import ArticleState
from knowledge.transfer.export import register_export_exclusion
from postmortems.models import Finding
from postmortems.permissions import incidents_visible_q


def spawned_from_hidden_incidents(user: Any) -> Q:
    hidden_spawns = (
        Finding.objects.filter(outcome=Finding.Outcome.SPAWNED, article__isnull=False)
        .exclude(incidents_visible_q(user, prefix="postmortem__incident__"))
        .values("article_id")
    )
    return Q(state__in=[ArticleState.DRAFT, ArticleState.IN_REVIEW], pk__in=hidden_spawns)


def register() -> None:
    register_export_exclusion(name="hidden-incidents", exclude=spawned_from_hidden_incidents)
