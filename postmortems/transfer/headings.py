"""Which postmortem section a heading of an imported file belongs to.

Headings are compared after normalising: lower case, emphasis and numbering dropped, "&" read as
"and", a trailing colon ignored. Each maps to a template section key (the default "blameless"
template's and the "sre-classic" preset's), or to one of three parts that are not section text:
findings, action items and the incident's timeline entries.
"""

from __future__ import annotations

import re

FINDINGS = "@findings"
ACTION_ITEMS = "@action_items"
TIMELINE_ENTRIES = "@timeline_entries"
TIMELINE = "timeline"

SYNONYMS: dict[str, tuple[str, ...]] = {
    "summary": ("summary", "executive summary", "incident summary", "overview", "tl;dr", "tldr"),
    "status": ("status", "postmortem status"),
    "impact": ("impact", "customer impact", "user impact", "business impact"),
    TIMELINE: ("timeline", "incident timeline", "timeline summary", "key moments"),
    TIMELINE_ENTRIES: (
        "timeline (utc)",
        "timeline entries",
        "detailed timeline",
        "timeline of events",
    ),
    "root_causes": (
        "root causes",
        "root cause",
        "root causes and contributing factors",
        "root cause and contributing factors",
        "contributing factors",
        "root cause analysis",
        "causes",
    ),
    "trigger": ("trigger", "triggers"),
    "resolution": ("resolution", "mitigation", "mitigation and resolution"),
    "response": ("response and recovery", "response", "recovery", "resolution and recovery"),
    "detection": ("detection", "how we found out"),
    ACTION_ITEMS: (
        "action items",
        "action items (ai)",
        "follow-up actions",
        "follow-ups",
        "follow ups",
        "next steps",
        "remediation items",
    ),
    "lessons": ("lessons learned", "lessons learnt", "lessons", "key takeaways", "takeaways"),
    "went_well": ("what went well", "things that went well", "went well"),
    "went_wrong": (
        "what went wrong",
        "things that went wrong",
        "went wrong",
        "what did not go well",
        "what didn't go well",
    ),
    "lucky": ("where we got lucky", "where we were lucky", "we got lucky", "lucky"),
    "supporting_information": ("supporting information", "supporting info", "references"),
    FINDINGS: ("findings", "lessons and findings"),
}
TARGET_BY_HEADING = {heading: target for target, names in SYNONYMS.items() for heading in names}

# Where a section goes when the chosen template has no section of that key.
FALLBACKS: dict[str, tuple[str, ...]] = {
    "trigger": ("root_causes",),
    "resolution": ("response",),
    "response": ("resolution",),
    "status": ("summary",),
    "action_items": ("lessons",),
    "supporting_information": ("lessons",),
    TIMELINE: ("summary",),
}


def normalise(heading: str) -> str:
    text = heading.strip().lower().replace("&", " and ").replace("’", "'")
    text = re.sub(r"[*_`]", "", text)
    text = re.sub(r"^(\d+|[ivx]+)[.)]\s+", "", text)
    text = text.rstrip(":").strip()
    return " ".join(text.split())


def heading_target(heading: str) -> str | None:
    """The section key or special part a heading names, or None when it is unknown."""
    return TARGET_BY_HEADING.get(normalise(heading))


def section_key_in(target: str, keys: set[str]) -> tuple[str | None, bool]:
    """(key, moved): the template section `target` text goes to, and whether that is another
    section than its own; (None, False) when the template has no place for it."""
    if target in keys:
        return target, False
    for fallback in FALLBACKS.get(target, ()):
        if fallback in keys:
            return fallback, True
    return None, False
