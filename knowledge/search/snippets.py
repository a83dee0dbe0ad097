"""Snippets shown under a hit: the text escaped first, then the matches wrapped in <mark>.

Both backends mark matches with START and STOP, two control characters that escaping leaves
alone and that never survive in the output.
"""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import mark_safe

START, STOP = "\x02", "\x03"  # highlight markers: never in escaped text, replaced by <mark>

_MARKED = re.compile(f"{START}(.*?){STOP}", re.DOTALL)
_MARKDOWN_NOISE = re.compile(r"\*\*|__|`+|^\s*#{1,6}\s|^\s*>\s?", re.MULTILINE)


def highlight(text: str) -> str:
    """Escape `text`, then turn marker pairs into <mark>; stray markers are dropped."""
    cleaned = _MARKDOWN_NOISE.sub(" ", text or "")
    escaped = escape(cleaned)
    marked = _MARKED.sub(lambda m: f"<mark>{m.group(1)}</mark>", escaped)
    return mark_safe(" ".join(marked.replace(START, "").replace(STOP, "").split()))  # noqa: S308


def plain_snippet(text: str, length: int = 200) -> str:
    """The start of `text`, escaped, without Markdown markup, cut at a word."""
    cleaned = " ".join(_MARKDOWN_NOISE.sub(" ", text or "").split())
    if len(cleaned) > length:
        cleaned = cleaned[:length].rsplit(" ", 1)[0] + " …"
    return mark_safe(escape(cleaned))  # noqa: S308


def snippet(raw: str | None, *, fallback: str) -> str:
    """The highlighted `raw` when it marks a match, else a plain snippet of `fallback`."""
    return highlight(raw) if raw and START in raw else plain_snippet(fallback)
