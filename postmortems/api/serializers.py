"""Incidents and postmortems over the API: output serializers describe, input ones check shape.

Input serializers hand clean values to the same services as the browser's forms: catalog objects
by slug, tags by name, people by username, other objects by id, enums in any case. The services
decide everything else (who may, in which state, which times are in order).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kbsite.models import Service
from knowledge.api.serializers import LowercaseChoiceField, StrictInputSerializer, TeamSlugField
from knowledge.models import Article
from postmortems.blameless import lint_sections
from postmortems.models import (
    ActionItem,
    ArticleUse,
    Finding,
    Incident,
    IncidentStatus,
    Postmortem,
    PostmortemTemplate,
    RootCauseCategory,
    SectionComment,
    Severity,
    TemplateSection,
    TimelineEntry,
    Visibility,
)
from postmortems.permissions import incidents_visible_q
from postmortems.services.common import (
    MAX_ACTION_TITLE_LENGTH,
    MAX_CHANGE_NOTE_LENGTH,
    MAX_COMMENT_LENGTH,
    MAX_FINDING_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_REASON_LENGTH,
    MAX_REVIEW_COMMENT_LENGTH,
    MAX_SECTION_LENGTH,
    MAX_SUMMARY_LENGTH,
    MAX_TIMELINE_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
    MAX_URL_LENGTH,
)

MAX_SERVICES = 50
MAX_TAGS = 20
MAX_TAG_LENGTH = 50
MAX_RESPONDERS = 50
MAX_SECTIONS = 40
MAX_MINUTES_SAVED = 10_000


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


# --- input fields ------------------------------------------------------------------------------


class UsernameField(serializers.SlugRelatedField):
    """An active person, named by username."""

    default_error_messages = {
        "does_not_exist": "No active person has the username {value!r}.",
        "invalid": "Name the person by username, such as 'rita'.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            slug_field="username",
            queryset=get_user_model().objects.filter(is_active=True),
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data.strip())


class CategorySlugField(serializers.SlugRelatedField):
    default_error_messages = {
        "does_not_exist": "No root cause category has the slug {value!r}.",
        "invalid": "Name the root cause category by its slug, such as 'deploy'.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="slug", queryset=RootCauseCategory.objects.all(), **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data.strip().lower())


@extend_schema_field({"type": "array", "items": {"type": "string"}, "maxItems": MAX_SERVICES})
class ServiceSlugsField(serializers.ListField):
    """Service slugs, each of which must exist: `["checkout"]` → [Service]."""

    child = serializers.CharField(max_length=100)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_SERVICES)
        kwargs.setdefault("help_text", "Service slugs; each must exist.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[Service]:
        slugs = super().to_internal_value(data)
        wanted = list(dict.fromkeys(slug.strip().lower() for slug in slugs))
        found = {service.slug: service for service in Service.objects.filter(slug__in=wanted)}
        unknown = [slug for slug in wanted if slug not in found]
        if unknown:
            names = ", ".join(repr(slug) for slug in unknown)
            raise serializers.ValidationError(
                f"No service has the slug {names}: see /api/v1/services/."
            )
        return [found[slug] for slug in wanted]


@extend_schema_field(
    {
        # URLField alone says `format: uri`, which "" does not satisfy; blank means "none".
        "anyOf": [
            {"type": "string", "format": "uri", "maxLength": MAX_URL_LENGTH},
            {"type": "string", "enum": [""]},
        ]
    }
)
class OptionalURLField(serializers.URLField):
    """An http or https address, or "" when there is none."""

    def __init__(self, **kwargs: Any) -> None:
        if not kwargs.get("read_only"):
            kwargs.setdefault("required", False)
            kwargs.setdefault("allow_blank", True)
            kwargs.setdefault("max_length", MAX_URL_LENGTH)
        super().__init__(**kwargs)


@extend_schema_field(OpenApiTypes.INT)
class ObjectIdField(serializers.Field):
    """An object named by its integer id, looked up in `queryset_for(user)`; an id that is
    absent or not visible reads the same: not found."""

    default_error_messages = {
        "invalid": "Give the id as a whole number.",
        "not_found": "That {what} was not found.",
    }

    def __init__(self, *, what: str, **kwargs: Any) -> None:
        self.what = what
        super().__init__(**kwargs)

    def queryset_for(self, user: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        text = str(data).strip()
        if not text.isdigit() or len(text) > 18:
            self.fail("invalid")
        request = self.context.get("request")
        user = getattr(request, "user", None)
        found = self.queryset_for(user).filter(pk=int(text)).first()
        if found is None:
            self.fail("not_found", what=self.what)
        return found

    def to_representation(self, value: Any) -> Any:
        return value.pk


class IncidentIdField(ObjectIdField):
    """An incident the signed-in person may see (a restricted one is not found for others)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(what="incident", **kwargs)

    def queryset_for(self, user: Any) -> Any:
        return Incident.objects.filter(incidents_visible_q(user))


class ArticleIdField(ObjectIdField):
    """An article; the services refuse one the person may not see, with the same message."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(what="article", **kwargs)

    def queryset_for(self, user: Any) -> Any:
        return Article.objects.all()


def _text(limit: int, *, required: bool = False, markdown: bool = False, **kwargs: Any) -> Any:
    return serializers.CharField(
        required=required,
        allow_blank=not required,
        max_length=limit,
        # Markdown: leading whitespace can matter (indented code).
        trim_whitespace=not markdown,
        **kwargs,
    )


def _version_field(what: str = "edited") -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=f"The version you {what} (or send If-Match). Stale: 412; neither: 428.",
    )


# --- output: incidents -------------------------------------------------------------------------


class IncidentSerializer(serializers.ModelSerializer):
    """The whole incident, as every read and every successful write answers it."""

    team: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    services: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, many=True
    )
    tags: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="name", read_only=True, many=True
    )
    root_cause_category: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    commander: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="A username."
    )
    responders: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, many=True, help_text="Usernames."
    )
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="A username."
    )
    repeat_of = serializers.SerializerMethodField(
        help_text="The earlier incident this one repeats (its id), or null."
    )
    postmortem = serializers.SerializerMethodField(help_text="Its postmortem's id, or null.")
    postmortem_state = serializers.SerializerMethodField(
        help_text="Its postmortem's state, or null when it has none."
    )
    external_url = OptionalURLField(
        read_only=True, help_text="The alert's page in the alerting tool, or empty."
    )
    web_url = serializers.SerializerMethodField(help_text="The incident's page, for people.")

    class Meta:
        model = Incident
        fields = [
            "id",
            "title",
            "summary",
            "summary_html",
            "severity",
            "status",
            "visibility",
            "team",
            "services",
            "tags",
            "root_cause_category",
            "commander",
            "responders",
            "started_at",
            "detected_at",
            "mitigated_at",
            "resolved_at",
            "closed_at",
            "external_source",
            "external_id",
            "external_url",
            "repeat_of",
            "postmortem",
            "postmortem_state",
            "created_by",
            "created_at",
            "updated_at",
            "version",
            "web_url",
        ]
        read_only_fields = fields

    @staticmethod
    def _postmortem(incident: Incident) -> Postmortem | None:
        try:
            return incident.postmortem
        except Postmortem.DoesNotExist:
            return None

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_repeat_of(self, incident: Incident) -> int | None:
        # Lists annotate whether the earlier incident is visible; the detail selector already
        # cleared one that is not.
        if not getattr(incident, "repeat_of_visible", True):
            return None
        return incident.repeat_of_id

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_postmortem(self, incident: Incident) -> int | None:
        postmortem = self._postmortem(incident)
        return None if postmortem is None else postmortem.pk

    @extend_schema_field({"type": "string", "nullable": True})
    def get_postmortem_state(self, incident: Incident) -> str | None:
        postmortem = self._postmortem(incident)
        return None if postmortem is None else postmortem.state

    @extend_schema_field(OpenApiTypes.URI)
    def get_web_url(self, incident: Incident) -> str:
        return absolute(incident.get_absolute_url())


class TimelineEntrySerializer(serializers.ModelSerializer):
    author: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="A username."
    )

    class Meta:
        model = TimelineEntry
        fields = ["id", "occurred_at", "position", "kind", "text", "author", "created_at"]
        read_only_fields = fields


def _visible_article(row: Any) -> Article | None:
    """The row's article when the reader may see it (selectors mark `visible_article`)."""
    return getattr(row, "visible_article", None)


class _ArticleRefMixin(serializers.Serializer):
    article_title = serializers.SerializerMethodField(
        help_text="The article's title, or null when you may not see it."
    )
    article_web_url = serializers.SerializerMethodField(
        help_text="The article's page, or null when you may not see it."
    )

    @extend_schema_field({"type": "string", "nullable": True})
    def get_article_title(self, row: Any) -> str | None:
        article = _visible_article(row)
        return None if article is None else article.title

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_article_web_url(self, row: Any) -> str | None:
        article = _visible_article(row)
        return None if article is None else absolute(article.get_absolute_url())


class ArticleUseSerializer(_ArticleRefMixin, serializers.ModelSerializer):
    article: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True)
    user: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="Who recorded it: a username."
    )

    class Meta:
        model = ArticleUse
        fields = [
            "id",
            "article",
            "article_title",
            "article_web_url",
            "user",
            "used_at",
            "helped",
            "minutes_saved",
            "note",
        ]
        read_only_fields = fields


# --- output: postmortems -----------------------------------------------------------------------


class LintWarningSerializer(serializers.Serializer):
    rule = serializers.CharField()
    phrase = serializers.CharField()
    start = serializers.IntegerField(help_text="Offset of the phrase in the section's markdown.")
    end = serializers.IntegerField()
    message = serializers.CharField()
    suggestion = serializers.CharField()


@extend_schema_field(
    {
        "type": "object",
        "description": "Section key → markdown.",
        "additionalProperties": {"type": "string"},
    }
)
class SectionsField(serializers.DictField):
    child = serializers.CharField(allow_blank=True)


class FindingSerializer(_ArticleRefMixin, serializers.ModelSerializer):
    outcome = serializers.SerializerMethodField(
        help_text="linked, spawned, nothing_to_capture, or null while unresolved."
    )
    article: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The linked or spawned article's id, or null."
    )
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="A username."
    )

    class Meta:
        model = Finding
        fields = [
            "id",
            "text",
            "kind",
            "outcome",
            "article",
            "article_title",
            "article_web_url",
            "no_article_reason",
            "position",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "string",
            "enum": [*Finding.Outcome.values, None],
            "nullable": True,
        }
    )
    def get_outcome(self, finding: Finding) -> str | None:
        return finding.outcome or None


class ActionItemSerializer(serializers.ModelSerializer):
    owner: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="A username."
    )
    team: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="A username."
    )
    tracker_url = OptionalURLField(read_only=True, help_text="The tracker's ticket, or empty.")

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "title",
            "owner",
            "team",
            "due_date",
            "priority",
            "status",
            "status_reason",
            "tracker_url",
            "completed_at",
            "created_by",
            "created_at",
            "version",
        ]
        read_only_fields = fields


class SectionCommentSerializer(serializers.ModelSerializer):
    author: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="A username."
    )

    class Meta:
        model = SectionComment
        fields = ["id", "section_key", "text", "author", "created_at", "resolved_at"]
        read_only_fields = fields


class TemplateSectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = TemplateSection
        fields = ["key", "heading", "prompt", "required"]
        read_only_fields = fields


class PostmortemTemplateSerializer(serializers.ModelSerializer):
    sections = TemplateSectionSerializer(many=True, read_only=True)

    class Meta:
        model = PostmortemTemplate
        fields = ["slug", "name", "version", "description", "is_current", "sections"]
        read_only_fields = fields


class PostmortemSerializer(serializers.ModelSerializer):
    """A postmortem as lists show it; the detail adds its findings, action items and gate."""

    incident: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    incident_title = serializers.CharField(source="incident.title", read_only=True)
    template: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="The template's slug."
    )
    template_version = serializers.IntegerField(source="template.version", read_only=True)
    sections = SectionsField(read_only=True)
    sections_html = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        read_only=True,
        help_text="Section key → sanitized HTML, rendered on save.",
    )
    blameless_warnings = serializers.SerializerMethodField(
        help_text="Section key → blame-oriented phrases found, each with a suggestion."
    )
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="A username."
    )
    web_url = serializers.SerializerMethodField(help_text="The postmortem's page, for people.")

    class Meta:
        model = Postmortem
        fields = [
            "id",
            "incident",
            "incident_title",
            "template",
            "template_version",
            "state",
            "sections",
            "sections_html",
            "blameless_warnings",
            "created_by",
            "created_at",
            "updated_at",
            "submitted_at",
            "approved_at",
            "published_at",
            "version",
            "web_url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=LintWarningSerializer(many=True)))
    def get_blameless_warnings(self, postmortem: Postmortem) -> dict[str, Any]:
        warnings = self.context.get("warnings")
        if warnings is None:
            warnings = lint_sections(postmortem.sections)
        return {
            key: LintWarningSerializer(found, many=True).data for key, found in warnings.items()
        }

    @extend_schema_field(OpenApiTypes.URI)
    def get_web_url(self, postmortem: Postmortem) -> str:
        return absolute(postmortem.get_absolute_url())


class PostmortemDetailSerializer(PostmortemSerializer):
    """The whole postmortem: what every read of one and every successful write answers."""

    template_sections = serializers.SerializerMethodField(
        help_text="The template's sections, in order: key, heading, prompt, required."
    )
    approvals = serializers.SerializerMethodField(
        help_text="Distinct approvals since it was last submitted or changed."
    )
    required_approvals = serializers.SerializerMethodField()
    publish_blockers = serializers.SerializerMethodField(
        help_text="Every reason it cannot be published now (blameless warnings counted as "
        "unacknowledged); empty when it can be."
    )
    findings = serializers.SerializerMethodField()
    action_items = serializers.SerializerMethodField()

    class Meta(PostmortemSerializer.Meta):
        fields = [
            *PostmortemSerializer.Meta.fields,
            "template_sections",
            "approvals",
            "required_approvals",
            "publish_blockers",
            "findings",
            "action_items",
        ]
        read_only_fields = fields

    def _page(self) -> Any:
        return self.context["page"]

    @extend_schema_field(TemplateSectionSerializer(many=True))
    def get_template_sections(self, postmortem: Postmortem) -> Any:
        return TemplateSectionSerializer(self._page().template_sections, many=True).data

    def get_approvals(self, postmortem: Postmortem) -> int:
        return int(self._page().approvals)

    def get_required_approvals(self, postmortem: Postmortem) -> int:
        return int(self._page().required_approvals)

    def get_publish_blockers(self, postmortem: Postmortem) -> list[str]:
        return list(self._page().publish_blockers)

    @extend_schema_field(FindingSerializer(many=True))
    def get_findings(self, postmortem: Postmortem) -> Any:
        return FindingSerializer(self._page().findings, many=True).data

    @extend_schema_field(ActionItemSerializer(many=True))
    def get_action_items(self, postmortem: Postmortem) -> Any:
        return ActionItemSerializer(self._page().action_items, many=True).data


# --- input: incidents --------------------------------------------------------------------------

_INCIDENT_WRITABLE = {
    "title",
    "summary",
    "severity",
    "status",
    "visibility",
    "team",
    "services",
    "tags",
    "root_cause_category",
    "commander",
    "responders",
    "started_at",
    "detected_at",
    "mitigated_at",
    "resolved_at",
    "closed_at",
    "external_source",
    "external_id",
    "external_url",
    "repeat_of",
}
# Read-only names of the output are ignored on input, so that a GET answer can be sent back.
INCIDENT_READ_ONLY_NAMES = frozenset(IncidentSerializer.Meta.fields) - _INCIDENT_WRITABLE


def _time(help_text: str, **kwargs: Any) -> serializers.DateTimeField:
    return serializers.DateTimeField(
        required=False, allow_null=True, help_text=f"ISO 8601. {help_text}", **kwargs
    )


class IncidentWriteSerializer(StrictInputSerializer):
    ignored_names = INCIDENT_READ_ONLY_NAMES

    title = serializers.CharField(max_length=MAX_TITLE_LENGTH)
    summary = _text(MAX_SUMMARY_LENGTH, markdown=True, help_text="Markdown.")
    severity = LowercaseChoiceField(choices=Severity.choices, help_text="Any case: sev2 or SEV2.")
    status = LowercaseChoiceField(
        choices=IncidentStatus.choices,
        required=False,
        help_text="open → mitigated → resolved → closed, never back; reaching one sets its "
        "time to now when not given.",
    )
    visibility = LowercaseChoiceField(choices=Visibility.choices, required=False)
    team = TeamSlugField(help_text="The owning team's slug.")
    services = ServiceSlugsField(required=False)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=MAX_TAG_LENGTH),
        required=False,
        max_length=MAX_TAGS,
        help_text=f"Tag names (up to {MAX_TAGS}); unknown tags are created.",
    )
    root_cause_category = CategorySlugField(
        required=False, allow_null=True, help_text="A root cause category's slug."
    )
    commander = UsernameField(required=False, allow_null=True, help_text="A username.")
    responders = serializers.ListField(
        child=UsernameField(),
        required=False,
        max_length=MAX_RESPONDERS,
        help_text="Usernames; the responders author the postmortem.",
    )
    started_at = serializers.DateTimeField(help_text="ISO 8601.")
    detected_at = _time("At or after the start.")
    mitigated_at = _time("At or after detection.")
    resolved_at = _time("At or after mitigation.")
    external_source = _text(50, help_text="The alerting tool, such as 'pagerduty'.")
    external_id = _text(200, help_text="The alerting tool's id; unique per source.")
    external_url = OptionalURLField(help_text="The alert's page in the alerting tool.")


class IncidentCreateSerializer(IncidentWriteSerializer):
    pass


class IncidentUpdateSerializer(IncidentWriteSerializer):
    """PATCH: every field optional; absent fields are unchanged."""

    title = serializers.CharField(max_length=MAX_TITLE_LENGTH, required=False)
    severity = LowercaseChoiceField(choices=Severity.choices, required=False)
    team = TeamSlugField(required=False, help_text="The owning team's slug.")
    started_at = serializers.DateTimeField(required=False, help_text="ISO 8601.")
    closed_at = _time("At or after resolution.")
    repeat_of = IncidentIdField(
        required=False,
        allow_null=True,
        help_text="An earlier incident this one repeats (its id), or null to clear it.",
    )
    version = _version_field()


def incident_changes(values: dict[str, Any]) -> dict[str, Any]:
    """Validated input → the keyword arguments incident_create / incident_update take."""
    changes = {name: value for name, value in values.items() if name != "version"}
    if "tags" in changes:
        changes["tag_names"] = changes.pop("tags")
    return changes


class RejectRepeatSerializer(StrictInputSerializer):
    incident = IncidentIdField(help_text="The earlier incident this one does not repeat.")
    version = _version_field("acted on")


class TimelineEntryWriteSerializer(StrictInputSerializer):
    ignored_names = frozenset({"id", "position", "author", "created_at"})

    occurred_at = serializers.DateTimeField(help_text="ISO 8601.")
    kind = LowercaseChoiceField(choices=TimelineEntry.Kind.choices)
    text = serializers.CharField(max_length=MAX_TIMELINE_TEXT_LENGTH)


class ArticleUseWriteSerializer(StrictInputSerializer):
    ignored_names = frozenset({"id", "article_title", "article_web_url", "user", "used_at"})

    article = ArticleIdField(help_text="The article's id.")
    helped = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true, false, or null: not yet."
    )
    minutes_saved = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        max_value=MAX_MINUTES_SAVED,
        help_text="The responder's own estimate (never mixed into the time-saved KPI).",
    )
    note = _text(MAX_NOTE_LENGTH, default="")


# --- input: postmortems ------------------------------------------------------------------------


class PostmortemCreateSerializer(StrictInputSerializer):
    incident = IncidentIdField(help_text="The incident's id; it must not have a postmortem yet.")
    template = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=PostmortemTemplate.objects.filter(is_current=True),
        required=False,
        allow_null=True,
        help_text="A template's slug (its current version); default: the severity's template.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].error_messages["does_not_exist"] = (
            "No postmortem template has the slug {value!r}: see /api/v1/postmortem-templates/."
        )


class SectionsWriteField(serializers.DictField):
    child = serializers.CharField(
        allow_blank=True, allow_null=True, trim_whitespace=False, max_length=MAX_SECTION_LENGTH
    )

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if isinstance(data, dict) and len(data) > MAX_SECTIONS:
            raise serializers.ValidationError(f"Send at most {MAX_SECTIONS} sections.")
        values = super().to_internal_value(data)
        return {key: value or "" for key, value in values.items()}


POSTMORTEM_READ_ONLY_NAMES = frozenset(PostmortemDetailSerializer.Meta.fields) - {"sections"}


@extend_schema_field(
    {
        "type": "object",
        "description": "Section key → markdown; only the sections you send change.",
        "additionalProperties": {"type": "string", "maxLength": MAX_SECTION_LENGTH},
    }
)
class _SectionsInput(SectionsWriteField):
    pass


class PostmortemUpdateSerializer(StrictInputSerializer):
    """Sections merge: sections you leave out stay as they are, and a concurrent save of other
    sections is merged rather than refused."""

    ignored_names = POSTMORTEM_READ_ONLY_NAMES - {"version"}

    sections = _SectionsInput()
    change_note = _text(MAX_CHANGE_NOTE_LENGTH, default="")
    version = _version_field()


class PostmortemActionSerializer(StrictInputSerializer):
    version = _version_field("acted on")


class PostmortemApproveSerializer(PostmortemActionSerializer):
    comment = _text(MAX_REVIEW_COMMENT_LENGTH, default="")


class PostmortemRequestChangesSerializer(PostmortemActionSerializer):
    comment = serializers.CharField(
        max_length=MAX_REVIEW_COMMENT_LENGTH, help_text="What the authors should change."
    )


class PostmortemPublishSerializer(PostmortemActionSerializer):
    acknowledge_warnings = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Publish despite blameless-language warnings (they are shown to readers).",
    )


class FindingWriteSerializer(StrictInputSerializer):
    """One outcome at most: `article`, `spawn_article: true` or `no_article_reason`."""

    ignored_names = frozenset(
        {
            "id",
            "outcome",
            "article_title",
            "article_web_url",
            "position",
            "created_by",
            "created_at",
        }
    )

    text = serializers.CharField(max_length=MAX_FINDING_LENGTH, trim_whitespace=False)
    kind = LowercaseChoiceField(choices=Finding.Kind.choices)
    article = ArticleIdField(
        required=False, allow_null=True, help_text="Link an existing article (its id)."
    )
    spawn_article = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Spawn a new draft article prefilled from the finding and the postmortem.",
    )
    no_article_reason = _text(
        MAX_REASON_LENGTH, help_text="Why there is nothing to capture in the knowledge base."
    )


class FindingUpdateSerializer(FindingWriteSerializer):
    text = serializers.CharField(
        max_length=MAX_FINDING_LENGTH, trim_whitespace=False, required=False
    )
    kind = LowercaseChoiceField(choices=Finding.Kind.choices, required=False)


class ActionItemWriteSerializer(StrictInputSerializer):
    ignored_names = frozenset({"id", "completed_at", "created_by", "created_at", "version"})

    title = serializers.CharField(max_length=MAX_ACTION_TITLE_LENGTH)
    owner = UsernameField(required=False, allow_null=True, help_text="A username.")
    team = TeamSlugField(
        required=False, allow_null=True, help_text="A team slug; default: the incident's team."
    )
    due_date = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="YYYY-MM-DD; default by priority: p1 in 7 days, p2 in 30, p3 in 90.",
    )
    priority = LowercaseChoiceField(choices=ActionItem.Priority.choices, required=False)
    status = LowercaseChoiceField(choices=ActionItem.Status.choices, required=False)
    status_reason = _text(MAX_REASON_LENGTH, help_text="Required for wont_do.")
    tracker_url = OptionalURLField(help_text="The tracker's ticket: an http or https address.")


class ActionItemUpdateSerializer(ActionItemWriteSerializer):
    ignored_names = ActionItemWriteSerializer.ignored_names - {"version"}

    title = serializers.CharField(max_length=MAX_ACTION_TITLE_LENGTH, required=False)
    version = _version_field()


class SectionCommentWriteSerializer(StrictInputSerializer):
    section_key = serializers.CharField(max_length=50, help_text="A section key of the template.")
    text = serializers.CharField(max_length=MAX_COMMENT_LENGTH)


class SimilarArticleSerializer(serializers.Serializer):
    """A published article behind an earlier incident (schema of `articles` below)."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    web_url = serializers.URLField(help_text="The article's page, for people.")


class SimilarIncidentSerializer(serializers.Serializer):
    """An earlier incident that looks like this one, with why."""

    id = serializers.IntegerField(source="incident.pk")
    title = serializers.CharField(source="incident.title")
    started_at = serializers.DateTimeField(source="incident.started_at")
    web_url = serializers.SerializerMethodField(help_text="The earlier incident's page.")
    score = serializers.FloatField(help_text="Higher is more alike; a rule match adds 1.")
    matches_rule = serializers.BooleanField(
        help_text="Same root-cause category and a shared service within 180 days."
    )
    reasons = serializers.ListField(child=serializers.CharField())
    postmortem = serializers.SerializerMethodField(help_text="Its postmortem's id, or null.")
    articles = serializers.SerializerMethodField(
        help_text="Published articles its postmortem linked or spawned."
    )

    @extend_schema_field(OpenApiTypes.URI)
    def get_web_url(self, suggestion: Any) -> str:
        return settings.SITE_URL + suggestion.incident.get_absolute_url()

    def get_postmortem(self, suggestion: Any) -> int | None:
        postmortem = getattr(suggestion.incident, "postmortem", None)
        return postmortem.pk if postmortem is not None else None

    @extend_schema_field(SimilarArticleSerializer(many=True))
    def get_articles(self, suggestion: Any) -> list[dict[str, Any]]:
        return [
            {
                "id": article.pk,
                "title": article.title,
                "web_url": settings.SITE_URL + article.get_absolute_url(),
            }
            for article in suggestion.articles
        ]
