"""Incidents: the list, create and edit, status buttons, and the incident page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kbsite.errors import DomainError, StaleVersion
from kbsite.roles import Role, user_has_role
from knowledge.models import Article
from knowledge.permissions import articles_visible_q
from postmortems import selectors, services
from postmortems.forms import (
    PAGE_SIZE,
    STATUS_ACTIONS,
    ArticleUseForm,
    IncidentFilterForm,
    IncidentForm,
    IncidentStatusForm,
    PostmortemStartForm,
    TimelineEntryForm,
    incident_form_initial,
)
from postmortems.models import ArticleUse, Incident, IncidentStatus, TimelineEntry
from postmortems.permissions import can_create_incident, can_edit_postmortem
from postmortems.selectors import IncidentFilters
from postmortems.views.common import (
    add_service_error,
    duration_text,
    incident_for_edit,
    page_render,
    refuse,
    swapped,
)

# ---------- The list ----------


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Incidents the user may see, filtered, newest first; restricted ones are simply absent."""
    form = IncidentFilterForm(request.GET)
    filters = IncidentFilters(
        severity=form.value("severity"),
        status=form.value("status"),
        team=form.value("team"),
        service=form.value("service"),
        started_from=form.value("started_from"),
        started_to=form.value("started_to"),
        postmortem_state=form.value("postmortem_state"),
        q=form.value("q") or "",
    )
    page = form.page_number()
    offset = (page - 1) * PAGE_SIZE
    rows = list(
        selectors.incident_list_for_user(user=request.user, filters=filters)[
            offset : offset + PAGE_SIZE + 1
        ]
    )
    has_next = len(rows) > PAGE_SIZE
    context = {
        "form": form,
        "incidents": rows[:PAGE_SIZE],
        "page_number": page,
        "previous_url": _page_url(request, page - 1) if page > 1 else None,
        "next_url": _page_url(request, page + 1) if has_next else None,
        "can_create": can_create_incident(request.user),
    }
    return page_render(request, "postmortems/index.html", context)


def _page_url(request: HttpRequest, page: int) -> str:
    params = request.GET.copy()
    params["page"] = str(page)
    return f"{reverse('postmortems:index')}?{params.urlencode()}"


# ---------- Create and edit ----------


@require_http_methods(["GET", "POST"])
def incident_create(request: HttpRequest) -> HttpResponse:
    if not can_create_incident(request.user):
        raise PermissionDenied("Only responders can open incidents.")
    status = 200
    if request.method == "POST":
        form = IncidentForm(request.POST)
        if form.is_valid():
            try:
                incident = services.incident_create(user=request.user, **form.service_values())
            except DomainError as error:
                add_service_error(form, error)
            else:
                messages.success(request, f"Incident #{incident.pk} opened.")
                return redirect(incident)
        status = 400
    else:
        form = IncidentForm()
    return page_render(
        request, "postmortems/incident_form.html", {"form": form, "incident": None}, status=status
    )


@require_http_methods(["GET", "POST"])
def incident_edit(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_for_edit(request, pk)
    status = 200
    if request.method == "POST":
        form = IncidentForm(request.POST, require_version=True)
        if form.is_valid():
            try:
                saved = services.incident_update(
                    incident=incident,
                    user=request.user,
                    expected_version=form.cleaned_data["version"],
                    **form.service_values(),
                )
            except StaleVersion as error:
                # Keep the person's input; the version moves on so that saving again is deliberate.
                data = request.POST.copy()
                data["version"] = str(error.current.version if error.current else incident.version)
                form = IncidentForm(data, require_version=True)
                form.is_valid()
                form.add_error(
                    None,
                    "Someone changed this incident while you were editing. Your input is still "
                    "in the form: check the incident page, then save again to apply it.",
                )
            except DomainError as error:
                add_service_error(form, error)
            else:
                messages.success(request, "Incident saved.")
                return redirect(saved)
        status = 400 if form.errors else 200
    else:
        form = IncidentForm(initial=incident_form_initial(incident), require_version=True)
    context = {
        "form": form,
        "incident": incident,
        "status_actions": _status_actions(incident),
    }
    return page_render(request, "postmortems/incident_form.html", context, status=status)


STATUS_LABELS = {"mitigate": "Mark mitigated", "resolve": "Mark resolved", "close": "Close"}


def _status_actions(incident: Incident) -> list[dict[str, str]]:
    """The status buttons: only forward moves."""
    order = list(IncidentStatus.values)
    current = order.index(incident.status)
    return [
        {"action": action, "label": STATUS_LABELS[action]}
        for action, status in STATUS_ACTIONS.items()
        if order.index(status) > current
    ]


@require_POST
def incident_status(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_for_edit(request, pk)
    form = IncidentStatusForm(request.POST)
    if not form.is_valid():
        refuse(request, "Choose mitigate, resolve or close.")
        return redirect(incident)
    try:
        saved = services.incident_update(
            incident=incident,
            user=request.user,
            expected_version=form.cleaned_data["version"],
            status=STATUS_ACTIONS[form.cleaned_data["action"]],
        )
    except DomainError as error:
        refuse(request, error)
        return redirect(incident)
    messages.success(request, f"The incident is now {saved.get_status_display().lower()}.")
    return redirect(saved)


# ---------- The incident page ----------


@require_GET
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(pk=pk, user=request.user)
    return render_incident(request, incident)


def render_incident(
    request: HttpRequest,
    incident: Incident,
    *,
    timeline_form: TimelineEntryForm | None = None,
    use_form: ArticleUseForm | None = None,
    bound: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The incident page. `bound` maps "entry-<pk>" to a refused edit form to show again."""
    user = request.user
    postmortem = getattr(incident, "postmortem", None)
    data = selectors.postmortem_page_data(postmortem=postmortem, user=user) if postmortem else None
    if data is not None:
        timeline, article_uses = data.timeline, data.article_uses
    else:
        timeline, article_uses = _timeline_and_uses(incident, user)
    can_edit = can_edit_postmortem(user, incident)
    context = {
        "incident": incident,
        "postmortem": postmortem,
        "data": data,
        "durations": [
            ("Time to detect", duration_text(incident.started_at, incident.detected_at)),
            ("Time to mitigate", duration_text(incident.started_at, incident.mitigated_at)),
            ("Time to resolve", duration_text(incident.started_at, incident.resolved_at)),
        ],
        "timeline_rows": _timeline_rows(timeline, bound or {}) if can_edit else None,
        "timeline": timeline,
        "article_uses": article_uses,
        "can_edit": can_edit,
        "can_record_use": can_edit or user_has_role(user, Role.RESPONDER),
        "timeline_form": timeline_form or TimelineEntryForm(),
        "use_form": use_form or ArticleUseForm(),
        "start_form": PostmortemStartForm(),
    }
    return page_render(request, "postmortems/incident_detail.html", context, status=status)


def _timeline_and_uses(incident: Incident, user: Any) -> tuple[list[Any], list[Any]]:
    """The timeline and article uses of an incident without a postmortem yet (with one, the
    postmortem's page data carries them)."""
    timeline = list(
        TimelineEntry.objects.filter(incident=incident)
        .select_related("author")
        .order_by("occurred_at", "position", "id")
    )
    uses = list(
        ArticleUse.objects.filter(incident=incident)
        .select_related("article", "user")
        .order_by("used_at", "id")
    )
    article_ids = {use.article_id for use in uses}
    visible = set(
        Article.objects.filter(articles_visible_q(user), pk__in=article_ids).values_list(
            "pk", flat=True
        )
        if article_ids
        else []
    )
    for use in uses:
        use.visible_article = use.article if use.article_id in visible else None  # type: ignore[attr-defined]
    return timeline, uses


def _timeline_rows(timeline: list[TimelineEntry], bound: dict[str, Any]) -> list[dict[str, Any]]:
    """Each entry with its edit form, and whether it can move (only among entries at the same
    time: the timeline is ordered by time first)."""
    rows = []
    for index, entry in enumerate(timeline):
        previous = timeline[index - 1] if index > 0 else None
        following = timeline[index + 1] if index + 1 < len(timeline) else None
        form = bound.get(f"entry-{entry.pk}") or TimelineEntryForm(
            initial={"occurred_at": entry.occurred_at, "kind": entry.kind, "text": entry.text},
            prefix=f"entry-{entry.pk}",
        )
        rows.append(
            {
                "entry": entry,
                "form": form,
                "can_up": previous is not None and previous.occurred_at == entry.occurred_at,
                "can_down": following is not None and following.occurred_at == entry.occurred_at,
            }
        )
    return rows


def timeline_ids_moved(timeline: list[TimelineEntry], pk: int, *, up: bool) -> list[int] | None:
    return swapped([entry.pk for entry in timeline], pk, up=up)
