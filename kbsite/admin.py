from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from kbsite.errors import DomainError
from kbsite.models import (
    ApiToken,
    Heartbeat,
    Service,
    Tag,
    Team,
    TeamMembership,
    WebhookDelivery,
    WebhookSubscription,
)
from kbsite.webhooks.services import webhook_subscription_pause, webhook_subscription_resume


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TeamMembershipInline]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "team"]
    list_filter = ["team"]
    list_select_related = ["team"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Operators may see and revoke tokens; keys exist only as hashes and cannot be read back."""

    list_display = ["name", "user", "prefix", "scope", "created_at", "expires_at", "revoked_at"]
    list_filter = ["scope"]
    list_select_related = ["user"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["user", "prefix", "key_hash", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["source", "worker", "recorded_at"]
    readonly_fields = ["source", "worker", "recorded_at"]


WEBHOOK_SUBSCRIPTION_FIELDS: list[str] = [
    "owner",
    "name",
    "target_url",
    "events",
    "is_active",
    "paused_at",
    "pause_reason",
    "failure_count",
    "created_at",
]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    """Everyone's webhooks, for operators. The signing secret is never shown."""

    list_display = ["name", "owner", "target_url", "is_active", "failure_count", "created_at"]
    list_filter = ["is_active"]
    list_select_related = ["owner"]
    search_fields = ["name", "target_url", "owner__username"]
    exclude = ["secret"]
    readonly_fields = WEBHOOK_SUBSCRIPTION_FIELDS
    actions = ["pause_selected", "resume_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Pause the selected webhooks")
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset.filter(is_active=True):
            webhook_subscription_pause(subscription=subscription, reason="Paused by an operator.")

    @admin.action(description="Resume the selected webhooks")
    def resume_selected(
        self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]
    ) -> None:
        for subscription in queryset.filter(is_active=False):
            try:
                webhook_subscription_resume(subscription=subscription)
            except DomainError as error:
                self.message_user(request, f"{subscription}: {error.message}", messages.ERROR)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log of every webhook, read only."""

    list_display = [
        "id",
        "subscription",
        "event",
        "status",
        "attempts",
        "response_status_code",
        "duration_ms",
        "created_at",
    ]
    list_filter = ["status", "event"]
    list_select_related = ["subscription"]
    search_fields = ["subscription__name", "subscription__owner__username", "event"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "subscription",
        "event",
        "payload",
        "status",
        "attempts",
        "response_status_code",
        "duration_ms",
        "error",
        "created_at",
        "last_attempt_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
