"""The article page, and writing an article: create, edit, live preview."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kbsite.errors import DomainError
from knowledge import selectors, services
from knowledge.diff import diff_snapshots
from knowledge.forms import (
    CONTENT_LABELS,
    ArticleForm,
    AttachmentForm,
    FeedbackForm,
    MarkdownPreviewForm,
    VideoLinkForm,
    article_form_initial,
    article_form_prefill,
)
from knowledge.markdown import render_markdown
from knowledge.models import CONTENT_FIELDS, MAX_FIELD_LENGTH, Article, ArticleState
from knowledge.panels import article_panels_render
from knowledge.permissions import can_edit, can_review
from knowledge.views.common import (
    add_service_error,
    display_name,
    form_errors_text,
    form_status,
    open_flags_prefetch,
    page_render,
)


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    states: tuple[str, ...]
    needs_comment: bool = False
    reviewers_only: bool = True
    style: str = ""


TRANSITIONS = {
    t.action: t
    for t in [
        Transition(
            "submit",
            "Submit for review",
            (ArticleState.DRAFT,),
            reviewers_only=False,
            style="primary",
        ),
        Transition("publish", "Publish", (ArticleState.IN_REVIEW,), style="primary"),
        Transition("request-changes", "Request changes", (ArticleState.IN_REVIEW,), True),
        Transition("mark-reviewed", "Mark reviewed: still accurate", (ArticleState.PUBLISHED,)),
        Transition("restore", "Restore to draft", (ArticleState.ARCHIVED,)),
        Transition(
            "archive",
            "Archive",
            (ArticleState.DRAFT, ArticleState.IN_REVIEW, ArticleState.PUBLISHED),
            style="danger",
        ),
    ]
}
TRANSITION_DONE = {
    "submit": "Submitted for review. Reviewers will see it in their queue.",
    "publish": "Published. It is now visible to everyone and found by search.",
    "request-changes": "Sent back to the author as a draft, with your comment.",
    "archive": "Archived. It no longer shows in search unless someone asks for archived articles.",
    "restore": "Restored as a draft.",
    "mark-reviewed": "Marked as reviewed: the next review date is reset and open flags resolved.",
}


def allowed_transitions(user: Any, article: Article) -> list[Transition]:
    """The actions offered on the page: only those this person may take in this state."""
    allowed = []
    for transition in TRANSITIONS.values():
        if article.state not in transition.states:
            continue
        permitted = can_review(user) if transition.reviewers_only else can_edit(user, article)
        if permitted:
            allowed.append(transition)
    return allowed


def render_detail(
    request: HttpRequest,
    article: Article,
    *,
    flag_form: FeedbackForm | None = None,
    status: int = 200,
) -> HttpResponse:
    prefetch_related_objects([article], open_flags_prefetch())
    attachments = list(article.attachments.all())
    sections = [
        {
            "name": name,
            "label": CONTENT_LABELS[name],
            # Sanitized by knowledge.markdown when the article was saved.
            "html": mark_safe(article.rendered.get(name, "")),  # noqa: S308
        }
        for name in CONTENT_FIELDS
        if getattr(article, name).strip()
    ]
    transitions = allowed_transitions(request.user, article)
    context = {
        "article": article,
        "sections": sections,
        "images": [a for a in attachments if services.attachment_is_inline(a)],
        "files": [a for a in attachments if not services.attachment_is_inline(a)],
        "videos": list(article.video_links.all()),
        "open_flags": article.open_flag_list,  # type: ignore[attr-defined]
        "overdue": article.is_overdue(),
        "can_edit": can_edit(request.user, article),
        "transitions": [t for t in transitions if not t.needs_comment],
        "comment_transitions": [t for t in transitions if t.needs_comment],
        "flag_form": flag_form or FeedbackForm(initial={"kind": "outdated"}),
        "panels": article_panels_render(request=request, article=article),
    }
    return page_render(request, "knowledge/article_detail.html", context, status=status)


@require_GET
def article_detail(request: HttpRequest, pk: int, slug: str) -> HttpResponse:
    article = selectors.article_get_for_user(pk=pk, user=request.user)
    if slug != article.slug:
        return redirect(article, permanent=True)
    return render_detail(request, article)


@require_GET
def article_redirect(request: HttpRequest, pk: int) -> HttpResponse:
    return redirect(selectors.article_get_for_user(pk=pk, user=request.user))


@require_http_methods(["GET", "POST"])
def article_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ArticleForm(request.POST)
        if form.is_valid():
            try:
                article = services.article_create(
                    author=request.user,
                    content=form.content(),
                    change_note=form.cleaned_data["change_note"],
                )
            except DomainError as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request,
                    "Draft saved. Submit it for review when it is ready.",
                    extra_tags="draft-saved-new",
                )
                return redirect(article)
    else:
        form = ArticleForm(initial=article_form_prefill(request.GET))
    context = {"form": form, "article": None, "draft_key": "new"}
    return _render_form(request, context, status=form_status(form))


def _render_form(request: HttpRequest, context: dict[str, Any], *, status: int) -> HttpResponse:
    form = context["form"]
    context["markdown_fields"] = [
        {"field": form[name], "preview": _preview(form[name].value())} for name in CONTENT_FIELDS
    ]
    return page_render(request, "knowledge/article_form.html", context, status=status)


def _preview(text: Any) -> SafeString | None:
    if not text or not isinstance(text, str) or len(text) > MAX_FIELD_LENGTH:
        return None
    return mark_safe(render_markdown(text))  # noqa: S308 - sanitized by knowledge.markdown


@require_http_methods(["GET", "POST"])
def article_edit(request: HttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get_for_user(pk=pk, user=request.user)
    if not can_edit(request.user, article):
        if article.state == ArticleState.ARCHIVED:
            messages.error(
                request, "Archived articles cannot be edited: restore it to a draft first."
            )
            return redirect(article)
        raise PermissionDenied("You may not edit this article.")
    conflict: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        form = ArticleForm(request.POST, require_version=True)
        if form.is_valid():
            try:
                saved = services.article_update(
                    article=article,
                    editor=request.user,
                    content=form.content(),
                    expected_version=form.cleaned_data["version"],
                    change_note=form.cleaned_data["change_note"],
                )
            except services.ArticleStaleVersion as error:
                current = error.current or selectors.article_get_for_user(pk=pk, user=request.user)
                conflict = _edit_conflict(
                    article=current, loaded_version=form.cleaned_data["version"]
                )
                # The person's text stays; the version moves on so that saving again is deliberate.
                data = request.POST.copy()
                data["version"] = str(current.version)
                form = ArticleForm(data, require_version=True)
                article, status = current, 409
            except DomainError as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request, f"Saved as version {saved.version}.", extra_tags="draft-saved"
                )
                return redirect(saved)
        if conflict is None:
            status = form_status(form)
    else:
        form = ArticleForm(initial=article_form_initial(article), require_version=True)
    context = {
        "form": form,
        "article": article,
        "conflict": conflict,
        "draft_key": str(article.pk),
        "attachment_form": AttachmentForm(),
        "video_form": VideoLinkForm(),
        "attachments": list(article.attachments.all()),
        "video_links": list(article.video_links.all()),
    }
    return _render_form(request, context, status=status)


def _edit_conflict(*, article: Article, loaded_version: int) -> dict[str, Any]:
    """What changed between the version the person loaded and the one saved since."""
    revisions = selectors.article_revisions(article=article).order_by("-number")
    latest = revisions.first()
    loaded = revisions.filter(number__lte=loaded_version).first()
    content_changed = latest is not None and loaded is not None and latest.number > loaded.number
    if content_changed:
        assert latest is not None and loaded is not None
        message = (
            f"{display_name(latest.editor)} saved a newer version while you were editing "
            f"(version {article.version}). Your text is still in the form: compare it with "
            "their changes below, keep what you need, and save again."
        )
        diffs = [d for d in diff_snapshots(loaded.snapshot, latest.snapshot) if d.changed]
    else:
        message = (
            f"This article changed while you were editing: it is now "
            f"{article.get_state_display().lower()} (version {article.version}). Its text is "
            "as you loaded it, and yours is still in the form: save again to keep your changes."
        )
        diffs = []
    return {
        "message": message,
        "diffs": [{"label": d.label, "html": mark_safe(d.html)} for d in diffs],  # noqa: S308
        "current_version": article.version,
    }


@require_POST
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the sanitized HTML of one content field, as it will be shown once saved."""
    text = request.POST.get("text")
    if text is None:
        text = next((request.POST[name] for name in CONTENT_FIELDS if name in request.POST), "")
    form = MarkdownPreviewForm({"text": text})
    if not form.is_valid():
        return HttpResponse(
            format_html('<p class="errorlist">{}</p>', form_errors_text(form)), status=200
        )
    html = render_markdown(form.cleaned_data["text"])
    if not html.strip():
        return HttpResponse('<p class="muted">Nothing to preview yet.</p>')
    return HttpResponse(html)
