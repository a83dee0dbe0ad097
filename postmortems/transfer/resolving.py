"""The names a postmortem file uses (team, services, category, people, template), resolved
against this database; unknown catalog names refuse the file, unknown people are reported."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from kbsite.errors import InvalidInput
from kbsite.models import Service, Team
from kbsite.roles import Role, user_has_role
from knowledge.transfer.documents import Document
from knowledge.transfer.report import FileResult
from postmortems import services
from postmortems.models import PostmortemTemplate, RootCauseCategory, TemplateSection
from postmortems.transfer.reading import IncidentFields, template_coverage


def team_named(slug: str) -> Team:
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise InvalidInput(f"Unknown team {slug!r}: no team has that slug here.", field="team")
    return team


def services_named(slugs: list[str]) -> list[Service]:
    found = {service.slug: service for service in Service.objects.filter(slug__in=slugs)}
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        raise InvalidInput(
            f"Unknown service {', '.join(repr(slug) for slug in missing)}: no service has that "
            "slug here.",
            field="services",
        )
    return [found[slug] for slug in dict.fromkeys(slugs)]


def category_named(name: str) -> RootCauseCategory | None:
    if not name:
        return None
    category = RootCauseCategory.objects.filter(Q(slug=name) | Q(name__iexact=name)).first()
    if category is None:
        raise InvalidInput(
            f"Unknown root cause category {name!r}: use the slug of one in the taxonomy.",
            field="root_cause_category",
        )
    return category


def people_named(names: list[str], result: FileResult, *, role: str) -> list[Any]:
    found = {
        person.username: person
        for person in get_user_model().objects.filter(username__in=names, is_active=True)
    }
    for name in names:
        if name not in found:
            result.warnings.append(f"The {role} {name!r} has no active account here; left out.")
    return [found[name] for name in dict.fromkeys(names) if name in found]


def owner_named(name: str, result: FileResult, *, title: str) -> Any:
    """An action item's owner by username, else by full name when only one person has it."""
    if not name:
        return None
    users = get_user_model().objects.filter(is_active=True)
    person = users.filter(username=name).first()
    if person is None and " " in name.strip():
        first, last = name.strip().split(" ", 1)
        matches = list(users.filter(first_name__iexact=first, last_name__iexact=last)[:2])
        person = matches[0] if len(matches) == 1 else None
    if person is None:
        result.warnings.append(f"Action item “{title}”: no one here is {name!r}; no owner set.")
    return person


def template_for(fields: IncidentFields, document: Document) -> PostmortemTemplate:
    current = PostmortemTemplate.objects.filter(is_current=True)
    if fields.template:
        template = current.filter(slug=fields.template).first()
        if template is None:
            raise InvalidInput(
                f"Unknown postmortem template {fields.template!r}.", field="template"
            )
        return template
    default = services.template_default_for(severity=fields.severity)
    best, best_cover = default, -1
    keys_by_template: dict[int, set[str]] = {}
    for section in TemplateSection.objects.filter(template__in=current).only("template_id", "key"):
        keys_by_template.setdefault(section.template_id, set()).add(section.key)
    for template in [default, *current.exclude(pk=default.pk).order_by("slug")]:
        cover = template_coverage(document, keys_by_template.get(template.pk, set()))
        if cover > best_cover:
            best, best_cover = template, cover
    return best


def check_may_write(user: Any, team: Team, people: list[Any]) -> None:
    """Only the people who would author its postmortem import an incident, so that nobody
    creates an incident they could then not see or finish."""
    if user_has_role(user, Role.ADMIN) or user in people:
        return
    if team.memberships.filter(user=user).exists():
        return
    raise InvalidInput(
        f"You are not in the team {team.slug!r}, nor its commander or a responder, so you "
        "cannot write its postmortem; ask someone who is, or an admin, to import it.",
        field="team",
    )
