"""A postmortem exported to markdown and imported into an empty database comes back the same:
incident fields, sections, findings, action items and timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from knowledge.models import Article
from knowledge.transfer.report import Outcome
from knowledge.transfer.sources import SourceFile
from postmortems.markdown_export import postmortem_to_markdown
from postmortems.models import Incident, Postmortem, RootCauseCategory
from postmortems.transfer.importer import import_files
from tests.kbsite.factories import ServiceFactory, UserFactory
from tests.knowledge.factories import published_article
from tests.postmortems.factories import (
    ActionItemFactory,
    FindingFactory,
    IncidentFactory,
    PostmortemFactory,
    TimelineEntryFactory,
    complete_sections,
)

pytestmark = pytest.mark.django_db
STARTED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
INCIDENT_FIELDS = (
    "title",
    "summary",
    "severity",
    "status",
    "started_at",
    "detected_at",
    "mitigated_at",
    "resolved_at",
    "visibility",
    "external_source",
    "external_id",
    "external_url",
)


def snapshot(incident: Incident) -> dict[str, Any]:
    postmortem = incident.postmortem
    values: dict[str, Any] = {name: getattr(incident, name) for name in INCIDENT_FIELDS}
    values.update(
        team=incident.team.slug,
        services=sorted(service.slug for service in incident.services.all()),
        tags=sorted(tag.name for tag in incident.tags.all()),
        category=incident.root_cause_category.slug if incident.root_cause_category else None,
        commander=incident.commander.username if incident.commander else None,
        responders=sorted(person.username for person in incident.responders.all()),
        template=postmortem.template.slug,
        state=postmortem.state,
        sections={key: text for key, text in postmortem.sections.items() if text},
        findings=list(
            postmortem.findings.order_by("position").values_list(
                "text", "kind", "outcome", "article__slug", "no_article_reason"
            )
        ),
        items=list(
            postmortem.action_items.order_by("due_date", "id").values_list(
                "title", "owner__username", "due_date", "priority", "status", "tracker_url"
            )
        ),
        timeline=list(incident.timeline.values_list("occurred_at", "kind", "text")),
    )
    return values


@pytest.fixture
def incident(payments_team, responder, reviewer):
    checkout = ServiceFactory(name="Checkout", slug="checkout", team=payments_team)
    ledger = ServiceFactory(name="Ledger", slug="ledger", team=payments_team)
    incident = IncidentFactory(
        title="Checkout answered 503 after a deploy",
        summary='Checkout answered **503** for 14 minutes.\n\nSecond paragraph: "quoted".',
        severity="sev1",
        status="resolved",
        team=payments_team,
        services=[ledger, checkout],
        tags=["deploy", "Rollback"],
        started_at=STARTED,
        detected_at=STARTED + timedelta(minutes=4),
        mitigated_at=STARTED + timedelta(minutes=14),
        resolved_at=STARTED + timedelta(minutes=42),
        root_cause_category=RootCauseCategory.objects.get(slug="binary-push"),
        external_source="pagerduty",
        external_id="PD-1001",
        external_url="https://pagerduty.example.com/incidents/PD-1001",
        commander=responder,
        responders=[reviewer],
        created_by=responder,
    )
    postmortem = PostmortemFactory(
        incident=incident,
        sections=complete_sections(
            timeline="- 10:02 the deploy starts\n- 10:14 rolled back",
            went_well="A table:\n\n| a | b |\n| --- | --- |\n| 1 | 2 |",
            lucky="```\n## not a heading\n```",
        ),
        created_by=responder,
    )
    article = published_article(title="Readiness probes that tell the truth", slug="readiness")
    FindingFactory(
        postmortem=postmortem,
        text="The readiness probe checked the wrong port",
        outcome="linked",
        article=article,
        position=1,
    )
    FindingFactory(
        postmortem=postmortem,
        text="Rollback took one command",
        kind="what_worked",
        outcome="nothing_to_capture",
        no_article_reason="Already in the deploy runbook.",
        position=2,
    )
    FindingFactory(
        postmortem=postmortem, text="Canary | ignored readiness", kind="detection_gap", position=3
    )
    owner = UserFactory(username="paul", first_name="Paul", last_name="Okafor")
    ActionItemFactory(
        postmortem=postmortem,
        title="Gate | rollouts on readiness",
        owner=owner,
        due_date=date(2026, 4, 1),
        priority="p1",
        tracker_url="https://tracker.example.com/OPS-1",
    )
    ActionItemFactory(
        postmortem=postmortem,
        title="Lint the probe port",
        owner=None,
        due_date=date(2026, 5, 1),
        priority="p3",
        status="done",
    )
    for minutes, kind, text in (
        (2, "action", "Deploy of checkout 4.12 starts"),
        (4, "detection", "The error-rate alert fires"),
        (14, "resolution", "Rolled back; errors stop"),
    ):
        TimelineEntryFactory(
            incident=incident,
            occurred_at=STARTED + timedelta(minutes=minutes),
            kind=kind,
            text=text,
        )
    return incident


def reimport(text: str, user: Any) -> Any:
    Incident.objects.all().delete()
    [result] = import_files(
        user=user, sources=[SourceFile(name="export.md", data=text.encode())], dry_run=False
    ).files
    return result


def test_a_complete_export_imports_back_to_the_same_postmortem(incident, responder):
    before = snapshot(incident)
    text = postmortem_to_markdown(postmortem=incident.postmortem, user=responder, complete=True)

    result = reimport(text, responder)

    assert (result.outcome, result.warnings, result.unknown_headings) == (
        Outcome.CREATED,
        [],
        [],
    )
    assert snapshot(Incident.objects.get()) == before
    again = Postmortem.objects.get()
    assert postmortem_to_markdown(postmortem=again, user=responder, complete=True) == text.replace(
        f"incident: {incident.pk}", f"incident: {again.incident_id}"
    ).replace(f"/postmortems/{incident.postmortem.pk}/", f"/postmortems/{again.pk}/")


def test_the_download_imports_back_with_what_it_carries(incident, responder):
    before = snapshot(incident)
    text = postmortem_to_markdown(postmortem=incident.postmortem, user=responder)

    result = reimport(text, responder)

    assert result.outcome == Outcome.CREATED
    after = snapshot(Incident.objects.get())
    # The short front matter leaves these out; the import keys the file by its content.
    for name in ("summary", "detected_at", "mitigated_at", "category", "commander", "responders"):
        after.pop(name), before.pop(name)
    assert after.pop("external_source") == "markdown-import"
    assert after.pop("external_id").startswith("sha256:")
    assert after.pop("external_url") == ""
    for name in ("external_source", "external_id", "external_url"):
        before.pop(name)
    assert after.pop("items")[0][1] == "paul"  # owner found by full name
    before.pop("items")
    assert after == before


def test_an_article_missing_here_leaves_its_finding_undecided(incident, responder):
    text = postmortem_to_markdown(postmortem=incident.postmortem, user=responder, complete=True)
    Incident.objects.all().delete()
    Article.objects.filter(slug="readiness").delete()

    result = reimport(text, responder)

    assert result.warnings == [
        "Finding 1: the article “Readiness probes that tell the truth” is not here; the finding "
        "was imported without a knowledge outcome."
    ]
    first = Postmortem.objects.get().findings.order_by("position").first()
    assert (first.outcome, first.article) == ("", None)


def test_a_restricted_incident_stays_restricted_even_from_the_short_download(incident, responder):
    Incident.objects.filter(pk=incident.pk).update(visibility="restricted")
    incident.refresh_from_db()
    text = postmortem_to_markdown(postmortem=incident.postmortem, user=responder)

    reimport(text, responder)

    assert Incident.objects.get().visibility == "restricted"
