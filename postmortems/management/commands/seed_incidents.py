"""Bulk-load realistic synthetic incidents, with their postmortems, for benchmarks.

Proportions follow what an operations organisation of a few hundred engineers sees: most
incidents are minor, nearly all are long resolved, most SEV1–SEV3 incidents have a postmortem
and most of those are published. Each postmortem has a few findings (linked to existing
published articles where there are some), a few action items; each incident has a timeline and
sometimes the articles used during its response. Incidents are marked `external_source =
"synthetic"`, so `--total` adds only what brings their number to N.

Rows are written with bulk_create in batches, bypassing the services (and so the events and
notifications): rendered HTML is escaped text, which is what Markdown renders plain
paragraphs to.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import slugify

from kbsite.models import Service, Tag, Team, TeamMembership
from kbsite.progress import ProgressBar
from kbsite.roles import Role
from knowledge.management.commands.seed_synthetic import (
    CODES,
    COMPONENTS,
    FAILURES,
    SERVICES,
    TAGS,
    TRIGGERS,
)
from knowledge.models import Article, ArticleState
from postmortems.models import (
    ActionItem,
    ArticleUse,
    Finding,
    Incident,
    IncidentStatus,
    Postmortem,
    PostmortemRevision,
    PostmortemState,
    PostmortemTemplate,
    Review,
    RootCauseCategory,
    Severity,
    TimelineEntry,
    Visibility,
)

SOURCE = "synthetic"
USERS_PER_TEAM = 12
SEVERITY_WEIGHTS: dict[str, float] = {
    Severity.SEV1: 4,
    Severity.SEV2: 16,
    Severity.SEV3: 45,
    Severity.SEV4: 35,
}
# Of the postmortems: mostly published, some still in flight.
POSTMORTEM_STATES: dict[str, float] = {
    PostmortemState.PUBLISHED: 62,
    PostmortemState.APPROVED: 4,
    PostmortemState.IN_REVIEW: 8,
    PostmortemState.CHANGES_REQUESTED: 4,
    PostmortemState.DRAFT: 22,
}
POSTMORTEM_SHARE: dict[str, float] = {
    Severity.SEV1: 1.0,
    Severity.SEV2: 0.95,
    Severity.SEV3: 0.7,
    Severity.SEV4: 0.1,
}
RESTRICTED_SHARE = 0.05
ARTICLE_USE_SHARE = 0.3
HISTORY = timedelta(days=3 * 365)
TITLES = [
    "{service} returns {code} after {trigger}",
    "{component} {failure} on {service}",
    "Elevated latency on {service} during {trigger}",
    "{service} unavailable: {component} {failure}",
    "Partial outage of {service} after {trigger}",
]
SENTENCES = [
    "The {component} {failure} shortly after the {trigger}.",
    "Requests to {service} answered {code} for a share of users.",
    "The on-call responder rolled back the {trigger} and the error rate recovered.",
    "Alerting on the error rate paged the team within minutes.",
    "Dashboards showed saturation of the {component} before the failure.",
    "Retries from clients amplified the load on {service}.",
    "A runbook for the {component} shortened the diagnosis.",
    "Capacity headroom on {service} was lower than expected.",
]
FINDINGS = [
    "The {component} had no alert on saturation.",
    "The {trigger} was not gated on health checks of {service}.",
    "The runbook for the {component} was out of date.",
    "Rolling back the {trigger} worked quickly.",
    "Load tests did not cover the {component} failing.",
]
ACTIONS = [
    "Alert on {component} saturation",
    "Gate the {trigger} on {service} health checks",
    "Update the {component} runbook",
    "Add a load test where the {component} fails",
    "Raise {service} capacity headroom",
]


class Generator:
    def __init__(self, seed: int, *, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now

    def slots(self) -> dict[str, str]:
        rng = self.rng
        return {
            "service": rng.choice(list(SERVICES)),
            "component": rng.choice(COMPONENTS),
            "failure": rng.choice(FAILURES),
            "trigger": rng.choice(TRIGGERS),
            "code": rng.choice(CODES),
        }

    def paragraph(self, slots: dict[str, str], sentences: int) -> str:
        chosen = self.rng.sample(SENTENCES, min(sentences, len(SENTENCES)))
        return " ".join(sentence.format(**slots) for sentence in chosen)

    def pick(self, weights: dict[Any, float]) -> Any:
        return self.rng.choices(list(weights), weights=list(weights.values()), k=1)[0]


def html_of(text: str) -> str:
    return f"<p>{escape(text)}</p>" if text else ""


class Command(BaseCommand):
    help = "Bulk-load N synthetic incidents with postmortems, findings, timelines and more."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--incidents", type=int, required=True, help="How many to add.")
        parser.add_argument("--batch", type=int, default=1000, help="Incidents per batch.")
        parser.add_argument("--seed", type=int, default=7, help="Random seed.")
        parser.add_argument(
            "--total", action="store_true", help="Add only what brings the synthetic total to N."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        wanted, batch = options["incidents"], options["batch"]
        if wanted < 0 or batch < 1:
            raise CommandError("--incidents must be >= 0 and --batch >= 1.")
        existing = Incident.objects.filter(external_source=SOURCE).count()
        count = max(0, wanted - existing) if options["total"] else wanted
        if count == 0:
            self.stdout.write(
                f"seed_incidents: {existing} synthetic incidents already; none added."
            )
            return
        template = PostmortemTemplate.objects.filter(slug="blameless", is_current=True).first()
        if template is None:
            raise CommandError("The blameless postmortem template is missing: run migrate.")
        self.keys = list(template.sections.order_by("position", "id").values_list("key", flat=True))
        self.template = template
        self._catalog()
        now = timezone.now()
        generator = Generator(options["seed"] + existing, now=now)
        show = options.get("verbosity", 1) > 0
        bar = ProgressBar(total=count, label="seed_incidents", stream=sys.stderr)
        started = time.monotonic()
        totals: dict[str, int] = {}
        done = 0
        while done < count:
            size = min(batch, count - done)
            with transaction.atomic():
                for name, rows in self._insert_batch(generator, existing + done, size).items():
                    totals[name] = totals.get(name, 0) + rows
            done += size
            if show:
                bar.update(done)
        if show:
            bar.finish()
        if connection.vendor == "postgresql":
            # Fresh statistics for every table touched, the many-to-many ones included: without
            # them the planner guesses badly on the first requests.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        summary = ", ".join(f"{rows} {name}" for name, rows in totals.items())
        self.stdout.write(
            f"seed_incidents: added {count} incidents in {time.monotonic() - started:.1f}s "
            f"({existing + count} synthetic in total): {summary}."
        )

    # --- the catalog and people -----------------------------------------------------------------

    def _catalog(self) -> None:
        teams = {
            name: Team.objects.get_or_create(slug=slugify(name), defaults={"name": name})[0]
            for name in sorted(set(SERVICES.values()))
        }
        self.services = {
            slug: Service.objects.get_or_create(
                slug=slug, defaults={"name": slug, "team": teams[team]}
            )[0]
            for slug, team in SERVICES.items()
        }
        self.tags = [
            Tag.objects.filter(slug=slugify(name)).first()
            or Tag.objects.create(name=name, slug=slugify(name))
            for name in TAGS
        ]
        self.categories = list(RootCauseCategory.objects.filter(is_active=True))
        user_model = get_user_model()
        responder_group, _ = Group.objects.get_or_create(name=Role.RESPONDER.value)
        reviewer_group, _ = Group.objects.get_or_create(name=Role.REVIEWER.value)
        self.people: dict[int, list[Any]] = {}
        for team in teams.values():
            people = []
            for n in range(USERS_PER_TEAM):
                user, created = user_model.objects.get_or_create(
                    username=f"syn-{team.slug}-{n}",
                    defaults={
                        "first_name": f"Synthetic {n}",
                        "email": f"syn-{team.slug}-{n}@example.com",
                    },
                )
                if created:
                    user.set_unusable_password()
                    user.save(update_fields=["password"])
                    user.groups.add(responder_group if n % 4 else reviewer_group)
                    TeamMembership.objects.get_or_create(team=team, user=user)
                people.append(user)
            self.people[team.pk] = people
        self.reviewers = [user for people in self.people.values() for user in people[::4]]
        self.article_ids = list(
            Article.objects.filter(state=ArticleState.PUBLISHED)
            .order_by("-id")
            .values_list("id", flat=True)[:5000]
        )

    # --- one batch ------------------------------------------------------------------------------

    def _insert_batch(self, generator: Generator, start: int, size: int) -> dict[str, int]:
        rng, now = generator.rng, generator.now
        incidents: list[Incident] = []
        extras: list[dict[str, Any]] = []
        for n in range(start, start + size):
            slots = generator.slots()
            service = self.services[slots["service"]]
            severity = generator.pick(SEVERITY_WEIGHTS)
            # Older incidents are more numerous per day than the newest are still open.
            started = now - HISTORY * rng.random() ** 0.9 - timedelta(minutes=30)
            detected = started + timedelta(minutes=rng.randint(1, 30))
            age = now - started
            times: dict[str, Any] = {"detected_at": detected}
            status = IncidentStatus.CLOSED
            if age > timedelta(days=2) or rng.random() < 0.5:
                times["mitigated_at"] = detected + timedelta(minutes=rng.randint(5, 240))
                times["resolved_at"] = times["mitigated_at"] + timedelta(
                    minutes=rng.randint(0, 600)
                )
                if age > timedelta(days=14):
                    times["closed_at"] = times["resolved_at"] + timedelta(days=rng.randint(1, 10))
                else:
                    status = IncidentStatus.RESOLVED
            else:
                status = IncidentStatus.OPEN
            people = self.people[service.team_id]
            summary = generator.paragraph(slots, rng.randint(2, 4))
            title = rng.choice(TITLES).format(**slots)
            incidents.append(
                Incident(
                    title=(title[0].upper() + title[1:])[:200],
                    summary=summary,
                    summary_html=html_of(summary),
                    severity=severity,
                    status=status,
                    team_id=service.team_id,
                    commander=rng.choice(people),
                    started_at=started,
                    external_source=SOURCE,
                    external_id=f"SYN-{n}",
                    external_url=f"https://alerts.example.com/incidents/SYN-{n}",
                    visibility=(
                        Visibility.RESTRICTED
                        if rng.random() < RESTRICTED_SHARE
                        else Visibility.INTERNAL
                    ),
                    root_cause_category=rng.choice(self.categories) if self.categories else None,
                    created_by=rng.choice(people),
                    created_at=started + timedelta(minutes=2),
                    updated_at=times.get("closed_at") or times.get("resolved_at") or detected,
                    **times,
                )
            )
            extras.append({"slots": slots, "service": service, "people": people})
        Incident.objects.bulk_create(incidents)
        counts = {"incidents": len(incidents)}
        counts.update(self._relations(generator, incidents, extras))
        counts.update(self._postmortems(generator, incidents, extras))
        return counts

    def _relations(
        self, generator: Generator, incidents: list[Incident], extras: list[dict[str, Any]]
    ) -> dict[str, int]:
        rng = generator.rng
        services, tags, responders, timeline, uses = [], [], [], [], []
        for incident, extra in zip(incidents, extras, strict=True):
            chosen = {extra["service"].pk}
            if rng.random() < 0.3:
                chosen.add(rng.choice(list(self.services.values())).pk)
            services += [
                Incident.services.through(incident_id=incident.pk, service_id=pk) for pk in chosen
            ]
            tags += [
                Incident.tags.through(incident_id=incident.pk, tag_id=tag.pk)
                for tag in rng.sample(self.tags, rng.randint(0, 2))
            ]
            responders += [
                Incident.responders.through(incident_id=incident.pk, user_id=user.pk)
                for user in rng.sample(extra["people"], rng.randint(1, 3))
            ]
            moment = incident.started_at
            kinds = ["detection", "escalation", "action", "communication", "action", "resolution"]
            for position in range(1, rng.randint(3, 8) + 1):
                moment += timedelta(minutes=rng.randint(1, 20))
                timeline.append(
                    TimelineEntry(
                        incident_id=incident.pk,
                        occurred_at=moment,
                        position=position,
                        kind=kinds[min(position - 1, len(kinds) - 1)],
                        text=generator.paragraph(extra["slots"], 1),
                        author=rng.choice(extra["people"]),
                        created_at=moment,
                    )
                )
            if self.article_ids and rng.random() < ARTICLE_USE_SHARE:
                picked = rng.sample(self.article_ids, min(rng.randint(1, 2), len(self.article_ids)))
                for article_id in picked:
                    uses.append(
                        ArticleUse(
                            incident_id=incident.pk,
                            article_id=article_id,
                            user=rng.choice(extra["people"]),
                            used_at=incident.started_at + timedelta(minutes=rng.randint(5, 60)),
                            helped=rng.random() < 0.7,
                            minutes_saved=rng.choice([None, 10, 15, 30, 60]),
                        )
                    )
        Incident.services.through.objects.bulk_create(services)
        Incident.tags.through.objects.bulk_create(tags)
        Incident.responders.through.objects.bulk_create(responders)
        TimelineEntry.objects.bulk_create(timeline, batch_size=5000)
        ArticleUse.objects.bulk_create(uses)
        return {"timeline entries": len(timeline), "article uses": len(uses)}

    def _postmortems(
        self, generator: Generator, incidents: list[Incident], extras: list[dict[str, Any]]
    ) -> dict[str, int]:
        rng = generator.rng
        postmortems: list[Postmortem] = []
        owners: list[dict[str, Any]] = []
        for incident, extra in zip(incidents, extras, strict=True):
            if incident.resolved_at is None or rng.random() > POSTMORTEM_SHARE[incident.severity]:
                continue
            state = generator.pick(POSTMORTEM_STATES)
            filled = self.keys if state != PostmortemState.DRAFT else self.keys[: rng.randint(0, 4)]
            sections = dict.fromkeys(self.keys, "")
            for key in filled:
                sections[key] = generator.paragraph(extra["slots"], rng.randint(1, 4))
            created = min(incident.resolved_at + timedelta(hours=rng.randint(1, 48)), generator.now)
            reviewed = state not in (PostmortemState.DRAFT,)
            approved = state in (PostmortemState.APPROVED, PostmortemState.PUBLISHED)
            postmortems.append(
                Postmortem(
                    incident_id=incident.pk,
                    template=self.template,
                    sections=sections,
                    sections_html={key: html_of(text) for key, text in sections.items()},
                    state=state,
                    created_by=incident.commander,
                    created_at=created,
                    updated_at=created + timedelta(days=2),
                    submitted_at=created + timedelta(days=1) if reviewed else None,
                    approved_at=created + timedelta(days=2) if approved else None,
                    published_at=(
                        created + timedelta(days=2) if state == PostmortemState.PUBLISHED else None
                    ),
                )
            )
            owners.append(extra)
        Postmortem.objects.bulk_create(postmortems)
        revisions, reviews, findings, items = [], [], [], []
        for postmortem, extra in zip(postmortems, owners, strict=True):
            revisions.append(
                PostmortemRevision(
                    postmortem_id=postmortem.pk,
                    number=1,
                    editor_id=postmortem.created_by_id,
                    state=postmortem.state,
                    sections=postmortem.sections,
                    created_at=postmortem.created_at,
                )
            )
            if postmortem.approved_at is not None:
                reviews.append(
                    Review(
                        postmortem_id=postmortem.pk,
                        reviewer=rng.choice(self.reviewers),
                        decision=Review.Decision.APPROVED,
                        postmortem_version=1,
                        created_at=postmortem.approved_at,
                    )
                )
            resolved = postmortem.state in (PostmortemState.APPROVED, PostmortemState.PUBLISHED)
            for position in range(1, rng.randint(1, 4) + 1):
                findings.append(self._finding(generator, postmortem, extra, position, resolved))
            for _ in range(rng.randint(0, 4)):
                done = rng.random() < 0.6
                due = (postmortem.created_at + timedelta(days=rng.choice([7, 30, 90]))).date()
                items.append(
                    ActionItem(
                        postmortem_id=postmortem.pk,
                        title=rng.choice(ACTIONS).format(**extra["slots"]),
                        owner=rng.choice(extra["people"]),
                        team_id=extra["service"].team_id,
                        due_date=due,
                        priority=rng.choice(ActionItem.Priority.values),
                        status=ActionItem.Status.DONE if done else ActionItem.Status.OPEN,
                        completed_at=postmortem.created_at + timedelta(days=5) if done else None,
                        created_by_id=postmortem.created_by_id,
                        created_at=postmortem.created_at,
                    )
                )
        PostmortemRevision.objects.bulk_create(revisions)
        Review.objects.bulk_create(reviews)
        Finding.objects.bulk_create(findings, batch_size=5000)
        ActionItem.objects.bulk_create(items, batch_size=5000)
        return {
            "postmortems": len(postmortems),
            "findings": len(findings),
            "action items": len(items),
        }

    def _finding(
        self,
        generator: Generator,
        postmortem: Postmortem,
        extra: dict[str, Any],
        position: int,
        resolved: bool,
    ) -> Finding:
        rng = generator.rng
        roll = rng.random()
        values: dict[str, Any] = {"outcome": "", "article_id": None, "no_article_reason": ""}
        if self.article_ids and roll < 0.55:
            values["outcome"] = Finding.Outcome.LINKED if roll < 0.45 else Finding.Outcome.SPAWNED
            values["article_id"] = rng.choice(self.article_ids)
        elif resolved or roll < 0.8:
            values["outcome"] = Finding.Outcome.NOTHING_TO_CAPTURE
            values["no_article_reason"] = "A one-off: nothing others could reuse."
        return Finding(
            postmortem_id=postmortem.pk,
            text=rng.choice(FINDINGS).format(**extra["slots"]),
            kind=rng.choice(Finding.Kind.values),
            position=position,
            created_by_id=postmortem.created_by_id,
            created_at=postmortem.created_at,
            **values,
        )
