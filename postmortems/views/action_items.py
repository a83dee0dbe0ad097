"""Action items: add and change them on the postmortem editor, and the list of open and
overdue items across incidents."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kbsite.errors import DomainError
from postmortems import selectors, services
from postmortems.forms import ActionItemFilterForm, ActionItemForm
from postmortems.models import ActionItem
from postmortems.permissions import can_edit_postmortem
from postmortems.views.common import (
    add_service_error,
    not_found,
    page_render,
    postmortem_for,
    postmortem_for_edit,
    status_of,
)
from postmortems.views.editor import render_editor

MAX_ROWS = 500


def _editor_url(postmortem_pk: int, anchor: str = "action-items") -> str:
    return reverse("postmortems:postmortem_edit", kwargs={"pk": postmortem_pk}) + f"#{anchor}"


@require_POST
def action_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    postmortem = postmortem_for_edit(request, pk)
    form = ActionItemForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            item = services.action_item_add(
                postmortem=postmortem,
                user=request.user,
                title=data["title"],
                owner=data["owner"],
                due_date=data["due_date"],
                priority=data["priority"],
                tracker_url=data["tracker_url"],
            )
        except DomainError as error:
            add_service_error(form, error)
            return render_editor(request, postmortem, action_form=form, status=status_of(error))
        messages.success(request, f"Action item added, due {item.due_date:%Y-%m-%d}.")
        return redirect(_editor_url(postmortem.pk, f"item-{item.pk}"))
    return render_editor(request, postmortem, action_form=form, status=400)


@require_POST
def action_item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    postmortem_id = ActionItem.objects.filter(pk=pk).values_list("postmortem_id", flat=True).first()
    if postmortem_id is None:
        raise not_found()
    postmortem = postmortem_for(request, postmortem_id)
    item = ActionItem.objects.select_related("owner").get(pk=pk)
    item.postmortem = postmortem
    if not (
        can_edit_postmortem(request.user, postmortem.incident) or item.owner_id == request.user.pk
    ):
        raise PermissionDenied("Only the postmortem's authors and the item's owner can change it.")
    form = ActionItemForm(request.POST, prefix=f"item-{pk}")
    if form.is_valid():
        data = form.cleaned_data
        changes = {
            "title": data["title"],
            "owner": data["owner"],
            "priority": data["priority"],
            "tracker_url": data["tracker_url"],
            "status_reason": data["status_reason"],
        }
        if data["due_date"]:
            changes["due_date"] = data["due_date"]
        if data["status"]:
            changes["status"] = data["status"]
        try:
            services.action_item_update(
                item=item, user=request.user, expected_version=data["version"], **changes
            )
        except DomainError as error:
            add_service_error(form, error)
            return render_editor(
                request, postmortem, bound={f"item-{pk}": form}, status=status_of(error)
            )
        messages.success(request, "Action item saved.")
        return redirect(_editor_url(postmortem.pk, f"item-{pk}"))
    return render_editor(request, postmortem, bound={f"item-{pk}": form}, status=400)


@require_GET
def action_items(request: HttpRequest) -> HttpResponse:
    """Open and overdue action items across the incidents the user may see."""
    form = ActionItemFilterForm(request.GET)
    owner = None
    owner_name = form.value("owner")
    if owner_name:
        owner = get_user_model().objects.filter(username=owner_name).first()
    today = timezone.localdate()
    items = []
    if not (owner_name and owner is None):
        items = list(
            selectors.action_items_for_user(
                user=request.user,
                team=form.value("team"),
                owner=owner,
                overdue_only=bool(form.value("overdue")),
                today=today,
            )[:MAX_ROWS]
        )
    rows = [{"item": item, "overdue": item.due_date < today} for item in items]
    context = {
        "form": form,
        "rows": rows,
        "overdue_count": sum(1 for row in rows if row["overdue"]),
        "unknown_owner": owner_name if owner_name and owner is None else None,
        "truncated": len(items) >= MAX_ROWS,
    }
    return page_render(request, "postmortems/action_items.html", context)
