"""The knowledge pages: search and list, article, editor, history, review queue, gaps,
notifications. Happy paths with exact content, permissions, bad input that changes nothing, and
pinned query counts."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

import knowledge.panels
from kbsite.models import Notification
from knowledge import services
from knowledge.models import (
    MAX_FIELD_LENGTH,
    MAX_TAGS,
    Article,
    ArticleAttachment,
    ArticleEvent,
    ArticleFeedback,
    ArticleRevision,
    ArticleState,
    ArticleVideoLink,
    SearchGap,
)
from knowledge.panels import register_article_panel
from knowledge.search import index_articles
from tests.knowledge.factories import (
    PNG_BYTES,
    ArticleFactory,
    ArticleFeedbackFactory,
    ServiceFactory,
    TagFactory,
    attachment_for,
    draft_article,
    in_review_article,
    overdue_article,
    published_article,
)

pytestmark = pytest.mark.django_db

INDEX = reverse("knowledge:index")
CREATE = reverse("knowledge:article_create")


def url(name: str, *args: object) -> str:
    return reverse(f"knowledge:{name}", args=args)


def html_of(response) -> str:
    return response.content.decode()


def main_of(response) -> str:
    """The page's <main>, without the header (whose search box echoes the query)."""
    html = html_of(response)
    return html[html.index('<main id="main"') : html.index("</main>")]


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def result_titles(response) -> list[str]:
    return [
        unescape(t)
        for t in re.findall(
            r'<li class="card result">\s*<h2><a [^>]*>([^<]*)</a>', html_of(response)
        )
    ]


def indexed(*articles: Article) -> list[Article]:
    index_articles(article_ids=[article.pk for article in articles])
    return list(articles)


def form_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "TLS certificate expired on the payments gateway",
        "knowledge_type": "technical",
        "symptoms": "Clients see `certificate has expired` and checkout fails.",
        "environment": "Production gateway",
        "cause": "The renewal job was disabled.",
        "resolution": "1. Renew the certificate\n2. Reload nginx",
        "prevention": "Alert 14 days before expiry.",
        "body": "",
        "team": "",
        "tags": "tls, certificates",
        "change_note": "First version",
    }
    data.update(overrides)
    return data


def snapshot(article: Article) -> tuple:
    article.refresh_from_db()
    return (
        article.title,
        article.state,
        article.version,
        article.symptoms,
        article.open_flags,
        ArticleRevision.objects.filter(article=article).count(),
        ArticleEvent.objects.filter(article=article).count(),
    )


# ---------- Search and list ----------


def test_list_shows_the_articles_the_person_may_read(client, responder, outsider, search_team):
    published_article(title="Deploy rollback runbook")
    draft_article(title="Rita's own draft", author=responder)
    draft_article(title="Search team draft", team=search_team, author=outsider)
    ArticleFactory(title="Old archived note", state=ArticleState.ARCHIVED)
    client.force_login(responder)

    response = client.get(INDEX)

    assert response.status_code == 200
    assert sorted(result_titles(response)) == ["Deploy rollback runbook", "Rita's own draft"]
    assert "Articles you can read, sorted by recently updated." in html_of(response)


def test_search_ranks_highlights_and_filters(client, responder, payments_team):
    gateway = ServiceFactory(name="gateway", team=payments_team)
    best = published_article(
        title="TLS certificate expired",
        symptoms="Browsers warn that the certificate expired.",
        services=[gateway],
        tags=["tls"],
    )
    other = published_article(
        title="Checkout slow", symptoms="Latency rises; the certificate cache is cold."
    )
    indexed(best, other)
    client.force_login(responder)

    response = client.get(INDEX, {"q": "certificate expired"})

    assert response.status_code == 200
    assert result_titles(response) == ["TLS certificate expired", "Checkout slow"]
    assert "<mark>" in main_of(response)
    assert "Search results for “certificate expired”" in html_of(response)

    filtered = client.get(INDEX, {"q": "certificate", "service": "gateway"})
    assert result_titles(filtered) == ["TLS certificate expired"]
    assert '<option value="gateway" selected>gateway</option>' in html_of(filtered)


def test_search_tolerates_a_typo(client, responder):
    indexed(published_article(title="Renew the TLS certificate", symptoms="Certificate expired."))
    client.force_login(responder)

    response = client.get(INDEX, {"q": "certficate"})

    assert result_titles(response) == ["Renew the TLS certificate"]


def test_search_without_results_offers_to_write_the_article_and_records_a_gap(client, responder):
    indexed(published_article(title="Deploy rollback"))
    client.force_login(responder)

    response = client.get(INDEX, {"q": "kafka consumer lag"})

    main = main_of(response)
    assert result_titles(response) == []
    assert "No articles match “kafka consumer lag”." in main
    assert "Try fewer words, or write the article" in main
    assert f'href="{CREATE}?title=kafka+consumer+lag"' in main
    gap = SearchGap.objects.get()
    assert (gap.example_query, gap.count) == ("kafka consumer lag", 1)


def test_search_shows_the_search_message(client, responder):
    client.force_login(responder)

    response = client.get(INDEX, {"q": "the and of"})

    assert response.status_code == 200
    assert "has only very common words: add a more specific word." in main_of(response)


@pytest.mark.parametrize(
    "query",
    [
        '<script>alert("x")</script>',
        '"unterminated phrase -minus OR AND ( ) * :',
        "ñandú 東京 🚀 \u202e",
        "x" * 2000,
    ],
)
def test_hostile_or_odd_searches_never_fail_and_are_escaped(client, responder, query):
    indexed(published_article(title="Deploy rollback"))
    client.force_login(responder)

    response = client.get(INDEX, {"q": query})

    assert response.status_code == 200
    assert "<script>alert" not in html_of(response)


def test_a_search_over_2000_characters_is_refused_with_a_message(client, responder):
    client.force_login(responder)

    response = client.get(INDEX, {"q": "word " * 401})

    assert response.status_code == 200
    assert "Searches are limited to 2,000 characters" in main_of(response)
    assert SearchGap.objects.count() == 0


def test_invalid_filters_are_ignored_with_an_error(client, responder):
    published_article(title="Deploy rollback")
    client.force_login(responder)

    response = client.get(INDEX, {"state": "bogus", "page": "abc", "sort": "random"})

    assert response.status_code == 200
    assert result_titles(response) == ["Deploy rollback"]
    assert "Select a valid choice. bogus is not one of the available choices." in html_of(response)


def test_pagination_pages_and_caps_the_page(client, responder):
    for number in range(25):
        published_article(title=f"Article {number:02d}")
    client.force_login(responder)

    first = client.get(INDEX, {"sort": "title"})
    second = client.get(INDEX, {"sort": "title", "page": 2})
    far = client.get(INDEX, {"sort": "title", "page": 10_000})

    assert result_titles(first) == [f"Article {n:02d}" for n in range(20)]
    assert 'href="/knowledge/?sort=title&amp;page=2" rel="next"' in html_of(first)
    assert result_titles(second) == [f"Article {n:02d}" for n in range(20, 25)]
    assert 'rel="next"' not in html_of(second)
    assert 'href="/knowledge/?sort=title&amp;page=1" rel="prev"' in html_of(second)
    assert far.status_code == 200
    assert result_titles(far) == []


def test_empty_knowledge_base_says_what_to_do(client, responder):
    client.force_login(responder)

    response = client.get(INDEX)

    assert "No articles yet." in main_of(response)
    assert "Write the first article" in main_of(response)


@pytest.mark.parametrize("params", [{}, {"q": "checkout deploy"}])
def test_list_and_search_cost_the_same_queries_for_5_or_30_articles(
    client, responder, django_assert_num_queries, params
):
    client.force_login(responder)
    tag = TagFactory(name="deploy")
    service = ServiceFactory(name="checkout")

    def make(count: int) -> None:
        for _ in range(count):
            article = published_article(tags=[tag], services=[service])
            index_articles(article_ids=[article.pk])

    make(5)
    client.get(INDEX, params)  # warm caches outside the count
    with django_assert_num_queries(QUERIES_INDEX[bool(params)]) as first:
        client.get(INDEX, params)
    make(25)
    with django_assert_num_queries(len(first.captured_queries)):
        response = client.get(INDEX, params)
    assert len(result_titles(response)) == 20


# session, user, roles, team ids, unread notifications, 3 catalog selects; then the list's
# articles with their services and tags, or the search's vocabulary look-up, ranked ids, and
# the page's articles with their services and tags.
QUERIES_INDEX = {False: 11, True: 13}


# ---------- Article page ----------


def test_article_page_shows_its_structure(client, responder, editor, payments_team):
    service = ServiceFactory(name="gateway", team=payments_team)
    article = published_article(
        title="TLS certificate expired",
        team=payments_team,
        owner=editor,
        services=[service],
        tags=["tls"],
        symptoms="Clients see **expired** certificates.",
        body="",
    )
    attachment = attachment_for(article, name="chain.png")
    ArticleVideoLink.objects.create(
        article=article, url="https://videos.example.com/renew", title="Renewal walkthrough"
    )
    client.force_login(responder)

    response = client.get(article.get_absolute_url())

    main = main_of(response)
    assert response.status_code == 200
    assert "<h1>TLS certificate expired</h1>" in main
    assert '<span class="badge published">Published</span>' in main
    assert "Technical: a system-specific fix" in main
    assert "<dt>Owner</dt>\n          <dd>Erin</dd>" in main
    assert ">Payments</a>" in main
    assert ">gateway</a>" in main
    assert ">tls</a>" in main
    assert timezone.localdate().strftime("%Y") in main
    assert "<p>Clients see <strong>expired</strong> certificates.</p>" in main
    assert '<h2 id="section-symptoms">Symptoms</h2>' in main
    assert 'id="section-body"' not in main  # empty fields are left out
    assert f'<img src="/knowledge/attachments/{attachment.pk}/" alt="chain.png"' in main
    assert '<a href="https://videos.example.com/renew" rel="noopener noreferrer nofollow">' in main
    assert 'Helpful <span class="muted">(0)</span>' in main
    assert 'id="flag-form"' in main
    assert f'href="{url("article_history", article.pk)}"' in main
    assert f'href="{url("article_edit", article.pk)}"' not in main  # a responder cannot edit


def test_article_page_highlights_an_overdue_review_and_open_flags(client, editor, responder):
    article = overdue_article(title="Stale runbook", days_overdue=3, open_flags=1)
    ArticleFeedbackFactory(
        article=article, user=responder, kind="outdated", comment="The port changed to 8443."
    )
    client.force_login(editor)

    main = main_of(client.get(article.get_absolute_url()))

    assert '<span class="badge flagged">Review overdue</span>' in main
    assert ", overdue</strong>" in main
    assert '<span class="badge flagged">Flagged outdated</span>' in main
    assert "The port changed to 8443." in main
    assert "Resolve flags" in main


def test_article_page_with_a_wrong_slug_redirects_to_the_right_one(client, responder):
    article = published_article(title="Deploy rollback")
    client.force_login(responder)

    response = client.get(url("article_detail", article.pk, "wrong-slug"))

    assert response.status_code == 301
    assert response["Location"] == article.get_absolute_url()
    assert client.get(url("article_redirect", article.pk))["Location"] == (
        article.get_absolute_url()
    )


def test_an_outsider_cannot_see_a_draft_of_another_team(client, outsider, responder, payments_team):
    article = draft_article(title="Payments secret draft", team=payments_team, author=responder)
    client.force_login(outsider)

    for page in [
        article.get_absolute_url(),
        url("article_edit", article.pk),
        url("article_history", article.pk),
        url("article_diff", article.pk) + "?from=1&to=1",
    ]:
        assert client.get(page).status_code == 404, page
    assert client.post(url("article_transition", article.pk, "submit")).status_code == 404
    assert "Payments secret draft" not in html_of(client.get(INDEX))


def test_transitions_offered_are_only_those_the_person_may_do(
    client, responder, reviewer, outsider
):
    draft = draft_article(author=responder)
    review = in_review_article(author=responder)
    client.force_login(responder)
    own_draft = main_of(client.get(draft.get_absolute_url()))
    own_review = main_of(client.get(review.get_absolute_url()))
    client.force_login(reviewer)
    reviewing = main_of(client.get(review.get_absolute_url()))

    assert "Submit for review" in own_draft
    assert "Publish" not in own_draft
    assert "Publish</button>" not in own_review
    assert "Publish</button>" in reviewing
    assert "Request changes</button>" in reviewing
    assert "Archive</button>" in reviewing
    assert "Submit for review" not in reviewing


def test_article_page_costs_the_same_queries_with_1_or_many_relations(
    client, editor, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr(knowledge.panels, "_panels", {})  # other apps' panels cost their own
    client.force_login(editor)
    few = published_article(services=[ServiceFactory()], tags=[TagFactory()])
    attachment_for(few)
    many = published_article(
        services=[ServiceFactory() for _ in range(6)], tags=[TagFactory() for _ in range(8)]
    )
    for number in range(4):
        attachment_for(many, name=f"d{number}.png")
        ArticleFeedbackFactory(article=many, kind="outdated", comment=f"flag {number}")

    client.get(few.get_absolute_url())
    with django_assert_num_queries(QUERIES_DETAIL):
        client.get(few.get_absolute_url())
    with django_assert_num_queries(QUERIES_DETAIL):
        client.get(many.get_absolute_url())


# session, user, roles, the article, 4 prefetches (services, tags, attachments, videos), open
# flags with their authors, unread notifications.
QUERIES_DETAIL = 10


def test_panels_registered_by_other_apps_render_in_order(
    client, responder, settings, tmp_path, monkeypatch
):
    monkeypatch.setattr(knowledge.panels, "_panels", {})
    article = published_article(title="Deploy rollback")
    (tmp_path / "panel_a.html").write_text("<h2>Incidents behind it</h2><p>{{ count }}</p>")
    (tmp_path / "panel_b.html").write_text("<p>Second panel for {{ article.title }}</p>")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}
    ]
    client.force_login(responder)
    empty = main_of(client.get(article.get_absolute_url()))
    register_article_panel(
        name="a", template_name="panel_a.html", context=lambda r, a: {"count": 3}
    )
    register_article_panel(name="b", template_name="panel_b.html", context=lambda r, a: {})
    register_article_panel(name="hidden", template_name="panel_a.html", context=lambda r, a: None)
    main = main_of(client.get(article.get_absolute_url()))

    assert "data-panel=" not in empty
    assert main.index('data-panel="a"') < main.index('data-panel="b"')
    assert "<h2>Incidents behind it</h2><p>3</p>" in main
    assert "<p>Second panel for Deploy rollback</p>" in main
    assert 'data-panel="hidden"' not in main


# ---------- Create ----------


def test_create_page_prefills_from_the_address(client, responder, payments_team):
    ServiceFactory(name="gateway", team=payments_team)
    ServiceFactory(name="checkout", team=payments_team)
    client.force_login(responder)

    response = client.get(
        CREATE,
        {
            "title": "Gateway drops <connections>",
            "symptoms": "Timeouts at 30 s",
            "cause": "Pool exhausted",
            "resolution": "Raise the pool",
            "services": "gateway,checkout",
            "tags": "pool, db",
            "team": "payments",
        },
    )

    html = html_of(response)
    assert response.status_code == 200
    assert 'value="Gateway drops &lt;connections&gt;"' in html
    assert ">\nTimeouts at 30 s</textarea>" in html
    assert '<option value="gateway" selected>gateway</option>' in html
    assert '<option value="checkout" selected>checkout</option>' in html
    assert '<option value="payments" selected>Payments</option>' in html
    assert 'value="pool, db"' in html
    assert "<p>Pool exhausted</p>" in html  # the preview of the prefilled cause
    assert 'data-draft-key="kbsite:article-draft:new"' in html
    assert 'hx-post="/knowledge/preview/"' in html
    assert Article.objects.count() == 0


def test_creating_an_article_saves_a_draft_with_revision_1(client, responder, payments_team):
    service = ServiceFactory(name="gateway", team=payments_team)
    client.force_login(responder)

    response = client.post(CREATE, form_data(team="payments", services=["gateway"]), follow=True)

    article = Article.objects.get()
    assert response.redirect_chain == [(article.get_absolute_url(), 302)]
    assert messages_of(response) == ["Draft saved. Submit it for review when it is ready."]
    assert 'class="message draft-saved-new success"' in html_of(response)
    assert (article.title, article.state, article.version) == (
        "TLS certificate expired on the payments gateway",
        ArticleState.DRAFT,
        1,
    )
    assert (article.author, article.team) == (responder, payments_team)
    assert list(article.services.all()) == [service]
    assert sorted(tag.name for tag in article.tags.all()) == ["certificates", "tls"]
    assert article.rendered["symptoms"] == (
        "<p>Clients see <code>certificate has expired</code> and checkout fails.</p>"
    )
    revision = article.revisions.get()
    assert (revision.number, revision.change_note, revision.editor) == (
        1,
        "First version",
        responder,
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "Give the article a title"),
        ({"title": "   "}, "title", "Give the article a title"),
        ({"title": "t" * 201}, "title", "Ensure this value has at most 200 characters"),
        ({"knowledge_type": "gossip"}, "knowledge_type", "Select a valid choice"),
        ({"body": "x" * (MAX_FIELD_LENGTH + 1)}, "body", "limited to 1,000,000 characters"),
        (
            {"tags": ", ".join(f"tag{n}" for n in range(MAX_TAGS + 1))},
            "tags",
            "at most 20 tags; this has 21",
        ),
        ({"tags": "a" * 51}, "tags", "is longer than 50 characters"),
        ({"tags": "!!!"}, "tags", "needs at least one letter or digit"),
        ({"services": ["no-such-service"]}, "services", "There is no service “no-such-service”"),
        ({"team": "no-such-team"}, "team", "That team does not exist"),
        ({"change_note": "n" * 501}, "change_note", "at most 500 characters"),
    ],
)
def test_bad_input_on_create_shows_field_errors_and_saves_nothing(
    client, responder, overrides, field, message
):
    client.force_login(responder)

    response = client.post(CREATE, form_data(**overrides))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert message in unescape(html_of(response))
    assert 'aria-invalid="true"' in html_of(response)
    assert Article.objects.count() == 0
    assert ArticleRevision.objects.count() == 0


def test_bad_input_keeps_what_was_typed(client, responder):
    client.force_login(responder)

    response = client.post(CREATE, form_data(title="", cause="The <b>real</b> cause"))

    assert "The &lt;b&gt;real&lt;/b&gt; cause</textarea>" in html_of(response)


def test_hostile_markup_in_a_new_article_is_stored_but_rendered_inert(client, responder):
    client.force_login(responder)
    payload = (
        '<script>window.__pwned=1</script><img src=x onerror="alert(1)"> [x](javascript:alert(1))'
    )

    client.post(CREATE, form_data(title="<img src=x onerror=alert(1)>", symptoms=payload))

    article = Article.objects.get()
    assert article.symptoms == payload
    main = main_of(client.get(article.get_absolute_url()))
    assert "<script>window" not in main
    assert "onerror" not in main.replace("onerror=alert(1)&gt;", "")
    assert 'href="javascript' not in main
    assert "<h1>&lt;img src=x onerror=alert(1)&gt;</h1>" in main


# ---------- Edit ----------


def test_editing_saves_a_new_version_with_the_change_note(client, editor, responder):
    article = published_article(title="Deploy rollback", author=responder, tags=["deploy"])
    client.force_login(editor)
    page = client.get(url("article_edit", article.pk))
    assert 'name="version" value="1"' in html_of(page)
    assert "deploy</textarea>" not in html_of(page)
    assert 'value="deploy"' in html_of(page)

    response = client.post(
        url("article_edit", article.pk),
        form_data(title="Deploy rollback, step by step", version=1, change_note="Steps"),
        follow=True,
    )

    article.refresh_from_db()
    assert response.redirect_chain == [(article.get_absolute_url(), 302)]
    assert messages_of(response) == ["Saved as version 2."]
    assert (article.title, article.version, article.state) == (
        "Deploy rollback, step by step",
        2,
        ArticleState.PUBLISHED,
    )
    revision = article.revisions.get(number=2)
    assert (revision.editor, revision.change_note) == (editor, "Steps")


def test_a_concurrent_save_is_refused_keeping_the_text_and_showing_a_diff(client, editor, reviewer):
    article = published_article(title="Certificate renewal", resolution="Run certbot renew.")
    other = type(editor).objects.create_user("erik", first_name="Erik")
    other.groups.set(editor.groups.all())
    services.article_update(
        article=article,
        editor=editor,
        content=services.ArticleContent(
            title="Certificate renewal",
            knowledge_type="technical",
            resolution="Run certbot renew --force-renewal.",
        ),
        expected_version=1,
        change_note="Force it",
    )
    client.force_login(other)
    mine = form_data(
        title="Certificate renewal", resolution="Run certbot renew, then reload.", version=1
    )

    response = client.post(url("article_edit", article.pk), mine)

    html = html_of(response)
    assert response.status_code == 409
    assert "Erin saved a newer version while you were editing (version 2)." in html
    assert "Run certbot renew, then reload.</textarea>" in html
    assert 'name="version" value="2"' in html
    conflict = html[
        html.index('id="edit-conflict"') : html.index(
            "</section>", html.index('id="edit-conflict"')
        )
    ]
    assert "<h3>Resolution</h3>" in conflict
    assert "<ins>" in conflict and "--force-renewal." in conflict
    assert snapshot(article)[2] == 2
    assert article.resolution == "Run certbot renew --force-renewal."

    again = client.post(url("article_edit", article.pk), {**mine, "version": 2})

    article.refresh_from_db()
    assert again.status_code == 302
    assert (article.version, article.resolution) == (3, "Run certbot renew, then reload.")


def test_a_state_change_while_editing_is_explained_without_a_diff(client, editor):
    article = draft_article(title="Deploy rollback", author=editor)
    services.article_submit(article=article, user=editor)
    client.force_login(editor)

    response = client.post(url("article_edit", article.pk), form_data(title="New", version=1))

    assert response.status_code == 409
    assert "it is now in review (version 2)" in html_of(response)
    assert Article.objects.get().title == "Deploy rollback"


def test_editing_an_archived_article_is_refused_with_the_reason(client, editor):
    article = ArticleFactory(state=ArticleState.ARCHIVED)
    before = snapshot(article)
    client.force_login(editor)

    response = client.post(url("article_edit", article.pk), form_data(version=1), follow=True)

    assert messages_of(response) == [
        "Archived articles cannot be edited: restore it to a draft first."
    ]
    assert snapshot(article) == before


def test_a_responder_cannot_edit_a_published_article(client, responder):
    article = published_article(author=responder)
    before = snapshot(article)
    client.force_login(responder)

    assert client.get(url("article_edit", article.pk)).status_code == 403
    assert client.post(url("article_edit", article.pk), form_data(version=1)).status_code == 403
    assert snapshot(article) == before


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "Give the article a title"),
        ({"version": ""}, "The form lost track of the version"),
        ({"version": "abc"}, "Enter a whole number"),
        ({"cause": "c" * (MAX_FIELD_LENGTH + 1)}, "limited to 1,000,000 characters"),
        ({"services": ["nope"]}, "There is no service “nope”"),
    ],
)
def test_bad_input_on_edit_changes_nothing(client, editor, overrides, message):
    article = published_article(title="Deploy rollback")
    before = snapshot(article)
    client.force_login(editor)

    response = client.post(
        url("article_edit", article.pk), form_data(**{"version": 1, **overrides})
    )

    assert response.status_code == 400
    assert message in unescape(html_of(response))
    assert snapshot(article) == before


def test_markdown_preview_returns_sanitized_html(client, responder):
    client.force_login(responder)

    response = client.post(
        reverse("knowledge:markdown_preview"),
        {"symptoms": "**503** <script>alert(1)</script> [x](javascript:alert(1))"},
        HTTP_HX_REQUEST="true",
    )

    html = html_of(response)
    assert response.status_code == 200
    assert "<strong>503</strong>" in html
    assert "<script" not in html
    assert "javascript:" not in html


def test_markdown_preview_of_nothing_or_too_much(client, responder):
    client.force_login(responder)
    preview = reverse("knowledge:markdown_preview")

    assert (
        html_of(client.post(preview, {"body": ""}))
        == '<p class="muted">Nothing to preview yet.</p>'
    )
    too_long = html_of(client.post(preview, {"body": "x" * (MAX_FIELD_LENGTH + 1)}))
    assert "limited to 1,000,000 characters" in too_long
    assert client.get(preview).status_code == 405


# ---------- State changes ----------


def test_submit_then_publish(client, responder, reviewer):
    article = draft_article(author=responder)
    client.force_login(responder)

    submitted = client.post(
        url("article_transition", article.pk, "submit"), {"version": 1}, follow=True
    )

    assert messages_of(submitted) == ["Submitted for review. Reviewers will see it in their queue."]
    article.refresh_from_db()
    assert (article.state, article.version) == (ArticleState.IN_REVIEW, 2)

    client.force_login(reviewer)
    published = client.post(
        url("article_transition", article.pk, "publish"), {"version": 2}, follow=True
    )

    assert messages_of(published) == [
        "Published. It is now visible to everyone and found by search."
    ]
    article.refresh_from_db()
    assert (article.state, article.version) == (ArticleState.PUBLISHED, 3)
    assert article.review_due == timezone.localdate() + timedelta(days=180)


def test_a_non_reviewer_cannot_publish(client, responder):
    article = in_review_article(author=responder)
    before = snapshot(article)
    client.force_login(responder)

    response = client.post(url("article_transition", article.pk, "publish"), follow=True)

    assert messages_of(response) == [
        "Publish refused: Only reviewers and editors can publish articles."
    ]
    assert snapshot(article) == before


def test_publishing_a_draft_is_refused_with_the_reason(client, reviewer):
    article = draft_article()
    before = snapshot(article)
    client.force_login(reviewer)

    response = client.post(url("article_transition", article.pk, "publish"), follow=True)

    [message] = messages_of(response)
    assert message.startswith("Publish refused: ")
    assert "draft" in message.lower()
    assert snapshot(article) == before


def test_request_changes_needs_a_comment(client, reviewer, responder):
    article = in_review_article(author=responder)
    before = snapshot(article)
    client.force_login(reviewer)

    refused = client.post(
        url("article_transition", article.pk, "request-changes"), {"comment": " "}, follow=True
    )

    assert messages_of(refused) == [
        "Request changes: Say what needs to change: the author sees this comment."
    ]
    assert snapshot(article) == before

    done = client.post(
        url("article_transition", article.pk, "request-changes"),
        {"comment": "Add the rollback command."},
        follow=True,
    )

    assert messages_of(done) == ["Sent back to the author as a draft, with your comment."]
    article.refresh_from_db()
    assert article.state == ArticleState.DRAFT
    assert article.events.filter(comment="Add the rollback command.").exists()


def test_a_stale_transition_is_refused(client, reviewer):
    article = in_review_article()
    before = snapshot(article)
    client.force_login(reviewer)

    response = client.post(
        url("article_transition", article.pk, "publish"), {"version": 7}, follow=True
    )

    assert messages_of(response) == [
        "Someone changed this article after you opened it. Check the page as it is now and "
        "try again."
    ]
    assert snapshot(article) == before


def test_transitions_are_posts_to_known_actions(client, reviewer):
    article = in_review_article()
    client.force_login(reviewer)

    assert client.get(url("article_transition", article.pk, "publish")).status_code == 405
    assert client.post(f"/knowledge/{article.pk}/explode/").status_code == 404
    oversized = client.post(
        url("article_transition", article.pk, "archive"), {"comment": "c" * 5001}, follow=True
    )
    assert messages_of(oversized) == [
        "Archive: Ensure this value has at most 5000 characters (it has 5001)."
    ]
    assert Article.objects.get().state == ArticleState.IN_REVIEW


def test_archive_restore_and_mark_reviewed(client, editor):
    article = overdue_article(open_flags=1)
    ArticleFeedbackFactory(article=article, kind="outdated", comment="old")
    client.force_login(editor)

    reviewed = client.post(url("article_transition", article.pk, "mark-reviewed"), follow=True)
    article.refresh_from_db()
    assert messages_of(reviewed) == [
        "Marked as reviewed: the next review date is reset and open flags resolved."
    ]
    assert article.review_due > timezone.localdate()
    assert article.open_flags == 0

    client.post(url("article_transition", article.pk, "archive"))
    article.refresh_from_db()
    assert article.state == ArticleState.ARCHIVED
    client.post(url("article_transition", article.pk, "restore"))
    article.refresh_from_db()
    assert article.state == ArticleState.DRAFT


# ---------- Feedback ----------


def test_helpful_votes_count_once_per_person(client, responder):
    article = published_article()
    client.force_login(responder)
    feedback = url("article_feedback", article.pk)

    first = client.post(feedback, {"kind": "helpful"}, follow=True)
    client.post(feedback, {"kind": "helpful"})
    article.refresh_from_db()
    assert messages_of(first) == ["Thanks: marked as helpful."]
    assert (article.helpful_count, article.not_helpful_count) == (1, 0)

    client.post(feedback, {"kind": "not_helpful"})
    article.refresh_from_db()
    assert (article.helpful_count, article.not_helpful_count) == (0, 1)
    assert 'Not helpful <span class="muted">(1)</span>' in html_of(
        client.get(article.get_absolute_url())
    )


def test_flagging_as_outdated_needs_a_comment(client, responder, editor):
    article = published_article(owner=editor)
    client.force_login(responder)
    feedback = url("article_feedback", article.pk)

    for comment in ["", "   ", "c" * 5001]:
        refused = client.post(feedback, {"kind": "outdated", "comment": comment})
        assert refused.status_code == 400
        assert 'id="flag-comment-error"' in html_of(refused)
    assert ArticleFeedback.objects.count() == 0
    assert client.post(feedback, {"kind": "praise"}).status_code == 400

    flagged = client.post(
        feedback, {"kind": "outdated", "comment": "Port is 8443 now."}, follow=True
    )

    article.refresh_from_db()
    assert messages_of(flagged) == ["Flagged as outdated. The owner has been notified."]
    assert article.open_flags == 1
    assert "Port is 8443 now." in main_of(flagged)
    assert Notification.objects.filter(user=editor).count() == 1


def test_flagging_a_draft_is_refused_with_a_message(client, responder):
    article = draft_article(author=responder)
    client.force_login(responder)

    response = client.post(
        url("article_feedback", article.pk), {"kind": "outdated", "comment": "x"}, follow=True
    )

    assert len(messages_of(response)) == 1
    assert ArticleFeedback.objects.count() == 0


def test_an_editor_resolves_flags(client, editor, responder):
    article = published_article(open_flags=1)
    ArticleFeedbackFactory(article=article, user=responder, kind="outdated", comment="old port")
    client.force_login(editor)

    response = client.post(
        url("article_flags_resolve", article.pk), {"comment": "Fixed"}, follow=True
    )

    article.refresh_from_db()
    assert messages_of(response) == ["Flags resolved."]
    assert article.open_flags == 0
    assert ArticleFeedback.objects.get().resolved_by == editor


# ---------- Attachments and videos ----------


def upload(name: str, content: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_uploading_an_image_attaches_it(client, editor):
    article = published_article()
    client.force_login(editor)

    response = client.post(
        url("article_attachment_upload", article.pk),
        {"file": upload("chain.png", PNG_BYTES)},
        follow=True,
    )

    attachment = ArticleAttachment.objects.get()
    assert response.redirect_chain == [(url("article_edit", article.pk) + "#attachments", 302)]
    assert messages_of(response) == [
        f"Uploaded chain.png. To show it in the text, write "
        f"![chain.png](/knowledge/attachments/{attachment.pk}/)"
    ]
    assert (attachment.content_type, attachment.size) == ("image/png", len(PNG_BYTES))
    assert f"![chain.png](/knowledge/attachments/{attachment.pk}/)</code>" in html_of(response)


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (None, "Upload refused: Choose a file to upload."),
        (upload("evil.png", b"#!/bin/sh\nrm -rf /\n"), "Upload refused: Attach a PNG, JPEG"),
        (upload("empty.png", b""), "Upload refused: The file is empty."),
        (
            upload("huge.png", PNG_BYTES + b"\0" * (5 * 1024 * 1024)),
            "Upload refused: The file is 5.0 MiB; attachments may be at most 5 MiB.",
        ),
    ],
)
def test_wrong_uploads_are_refused_clearly(client, editor, file, message):
    article = published_article()
    client.force_login(editor)

    response = client.post(
        url("article_attachment_upload", article.pk), {"file": file} if file else {}, follow=True
    )

    [shown] = messages_of(response)
    assert shown.startswith(message)
    assert ArticleAttachment.objects.count() == 0


def test_a_responder_cannot_upload_to_a_published_article(client, responder):
    article = published_article()
    client.force_login(responder)

    response = client.post(
        url("article_attachment_upload", article.pk),
        {"file": upload("a.png", PNG_BYTES)},
        follow=True,
    )

    assert messages_of(response) == [
        "Upload refused: Only people who can edit this article can attach files."
    ]
    assert ArticleAttachment.objects.count() == 0


def test_attachments_are_served_safely_to_people_who_may_read_them(
    client, responder, outsider, payments_team
):
    article = published_article()
    image = attachment_for(article, name="chain.png")
    svg = attachment_for(article, name="diagram.svg")
    ArticleAttachment.objects.filter(pk=svg.pk).update(content_type="image/svg+xml")
    draft = draft_article(team=payments_team, author=responder)
    secret = attachment_for(draft, name="secret.png")
    client.force_login(responder)

    shown = client.get(url("attachment_download", image.pk))
    downloaded = client.get(url("attachment_download", svg.pk))

    assert shown.status_code == 200
    assert shown["Content-Type"] == "image/png"
    assert shown["X-Content-Type-Options"] == "nosniff"
    assert shown["Content-Disposition"] == 'inline; filename="chain.png"'
    assert b"".join(shown.streaming_content) == PNG_BYTES
    assert downloaded["Content-Disposition"] == 'attachment; filename="diagram.svg"'
    assert downloaded["Content-Type"] == "application/octet-stream"
    assert "sandbox" in downloaded["Content-Security-Policy"]

    client.force_login(outsider)
    assert client.get(url("attachment_download", secret.pk)).status_code == 404
    assert client.get(url("attachment_download", 999_999)).status_code == 404
    client.logout()
    assert client.get(url("attachment_download", image.pk)).status_code == 302


def test_linking_a_video(client, editor):
    article = published_article()
    client.force_login(editor)
    videos = url("article_video_add", article.pk)

    done = client.post(
        videos, {"url": "https://videos.example.com/x", "title": "Walkthrough"}, follow=True
    )

    assert messages_of(done) == ["Linked the video “Walkthrough”."]
    for bad in [
        {"url": "javascript:alert(1)", "title": "x"},
        {"url": "http://videos.example.com/x", "title": "x"},
        {"url": "https://videos.example.com/y", "title": ""},
    ]:
        refused = client.post(videos, bad, follow=True)
        assert messages_of(refused)[0].startswith("Video link refused: ")
    assert list(ArticleVideoLink.objects.values_list("title", flat=True)) == ["Walkthrough"]


# ---------- History ----------


def edited(article: Article, editor, **changes) -> Article:
    content = services.article_content_of(article)
    return services.article_update(
        article=article,
        editor=editor,
        content=services.ArticleContent(**{**content.__dict__, **changes}),
        expected_version=article.version,
        change_note=f"Changed {', '.join(changes)}",
    )


def test_history_lists_revisions_and_events_and_compares_two(client, editor, responder):
    article = published_article(title="Deploy rollback", resolution="Roll back.")
    article = edited(article, editor, resolution="Roll back with helm rollback.")
    client.force_login(responder)

    history = client.get(url("article_history", article.pk))

    main = main_of(history)
    assert re.findall(r'<td class="num">(\d+)</td>', main) == ["2", "1"]
    assert "Changed resolution" in main
    assert "Restore revision" not in main  # a responder cannot edit a published article
    assert '<option value="1" selected>Revision 1</option>' in main

    diff = client.get(url("article_diff", article.pk), {"from": 1, "to": 2})

    main = main_of(diff)
    assert diff.status_code == 200
    assert '<h2 id="diff-1">Resolution</h2>' in main
    assert "<ins>" in main
    assert "Unchanged: Title" in main


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Pick two revisions to compare."),
        ({"from": "1", "to": "1"}, "Pick two different revisions to compare."),
        ({"from": "abc", "to": "2"}, "There is no such revision of this article."),
        ({"from": "1", "to": "99"}, "There is no such revision of this article."),
    ],
)
def test_bad_diff_requests_say_what_is_wrong(client, editor, params, message):
    article = edited(published_article(), editor, title="Second title")
    client.force_login(editor)

    response = client.get(url("article_diff", article.pk), params)

    assert response.status_code == 400
    assert message in html_of(response)


def test_restoring_an_old_revision_creates_a_new_one(client, editor):
    article = published_article(title="First title")
    article = edited(article, editor, title="Second title")
    client.force_login(editor)

    response = client.post(url("article_revert", article.pk, 1), {"version": 2}, follow=True)

    article.refresh_from_db()
    assert messages_of(response) == ["Restored revision 1 as a new revision 3."]
    assert (article.title, article.version) == ("First title", 3)
    assert article.revisions.get(number=3).change_note == "Restored revision 1"


def test_restoring_is_refused_without_permission_or_with_a_stale_version(client, editor, responder):
    article = edited(published_article(title="First title"), editor, title="Second title")
    before = snapshot(article)
    client.force_login(editor)
    stale = client.post(url("article_revert", article.pk, 1), {"version": 1}, follow=True)
    missing = client.post(url("article_revert", article.pk, 1), {}, follow=True)
    unknown = client.post(url("article_revert", article.pk, 9), {"version": 2}, follow=True)
    client.force_login(responder)
    refused = client.post(url("article_revert", article.pk, 1), {"version": 2}, follow=True)

    assert messages_of(stale)[0].startswith("Someone changed this article")
    assert messages_of(missing) == ["Restore refused: This field is required."]
    assert messages_of(unknown) == ["Restore refused: This article has no revision 9."]
    assert messages_of(refused)[0].startswith("Restore refused: Only the author")
    assert snapshot(article) == before


def test_history_costs_the_same_queries_for_2_or_12_revisions(
    client, editor, django_assert_num_queries
):
    client.force_login(editor)
    few = edited(published_article(), editor, title="Two")
    many = published_article()
    for number in range(11):
        many = edited(many, editor, title=f"Title {number}")
        services.article_mark_reviewed(article=many, user=editor)
        many.refresh_from_db()

    client.get(url("article_history", few.pk))
    with django_assert_num_queries(QUERIES_HISTORY):
        client.get(url("article_history", few.pk))
    with django_assert_num_queries(QUERIES_HISTORY):
        client.get(url("article_history", many.pk))


# session, user, roles, the article + 4 prefetches, revisions, events, unread notifications.
QUERIES_HISTORY = 11


# ---------- Review queue, gaps, notifications ----------


def test_review_queue_shows_the_three_sections(client, reviewer, responder):
    in_review_article(title="Waiting article")
    flagged = published_article(title="Flagged article", open_flags=1)
    ArticleFeedbackFactory(article=flagged, user=responder, kind="outdated", comment="Wrong port")
    overdue_article(title="Overdue article", days_overdue=10)
    published_article(title="Fine article")
    client.force_login(reviewer)

    main = main_of(client.get(reverse("knowledge:review_queue")))

    def section(name: str) -> str:
        start = main.index(f'id="{name}"')
        return main[start : main.index("</section>", start)]

    assert "Waiting article" in section("in-review")
    assert "Flagged article" in section("flagged") and "Wrong port" in section("flagged")
    assert "Overdue article" in section("overdue")
    assert "Fine article" not in main


def test_review_queue_and_gaps_are_for_reviewers(client, responder, manager, editor, admin_user):
    for person, status in [(responder, 403), (manager, 403), (editor, 200), (admin_user, 200)]:
        client.force_login(person)
        assert client.get(reverse("knowledge:review_queue")).status_code == status
        assert client.get(reverse("knowledge:search_gaps")).status_code == status
    client.force_login(responder)
    assert "Access denied" in html_of(client.get(reverse("knowledge:review_queue")))


def test_review_queue_costs_the_same_queries_for_few_or_many(
    client, reviewer, django_assert_num_queries
):
    client.force_login(reviewer)

    def make(count: int) -> None:
        for _ in range(count):
            in_review_article()
            flagged = published_article(open_flags=1)
            ArticleFeedbackFactory(article=flagged, kind="outdated", comment="x")
            overdue_article()

    make(1)
    client.get(reverse("knowledge:review_queue"))
    with django_assert_num_queries(QUERIES_QUEUE):
        client.get(reverse("knowledge:review_queue"))
    make(8)
    with django_assert_num_queries(QUERIES_QUEUE):
        client.get(reverse("knowledge:review_queue"))


# session, user, roles, in review, flagged + their open flags, overdue, unread notifications.
QUERIES_QUEUE = 8


def test_knowledge_gaps_list_the_most_frequent_first(client, editor):
    SearchGap.objects.create(normalized_query="kafka lag", example_query="Kafka lag", count=2)
    SearchGap.objects.create(normalized_query="dns <x>", example_query="DNS <x>", count=9)
    client.force_login(editor)

    main = main_of(client.get(reverse("knowledge:search_gaps")))

    assert main.index("DNS &lt;x&gt;") < main.index("Kafka lag")
    assert f'href="{CREATE}?title=DNS+%3Cx%3E">Write this article</a>' in main
    assert '<td class="num">9</td>' in main


def test_notifications_newest_first_and_mark_all_read(client, responder, editor):
    old = Notification.objects.create(
        user=responder,
        text="Old one",
        url="/knowledge/",
        created_at=timezone.now() - timedelta(days=1),
    )
    Notification.objects.create(user=responder, text="New one", url="javascript:alert(1)")
    Notification.objects.create(user=editor, text="Not yours")
    client.force_login(responder)

    page = client.get(reverse("knowledge:notifications"))

    main = main_of(page)
    assert main.index("New one") < main.index("Old one")
    assert "Not yours" not in main
    assert "javascript:" not in main
    assert 'Notifications <span class="badge in_review">2' in main

    response = client.post(reverse("knowledge:notifications_mark_read"), follow=True)

    assert messages_of(response) == ["Marked 2 notifications as read."]
    assert Notification.objects.filter(user=responder, read_at__isnull=True).count() == 0
    assert Notification.objects.filter(user=editor, read_at__isnull=True).count() == 1
    old.refresh_from_db()
    assert old.read_at is not None


def test_every_knowledge_page_needs_sign_in(client):
    article = published_article()
    for page in [
        INDEX,
        CREATE,
        article.get_absolute_url(),
        url("article_edit", article.pk),
        url("article_history", article.pk),
        reverse("knowledge:review_queue"),
        reverse("knowledge:search_gaps"),
        reverse("knowledge:notifications"),
    ]:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/accounts/login/")


def test_a_reviewer_dismisses_a_knowledge_gap(client, editor, responder):
    gap = SearchGap.objects.create(normalized_query="kafka lag", example_query="Kafka lag")
    client.force_login(responder)
    assert client.post(reverse("knowledge:search_gap_dismiss"), {"gap": gap.pk}).status_code == 403
    client.force_login(editor)

    bad = client.post(reverse("knowledge:search_gap_dismiss"), {"gap": "x"}, follow=True)
    done = client.post(reverse("knowledge:search_gap_dismiss"), {"gap": gap.pk}, follow=True)
    again = client.post(reverse("knowledge:search_gap_dismiss"), {"gap": gap.pk}, follow=True)

    assert messages_of(bad) == ["Nothing dismissed: Enter a whole number."]
    assert messages_of(done) == ["Dismissed: it no longer shows in the list."]
    assert messages_of(again) == ["That search was already dismissed."]
    assert "Kafka lag" not in main_of(done)
    gap.refresh_from_db()
    assert gap.dismissed_at is not None
