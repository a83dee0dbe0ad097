"""The incident's timeline: add entries, correct them, delete them, order entries that share a
time."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from kbsite.errors import DomainError
from postmortems import services
from postmortems.forms import MoveForm, TimelineEntryForm
from postmortems.models import TimelineEntry
from postmortems.views.common import (
    add_service_error,
    incident_for_edit,
    not_found,
    refuse,
    status_of,
    swapped,
)
from postmortems.views.incidents import render_incident


def _timeline_url(incident_url: str, anchor: str = "timeline") -> str:
    return f"{incident_url}#{anchor}"


@require_POST
def timeline_add(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_for_edit(request, pk)
    form = TimelineEntryForm(request.POST)
    if form.is_valid():
        try:
            entry = services.timeline_add(incident=incident, user=request.user, **form.cleaned_data)
        except DomainError as error:
            add_service_error(form, error)
            return render_incident(request, incident, timeline_form=form, status=status_of(error))
        messages.success(request, "Timeline entry added.")
        return redirect(_timeline_url(incident.get_absolute_url(), f"entry-{entry.pk}"))
    return render_incident(request, incident, timeline_form=form, status=400)


@require_POST
def timeline_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """One form, four buttons: save, delete, move up, move down."""
    incident_id = TimelineEntry.objects.filter(pk=pk).values_list("incident_id", flat=True).first()
    if incident_id is None:
        raise not_found()
    incident = incident_for_edit(request, incident_id)
    entry = TimelineEntry.objects.get(pk=pk)
    entry.incident = incident
    url = incident.get_absolute_url()
    move = MoveForm(request.POST)
    action = move.cleaned_data["action"] if move.is_valid() else "save"
    try:
        if action == "delete":
            services.timeline_delete(entry=entry, user=request.user)
            messages.success(request, "Timeline entry removed.")
            return redirect(_timeline_url(url))
        if action in ("up", "down"):
            ids = list(
                TimelineEntry.objects.filter(incident=incident)
                .order_by("occurred_at", "position", "id")
                .values_list("pk", flat=True)
            )
            order = swapped(ids, entry.pk, up=action == "up")
            if order is not None:
                services.timeline_reorder(incident=incident, user=request.user, entry_ids=order)
            return redirect(_timeline_url(url, f"entry-{entry.pk}"))
    except DomainError as error:
        refuse(request, error)
        return redirect(_timeline_url(url))
    form = TimelineEntryForm(request.POST, prefix=f"entry-{pk}")
    if form.is_valid():
        try:
            services.timeline_update(entry=entry, user=request.user, **form.cleaned_data)
        except DomainError as error:
            add_service_error(form, error)
            return render_incident(
                request, incident, bound={f"entry-{pk}": form}, status=status_of(error)
            )
        messages.success(request, "Timeline entry saved.")
        return redirect(_timeline_url(url, f"entry-{pk}"))
    return render_incident(request, incident, bound={f"entry-{pk}": form}, status=400)
