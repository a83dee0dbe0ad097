"""What the postmortems pages share: access-checked fetches, refusals shown as messages, and
small formatting helpers. Every rule lives in postmortems.services and postmortems.selectors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from kbsite.errors import DomainError
from knowledge.models import Article
from postmortems import selectors
from postmortems.models import Incident, Postmortem
from postmortems.permissions import can_edit_postmortem

# The service names some fields differently from the forms.
FIELD_ALIASES = {"tag_names": "tags", "finding_ids": None, "entry_ids": None}


def page_render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    return render(request, template, context, status=status)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def error_text(error: DomainError) -> str:
    if error.reasons:
        return f"{error.message} " + " ".join(error.reasons)
    return error.message


def add_service_error(form: Any, error: DomainError) -> None:
    """Show a service's refusal beside the field it names, or above the form."""
    field = FIELD_ALIASES.get(error.field or "", error.field)
    if field and field in form.fields:
        form.add_error(field, error.message)
    else:
        form.add_error(None, error_text(error))


def form_errors_text(form: Any) -> str:
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        for message in errors:
            parts.append(f"{label}: {message}" if label else str(message))
    return " ".join(parts)


def refuse(request: HttpRequest, error: DomainError | str) -> None:
    """A refused action, as a message saying what to fix."""
    messages.error(request, error if isinstance(error, str) else error_text(error))


def status_of(error: DomainError) -> int:
    return error.status_code if error.status_code != 412 else 409


def incident_for_edit(request: HttpRequest, pk: int) -> Incident:
    """The incident (404 when not visible), if the user may change it (else the 403 page)."""
    incident = selectors.incident_get_for_user(pk=pk, user=request.user)
    if not can_edit_postmortem(request.user, incident):
        raise PermissionDenied(
            "Only the incident's commander, responders and owning team can change it."
        )
    return incident


def postmortem_for(request: HttpRequest, pk: int) -> Postmortem:
    return selectors.postmortem_get_for_user(pk=pk, user=request.user)


def postmortem_for_edit(request: HttpRequest, pk: int) -> Postmortem:
    postmortem = postmortem_for(request, pk)
    if not can_edit_postmortem(request.user, postmortem.incident):
        raise PermissionDenied("Only the postmortem's authors can change it.")
    return postmortem


def article_or_none(article_id: int | None) -> Article | None:
    """The article with this id, for a service to check visibility (it refuses unseen ones)."""
    if not article_id:
        return None
    return Article.objects.filter(pk=article_id).first()


def not_found() -> Http404:
    return Http404("No such page.")


def duration_text(start: datetime | None, end: datetime | None) -> str:
    """“1 h 05 min”, “12 min”, “2 d 3 h”; empty when either end is missing."""
    if start is None or end is None:
        return ""
    seconds = max(0, int((end - start).total_seconds()))
    delta = timedelta(seconds=seconds)
    days, hours, minutes = delta.days, delta.seconds // 3600, (delta.seconds % 3600) // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


def display_name(user: Any) -> str:
    if user is None:
        return "Someone"
    return user.get_full_name() or user.get_username()


def swapped(ids: list[int], pk: int, *, up: bool) -> list[int] | None:
    """`ids` with `pk` moved one place up or down; None when it cannot move."""
    index = ids.index(pk)
    other = index - 1 if up else index + 1
    if other < 0 or other >= len(ids):
        return None
    moved = list(ids)
    moved[index], moved[other] = moved[other], moved[index]
    return moved
