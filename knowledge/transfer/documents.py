"""Markdown files with YAML front matter: decoding, the front matter, and the body's sections.

Shared by every importer (articles here, postmortems in their app), so that one document format
is read one way. Nothing here touches the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import yaml

from kbsite.errors import InvalidInput

# Front matter is a handful of fields: a block larger than this is not front matter.
MAX_FRONT_MATTER_CHARS = 64 * 1024
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_ATX_HEADING = re.compile(r"^\s{0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")


@dataclass(frozen=True)
class Section:
    """One heading of the body and the markdown under it, up to the next heading of its level."""

    heading: str
    text: str
    level: int = 2

    @property
    def heading_line(self) -> str:
        return f"{'#' * self.level} {self.heading}"


@dataclass(frozen=True)
class Document:
    front: dict[str, Any]
    title: str  # the body's single top-level heading, when it has one
    sections: list[Section] = field(default_factory=list)
    preamble: str = ""  # text before the first section heading


def decode_markdown(data: bytes, *, name: str) -> str:
    """The file's text. Refuses bytes that are not UTF-8 or that no markdown file contains."""
    if b"\x00" in data:
        raise InvalidInput(f"{name} is not markdown: it contains binary data.", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"{name} is not UTF-8 text (byte {error.start} cannot be read); save it as UTF-8.",
            field="file",
        ) from error
    controls = sum(1 for char in text if ord(char) < 32 and char not in "\t\n\r\f")
    if controls:
        raise InvalidInput(
            f"{name} is not markdown: it contains {controls} control characters.", field="file"
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(front matter, body). The file must open with `---`, a YAML mapping, and `---`."""
    if not text.startswith("---\n"):
        raise InvalidInput(
            "The file has no front matter: it must start with a line `---`, the fields in YAML, "
            "and another line `---`.",
            field="front_matter",
        )
    end = re.search(r"^(---|\.\.\.)[ \t]*$", text[4:], flags=re.M)
    if end is None:
        raise InvalidInput(
            "The front matter is never closed: add a line `---` after its last field.",
            field="front_matter",
        )
    raw = text[4 : 4 + end.start()]
    if len(raw) > MAX_FRONT_MATTER_CHARS:
        raise InvalidInput(
            f"The front matter is {len(raw):,} characters long; at most "
            f"{MAX_FRONT_MATTER_CHARS:,} fit.",
            field="front_matter",
        )
    try:
        front = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "it cannot be read"
        raise InvalidInput(
            f"The front matter is not valid YAML{where}: {problem}.", field="front_matter"
        ) from error
    if front is None:
        front = {}
    if not isinstance(front, dict) or not all(isinstance(key, str) for key in front):
        raise InvalidInput(
            "The front matter must be a list of `name: value` fields.", field="front_matter"
        )
    return front, text[4 + end.end() :].lstrip("\n")


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, text) of every ATX heading outside fenced code."""
    found: list[tuple[int, int, str]] = []
    fence: str | None = None
    for index, line in enumerate(lines):
        marker = _FENCE.match(line)
        if marker:
            if fence is None:
                fence = marker.group(1)
            elif marker.group(1) == fence:
                fence = None
            continue
        if fence is None:
            match = _ATX_HEADING.match(line)
            if match:
                found.append((index, len(match.group(1)), match.group(2).strip()))
    return found


def _block(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n").rstrip()


def split_sections(body: str) -> tuple[str, list[Section], str]:
    """(title, sections, preamble) of a markdown body.

    A single level-1 heading that opens the body is the document's title when other headings
    follow it; the sections are then the highest level among those. Without such a title, the
    sections are the headings of the highest level used. Deeper headings stay in their
    section's text, and so does anything inside fenced code.
    """
    lines = body.split("\n")
    headings = _headings(lines)
    title = ""
    start = 0
    top_level = [heading for heading in headings if heading[1] == 1]
    if len(top_level) == 1 and headings[0][1] == 1:
        title = headings[0][2]
        start = headings[0][0] + 1
        headings = headings[1:]
    if not headings:
        return title, [], _block(lines[start:])
    level = min(level for _, level, _ in headings)
    boundaries = [heading for heading in headings if heading[1] == level]
    preamble = _block(lines[start : boundaries[0][0]])
    sections: list[Section] = []
    for position, (index, _, heading) in enumerate(boundaries):
        end = boundaries[position + 1][0] if position + 1 < len(boundaries) else len(lines)
        sections.append(Section(heading=heading, text=_block(lines[index + 1 : end]), level=level))
    return title, sections, preamble


def split_at_headings(body: str, *, names: dict[str, str]) -> tuple[str, dict[str, str], str]:
    """(title, {key: text}, preamble): the body cut only at level-2 headings whose text is one
    of `names` (lower case → key), so that any other heading stays in the text around it."""
    lines = body.split("\n")
    headings = _headings(lines)
    title = ""
    start = 0
    if headings and headings[0][1] == 1 and not _block(lines[: headings[0][0]]):
        title = headings[0][2]
        start = headings[0][0] + 1
    cuts = [
        (index, names[text.lower()])
        for index, level, text in headings
        if level == 2 and text.lower() in names and index >= start
    ]
    if not cuts:
        return title, {}, _block(lines[start:])
    texts: dict[str, str] = {}
    for position, (index, key) in enumerate(cuts):
        end = cuts[position + 1][0] if position + 1 < len(cuts) else len(lines)
        texts[key] = _block(lines[index + 1 : end])
    return title, texts, _block(lines[start : cuts[0][0]])


def read_document(data: bytes, *, name: str) -> Document:
    text = decode_markdown(data, name=name)
    front, body = split_front_matter(text)
    title, sections, preamble = split_sections(body)
    return Document(front=front, title=title, sections=sections, preamble=preamble)


# ---------- Values of front matter fields ----------


def text_value(front: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = front.get(key)
    if value is None or value == "":
        if required:
            raise InvalidInput(f"The front matter needs `{key}`.", field=key)
        return ""
    if isinstance(value, bool | dict | list):
        raise InvalidInput(f"`{key}` must be text.", field=key)
    return str(value).strip()


def list_value(front: dict[str, Any], key: str) -> list[str]:
    """A YAML list of names, or one name, or a comma-separated line."""
    value = front.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if not isinstance(value, list) or not all(
        isinstance(item, str | int) and not isinstance(item, bool) for item in value
    ):
        raise InvalidInput(f"`{key}` must be a list of names.", field=key)
    return [str(item).strip() for item in value if str(item).strip()]


def parse_time(value: Any, *, field: str) -> datetime | None:
    """An aware datetime from ISO 8601 text or a YAML timestamp; without an offset, UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        raise InvalidInput(
            f"`{field}` is a date without a time: give the time too, like "
            f"{value:%Y-%m-%d}T10:02:00Z.",
            field=field,
        )
    elif isinstance(value, str):
        text = value.strip().removesuffix(" UTC").removesuffix("UTC").strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as error:
            raise InvalidInput(
                f"`{field}` is {value!r}, which is not a time: write it in ISO 8601, like "
                "2026-03-04T10:02:00Z.",
                field=field,
            ) from error
    else:
        raise InvalidInput(f"`{field}` must be a time in ISO 8601.", field=field)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def parse_date(value: Any, *, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as error:
            raise InvalidInput(
                f"`{field}` is {value!r}, which is not a date: write it like 2026-09-30.",
                field=field,
            ) from error
    raise InvalidInput(f"`{field}` must be a date like 2026-09-30.", field=field)


def time_text(value: datetime | None) -> str:
    """The form every export writes: UTC, seconds (and microseconds when there are any), Z."""
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
