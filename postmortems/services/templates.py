"""Postmortem templates: which one a postmortem starts from, and revising them safely.

A template in use is never changed under the postmortems written with it: revising it makes a
new version, which new postmortems start from; the old one stays as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.text import slugify

from kbsite.errors import InvalidInput, NotAllowed
from kbsite.roles import Role, user_has_role
from postmortems.models import (
    Postmortem,
    PostmortemTemplate,
    Severity,
    SeverityDefaultTemplate,
    TemplateSection,
)

DEFAULT_TEMPLATE_SLUG = "blameless"
MAX_SECTIONS = 40


@dataclass(frozen=True)
class SectionSpec:
    key: str
    heading: str
    prompt: str = ""
    required: bool = False


def template_default_for(*, severity: str) -> PostmortemTemplate:
    """The current version of the severity's default template, else of "blameless"."""
    chosen = (
        SeverityDefaultTemplate.objects.filter(severity=severity)
        .values_list("template_slug", flat=True)
        .first()
    )
    for slug in (chosen, DEFAULT_TEMPLATE_SLUG):
        if not slug:
            continue
        template = PostmortemTemplate.objects.filter(slug=slug, is_current=True).first()
        if template is not None:
            return template
    raise InvalidInput("No postmortem template is set up; an admin must add one.", field="template")


def template_in_use(*, template: PostmortemTemplate) -> bool:
    return Postmortem.objects.filter(template=template).exists()


def _check_admin(user: Any) -> None:
    if not user_has_role(user, Role.ADMIN):
        raise NotAllowed("Only admins can change postmortem templates.")


def _sections_clean(sections: Sequence[SectionSpec]) -> list[SectionSpec]:
    if not sections:
        raise InvalidInput("A template needs at least one section.", field="sections")
    if len(sections) > MAX_SECTIONS:
        raise InvalidInput(f"A template has at most {MAX_SECTIONS} sections.", field="sections")
    seen: set[str] = set()
    cleaned: list[SectionSpec] = []
    for spec in sections:
        key = spec.key.strip()
        if not key or slugify(key).replace("-", "_") != key:
            raise InvalidInput(
                f"The section key {key!r} must be lower case letters, digits and underscores.",
                field="sections",
            )
        if key in seen:
            raise InvalidInput(f"The section key {key!r} appears twice.", field="sections")
        seen.add(key)
        heading = spec.heading.strip()
        if not heading or len(heading) > 200:
            raise InvalidInput(
                f"The section {key!r} needs a heading of at most 200 characters.",
                field="sections",
            )
        cleaned.append(SectionSpec(key, heading, spec.prompt.strip()[:5000], spec.required))
    return cleaned


def _write_sections(template: PostmortemTemplate, sections: list[SectionSpec]) -> None:
    TemplateSection.objects.bulk_create(
        TemplateSection(
            template=template,
            key=spec.key,
            heading=spec.heading,
            prompt=spec.prompt,
            required=spec.required,
            position=position,
        )
        for position, spec in enumerate(sections, start=1)
    )


def template_revise(
    *,
    template: PostmortemTemplate,
    user: Any,
    name: str,
    description: str,
    sections: Sequence[SectionSpec],
) -> PostmortemTemplate:
    """Change a template. Used by any postmortem: a new current version is made and returned;
    unused: changed in place. Admins only."""
    _check_admin(user)
    cleaned = _sections_clean(sections)
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("Give the template a name of at most 100 characters.", field="name")
    with transaction.atomic():
        locked = PostmortemTemplate.objects.select_for_update().get(pk=template.pk)
        if template_in_use(template=locked):
            latest = PostmortemTemplate.objects.filter(slug=locked.slug).aggregate(
                latest=Max("version")
            )["latest"]
            PostmortemTemplate.objects.filter(slug=locked.slug, is_current=True).update(
                is_current=False
            )
            revised = PostmortemTemplate.objects.create(
                name=name,
                slug=locked.slug,
                version=(latest or 0) + 1,
                description=description.strip(),
                is_current=True,
            )
        else:
            PostmortemTemplate.objects.filter(pk=locked.pk).update(
                name=name, description=description.strip()
            )
            locked.sections.all().delete()
            revised = PostmortemTemplate.objects.get(pk=locked.pk)
        _write_sections(revised, cleaned)
    return revised


def template_make_current(*, template: PostmortemTemplate, user: Any) -> PostmortemTemplate:
    """New postmortems of this slug start from `template` (for example, to undo a revision)."""
    _check_admin(user)
    with transaction.atomic():
        PostmortemTemplate.objects.filter(slug=template.slug, is_current=True).exclude(
            pk=template.pk
        ).update(is_current=False)
        PostmortemTemplate.objects.filter(pk=template.pk).update(is_current=True)
    return PostmortemTemplate.objects.get(pk=template.pk)


def severity_default_set(
    *, severity: str, template_slug: str, user: Any
) -> SeverityDefaultTemplate:
    """New postmortems of `severity` start from the current version of `template_slug`."""
    _check_admin(user)
    if severity not in Severity.values:
        raise InvalidInput(f"Unknown severity {severity!r}.", field="severity")
    if not PostmortemTemplate.objects.filter(slug=template_slug, is_current=True).exists():
        raise InvalidInput(f"No template {template_slug!r} exists.", field="template_slug")
    default, _ = SeverityDefaultTemplate.objects.update_or_create(
        severity=severity, defaults={"template_slug": template_slug}
    )
    return default
