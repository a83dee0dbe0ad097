"""Factories for incidents and postmortems, built the way the services leave them.

`PostmortemFactory` uses the current "blameless" template seeded by the data migration
(postmortems/0002), so section keys match the product's: summary, impact, timeline, root_causes,
detection, response, went_well, went_wrong, lucky, lessons. Pass `sections={...}` to fill some;
`sections_html` is rendered from them. `complete_sections()` gives every required section text.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from knowledge.markdown import render_markdown
from postmortems.models import (
    ActionItem,
    ArticleUse,
    Finding,
    Incident,
    Postmortem,
    PostmortemRevision,
    PostmortemState,
    PostmortemTemplate,
    RootCauseCategory,
    Severity,
    TimelineEntry,
)
from tests.kbsite.factories import ServiceFactory, TagFactory, TeamFactory, UserFactory
from tests.knowledge.factories import ArticleFactory, published_article

__all__ = [
    "ActionItemFactory",
    "ArticleUseFactory",
    "FindingFactory",
    "IncidentFactory",
    "PostmortemFactory",
    "RootCauseCategoryFactory",
    "ServiceFactory",
    "TagFactory",
    "TeamFactory",
    "TimelineEntryFactory",
    "UserFactory",
    "blameless_template",
    "complete_sections",
    "restricted_incident",
]


def blameless_template() -> PostmortemTemplate:
    """The current version of the default template the data migration ships."""
    return PostmortemTemplate.objects.get(slug="blameless", is_current=True)


def complete_sections(**overrides: str) -> dict[str, str]:
    """Text for every required section of the blameless template (and a few optional ones)."""
    sections = {
        "summary": "Checkout answered 503 for 14 minutes after the 10:02 deploy.",
        "impact": "About 2,300 checkouts failed; no payment was taken twice.",
        "root_causes": "The readiness probe checked the wrong port, so traffic reached cold pods.",
        "detection": "The checkout error-rate alert fired four minutes after the deploy.",
        "response": "The deploy was rolled back at 10:14 and the error rate recovered by 10:16.",
        "lessons": "Gate progressive rollouts on the readiness probe, not on pod start.",
    }
    sections.update(overrides)
    return sections


class RootCauseCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RootCauseCategory
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class IncidentFactory(factory.django.DjangoModelFactory):
    """An internal SEV2 incident of a fresh team; `services=[...]`, `tags=[...]`,
    `responders=[...]` set relations. Resolved incidents: pass `resolved_at`."""

    class Meta:
        model = Incident
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Checkout returns 503 after deploy #{n}")
    summary = "Checkout answered 503 after the 10:02 deploy."
    summary_html = factory.LazyAttribute(lambda incident: render_markdown(incident.summary))
    severity = Severity.SEV2
    team = factory.SubFactory(TeamFactory)
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=3))
    detected_at = None
    mitigated_at = None
    resolved_at = None
    created_by = factory.SubFactory(UserFactory)

    @factory.post_generation
    def services(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.services.set(extracted)

    @factory.post_generation
    def tags(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.tags.set(
                [TagFactory(name=tag) if isinstance(tag, str) else tag for tag in extracted]
            )

    @factory.post_generation
    def responders(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.responders.set(extracted)


def restricted_incident(**kwargs: Any) -> Incident:
    return IncidentFactory(visibility="restricted", **kwargs)


class PostmortemFactory(factory.django.DjangoModelFactory):
    """A postmortem on the seeded blameless template, with revision `version` recorded."""

    class Meta:
        model = Postmortem
        skip_postgeneration_save = True

    incident = factory.SubFactory(IncidentFactory)
    template = factory.LazyFunction(blameless_template)
    sections: Any = factory.LazyFunction(dict)
    sections_html = factory.LazyAttribute(
        lambda postmortem: {key: render_markdown(text) for key, text in postmortem.sections.items()}
    )
    state = PostmortemState.DRAFT
    created_by = factory.SubFactory(UserFactory)
    submitted_at = factory.LazyAttribute(
        lambda pm: timezone.now() if pm.state != PostmortemState.DRAFT else None
    )
    approved_at = factory.LazyAttribute(
        lambda pm: (
            timezone.now()
            if pm.state in (PostmortemState.APPROVED, PostmortemState.PUBLISHED)
            else None
        )
    )
    published_at = factory.LazyAttribute(
        lambda pm: timezone.now() if pm.state == PostmortemState.PUBLISHED else None
    )

    @factory.post_generation
    def revision(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not create or extracted is False:
            return
        PostmortemRevision.objects.create(
            postmortem=self,
            number=self.version,
            editor=self.created_by,
            state=self.state,
            sections=dict(self.sections),
            change_note="Started",
        )


class FindingFactory(factory.django.DjangoModelFactory):
    """An unresolved finding; `outcome="linked"` links a published article unless one is given."""

    class Meta:
        model = Finding

    postmortem = factory.SubFactory(PostmortemFactory)
    text = factory.Sequence(lambda n: f"The readiness probe checked the wrong port ({n}).")
    kind = Finding.Kind.ROOT_CAUSE
    outcome = ""
    article = factory.LazyAttribute(
        lambda finding: (
            published_article()
            if finding.outcome == Finding.Outcome.LINKED
            else ArticleFactory()
            if finding.outcome == Finding.Outcome.SPAWNED
            else None
        )
    )
    no_article_reason = factory.LazyAttribute(
        lambda finding: (
            "A one-off; nothing others could reuse."
            if finding.outcome == Finding.Outcome.NOTHING_TO_CAPTURE
            else ""
        )
    )
    position = factory.Sequence(lambda n: n)
    created_by = factory.SubFactory(UserFactory)


class ActionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActionItem

    postmortem = factory.SubFactory(PostmortemFactory)
    title = factory.Sequence(lambda n: f"Gate rollouts on the readiness probe ({n})")
    owner = factory.SubFactory(UserFactory)
    due_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=30))
    priority = ActionItem.Priority.P2
    status = ActionItem.Status.OPEN
    created_by = factory.SubFactory(UserFactory)


class TimelineEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimelineEntry

    incident = factory.SubFactory(IncidentFactory)
    occurred_at = factory.LazyAttribute(
        lambda entry: entry.incident.started_at + timedelta(minutes=5)
    )
    position = factory.Sequence(lambda n: n)
    kind = TimelineEntry.Kind.ACTION
    text = factory.Sequence(lambda n: f"Rolled back the deploy (step {n}).")
    author = factory.SubFactory(UserFactory)


class ArticleUseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ArticleUse

    incident = factory.SubFactory(IncidentFactory)
    article = factory.LazyFunction(published_article)
    user = factory.SubFactory(UserFactory)
    helped = True
    minutes_saved = None
    note = ""
