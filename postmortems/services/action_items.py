"""Action items: what the postmortem commits the teams to do, with owners and due dates."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from kbsite.errors import InvalidInput, NotAllowed
from kbsite.events import emit
from kbsite.models import Team
from kbsite.services import notification_send
from kbsite.sweeps import sweep_claiming
from postmortems.models import ActionItem, Postmortem
from postmortems.permissions import can_edit_postmortem, can_view_incident
from postmortems.services.common import (
    MAX_ACTION_TITLE_LENGTH,
    MAX_REASON_LENGTH,
    MAX_URL_LENGTH,
    check_can_edit,
    check_can_view,
    check_expected_version,
    choice_clean,
    text_clean,
)

# Unless a date is given: the more urgent, the sooner.
DEFAULT_DUE_DAYS: dict[str, int] = {
    ActionItem.Priority.P1: 7,
    ActionItem.Priority.P2: 30,
    ActionItem.Priority.P3: 90,
}
UPDATABLE = frozenset(
    {"title", "owner", "due_date", "priority", "status", "status_reason", "tracker_url", "team"}
)
CLOSED_STATUSES = (ActionItem.Status.DONE, ActionItem.Status.WONT_DO)


def _owner_clean(owner: Any) -> Any:
    if owner is None:
        return None
    if not isinstance(owner, get_user_model()) or not owner.is_active:
        raise InvalidInput("Choose an active person as the owner.", field="owner")
    return owner


def _team_clean(team: Any) -> Team | None:
    if team is not None and (not isinstance(team, Team) or team.pk is None):
        raise InvalidInput("Choose a team from the catalog.", field="team")
    return team


def _due_clean(due: Any, *, postmortem: Postmortem) -> date:
    if not isinstance(due, date):
        raise InvalidInput("Give the due date as a date.", field="due_date")
    started = timezone.localdate(postmortem.incident.started_at)
    if due < started:
        raise InvalidInput(
            f"The due date {due:%Y-%m-%d} is before the incident started ({started:%Y-%m-%d}).",
            field="due_date",
        )
    return due


def _tracker_clean(url: str) -> str:
    url = text_clean(url, field="tracker_url", limit=MAX_URL_LENGTH, label="tracker link")
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError as error:
            raise InvalidInput(
                "Give the tracker link as an http or https address.", field="tracker_url"
            ) from error
    return url


def action_item_add(
    *,
    postmortem: Postmortem,
    user: Any,
    title: str,
    owner: Any = None,
    due_date: date | None = None,
    priority: str = ActionItem.Priority.P2,
    tracker_url: str = "",
    team: Team | None = None,
) -> ActionItem:
    """Commit to an action. Due by default 7 (P1), 30 (P2) or 90 (P3) days from today; the team
    defaults to the incident's."""
    check_can_edit(user, postmortem.incident, doing="add action items")
    priority = choice_clean(
        priority, field="priority", choices=ActionItem.Priority.values, label="priority"
    )
    values = {
        "title": text_clean(
            title, field="title", limit=MAX_ACTION_TITLE_LENGTH, label="title", required=True
        ),
        "owner": _owner_clean(owner),
        "team": _team_clean(team) or postmortem.incident.team,
        "priority": priority,
        "tracker_url": _tracker_clean(tracker_url),
        "due_date": (
            _due_clean(due_date, postmortem=postmortem)
            if due_date is not None
            else timezone.localdate() + timedelta(days=DEFAULT_DUE_DAYS[priority])
        ),
    }
    with transaction.atomic():
        item = ActionItem.objects.create(postmortem=postmortem, created_by=user, **values)
        emit("action_item.created", action_item_id=item.pk, postmortem_id=postmortem.pk)
    return item


def action_item_update(
    *, item: ActionItem, user: Any, expected_version: int | None = None, **changes: Any
) -> ActionItem:
    """Change an item; `changes` takes title, owner, due_date, priority, status, status_reason,
    tracker_url, team. "wont_do" needs a status_reason; "done" records when. The postmortem's
    authors and the item's owner may change it."""
    unknown = sorted(set(changes) - UPDATABLE)
    if unknown:
        raise InvalidInput(f"Unknown field: {', '.join(unknown)}.", field=unknown[0])
    postmortem = item.postmortem
    check_can_view(user, postmortem.incident)
    if not (can_edit_postmortem(user, postmortem.incident) or item.owner_id == user.pk):
        raise NotAllowed("Only the postmortem's authors and the item's owner can change it.")
    values: dict[str, Any] = {}
    if "title" in changes:
        values["title"] = text_clean(
            changes["title"],
            field="title",
            limit=MAX_ACTION_TITLE_LENGTH,
            label="title",
            required=True,
        )
    if "owner" in changes:
        values["owner"] = _owner_clean(changes["owner"])
    if "team" in changes:
        values["team"] = _team_clean(changes["team"])
    if "due_date" in changes:
        if changes["due_date"] is None:
            raise InvalidInput("Give a due date.", field="due_date")
        values["due_date"] = _due_clean(changes["due_date"], postmortem=postmortem)
    if "priority" in changes:
        values["priority"] = choice_clean(
            changes["priority"],
            field="priority",
            choices=ActionItem.Priority.values,
            label="priority",
        )
    if "tracker_url" in changes:
        values["tracker_url"] = _tracker_clean(changes["tracker_url"])
    if "status_reason" in changes:
        values["status_reason"] = text_clean(
            changes["status_reason"],
            field="status_reason",
            limit=MAX_REASON_LENGTH,
            label="reason",
        )
    with transaction.atomic():
        current = ActionItem.objects.select_for_update().get(pk=item.pk)
        check_expected_version(
            current_version=current.version,
            expected_version=expected_version,
            current=current,
            what="action item",
        )
        if "status" in changes:
            status = choice_clean(
                changes["status"],
                field="status",
                choices=ActionItem.Status.values,
                label="status",
            )
            values["status"] = status
            if status == ActionItem.Status.DONE and current.status != status:
                values["completed_at"] = timezone.now()
            elif status != ActionItem.Status.DONE:
                values["completed_at"] = None
        status = values.get("status", current.status)
        reason = values.get("status_reason", current.status_reason)
        if status == ActionItem.Status.WONT_DO and not reason:
            raise InvalidInput(
                "Say why this will not be done, so that the decision can be reviewed.",
                field="status_reason",
            )
        ActionItem.objects.filter(pk=current.pk).update(**values, version=F("version") + 1)
        emit("action_item.updated", action_item_id=current.pk, postmortem_id=postmortem.pk)
    return ActionItem.objects.select_related("owner", "team").get(pk=item.pk)


# --- overdue sweep ----------------------------------------------------------------------------

OVERDUE_BATCH_SIZE = 200


def _overdue_unannounced(today: date) -> Q:
    # The mark holds the due date it announced: an item whose due date moved since is due an
    # announcement of the new date once that one passes, with no service having to clear it.
    return (
        Q(due_date__lt=today)
        & ~Q(status__in=CLOSED_STATUSES)
        & (Q(overdue_notified_for__isnull=True) | ~Q(overdue_notified_for=F("due_date")))
    )


def _announce_overdue(item: ActionItem) -> None:
    incident = item.postmortem.incident
    recipient = item.owner if item.owner is not None and item.owner.is_active else None
    # The owner hears of it only while they may see the incident: a restricted one does not
    # exist for anyone else, not even through its action items.
    if recipient is not None and can_view_incident(recipient, incident):
        notification_send(
            user=recipient,
            text=f"The action item “{item.title}” of “{incident.title}” was due on "
            f"{item.due_date:%d %B %Y} and is not done. Finish it, give it a new due date, or "
            "mark it won't do with the reason.",
            url=f"{item.postmortem.get_absolute_url()}#action-items",
            email_subject=f"Action item overdue: {item.title}",
        )
    emit(
        "action_item.overdue",
        action_item_id=item.pk,
        postmortem_id=item.postmortem_id,
        incident_id=incident.pk,
        due_date=item.due_date.isoformat(),
    )


def action_items_notify_overdue(*, today: date | None = None) -> int:
    """Announce each open action item past its due date, once per due date: an in-app notice
    (and email) to its owner and the `action_item.overdue` event. Returns how many were
    announced; safe to run twice, even at once (kbsite.sweeps claims each item first)."""
    day = today or timezone.localdate()

    def announce(item: ActionItem) -> None:
        # The claim set the mark from the row as it is now; read back what it announced.
        item.refresh_from_db(fields=["due_date", "title", "status"])
        _announce_overdue(item)

    return sweep_claiming(
        model=ActionItem,
        pending=_overdue_unannounced(day),
        claim={"overdue_notified_for": F("due_date")},
        act=announce,
        select_related=["owner", "postmortem__incident"],
        batch_size=OVERDUE_BATCH_SIZE,
    )
