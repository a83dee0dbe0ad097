"""The postmortem editor: the template's sections with live preview and blameless lint,
autosave, a save that never loses text, and the findings and action items panels."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from kbsite.errors import DomainError, StaleVersion
from kbsite.selectors import people_for_suggestions
from knowledge.markdown import render_markdown
from postmortems import selectors, services
from postmortems.blameless import LintWarning, lint_text
from postmortems.forms import (
    ActionItemForm,
    AutosaveForm,
    FindingEditForm,
    FindingForm,
    LintForm,
    SectionsForm,
)
from postmortems.models import Postmortem, PostmortemRevision, TemplateSection
from postmortems.services.common import MAX_SECTION_LENGTH
from postmortems.views.common import (
    add_service_error,
    display_name,
    form_errors_text,
    page_render,
    postmortem_for,
    postmortem_for_edit,
)

CONTEXT_CHARS = 40


@require_http_methods(["GET", "POST"])
def postmortem_edit(request: HttpRequest, pk: int) -> HttpResponse:
    postmortem = postmortem_for_edit(request, pk)
    if request.method == "GET":
        return render_editor(request, postmortem, restore=request.GET.get("restore") == "draft")
    sections = _template_sections(postmortem)
    form = SectionsForm(request.POST, sections=sections, lint_url=_lint_url(postmortem))
    if not form.is_valid():
        return render_editor(request, postmortem, sections_form=form, status=400)
    try:
        saved = services.postmortem_save_sections(
            postmortem=postmortem,
            user=request.user,
            sections=form.sections(),
            expected_version=form.cleaned_data["version"],
            change_note=form.cleaned_data["change_note"],
        )
    except StaleVersion as error:
        current = error.current or postmortem_for(request, pk)
        data = request.POST.copy()
        data["version"] = str(current.version)
        kept = SectionsForm(data, sections=sections, lint_url=_lint_url(postmortem))
        kept.is_valid()
        conflict = {
            "message": f"{_last_editor(current)} saved version {current.version} while you "
            f"were editing. {error.message} Your text is still in the form, with their saved "
            "text beside each section that differs: keep what you need and save again.",
            "saved": current.sections,
        }
        return render_editor(request, current, sections_form=kept, conflict=conflict, status=409)
    except DomainError as error:
        add_service_error(form, error)
        return render_editor(request, postmortem, sections_form=form, status=error.status_code)
    messages.success(request, f"Saved as version {saved.version}.", extra_tags="draft-saved")
    return redirect("postmortems:postmortem_edit", pk=saved.pk)


def _lint_url(postmortem: Postmortem) -> str:
    return reverse("postmortems:postmortem_lint", kwargs={"pk": postmortem.pk})


def _template_sections(postmortem: Postmortem) -> list[TemplateSection]:
    return list(postmortem.template.sections.order_by("position", "id"))


def _last_editor(postmortem: Postmortem) -> str:
    revision = (
        PostmortemRevision.objects.filter(postmortem=postmortem)
        .select_related("editor")
        .order_by("-number")
        .first()
    )
    return display_name(revision.editor if revision else None)


def render_editor(
    request: HttpRequest,
    postmortem: Postmortem,
    *,
    sections_form: SectionsForm | None = None,
    finding_form: FindingForm | None = None,
    action_form: ActionItemForm | None = None,
    bound: dict[str, Any] | None = None,
    conflict: dict[str, Any] | None = None,
    restore: bool = False,
    status: int = 200,
) -> HttpResponse:
    """The editor page. `bound` maps "finding-<pk>" / "item-<pk>" to a refused edit form."""
    data = selectors.postmortem_page_data(postmortem=postmortem, user=request.user)
    draft = data.draft
    has_newer_draft = draft is not None and any(
        text != postmortem.sections.get(key, "") for key, text in draft.sections.items()
    )
    if sections_form is None:
        initial: dict[str, Any] = {view.key: view.text for view in data.sections}
        initial["version"] = postmortem.version
        if restore and draft is not None:
            initial.update(draft.sections)
            initial["version"] = draft.based_on_version
        sections_form = SectionsForm(
            initial=initial, sections=data.template_sections, lint_url=_lint_url(postmortem)
        )
    bound = bound or {}
    context = {
        "postmortem": postmortem,
        "incident": data.incident,
        "data": data,
        "form": sections_form,
        "section_rows": _section_rows(data, sections_form, conflict),
        "conflict": conflict,
        "offer_restore": has_newer_draft and not restore and sections_form.is_bound is False,
        "draft": draft,
        "restored": restore and draft is not None,
        "finding_form": finding_form or FindingForm(),
        "finding_rows": _finding_rows(data.findings, bound),
        "action_form": action_form or ActionItemForm(),
        "action_rows": _action_rows(data.action_items, bound),
        "people": people_for_suggestions(),
    }
    return page_render(request, "postmortems/postmortem_edit.html", context, status=status)


def _section_rows(
    data: selectors.PostmortemPageData, form: SectionsForm, conflict: dict[str, Any] | None
) -> list[dict[str, Any]]:
    rows = []
    for view in data.sections:
        field = form[view.key]
        text = field.value() or ""
        unchanged = text == view.text
        saved_text = (conflict or {}).get("saved", {}).get(view.key, "")
        rows.append(
            {
                "view": view,
                "field": field,
                "preview": mark_safe(view.html) if unchanged else preview_html(text),  # noqa: S308
                "warnings": warning_rows(text, view.warnings if unchanged else None),
                "saved_text": saved_text if conflict and saved_text != text else None,
            }
        )
    return rows


def _finding_rows(findings: list[Any], bound: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for index, finding in enumerate(findings):
        form = bound.get(f"finding-{finding.pk}") or FindingEditForm(
            initial={
                "text": finding.text,
                "kind": finding.kind,
                "no_article_reason": finding.no_article_reason,
            },
            prefix=f"finding-{finding.pk}",
        )
        rows.append(
            {
                "finding": finding,
                "form": form,
                "prefix": f"finding-{finding.pk}",
                "can_up": index > 0,
                "can_down": index + 1 < len(findings),
            }
        )
    return rows


def _action_rows(items: list[Any], bound: dict[str, Any]) -> list[dict[str, Any]]:
    today = timezone.localdate()
    return [
        {
            "item": item,
            "overdue": item.due_date < today and item.status in selectors.OPEN_ACTION_STATUSES,
            "form": bound.get(f"item-{item.pk}")
            or ActionItemForm(
                initial={
                    "title": item.title,
                    "owner": item.owner.username if item.owner else None,
                    "priority": item.priority,
                    "due_date": item.due_date,
                    "status": item.status,
                    "status_reason": item.status_reason,
                    "tracker_url": item.tracker_url,
                    "version": item.version,
                },
                prefix=f"item-{item.pk}",
            ),
        }
        for item in items
    ]


# ---------- Preview, lint and autosave (htmx and fetch) ----------


def preview_html(text: str) -> SafeString:
    if len(text) > MAX_SECTION_LENGTH:
        return mark_safe('<p class="errorlist">Too long to preview.</p>')
    html = render_markdown(text)
    return mark_safe(html)  # noqa: S308 - sanitized by knowledge.markdown


def warning_rows(text: str, warnings: list[LintWarning] | None = None) -> list[dict[str, Any]]:
    """Each warning with the phrase in its context, ready to highlight with <mark>."""
    found = lint_text(text) if warnings is None else warnings
    rows = []
    for warning in found:
        start = max(0, warning.start - CONTEXT_CHARS)
        end = min(len(text), warning.end + CONTEXT_CHARS)
        rows.append(
            {
                "before": ("…" if start > 0 else "") + text[start : warning.start],
                "phrase": text[warning.start : warning.end] or warning.phrase,
                "after": text[warning.end : end] + ("…" if end < len(text) else ""),
                "message": warning.message,
                "suggestion": warning.suggestion,
                "rule": warning.rule,
            }
        )
    return rows


@require_POST
def postmortem_lint(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the sanitized preview of one section and its blameless-language warnings."""
    postmortem = postmortem_for(request, pk)
    form = LintForm(request.POST)
    keys = {section.key for section in _template_sections(postmortem)}
    if not form.is_valid() or form.cleaned_data["section"] not in keys:
        return HttpResponse('<p class="errorlist">Unknown section.</p>', status=400)
    key = form.cleaned_data["section"]
    text = request.POST.get(key, request.POST.get("text", ""))
    if len(text) > MAX_SECTION_LENGTH:
        return HttpResponse(
            f'<p class="errorlist">This section is over {MAX_SECTION_LENGTH:,} characters: '
            "shorten it to save.</p>"
        )
    context = {"key": key, "preview": preview_html(text), "warnings": warning_rows(text)}
    return render(request, "postmortems/_lint.html", context)


@require_POST
def postmortem_autosave(request: HttpRequest, pk: int) -> HttpResponse:
    """Keep what the user typed on the server (one draft per person), so that nothing is lost."""
    postmortem = postmortem_for_edit(request, pk)
    form = AutosaveForm(request.POST, sections=_template_sections(postmortem))
    if not form.is_valid():
        message = f"Not autosaved: {form_errors_text(form)}"
        return HttpResponse(
            render_to_string("postmortems/_autosave.html", {"error": message}), status=400
        )
    try:
        draft = services.postmortem_autosave(
            postmortem=postmortem,
            user=request.user,
            sections=form.sections(),
            based_on_version=form.based_on_version(),
        )
    except DomainError as error:
        message = f"Not autosaved: {error.message}"
        return HttpResponse(
            render_to_string("postmortems/_autosave.html", {"error": message}),
            status=error.status_code,
        )
    return HttpResponse(render_to_string("postmortems/_autosave.html", {"draft": draft}))


@require_POST
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the sanitized HTML of a markdown field (the incident summary), as it will show."""
    text = request.POST.get("text", request.POST.get("summary", ""))
    if not text.strip():
        return HttpResponse('<p class="muted">Nothing to preview yet.</p>')
    return HttpResponse(preview_html(text))
