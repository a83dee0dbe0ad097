"""Word-level differences between two revision snapshots, as safe HTML.

Every piece of text is escaped before it is wrapped in <ins> or <del>, so the result may be marked
safe. Long fields are compared line by line first and word by word only inside changed blocks,
which keeps a one-word edit in a 100 KB runbook fast.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from django.utils.html import escape

from knowledge.models import KnowledgeType

# The snapshot keys in reading order, with the label shown beside each.
FIELD_LABELS: dict[str, str] = {
    "title": "Title",
    "knowledge_type": "Knowledge type",
    "symptoms": "Symptoms",
    "environment": "Environment",
    "cause": "Cause",
    "resolution": "Resolution",
    "prevention": "Prevention",
    "body": "Body",
    "team": "Team",
    "services": "Services",
    "tags": "Tags",
}

# Above this many tokens in a changed block, show it as removed and added whole: a word diff of
# two unrelated long blocks costs quadratic time and reads no better.
MAX_WORD_DIFF_TOKENS = 4000

_TOKEN = re.compile(r"\s+|[^\s,]+|,")  # words, spaces, and commas (list separators)


@dataclass(frozen=True)
class FieldDiff:
    field: str
    label: str
    html: str
    changed: bool


def _as_text(field: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    if field == "knowledge_type" and value in KnowledgeType.values:
        return str(KnowledgeType(value).label)
    return str(value)


def _wrap(tag: str, text: str) -> str:
    return f"<{tag}>{escape(text)}</{tag}>" if text else ""


def _diff_tokens(old: Sequence[str], new: Sequence[str]) -> str:
    if len(old) + len(new) > MAX_WORD_DIFF_TOKENS:
        return _wrap("del", "".join(old)) + _wrap("ins", "".join(new))
    parts: list[str] = []
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(escape("".join(old[i1:i2])))
            continue
        parts.append(_wrap("del", "".join(old[i1:i2])))
        parts.append(_wrap("ins", "".join(new[j1:j2])))
    return "".join(parts)


def diff_text(old: str, new: str) -> str:
    """HTML showing how `old` became `new`: unchanged text escaped, changes in <del>/<ins>."""
    if old == new:
        return escape(old)
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    parts: list[str] = []
    matcher = SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(escape("".join(old_lines[i1:i2])))
        else:
            parts.append(
                _diff_tokens(
                    _TOKEN.findall("".join(old_lines[i1:i2])),
                    _TOKEN.findall("".join(new_lines[j1:j2])),
                )
            )
    return "".join(parts)


def diff_snapshots(old: dict[str, Any], new: dict[str, Any]) -> list[FieldDiff]:
    """One FieldDiff per snapshot field, in reading order; `changed` tells which ones moved."""
    diffs: list[FieldDiff] = []
    for field, label in FIELD_LABELS.items():
        before = _as_text(field, old.get(field))
        after = _as_text(field, new.get(field))
        diffs.append(
            FieldDiff(
                field=field,
                label=label,
                html=diff_text(before, after),
                changed=before != after,
            )
        )
    return diffs
