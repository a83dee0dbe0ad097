"""A postmortem as one markdown document, for a download or a wiki.

YAML-style front matter first (values JSON-quoted, which YAML reads, so a title cannot break
out of its line), then the template's sections under their headings, the findings with their
knowledge outcome, the action items and the incident's timeline.

`manage.py import_markdown` reads the document back (postmortems.transfer). With
`complete=True` the front matter also carries every other incident field the importer takes
(times, status, visibility, category, external reference, commander, responders, summary), and
action items name their owners by username, so that an import recreates the same incident. A
restricted incident's export always says so, so that no import makes it internal.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.conf import settings

from knowledge.models import Article
from knowledge.permissions import can_view as can_view_article
from postmortems.models import (
    ActionItem,
    Finding,
    Incident,
    Postmortem,
    TemplateSection,
    TimelineEntry,
)


def _quoted(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _complete_fields(incident: Incident) -> list[str]:
    responders = sorted(person.get_username() for person in incident.responders.all())
    category = incident.root_cause_category.slug if incident.root_cause_category else ""
    commander = incident.commander.get_username() if incident.commander else ""
    return [
        f"detected: {_quoted(_time(incident.detected_at))}",
        f"mitigated: {_quoted(_time(incident.mitigated_at))}",
        f"status: {incident.status}",
        f"visibility: {incident.visibility}",
        f"root_cause_category: {_quoted(category)}",
        f"external_source: {_quoted(incident.external_source)}",
        f"external_id: {_quoted(incident.external_id)}",
        f"external_url: {_quoted(incident.external_url)}",
        f"commander: {_quoted(commander)}",
        f"responders: {_quoted(responders)}",
        f"summary: {_quoted(incident.summary)}",
    ]


def _front_matter(postmortem: Postmortem, incident: Incident, *, complete: bool) -> list[str]:
    services = sorted(service.slug for service in incident.services.all())
    tags = sorted(tag.name for tag in incident.tags.all())
    extra = _complete_fields(incident) if complete else []
    if not complete and incident.is_restricted:
        extra = [f"visibility: {incident.visibility}"]
    return [
        "---",
        f"title: {_quoted(incident.title)}",
        f"incident: {incident.pk}",
        f"severity: {incident.severity}",
        f"team: {_quoted(incident.team.slug)}",
        f"services: {_quoted(services)}",
        f"tags: {_quoted(tags)}",
        f"started: {_quoted(_time(incident.started_at))}",
        f"resolved: {_quoted(_time(incident.resolved_at))}",
        f"state: {postmortem.state}",
        f"template: {_quoted(f'{postmortem.template.slug} v{postmortem.template.version}')}",
        f"url: {_quoted(settings.SITE_URL + postmortem.get_absolute_url())}",
        *extra,
        "---",
    ]


def _article_line(article: Article | None, user: Any) -> str:
    if article is None:
        return ""
    if user is not None and not can_view_article(user, article):
        return "an article you cannot see"
    return f"[{article.title}]({settings.SITE_URL}{article.get_absolute_url()})"


def _finding_lines(findings: list[Finding], user: Any) -> list[str]:
    lines = ["## Findings", ""]
    if not findings:
        return [*lines, "_No findings recorded._", ""]
    for number, finding in enumerate(findings, start=1):
        lines.append(f"{number}. **{finding.get_kind_display()}**: {_one_line(finding.text)}")
        if finding.outcome == Finding.Outcome.LINKED:
            lines.append(f"   - Knowledge: linked to {_article_line(finding.article, user)}")
        elif finding.outcome == Finding.Outcome.SPAWNED:
            lines.append(f"   - Knowledge: spawned {_article_line(finding.article, user)}")
        elif finding.outcome == Finding.Outcome.NOTHING_TO_CAPTURE:
            lines.append(
                f"   - Knowledge: nothing to capture — {_one_line(finding.no_article_reason)}"
            )
        else:
            lines.append("   - Knowledge: not decided yet")
    return [*lines, ""]


def _owner_name(item: ActionItem, *, by_username: bool) -> str:
    if item.owner is None:
        return "—"
    if by_username:
        return item.owner.get_username()
    return item.owner.get_full_name() or item.owner.username


def _action_lines(items: list[ActionItem], *, by_username: bool) -> list[str]:
    lines = ["## Action items", ""]
    if not items:
        return [*lines, "_No action items._", ""]
    lines += ["| Priority | Action | Owner | Due | Status |", "| --- | --- | --- | --- | --- |"]
    for item in items:
        owner = _owner_name(item, by_username=by_username)
        title = _one_line(item.title).replace("|", "\\|")
        if item.tracker_url:
            title = f"[{title}]({item.tracker_url})"
        lines.append(
            f"| {item.priority.upper()} | {title} | {owner} | {item.due_date:%Y-%m-%d} | "
            f"{item.get_status_display()} |"
        )
    return [*lines, ""]


def _timeline_lines(entries: list[TimelineEntry]) -> list[str]:
    lines = ["## Timeline (UTC)", ""]
    if not entries:
        return [*lines, "_No timeline entries._", ""]
    for entry in entries:
        lines.append(
            f"- **{entry.occurred_at:%Y-%m-%d %H:%M}** ({entry.get_kind_display()}) "
            f"{_one_line(entry.text)}"
        )
    return [*lines, ""]


def postmortem_to_markdown(
    *, postmortem: Postmortem, user: Any = None, complete: bool = False
) -> str:
    """The postmortem as markdown. With `user`, articles they may not see are not named; with
    `complete`, every incident field an import needs is in the front matter.

    The caller has already checked that the user may see the postmortem (the selectors do).
    """
    related = ("services", "tags", "responders") if complete else ("services", "tags")
    incident = (
        Incident.objects.select_related("team", "commander", "root_cause_category")
        .prefetch_related(*related)
        .get(pk=postmortem.incident_id)
    )
    sections = TemplateSection.objects.filter(template_id=postmortem.template_id).order_by(
        "position", "id"
    )
    findings = list(
        Finding.objects.filter(postmortem=postmortem)
        .select_related("article")
        .order_by("position", "id")
    )
    items = list(
        ActionItem.objects.filter(postmortem=postmortem)
        .select_related("owner")
        .order_by("due_date", "id")
    )
    entries = list(
        TimelineEntry.objects.filter(incident=incident).order_by("occurred_at", "position", "id")
    )
    lines = _front_matter(postmortem, incident, complete=complete)
    lines += ["", f"# Postmortem: {_one_line(incident.title)}", ""]
    for section in sections:
        text = (postmortem.sections.get(section.key) or "").strip()
        lines += [f"## {section.heading}", "", text or "_Not written._", ""]
    lines += _finding_lines(findings, user)
    lines += _action_lines(items, by_username=complete)
    lines += _timeline_lines(entries)
    return "\n".join(lines).rstrip() + "\n"
