"""The incident page's two searching panels, loaded after the page itself.

"Suggested articles" runs a knowledge search on the incident's text and "possibly a repeat" a
search of earlier incidents; together they cost more than the rest of the page, so the page
renders without them and htmx fetches each. Without JavaScript, a link opens the panel as a
page of its own.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from postmortems import selectors
from postmortems.models import Incident
from postmortems.permissions import can_edit_postmortem
from postmortems.similar import incident_similar_for_user


def _panel(
    request: HttpRequest, incident: Incident, template: str, context: dict[str, Any]
) -> HttpResponse:
    context = {"incident": incident, "panel_template": template, **context}
    if getattr(request, "htmx", False):
        return render(request, template, context)
    return render(request, "postmortems/incident_panel_page.html", context)


@require_GET
def incident_similar_panel(request: HttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(pk=pk, user=request.user)
    context = {
        "similar": incident_similar_for_user(incident=incident, user=request.user),
        "can_edit": can_edit_postmortem(request.user, incident),
    }
    return _panel(request, incident, "postmortems/_similar.html", context)


@require_GET
def incident_suggestions_panel(request: HttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(pk=pk, user=request.user)
    context = {
        "suggested": selectors.incident_suggested_articles(incident=incident, user=request.user)
    }
    return _panel(request, incident, "postmortems/_suggested_articles.html", context)
