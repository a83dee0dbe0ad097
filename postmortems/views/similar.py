"""Confirm or reject a suggested repeat ("possibly a repeat of #N") from the incident page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from kbsite.errors import DomainError
from postmortems import selectors, services
from postmortems.models import Incident
from postmortems.views.common import incident_for_edit, refuse


class RepeatDecisionForm(forms.Form):
    earlier = forms.IntegerField(min_value=1)
    version = forms.IntegerField(min_value=1, required=False)


def _earlier_for(request: HttpRequest, form: RepeatDecisionForm) -> Incident:
    # The earlier incident goes through the same visibility check as any other fetch: a
    # restricted one the user may not see is a 404, never a confirmation.
    return selectors.incident_get_for_user(pk=form.cleaned_data["earlier"], user=request.user)


@require_POST
def incident_confirm_repeat(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_for_edit(request, pk)
    form = RepeatDecisionForm(request.POST)
    if not form.is_valid():
        refuse(request, "Choose which earlier incident this repeats.")
        return redirect(incident)
    earlier = _earlier_for(request, form)
    try:
        services.incident_update(
            incident=incident,
            user=request.user,
            expected_version=form.cleaned_data["version"] or incident.version,
            repeat_of=earlier,
        )
    except DomainError as error:
        refuse(request, error)
        return redirect(incident)
    messages.success(request, f"Marked as a repeat of #{earlier.pk} {earlier.title}.")
    return redirect(incident)


@require_POST
def incident_reject_repeat(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_for_edit(request, pk)
    form = RepeatDecisionForm(request.POST)
    if not form.is_valid():
        refuse(request, "Choose which suggestion is not a repeat.")
        return redirect(incident)
    earlier = _earlier_for(request, form)
    try:
        services.incident_reject_repeat(incident=incident, user=request.user, earlier=earlier)
    except DomainError as error:
        refuse(request, error)
        return redirect(incident)
    messages.success(request, f"#{earlier.pk} will not be suggested as a repeat again.")
    return redirect(incident)
