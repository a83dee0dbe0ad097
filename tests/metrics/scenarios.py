"""Small scenarios shared by the metrics tests, with their expected values worked out by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from knowledge.models import Article
from metrics.periods import parse_month
from postmortems.models import Finding, Incident, PostmortemState
from tests.knowledge.factories import published_article
from tests.postmortems.factories import IncidentFactory, PostmortemFactory

MARCH = parse_month("2026-03")
FEBRUARY = parse_month("2026-02")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def incident(start: str, *, hours: float | None = None, **kwargs) -> Incident:
    started = at(start)
    resolved = started + timedelta(hours=hours) if hours is not None else None
    return IncidentFactory(started_at=started, resolved_at=resolved, **kwargs)


def documented(incident_: Incident, *, article: Article | None = None) -> Article:
    """Publish a postmortem for the incident with one finding linked to a published article."""
    postmortem = PostmortemFactory(incident=incident_, state=PostmortemState.PUBLISHED)
    article = article or published_article()
    Finding.objects.create(
        postmortem=postmortem,
        text="The readiness probe checked the wrong port",
        kind=Finding.Kind.ROOT_CAUSE,
        outcome=Finding.Outcome.LINKED,
        article=article,
        created_by=postmortem.created_by,
    )
    return article


@dataclass
class LessonsScenario:
    """March 2026, Payments team: 2 of 3 resolved incidents documented (2/3). The restricted
    one is documented and visible only to Payments members, its people and admins."""

    documented: Incident
    plain: Incident
    secret: Incident


SECRET_TITLE = "Card numbers written to the debug log"


def lessons_scenario(team) -> LessonsScenario:
    made = LessonsScenario(
        documented=incident(
            "2026-03-03 10:00", hours=2, team=team, title="Checkout 503 after deploy"
        ),
        plain=incident("2026-03-10 10:00", hours=1, team=team, title="Ledger lag"),
        secret=incident(
            "2026-03-20 10:00", hours=3, team=team, title=SECRET_TITLE, visibility="restricted"
        ),
    )
    documented(made.documented)
    documented(made.secret)
    return made
