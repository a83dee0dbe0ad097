"""The incident pages: list with filters, create and edit, status buttons, the incident page,
its timeline and the articles used during the response. Happy paths with exact content, and bad
input that changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from knowledge.search import index_articles
from postmortems.models import ArticleUse, Incident, IncidentStatus, TimelineEntry
from tests.knowledge.factories import draft_article, published_article
from tests.postmortems.factories import (
    ArticleUseFactory,
    FindingFactory,
    IncidentFactory,
    PostmortemFactory,
    RootCauseCategoryFactory,
    ServiceFactory,
    TimelineEntryFactory,
    UserFactory,
)
from tests.postmortems.view_helpers import (
    html_of,
    incident_ids_listed,
    index_all_articles,
    main_of,
    messages_of,
    text_of,
    url,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def utc(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def snapshot(incident: Incident) -> dict:
    incident.refresh_from_db()
    return {
        "title": incident.title,
        "summary": incident.summary,
        "status": incident.status,
        "version": incident.version,
        "started_at": incident.started_at,
        "detected_at": incident.detected_at,
        "resolved_at": incident.resolved_at,
    }


# ---------- The list ----------


def test_list_shows_visible_incidents_newest_first_with_their_postmortem_state(
    client, responder, payments_team
):
    older = IncidentFactory(team=payments_team, title="DNS outage", started_at=utc(0))
    newer = IncidentFactory(team=payments_team, title="Checkout 503", started_at=utc(60))
    PostmortemFactory(incident=newer, state="in_review")
    client.force_login(responder)

    response = client.get(url("index"))

    assert response.status_code == 200
    assert incident_ids_listed(response) == [newer.pk, older.pk]
    text = text_of(main_of(response))
    assert f"#{newer.pk} Checkout 503 SEV2 — major Open {payments_team.name}" in text
    assert "2026-01-10 10:00 In review" in text
    assert "2026-01-10 09:00 Not started" in text


def test_list_filters_by_severity_status_team_service_dates_state_and_title(
    client, responder, payments_team, search_team
):
    checkout = ServiceFactory(name="checkout", team=payments_team)
    match = IncidentFactory(
        team=payments_team,
        title="Checkout answers 503",
        severity="sev1",
        services=[checkout],
        started_at=utc(0),
        resolved_at=utc(30),
        status="resolved",
    )
    PostmortemFactory(incident=match, state="published")
    IncidentFactory(team=payments_team, title="Checkout slow", severity="sev3", started_at=utc(0))
    IncidentFactory(team=search_team, title="Checkout index", severity="sev1", started_at=utc(0))
    IncidentFactory(
        team=payments_team, title="Checkout later", severity="sev1", started_at=utc(60 * 24 * 3)
    )
    client.force_login(responder)

    response = client.get(
        url("index"),
        {
            "q": "checkout",
            "severity": "sev1",
            "status": "resolved",
            "team": "payments",
            "service": "checkout",
            "started_from": "2026-01-10",
            "started_to": "2026-01-11",
            "postmortem_state": "published",
        },
    )

    assert incident_ids_listed(response) == [match.pk]


def test_list_search_is_over_the_title_and_ignores_invalid_filters(
    client, responder, payments_team
):
    dns = IncidentFactory(team=payments_team, title="DNS resolution failed", summary="")
    IncidentFactory(team=payments_team, title="Checkout 503", summary="")
    client.force_login(responder)

    response = client.get(url("index"), {"q": "  dns  ", "severity": "sev9", "page": "x"})

    assert response.status_code == 200
    assert incident_ids_listed(response) == [dns.pk]


def test_list_paginates_and_keeps_the_filters(client, responder, payments_team):
    for minute in range(27):
        IncidentFactory(team=payments_team, started_at=utc(minute), severity="sev2")
    client.force_login(responder)

    first = client.get(url("index"), {"severity": "sev2"})
    second = client.get(url("index"), {"severity": "sev2", "page": "2"})

    assert len(incident_ids_listed(first)) == 25
    assert 'href="/postmortems/?severity=sev2&amp;page=2"' in html_of(first)
    assert len(incident_ids_listed(second)) == 2
    assert 'href="/postmortems/?severity=sev2&amp;page=1"' in html_of(second)


def test_list_says_when_nothing_matches(client, responder):
    client.force_login(responder)
    response = client.get(url("index"), {"q": "nothing like this"})
    assert "No incidents match." in text_of(main_of(response))


# ---------- Create ----------


def create_data(owning_team, /, **overrides) -> dict:
    data = {
        "title": "Checkout answers 503",
        "summary": "Checkout **failed** after the deploy.",
        "severity": "sev2",
        "team": owning_team.slug,
        "tags": "deploy, checkout",
        "started_at": local(utc(0)),
        "detected_at": local(utc(4)),
        "mitigated_at": "",
        "resolved_at": "",
        "visibility": "internal",
        "external_source": "pagerduty",
        "external_id": "PD-1",
        "external_url": "https://pagerduty.example.com/incidents/PD-1",
    }
    data.update(overrides)
    return data


def test_responder_opens_an_incident_with_utc_times(client, responder, payments_team):
    checkout = ServiceFactory(name="checkout", team=payments_team)
    category = RootCauseCategoryFactory(name="Flaky vendor", slug="flaky-vendor")
    client.force_login(responder)

    response = client.post(
        url("incident_create"),
        create_data(
            payments_team,
            services=["checkout"],
            commander="rita",
            responders=["rita"],
            root_cause_category=category.slug,
        ),
    )

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("incident_detail", incident.pk)
    assert messages_of(response) == [f"Incident #{incident.pk} opened."]
    assert incident.title == "Checkout answers 503"
    assert incident.started_at == utc(0)
    assert incident.detected_at == utc(4)
    assert incident.status == IncidentStatus.OPEN
    assert incident.summary_html == "<p>Checkout <strong>failed</strong> after the deploy.</p>"
    assert list(incident.services.all()) == [checkout]
    assert sorted(tag.name for tag in incident.tags.all()) == ["checkout", "deploy"]
    assert incident.commander == responder
    assert list(incident.responders.all()) == [responder]
    assert incident.root_cause_category == category
    assert incident.created_by == responder


def test_create_refuses_times_out_of_order_naming_the_field(client, responder, payments_team):
    client.force_login(responder)

    response = client.post(
        url("incident_create"),
        create_data(payments_team, detected_at=local(utc(10)), mitigated_at=local(utc(5))),
    )

    assert response.status_code == 400
    assert Incident.objects.count() == 0
    errors = response.context["form"].errors
    assert list(errors) == ["mitigated_at"]
    assert errors["mitigated_at"] == [
        "The mitigated time (2026-01-10 09:05 UTC) is before the detected time "
        "(2026-01-10 09:10 UTC)."
    ]
    # What was typed stays in the form.
    assert 'value="Checkout answers 503"' in html_of(response)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "Give the incident a title."),
        ({"title": "x" * 201}, "title", "The title is too long: at most 200 characters fit."),
        ({"started_at": ""}, "started_at", "Give the time the incident started."),
        (
            {"started_at": "yesterday"},
            "started_at",
            "Give a date and time like 2026-03-01 14:05 (UTC).",
        ),
        ({"team": "nope"}, "team", "That team does not exist: pick one from the list."),
        (
            {"severity": "sev9"},
            "severity",
            "Select a valid choice. sev9 is not one of the available choices.",
        ),
        (
            {"summary": "x" * 20_001},
            "summary",
            "The summary is too long: at most 20,000 characters fit.",
        ),
        (
            {"external_url": "javascript:alert(1)"},
            "external_url",
            "Give the external link as an http or https address.",
        ),
        (
            {"started_at": local(timezone.now() + timedelta(days=2))},
            "started_at",
            "The start time is in the future.",
        ),
    ],
)
def test_create_refuses_bad_input_and_saves_nothing(
    client, responder, payments_team, overrides, field, message
):
    client.force_login(responder)

    response = client.post(url("incident_create"), create_data(payments_team, **overrides))

    assert response.status_code == 400
    assert Incident.objects.count() == 0
    assert response.context["form"].errors[field] == [message]


def test_hostile_markdown_in_the_summary_is_sanitized(client, responder, payments_team):
    client.force_login(responder)
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>[x](javascript:alert(3))"

    client.post(url("incident_create"), create_data(payments_team, summary=hostile))
    incident = Incident.objects.get()
    page = html_of(client.get(url("incident_detail", incident.pk)))

    assert incident.summary == hostile
    assert "<script>alert(1)" not in page
    assert "onerror" not in page
    assert 'href="javascript' not in page


def test_people_without_the_responder_role_get_the_403_page(client, manager, payments_team):
    client.force_login(manager)

    shown = client.get(url("incident_create"))
    posted = client.post(url("incident_create"), create_data(payments_team))

    assert shown.status_code == 403
    assert "You don't have access to this" in html_of(shown)
    assert posted.status_code == 403
    assert Incident.objects.count() == 0


# ---------- Edit and status ----------


def test_edit_form_shows_the_times_in_utc(client, responder, payments_team):
    incident = IncidentFactory(team=payments_team, started_at=utc(0), detected_at=utc(3))
    client.force_login(responder)

    response = client.get(url("incident_edit", incident.pk))

    assert response.status_code == 200
    html = html_of(response)
    assert 'type="datetime-local" name="started_at" value="2026-01-10T09:00"' in html
    assert 'name="detected_at" value="2026-01-10T09:03"' in html
    assert "All times are UTC." in html


def test_edit_saves_changes_and_bumps_the_version(client, responder, payments_team):
    incident = IncidentFactory(team=payments_team, started_at=utc(0), title="Old")
    client.force_login(responder)

    response = client.post(
        url("incident_edit", incident.pk),
        create_data(payments_team, title="New title", version=incident.version, external_id=""),
    )

    assert response.status_code == 302
    assert messages_of(response) == ["Incident saved."]
    incident.refresh_from_db()
    assert (incident.title, incident.version, incident.detected_at) == ("New title", 2, utc(4))


def test_edit_refuses_times_out_of_order_and_changes_nothing(client, responder, payments_team):
    incident = IncidentFactory(team=payments_team, started_at=utc(0))
    before = snapshot(incident)
    client.force_login(responder)

    response = client.post(
        url("incident_edit", incident.pk),
        create_data(
            payments_team, detected_at=local(utc(-5)), version=incident.version, external_id=""
        ),
    )

    assert response.status_code == 400
    assert response.context["form"].errors["detected_at"] == [
        "The detected time (2026-01-10 08:55 UTC) is before the start time (2026-01-10 09:00 UTC)."
    ] or list(response.context["form"].errors) == ["detected_at"]
    assert snapshot(incident) == before


def test_edit_with_a_stale_version_keeps_the_input_and_changes_nothing(
    client, responder, payments_team
):
    incident = IncidentFactory(team=payments_team, started_at=utc(0), version=3)
    before = snapshot(incident)
    client.force_login(responder)

    response = client.post(
        url("incident_edit", incident.pk),
        create_data(payments_team, title="Mine", version=2, external_id=""),
    )

    assert response.status_code == 400
    assert snapshot(incident) == before
    html = html_of(response)
    assert "Someone changed this incident while you were editing." in html
    assert 'value="Mine"' in html
    assert 'name="version" value="3"' in html


def test_status_buttons_move_the_incident_forward(client, responder, payments_team):
    incident = IncidentFactory(team=payments_team, started_at=utc(0))
    client.force_login(responder)

    page = client.get(url("incident_edit", incident.pk))
    response = client.post(
        url("incident_status", incident.pk), {"action": "resolve", "version": incident.version}
    )

    assert [a["action"] for a in page.context["status_actions"]] == ["mitigate", "resolve", "close"]
    assert response.status_code == 302
    assert messages_of(response) == ["The incident is now resolved."]
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.resolved_at is not None


def test_status_button_with_a_stale_version_changes_nothing(client, responder, payments_team):
    incident = IncidentFactory(team=payments_team, started_at=utc(0), version=2)
    before = snapshot(incident)
    client.force_login(responder)

    response = client.post(url("incident_status", incident.pk), {"action": "close", "version": 1})

    assert response.status_code == 302
    assert messages_of(response)[0].startswith("Someone saved version 2 of this incident")
    assert snapshot(incident) == before


def test_status_refuses_an_unknown_action(client, responder, payments_team):
    incident = IncidentFactory(team=payments_team)
    before = snapshot(incident)
    client.force_login(responder)

    response = client.post(url("incident_status", incident.pk), {"action": "reopen", "version": 1})

    assert messages_of(response) == ["Choose mitigate, resolve or close."]
    assert snapshot(incident) == before


def test_a_responder_of_another_team_gets_403_on_edit(client, outsider, payments_team):
    incident = IncidentFactory(team=payments_team)
    client.force_login(outsider)

    assert client.get(url("incident_edit", incident.pk)).status_code == 403
    assert (
        client.post(
            url("incident_status", incident.pk), {"action": "close", "version": 1}
        ).status_code
        == 403
    )


# ---------- The incident page ----------


def test_incident_page_shows_times_durations_postmortem_findings_and_uses(
    client, responder, payments_team
):
    incident = IncidentFactory(
        team=payments_team,
        title="Checkout answers 503",
        started_at=utc(0),
        detected_at=utc(4),
        mitigated_at=utc(14),
        resolved_at=utc(76),
        status="resolved",
    )
    postmortem = PostmortemFactory(
        incident=incident, sections={"summary": "Rolled **back** at 10:14."}, state="in_review"
    )
    article = published_article(title="Roll back a bad deploy")
    FindingFactory(
        postmortem=postmortem,
        text="Readiness probe on the wrong port",
        outcome="linked",
        article=article,
    )
    TimelineEntryFactory(
        incident=incident,
        occurred_at=utc(4),
        text="Alert fired",
        kind="detection",
        author=responder,
    )
    ArticleUseFactory(
        incident=incident, article=article, helped=True, minutes_saved=20, user=responder
    )
    client.force_login(responder)
    index_all_articles()

    response = client.get(url("incident_detail", incident.pk))

    assert response.status_code == 200
    text = text_of(main_of(response))
    assert "Time to detect 4 min" in text
    assert "Time to mitigate 14 min" in text
    assert "Time to resolve 1 h 16 min" in text
    assert "In review Read the postmortem" in text
    assert "<p>Rolled <strong>back</strong> at 10:14.</p>" in html_of(response)
    assert "Readiness probe on the wrong port Root cause Linked to Roll back a bad deploy" in text
    assert "2026-01-10 09:04 Detection Alert fired — rita" in text
    assert "Roll back a bad deploy helped about 20 min saved — rita" in text
    assert f'href="{url("postmortem_export", postmortem.pk)}"' in html_of(response)


def test_incident_page_offers_to_start_a_postmortem_with_a_template_choice(
    client, responder, payments_team
):
    incident = IncidentFactory(team=payments_team)
    client.force_login(responder)

    response = client.get(url("incident_detail", incident.pk))

    html = html_of(response)
    assert "Start postmortem" in html
    assert '<option value="" selected>The default for this severity</option>' in html
    assert '<option value="blameless">' in html


def test_incident_page_shows_suggested_articles_from_its_own_text(client, responder, payments_team):
    incident = IncidentFactory(
        team=payments_team, title="Certificate expired on the gateway", summary=""
    )
    article = published_article(
        title="Renew an expired certificate", symptoms="Certificate expired"
    )
    index_articles(article_ids=[article.pk])
    client.force_login(responder)

    page = client.get(url("incident_detail", incident.pk)).content.decode()
    panel_url = url("incident_suggestions_panel", incident.pk)
    # The page asks for the panel after it loads (htmx); without JavaScript it links to it.
    assert f'hx-get="{panel_url}"' in page
    response = client.get(panel_url)

    assert [hit.article for hit in response.context["suggested"]] == [article]
    assert "Renew an expired certificate" in text_of(main_of(response))
    fragment = client.get(panel_url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<section class="card" id="suggested-articles"')


def test_article_of_another_team_draft_is_not_named_on_the_incident_page(
    client, responder, payments_team, search_team
):
    incident = IncidentFactory(team=payments_team)
    hidden = draft_article(title="Search team secret draft", team=search_team)
    ArticleUseFactory(incident=incident, article=hidden)
    client.force_login(responder)

    text = text_of(main_of(client.get(url("incident_detail", incident.pk))))

    assert "Search team secret draft" not in text
    assert "An article you cannot see" in text


# ---------- Timeline ----------


def test_responder_adds_corrects_reorders_and_deletes_timeline_entries(
    client, responder, payments_team
):
    incident = IncidentFactory(team=payments_team, started_at=utc(0))
    client.force_login(responder)

    added = client.post(
        url("timeline_add", incident.pk),
        {"occurred_at": local(utc(5)), "kind": "detection", "text": "Alert fired"},
    )
    first = TimelineEntry.objects.get()
    client.post(
        url("timeline_add", incident.pk),
        {"occurred_at": local(utc(5)), "kind": "action", "text": "Paged Bo"},
    )
    second = TimelineEntry.objects.exclude(pk=first.pk).get()

    assert added.status_code == 302
    assert added["Location"] == f"{url('incident_detail', incident.pk)}#entry-{first.pk}"
    assert messages_of(added) == ["Timeline entry added."]

    page = client.get(url("incident_detail", incident.pk))
    rows = page.context["timeline_rows"]
    assert [(row["entry"].pk, row["can_up"], row["can_down"]) for row in rows] == [
        (first.pk, False, True),
        (second.pk, True, False),
    ]

    client.post(url("timeline_edit", second.pk), {"action": "up"})
    ordered = list(TimelineEntry.objects.filter(incident=incident).values_list("pk", flat=True))
    assert ordered == [second.pk, first.pk]

    prefix = f"entry-{first.pk}"
    corrected = client.post(
        url("timeline_edit", first.pk),
        {
            "action": "save",
            f"{prefix}-occurred_at": local(utc(3)),
            f"{prefix}-kind": "detection",
            f"{prefix}-text": "Alert fired (corrected)",
        },
    )
    first.refresh_from_db()
    assert messages_of(corrected)[-1] == "Timeline entry saved."
    assert (first.occurred_at, first.text) == (utc(3), "Alert fired (corrected)")

    deleted = client.post(url("timeline_edit", second.pk), {"action": "delete"})
    assert messages_of(deleted)[-1] == "Timeline entry removed."
    assert list(TimelineEntry.objects.values_list("pk", flat=True)) == [first.pk]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"occurred_at": "", "kind": "action", "text": "x"},
            "occurred_at",
            "Give the time it happened.",
        ),
        (
            {"occurred_at": "soon", "kind": "action", "text": "x"},
            "occurred_at",
            "Give a date and time like 2026-03-01 14:05 (UTC).",
        ),
        (
            {"occurred_at": "2026-01-10T09:05", "kind": "party", "text": "x"},
            "kind",
            "Select a valid choice. party is not one of the available choices.",
        ),
        (
            {"occurred_at": "2026-01-10T09:05", "kind": "action", "text": ""},
            "text",
            "Say what happened.",
        ),
        (
            {"occurred_at": "2026-01-10T09:05", "kind": "action", "text": "x" * 5001},
            "text",
            "The entry is too long: at most 5,000 characters fit.",
        ),
    ],
)
def test_timeline_add_refuses_bad_input_and_adds_nothing(
    client, responder, payments_team, data, field, message
):
    incident = IncidentFactory(team=payments_team, started_at=utc(0))
    client.force_login(responder)

    response = client.post(url("timeline_add", incident.pk), data)

    assert response.status_code == 400
    assert TimelineEntry.objects.count() == 0
    assert response.context["timeline_form"].errors[field] == [message]


def test_timeline_correction_in_the_future_is_refused_and_changes_nothing(
    client, responder, payments_team
):
    incident = IncidentFactory(team=payments_team, started_at=utc(0))
    entry = TimelineEntryFactory(incident=incident, occurred_at=utc(5), text="Alert")
    client.force_login(responder)
    prefix = f"entry-{entry.pk}"
    future = local(timezone.now() + timedelta(days=1))

    response = client.post(
        url("timeline_edit", entry.pk),
        {
            "action": "save",
            f"{prefix}-occurred_at": future,
            f"{prefix}-kind": "action",
            f"{prefix}-text": "<script>alert(1)</script>",
        },
    )

    assert response.status_code == 400
    entry.refresh_from_db()
    assert (entry.occurred_at, entry.text) == (utc(5), "Alert")
    assert "The entry&#x27;s time is in the future." in html_of(response)


def test_hostile_timeline_text_is_escaped(client, responder, payments_team):
    incident = IncidentFactory(team=payments_team)
    TimelineEntryFactory(incident=incident, text="<script>alert(1)</script>")
    client.force_login(responder)

    html = html_of(client.get(url("incident_detail", incident.pk)))

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# ---------- Articles used during the response ----------


def test_responder_records_a_helpful_article_use(client, responder, payments_team):
    incident = IncidentFactory(team=payments_team)
    article = published_article(title="Roll back a bad deploy")
    client.force_login(responder)

    response = client.post(
        url("article_use_add", incident.pk),
        {"link_article": article.pk, "helped": "yes", "minutes_saved": "25", "note": "Step 3"},
    )

    assert response.status_code == 302
    assert messages_of(response) == ["Recorded that “Roll back a bad deploy” was used."]
    use = ArticleUse.objects.get()
    assert (use.article, use.user, use.helped, use.minutes_saved, use.note) == (
        article,
        responder,
        True,
        25,
        "Step 3",
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"helped": "yes"},
            "article",
            "Choose the article you used: search for it, or type its number.",
        ),
        ({"article": "999999", "helped": "yes"}, "article", "That article was not found."),
        ({"article": "ART", "helped": "yes"}, "article", "Enter a whole number."),
        (
            {"article": "{pk}", "minutes_saved": "-1"},
            "minutes_saved",
            "Give the minutes saved as a whole number from 0 to 10,000.",
        ),
        (
            {"article": "{pk}", "minutes_saved": "100000"},
            "minutes_saved",
            "Give the minutes saved as a whole number from 0 to 10,000.",
        ),
        (
            {"article": "{pk}", "helped": "maybe"},
            "helped",
            "Select a valid choice. maybe is not one of the available choices.",
        ),
        (
            {"article": "{pk}", "note": "x" * 2001},
            "note",
            "The note is too long: at most 2,000 characters fit.",
        ),
    ],
)
def test_article_use_refuses_bad_input_and_records_nothing(
    client, responder, payments_team, data, field, message
):
    incident = IncidentFactory(team=payments_team)
    article = published_article()
    client.force_login(responder)
    data = {key: value.replace("{pk}", str(article.pk)) for key, value in data.items()}
    index_all_articles()

    response = client.post(url("article_use_add", incident.pk), data)

    assert response.status_code == 400
    assert ArticleUse.objects.count() == 0
    assert response.context["use_form"].errors[field] == [message]


def test_article_use_of_an_article_the_user_cannot_see_is_refused(
    client, responder, payments_team, search_team
):
    incident = IncidentFactory(team=payments_team)
    hidden = draft_article(team=search_team, author=UserFactory())
    client.force_login(responder)

    response = client.post(url("article_use_add", incident.pk), {"article": hidden.pk})

    assert response.status_code == 400
    assert ArticleUse.objects.count() == 0
    assert response.context["use_form"].errors["article"] == ["That article was not found."]
