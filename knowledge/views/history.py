"""An article's revisions and events, the diff between two revisions, restoring one."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from kbsite.errors import DomainError
from knowledge import selectors, services
from knowledge.forms import DiffForm, RevertForm
from knowledge.permissions import can_edit
from knowledge.views.common import error_text, form_errors_text, form_status, page_render


@require_GET
def article_history(request: HttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get_for_user(pk=pk, user=request.user)
    revisions = list(selectors.article_revisions(article=article).defer("snapshot"))
    events = list(selectors.article_events(article=article))
    numbers = [revision.number for revision in revisions]
    initial = {"from": numbers[1], "to": numbers[0]} if len(numbers) > 1 else {}
    context = {
        "article": article,
        "revisions": revisions,
        "events": events,
        "diff_form": DiffForm(initial=initial, numbers=numbers),
        "can_edit": can_edit(request.user, article),
    }
    return page_render(request, "knowledge/article_history.html", context)


@require_GET
def article_diff(request: HttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get_for_user(pk=pk, user=request.user)
    revisions = {
        revision.number: revision
        for revision in selectors.article_revisions(article=article).defer("snapshot")
    }
    form = DiffForm(request.GET, numbers=sorted(revisions, reverse=True))
    diffs: list[Any] = []
    from_revision = to_revision = None
    if form.is_valid():
        from_number, to_number = form.cleaned_data["from"], form.cleaned_data["to"]
        diffs = selectors.revision_pair_diff(
            article=article, from_number=from_number, to_number=to_number
        )
        from_revision, to_revision = revisions[from_number], revisions[to_number]
    context = {
        "article": article,
        "form": form,
        "from_revision": from_revision,
        "to_revision": to_revision,
        "changed": [
            {"label": d.label, "html": mark_safe(d.html)}  # noqa: S308 - escaped by knowledge.diff
            for d in diffs
            if d.changed
        ],
        "unchanged": [d.label for d in diffs if not d.changed],
    }
    return page_render(request, "knowledge/article_diff.html", context, status=form_status(form))


@require_POST
def article_revert(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    article = selectors.article_get_for_user(pk=pk, user=request.user)
    history_url = reverse("knowledge:article_history", kwargs={"pk": article.pk})
    form = RevertForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Restore refused: {form_errors_text(form)}")
        return HttpResponseRedirect(history_url)
    try:
        restored = services.article_revert(
            article=article,
            user=request.user,
            revision_number=number,
            expected_version=form.cleaned_data["version"],
            change_note=form.cleaned_data["change_note"] or f"Restored revision {number}",
        )
    except services.ArticleStaleVersion:
        messages.error(
            request,
            "Someone changed this article after you opened its history. Check the latest "
            "revision and try again.",
        )
    except DomainError as error:
        messages.error(request, f"Restore refused: {error_text(error)}")
    else:
        messages.success(
            request, f"Restored revision {number} as a new revision {restored.version}."
        )
    return HttpResponseRedirect(history_url)
