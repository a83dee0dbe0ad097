"""Who may see and change an incident and its postmortem.

Restricted incidents are visible to members of the owning team, the commander, the responders
and admins — to no one else, managers included. For anyone else they do not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from kbsite.roles import Role, user_has_role
from kbsite.selectors import user_team_ids
from postmortems.models import Incident, Visibility


def incidents_visible_q(user: Any, *, prefix: str = "") -> Q:
    """A filter for the incidents `user` may see; `prefix` reaches them through a relation
    (`incidents_visible_q(user, prefix="incident__")` filters postmortems, findings, ...)."""
    if user_has_role(user, Role.ADMIN):
        return Q()
    responded = Incident.responders.through.objects.filter(user_id=user.pk).values("incident_id")
    return (
        Q(**{f"{prefix}visibility": Visibility.INTERNAL})
        | Q(**{f"{prefix}team_id__in": user_team_ids(user=user)})
        | Q(**{f"{prefix}commander_id": user.pk})
        | Q(**{f"{prefix}pk__in": responded})
    )


def is_named_on(user: Any, incident: Incident, *, responder_ids: set[int] | None = None) -> bool:
    """Commander, responder or member of the owning team. Pass `responder_ids` when already
    loaded (for example from a prefetch) to avoid a query."""
    if incident.commander_id == user.pk or incident.team_id in user_team_ids(user=user):
        return True
    if responder_ids is None:
        responder_ids = {responder.pk for responder in incident.responders.all()}
    return user.pk in responder_ids


def can_view_incident(user: Any, incident: Incident) -> bool:
    if incident.visibility == Visibility.INTERNAL or user_has_role(user, Role.ADMIN):
        return True
    return is_named_on(user, incident)


def is_postmortem_author(user: Any, incident: Incident) -> bool:
    """Authors write the postmortem: the commander, the responders and the owning team."""
    return is_named_on(user, incident)


def can_edit_postmortem(user: Any, incident: Incident) -> bool:
    return user_has_role(user, Role.ADMIN) or is_postmortem_author(user, incident)


def can_review_postmortem(user: Any, incident: Incident) -> bool:
    """Reviewers who are not its authors may approve or ask for changes."""
    return user_has_role(user, Role.REVIEWER) and not is_postmortem_author(user, incident)


def can_create_incident(user: Any) -> bool:
    return user_has_role(user, Role.RESPONDER)
