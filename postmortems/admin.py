"""The admin for operators: templates (a template in use is revised into a new version),
default templates per severity, and the root-cause taxonomy. Incidents and postmortems are
read-only here: they change through the product's pages and API, which keep the history. So are
alert integrations and their payload log: secrets are made and shown once on the product's
integration pages (/postmortems/integrations/)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from kbsite.errors import DomainError
from postmortems.models import (
    AlertIntegration,
    Incident,
    IngestedPayload,
    Postmortem,
    PostmortemTemplate,
    RootCauseCategory,
    SeverityDefaultTemplate,
    TemplateSection,
)
from postmortems.services import (
    SectionSpec,
    template_in_use,
    template_make_current,
    template_revise,
)


@admin.register(RootCauseCategory)
class RootCauseCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "is_active"]
    list_editable = ["position", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "description"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Incidents keep their category: retire one (is_active) instead of deleting it.
        return (
            obj is not None
            and not obj.incidents.exists()
            and super().has_delete_permission(request, obj)
        )


class TemplateSectionInline(admin.TabularInline):
    model = TemplateSection
    fields = ["position", "key", "heading", "prompt", "required"]
    extra = 1
    ordering = ["position", "id"]


@admin.register(PostmortemTemplate)
class PostmortemTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "version", "is_current", "created_at"]
    list_filter = ["is_current"]
    readonly_fields = ["version", "is_current", "created_at"]
    inlines = [TemplateSectionInline]
    actions = ["make_current"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "slug"] if obj is not None else fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change and template_in_use(template=PostmortemTemplate.objects.get(pk=obj.pk)):
            # Saved in save_related, as a new version, once the sections are known.
            request._template_revision = obj  # type: ignore[attr-defined]
            return
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        edited = getattr(request, "_template_revision", None)
        if edited is None:
            super().save_related(request, form, formsets, change)
            return
        sections = [
            SectionSpec(
                key=data["key"],
                heading=data["heading"],
                prompt=data.get("prompt", ""),
                required=data.get("required", False),
            )
            for formset in formsets
            for data in sorted(
                (f.cleaned_data for f in formset.forms if f.cleaned_data),
                key=lambda data: data.get("position") or 0,
            )
            if not data.get("DELETE")
        ]
        try:
            revised = template_revise(
                template=edited,
                user=request.user,
                name=edited.name,
                description=edited.description,
                sections=sections,
            )
        except DomainError as error:
            messages.error(request, error.message)
            return
        request._template_revised = revised  # type: ignore[attr-defined]
        for formset in formsets:  # the admin's change message reads what formset.save() sets
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        messages.info(
            request,
            f"Postmortems use version {edited.version}, so your changes were saved as version "
            f"{revised.version}, which new postmortems now start from.",
        )

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        revised = getattr(request, "_template_revised", None)
        if revised is not None:
            return HttpResponseRedirect(
                reverse("admin:postmortems_postmortemtemplate_change", args=[revised.pk])
            )
        return super().response_change(request, obj)

    @admin.action(description="Make the selected version the one new postmortems use")
    def make_current(self, request: HttpRequest, queryset: QuerySet[PostmortemTemplate]) -> None:
        for template in queryset:
            template_make_current(template=template, user=request.user)
        messages.success(request, f"{queryset.count()} template version(s) made current.")


class SeverityDefaultForm(forms.ModelForm):
    template_slug = forms.ChoiceField(label="Template")

    class Meta:
        model = SeverityDefaultTemplate
        fields = ["severity", "template_slug"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = PostmortemTemplate.objects.filter(is_current=True).order_by("name")
        self.fields["template_slug"].choices = [  # type: ignore[attr-defined]
            (template.slug, f"{template.name} (v{template.version})") for template in current
        ]


@admin.register(SeverityDefaultTemplate)
class SeverityDefaultTemplateAdmin(admin.ModelAdmin):
    form = SeverityDefaultForm
    list_display = ["severity", "template_slug"]
    ordering = ["severity"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ["id", "title", "severity", "status", "team", "visibility", "started_at"]
    list_filter = ["severity", "status", "visibility", "team"]
    search_fields = ["title", "external_id"]


@admin.register(Postmortem)
class PostmortemAdmin(ReadOnlyAdmin):
    list_display = ["id", "incident", "state", "template", "version", "updated_at"]
    list_filter = ["state"]


@admin.register(AlertIntegration)
class AlertIntegrationAdmin(ReadOnlyAdmin):
    list_display = ["name", "source", "team", "is_enabled", "last_received_at", "created_by"]
    list_filter = ["source", "is_enabled", "team"]
    search_fields = ["name"]
    exclude = ["secret_hash", "signing_secret"]


@admin.register(IngestedPayload)
class IngestedPayloadAdmin(ReadOnlyAdmin):
    list_display = [
        "received_at",
        "source",
        "integration",
        "accepted",
        "status_code",
        "external_id",
        "incident",
    ]
    list_filter = ["source", "accepted"]
    list_select_related = ["integration", "incident"]
    search_fields = ["external_id", "event_id", "reason"]
