"""Articles over the API: output serializers describe, input serializers only check shape.

Input serializers hand clean values to the same services as the browser's forms; catalog
objects are named by slug, tags by name, people by username, enums case-insensitively.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kbsite.models import Service, Team
from knowledge.models import (
    CONTENT_FIELDS,
    MAX_FIELD_LENGTH,
    MAX_TAGS,
    Article,
    ArticleFeedback,
    ArticleRevision,
    KnowledgeType,
    SearchGap,
)

MAX_SERVICES = 50
MAX_TAG_LENGTH = 50
MAX_COMMENT_LENGTH = 5000
MAX_CHANGE_NOTE_LENGTH = 500


# --- fields ------------------------------------------------------------------------------------


class LowercaseChoiceField(serializers.ChoiceField):
    """An enum of lower snake_case values that accepts any case on input (`TECHNICAL`)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            data = data.strip().lower()
        return super().to_internal_value(data)


class TeamSlugField(serializers.SlugRelatedField):
    """A team named by slug; an unknown slug is refused with the field named."""

    default_error_messages = {
        "does_not_exist": "No team has the slug {value!r}: see /api/v1/teams/.",
        "invalid": "Name the team by its slug, such as 'payments'.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="slug", queryset=Team.objects.all(), **kwargs)

    def to_internal_value(self, data: Any) -> Team:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data.strip().lower())


# --- output ------------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "object",
        "description": "Sanitized HTML of each content field, by field name.",
        "properties": {name: {"type": "string"} for name in CONTENT_FIELDS},
    }
)
class RenderedField(serializers.DictField):
    child = serializers.CharField()


class ArticleSerializer(serializers.ModelSerializer):
    """The whole article, as every read and every successful write answers it."""

    team: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    services: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, many=True
    )
    tags: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="name", read_only=True, many=True
    )
    author: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="A username."
    )
    owner: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="A username."
    )
    rendered = RenderedField(read_only=True)
    web_url = serializers.SerializerMethodField(help_text="The article's page, for people.")

    class Meta:
        model = Article
        fields = [
            "id",
            "title",
            "slug",
            "knowledge_type",
            "state",
            *CONTENT_FIELDS,
            "rendered",
            "team",
            "services",
            "tags",
            "author",
            "owner",
            "review_due",
            "last_reviewed_at",
            "open_flags",
            "helpful_count",
            "not_helpful_count",
            "version",
            "created_at",
            "updated_at",
            "web_url",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_web_url(self, article: Article) -> str:
        return f"{settings.SITE_URL}{article.get_absolute_url()}"

    def to_representation(self, instance: Article) -> dict[str, Any]:
        """The fields above, built directly: a page of search results is twenty articles of
        thirty fields, and DRF's field-by-field walk cost more than the search behind it. The
        declared fields still describe the schema, and a test holds this output equal to the
        walk's (`declared_representation`)."""
        article = instance
        return {
            "id": article.pk,
            "title": article.title,
            "slug": article.slug,
            "knowledge_type": article.knowledge_type,
            "state": article.state,
            **{name: getattr(article, name) for name in CONTENT_FIELDS},
            "rendered": {str(key): _text(value) for key, value in article.rendered.items()},
            "team": article.team.slug if article.team is not None else None,
            "services": [service.slug for service in article.services.all()],
            "tags": [tag.name for tag in article.tags.all()],
            "author": article.author.username if article.author is not None else None,
            "owner": article.owner.username if article.owner is not None else None,
            "review_due": _date(article.review_due),
            "last_reviewed_at": _datetime(article.last_reviewed_at),
            "open_flags": article.open_flags,
            "helpful_count": article.helpful_count,
            "not_helpful_count": article.not_helpful_count,
            "version": article.version,
            "created_at": _datetime(article.created_at),
            "updated_at": _datetime(article.updated_at),
            "web_url": self.get_web_url(article),
        }

    def declared_representation(self, instance: Article) -> dict[str, Any]:
        """DRF's own walk over the declared fields: what `to_representation` must equal."""
        return dict(super().to_representation(instance))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


_DATETIME = serializers.DateTimeField()


def _datetime(value: datetime | None) -> str | None:
    # DRF's formatting (the current time zone, ISO 8601, "Z" for UTC), without a field per call.
    return None if value is None else _DATETIME.to_representation(value)


class ArticleListItemSerializer(ArticleSerializer):
    """An article in a list; with `?q=` it also carries its rank and a highlighted snippet."""

    rank = serializers.SerializerMethodField(help_text="Relevance with `?q=`, else null.")
    snippet = serializers.SerializerMethodField(
        help_text="With `?q=`: safe HTML, the matched words in <mark>; else null."
    )

    class Meta(ArticleSerializer.Meta):
        fields = [*ArticleSerializer.Meta.fields, "rank", "snippet"]
        read_only_fields = fields

    def to_representation(self, instance: Article) -> dict[str, Any]:
        return {
            **super().to_representation(instance),
            "rank": self.get_rank(instance),
            "snippet": self.get_snippet(instance),
        }

    def declared_representation(self, instance: Article) -> dict[str, Any]:
        return dict(serializers.ModelSerializer.to_representation(self, instance))

    def _hit(self, article: Article) -> Any:
        return self.context.get("hits", {}).get(article.pk)

    @extend_schema_field({"type": "number", "format": "double", "nullable": True})
    def get_rank(self, article: Article) -> float | None:
        hit = self._hit(article)
        return None if hit is None else float(hit.rank)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_snippet(self, article: Article) -> str | None:
        hit = self._hit(article)
        return None if hit is None else str(hit.snippet)


class RevisionSerializer(serializers.ModelSerializer):
    editor: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="A username."
    )
    snapshot = serializers.DictField(
        read_only=True,
        help_text="The content as saved: title, knowledge_type, the content fields, "
        "team (slug), services (slugs), tags (names).",
    )

    class Meta:
        model = ArticleRevision
        fields = ["number", "editor", "created_at", "change_note", "snapshot"]
        read_only_fields = fields


class FeedbackSerializer(serializers.ModelSerializer):
    user: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="A username."
    )

    class Meta:
        model = ArticleFeedback
        fields = ["id", "kind", "comment", "user", "created_at", "resolved_at"]
        read_only_fields = fields


class SearchGapSerializer(serializers.ModelSerializer):
    query = serializers.CharField(source="example_query", read_only=True)

    class Meta:
        model = SearchGap
        fields = ["id", "query", "count", "first_seen_at", "last_seen_at"]
        read_only_fields = fields


# --- input -------------------------------------------------------------------------------------

# Read-only names of the output: ignored on input so that a GET answer can be sent back as a PUT
# (or a POST, to copy an article). `version` is read on writes to an existing article only.
READ_ONLY_NAMES = frozenset(ArticleSerializer.Meta.fields) - {
    "title",
    "knowledge_type",
    *CONTENT_FIELDS,
    "team",
    "services",
    "tags",
}


class StrictInputSerializer(serializers.Serializer):
    """Refuses names it does not know, so that a typo is not silently dropped."""

    ignored_names: frozenset[str] = frozenset()

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields) - self.ignored_names)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Not a field that can be written here."] for name in unknown}
                )
        return super().to_internal_value(data)


def _content_field() -> serializers.CharField:
    # Markdown: leading and trailing whitespace can matter (indented code, hard line breaks).
    return serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_FIELD_LENGTH,
        help_text=f"Markdown, up to {MAX_FIELD_LENGTH:,} characters.",
    )


class ArticleWriteSerializer(StrictInputSerializer):
    """What a client may write. Absent content fields are empty on create and PUT and
    unchanged on PATCH."""

    ignored_names = READ_ONLY_NAMES

    title = serializers.CharField(max_length=200)
    knowledge_type = LowercaseChoiceField(choices=KnowledgeType.choices)
    symptoms = _content_field()
    environment = _content_field()
    cause = _content_field()
    resolution = _content_field()
    prevention = _content_field()
    body = _content_field()
    team = TeamSlugField(required=False, allow_null=True, help_text="The owning team's slug.")
    services = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        max_length=MAX_SERVICES,
        help_text="Service slugs; each must exist.",
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=MAX_TAG_LENGTH),
        required=False,
        max_length=MAX_TAGS,
        help_text=f"Tag names (up to {MAX_TAGS}); unknown tags are created.",
    )
    change_note = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_CHANGE_NOTE_LENGTH
    )

    def validate_services(self, slugs: list[str]) -> list[Service]:
        wanted = list(dict.fromkeys(slug.strip().lower() for slug in slugs))
        found = {service.slug: service for service in Service.objects.filter(slug__in=wanted)}
        unknown = [slug for slug in wanted if slug not in found]
        if unknown:
            names = ", ".join(repr(slug) for slug in unknown)
            raise serializers.ValidationError(
                f"No service has the slug {names}: see /api/v1/services/."
            )
        return [found[slug] for slug in wanted]


class ArticleCreateSerializer(ArticleWriteSerializer):
    pass


class ArticleUpdateSerializer(ArticleWriteSerializer):
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The version you edited (or send If-Match). Stale: 412; neither: 428.",
    )


class VersionedActionSerializer(StrictInputSerializer):
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The version you acted on (or send If-Match). Stale: 412; neither: 428.",
    )


class CommentedActionSerializer(VersionedActionSerializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_COMMENT_LENGTH, default=""
    )


class RequestChangesSerializer(VersionedActionSerializer):
    comment = serializers.CharField(
        max_length=MAX_COMMENT_LENGTH, help_text="What the author should change."
    )


class FeedbackWriteSerializer(StrictInputSerializer):
    kind = LowercaseChoiceField(choices=ArticleFeedback.Kind.choices)
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_COMMENT_LENGTH,
        default="",
        help_text="Required when flagging an article as outdated.",
    )
