"""Importing postmortems from markdown files: what each kind of file creates, through the
services, one transaction per file; what is refused, and that a refusal leaves nothing behind."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kbsite.models import Tag
from knowledge.transfer.report import Outcome
from knowledge.transfer.sources import SourceFile
from postmortems.models import (
    ActionItem,
    Finding,
    Incident,
    Postmortem,
    PostmortemRevision,
    TimelineEntry,
)
from postmortems.transfer.importer import import_files
from tests.kbsite.factories import ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).parent / "import_samples"
MODELS = (Incident, Postmortem, PostmortemRevision, TimelineEntry, Finding, ActionItem, Tag)


def sample(name: str) -> SourceFile:
    return SourceFile(name=name, data=(SAMPLES / name).read_bytes())


def text_file(text: str, name: str = "file.md") -> SourceFile:
    return SourceFile(name=name, data=text.encode())


def run(user, *sources: SourceFile, dry_run: bool = False, unknown_headings: str = "append"):
    return import_files(
        user=user, sources=sources, dry_run=dry_run, unknown_headings=unknown_headings
    )


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def catalog(payments_team, reviewer):
    ServiceFactory(name="Checkout", slug="checkout", team=payments_team)
    return payments_team


def test_sre_style_file_becomes_an_incident_with_its_postmortem(responder, reviewer, catalog):
    report = run(responder, sample("sre_style_search_outage.md"))

    [result] = report.files
    assert result.outcome == Outcome.CREATED
    incident = Incident.objects.get()
    assert result.url == f"/postmortems/incidents/{incident.pk}/"
    assert (incident.title, incident.severity, incident.team, incident.status) == (
        "Search results went stale for three hours after an index schema change",
        "sev2",
        catalog,
        "resolved",
    )
    assert [s.slug for s in incident.services.all()] == ["checkout"]
    assert sorted(t.name for t in incident.tags.all()) == ["indexing", "schema-change"]
    assert (incident.started_at, incident.detected_at, incident.mitigated_at) == (
        at("2026-03-04T09:40"),
        at("2026-03-04T10:02"),
        at("2026-03-04T12:15"),
    )
    assert incident.resolved_at == at("2026-03-04T12:41")
    assert incident.root_cause_category.slug == "configuration-push"
    assert (incident.external_source, incident.external_id) == ("pagerduty", "PD-48213")
    assert incident.external_url == "https://pagerduty.example.com/incidents/PD-48213"
    assert incident.commander == responder
    assert list(incident.responders.all()) == [reviewer]
    assert incident.created_by == responder

    postmortem = incident.postmortem
    assert postmortem.template.slug == "sre-classic"
    assert postmortem.state == "in_review"  # the file said published
    assert postmortem.sections["summary"] == (
        "**Date:** 2026-03-04 · **Authors:** rita, rob\n\n"
        "Product search served results from a frozen index for 3 h 01 min. New products and "
        "price\nchanges did not appear; existing results stayed correct."
    )
    assert postmortem.sections["trigger"] == (
        "A configuration push added the `promo_badge` field to the product schema at 09:38 UTC."
    )
    assert (
        postmortem.sections["lessons"] == "A counter without an alert is a log line nobody reads."
    )
    assert postmortem.sections["supporting_information"] == (
        "- Dashboard: https://grafana.example.com/d/search-indexer"
    )
    assert postmortem.sections["timeline"] == ""
    assert postmortem.sections["action_items"] == ""
    assert "<p>A counter without an alert" in postmortem.sections_html["lessons"]
    assert list(postmortem.revisions.values_list("number", "change_note")) == [
        (2, "Imported from sre_style_search_outage.md"),
        (1, "Started"),
    ]

    entries = list(incident.timeline.values_list("occurred_at", "kind", "text"))
    assert entries == [
        (at("2026-03-04T09:38"), "action", "Schema push adds `promo_badge`."),
        (
            at("2026-03-04T09:40"),
            "action",
            "INCIDENT BEGINS: indexers start dropping new documents.",
        ),
        (at("2026-03-04T10:02"), "detection", "A merchandiser reports a missing product."),
        (at("2026-03-04T11:30"), "escalation", "Search on-call paged."),
        (at("2026-03-04T12:15"), "action", "Indexers restarted with the new schema."),
        (at("2026-03-04T12:41"), "resolution", "Full re-index done; results current."),
    ]
    items = list(
        postmortem.action_items.order_by("due_date").values_list(
            "title", "owner__username", "priority", "due_date", "tracker_url", "status"
        )
    )
    assert items == [
        (
            "Alert when the indexer drops more than 1% of documents",
            "rob",
            "p1",
            date(2026, 3, 20),
            "https://tracker.example.com/OPS-311",
            "open",
        ),
        (
            "Reload the schema without a restart",
            "rita",
            "p2",
            date(2026, 4, 30),
            "https://tracker.example.com/OPS-312",
            "open",
        ),
        ("Document the schema push procedure", None, "p3", date(2026, 5, 31), "", "open"),
    ]
    assert result.warnings == [
        "The responder 'nadia' has no active account here; left out.",
        "Text before the first section heading was added to “Summary”.",
        "Action item “Document the schema push procedure”: no one here is 'nadia'; no owner set.",
        "The file says published; imports arrive as in review, because approving and "
        "publishing take a reviewer here.",
    ]
    assert result.unknown_headings == []
    assert result.counts == ["6 timeline entries", "0 findings", "3 action items"]
    assert "Trigger → Trigger" in result.sections


def test_default_headings_file_fills_the_blameless_template(responder, catalog):
    [result] = run(responder, sample("default_headings_checkout.md")).files

    assert result.outcome == Outcome.CREATED
    assert result.warnings == []
    incident = Incident.objects.get()
    postmortem = incident.postmortem
    assert (postmortem.template.slug, postmortem.state) == ("blameless", "draft")
    assert postmortem.sections["summary"] == (
        "Checkout answered **503** for 14 minutes after the 10:02 deploy."
    )
    assert postmortem.sections["root_causes"].startswith("The readiness probe checked the wrong")
    assert postmortem.sections["timeline"] == ""
    assert list(incident.timeline.values_list("occurred_at", "kind", "text")) == [
        (at("2026-03-02T10:02"), "action", "Deploy of checkout 4.12 starts."),
        (at("2026-03-02T10:04"), "detection", "The error-rate alert fires."),
        (at("2026-03-02T10:14"), "action", "Deploy rolled back."),
        (at("2026-03-02T10:42"), "resolution", "Error rate back to normal for 20 minutes."),
    ]
    findings = list(postmortem.findings.values_list("text", "kind", "outcome", "no_article_reason"))
    assert findings == [
        (
            "The readiness probe checked the wrong port.",
            "root_cause",
            "nothing_to_capture",
            "The probe fix is in the deploy template.",
        ),
        ("Canary analysis ignored readiness.", "detection_gap", "", ""),
    ]
    items = list(postmortem.action_items.order_by("id").values_list("title", "status", "priority"))
    assert items == [
        ("Check the readiness port in the deploy template lint", "open", "p2"),
        ("Roll back checkout 4.12", "done", "p2"),
    ]


def test_a_dry_run_reports_what_would_be_created_and_writes_nothing(
    responder, catalog, django_capture_on_commit_callbacks
):
    before = row_counts()

    with django_capture_on_commit_callbacks() as callbacks:
        report = run(
            responder,
            sample("sre_style_search_outage.md"),
            sample("default_headings_checkout.md"),
            dry_run=True,
        )

    assert [result.outcome for result in report.files] == [Outcome.WOULD_CREATE] * 2
    assert [result.url for result in report.files] == ["", ""]
    assert report.files[0].counts == ["6 timeline entries", "0 findings", "3 action items"]
    assert report.summary == "2 files: 2 would be created, 0 already imported, 0 refused"
    assert row_counts() == before
    assert callbacks == []


def test_a_file_refused_halfway_leaves_nothing_behind(responder, catalog):
    text = (SAMPLES / "sre_style_search_outage.md").read_text()
    broken = text.replace("| P1 | 2026-03-20 |", "| P1 | 2026-01-20 |")  # due before the start
    before = row_counts()

    [result] = run(responder, text_file(broken)).files

    assert result.outcome == Outcome.REFUSED
    assert result.errors == ["The due date 2026-01-20 is before the incident started (2026-03-04)."]
    assert row_counts() == before


FILE = """---
title: "Ledger writes timed out"
severity: {severity}
team: {team}
services: [{services}]
started: {started}
detected: {detected}
{extra}
---

## Summary

Writes to the ledger timed out for 9 minutes.
"""


def ledger_file(**overrides: str) -> SourceFile:
    values = {
        "severity": "sev3",
        "team": "payments",
        "services": "checkout",
        "started": "2026-03-09T08:00:00Z",
        "detected": "2026-03-09T08:03:00Z",
        "extra": "",
    }
    values.update(overrides)
    return text_file(FILE.format(**values), name="ledger.md")


@pytest.mark.parametrize(
    ("source", "error"),
    [
        (
            lambda: sample("no_front_matter.md"),
            "The file has no front matter: it must start with a line `---`",
        ),
        (lambda: sample("malformed_yaml.md"), "The front matter is not valid YAML"),
        (
            lambda: sample("unknown_team.md"),
            "Unknown team 'networking-that-does-not-exist': no team has that slug here.",
        ),
        (
            lambda: ledger_file(services="checkout, ghost-db"),
            "Unknown service 'ghost-db': no service has that slug here.",
        ),
        (
            lambda: ledger_file(started="2026-03-09"),
            "`started` is a date without a time: give the time too",
        ),
        (
            lambda: ledger_file(detected="soon after"),
            "`detected` is 'soon after', which is not a time",
        ),
        (
            lambda: sample("times_out_of_order.md"),
            "The detected time (2026-03-07 11:30 UTC) is before the started time "
            "(2026-03-07 12:00 UTC).",
        ),
        (
            lambda: ledger_file(started="2099-01-01T00:00:00Z", detected=""),
            "The start time is in the future.",
        ),
        (lambda: ledger_file(severity="catastrophic"), "`severity` is 'catastrophic'; use one of"),
        (lambda: ledger_file(severity='""'), "The front matter needs `severity`."),
        (
            lambda: ledger_file(extra="root_cause_category: gremlins"),
            "Unknown root cause category 'gremlins'",
        ),
        (lambda: ledger_file(extra="template: wiki"), "Unknown postmortem template 'wiki'."),
        (
            lambda: ledger_file(extra="kind: runbook"),
            "`kind` is 'runbook'; use postmortem or article.",
        ),
        (
            lambda: ledger_file(extra=f'title: "{"x" * 201}"'),
            "The title is 201 characters long; at most 200 fit.",
        ),
        (
            lambda: SourceFile(
                name="latin.md", data="---\ntitle: Caf\xe9\n---\n".encode("latin-1")
            ),
            "latin.md is not UTF-8 text",
        ),
        (
            lambda: SourceFile(name="image.md", data=b"\x89PNG\r\n\x1a\n\x00\x00\x00"),
            "image.md is not markdown: it contains binary data.",
        ),
        (
            lambda: SourceFile(
                name="big.md", problem="The file is 6.0 MB; at most 5.0 MB per file."
            ),
            "The file is 6.0 MB; at most 5.0 MB per file.",
        ),
    ],
)
def test_a_bad_file_is_refused_with_its_reason_and_creates_nothing(
    responder, catalog, source, error
):
    before = row_counts()

    [result] = run(responder, source()).files

    assert result.outcome == Outcome.REFUSED
    assert len(result.errors) == 1
    assert result.errors[0].startswith(error), result.errors
    assert row_counts() == before


def test_one_refused_file_does_not_stop_the_others(responder, catalog):
    report = run(responder, sample("unknown_team.md"), sample("default_headings_checkout.md"))

    assert [result.outcome for result in report.files] == [Outcome.REFUSED, Outcome.CREATED]
    assert report.any_refused
    assert Incident.objects.count() == 1


def test_importing_the_same_file_again_reports_already_imported(responder, catalog):
    run(responder, sample("sre_style_search_outage.md"), sample("default_headings_checkout.md"))
    before = row_counts()

    report = run(
        responder, sample("sre_style_search_outage.md"), sample("default_headings_checkout.md")
    )

    assert [result.outcome for result in report.files] == [Outcome.ALREADY_IMPORTED] * 2
    assert [result.url for result in report.files] == [
        Incident.objects.get(external_id="PD-48213").get_absolute_url(),
        Incident.objects.get(external_source="markdown-import").get_absolute_url(),
    ]
    assert row_counts() == before
    hashed = Incident.objects.get(external_source="markdown-import")
    assert hashed.external_id.startswith("sha256:") and len(hashed.external_id) == 71


def test_an_incident_the_user_cannot_see_is_reported_without_its_link(responder, outsider, catalog):
    restricted = (
        (SAMPLES / "unknown_heading.md")
        .read_text()
        .replace("external_id:", "visibility: restricted\nexternal_id:")
    )
    run(responder, text_file(restricted))

    [result] = run(UserFactory(roles=["admin"]), text_file(restricted)).files
    assert (result.outcome, bool(result.url)) == (Outcome.ALREADY_IMPORTED, True)
    [result] = run(outsider, text_file(restricted)).files
    assert (result.outcome, result.url) == (Outcome.ALREADY_IMPORTED, "")


def test_unknown_headings_are_appended_to_the_section_above_and_reported(responder, catalog):
    [result] = run(responder, sample("unknown_heading.md")).files

    assert result.outcome == Outcome.CREATED
    assert result.unknown_headings == ["Vendor correspondence"]
    assert "Vendor correspondence → appended to Summary" in result.sections
    sections = Incident.objects.get().postmortem.sections
    assert sections["summary"] == (
        "Tokenisation latency rose to 4 s at p99.\n\n"
        "## Vendor correspondence\n\nThe vendor confirmed a degraded HSM pool."
    )
    assert sections["impact"] == "About 900 checkouts took longer than 5 s."


def test_unknown_headings_refuse_the_file_when_asked(responder, catalog):
    before = row_counts()

    [result] = run(responder, sample("unknown_heading.md"), unknown_headings="refuse").files

    assert result.outcome == Outcome.REFUSED
    assert result.unknown_headings == ["Vendor correspondence"]
    assert result.errors == [
        "Unknown section headings: “Vendor correspondence”. Rename them to the template's "
        "headings, or import with unknown headings appended to the section above."
    ]
    assert row_counts() == before


def test_a_section_the_template_lacks_goes_to_its_nearest_one(responder, catalog):
    text = (
        (SAMPLES / "default_headings_checkout.md")
        .read_text()
        .replace("## Detection\n", "## Trigger\n\nA deploy.\n\n## Detection\n")
    )

    [result] = run(responder, text_file(text)).files

    sections = Incident.objects.get().postmortem.sections
    assert sections["root_causes"].endswith("## Trigger\n\nA deploy.")
    assert (
        "“Trigger” has no section in this template; its text was added to “Root causes and "
        "contributing factors”." in result.warnings
    )


@pytest.mark.parametrize(
    ("asked", "state", "warned"),
    [
        ("draft", "draft", False),
        ("in_review", "in_review", False),
        ("changes_requested", "draft", True),
        ("approved", "in_review", True),
        ("published", "in_review", True),
    ],
)
def test_an_import_never_approves_or_publishes(responder, catalog, asked, state, warned):
    [result] = run(responder, ledger_file(extra=f"state: {asked}")).files

    assert Postmortem.objects.get().state == state
    assert any("imports arrive as" in warning for warning in result.warnings) == warned


def test_only_authors_of_the_postmortem_may_import_it(outsider, catalog):
    [result] = run(outsider, ledger_file()).files

    assert result.outcome == Outcome.REFUSED
    assert result.errors == [
        "You are not in the team 'payments', nor its commander or a responder, so you cannot "
        "write its postmortem; ask someone who is, or an admin, to import it."
    ]
    assert Incident.objects.count() == 0


def test_an_outsider_named_as_commander_may_import_it(outsider, catalog):
    [result] = run(outsider, ledger_file(extra="commander: oscar")).files

    assert result.outcome == Outcome.CREATED


def test_people_without_the_responder_role_cannot_import(reviewer, catalog):
    [result] = run(reviewer, ledger_file()).files

    assert (result.outcome, result.errors) == (
        Outcome.REFUSED,
        ["Only responders can open incidents."],
    )
    assert Incident.objects.count() == 0


def test_hostile_markdown_is_stored_as_written_and_rendered_safe(responder, catalog):
    [result] = run(responder, sample("hostile_markup.md")).files

    assert result.outcome == Outcome.CREATED
    incident = Incident.objects.get()
    postmortem = incident.postmortem
    assert incident.title == "<script>alert('title')</script> Login page broke"
    assert "<script>alert('summary')</script>" in postmortem.sections["summary"]
    html = " ".join(postmortem.sections_html.values())
    for fragment in ("<script", "onerror", "javascript:", "<iframe"):
        assert fragment not in html
    assert incident.timeline.get().text == "<script>alert('timeline')</script> Page broke."
