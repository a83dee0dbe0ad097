"""The postmortems part of the demo: forty incidents over the last twelve months.

Everything is created through the services, so history, events and rules hold as in real use;
then the timestamps the services set to "now" are moved back to when the demo says it happened
(demo history only — no service backdates anything). Incidents are keyed by their external id
("demo-017"), so a second run creates nothing. Knowledge articles come from the knowledge demo
(order 10) and are looked up by slug; a finding whose article is missing records instead that
there is nothing to capture, and an article use is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from kbsite.errors import DomainError
from kbsite.models import Service, Team
from kbsite.roles import Role
from kbsite.services import team_add_member, user_grant_role
from knowledge.models import Article
from postmortems.demo_incidents import OCCURRENCES, RESTRICTED, SCENARIOS, Occurrence, Scenario
from postmortems.models import (
    ActionItem,
    ArticleUse,
    Finding,
    Incident,
    Postmortem,
    PostmortemRevision,
    Review,
    RootCauseCategory,
)
from postmortems.services import (
    action_item_add,
    action_item_update,
    article_use_record,
    finding_add,
    incident_create,
    postmortem_approve,
    postmortem_publish,
    postmortem_request_changes,
    postmortem_save_sections,
    postmortem_start,
    postmortem_submit,
    timeline_add,
)
from postmortems.services.action_items import DEFAULT_DUE_DAYS

EXTERNAL_SOURCE = "demo"
USED_WITHOUT_RATING = frozenset({29})

# Engineers who take part in incidents beside the catalog's demo people (they do not sign in).
ENGINEERS = [
    ("paul", "Paul", "Okafor", "payments"),
    ("priya", "Priya", "Raman", "platform"),
    ("ivan", "Ivan", "Petrov", "identity"),
    ("sana", "Sana", "Haddad", "search"),
]
COMMANDERS = {"payments": "rita", "platform": "priya", "identity": "ivan", "search": "sana"}
RESPONDERS = {
    "payments": ("paul",),
    "platform": ("erin",),
    "identity": (),
    "search": ("oscar",),
}
# Reviewers must not be authors: nobody in the incident's team.
REVIEWERS = {"payments": "ada", "platform": "rob", "identity": "rob", "search": "rob"}


def external_id(number: int) -> str:
    return f"demo-{number:03d}"


def _people() -> dict[str, Any]:
    user_model = get_user_model()
    for username, first, last, team_slug in ENGINEERS:
        team = Team.objects.filter(slug=team_slug).first()
        if team is None:
            continue
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user_grant_role(user=user, role=Role.RESPONDER)
        team_add_member(team=team, user=user)
    return {user.username: user for user in user_model.objects.filter(is_active=True)}


def _clamp(moment: datetime, now: datetime) -> datetime:
    return min(moment, now - timedelta(minutes=1))


def _times(occurrence: Occurrence, scenario: Scenario, now: datetime) -> dict[str, Any]:
    # Incidents start in working hours, at a time that differs from one to the next.
    day = timezone.localdate() - timedelta(days=occurrence.days_ago)
    started = timezone.make_aware(
        datetime.combine(day, datetime.min.time())
        + timedelta(hours=8 + occurrence.number % 9, minutes=(occurrence.number * 17) % 60)
    )
    started = _clamp(started, now - timedelta(hours=3))
    times: dict[str, Any] = {
        "started_at": started,
        "detected_at": started + timedelta(minutes=scenario.detect_minutes),
    }
    if occurrence.minutes_to_resolve is not None:
        resolve = max(occurrence.minutes_to_resolve, scenario.detect_minutes + 5)
        times["mitigated_at"] = started + timedelta(minutes=round(resolve * 0.7))
        times["resolved_at"] = started + timedelta(minutes=resolve)
    elif occurrence.status == "mitigated":
        times["mitigated_at"] = started + timedelta(minutes=scenario.detect_minutes + 30)
    return times


def _article(slug: str) -> Article | None:
    return Article.objects.filter(slug=slug).first()


def _findings(
    postmortem: Postmortem, scenario: Scenario, occurrence: Occurrence, user: Any
) -> None:
    for index, demo in enumerate(scenario.findings):
        outcome = demo.outcome
        if occurrence.state == "draft" and index == len(scenario.findings) - 1:
            outcome = None  # a draft still has a lesson to decide on
        kwargs: dict[str, Any] = {}
        if outcome and outcome[0] == "link":
            article = _article(outcome[1])
            if article is not None:
                kwargs["article"] = article
            else:
                kwargs["no_article_reason"] = "The article for this is not in this demo."
        elif outcome and outcome[0] == "spawn":
            kwargs["spawn_article"] = True
        elif outcome and outcome[0] == "none":
            kwargs["no_article_reason"] = outcome[1]
        finding_add(postmortem=postmortem, user=user, text=demo.text, kind=demo.kind, **kwargs)


def _action_items(
    postmortem: Postmortem, scenario: Scenario, occurrence: Occurrence, owner: Any, now: datetime
) -> None:
    started = postmortem.incident.started_at
    today = timezone.localdate()
    for index, (title, priority) in enumerate(scenario.actions):
        due = timezone.localdate(started) + timedelta(days=DEFAULT_DUE_DAYS[priority])
        item = action_item_add(
            postmortem=postmortem,
            user=owner,
            title=title,
            owner=owner,
            priority=priority,
            due_date=due,
        )
        if occurrence.state != "published":
            continue
        pattern = 1 if index == 0 else occurrence.number % 4
        completed: datetime | None = None
        if pattern == 1 and due <= today:  # done on time
            action_item_update(item=item, user=owner, status="done")
            completed = timezone.make_aware(datetime.combine(due, datetime.min.time())) - timedelta(
                days=2
            )
        elif pattern == 2:
            action_item_update(item=item, user=owner, status="in_progress")
        elif pattern == 3 and due <= today:  # done, but late
            action_item_update(item=item, user=owner, status="done")
            completed = timezone.make_aware(datetime.combine(due, datetime.min.time())) + timedelta(
                days=10
            )
        # pattern 0: still open, overdue once the due date passed.
        if completed is not None:
            completed = _clamp(max(completed, started + timedelta(days=1)), now)
            ActionItem.objects.filter(pk=item.pk).update(completed_at=completed)


def _backdate(postmortem: Postmortem, resolved: datetime, now: datetime) -> None:
    """Move the postmortem's history to the days after the incident (demo history only)."""
    written = _clamp(resolved + timedelta(days=1), now)
    submitted = _clamp(resolved + timedelta(days=3), now)
    reviewed = _clamp(resolved + timedelta(days=5), now)
    published = _clamp(resolved + timedelta(days=6), now)
    pm = Postmortem.objects.get(pk=postmortem.pk)
    Postmortem.objects.filter(pk=pm.pk).update(
        created_at=written,
        updated_at=published if pm.published_at else reviewed if pm.submitted_at else written,
        submitted_at=submitted if pm.submitted_at else None,
        approved_at=reviewed if pm.approved_at else None,
        published_at=published if pm.published_at else None,
    )
    PostmortemRevision.objects.filter(postmortem=pm).update(created_at=written)
    Review.objects.filter(postmortem=pm).update(created_at=reviewed)
    Finding.objects.filter(postmortem=pm).update(created_at=written)
    ActionItem.objects.filter(postmortem=pm).update(created_at=written)


def _postmortem(
    incident: Incident, scenario: Scenario, occurrence: Occurrence, people: dict[str, Any]
) -> None:
    author = people[COMMANDERS[scenario.team]]
    reviewer = people.get(REVIEWERS[scenario.team])
    postmortem = postmortem_start(incident=incident, user=author)
    sections = {**scenario.sections, **occurrence.extra}
    postmortem = postmortem_save_sections(
        postmortem=postmortem,
        user=author,
        sections=sections,
        expected_version=1,
        change_note="First write-up",
    )
    _findings(postmortem, scenario, occurrence, author)
    now = timezone.now()
    _action_items(postmortem, scenario, occurrence, author, now)
    state = occurrence.state
    if state != "draft":
        postmortem = postmortem_submit(postmortem=postmortem, user=author)
    if state == "changes_requested" and reviewer is not None:
        postmortem_request_changes(
            postmortem=postmortem, user=reviewer, comment=occurrence.review_comment
        )
    if state in ("approved", "published") and reviewer is not None:
        postmortem = postmortem_approve(postmortem=postmortem, user=reviewer, comment="Clear.")
    if state == "published" and reviewer is not None:
        postmortem_publish(postmortem=postmortem, user=author, acknowledge_warnings=True)
    _backdate(postmortem, incident.resolved_at or incident.started_at, now)


def _article_use(incident: Incident, scenario: Scenario, occurrence: Occurrence, user: Any) -> None:
    used = occurrence.helped is not None or occurrence.number in USED_WITHOUT_RATING
    article = _article(scenario.used_article) if scenario.used_article and used else None
    if article is None:
        return
    try:
        use = article_use_record(
            incident=incident,
            user=user,
            article=article,
            helped=occurrence.helped,
            minutes_saved=occurrence.minutes_saved,
            note="Followed the resolution steps." if occurrence.helped else "",
        )
    except DomainError:  # the article is not visible to this responder in this demo
        return
    ArticleUse.objects.filter(pk=use.pk).update(used_at=incident.detected_at or incident.started_at)


def _seed_one(occurrence: Occurrence, people: dict[str, Any]) -> None:
    scenario = SCENARIOS[occurrence.scenario]
    commander = people[COMMANDERS[scenario.team]]
    now = timezone.now()
    times = _times(occurrence, scenario, now)
    responders = [people[name] for name in RESPONDERS[scenario.team] if name in people]
    incident = incident_create(
        user=commander,
        title=scenario.title,
        severity=occurrence.severity,
        team=Team.objects.get(slug=scenario.team),
        summary=scenario.summary,
        services=list(Service.objects.filter(slug__in=scenario.services).order_by("slug")),
        tag_names=list(scenario.tags),
        status=occurrence.status if occurrence.minutes_to_resolve is None else None,
        visibility="restricted" if occurrence.number in RESTRICTED else "internal",
        root_cause_category=RootCauseCategory.objects.filter(slug=scenario.category).first(),
        commander=commander,
        responders=responders,
        external_source=EXTERNAL_SOURCE,
        external_id=external_id(occurrence.number),
        **times,
    )
    span = (incident.resolved_at or now) - incident.started_at
    for fraction, kind, text in scenario.timeline:
        moment = _clamp(incident.started_at + span * fraction, now)
        if incident.resolved_at is None and kind == "resolution":
            continue
        timeline_add(incident=incident, user=commander, occurred_at=moment, kind=kind, text=text)
    _article_use(incident, scenario, occurrence, commander)
    if occurrence.state is not None:
        _postmortem(incident, scenario, occurrence, people)
    Incident.objects.filter(pk=incident.pk).update(
        created_at=incident.started_at, updated_at=incident.resolved_at or incident.started_at
    )


def seed_postmortems(say: Callable[[str], None]) -> None:
    people = _people()
    missing = sorted({*COMMANDERS.values(), *REVIEWERS.values()} - set(people))
    if missing or Team.objects.filter(slug__in=COMMANDERS).count() != len(COMMANDERS):
        say(f"postmortems: skipped, the catalog demo is missing {', '.join(missing) or 'teams'}")
        return
    existing = set(
        Incident.objects.filter(external_source=EXTERNAL_SOURCE).values_list(
            "external_id", flat=True
        )
    )
    created = 0
    for occurrence in OCCURRENCES:
        if external_id(occurrence.number) in existing:
            continue
        with transaction.atomic():
            _seed_one(occurrence, people)
        created += 1
    say(
        f"postmortems: {created} incidents created, {len(OCCURRENCES)} in the demo "
        f"({len(RESTRICTED)} restricted to the Payments team)"
    )
