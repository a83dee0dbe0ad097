"""An imported postmortem file, read: the incident's fields from the front matter, and the body's
headings assigned to a template's sections (or to findings, action items, timeline entries).
Reads only; the importer resolves names against the database and writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kbsite.errors import InvalidInput
from knowledge.transfer.documents import Document, Section, list_value, parse_time, text_value
from postmortems.models import IncidentStatus, PostmortemState, Severity, Visibility
from postmortems.transfer import headings
from postmortems.transfer.parts import (
    EntrySpec,
    FindingSpec,
    ItemSpec,
    is_placeholder,
    parse_action_items,
    parse_findings,
    parse_timeline,
)

TIME_FIELDS = {
    "started_at": ("started", "started_at"),
    "detected_at": ("detected", "detected_at"),
    "mitigated_at": ("mitigated", "mitigated_at"),
    "resolved_at": ("resolved", "resolved_at"),
}
TITLE_PREFIX = "postmortem:"


class UnknownHeadings:
    """What to do with a heading that maps to no section."""

    APPEND = "append"  # keep its text in the section above it (reported)
    REFUSE = "refuse"  # refuse the file
    choices = (APPEND, REFUSE)


@dataclass
class IncidentFields:
    title: str
    severity: str
    team: str
    started_at: datetime
    services: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    times: dict[str, datetime | None] = field(default_factory=dict)
    status: str | None = None
    visibility: str = Visibility.INTERNAL
    root_cause_category: str = ""
    external_source: str = ""
    external_id: str = ""
    external_url: str = ""
    summary: str = ""
    commander: str = ""
    responders: list[str] = field(default_factory=list)
    state: str = PostmortemState.DRAFT
    template: str = ""  # slug; empty: chosen from the headings


def _first(front: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if front.get(name) not in (None, ""):
            return front[name]
    return None


def _choice(front: dict[str, Any], key: str, choices: list[str], *, default: str | None) -> Any:
    value = text_value(front, key).lower()
    if not value:
        return default
    if value not in choices:
        raise InvalidInput(f"`{key}` is {value!r}; use one of: {', '.join(choices)}.", field=key)
    return value


def incident_fields_read(*, front: dict[str, Any], title: str) -> IncidentFields:
    """The incident a postmortem file describes. InvalidInput names the first field that is
    missing or cannot be read."""
    heading_title = title.strip()
    if heading_title.lower().startswith(TITLE_PREFIX):
        heading_title = heading_title[len(TITLE_PREFIX) :].strip()
    started = parse_time(_first(front, TIME_FIELDS["started_at"]), field="started")
    if started is None:
        raise InvalidInput("The front matter needs `started`, the time the incident began.")
    times = {
        name: parse_time(_first(front, keys), field=keys[0])
        for name, keys in TIME_FIELDS.items()
        if name != "started_at"
    }
    template = text_value(front, "template")
    return IncidentFields(
        title=text_value(front, "title") or heading_title,
        severity=_choice(front, "severity", list(Severity.values), default=None)
        or _missing("severity"),
        team=text_value(front, "team") or _missing("team"),
        started_at=started,
        services=list_value(front, "services"),
        tags=list_value(front, "tags"),
        times=times,
        status=_choice(front, "status", list(IncidentStatus.values), default=None),
        visibility=_choice(
            front, "visibility", list(Visibility.values), default=Visibility.INTERNAL
        ),
        root_cause_category=text_value(front, "root_cause_category"),
        external_source=text_value(front, "external_source"),
        external_id=text_value(front, "external_id"),
        external_url=text_value(front, "external_url"),
        summary=text_value(front, "summary"),
        commander=text_value(front, "commander").lstrip("@"),
        responders=[name.lstrip("@") for name in list_value(front, "responders")],
        state=_choice(front, "state", list(PostmortemState.values), default=PostmortemState.DRAFT),
        # "blameless v1", as the export writes it, names the template "blameless".
        template=template.split(" v")[0].strip() if template else "",
    )


def _missing(key: str) -> str:
    raise InvalidInput(f"The front matter needs `{key}`.", field=key)


@dataclass
class SectionPlan:
    """Where each part of the body goes, and what the report says about it."""

    sections: dict[str, str] = field(default_factory=dict)
    entries: list[EntrySpec] = field(default_factory=list)
    findings: list[FindingSpec] = field(default_factory=list)
    items: list[ItemSpec] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add_text(self, key: str, text: str) -> None:
        if not text.strip() or is_placeholder(text):
            return
        current = self.sections.get(key, "")
        self.sections[key] = f"{current}\n\n{text}" if current else text


def counted(number: int, one: str, many: str = "") -> str:
    return f"{number} {one if number == 1 else (many or one + 's')}"


def document_targets(document: Document) -> list[str | None]:
    return [headings.heading_target(section.heading) for section in document.sections]


def template_coverage(document: Document, keys: set[str]) -> int:
    """How many of the document's section headings have a section of their own in `keys`."""
    return sum(1 for target in document_targets(document) if target in keys)


def _text_to(
    plan: SectionPlan,
    *,
    section: Section,
    text: str,
    target: str,
    keys: set[str],
    labels: dict[str, str],
    last_key: str | None,
) -> str | None:
    """Put section text in its own section, its fallback, or (as an unknown heading would go)
    the section above. Returns the key it went to, None when it has nowhere to go."""
    key, moved = headings.section_key_in(target, keys)
    if key is not None and moved:
        plan.warnings.append(
            f"“{section.heading}” has no section in this template; its text was added to "
            f"“{labels[key]}”."
        )
        text = f"{section.heading_line}\n\n{text}"
    if key is None:
        key = last_key
        if key is None:
            return None
        plan.warnings.append(
            f"“{section.heading}” has no section in this template; its text was added to "
            f"“{labels[key]}”."
        )
        text = f"{section.heading_line}\n\n{text}"
    plan.add_text(key, text)
    return key


def plan_sections(
    *,
    document: Document,
    keys: list[str],
    labels: dict[str, str],
    default_day: date,
    unknown_headings: str,
) -> SectionPlan:
    """Assign every heading of the body to a section key of the template (`keys` in order,
    `labels` their headings) or to findings, action items or timeline entries.

    A "Timeline" heading's lines that look like entries become entries, unless the file also
    has a dedicated entries heading ("Timeline (UTC)", as the export writes): then "Timeline"
    is plain section text. An unknown heading is reported; with `unknown_headings="append"`
    its text (heading line included) goes to the section above it, else the file is refused.
    """
    plan = SectionPlan()
    key_set = set(keys)
    targets = document_targets(document)
    has_entries_heading = headings.TIMELINE_ENTRIES in targets
    last_key: str | None = None
    if document.preamble and not is_placeholder(document.preamble):
        first = "summary" if "summary" in key_set else (keys[0] if keys else None)
        if first is not None:
            plan.add_text(first, document.preamble)
            plan.warnings.append(
                f"Text before the first section heading was added to “{labels[first]}”."
            )
            last_key = first
    for section, target in zip(document.sections, targets, strict=True):
        if target is None:
            plan.unknown.append(section.heading)
            if unknown_headings == UnknownHeadings.REFUSE:
                continue
            destination = last_key or (keys[0] if keys else None)
            if destination is not None:
                plan.add_text(destination, f"{section.heading_line}\n\n{section.text}".strip())
                plan.found.append(f"{section.heading} → appended to {labels[destination]}")
            continue
        if target == headings.FINDINGS:
            parsed = parse_findings(section.text)
            plan.findings += parsed.findings
            plan.found.append(f"{section.heading} → {counted(len(parsed.findings), 'finding')}")
            if parsed.leftover_text:
                plan.warnings.append(
                    f"Lines of “{section.heading}” that are not list items were left out: "
                    "write each finding as a list item."
                )
            continue
        if target == headings.ACTION_ITEMS:
            parsed = parse_action_items(section.text)
            plan.items += parsed.items
            plan.warnings += parsed.warnings
            plan.found.append(f"{section.heading} → {counted(len(parsed.items), 'action item')}")
            text, own_target = parsed.leftover_text, "action_items"
        elif target == headings.TIMELINE_ENTRIES or (
            target == headings.TIMELINE and not has_entries_heading
        ):
            parsed = parse_timeline(section.text, default_day=default_day)
            plan.entries += parsed.entries
            entries = counted(len(parsed.entries), "timeline entry", "timeline entries")
            plan.found.append(f"{section.heading} → {entries}")
            text, own_target = parsed.leftover_text, headings.TIMELINE
        else:
            text, own_target = section.text, target
        if not text.strip() or is_placeholder(text):
            if own_target in key_set:
                last_key = own_target
            continue
        placed = _text_to(
            plan,
            section=section,
            text=text,
            target=own_target,
            keys=key_set,
            labels=labels,
            last_key=last_key,
        )
        if placed is None:
            plan.warnings.append(f"The text under “{section.heading}” has no section to go to.")
            continue
        if target not in (headings.ACTION_ITEMS, headings.TIMELINE_ENTRIES):
            plan.found.append(f"{section.heading} → {labels[placed]}")
        last_key = placed
    return plan
