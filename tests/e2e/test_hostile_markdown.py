"""Hostile markdown in every field of an article, opened in Chromium: nothing runs.

Each payload would set `window.__pwned` or open a dialog if it reached the page live. The
page's CSP would block most of them anyway, so the test also listens for CSP violations: a
violation means the sanitizer let something through that only the CSP stopped.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from kbsite.roles import Role
from knowledge import services
from knowledge.models import CONTENT_FIELDS, Article
from tests.e2e.conftest import sign_in
from tests.kbsite.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def roles(transactional_db):
    """The role groups come from a data migration, which a transactional test's flush removes."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def signed_in(page, username: str) -> None:
    """Sign in and wait until the home page is there (the login page's URL also ends in /)."""
    sign_in(page, username, PASSWORD)
    page.get_by_role("button", name="Sign out").wait_for()


PAYLOADS = [
    "<script>window.__pwned = 1; alert('script')</script>",
    '<img src="x" onerror="window.__pwned = 1; alert(\'onerror\')">',
    "[click me](javascript:window.__pwned=1)",
    "<a href=\"javascript:alert('href')\">raw link</a>",
    "[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![data image](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEpIi8+)",
    '<svg onload="window.__pwned = 1"><script>alert("svg")</script></svg>',
    "<details open ontoggle=\"window.__pwned = 1; alert('toggle')\"><summary>x</summary></details>",
    '<input autofocus onfocus="window.__pwned = 1">',
    "<iframe src=\"javascript:alert('iframe')\"></iframe>",
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    "<style>body { display: none }</style>",
    '<div style="position:fixed;inset:0;background:url(javascript:alert(1))">overlay</div>',
    '<p class="message success">Fake system message</p>',
    '"><img src=x onerror=alert(1)>',
    "<scr<script>ipt>window.__pwned = 1</scr</script>ipt>",
    "<p><b><i>badly <a href='/x'>nested</b></i></p></a><table><tr><td>x</p>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('mxss')>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert('noscript')>\">",
    "```html\n<script>alert('in code')</script>\n```",
    '<a href="/ok" onclick="window.__pwned = 1">harmless-looking link</a>',
    "[x](  JaVaScRiPt:alert(1)  )",
    '<img src="/knowledge/" srcset="javascript:alert(1) 1x">',
]
HOSTILE = "\n\n".join(PAYLOADS)
TITLE = "<img src=x onerror=\"window.__pwned=1;alert('title')\"><script>alert('t')</script>"

# Installed before any page script runs: records CSP violations and any alert()/confirm().
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""

# Elements and attributes that must not exist inside the article's content.
FORBIDDEN_SELECTOR = (
    "script, style, iframe, object, embed, form, input, meta, base, svg, math, noscript, "
    "[style], [class], [srcset]"
)
DANGEROUS_NODES = """
(root) => {
  const found = [];
  for (const el of root.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const value = attr.value.replace(/\\s+/g, "").toLowerCase();
      if (attr.name.startsWith("on")) found.push(el.tagName + " " + attr.name);
      if (["href", "src", "action", "formaction", "data"].includes(attr.name)
          && (value.startsWith("javascript:") || value.startsWith("data:"))) {
        found.push(el.tagName + " " + attr.name + "=" + attr.value);
      }
    }
  }
  return found;
}
"""


def hostile_article(author) -> Article:
    content = services.ArticleContent(
        title=TITLE,
        knowledge_type="technical",
        **{name: f"## {name}\n\nhostile certificate text\n\n{HOSTILE}" for name in CONTENT_FIELDS},
        tag_names=["<script>alert(1)</script>"],
    )
    article = services.article_create(author=author, content=content, change_note=TITLE)
    return services.article_update(
        article=article,
        editor=author,
        content=services.ArticleContent(
            **{**content.__dict__, "cause": content.cause + "\n\n<img src=x onerror=alert(2)>"}
        ),
        expected_version=article.version,
        change_note="<script>alert('note')</script>",
    )


def assert_inert(page, scope: str) -> None:
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.evaluate("window.__violations") == []
    for root in page.locator(scope).all():
        assert root.locator(FORBIDDEN_SELECTOR).count() == 0
        assert root.evaluate(DANGEROUS_NODES) == []


def test_hostile_markdown_in_every_field_is_rendered_inert(page):
    editor = UserFactory(username="erin", first_name="Erin", roles=["editor"])
    article = hostile_article(editor)
    page.add_init_script(WATCH)
    signed_in(page, "erin")

    page.goto(article.get_absolute_url())
    assert page.locator("h1").inner_text() == TITLE
    assert page.title().startswith("<img src=x")
    sections = page.locator("section.prose")
    assert sections.count() == len(CONTENT_FIELDS)
    for link in page.locator("section.prose a").all():
        assert link.get_attribute("rel") == "noopener noreferrer nofollow"
    for link in page.locator("section.prose a:visible").all():
        link.hover()  # nothing fires on hover either
    page.keyboard.press("Tab")
    page.wait_for_timeout(300)
    assert_inert(page, "section.prose")

    # The editor shows the same content in textareas and previews.
    page.goto(f"/knowledge/{article.pk}/edit/")
    assert page.get_by_label("Symptoms").input_value().startswith("## symptoms")
    page.get_by_label("Body").press("End")  # the live preview renders the hostile text again
    page.wait_for_timeout(1200)
    assert_inert(page, "[id^=preview-]")

    # History, the diff between the two revisions, and search results with snippets.
    page.goto(f"/knowledge/{article.pk}/history/")
    page.goto(f"/knowledge/{article.pk}/diff/?from=1&to=2")
    assert page.locator(".diff ins").count() >= 1
    assert_inert(page, ".diff")
    page.goto("/knowledge/?q=hostile+certificate")
    assert page.locator("li.result").count() == 1
    assert page.locator("li.result .snippet mark").count() >= 1
    assert_inert(page, "li.result .snippet")
