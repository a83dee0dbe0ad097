"""Pages about many articles at once: the review queue, knowledge gaps, notifications."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from kbsite.errors import DomainError
from kbsite.selectors import notifications_for_user
from kbsite.services import notifications_mark_all_read
from knowledge import selectors, services
from knowledge.forms import SearchGapDismissForm
from knowledge.permissions import can_review
from knowledge.views.common import (
    create_url,
    error_text,
    form_errors_text,
    open_flags_prefetch,
    page_render,
)


def _require_reviewer(request: HttpRequest) -> None:
    if not can_review(request.user):
        raise PermissionDenied("Only reviewers, editors and admins see this page.")


@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    _require_reviewer(request)
    queue = selectors.review_queue(user=request.user)
    context = {
        "in_review": list(queue.in_review),
        # The flag comments shown under each flagged article, in one query.
        "flagged": list(queue.flagged.prefetch_related(open_flags_prefetch())),
        "overdue": list(queue.overdue),
    }
    return page_render(request, "knowledge/review_queue.html", context)


@require_GET
def search_gaps(request: HttpRequest) -> HttpResponse:
    _require_reviewer(request)
    gaps = [
        {"gap": gap, "create_url": create_url(title=gap.example_query)}
        for gap in selectors.search_gaps(limit=50)
    ]
    return page_render(request, "knowledge/search_gaps.html", {"gaps": gaps})


@require_POST
def search_gap_dismiss(request: HttpRequest) -> HttpResponse:
    _require_reviewer(request)
    form = SearchGapDismissForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing dismissed: {form_errors_text(form)}")
        return redirect("knowledge:search_gaps")
    try:
        count = services.search_gaps_dismiss(user=request.user, gap_ids=[form.cleaned_data["gap"]])
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        if count:
            messages.success(request, "Dismissed: it no longer shows in the list.")
        else:
            messages.info(request, "That search was already dismissed.")
    return redirect("knowledge:search_gaps")


NOTIFICATIONS_SHOWN = 100


@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    items = notifications_for_user(user=request.user, limit=NOTIFICATIONS_SHOWN)  # type: ignore[arg-type]
    return page_render(request, "knowledge/notifications.html", {"notifications": items})


@require_POST
def notifications_mark_read(request: HttpRequest) -> HttpResponse:
    count = notifications_mark_all_read(user=request.user)  # type: ignore[arg-type]
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} as read.")
    return redirect("knowledge:notifications")
