"""The parts of an imported postmortem that are not section text: timeline entries, findings
and action items, read from markdown lists and tables. Pure parsing: names of people, articles
and catalog objects are resolved later, by the importer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

from postmortems.models import ActionItem, Finding, TimelineEntry

_BULLET = r"(?:[-*+]|\d+[.)])"
_TIME = r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
_ZONE = r"Z|UTC|GMT|[+-]\d{2}:?\d{2}"
ENTRY_LINE = re.compile(
    rf"""^\s{{0,3}}(?:{_BULLET}\s+)?(?:\*\*|__)?
    (?:(?P<date>\d{{4}}-\d{{2}}-\d{{2}})[ T])?(?P<time>{_TIME})\s*(?P<zone>{_ZONE})?
    (?:\*\*|__)?\s*
    (?:[(\[](?P<kind>[A-Za-z ]+)[)\]])?\s*
    (?:[—–:|-]+\s*)?
    (?:[(\[](?P<later_kind>[A-Za-z ]+)[)\]]\s*)?(?P<text>\S.*)$""",
    re.X,
)
DATE_LINE = re.compile(
    r"^\s{0,3}(?:#+\s*)?(?:\*\*|__)?(?P<date>\d{4}-\d{2}-\d{2})(?:\*\*|__)?\s*(?:\(.*\))?\s*:?\s*$"
)
TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
LIST_ITEM = re.compile(rf"^\s{{0,3}}{_BULLET}\s+(?P<text>.*)$")
LINK = re.compile(r"^\[(?P<text>.+)\]\((?P<url>[^)\s]+)\)$")
PLACEHOLDERS = {
    "_not written._",
    "_no findings recorded._",
    "_no action items._",
    "_no timeline entries._",
}

KIND_BY_NAME = {
    **{str(label).lower(): value for value, label in TimelineEntry.Kind.choices},
    **{value: value for value in TimelineEntry.Kind.values},
}
FINDING_KIND_BY_NAME = {
    **{str(label).lower(): value for value, label in Finding.Kind.choices},
    **{value.replace("_", " "): value for value in Finding.Kind.values},
    **{value: value for value in Finding.Kind.values},
}
DEFAULT_FINDING_KIND = Finding.Kind.CONTRIBUTING_FACTOR
STATUS_BY_NAME = {
    **{str(label).lower(): value for value, label in ActionItem.Status.choices},
    **{value: value for value in ActionItem.Status.values},
    "won’t do": ActionItem.Status.WONT_DO,
    "todo": ActionItem.Status.OPEN,
    "to do": ActionItem.Status.OPEN,
    "in progress": ActionItem.Status.IN_PROGRESS,
    "started": ActionItem.Status.IN_PROGRESS,
    "complete": ActionItem.Status.DONE,
    "completed": ActionItem.Status.DONE,
    "closed": ActionItem.Status.DONE,
    "fixed": ActionItem.Status.DONE,
}
PRIORITY_BY_NAME = {
    "p1": "p1",
    "p2": "p2",
    "p3": "p3",
    "p0": "p1",
    "high": "p1",
    "medium": "p2",
    "low": "p3",
}
ITEM_COLUMNS = {
    "title": ("action", "action item", "item", "title", "task", "what"),
    "owner": ("owner", "assignee", "who"),
    "due_date": ("due", "due date", "deadline"),
    "priority": ("priority", "prio"),
    "status": ("status", "state"),
    "tracker_url": ("bug", "ticket", "tracker", "issue", "link"),
}
TIMELINE_COLUMNS = {
    "when": ("time", "time (utc)", "when", "timestamp", "date"),
    "text": ("event", "what", "what happened", "description", "text", "action", "details"),
    "kind": ("kind", "type", "category"),
}


@dataclass
class EntrySpec:
    occurred_at: datetime
    kind: str
    text: str


@dataclass
class FindingSpec:
    text: str
    kind: str
    outcome: str = ""  # "linked", "spawned", "nothing_to_capture" or ""
    article_title: str = ""
    article_url: str = ""
    no_article_reason: str = ""


@dataclass
class ItemSpec:
    title: str
    owner: str = ""
    due_date: date | None = None
    priority: str = ActionItem.Priority.P2
    status: str = ActionItem.Status.OPEN
    tracker_url: str = ""


@dataclass
class Parsed:
    """What one part yielded, the lines it did not understand, and what to tell the user."""

    entries: list[EntrySpec] = field(default_factory=list)
    findings: list[FindingSpec] = field(default_factory=list)
    items: list[ItemSpec] = field(default_factory=list)
    leftover: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def leftover_text(self) -> str:
        return "\n".join(self.leftover).strip("\n").rstrip()


def is_placeholder(text: str) -> bool:
    return text.strip().lower() in PLACEHOLDERS


def _zone(text: str | None) -> timezone:
    if not text or text in ("Z", "UTC", "GMT"):
        return UTC
    sign = 1 if text[0] == "+" else -1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _moment(day: date, clock: str, zone: str | None) -> datetime | None:
    parts = clock.split(":")
    try:
        hour, minute = int(parts[0]), int(parts[1])
        second = float(parts[2]) if len(parts) > 2 else 0.0
        moment = datetime(day.year, day.month, day.day, hour, minute, int(second), tzinfo=UTC)
    except ValueError:
        return None
    return moment.replace(tzinfo=_zone(zone)).astimezone(UTC)


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body.removeprefix("|")
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    cells = re.split(r"(?<!\\)\|", body)
    return [cell.strip().replace("\\|", "|") for cell in cells]


def _tables(lines: list[str]) -> list[tuple[int, int, list[str], list[list[str]]]]:
    """(first line, end line, header, rows) of each pipe table."""
    found = []
    index = 0
    while index < len(lines) - 1:
        if lines[index].strip().startswith("|") and TABLE_SEPARATOR.match(lines[index + 1]):
            end = index + 2
            while end < len(lines) and lines[end].strip().startswith("|"):
                end += 1
            header = [cell.lower() for cell in _cells(lines[index])]
            rows = [_cells(line) for line in lines[index + 2 : end]]
            found.append((index, end, header, rows))
            index = end
        else:
            index += 1
    return found


def _columns(header: list[str], names: dict[str, tuple[str, ...]]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for position, title in enumerate(header):
        for key, synonyms in names.items():
            if title in synonyms and key not in columns:
                columns[key] = position
    return columns


def _cell(row: list[str], columns: dict[str, int], key: str) -> str:
    position = columns.get(key)
    return row[position] if position is not None and position < len(row) else ""


def _entry_from(text: str, *, day: date, kind_hint: str = "") -> EntrySpec | None:
    match = ENTRY_LINE.match(text)
    if not match:
        return None
    if match.group("date"):
        try:
            day = date.fromisoformat(match.group("date"))
        except ValueError:
            return None
    moment = _moment(day, match.group("time"), match.group("zone"))
    if moment is None:
        return None
    body = match.group("text").strip()
    written = match.group("kind") or match.group("later_kind")
    kind = KIND_BY_NAME.get((written or kind_hint or "").strip().lower())
    if kind is None and written:
        body = f"({written}) {body}"  # not a kind: part of the text
    return EntrySpec(occurred_at=moment, kind=kind or TimelineEntry.Kind.ACTION, text=body)


def parse_timeline(text: str, *, default_day: date) -> Parsed:
    """Entries from lines like "- 2026-03-04 10:02 UTC — text" (a time alone takes the date of
    the last date line above it, else `default_day`) and from tables with a time column.
    Everything else is left over."""
    parsed = Parsed()
    lines = text.split("\n")
    tables = {start: (end, header, rows) for start, end, header, rows in _tables(lines)}
    day = default_day
    index = 0
    while index < len(lines):
        if index in tables:
            end, header, rows = tables[index]
            columns = _columns(header, TIMELINE_COLUMNS)
            if "when" in columns and "text" in columns:
                for row in rows:
                    spec = _entry_from(
                        f"{_cell(row, columns, 'when')} {_cell(row, columns, 'text')}",
                        day=day,
                        kind_hint=_cell(row, columns, "kind"),
                    )
                    if spec is None:
                        parsed.leftover.append("| " + " | ".join(row) + " |")
                    else:
                        parsed.entries.append(spec)
            else:
                parsed.leftover.extend(lines[index:end])
            index = end
            continue
        line = lines[index]
        index += 1
        date_match = DATE_LINE.match(line)
        if date_match:
            try:
                day = date.fromisoformat(date_match.group("date"))
                continue
            except ValueError:
                pass
        spec = _entry_from(line, day=day)
        if spec is not None:
            parsed.entries.append(spec)
        elif not is_placeholder(line):
            parsed.leftover.append(line)
    return parsed


def _finding_label(text: str) -> tuple[str, str]:
    """(kind, text) from "**Root cause**: text", "**Root cause:** text" or "Root cause: text"."""
    match = re.match(r"^(?:\*\*|__)(?P<label>[^*_]+?):?(?:\*\*|__):?\s*(?P<rest>.*)$", text)
    if not match:
        match = re.match(r"^(?P<label>[A-Za-z][A-Za-z _]{2,30}):\s+(?P<rest>.*)$", text)
    if match:
        kind = FINDING_KIND_BY_NAME.get(match.group("label").strip().lower())
        if kind:
            return kind, match.group("rest").strip()
    return DEFAULT_FINDING_KIND, text.strip()


def _knowledge_line(spec: FindingSpec, line: str) -> bool:
    match = re.match(r"^\s*[-*+]\s+Knowledge:\s*(?P<what>.*)$", line)
    if not match:
        return False
    what = match.group("what").strip()
    link = re.match(r"^(?P<how>linked to|spawned)\s+\[(?P<title>.+)\]\((?P<url>[^)\s]+)\)$", what)
    if link:
        spec.outcome = "linked" if link.group("how") == "linked to" else "spawned"
        spec.article_title = link.group("title")
        spec.article_url = link.group("url")
        return True
    reason = re.match(r"^nothing to capture\s*[—–:-]\s*(?P<reason>.+)$", what)
    if reason:
        spec.outcome = "nothing_to_capture"
        spec.no_article_reason = reason.group("reason").strip()
    elif what.startswith(("linked to", "spawned")):
        spec.outcome = "hidden"  # the exporter could not see the article
    return True


def parse_findings(text: str) -> Parsed:
    """Findings from a list: one item each, with an optional kind label and "Knowledge:" line."""
    parsed = Parsed()
    current: FindingSpec | None = None
    for line in text.split("\n"):
        indented = line.startswith((" ", "\t"))
        if current is not None and indented and _knowledge_line(current, line):
            continue
        item = LIST_ITEM.match(line)
        if item:
            kind, body = _finding_label(item.group("text"))
            current = FindingSpec(text=body, kind=kind)
            parsed.findings.append(current)
        elif current is not None and line.strip() and indented:
            current.text = f"{current.text}\n{line.strip()}"
        elif line.strip() and not is_placeholder(line):
            current = None
            parsed.leftover.append(line)
    return parsed


def _link_parts(text: str) -> tuple[str, str]:
    match = LINK.match(text.strip())
    return (match.group("text"), match.group("url")) if match else (text.strip(), "")


def _item_from_row(row: list[str], columns: dict[str, int], parsed: Parsed) -> ItemSpec | None:
    title, url = _link_parts(_cell(row, columns, "title"))
    if not title:
        return None
    spec = ItemSpec(title=title, tracker_url=url)
    tracker = _cell(row, columns, "tracker_url")
    if tracker:
        _, tracker_url = _link_parts(tracker)
        spec.tracker_url = tracker_url or (tracker if tracker.startswith("http") else url)
    owner = _cell(row, columns, "owner").lstrip("@").strip()
    spec.owner = "" if owner in ("", "—", "-", "–") else owner
    due = _cell(row, columns, "due_date")
    if due and due not in ("—", "-"):
        try:
            spec.due_date = date.fromisoformat(due)
        except ValueError:
            parsed.warnings.append(
                f"Action item “{title}”: the due date {due!r} is not a date like 2026-04-01; "
                "the usual due date for its priority was used."
            )
    priority = _cell(row, columns, "priority").lower()
    if priority:
        if priority in PRIORITY_BY_NAME:
            spec.priority = PRIORITY_BY_NAME[priority]
        else:
            parsed.warnings.append(
                f"Action item “{title}”: unknown priority {priority!r}; P2 was used."
            )
    status = _cell(row, columns, "status").lower().replace("’", "'")
    if status:
        if status in STATUS_BY_NAME:
            spec.status = STATUS_BY_NAME[status]
        else:
            parsed.warnings.append(f"Action item “{title}”: unknown status {status!r}; open.")
    return spec


def parse_action_items(text: str) -> Parsed:
    """Items from tables with an action column, and from list items ("- [ ] text"; "[x]" done).
    Everything else is left over."""
    parsed = Parsed()
    lines = text.split("\n")
    tables = {start: (end, header, rows) for start, end, header, rows in _tables(lines)}
    index = 0
    while index < len(lines):
        if index in tables:
            end, header, rows = tables[index]
            columns = _columns(header, ITEM_COLUMNS)
            if "title" in columns:
                for row in rows:
                    spec = _item_from_row(row, columns, parsed)
                    if spec is not None:
                        parsed.items.append(spec)
            else:
                parsed.leftover.extend(lines[index:end])
            index = end
            continue
        line = lines[index]
        index += 1
        item = LIST_ITEM.match(line)
        if item:
            body = item.group("text").strip()
            check = re.match(r"^\[(?P<mark>[ xX])\]\s*(?P<rest>.*)$", body)
            status = ActionItem.Status.OPEN
            if check:
                body = check.group("rest").strip()
                if check.group("mark").lower() == "x":
                    status = ActionItem.Status.DONE
            title, url = _link_parts(body)
            if title:
                parsed.items.append(ItemSpec(title=title, tracker_url=url, status=status))
        elif not is_placeholder(line):
            parsed.leftover.append(line)
    return parsed
