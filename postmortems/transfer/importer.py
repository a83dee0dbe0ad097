"""Import incidents with their postmortems (and, dispatched by `kind: article`, knowledge
articles) from markdown files. Every write goes through the postmortems services, one
transaction per file: a file with any error creates nothing. The format is described in
docs/import-format.md.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from kbsite.errors import DomainError, InvalidInput
from knowledge.models import Article
from knowledge.permissions import can_view as can_view_article
from knowledge.transfer.documents import (
    Document,
    decode_markdown,
    split_front_matter,
    split_sections,
)
from knowledge.transfer.importing import article_import_file
from knowledge.transfer.report import FileResult, ImportReport, Outcome
from knowledge.transfer.runs import file_transaction
from knowledge.transfer.sources import SourceFile
from postmortems import services
from postmortems.models import (
    ActionItem,
    Incident,
    PostmortemState,
    PostmortemTemplate,
)
from postmortems.permissions import can_view_incident
from postmortems.transfer.parts import FindingSpec, ItemSpec
from postmortems.transfer.reading import (
    IncidentFields,
    SectionPlan,
    UnknownHeadings,
    counted,
    incident_fields_read,
    plan_sections,
)
from postmortems.transfer.resolving import (
    category_named,
    check_may_write,
    owner_named,
    people_named,
    services_named,
    team_named,
    template_for,
)

# Incidents imported without an external id are keyed by the file's content under this source.
CONTENT_HASH_SOURCE = "markdown-import"
ARTICLE_PATH = re.compile(r"/knowledge/\d+-(?P<slug>[a-z0-9-]+)/?$")
WONT_DO_REASON = "Marked won't do in the imported file."
# The states a file may ask for, and the state the import leaves the postmortem in: an import
# never approves or publishes, because that needs a reviewer's decision here.
IMPORTED_STATE = {
    PostmortemState.DRAFT: PostmortemState.DRAFT,
    PostmortemState.CHANGES_REQUESTED: PostmortemState.DRAFT,
    PostmortemState.IN_REVIEW: PostmortemState.IN_REVIEW,
    PostmortemState.APPROVED: PostmortemState.IN_REVIEW,
    PostmortemState.PUBLISHED: PostmortemState.IN_REVIEW,
}


def external_key(fields: IncidentFields, data: bytes) -> tuple[str, str]:
    """(source, id) that says whether a file was imported already."""
    if fields.external_id:
        return fields.external_source, fields.external_id
    return CONTENT_HASH_SOURCE, "sha256:" + hashlib.sha256(data).hexdigest()


# ---------- Writes, through the services ----------


def _finding_article(spec: FindingSpec, user: Any, number: int, result: FileResult) -> Any:
    match = ARTICLE_PATH.search(urlsplit(spec.article_url).path) if spec.article_url else None
    article = Article.objects.filter(slug=match.group("slug")).first() if match else None
    if article is None or not can_view_article(user, article):
        result.warnings.append(
            f"Finding {number}: the article “{spec.article_title}” is not here; the finding "
            "was imported without a knowledge outcome."
        )
        return None
    if spec.outcome == "spawned":
        result.warnings.append(
            f"Finding {number}: it spawned “{article.title}” where it came from; here it is "
            "linked to that article."
        )
    return article


def _add_findings(postmortem: Any, specs: list[FindingSpec], user: Any, result: FileResult) -> None:
    for number, spec in enumerate(specs, start=1):
        article = None
        if spec.outcome in ("linked", "spawned"):
            article = _finding_article(spec, user, number, result)
        elif spec.outcome == "hidden":
            result.warnings.append(
                f"Finding {number}: its article was not named in the file; the finding was "
                "imported without a knowledge outcome."
            )
        services.finding_add(
            postmortem=postmortem,
            user=user,
            text=spec.text,
            kind=spec.kind,
            article=article,
            no_article_reason=spec.no_article_reason,
        )


def _add_items(postmortem: Any, specs: list[ItemSpec], user: Any, result: FileResult) -> None:
    for spec in specs:
        item = services.action_item_add(
            postmortem=postmortem,
            user=user,
            title=spec.title,
            owner=owner_named(spec.owner, result, title=spec.title),
            due_date=spec.due_date,
            priority=spec.priority,
            tracker_url=spec.tracker_url,
        )
        if spec.status != ActionItem.Status.OPEN:
            reason = WONT_DO_REASON if spec.status == ActionItem.Status.WONT_DO else ""
            services.action_item_update(
                item=item, user=user, status=spec.status, status_reason=reason
            )


def _write(
    *,
    user: Any,
    fields: IncidentFields,
    plan: SectionPlan,
    template: PostmortemTemplate,
    resolved: dict[str, Any],
    name: str,
    result: FileResult,
) -> Incident:
    incident = services.incident_create(
        user=user,
        title=fields.title,
        severity=fields.severity,
        team=resolved["team"],
        started_at=fields.started_at,
        summary=fields.summary,
        services=resolved["services"],
        tag_names=fields.tags,
        status=fields.status,
        visibility=fields.visibility,
        root_cause_category=resolved["category"],
        commander=resolved["commander"],
        responders=resolved["responders"],
        external_source=resolved["external_source"],
        external_id=resolved["external_id"],
        external_url=fields.external_url,
        **fields.times,
    )
    postmortem = services.postmortem_start(incident=incident, user=user, template=template)
    if plan.sections:
        postmortem = services.postmortem_save_sections(
            postmortem=postmortem,
            user=user,
            sections=plan.sections,
            expected_version=postmortem.version,
            change_note=f"Imported from {name}"[:500],
        )
    for entry in plan.entries:
        services.timeline_add(
            incident=incident,
            user=user,
            occurred_at=entry.occurred_at,
            kind=entry.kind,
            text=entry.text,
        )
    _add_findings(postmortem, plan.findings, user, result)
    _add_items(postmortem, plan.items, user, result)
    target = IMPORTED_STATE[PostmortemState(fields.state)]
    if fields.state != target:
        result.warnings.append(
            f"The file says {fields.state.replace('_', ' ')}; imports arrive as "
            f"{target.replace('_', ' ')}, because approving and publishing take a reviewer here."
        )
    if target == PostmortemState.IN_REVIEW:
        services.postmortem_submit(postmortem=postmortem, user=user)
    return incident


def postmortem_import_file(
    *,
    user: Any,
    name: str,
    data: bytes,
    front: dict[str, Any],
    body: str,
    dry_run: bool,
    unknown_headings: str = UnknownHeadings.APPEND,
) -> FileResult:
    """Import one postmortem file (front matter already split off) in its own transaction."""
    result = FileResult(name=name, kind="postmortem")
    title, sections, preamble = split_sections(body)
    document = Document(front=front, title=title, sections=sections, preamble=preamble)
    try:
        fields = incident_fields_read(front=front, title=title)
    except DomainError as error:
        return result.refuse(error.message)
    result.title = fields.title
    source, external_id = external_key(fields, data)
    existing = Incident.objects.filter(external_source=source, external_id=external_id).first()
    if existing is not None:
        result.outcome = Outcome.ALREADY_IMPORTED
        if can_view_incident(user, existing):
            result.url = existing.get_absolute_url()
        return result
    try:
        team = team_named(fields.team)
        resolved: dict[str, Any] = {
            "team": team,
            "services": services_named(fields.services),
            "category": category_named(fields.root_cause_category),
            "external_source": source,
            "external_id": external_id,
        }
        commander = people_named(
            [fields.commander] if fields.commander else [], result, role="commander"
        )
        resolved["commander"] = commander[0] if commander else None
        resolved["responders"] = people_named(fields.responders, result, role="responder")
        check_may_write(user, team, [*commander, *resolved["responders"]])
        template = template_for(fields, document)
        template_sections = list(template.sections.order_by("position", "id"))
        plan = plan_sections(
            document=document,
            keys=[section.key for section in template_sections],
            labels={section.key: section.heading for section in template_sections},
            default_day=fields.started_at.date(),
            unknown_headings=unknown_headings,
        )
    except DomainError as error:
        result.warnings.clear()
        return result.refuse(error.message)
    result.sections = plan.found
    result.unknown_headings = plan.unknown
    result.warnings += plan.warnings
    result.counts = [
        counted(len(plan.entries), "timeline entry", "timeline entries"),
        counted(len(plan.findings), "finding"),
        counted(len(plan.items), "action item"),
    ]
    if plan.unknown and unknown_headings == UnknownHeadings.REFUSE:
        headings = ", ".join(f"“{heading}”" for heading in plan.unknown)
        return result.refuse(
            f"Unknown section headings: {headings}. Rename them to the template's headings, or "
            "import with unknown headings appended to the section above."
        )
    try:
        with file_transaction(dry_run=dry_run):
            incident = _write(
                user=user,
                fields=fields,
                plan=plan,
                template=template,
                resolved=resolved,
                name=name,
                result=result,
            )
    except DomainError as error:
        return result.refuse(" ".join([error.message, *error.reasons]))
    result.outcome = Outcome.WOULD_CREATE if dry_run else Outcome.CREATED
    result.url = "" if dry_run else incident.get_absolute_url()
    return result


def import_file(
    *, user: Any, source: SourceFile, dry_run: bool, unknown_headings: str
) -> FileResult:
    """One file, whatever it holds: refused when unreadable, else handed to the importer its
    front matter's `kind` names (postmortem when it names none)."""
    if source.problem:
        return FileResult(name=source.name).refuse(source.problem)
    try:
        text = decode_markdown(source.data, name=source.name)
        front, body = split_front_matter(text)
    except DomainError as error:
        return FileResult(name=source.name).refuse(error.message)
    kind = str(front.get("kind") or "postmortem").strip().lower()
    if kind == "article":
        return article_import_file(user=user, name=source.name, text=text, dry_run=dry_run)
    if kind != "postmortem":
        return FileResult(name=source.name).refuse(
            f"`kind` is {kind!r}; use postmortem or article."
        )
    return postmortem_import_file(
        user=user,
        name=source.name,
        data=source.data,
        front=front,
        body=body,
        dry_run=dry_run,
        unknown_headings=unknown_headings,
    )


def import_files(
    *,
    user: Any,
    sources: Iterable[SourceFile],
    dry_run: bool,
    unknown_headings: str = UnknownHeadings.APPEND,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import each file on its own (all of it or none of it) and report on every one."""
    if unknown_headings not in UnknownHeadings.choices:
        raise InvalidInput(
            f"Unknown headings are {' or '.join(UnknownHeadings.choices)}.",
            field="unknown_headings",
        )
    report = ImportReport(dry_run=dry_run)
    for done, source in enumerate(sources, start=1):
        report.files.append(
            import_file(
                user=user, source=source, dry_run=dry_run, unknown_headings=unknown_headings
            )
        )
        if progress is not None:
            progress(done)
    return report
