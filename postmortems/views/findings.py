"""Findings and their knowledge outcome, the inline article search, and the articles used
during the response."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from kbsite.errors import DomainError
from knowledge.search import SearchFilters, article_search
from postmortems import selectors, services
from postmortems.forms import (
    ArticleSearchForm,
    ArticleUseForm,
    FindingEditForm,
    FindingForm,
    MoveForm,
)
from postmortems.models import Finding
from postmortems.views.common import (
    add_service_error,
    article_or_none,
    not_found,
    postmortem_for_edit,
    refuse,
    status_of,
    swapped,
)
from postmortems.views.editor import render_editor
from postmortems.views.incidents import render_incident

INLINE_HITS = 8


def _editor_url(postmortem_pk: int, anchor: str = "findings") -> str:
    return reverse("postmortems:postmortem_edit", kwargs={"pk": postmortem_pk}) + f"#{anchor}"


def _outcome_arguments(form: FindingForm) -> dict[str, Any] | None:
    """The service's outcome arguments, or None when the chosen article does not exist."""
    data = form.cleaned_data
    outcome = data["outcome"]
    if outcome == "link":
        article = article_or_none(data["article_id"])
        if article is None:
            form.add_error("article", "That article was not found.")
            return None
        return {"article": article}
    if outcome == "spawn":
        return {"spawn_article": True}
    if outcome == "nothing":
        return {"no_article_reason": data["no_article_reason"]}
    return {}


def _outcome_message(finding: Finding) -> str:
    if finding.outcome == Finding.Outcome.SPAWNED and finding.article is not None:
        return f"Finding recorded, and a draft article “{finding.article.title}” spawned from it."
    if finding.outcome == Finding.Outcome.LINKED and finding.article is not None:
        return f"Finding recorded and linked to “{finding.article.title}”."
    return "Finding recorded."


@require_POST
def finding_add(request: HttpRequest, pk: int) -> HttpResponse:
    postmortem = postmortem_for_edit(request, pk)
    form = FindingForm(request.POST)
    if form.is_valid():
        outcome = _outcome_arguments(form)
        if outcome is not None:
            try:
                finding = services.finding_add(
                    postmortem=postmortem,
                    user=request.user,
                    text=form.cleaned_data["text"],
                    kind=form.cleaned_data["kind"],
                    **outcome,
                )
            except DomainError as error:
                add_service_error(form, error)
                return render_editor(
                    request, postmortem, finding_form=form, status=status_of(error)
                )
            messages.success(request, _outcome_message(finding))
            return redirect(_editor_url(postmortem.pk, f"finding-{finding.pk}"))
    return render_editor(request, postmortem, finding_form=form, status=400)


@require_POST
def finding_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """One form, four buttons: save, delete, move up, move down."""
    row = Finding.objects.filter(pk=pk).values_list("postmortem_id", flat=True).first()
    if row is None:
        raise not_found()
    postmortem = postmortem_for_edit(request, row)
    finding = Finding.objects.select_related("article").get(pk=pk)
    finding.postmortem = postmortem
    move = MoveForm(request.POST)
    action = move.cleaned_data["action"] if move.is_valid() else "save"
    try:
        if action == "delete":
            services.finding_delete(finding=finding, user=request.user)
            messages.success(request, "Finding removed.")
            return redirect(_editor_url(postmortem.pk))
        if action in ("up", "down"):
            ids = list(
                Finding.objects.filter(postmortem=postmortem)
                .order_by("position", "id")
                .values_list("pk", flat=True)
            )
            order = swapped(ids, finding.pk, up=action == "up")
            if order is not None:
                services.findings_reorder(
                    postmortem=postmortem, user=request.user, finding_ids=order
                )
            return redirect(_editor_url(postmortem.pk, f"finding-{finding.pk}"))
    except DomainError as error:
        refuse(request, error)
        return redirect(_editor_url(postmortem.pk))
    form = FindingEditForm(request.POST, prefix=f"finding-{pk}")
    if form.is_valid():
        outcome = _outcome_arguments(form)
        if outcome is not None:
            data = form.cleaned_data
            try:
                saved = services.finding_update(
                    finding=finding,
                    user=request.user,
                    text=data["text"] or None,
                    kind=data["kind"] or None,
                    **outcome,
                )
            except DomainError as error:
                add_service_error(form, error)
                return render_editor(
                    request, postmortem, bound={f"finding-{pk}": form}, status=status_of(error)
                )
            messages.success(request, _outcome_message(saved).replace("recorded", "saved"))
            return redirect(_editor_url(postmortem.pk, f"finding-{pk}"))
    return render_editor(request, postmortem, bound={f"finding-{pk}": form}, status=400)


@require_GET
def article_search_inline(request: HttpRequest) -> HttpResponse:
    """htmx: a few articles matching ?q=, each with a button that submits the surrounding
    form with its id (link it to a finding, or record its use)."""
    form = ArticleSearchForm(request.GET)
    form.is_valid()  # Each part stands alone: an invalid one is ignored.
    query = form.cleaned_data.get("q", "")
    purpose = form.cleaned_data.get("purpose") or "link"
    page = None
    if query.strip():
        page = article_search(
            query=query,
            user=request.user,
            filters=SearchFilters(),
            limit=INLINE_HITS,
            record_gap=False,
        )
    context = {
        "query": query,
        "page": page,
        "button": "Link" if purpose == "link" else "Record use",
        "prefix": form.cleaned_data.get("form_prefix", ""),
    }
    return render(request, "postmortems/_article_search.html", context)


@require_POST
def article_use_add(request: HttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(pk=pk, user=request.user)
    form = ArticleUseForm(request.POST)
    if form.is_valid():
        article = article_or_none(form.cleaned_data["article_id"])
        if article is None:
            form.add_error("article", "That article was not found.")
        else:
            try:
                use = services.article_use_record(
                    incident=incident,
                    user=request.user,
                    article=article,
                    helped=form.cleaned_data["helped_value"],
                    minutes_saved=form.cleaned_data["minutes_saved"],
                    note=form.cleaned_data["note"],
                )
            except DomainError as error:
                add_service_error(form, error)
                return render_incident(request, incident, use_form=form, status=status_of(error))
            messages.success(request, f"Recorded that “{use.article.title}” was used.")
            return redirect(incident.get_absolute_url() + "#article-uses")
    return render_incident(request, incident, use_form=form, status=400)
