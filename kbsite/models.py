"""The shared catalog every app refers to, and the small records the platform itself keeps."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TeamMembership", related_name="teams", blank=True
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="team_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class Service(models.Model):
    """A system incidents happen to and articles are about, owned by one team."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="services")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=50)
    slug = models.SlugField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="tag_name_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.name


class Heartbeat(models.Model):
    """Written by the `record_heartbeat` task: proof that a worker (and beat) ran recently."""

    source = models.CharField(max_length=50)
    worker = models.CharField(max_length=200, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"{self.source} at {self.recorded_at:%Y-%m-%d %H:%M:%S}"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the key is stored; the key is shown once."""

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        READ_WRITE = "read_write", "Read and write"

    PREFIX_LENGTH = 8

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=20, choices=Scope.choices, default=Scope.READ_WRITE)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def is_usable(self, *, now: datetime | None = None) -> bool:
        moment = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > moment


class Notification(models.Model):
    """An in-app notice for one person (review reminders, flags, requests for changes)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return self.text


# --- webhooks (outgoing) ----------------------------------------------------------------------

# The events a webhook may subscribe to, with what each means to a receiver. Each one is emitted
# through kbsite.events by the app that owns it; the payload carries ids, never content.
WEBHOOK_EVENTS: dict[str, str] = {
    "incident.created": "An incident was opened.",
    "incident.updated": "An incident's fields or status changed.",
    "incident.resolved": "An incident was resolved.",
    "postmortem.published": "A postmortem was published.",
    "article.published": "A knowledge article was published.",
    "article.flagged": "A published article was flagged as outdated.",
    "article_use.recorded": "An article was recorded as used during an incident's response.",
    "action_item.overdue": "An action item passed its due date without being done.",
    "kpis.recomputed": "KPI snapshots were recomputed.",
}


class WebhookSubscription(models.Model):
    """A person's request to have events POSTed, signed, to a URL of theirs.

    The secret signs every delivery, so it is kept as written (a hash could not sign); it is shown
    to its owner once, at creation, and never again on any page or in the API.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    name = models.CharField(max_length=100)
    target_url = models.CharField(max_length=500)
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=300, blank=True)
    failure_count = models.PositiveIntegerField(
        default=0, help_text="Deliveries that failed in a row; a success resets it."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_active=True, paused_at__isnull=True)
                | models.Q(is_active=False, paused_at__isnull=False),
                name="webhook_paused_at_matches_is_active",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def wants(self, event: str) -> bool:
        return self.is_active and event in self.events


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one subscription: the delivery log's row."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=50)
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["subscription", "-created_at"], name="webhook_delivery_log"),
            models.Index(fields=["created_at"], name="webhook_delivery_created"),
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription_id} ({self.status})"


# --- idempotent API requests ------------------------------------------------------------------


class IdempotencyRecord(models.Model):
    """A POST made with an `Idempotency-Key`, and the answer it got, kept to replay to retries.

    The row is written before the request runs, with no status yet: the unique (user, key) pair
    decides which of two concurrent requests runs. Its answer is filled in when it finishes.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(
        max_length=64, help_text="SHA-256 of the request's query string and body."
    )
    # Which request holds the row: the one that finishes writes its answer only while it does.
    claim = models.CharField(max_length=32)
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Empty while the first request is still running."
    )
    response_body = models.BinaryField(default=b"", blank=True)
    content_type = models.CharField(max_length=200, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key[:40]})"

    @property
    def is_pending(self) -> bool:
        return self.status_code is None
