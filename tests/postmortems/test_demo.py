"""The postmortems demo seeder: realistic spread, every state, idempotent."""

from __future__ import annotations

from collections import defaultdict

import pytest
from django.core.management import call_command

from kbsite import events
from knowledge.models import ArticleState
from postmortems.demo import seed_postmortems
from postmortems.models import ActionItem, ArticleUse, Finding, Incident, Postmortem


@pytest.fixture
def no_event_handlers(monkeypatch):
    """The KPI recomputes that events trigger are tested in metrics; here they only cost time."""
    monkeypatch.setattr(events, "_handlers", defaultdict(list))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("no_event_handlers")
def test_seed_demo_creates_forty_incidents_once():
    call_command("seed_demo", "--quiet-sign-ins")

    assert Incident.objects.filter(external_source="demo").count() == 40
    states = set(Postmortem.objects.values_list("state", flat=True))
    assert states == {"draft", "in_review", "changes_requested", "approved", "published"}
    restricted = Incident.objects.get(visibility="restricted")
    assert (restricted.team.slug, restricted.external_id) == ("payments", "demo-028")
    assert Finding.objects.filter(outcome="linked").exists()
    assert Finding.objects.filter(outcome="spawned", article__state=ArticleState.PUBLISHED).exists()
    # The restricted incident's spawned article waits in review.
    assert (
        Finding.objects.get(postmortem__incident=restricted, outcome="spawned").article.state
        == ArticleState.IN_REVIEW
    )
    assert ArticleUse.objects.filter(helped=True, minutes_saved__isnull=False).exists()
    assert ArticleUse.objects.filter(helped=False).exists()
    assert ActionItem.objects.filter(
        status="open", due_date__lt=Incident.objects.latest("started_at").started_at.date()
    ).exists()
    assert ActionItem.objects.filter(status="done").exists()
    counts = (Incident.objects.count(), Postmortem.objects.count(), Finding.objects.count())

    lines: list[str] = []
    seed_postmortems(lines.append)

    assert lines == [
        "postmortems: 0 incidents created, 40 in the demo (1 restricted to the Payments team)"
    ]
    assert (Incident.objects.count(), Postmortem.objects.count(), Finding.objects.count()) == (
        counts
    )
