"""Templates: the seeded taxonomy and templates, revising a template in use, defaults, admin."""

from __future__ import annotations

import pytest

from kbsite.errors import InvalidInput, NotAllowed
from postmortems.models import (
    PostmortemTemplate,
    RootCauseCategory,
    SeverityDefaultTemplate,
    TemplateSection,
)
from postmortems.services import (
    SectionSpec,
    severity_default_set,
    template_default_for,
    template_make_current,
    template_revise,
)
from tests.postmortems.factories import PostmortemFactory

SECTIONS = [
    SectionSpec("summary", "Summary", "What happened?", True),
    SectionSpec("notes", "Notes"),
]


@pytest.mark.django_db
def test_migration_seeds_taxonomy_templates_and_defaults():
    assert list(RootCauseCategory.objects.values_list("slug", flat=True)) == [
        "binary-push",
        "configuration-push",
        "user-behaviour-change",
        "capacity-load",
        "dependency-failure",
        "hardware",
        "network",
        "certificate-credential-expiry",
        "data-corruption",
        "software-bug",
        "process-procedure",
    ]
    blameless = PostmortemTemplate.objects.get(slug="blameless", is_current=True)
    assert list(blameless.sections.values_list("key", flat=True)) == [
        "summary",
        "impact",
        "timeline",
        "root_causes",
        "detection",
        "response",
        "went_well",
        "went_wrong",
        "lucky",
        "lessons",
    ]
    assert list(blameless.sections.filter(required=True).values_list("key", flat=True)) == [
        "summary",
        "impact",
        "root_causes",
        "lessons",
    ]
    classic = PostmortemTemplate.objects.get(slug="sre-classic")
    assert list(classic.sections.values_list("key", flat=True)) == [
        "status",
        "summary",
        "impact",
        "root_causes",
        "trigger",
        "resolution",
        "detection",
        "action_items",
        "lessons",
        "went_well",
        "went_wrong",
        "lucky",
        "timeline",
        "supporting_information",
    ]
    assert dict(SeverityDefaultTemplate.objects.values_list("severity", "template_slug")) == {
        "sev1": "blameless",
        "sev2": "blameless",
        "sev3": "blameless",
        "sev4": "blameless",
    }


@pytest.mark.django_db
def test_revising_a_template_in_use_makes_a_new_current_version(admin_user):
    used = PostmortemTemplate.objects.get(slug="blameless")
    PostmortemFactory(template=used)

    revised = template_revise(
        template=used, user=admin_user, name="Blameless", description="v2", sections=SECTIONS
    )

    used.refresh_from_db()
    assert (revised.slug, revised.version, revised.is_current) == ("blameless", 2, True)
    assert used.is_current is False
    assert used.sections.count() == 10
    assert list(revised.sections.values_list("key", flat=True)) == ["summary", "notes"]
    assert template_default_for(severity="sev1") == revised


@pytest.mark.django_db
def test_revising_an_unused_template_changes_it_in_place(admin_user):
    unused = PostmortemTemplate.objects.get(slug="sre-classic")

    revised = template_revise(
        template=unused, user=admin_user, name="SRE", description="", sections=SECTIONS
    )

    assert (revised.pk, revised.version, revised.name) == (unused.pk, 1, "SRE")
    assert TemplateSection.objects.filter(template=unused).count() == 2


@pytest.mark.django_db
def test_template_changes_need_an_admin_and_valid_sections(admin_user, reviewer):
    template = PostmortemTemplate.objects.get(slug="sre-classic")
    with pytest.raises(NotAllowed):
        template_revise(
            template=template, user=reviewer, name="x", description="", sections=SECTIONS
        )
    with pytest.raises(InvalidInput) as duplicate:
        template_revise(
            template=template,
            user=admin_user,
            name="x",
            description="",
            sections=[SectionSpec("summary", "A"), SectionSpec("summary", "B")],
        )
    with pytest.raises(InvalidInput) as bad_key:
        template_revise(
            template=template,
            user=admin_user,
            name="x",
            description="",
            sections=[SectionSpec("Root Causes!", "A")],
        )

    assert duplicate.value.message == "The section key 'summary' appears twice."
    assert bad_key.value.message == (
        "The section key 'Root Causes!' must be lower case letters, digits and underscores."
    )
    assert template.sections.count() == 14


@pytest.mark.django_db
def test_severity_default_and_make_current(admin_user):
    default = severity_default_set(severity="sev1", template_slug="sre-classic", user=admin_user)
    assert template_default_for(severity="sev1").slug == "sre-classic"
    assert default.template_slug == "sre-classic"
    with pytest.raises(InvalidInput) as refused:
        severity_default_set(severity="sev1", template_slug="nope", user=admin_user)
    assert refused.value.field == "template_slug"

    used = PostmortemTemplate.objects.get(slug="blameless")
    PostmortemFactory(template=used)
    template_revise(template=used, user=admin_user, name="B", description="", sections=SECTIONS)
    back = template_make_current(template=used, user=admin_user)
    assert back.is_current is True
    assert PostmortemTemplate.objects.filter(slug="blameless", is_current=True).get() == used


@pytest.mark.django_db
def test_admin_pages_load(admin_client):
    template = PostmortemTemplate.objects.get(slug="blameless")
    for url in (
        "/admin/postmortems/postmortemtemplate/",
        f"/admin/postmortems/postmortemtemplate/{template.pk}/change/",
        "/admin/postmortems/rootcausecategory/",
        "/admin/postmortems/severitydefaulttemplate/",
        "/admin/postmortems/incident/",
    ):
        assert admin_client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_admin_edit_of_a_template_in_use_saves_a_new_version(admin_client):
    template = PostmortemTemplate.objects.get(slug="sre-classic")
    PostmortemFactory(template=template)
    sections = list(template.sections.order_by("position"))
    data = {
        "name": "SRE classic",
        "description": "Edited",
        "sections-TOTAL_FORMS": str(len(sections)),
        "sections-INITIAL_FORMS": str(len(sections)),
        "sections-MIN_NUM_FORMS": "0",
        "sections-MAX_NUM_FORMS": "1000",
    }
    for index, section in enumerate(sections):
        prefix = f"sections-{index}-"
        data.update(
            {
                f"{prefix}id": str(section.pk),
                f"{prefix}template": str(template.pk),
                f"{prefix}position": str(section.position),
                f"{prefix}key": section.key,
                f"{prefix}heading": "Root causes (revised)"
                if section.key == "root_causes"
                else section.heading,
                f"{prefix}prompt": section.prompt,
            }
        )
        if section.required:
            data[f"{prefix}required"] = "on"
    data["sections-13-DELETE"] = "on"  # drop "supporting information"

    response = admin_client.post(
        f"/admin/postmortems/postmortemtemplate/{template.pk}/change/", data
    )

    assert response.status_code == 302
    revised = PostmortemTemplate.objects.get(slug="sre-classic", is_current=True)
    assert revised.version == 2
    assert revised.description == "Edited"
    assert revised.sections.get(key="root_causes").heading == "Root causes (revised)"
    assert revised.sections.count() == 13
    template.refresh_from_db()
    assert template.sections.get(key="root_causes").heading == "Root causes"
    assert template.sections.count() == 14


@pytest.mark.django_db
def test_seed_migration_reverses_and_reapplies_keeping_rows_in_use():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("postmortems.migrations.0002_seed_taxonomy_and_templates")
    used = PostmortemTemplate.objects.get(slug="blameless")
    PostmortemFactory(template=used)

    migration.unseed(apps, None)

    assert list(PostmortemTemplate.objects.values_list("slug", flat=True)) == ["blameless"]
    assert not RootCauseCategory.objects.exists()
    assert not SeverityDefaultTemplate.objects.exists()

    migration.seed(apps, None)
    migration.seed(apps, None)  # idempotent

    assert RootCauseCategory.objects.count() == 11
    assert PostmortemTemplate.objects.count() == 2
    assert SeverityDefaultTemplate.objects.count() == 4
