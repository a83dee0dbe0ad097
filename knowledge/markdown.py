"""Markdown to safe HTML: Python-Markdown renders, nh3 (ammonia) sanitizes with an allowlist.

Rendering happens once, when an article is saved; pages show `Article.rendered` as it is.
Python-Markdown keeps raw HTML, so nh3 removes everything outside the allowlist afterwards:
scripts, event handlers, style and class attributes, and URLs other than http, https, mailto and
relative ones. Images may only point at this site (relative URLs such as /media/...), so an
article cannot make a reader's browser fetch from elsewhere.

Headings get ids from their visible text, and a paragraph holding only `[TOC]` becomes a table of
contents. Both are done here after sanitizing, with two regular expressions, rather than by the
`toc` extension, which on its own took longer than rendering the rest of an 8 KB article.
"""

from __future__ import annotations

import re
import threading
from html import unescape
from urllib.parse import urlsplit

import markdown
import nh3
from django.utils.text import slugify
from markdown.treeprocessors import InlineProcessor

ALLOWED_TAGS = {
    *(f"h{level}" for level in range(1, 7)),
    "p",
    "ul",
    "ol",
    "li",
    "code",
    "pre",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "caption",
    "a",
    "img",
    "em",
    "strong",
    "blockquote",
    "hr",
    "br",
    "del",
    "ins",
    "sup",
    "sub",
    "details",
    "summary",
}

_HEADING_ATTRIBUTES = {"id"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    **{f"h{level}": _HEADING_ATTRIBUTES for level in range(1, 7)},
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align", "colspan", "rowspan"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "details": {"open"},
}
URL_SCHEMES = {"http", "https", "mailto"}

EXTENSIONS = ["tables", "fenced_code"]

_HEADING = re.compile(r"<h([1-6])>(.*?)</h\1>", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_TOC_MARKER = "<p>[TOC]</p>"


def _heading_ids(html: str) -> tuple[str, list[tuple[int, str, str]]]:
    """Give each heading an id from its text (`## Roll back` → id="roll-back"; repeats get
    `_1`, `_2`) and return the headings for a table of contents."""
    seen: dict[str, int] = {}
    headings: list[tuple[int, str, str]] = []

    def add_id(match: re.Match[str]) -> str:
        level, inner = match.group(1), match.group(2)
        base = slugify(unescape(_TAG.sub("", inner))) or "section"
        count = seen.get(base, 0)
        seen[base] = count + 1
        anchor = base if count == 0 else f"{base}_{count}"
        headings.append((int(level), anchor, inner))
        return f'<h{level} id="{anchor}">{inner}</h{level}>'

    return _HEADING.sub(add_id, html), headings


def _table_of_contents(headings: list[tuple[int, str, str]]) -> str:
    # `inner` is already sanitized heading content; anchors are slugs (letters, digits, - and _).
    items = "".join(f'<li><a href="#{anchor}">{inner}</a></li>' for _, anchor, inner in headings)
    return f"<ul>{items}</ul>" if items else ""


# Every inline pattern of Python-Markdown (code, escapes, links, images, autolinks, raw HTML,
# entities, emphasis, hard line breaks, stashed placeholders) needs one of these to match.
_INLINE_MARKUP = re.compile(r"[`\\\[!<&*_\x02]|  \n")


class _PlainTextSkippingInlineProcessor(InlineProcessor):
    """The stock inline processor, except that text holding no inline markup at all is left as
    it is instead of being tried against each of the fourteen patterns in turn; the output is
    the same (a test renders a corpus both ways), a sixth of the rendering time is not."""

    # The stock method is private (name-mangled), so overriding it takes its mangled name; the
    # tests fail loudly if a Python-Markdown upgrade renames it.
    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        if patternIndex == 0 and not _INLINE_MARKUP.search(data):
            return data
        return InlineProcessor._InlineProcessor__handleInline(self, data, patternIndex)


def build_renderer(*, skip_plain_text: bool = True) -> markdown.Markdown:
    renderer = markdown.Markdown(extensions=EXTENSIONS, output_format="html")
    if skip_plain_text:
        renderer.treeprocessors.register(_PlainTextSkippingInlineProcessor(renderer), "inline", 20)
    return renderer


# Building a Markdown instance with its extensions costs more than rendering a page of text, so
# each thread keeps one and resets it between documents.
_local = threading.local()


def _renderer() -> markdown.Markdown:
    renderer = getattr(_local, "renderer", None)
    if renderer is None:
        renderer = build_renderer()
        _local.renderer = renderer
    return renderer


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    """Images only from this site: a relative URL, never another host or a data: URL."""
    if element == "img" and attribute == "src":
        parts = urlsplit(value.strip())
        if parts.scheme or parts.netloc or value.strip().startswith("//"):
            return None
    return value


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_filter_attribute,
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """Render one markdown field to sanitized HTML; empty text renders to an empty string."""
    if not text or not text.strip():
        return ""
    renderer = _renderer()
    try:
        html = renderer.convert(text)
    finally:
        renderer.reset()
    html, headings = _heading_ids(sanitize_html(html))
    if _TOC_MARKER in html:
        html = html.replace(_TOC_MARKER, _table_of_contents(headings))
    return html.strip()
