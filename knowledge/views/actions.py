"""Everything done to an article from its page: state changes, feedback, flags, files and
videos. Each is a POST that redirects with a message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from kbsite.errors import DomainError
from knowledge import selectors, services
from knowledge.forms import (
    AttachmentForm,
    FeedbackForm,
    FlagsResolveForm,
    TransitionForm,
    VideoLinkForm,
)
from knowledge.models import Article, ArticleAttachment
from knowledge.views.articles import TRANSITION_DONE, TRANSITIONS, render_detail
from knowledge.views.common import edit_url, error_text, form_errors_text


@require_POST
def article_transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    article = selectors.article_get_for_user(pk=pk, user=request.user)
    transition = TRANSITIONS[action]
    form = TransitionForm(request.POST, require_comment=transition.needs_comment)
    if not form.is_valid():
        messages.error(request, f"{transition.label}: {form_errors_text(form)}")
        return redirect(article)
    try:
        _run_transition(
            action,
            article=article,
            user=request.user,
            comment=form.cleaned_data["comment"],
            expected_version=form.cleaned_data["version"],
        )
    except services.ArticleStaleVersion:
        messages.error(
            request,
            "Someone changed this article after you opened it. Check the page as it is now "
            "and try again.",
        )
    except DomainError as error:
        messages.error(request, f"{transition.label} refused: {error_text(error)}")
    else:
        messages.success(request, TRANSITION_DONE[action])
    return redirect(article)


def _run_transition(
    action: str, *, article: Article, user: Any, comment: str, expected_version: int | None
) -> Article:
    common = {"article": article, "user": user, "expected_version": expected_version}
    calls: dict[str, Callable[[], Article]] = {
        "submit": lambda: services.article_submit(**common),
        "publish": lambda: services.article_publish(**common, comment=comment),
        "request-changes": lambda: services.article_request_changes(**common, comment=comment),
        "archive": lambda: services.article_archive(**common, comment=comment),
        "restore": lambda: services.article_restore(**common),
        "mark-reviewed": lambda: services.article_mark_reviewed(**common),
    }
    return calls[action]()


FEEDBACK_DONE = {
    "helpful": "Thanks: marked as helpful.",
    "not_helpful": "Thanks: marked as not helpful. Flag it as outdated if something is wrong.",
    "outdated": "Flagged as outdated. The owner has been notified.",
}


@require_POST
def article_feedback(request: HttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get_for_user(pk=pk, user=request.user)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        return render_detail(request, article, flag_form=form, status=400)
    try:
        services.feedback_give(
            article=article,
            user=request.user,
            kind=form.cleaned_data["kind"],
            comment=form.cleaned_data["comment"],
        )
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, FEEDBACK_DONE[form.cleaned_data["kind"]])
    return redirect(article)


@require_POST
def article_flags_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get_for_user(pk=pk, user=request.user)
    form = FlagsResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect(article)
    try:
        services.flags_resolve(
            article=article, user=request.user, comment=form.cleaned_data["comment"]
        )
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, "Flags resolved.")
    return redirect(article)


@require_POST
def article_attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get_for_user(pk=pk, user=request.user)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, f"Upload refused: {form_errors_text(form)}")
        return HttpResponseRedirect(edit_url(article, "attachments"))
    try:
        attachment = services.attachment_add(
            article=article, user=request.user, uploaded_file=form.cleaned_data["file"]
        )
    except DomainError as error:
        messages.error(request, f"Upload refused: {error_text(error)}")
    else:
        url = reverse("knowledge:attachment_download", kwargs={"pk": attachment.pk})
        messages.success(
            request,
            f"Uploaded {attachment.original_name}. To show it in the text, write "
            f"![{attachment.original_name}]({url})",
        )
    return HttpResponseRedirect(edit_url(article, "attachments"))


@require_GET
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    """Signed-in people who may read the article; only plain raster images are shown inline."""
    attachment = get_object_or_404(ArticleAttachment, pk=pk)
    selectors.article_get_for_user(pk=attachment.article_id, user=request.user)
    inline = services.attachment_is_inline(attachment)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=not inline,
        filename=attachment.original_name,
        content_type=attachment.content_type if inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_POST
def article_video_add(request: HttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get_for_user(pk=pk, user=request.user)
    form = VideoLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Video link refused: {form_errors_text(form)}")
        return HttpResponseRedirect(edit_url(article, "attachments"))
    try:
        services.video_link_add(
            article=article,
            user=request.user,
            url=form.cleaned_data["url"],
            title=form.cleaned_data["title"],
        )
    except DomainError as error:
        messages.error(request, f"Video link refused: {error_text(error)}")
    else:
        messages.success(request, f"Linked the video “{form.cleaned_data['title']}”.")
    return HttpResponseRedirect(edit_url(article, "attachments"))
