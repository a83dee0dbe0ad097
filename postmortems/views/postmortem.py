"""The postmortem: start it, read it (reviewers' view), comment per section, move it through
review and publication, and export it as markdown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from kbsite.errors import DomainError
from kbsite.roles import Role, user_has_role
from postmortems import selectors, services
from postmortems.forms import PostmortemStartForm, SectionCommentForm, TransitionForm
from postmortems.markdown_export import postmortem_to_markdown
from postmortems.models import Finding, Postmortem, PostmortemState
from postmortems.views.common import (
    add_service_error,
    page_render,
    postmortem_for,
    refuse,
    status_of,
)


@require_POST
def postmortem_start(request: HttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(pk=pk, user=request.user)
    form = PostmortemStartForm(request.POST)
    if not form.is_valid():
        refuse(request, "Choose a template from the list.")
        return redirect(incident)
    try:
        postmortem = services.postmortem_start(
            incident=incident, user=request.user, template=form.cleaned_data["template"]
        )
    except DomainError as error:
        refuse(request, error)
        return redirect(incident)
    messages.success(request, f"Postmortem started from the “{postmortem.template.name}” template.")
    return redirect("postmortems:postmortem_edit", pk=postmortem.pk)


# ---------- The read view ----------


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    style: str = ""


SUBMIT = Transition("submit", "Submit for review", "primary")
REQUEST_CHANGES = Transition("request-changes", "Request changes")
APPROVE = Transition("approve", "Approve", "primary")
PUBLISH = Transition("publish", "Publish", "primary")
DONE = {
    "submit": "Submitted for review. Reviewers can now approve it or ask for changes.",
    "request-changes": "Sent back to its authors with your comment.",
    "approve": "Approval recorded.",
    "publish": "Published.",
}


def allowed_transitions(user: Any, data: selectors.PostmortemPageData) -> list[Transition]:
    state = data.postmortem.state
    allowed = []
    if data.can_edit and state in (PostmortemState.DRAFT, PostmortemState.CHANGES_REQUESTED):
        allowed.append(SUBMIT)
    if data.can_review and state == PostmortemState.IN_REVIEW:
        allowed.append(APPROVE)
    if data.can_review and state in (PostmortemState.IN_REVIEW, PostmortemState.APPROVED):
        allowed.append(REQUEST_CHANGES)
    if state == PostmortemState.APPROVED and (data.can_edit or user_has_role(user, Role.REVIEWER)):
        allowed.append(PUBLISH)
    return allowed


def can_comment(user: Any, data: selectors.PostmortemPageData) -> bool:
    return data.can_edit or user_has_role(user, Role.REVIEWER)


@require_GET
def postmortem_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_detail(request, postmortem_for(request, pk))


def render_detail(
    request: HttpRequest,
    postmortem: Postmortem,
    *,
    refusal: DomainError | None = None,
    transition_form: TransitionForm | None = None,
    comment_form: SectionCommentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    data = selectors.postmortem_page_data(postmortem=postmortem, user=request.user)
    commenting = can_comment(request.user, data)
    sections = [
        {
            "view": section,
            # Sanitized by knowledge.markdown when the postmortem was saved.
            "html": mark_safe(section.html),  # noqa: S308
            "comment_form": (
                comment_form
                if comment_form is not None and comment_form.data.get("section_key") == section.key
                else SectionCommentForm(initial={"section_key": section.key})
            )
            if commenting
            else None,
        }
        for section in data.sections
    ]
    context = {
        "postmortem": postmortem,
        "incident": data.incident,
        "data": data,
        "sections": sections,
        "spawned": [
            finding
            for finding in data.findings
            if finding.outcome == Finding.Outcome.SPAWNED and finding.visible_article  # type: ignore[attr-defined]
        ],
        "transitions": allowed_transitions(request.user, data),
        "transition_form": transition_form or TransitionForm(),
        "refusal": refusal,
    }
    return page_render(request, "postmortems/postmortem_detail.html", context, status=status)


@require_POST
def postmortem_transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    postmortem = postmortem_for(request, pk)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        return render_detail(request, postmortem, transition_form=form, status=400)
    values = form.cleaned_data
    user = request.user
    expected = values["version"]
    try:
        if action == "submit":
            services.postmortem_submit(postmortem=postmortem, user=user, expected_version=expected)
        elif action == "request-changes":
            services.postmortem_request_changes(
                postmortem=postmortem,
                user=user,
                comment=values["comment"],
                expected_version=expected,
            )
        elif action == "approve":
            services.postmortem_approve(
                postmortem=postmortem,
                user=user,
                comment=values["comment"],
                expected_version=expected,
            )
        else:
            services.postmortem_publish(
                postmortem=postmortem,
                user=user,
                acknowledge_warnings=values["acknowledge_warnings"],
                expected_version=expected,
            )
    except DomainError as error:
        if error.field == "comment":
            form.add_error("comment", error.message)
        fresh = postmortem_for(request, pk)
        return render_detail(
            request, fresh, refusal=error, transition_form=form, status=status_of(error)
        )
    messages.success(request, DONE[action])
    return redirect("postmortems:postmortem_detail", pk=postmortem.pk)


@require_POST
def section_comment_add(request: HttpRequest, pk: int) -> HttpResponse:
    postmortem = postmortem_for(request, pk)
    form = SectionCommentForm(request.POST)
    if form.is_valid():
        try:
            services.section_comment_add(
                postmortem=postmortem,
                user=request.user,
                section_key=form.cleaned_data["section_key"],
                text=form.cleaned_data["text"],
            )
        except DomainError as error:
            add_service_error(form, error)
            return render_detail(request, postmortem, comment_form=form, status=status_of(error))
        messages.success(request, "Comment added.")
        url = reverse("postmortems:postmortem_detail", kwargs={"pk": postmortem.pk})
        return redirect(f"{url}#section-{form.cleaned_data['section_key']}")
    return render_detail(request, postmortem, comment_form=form, status=400)


@require_GET
def postmortem_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The postmortem as a markdown file (404, like every page, for those who may not see it)."""
    postmortem = postmortem_for(request, pk)
    text = postmortem_to_markdown(postmortem=postmortem, user=request.user)
    name = slugify(postmortem.incident.title)[:60] or "postmortem"
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="incident-{postmortem.incident_id}-{name}.md"'
    )
    return response
