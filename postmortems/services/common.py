"""Checks shared by the postmortems services: access, text limits, version guards."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from kbsite.errors import InvalidInput, NotAllowed, StaleVersion
from postmortems.models import Incident, Postmortem
from postmortems.permissions import can_edit_postmortem, can_view_incident

MAX_TITLE_LENGTH = 200
MAX_SUMMARY_LENGTH = 20_000
MAX_SECTION_LENGTH = 100_000  # characters of markdown per postmortem section
MAX_CHANGE_NOTE_LENGTH = 500
MAX_COMMENT_LENGTH = 5_000
MAX_REVIEW_COMMENT_LENGTH = 10_000
MAX_FINDING_LENGTH = 10_000
MAX_REASON_LENGTH = 2_000
MAX_TIMELINE_TEXT_LENGTH = 5_000
MAX_ACTION_TITLE_LENGTH = 300
MAX_NOTE_LENGTH = 2_000
MAX_URL_LENGTH = 500
# Alerting tools and laptops disagree about the time by a little: tolerate it, not more.
CLOCK_SKEW = timedelta(minutes=5)


def check_can_view(user: Any, incident: Incident) -> None:
    """A service handed an incident the user cannot see refuses (views get 404 earlier, from
    the selectors; this guards callers that skipped them)."""
    if not getattr(user, "is_authenticated", False) or not can_view_incident(user, incident):
        raise NotAllowed("You do not have access to this incident.")


def check_can_edit(user: Any, incident: Incident, *, doing: str) -> None:
    check_can_view(user, incident)
    if not can_edit_postmortem(user, incident):
        raise NotAllowed(
            f"Only the incident's commander, its responders and members of its team can {doing}."
        )


def text_clean(
    value: str | None,
    *,
    field: str,
    limit: int,
    label: str,
    required: bool = False,
    missing: str | None = None,
    keep_indent: bool = False,
) -> str:
    """Stripped text; refuses missing required text (`missing`, else "Add a <label>.") and
    text over `limit` characters. `keep_indent` strips only blank lines before the text and
    whitespace after it, so markdown that starts with an indented code block keeps it."""
    raw = value or ""
    text = raw.lstrip("\r\n").rstrip() if keep_indent else raw.strip()
    if keep_indent and not text.strip():
        text = ""
    if required and not text:
        raise InvalidInput(missing or f"Add a {label}.", field=field)
    if len(text) > limit:
        raise InvalidInput(
            f"The {label} is {len(text):,} characters long; at most {limit:,} fit.", field=field
        )
    return text


def choice_clean(value: Any, *, field: str, choices: Iterable[str], label: str) -> str:
    allowed = list(choices)
    text = str(value or "").strip().lower()
    if text not in allowed:
        raise InvalidInput(f"Choose a {label}: one of {', '.join(allowed)}.", field=field)
    return text


def aware(value: Any, *, field: str) -> datetime:
    """An aware datetime, or InvalidInput naming the field."""
    if not isinstance(value, datetime):
        raise InvalidInput(f"Give {field.replace('_', ' ')} as a date and time.", field=field)
    if timezone.is_naive(value):
        raise InvalidInput(
            f"Give {field.replace('_', ' ')} with a time zone (for example UTC).", field=field
        )
    return value


TIME_LABELS = {
    "started_at": "start",
    "detected_at": "detection",
    "mitigated_at": "mitigation",
    "resolved_at": "resolution",
    "closed_at": "closing",
    "occurred_at": "entry's",
}


def not_in_future(value: datetime, *, field: str, now: datetime) -> datetime:
    if value > now + CLOCK_SKEW:
        label = TIME_LABELS.get(field, field.replace("_", " "))
        raise InvalidInput(f"The {label} time is in the future.", field=field)
    return value


def check_expected_version(
    *, current_version: int, expected_version: int | None, current: Any, what: str
) -> None:
    if expected_version is not None and current_version != expected_version:
        raise StaleVersion(
            f"Someone saved version {current_version} of this {what} after your version "
            f"{expected_version}; review their changes and try again.",
            current=current,
        )


def lock_postmortem(postmortem: Postmortem) -> Postmortem:
    """The row, locked until the transaction ends, with what the checks need loaded."""
    return (
        Postmortem.objects.select_for_update(of=("self",))
        .select_related("incident", "template")
        .get(pk=postmortem.pk)
    )


def lock_incident(incident: Incident) -> Incident:
    return Incident.objects.select_for_update(of=("self",)).get(pk=incident.pk)


def display_name(user: Any) -> str:
    return user.get_full_name() or user.username
