"""What every knowledge page shares: the toolbar, messages from refused services, and a few
links."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from kbsite.errors import DomainError
from knowledge.models import Article, ArticleFeedback
from knowledge.permissions import can_review
from knowledge.transfer.export import can_export


def display_name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user else "Someone"


def toolbar(request: HttpRequest) -> dict[str, Any]:
    """What the knowledge pages' toolbar shows besides `notifications_unread`, which every page
    gets from `kbsite.context_processors.notifications`."""
    return {
        "can_review": can_review(request.user),
        "can_export": can_export(request.user),
    }


def page_render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    return render(request, template, {**toolbar(request), **context}, status=status)


def error_text(error: DomainError) -> str:
    if error.reasons:
        return f"{error.message} " + " ".join(error.reasons)
    return error.message


def form_errors_text(form: Any) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


def add_service_error(form: Any, error: DomainError) -> None:
    """Show a service's refusal beside the field it names, or above the form."""
    field = {"tag_names": "tags"}.get(error.field or "", error.field)
    if field and field in form.fields:
        form.add_error(field, error.message)
    else:
        form.add_error(None, error_text(error))


def open_flags_prefetch() -> Prefetch:
    return Prefetch(
        "feedback",
        queryset=ArticleFeedback.objects.filter(
            kind=ArticleFeedback.Kind.OUTDATED, resolved_at__isnull=True
        ).select_related("user"),
        to_attr="open_flag_list",
    )


def create_url(**prefill: str) -> str:
    values = {key: value for key, value in prefill.items() if value}
    url = reverse("knowledge:article_create")
    return f"{url}?{urlencode(values)}" if values else url


def form_status(form: Any) -> int:
    return 400 if form.is_bound and form.errors else 200


def edit_url(article: Article, anchor: str = "") -> str:
    url = reverse("knowledge:article_edit", kwargs={"pk": article.pk})
    return f"{url}#{anchor}" if anchor else url
