"""Markdown rendering: the formatting people use survives, everything hostile is removed."""

from __future__ import annotations

import pytest

from knowledge.demo_articles import ARTICLES
from knowledge.markdown import build_renderer, render_markdown

REL = 'rel="noopener noreferrer nofollow"'


def test_empty_and_blank_text_render_to_nothing():
    assert render_markdown("") == ""
    assert render_markdown("  \n\t ") == ""


def test_headings_get_ids_for_the_table_of_contents():
    assert render_markdown("## Roll back the deploy") == (
        '<h2 id="roll-back-the-deploy">Roll back the deploy</h2>'
    )


def test_emphasis_lists_and_code_survive():
    text = "Run **this** and *that*:\n\n1. `kubectl rollout undo`\n2. watch\n"
    assert render_markdown(text) == (
        "<p>Run <strong>this</strong> and <em>that</em>:</p>\n"
        "<ol>\n<li><code>kubectl rollout undo</code></li>\n<li>watch</li>\n</ol>"
    )


def test_fenced_code_is_escaped_and_loses_its_class():
    text = '```python\nif x < 1 and "<script>":\n    pass\n```'
    assert render_markdown(text) == (
        '<pre><code>if x &lt; 1 and "&lt;script&gt;":\n    pass\n</code></pre>'
    )


def test_tables_render():
    assert render_markdown("| a | b |\n|---|--:|\n| 1 | 2 |") == (
        # Python-Markdown aligns with a style attribute, which the sanitizer removes.
        "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n"
        "<tbody>\n<tr>\n<td>1</td>\n<td>2</td>\n</tr>\n</tbody>\n</table>"
    )


def test_links_get_rel_noopener_noreferrer_nofollow():
    assert render_markdown("[runbook](https://example.com/runbook)") == (
        f'<p><a href="https://example.com/runbook" {REL}>runbook</a></p>'
    )
    assert render_markdown("[page](/knowledge/1/)") == (
        f'<p><a href="/knowledge/1/" {REL}>page</a></p>'
    )
    assert render_markdown("<mailto:oncall@example.com>") != ""


def test_script_tags_are_removed_with_their_content():
    assert render_markdown("<script>alert(1)</script>") == ""
    assert render_markdown("Before\n\n<script>alert(document.cookie)</script>\n\nAfter") == (
        "<p>Before</p>\n\n\n<p>After</p>"
    )


def test_event_handler_attributes_are_removed():
    assert render_markdown('<img src="/media/a.png" onerror="alert(1)">') == (
        '<p><img src="/media/a.png"></p>'
    )
    assert render_markdown('<a href="/x" onclick="steal()">x</a>') == (
        f'<p><a href="/x" {REL}>x</a></p>'
    )
    assert render_markdown('<details ontoggle="alert(1)" open><summary>s</summary>x</details>') == (
        '<details open=""><summary>s</summary>x</details>'
    )


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        '<a href="  javascript:alert(1)">x</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
        '<a href="vbscript:msgbox(1)">x</a>',
    ],
)
def test_dangerous_link_schemes_lose_the_href(text):
    assert render_markdown(text) == f"<p><a {REL}>x</a></p>"


@pytest.mark.parametrize(
    "source",
    [
        "https://evil.example.com/track.png",
        "//evil.example.com/track.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
    ],
)
def test_images_only_load_from_this_site(source):
    assert render_markdown(f"![diagram]({source})") == '<p><img alt="diagram"></p>'


def test_relative_image_is_kept():
    assert render_markdown("![flow](/media/attachments/2026/01/a.png)") == (
        '<p><img alt="flow" src="/media/attachments/2026/01/a.png"></p>'
    )


def test_svg_with_script_is_removed():
    assert render_markdown('<svg onload="alert(1)"><script>alert(2)</script></svg>') == "<p></p>"
    assert render_markdown('text <svg><a xlink:href="javascript:alert(1)">x</a></svg>') == (
        "<p>text </p>"
    )


def test_style_and_class_attributes_are_removed():
    assert render_markdown('<p style="position:fixed;top:0" class="btn danger">Pay here</p>') == (
        "<p>Pay here</p>"
    )
    assert render_markdown("<style>body{display:none}</style>") == ""


def test_iframes_forms_and_objects_are_removed():
    assert render_markdown('<iframe src="https://evil.example.com"></iframe>') == ""
    assert render_markdown('<form action="/x"><input name="card"></form>') == ""
    assert render_markdown('<object data="x.swf"></object><embed src="x.swf">') == "<p></p>"


def test_malformed_nesting_is_balanced():
    assert render_markdown("<strong><em>bold italic</strong> tail</em>") == (
        "<p><strong><em>bold italic</em></strong><em> tail</em></p>"
    )
    assert render_markdown("<blockquote><p>open") == "<blockquote><p>open</p></blockquote>"


def test_comments_and_unknown_tags_are_dropped():
    assert render_markdown("<!-- <script>x</script> -->kept") == "<p>kept</p>"
    assert render_markdown("<marquee>hi</marquee>") == "<p>hi</p>"


def test_allowed_inline_html_survives():
    assert render_markdown("H<sub>2</sub>O and x<sup>2</sup>, <del>old</del> <ins>new</ins>") == (
        "<p>H<sub>2</sub>O and x<sup>2</sup>, <del>old</del> <ins>new</ins></p>"
    )


def test_rendering_is_the_same_when_called_again():
    text = "# Title\n\n## Title\n"
    first = render_markdown(text)
    assert render_markdown(text) == first
    assert first == '<h1 id="title">Title</h1>\n<h2 id="title_1">Title</h2>'


def test_fenced_code_keeps_its_text_escaped():
    assert render_markdown("```\nkubectl get pods <ns>\n```") == (
        "<pre><code>kubectl get pods &lt;ns&gt;\n</code></pre>"
    )


def test_a_toc_marker_becomes_a_table_of_contents():
    assert render_markdown("[TOC]\n\n## Roll back\n\n## Verify *it*") == (
        '<ul><li><a href="#roll-back">Roll back</a></li>'
        '<li><a href="#verify-it">Verify <em>it</em></a></li></ul>\n'
        '<h2 id="roll-back">Roll back</h2>\n<h2 id="verify-it">Verify <em>it</em></h2>'
    )


def test_heading_ids_come_from_the_visible_text_only():
    assert render_markdown("## Fix *now* <script>x</script>") == (
        '<h2 id="fix-now">Fix <em>now</em> </h2>'
    )
    assert render_markdown("## !!!") == '<h2 id="section">!!!</h2>'


TRICKY_MARKDOWN = [
    "plain words only, nothing to parse",
    "a hard break at the end of this line  \nand the next line",
    "escaped \\*stars\\* and a back\\\\slash",
    "an entity &amp; a bare & and &copy;",
    "an autolink <https://status.example.com/> and <ops@example.com>",
    "inline <span>html</span> and <b>bold</b>",
    "_underscored emphasis_ and __strong__ and snake_case_name",
    "**strong** then *em* then ***both***",
    "a [link](https://example.com 'title') and ![an image](/media/a.png)",
    "a [reference][rb] link\n\n[rb]: https://example.com/runbook",
    "```\nfenced <code> & stuff\n```\n\nafter the fence, plain",
    "| host | state |\n|---|---|\n| db-1 | `read only` |\n| db-2 | plain |",
    "- one\n- two with `code`\n    - nested plain",
    "> quoted plain text\n> and *emphasis*",
]


@pytest.mark.parametrize(
    "text", TRICKY_MARKDOWN + [a.body for a in ARTICLES] + [a.resolution for a in ARTICLES]
)
def test_plain_text_shortcut_renders_exactly_like_the_stock_inline_processor(text):
    stock = build_renderer(skip_plain_text=False).convert(text)
    assert build_renderer().convert(text) == stock


def test_plain_text_shortcut_still_overrides_a_method_python_markdown_has():
    from markdown.treeprocessors import InlineProcessor

    assert callable(getattr(InlineProcessor, "_InlineProcessor__handleInline", None))
