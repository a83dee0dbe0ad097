"""The postmortem pages: start, the editor (save, conflicts, autosave, lint), findings, action
items, the read view with comments and review transitions, and the markdown export."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from knowledge.models import Article, ArticleState
from knowledge.search import index_articles
from postmortems import services
from postmortems.models import (
    ActionItem,
    Finding,
    Postmortem,
    PostmortemDraft,
    PostmortemRevision,
    Review,
    SectionComment,
)
from tests.knowledge.factories import draft_article, published_article
from tests.postmortems.factories import (
    ActionItemFactory,
    FindingFactory,
    IncidentFactory,
    PostmortemFactory,
    UserFactory,
    complete_sections,
)
from tests.postmortems.view_helpers import html_of, main_of, messages_of, text_of, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def postmortem(payments_team, responder):
    incident = IncidentFactory(
        team=payments_team,
        title="Checkout answers 503",
        started_at=timezone.now() - timedelta(days=2),
    )
    return PostmortemFactory(
        incident=incident, created_by=responder, sections=dict.fromkeys(SECTION_KEYS, "")
    )


SECTION_KEYS = [
    "summary",
    "impact",
    "timeline",
    "root_causes",
    "detection",
    "response",
    "went_well",
    "went_wrong",
    "lucky",
    "lessons",
]


def sections_post(postmortem, **sections) -> dict:
    data = {key: postmortem.sections.get(key, "") for key in postmortem.sections}
    data.update(sections)
    data["version"] = postmortem.version
    return data


def state_of(postmortem) -> tuple:
    postmortem.refresh_from_db()
    return (postmortem.state, postmortem.version, dict(postmortem.sections))


# ---------- Start ----------


def test_responder_starts_the_postmortem_from_the_default_template(
    client, responder, payments_team
):
    incident = IncidentFactory(team=payments_team)
    client.force_login(responder)

    response = client.post(url("postmortem_start", incident.pk), {"template": ""})

    postmortem = Postmortem.objects.get(incident=incident)
    assert response.status_code == 302
    assert response["Location"] == url("postmortem_edit", postmortem.pk)
    assert messages_of(response) == [
        f"Postmortem started from the “{postmortem.template.name}” template."
    ]
    assert postmortem.template.slug == "blameless"


def test_starting_a_second_postmortem_is_refused(client, responder, postmortem):
    client.force_login(responder)

    response = client.post(url("postmortem_start", postmortem.incident_id), {"template": ""})

    assert response.status_code == 302
    assert messages_of(response) == [
        f"This incident already has a postmortem. Postmortem #{postmortem.pk} is this "
        "incident's postmortem; open it instead."
    ]
    assert Postmortem.objects.count() == 1


def test_starting_with_an_unknown_template_is_refused(client, responder, payments_team):
    incident = IncidentFactory(team=payments_team)
    client.force_login(responder)

    response = client.post(url("postmortem_start", incident.pk), {"template": "nope"})

    assert messages_of(response) == ["Choose a template from the list."]
    assert Postmortem.objects.count() == 0


# ---------- The editor ----------


def test_editor_shows_every_section_in_order_with_heading_prompt_and_lint(
    client, responder, postmortem
):
    client.force_login(responder)

    response = client.get(url("postmortem_edit", postmortem.pk))

    assert response.status_code == 200
    rows = response.context["section_rows"]
    assert [row["view"].key for row in rows] == [
        "summary",
        "impact",
        "timeline",
        "root_causes",
        "detection",
        "response",
        "went_well",
        "went_wrong",
        "lucky",
        "lessons",
    ]
    html = html_of(response)
    first = rows[0]["view"]
    assert f'<label for="id_summary">{first.heading}</label>' in html
    assert f'<p class="help" id="prompt-summary">{first.prompt}</p>' in html
    assert f'hx-post="{url("postmortem_lint", postmortem.pk)}"' in html
    assert 'hx-trigger="keyup changed delay:600ms"' in html
    assert 'name="version" value="1"' in html
    assert f'data-autosave-url="{url("postmortem_autosave", postmortem.pk)}"' in html


def test_saving_sections_records_a_revision_and_renders_them(client, responder, postmortem):
    client.force_login(responder)

    response = client.post(
        url("postmortem_edit", postmortem.pk),
        sections_post(postmortem, summary="Checkout **failed**.", change_note="First pass"),
    )

    assert response.status_code == 302
    assert response["Location"] == url("postmortem_edit", postmortem.pk)
    assert messages_of(response) == ["Saved as version 2."]
    postmortem.refresh_from_db()
    assert postmortem.sections["summary"] == "Checkout **failed**."
    assert postmortem.sections_html["summary"] == "<p>Checkout <strong>failed</strong>.</p>"
    revision = PostmortemRevision.objects.get(postmortem=postmortem, number=2)
    assert (revision.editor, revision.change_note) == (responder, "First pass")


def test_a_stale_save_keeps_the_text_names_who_saved_and_shows_their_text(
    client, responder, payments_team, postmortem
):
    colleague = UserFactory(
        username="carla",
        first_name="Carla",
        last_name="Diaz",
        teams=[payments_team],
        roles=["responder"],
    )
    services.postmortem_save_sections(
        postmortem=postmortem,
        user=colleague,
        sections={"summary": "Carla's summary"},
        expected_version=1,
    )
    before = state_of(postmortem)
    client.force_login(responder)

    response = client.post(
        url("postmortem_edit", postmortem.pk),
        {**{key: "" for key in postmortem.sections}, "summary": "Rita's summary", "version": 1},
    )

    assert response.status_code == 409
    assert state_of(postmortem) == before
    html = html_of(response)
    assert "Carla Diaz saved version 2 while you were editing." in text_of(html)
    assert "Rita&#x27;s summary</textarea>" in html
    assert '<pre class="saved-text" data-saved-for="summary">Carla&#x27;s summary</pre>' in html
    assert 'name="version" value="2"' in html


def test_a_concurrent_save_of_another_section_is_merged(
    client, responder, payments_team, postmortem
):
    colleague = UserFactory(teams=[payments_team], roles=["responder"])
    services.postmortem_save_sections(
        postmortem=postmortem,
        user=colleague,
        sections={"impact": "2,300 checkouts"},
        expected_version=1,
    )
    client.force_login(responder)

    response = client.post(
        url("postmortem_edit", postmortem.pk),
        {**{key: "" for key in postmortem.sections}, "summary": "Mine", "version": 1},
    )

    assert response.status_code == 302
    postmortem.refresh_from_db()
    assert (postmortem.sections["summary"], postmortem.sections["impact"]) == (
        "Mine",
        "2,300 checkouts",
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"summary": "x" * 100_001},
            "summary",
            "The section “Summary” is too long: at most 100,000 characters fit.",
        ),
        ({"version": ""}, "version", "This field is required."),
        ({"version": "abc"}, "version", "Enter a whole number."),
        (
            {"change_note": "x" * 501},
            "change_note",
            "Ensure this value has at most 500 characters (it has 501).",
        ),
    ],
)
def test_save_refuses_bad_input_and_changes_nothing(
    client, responder, postmortem, data, field, message
):
    client.force_login(responder)
    before = state_of(postmortem)

    response = client.post(
        url("postmortem_edit", postmortem.pk), {**sections_post(postmortem), **data}
    )

    assert response.status_code == 400
    assert state_of(postmortem) == before
    assert response.context["form"].errors[field] == [
        message.replace("Summary", response.context["section_rows"][0]["view"].heading)
    ]


def test_hostile_markdown_in_a_section_is_sanitized_everywhere(client, responder, postmortem):
    client.force_login(responder)
    hostile = (
        '<script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a>'
    )

    client.post(url("postmortem_edit", postmortem.pk), sections_post(postmortem, summary=hostile))
    lint = client.post(
        url("postmortem_lint", postmortem.pk), {"section": "summary", "summary": hostile}
    )

    for response in (
        client.get(url("postmortem_detail", postmortem.pk)),
        client.get(url("postmortem_edit", postmortem.pk)),
        client.get(url("incident_detail", postmortem.incident_id)),
        lint,
    ):
        html = html_of(response)
        assert "<script>alert(1)" not in html
        assert not re.search(r"<img[^>]*onerror", html)
        assert 'href="javascript' not in html


def test_lint_returns_the_preview_and_each_warning_with_the_phrase_marked(
    client, responder, postmortem
):
    client.force_login(responder)

    response = client.post(
        url("postmortem_lint", postmortem.pk),
        {"section": "root_causes", "root_causes": "A **careless** change. It was human error."},
    )

    assert response.status_code == 200
    html = html_of(response)
    assert (
        '<div class="prose card preview" id="preview-root_causes">'
        "<p>A <strong>careless</strong> change. It was human error.</p></div>" in html
    )
    assert html.count('class="lint-warning"') == 2
    assert "<q>A **<mark>careless</mark>** change. It was human error.</q>" in html
    assert "A judgement of character explains nothing about the system." in html
    assert "<mark>human error</mark>" in html
    assert "Try instead: Describe what made the action look right at the time" in html


def test_lint_of_a_rewritten_sentence_has_no_warning(client, responder, postmortem):
    client.force_login(responder)

    response = client.post(
        url("postmortem_lint", postmortem.pk),
        {"section": "summary", "summary": "The health check failed to connect."},
    )

    assert "No blameless-language warnings." in html_of(response)
    assert "<mark>" not in html_of(response)


def test_lint_refuses_an_unknown_section(client, responder, postmortem):
    client.force_login(responder)
    response = client.post(url("postmortem_lint", postmortem.pk), {"section": "nope", "nope": "x"})
    assert response.status_code == 400
    assert html_of(response) == '<p class="errorlist">Unknown section.</p>'


def test_autosave_keeps_a_server_draft_and_the_editor_offers_to_restore_it(
    client, responder, postmortem
):
    client.force_login(responder)

    saved = client.post(
        url("postmortem_autosave", postmortem.pk),
        sections_post(postmortem, summary="Typed, not saved"),
    )
    page = client.get(url("postmortem_edit", postmortem.pk))
    restored = client.get(url("postmortem_edit", postmortem.pk), {"restore": "draft"})

    assert saved.status_code == 200
    assert "Draft autosaved at" in html_of(saved)
    draft = PostmortemDraft.objects.get(postmortem=postmortem, user=responder)
    assert (draft.sections["summary"], draft.based_on_version) == ("Typed, not saved", 1)
    assert state_of(postmortem)[2]["summary"] == ""
    assert "Restore your unsaved text" in html_of(page)
    assert 'href="?restore=draft"' in html_of(page)
    assert "Typed, not saved</textarea>" in html_of(restored)
    assert "Restore your unsaved text" not in html_of(restored).replace(
        "data-draft-restore>Restore your unsaved text", ""
    )


def test_saving_clears_the_server_draft(client, responder, postmortem):
    client.force_login(responder)
    client.post(
        url("postmortem_autosave", postmortem.pk), sections_post(postmortem, summary="Draft")
    )

    client.post(url("postmortem_edit", postmortem.pk), sections_post(postmortem, summary="Draft"))
    page = client.get(url("postmortem_edit", postmortem.pk))

    assert PostmortemDraft.objects.count() == 0
    assert 'id="server-draft"' not in html_of(page)


@pytest.mark.parametrize(
    ("data", "status"),
    [({"summary": "x" * 100_001}, 400), ({"version": "0"}, 400), ({"version": "99"}, 400)],
)
def test_autosave_refuses_bad_input_and_keeps_nothing(client, responder, postmortem, data, status):
    client.force_login(responder)

    response = client.post(
        url("postmortem_autosave", postmortem.pk), {**sections_post(postmortem), **data}
    )

    assert response.status_code == status
    assert "Not autosaved:" in html_of(response)
    assert PostmortemDraft.objects.count() == 0


# ---------- Findings ----------


def test_finding_linked_to_an_article_through_the_inline_search(client, responder, postmortem):
    article = published_article(title="Readiness probes for checkout")
    index_articles(article_ids=[article.pk])
    client.force_login(responder)

    search = client.get(url("article_search_inline"), {"q": "readiness probes", "purpose": "link"})
    response = client.post(
        url("finding_add", postmortem.pk),
        {
            "text": "The probe checked the wrong port",
            "kind": "root_cause",
            "link_article": article.pk,
        },
    )

    assert (
        f'<button class="btn" type="submit" name="link_article" value="{article.pk}">Link'
        in html_of(search)
    )
    finding = Finding.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("postmortem_edit", postmortem.pk) + f"#finding-{finding.pk}"
    assert messages_of(response) == [
        "Finding recorded and linked to “Readiness probes for checkout”."
    ]
    assert (finding.outcome, finding.article, finding.kind) == ("linked", article, "root_cause")


def test_inline_search_names_the_button_for_the_edit_form_it_is_in(client, responder):
    article = published_article(title="Readiness probes for checkout")
    index_articles(article_ids=[article.pk])
    client.force_login(responder)

    response = client.get(
        url("article_search_inline"), {"q": "readiness", "form_prefix": "finding-7"}
    )
    hostile = client.get(
        url("article_search_inline"), {"q": "readiness", "form_prefix": '"><script>'}
    )

    assert f'name="finding-7-link_article" value="{article.pk}"' in html_of(response)
    assert f'name="link_article" value="{article.pk}"' in html_of(hostile)
    assert "<script>" not in html_of(hostile)


def test_inline_search_of_nothing_is_empty_and_a_miss_says_so(client, responder):
    client.force_login(responder)
    assert html_of(client.get(url("article_search_inline"), {"q": ""})).strip() == ""
    assert "No articles match “zzqx”." in html_of(
        client.get(url("article_search_inline"), {"q": "zzqx"})
    )


def test_finding_spawns_a_draft_article_and_the_editor_links_it(client, responder, postmortem):
    client.force_login(responder)

    response = client.post(
        url("finding_add", postmortem.pk),
        {"text": "Rollbacks need a runbook", "kind": "process_gap", "outcome": "spawn"},
    )

    finding = Finding.objects.get()
    article = finding.article
    assert messages_of(response) == [
        "Finding recorded, and a draft article “Rollbacks need a runbook” spawned from it."
    ]
    assert (finding.outcome, article.state, article.author) == (
        "spawned",
        ArticleState.DRAFT,
        responder,
    )
    page = client.get(url("postmortem_edit", postmortem.pk))
    assert f'<a href="{article.get_absolute_url()}">Rollbacks need a runbook</a>' in html_of(page)


def test_finding_with_nothing_to_capture_needs_a_reason(client, responder, postmortem):
    client.force_login(responder)

    refused = client.post(
        url("finding_add", postmortem.pk),
        {"text": "Luck", "kind": "what_worked", "outcome": "nothing"},
    )
    accepted = client.post(
        url("finding_add", postmortem.pk),
        {
            "text": "Luck",
            "kind": "what_worked",
            "outcome": "nothing",
            "no_article_reason": "One-off",
        },
    )

    assert refused.status_code == 400
    assert refused.context["finding_form"].errors["no_article_reason"] == [
        "Say why there is nothing to capture."
    ]
    assert accepted.status_code == 302
    finding = Finding.objects.get()
    assert (finding.outcome, finding.no_article_reason) == ("nothing_to_capture", "One-off")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"text": "", "kind": "root_cause"}, "text", "Describe the finding."),
        (
            {"text": "x" * 10_001, "kind": "root_cause"},
            "text",
            "The finding is too long: at most 10,000 characters fit.",
        ),
        (
            {"text": "x", "kind": "blame"},
            "kind",
            "Select a valid choice. blame is not one of the available choices.",
        ),
        (
            {"text": "x", "kind": "root_cause", "outcome": "link"},
            "article",
            "Choose the article to link: search for it, or type its number.",
        ),
        (
            {"text": "x", "kind": "root_cause", "outcome": "link", "article": "999999"},
            "article",
            "That article was not found.",
        ),
        (
            {"text": "x", "kind": "root_cause", "outcome": "teleport"},
            "outcome",
            "Select a valid choice. teleport is not one of the available choices.",
        ),
    ],
)
def test_finding_add_refuses_bad_input_and_adds_nothing(
    client, responder, postmortem, data, field, message
):
    client.force_login(responder)

    response = client.post(url("finding_add", postmortem.pk), data)

    assert response.status_code == 400
    assert Finding.objects.count() == 0
    assert Article.objects.count() == 0
    assert response.context["finding_form"].errors[field] == [message]


def test_finding_linked_to_an_article_the_user_cannot_see_is_refused(
    client, responder, postmortem, search_team
):
    hidden = draft_article(team=search_team, title="Secret")
    client.force_login(responder)

    response = client.post(
        url("finding_add", postmortem.pk),
        {"text": "x", "kind": "root_cause", "outcome": "link", "article": hidden.pk},
    )

    assert response.status_code == 400
    assert Finding.objects.count() == 0
    assert response.context["finding_form"].errors["article"] == ["That article was not found."]


def test_finding_edit_sets_the_outcome_moves_and_deletes(client, responder, postmortem):
    first = FindingFactory(postmortem=postmortem, text="First", position=1)
    second = FindingFactory(postmortem=postmortem, text="Second", position=2)
    article = published_article(title="Runbook")
    client.force_login(responder)
    prefix = f"finding-{first.pk}"

    edited = client.post(
        url("finding_edit", first.pk),
        {
            "action": "save",
            f"{prefix}-text": "First, reworded",
            f"{prefix}-kind": "detection_gap",
            f"{prefix}-link_article": article.pk,
        },
    )
    client.post(url("finding_edit", second.pk), {"action": "up"})
    order = list(
        Finding.objects.filter(postmortem=postmortem)
        .order_by("position")
        .values_list("pk", flat=True)
    )
    deleted = client.post(url("finding_edit", second.pk), {"action": "delete"})

    first.refresh_from_db()
    assert messages_of(edited)[0] == "Finding saved and linked to “Runbook”."
    assert (first.text, first.kind, first.outcome, first.article) == (
        "First, reworded",
        "detection_gap",
        "linked",
        article,
    )
    assert order == [second.pk, first.pk]
    assert messages_of(deleted)[-1] == "Finding removed."
    assert list(Finding.objects.values_list("pk", flat=True)) == [first.pk]


def test_finding_edit_refuses_oversized_text_and_changes_nothing(client, responder, postmortem):
    finding = FindingFactory(postmortem=postmortem, text="First")
    client.force_login(responder)
    prefix = f"finding-{finding.pk}"

    response = client.post(
        url("finding_edit", finding.pk),
        {"action": "save", f"{prefix}-text": "x" * 10_001, f"{prefix}-kind": "root_cause"},
    )

    assert response.status_code == 400
    finding.refresh_from_db()
    assert finding.text == "First"
    assert "The finding is too long: at most 10,000 characters fit." in html_of(response)


# ---------- Action items ----------


def test_action_item_gets_the_default_due_date_of_its_priority(client, responder, postmortem):
    client.force_login(responder)

    response = client.post(
        url("action_item_add", postmortem.pk),
        {
            "title": "Gate rollouts on readiness",
            "priority": "p1",
            "owner": "rita",
            "tracker_url": "https://tracker.example.com/T-1",
        },
    )

    item = ActionItem.objects.get()
    due = timezone.localdate() + timedelta(days=7)
    assert messages_of(response) == [f"Action item added, due {due:%Y-%m-%d}."]
    assert (item.title, item.priority, item.owner, item.due_date, item.status) == (
        "Gate rollouts on readiness",
        "p1",
        responder,
        due,
        "open",
    )


def test_action_item_wont_do_needs_a_reason(client, responder, postmortem):
    item = ActionItemFactory(postmortem=postmortem, title="Rewrite everything")
    client.force_login(responder)
    prefix = f"item-{item.pk}"
    data = {
        f"{prefix}-title": item.title,
        f"{prefix}-priority": "p2",
        f"{prefix}-status": "wont_do",
        f"{prefix}-version": item.version,
        f"{prefix}-due_date": item.due_date.isoformat(),
    }

    refused = client.post(url("action_item_edit", item.pk), data)
    item.refresh_from_db()
    assert refused.status_code == 400
    assert item.status == "open"
    assert "Say why this will not be done, so that the decision can be reviewed." in html_of(
        refused
    )

    accepted = client.post(
        url("action_item_edit", item.pk), {**data, f"{prefix}-status_reason": "Too costly"}
    )
    item.refresh_from_db()
    assert accepted.status_code == 302
    assert (item.status, item.status_reason, item.version) == ("wont_do", "Too costly", 2)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": ""}, "title", "Give the action item a title."),
        ({"title": "x" * 301}, "title", "The title is too long: at most 300 characters fit."),
        (
            {"title": "x", "priority": "p9"},
            "priority",
            "Select a valid choice. p9 is not one of the available choices.",
        ),
        ({"title": "x", "due_date": "tomorrow"}, "due_date", "Give the due date like 2026-03-31."),
        ({"title": "x", "due_date": "2000-01-01"}, "due_date", None),
        (
            {"title": "x", "tracker_url": "javascript:alert(1)"},
            "tracker_url",
            "Give the tracker link as an http or https address.",
        ),
        (
            {"title": "x", "owner": "nobody"},
            "owner",
            "No active person has the username “nobody”; pick one from the suggestions.",
        ),
    ],
)
def test_action_item_add_refuses_bad_input_and_adds_nothing(
    client, responder, postmortem, data, field, message
):
    client.force_login(responder)

    response = client.post(url("action_item_add", postmortem.pk), {"priority": "p2", **data})

    assert response.status_code == 400
    assert ActionItem.objects.count() == 0
    errors = response.context["action_form"].errors[field]
    assert (
        errors == [message]
        if message
        else errors[0].startswith("The due date 2000-01-01 is before")
    )


def test_editor_suggests_owners_from_one_shared_list_of_active_people(
    client, responder, reviewer, postmortem
):
    ActionItemFactory(postmortem=postmortem, owner=reviewer)
    ActionItemFactory(postmortem=postmortem)
    UserFactory(username="gone", is_active=False)
    client.force_login(responder)

    page = html_of(client.get(url("postmortem_edit", postmortem.pk)))

    assert page.count('<datalist id="people-list">') == 1
    listed = re.findall(
        r'<option value="([^"]+)">',
        page.split('<datalist id="people-list">')[1].split("</datalist>")[0],
    )
    active = User.objects.filter(is_active=True).order_by("username")
    assert listed == list(active.values_list("username", flat=True))
    assert {"rita", "rob"} <= set(listed) and "gone" not in listed
    # The new item's form and each item's edit form type into the same list.
    assert page.count('list="people-list"') == 3
    assert 'value="rob"' in page


def test_action_item_owner_is_taken_by_username(client, responder, reviewer, postmortem):
    client.force_login(responder)

    response = client.post(
        url("action_item_add", postmortem.pk),
        {"title": "Add a canary", "priority": "p2", "owner": "rob"},
    )

    assert response.status_code == 302
    assert ActionItem.objects.get().owner == reviewer


def test_action_items_page_lists_open_and_overdue_items_with_filters(
    client, responder, payments_team, search_team, postmortem
):
    overdue = ActionItemFactory(
        postmortem=postmortem,
        title="Overdue one",
        owner=responder,
        team=payments_team,
        due_date=timezone.localdate() - timedelta(days=3),
    )
    upcoming = ActionItemFactory(postmortem=postmortem, title="Upcoming one", team=payments_team)
    ActionItemFactory(postmortem=postmortem, title="Done one", status="done", team=payments_team)
    other = PostmortemFactory(incident=IncidentFactory(team=search_team))
    ActionItemFactory(postmortem=other, title="Search team item", team=search_team)
    client.force_login(responder)

    everything = client.get(url("action_items"))
    mine = client.get(url("action_items"), {"owner": "rita"})
    late = client.get(url("action_items"), {"overdue": "on", "team": "payments"})
    nobody = client.get(url("action_items"), {"owner": "ghost"})

    def titles(response):
        return [row["item"].title for row in response.context["rows"]]

    assert titles(everything) == ["Overdue one", "Upcoming one", "Search team item"]
    assert [row["overdue"] for row in everything.context["rows"]] == [True, False, False]
    assert f'<tr class="overdue" data-item-id="{overdue.pk}">' in html_of(everything)
    assert "3 open items, 1 overdue." in text_of(main_of(everything))
    assert titles(mine) == ["Overdue one"]
    assert titles(late) == ["Overdue one"]
    assert titles(nobody) == []
    assert "No one has the username “ghost”." in html_of(nobody)
    assert upcoming.pk


# ---------- The read view, comments and transitions ----------


def test_postmortem_page_shows_sections_warnings_comments_reviews_and_spawned_articles(
    client, reviewer, responder, postmortem
):
    services.postmortem_save_sections(
        postmortem=postmortem,
        user=responder,
        sections={"summary": "It was **human error**.", "impact": "2,300 checkouts"},
        expected_version=1,
    )
    spawned = FindingFactory(
        postmortem=postmortem,
        outcome="spawned",
        article=draft_article(title="New runbook", author=responder),
    )
    SectionComment.objects.create(
        postmortem=postmortem, section_key="impact", author=reviewer, text="How many users?"
    )
    client.force_login(responder)

    response = client.get(url("postmortem_detail", postmortem.pk))

    html = html_of(response)
    text = text_of(main_of(response))
    assert "<p>It was <strong>human error</strong>.</p>" in html
    assert (
        "<mark>human error</mark> — “Human error” ends the inquiry where it should begin." in html
    )
    assert "rob : How many users?" in text
    assert (
        "Articles this postmortem spawned New runbook Draft "
        "Publishing the postmortem publishes them." in text
    )
    assert "It is a draft: submit it for review first." in text
    assert [t.action for t in response.context["transitions"]] == ["submit"]
    assert spawned.pk


def test_reviewer_comments_on_a_section(client, reviewer, postmortem):
    client.force_login(reviewer)

    response = client.post(
        url("section_comment_add", postmortem.pk), {"section_key": "impact", "text": "Add numbers"}
    )

    assert response.status_code == 302
    assert response["Location"] == url("postmortem_detail", postmortem.pk) + "#section-impact"
    comment = SectionComment.objects.get()
    assert (comment.section_key, comment.author, comment.text) == (
        "impact",
        reviewer,
        "Add numbers",
    )


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"section_key": "impact", "text": ""}, 400),
        ({"section_key": "impact", "text": "x" * 5001}, 400),
        ({"section_key": "nope", "text": "x"}, 400),
    ],
)
def test_section_comment_refuses_bad_input(client, reviewer, postmortem, data, status):
    client.force_login(reviewer)

    response = client.post(url("section_comment_add", postmortem.pk), data)

    assert response.status_code == status
    assert SectionComment.objects.count() == 0


def test_submit_request_changes_approve_and_publish(
    client, responder, postmortem, payments_team, search_team
):
    other_reviewer = UserFactory(username="vic", roles=["reviewer"], teams=[search_team])
    services.postmortem_save_sections(
        postmortem=postmortem, user=responder, sections=complete_sections(), expected_version=1
    )
    client.force_login(responder)
    submitted = client.post(url("postmortem_transition", postmortem.pk, "submit"))
    assert messages_of(submitted) == [
        "Submitted for review. Reviewers can now approve it or ask for changes."
    ]
    assert state_of(postmortem)[0] == "in_review"

    client.force_login(other_reviewer)
    refused = client.post(
        url("postmortem_transition", postmortem.pk, "request-changes"), {"comment": ""}
    )
    assert refused.status_code == 400
    assert "Say what to change." in html_of(refused)
    assert state_of(postmortem)[0] == "in_review"

    changes = client.post(
        url("postmortem_transition", postmortem.pk, "request-changes"),
        {"comment": "Quantify impact"},
    )
    assert messages_of(changes)[-1] == "Sent back to its authors with your comment."
    assert state_of(postmortem)[0] == "changes_requested"

    client.force_login(responder)
    client.post(url("postmortem_transition", postmortem.pk, "submit"))
    client.force_login(other_reviewer)
    approved = client.post(
        url("postmortem_transition", postmortem.pk, "approve"), {"comment": "Good"}
    )
    assert messages_of(approved)[-1] == "Approval recorded."
    assert state_of(postmortem)[0] == "approved"

    published = client.post(url("postmortem_transition", postmortem.pk, "publish"))
    assert messages_of(published)[-1] == "Published."
    assert state_of(postmortem)[0] == "published"
    assert list(Review.objects.order_by("created_at").values_list("decision", flat=True)) == [
        "changes_requested",
        "approved",
    ]


def test_an_author_who_reviews_cannot_approve(client, reviewer, responder, postmortem):
    """rob is a reviewer in the owning team: an author of the postmortem."""
    services.postmortem_save_sections(
        postmortem=postmortem, user=responder, sections=complete_sections(), expected_version=1
    )
    services.postmortem_submit(postmortem=postmortem, user=responder)
    before = state_of(postmortem)
    client.force_login(reviewer)

    page = client.get(url("postmortem_detail", postmortem.pk))
    response = client.post(
        url("postmortem_transition", postmortem.pk, "approve"), {"comment": "LGTM"}
    )

    assert [t.action for t in page.context["transitions"]] == []
    assert response.status_code == 403
    assert (
        "You are one of this postmortem&#x27;s authors; "
        "a reviewer who did not write it must approve it." in html_of(response)
    )
    assert state_of(postmortem) == before
    assert Review.objects.count() == 0


def test_a_refused_publish_lists_every_reason(client, responder, postmortem):
    FindingFactory(postmortem=postmortem, text="Unresolved lesson")
    services.postmortem_save_sections(
        postmortem=postmortem,
        user=responder,
        sections={"summary": "Someone forgot to check."},
        expected_version=1,
    )
    before = state_of(postmortem)
    client.force_login(responder)

    response = client.post(url("postmortem_transition", postmortem.pk, "publish"))

    assert response.status_code == 409
    assert state_of(postmortem) == before
    reasons = response.context["refusal"].reasons
    assert reasons[0] == "It is a draft: submit it for review first."
    assert any(
        reason.startswith("Finding 1 (“Unresolved lesson”) has no knowledge outcome")
        for reason in reasons
    )
    assert any("blameless-language warning" in reason for reason in reasons)
    html = html_of(response)
    assert '<ul class="reasons">' in html
    assert html.count(
        "<li>",
        html.index('<ul class="reasons">'),
        html.index("</ul>", html.index('<ul class="reasons">')),
    ) == len(reasons)


def test_publish_needs_the_warnings_acknowledged(client, responder, postmortem, search_team):
    other_reviewer = UserFactory(username="vic", roles=["reviewer"], teams=[search_team])
    services.postmortem_save_sections(
        postmortem=postmortem,
        user=responder,
        sections=complete_sections(summary="It was obviously a config push."),
        expected_version=1,
    )
    services.postmortem_submit(postmortem=postmortem, user=responder)
    services.postmortem_approve(postmortem=postmortem, user=other_reviewer)
    client.force_login(responder)

    page = client.get(url("postmortem_detail", postmortem.pk))
    refused = client.post(url("postmortem_transition", postmortem.pk, "publish"))
    assert "Acknowledge the 1 blameless-language warning and publish anyway" in html_of(page)
    assert refused.status_code == 409
    assert state_of(postmortem)[0] == "approved"

    published = client.post(
        url("postmortem_transition", postmortem.pk, "publish"), {"acknowledge_warnings": "on"}
    )
    assert published.status_code == 302
    assert state_of(postmortem)[0] == "published"


def test_a_stale_transition_is_refused(client, responder, postmortem):
    services.postmortem_save_sections(
        postmortem=postmortem, user=responder, sections=complete_sections(), expected_version=1
    )
    before = state_of(postmortem)
    client.force_login(responder)

    response = client.post(url("postmortem_transition", postmortem.pk, "submit"), {"version": "1"})

    assert response.status_code == 409
    assert state_of(postmortem) == before


def test_unknown_transition_is_404(client, responder, postmortem):
    client.force_login(responder)
    assert client.post(f"/postmortems/{postmortem.pk}/delete/").status_code == 404


# ---------- Export ----------


def test_export_downloads_the_markdown(client, responder, postmortem):
    services.postmortem_save_sections(
        postmortem=postmortem,
        user=responder,
        sections={"summary": "Checkout failed."},
        expected_version=1,
    )
    client.force_login(responder)

    response = client.get(url("postmortem_export", postmortem.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="incident-{postmortem.incident_id}-checkout-answers-503.md"'
    )
    assert "Checkout failed." in response.content.decode()
