"""Incidents and their blameless postmortems: templates, timeline, findings, action items,
reviews, and the knowledge used during the response."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from kbsite.models import Service, Tag, Team
from knowledge.models import Article


class Severity(models.TextChoices):
    SEV1 = "sev1", "SEV1 — critical"
    SEV2 = "sev2", "SEV2 — major"
    SEV3 = "sev3", "SEV3 — minor"
    SEV4 = "sev4", "SEV4 — low"


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    MITIGATED = "mitigated", "Mitigated"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class Visibility(models.TextChoices):
    INTERNAL = "internal", "Internal: everyone signed in"
    RESTRICTED = "restricted", "Restricted: the owning team and people named on it"


class RootCauseCategory(models.Model):
    """An editable taxonomy of triggers and root causes; repeat detection keys on it."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "root cause categories"

    def __str__(self) -> str:
        return self.name


class Incident(models.Model):
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    summary_html = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, db_index=True)
    status = models.CharField(
        max_length=20, choices=IncidentStatus.choices, default=IncidentStatus.OPEN, db_index=True
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="incidents")
    services = models.ManyToManyField(Service, related_name="incidents", blank=True)
    tags = models.ManyToManyField(Tag, related_name="incidents", blank=True)
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="commanded_incidents",
    )
    responders = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="responded_incidents", blank=True
    )
    started_at = models.DateTimeField(db_index=True)
    detected_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    external_source = models.CharField(max_length=50, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    external_url = models.URLField(max_length=500, blank=True)
    visibility = models.CharField(
        max_length=20, choices=Visibility.choices, default=Visibility.INTERNAL, db_index=True
    )
    root_cause_category = models.ForeignKey(
        RootCauseCategory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
    )
    repeat_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="repeats"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_incidents"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(detected_at__isnull=True) | Q(detected_at__gte=F("started_at")),
                name="incident_detected_after_start",
            ),
            models.CheckConstraint(
                condition=Q(mitigated_at__isnull=True) | Q(mitigated_at__gte=F("started_at")),
                name="incident_mitigated_after_start",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("started_at")),
                name="incident_resolved_after_start",
            ),
            models.CheckConstraint(
                condition=~Q(repeat_of=F("id")), name="incident_not_repeat_of_itself"
            ),
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=~Q(external_id=""),
                name="incident_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["team", "started_at"], name="incident_team_started"),
            models.Index(
                fields=["root_cause_category", "started_at"], name="incident_category_started"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("postmortems:incident_detail", kwargs={"pk": self.pk})

    @property
    def is_restricted(self) -> bool:
        return self.visibility == Visibility.RESTRICTED


class RepeatRejection(models.Model):
    """A person said `incident` is not a repeat of `earlier`: never suggested or counted again."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    earlier = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "earlier"], name="repeat_rejection_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} is not a repeat of #{self.earlier_id}"


class TimelineEntry(models.Model):
    class Kind(models.TextChoices):
        DETECTION = "detection", "Detection"
        ESCALATION = "escalation", "Escalation"
        ACTION = "action", "Action"
        COMMUNICATION = "communication", "Communication"
        RESOLUTION = "resolution", "Resolution"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    occurred_at = models.DateTimeField()
    # Breaks ties between entries at the same minute; reordering rewrites it.
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.ACTION)
    text = models.TextField(max_length=5000)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "position", "id"]
        indexes = [models.Index(fields=["incident", "occurred_at"], name="timeline_incident_time")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%H:%M} {self.text[:40]}"


class PostmortemTemplate(models.Model):
    """One version of a named template. Editing makes a new version; postmortems keep theirs."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True)
    is_current = models.BooleanField(default=True, help_text="The version new postmortems use.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["slug", "version"], name="template_slug_version_unique"
            ),
            models.UniqueConstraint(
                fields=["slug"], condition=Q(is_current=True), name="template_one_current_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class TemplateSection(models.Model):
    template = models.ForeignKey(
        PostmortemTemplate, on_delete=models.CASCADE, related_name="sections"
    )
    key = models.SlugField(max_length=50)
    heading = models.CharField(max_length=200)
    prompt = models.TextField(blank=True)
    required = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "key"], name="template_section_key_unique"),
        ]

    def __str__(self) -> str:
        return self.heading


class SeverityDefaultTemplate(models.Model):
    """Which template (by slug; its current version) a new postmortem of a severity starts from."""

    severity = models.CharField(max_length=10, choices=Severity.choices, unique=True)
    template_slug = models.SlugField(max_length=100)

    def __str__(self) -> str:
        return f"{self.severity}: {self.template_slug}"


class PostmortemState(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    PUBLISHED = "published", "Published"


class Postmortem(models.Model):
    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="postmortem")
    template = models.ForeignKey(PostmortemTemplate, on_delete=models.PROTECT, related_name="+")
    # Section key -> markdown, and key -> sanitized HTML rendered on save.
    sections = models.JSONField(default=dict, blank=True)
    sections_html = models.JSONField(default=dict, blank=True)
    state = models.CharField(
        max_length=20, choices=PostmortemState.choices, default=PostmortemState.DRAFT, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"Postmortem of {self.incident}"

    def get_absolute_url(self) -> str:
        return reverse("postmortems:postmortem_detail", kwargs={"pk": self.pk})


class PostmortemRevision(models.Model):
    """The sections as they were after one save; `number` equals the postmortem's version."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=20, choices=PostmortemState.choices)
    sections = models.JSONField()
    change_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["postmortem", "number"], name="postmortem_revision_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.postmortem} r{self.number}"


class PostmortemDraft(models.Model):
    """What one person has typed but not saved yet, autosaved so that nothing is lost."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="drafts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sections = models.JSONField(default=dict)
    based_on_version = models.PositiveIntegerField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "user"], name="postmortem_draft_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user}'s draft of {self.postmortem}"


class SectionComment(models.Model):
    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="comments")
    section_key = models.SlugField(max_length=50)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.section_key}: {self.text[:40]}"


class Review(models.Model):
    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=20, choices=Decision.choices)
    comment = models.TextField(blank=True, max_length=10000)
    postmortem_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.decision} by {self.reviewer}"


class Finding(models.Model):
    class Kind(models.TextChoices):
        ROOT_CAUSE = "root_cause", "Root cause"
        CONTRIBUTING_FACTOR = "contributing_factor", "Contributing factor"
        DETECTION_GAP = "detection_gap", "Detection gap"
        PROCESS_GAP = "process_gap", "Process gap"
        WHAT_WORKED = "what_worked", "What worked"

    class Outcome(models.TextChoices):
        LINKED = "linked", "Linked to an existing article"
        SPAWNED = "spawned", "Spawned a new article"
        NOTHING_TO_CAPTURE = "nothing_to_capture", "Nothing to capture"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="findings")
    text = models.TextField(max_length=10000)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    # "" while unresolved (the API answers null).
    outcome = models.CharField(max_length=30, choices=Outcome.choices, blank=True, default="")
    article = models.ForeignKey(
        Article, on_delete=models.PROTECT, null=True, blank=True, related_name="findings"
    )
    no_article_reason = models.TextField(blank=True, max_length=2000)
    position = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(outcome="", article__isnull=True)
                    | Q(outcome__in=["linked", "spawned"], article__isnull=False)
                    | (
                        Q(outcome="nothing_to_capture", article__isnull=True)
                        & ~Q(no_article_reason="")
                    )
                ),
                name="finding_outcome_consistent",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class ActionItem(models.Model):
    class Priority(models.TextChoices):
        P1 = "p1", "P1"
        P2 = "p2", "P2"
        P3 = "p3", "P3"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        WONT_DO = "wont_do", "Won't do"

    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.CASCADE, related_name="action_items"
    )
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="action_items",
    )
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_date = models.DateField(db_index=True)
    priority = models.CharField(max_length=5, choices=Priority.choices, default=Priority.P2)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    status_reason = models.TextField(blank=True, max_length=2000)
    tracker_url = models.URLField(max_length=500, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The due date whose passing was announced (action_item.overdue): set once per due date, so
    # a new due date is announced again when it passes too.
    overdue_notified_for = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="wont_do") | ~Q(status_reason=""),
                name="action_item_wont_do_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ArticleUse(models.Model):
    """An article someone used during an incident's response, and whether it helped."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="article_uses")
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="uses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    used_at = models.DateTimeField(default=timezone.now)
    helped = models.BooleanField(null=True, blank=True)
    minutes_saved = models.PositiveIntegerField(null=True, blank=True)
    note = models.TextField(blank=True, max_length=2000)

    class Meta:
        ordering = ["used_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "article"], name="article_use_unique"),
            models.CheckConstraint(
                condition=Q(minutes_saved__isnull=True) | Q(minutes_saved__lte=10_000),
                name="article_use_minutes_saved_sane",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.article} during {self.incident}"


# --- alert ingestion --------------------------------------------------------------------------


class AlertSource(models.TextChoices):
    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
    GRAFANA = "grafana", "Grafana alerting"
    PAGERDUTY = "pagerduty", "PagerDuty"
    OPSGENIE = "opsgenie", "Opsgenie"


class AlertIntegration(models.Model):
    """An alerting tool allowed to open incidents for a team through /api/v1/ingest/<source>/.

    Only a SHA-256 of its secret is stored (the secret is shown once). PagerDuty's signing
    secret is kept as written, because checking an HMAC needs the key itself.
    """

    SECRET_PREFIX_LENGTH = 8

    name = models.CharField(max_length=100)
    source = models.CharField(max_length=20, choices=AlertSource.choices)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="alert_integrations")
    default_severity = models.CharField(
        max_length=10, choices=Severity.choices, default=Severity.SEV3
    )
    default_services = models.ManyToManyField(Service, related_name="+", blank=True)
    secret_prefix = models.CharField(max_length=SECRET_PREFIX_LENGTH)
    secret_hash = models.CharField(max_length=64, unique=True)
    signing_secret = models.CharField(max_length=200, blank=True)
    is_enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.source})"

    def get_absolute_url(self) -> str:
        return reverse("postmortems:integration_detail", kwargs={"pk": self.pk})

    def get_ingest_path(self) -> str:
        return reverse("alert-ingest", kwargs={"source": self.source})

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()


class IngestedPayload(models.Model):
    """One delivery to the ingest endpoint, accepted or not, for the integration's log.

    `integration` is null when no integration owns the secret sent; such rows keep no body, so
    anonymous callers cannot fill the database. `event_id` is the sender's delivery id (PagerDuty
    sends one): an accepted event id is unique per integration, so a replay changes nothing.
    """

    integration = models.ForeignKey(
        AlertIntegration,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="payloads",
    )
    source = models.CharField(max_length=20)
    received_at = models.DateTimeField(default=timezone.now)
    accepted = models.BooleanField()
    status_code = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=1000)
    external_id = models.CharField(max_length=200, blank=True)
    event_id = models.CharField(max_length=200, blank=True)
    incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body_excerpt = models.TextField(blank=True)
    remote_addr = models.CharField(max_length=45, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "event_id"],
                condition=Q(accepted=True) & ~Q(event_id=""),
                name="ingested_payload_event_once",
            ),
        ]
        indexes = [
            models.Index(fields=["integration", "-id"], name="ingested_payload_log"),
        ]

    def __str__(self) -> str:
        verdict = "accepted" if self.accepted else "rejected"
        return f"{self.source} {verdict} at {self.received_at:%Y-%m-%d %H:%M:%S}"
