"""postmortem_to_markdown: front matter, sections, findings, action items, timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from postmortems.markdown_export import postmortem_to_markdown
from tests.knowledge.factories import draft_article, published_article
from tests.postmortems.factories import (
    ActionItemFactory,
    FindingFactory,
    IncidentFactory,
    PostmortemFactory,
    ServiceFactory,
    TimelineEntryFactory,
    UserFactory,
)

STARTED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def postmortem(payments_team, settings):
    settings.SITE_URL = "https://kb.example.com"
    checkout = ServiceFactory(name="checkout", team=payments_team)
    incident = IncidentFactory(
        title='Checkout "503" after deploy\n---\ninjected: yes',
        team=payments_team,
        services=[checkout],
        tags=["deploy", "rollback"],
        started_at=STARTED,
        resolved_at=STARTED + timedelta(minutes=42),
    )
    return PostmortemFactory(
        incident=incident,
        state="published",
        sections={"summary": "Checkout answered **503**.", "impact": "2,300 checkouts failed."},
    )


@pytest.mark.django_db
def test_export_front_matter_and_sections(postmortem):
    text = postmortem_to_markdown(postmortem=postmortem)

    front, body = text.split("\n---\n", 1)
    assert front.splitlines() == [
        "---",
        'title: "Checkout \\"503\\" after deploy\\n---\\ninjected: yes"',
        f"incident: {postmortem.incident_id}",
        "severity: sev2",
        'team: "payments"',
        'services: ["checkout"]',
        'tags: ["deploy", "rollback"]',
        'started: "2026-03-02T10:00:00Z"',
        'resolved: "2026-03-02T10:42:00Z"',
        "state: published",
        'template: "blameless v1"',
        f'url: "https://kb.example.com/postmortems/{postmortem.pk}/"',
    ]
    assert "## Summary\n\nCheckout answered **503**.\n" in body
    assert "## Impact\n\n2,300 checkouts failed.\n" in body
    assert "## Where we got lucky\n\n_Not written._\n" in body
    headings = [line for line in body.splitlines() if line.startswith("## ")]
    assert headings[-3:] == ["## Findings", "## Action items", "## Timeline (UTC)"]
    assert headings[0] == "## Summary"


@pytest.mark.django_db
def test_export_findings_with_outcome_and_article_url(postmortem, responder):
    article = published_article(title="Readiness probes that tell the truth")
    FindingFactory(
        postmortem=postmortem,
        text="Probe checked the wrong port",
        outcome="linked",
        article=article,
        position=1,
    )
    FindingFactory(
        postmortem=postmortem,
        text="A one-off",
        kind="what_worked",
        outcome="nothing_to_capture",
        no_article_reason="Nothing to reuse.",
        position=2,
    )
    FindingFactory(
        postmortem=postmortem,
        text="Secret draft",
        outcome="spawned",
        article=draft_article(title="Internal draft title"),
        position=3,
    )
    FindingFactory(postmortem=postmortem, text="Undecided", position=4)

    text = postmortem_to_markdown(postmortem=postmortem, user=UserFactory(username="nora"))

    findings = text.split("## Findings\n\n", 1)[1].split("\n\n", 1)[0]
    assert findings.splitlines() == [
        "1. **Root cause**: Probe checked the wrong port",
        "   - Knowledge: linked to [Readiness probes that tell the truth]"
        f"(https://kb.example.com{article.get_absolute_url()})",
        "2. **What worked**: A one-off",
        "   - Knowledge: nothing to capture — Nothing to reuse.",
        "3. **Root cause**: Secret draft",
        "   - Knowledge: spawned an article you cannot see",
        "4. **Root cause**: Undecided",
        "   - Knowledge: not decided yet",
    ]


@pytest.mark.django_db
def test_export_action_items_and_timeline(postmortem):
    owner = UserFactory(username="paul", first_name="Paul", last_name="Okafor")
    ActionItemFactory(
        postmortem=postmortem,
        title="Gate | rollouts",
        owner=owner,
        due_date=date(2026, 4, 1),
        priority="p1",
        tracker_url="https://tracker.example.com/OPS-1",
    )
    TimelineEntryFactory(
        incident=postmortem.incident,
        occurred_at=STARTED + timedelta(minutes=4),
        kind="detection",
        text="Alert\nfired",
    )

    text = postmortem_to_markdown(postmortem=postmortem)

    assert (
        "| P1 | [Gate \\| rollouts](https://tracker.example.com/OPS-1) | Paul Okafor | "
        "2026-04-01 | Open |"
    ) in text
    assert "- **2026-03-02 10:04** (Detection) Alert fired" in text
    assert text.endswith("\n")


@pytest.mark.django_db
def test_export_of_an_empty_postmortem_says_so(postmortem):
    text = postmortem_to_markdown(postmortem=postmortem)

    assert "_No findings recorded._" in text
    assert "_No action items._" in text
    assert "_No timeline entries._" in text
