"""Knowledge articles in the KCS structure, their history, feedback, attachments and search gaps."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.urls import reverse
from django.utils import timezone

from kbsite.models import Service, Tag, Team

# The KCS content fields, in reading order. Each is markdown; its sanitized HTML is kept in
# `Article.rendered` under the same key.
CONTENT_FIELDS = ("symptoms", "environment", "cause", "resolution", "prevention", "body")
MAX_FIELD_LENGTH = 1_000_000  # characters, per field: larger bodies are refused
MAX_TAGS = 20


class KnowledgeType(models.TextChoices):
    TECHNICAL = "technical", "Technical: a system-specific fix"
    PROCESS = "process", "Process: a workflow or procedure"
    REFERENCE = "reference", "Reference: documented information"
    EXPERTISE = "expertise", "Expertise: captured know-how"


# How long a published article stays trusted before its owner must review it again.
REVIEW_CADENCE = {
    KnowledgeType.TECHNICAL: timedelta(days=180),
    KnowledgeType.PROCESS: timedelta(days=365),
    KnowledgeType.REFERENCE: timedelta(days=365),
    KnowledgeType.EXPERTISE: timedelta(days=180),
}


class ArticleState(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class ArticleManager(models.Manager["Article"]):
    def get_queryset(self) -> models.QuerySet[Article]:
        # The search vector is read only inside SQL (search ranks with it); loading it with
        # every article would ship kilobytes per row that no page uses.
        return super().get_queryset().defer("search_vector")


class Article(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    knowledge_type = models.CharField(
        max_length=20, choices=KnowledgeType.choices, default=KnowledgeType.TECHNICAL
    )
    symptoms = models.TextField(blank=True)
    environment = models.TextField(blank=True)
    cause = models.TextField(blank=True)
    resolution = models.TextField(blank=True)
    prevention = models.TextField(blank=True)
    body = models.TextField(blank=True)
    # Sanitized HTML of each content field, rendered once on save: {"symptoms": "<p>…</p>", …}.
    rendered = models.JSONField(default=dict, blank=True)

    state = models.CharField(
        max_length=20, choices=ArticleState.choices, default=ArticleState.DRAFT, db_index=True
    )
    open_flags = models.PositiveIntegerField(default=0)  # unresolved "outdated" flags
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="articles", null=True, blank=True
    )
    services = models.ManyToManyField(Service, related_name="articles", blank=True)
    tags = models.ManyToManyField(Tag, related_name="articles", blank=True)
    # Tag names joined by spaces, kept by the services so that search needs no join.
    tags_text = models.CharField(max_length=2000, blank=True, default="")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authored_articles"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="owned_articles",
        null=True,
        blank=True,
        help_text="Reminded when the article is due for review.",
    )
    review_due = models.DateField(null=True, blank=True, db_index=True)
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    review_reminded_at = models.DateTimeField(null=True, blank=True)
    helpful_count = models.PositiveIntegerField(default=0)
    not_helpful_count = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)
    # PostgreSQL only: the weighted full-text vector, kept by knowledge.search.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = ArticleManager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=ArticleState.values), name="article_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(knowledge_type__in=KnowledgeType.values),
                name="article_knowledge_type_valid",
            ),
        ]
        indexes = [models.Index(fields=["state", "review_due"], name="article_state_review_due")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("knowledge:article_detail", kwargs={"pk": self.pk, "slug": self.slug})

    def is_overdue(self, *, today: object = None) -> bool:
        day = today or timezone.localdate()
        return (
            self.state == ArticleState.PUBLISHED
            and self.review_due is not None
            and self.review_due < day  # type: ignore[operator]
        )

    def content(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in CONTENT_FIELDS}


class ArticleRevision(models.Model):
    """The article's content as it was after one save; `number` equals the article's version."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="article_revisions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    change_note = models.CharField(max_length=500, blank=True)
    # title, knowledge_type, the content fields, team (slug), services (slugs), tags (names).
    snapshot = models.JSONField()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="article_revision_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.article} r{self.number}"


class ArticleEvent(models.Model):
    """A change of state or a review decision, shown in the article's history."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        SUBMITTED = "submitted", "Submitted for review"
        PUBLISHED = "published", "Published"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        ARCHIVED = "archived", "Archived"
        RESTORED = "restored", "Restored to draft"
        REVERTED = "reverted", "Old revision restored"
        FLAGGED = "flagged", "Flagged as outdated"
        FLAGS_RESOLVED = "flags_resolved", "Flags resolved"
        REVIEWED = "reviewed", "Reviewed, still accurate"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="article_events"
    )
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.article}"


class ArticleFeedback(models.Model):
    class Kind(models.TextChoices):
        HELPFUL = "helpful", "Helpful"
        NOT_HELPFUL = "not_helpful", "Not helpful"
        OUTDATED = "outdated", "Outdated"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="article_feedback"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    comment = models.TextField(blank=True, max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)  # flags only
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One helpful / not helpful vote per person and article; flags may repeat.
            models.UniqueConstraint(
                fields=["article", "user"],
                condition=models.Q(kind__in=["helpful", "not_helpful"]),
                name="article_feedback_one_vote",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.article}"


def attachment_path(instance: ArticleAttachment, filename: str) -> str:
    return f"attachments/{timezone.now():%Y/%m}/{instance.stored_name}"


class ArticleAttachment(models.Model):
    """An image, diagram or PDF uploaded with an article; served only to signed-in users."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    stored_name = models.CharField(max_length=100)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class ArticleVideoLink(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="video_links")
    url = models.URLField(max_length=500)
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.title


class SearchGap(models.Model):
    """A search that found nothing, counted per normalized query: a signal of missing knowledge."""

    normalized_query = models.CharField(max_length=300, unique=True)
    example_query = models.CharField(max_length=300)
    count = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-count", "-last_seen_at"]

    def __str__(self) -> str:
        return self.example_query
