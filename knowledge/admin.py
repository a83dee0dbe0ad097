"""Operators read articles and their history here; changes go through the site, whose services
keep revisions, versions and the search index in step. The admin therefore only views articles,
and its one write (dismissing search gaps) calls a service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from knowledge.models import (
    Article,
    ArticleAttachment,
    ArticleEvent,
    ArticleFeedback,
    ArticleRevision,
    SearchGap,
)
from knowledge.services import search_gaps_dismiss


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RevisionInline(ReadOnlyInline):
    model = ArticleRevision
    fields = ["number", "editor", "created_at", "change_note"]
    ordering = ["-number"]


class EventInline(ReadOnlyInline):
    model = ArticleEvent
    fields = ["kind", "actor", "created_at", "comment"]


@admin.register(Article)
class ArticleAdmin(ReadOnlyAdmin):
    list_display = [
        "title",
        "knowledge_type",
        "state",
        "team",
        "author",
        "owner",
        "review_due",
        "open_flags",
        "helpful_count",
        "version",
        "updated_at",
    ]
    list_filter = ["state", "knowledge_type", "team"]
    list_select_related = ["team", "author", "owner"]
    search_fields = ["title", "slug", "tags_text"]
    date_hierarchy = "updated_at"
    exclude = ["search_vector", "rendered"]
    inlines = [RevisionInline, EventInline]


@admin.register(ArticleRevision)
class ArticleRevisionAdmin(ReadOnlyAdmin):
    list_display = ["article", "number", "editor", "created_at", "change_note"]
    list_select_related = ["article", "editor"]
    search_fields = ["article__title", "change_note"]


@admin.register(ArticleEvent)
class ArticleEventAdmin(ReadOnlyAdmin):
    list_display = ["article", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["article", "actor"]


@admin.register(ArticleFeedback)
class ArticleFeedbackAdmin(ReadOnlyAdmin):
    list_display = ["article", "kind", "user", "created_at", "resolved_at"]
    list_filter = ["kind"]
    list_select_related = ["article", "user"]
    search_fields = ["article__title", "comment"]


@admin.register(ArticleAttachment)
class ArticleAttachmentAdmin(ReadOnlyAdmin):
    list_display = ["original_name", "article", "content_type", "size", "uploaded_by", "created_at"]
    list_select_related = ["article", "uploaded_by"]


@admin.register(SearchGap)
class SearchGapAdmin(ReadOnlyAdmin):
    list_display = ["example_query", "count", "first_seen_at", "last_seen_at", "dismissed_at"]
    list_filter = [("dismissed_at", admin.EmptyFieldListFilter)]
    search_fields = ["normalized_query", "example_query"]
    actions = ["dismiss"]

    @admin.action(description="Dismiss the selected gaps")
    def dismiss(self, request: HttpRequest, queryset: QuerySet[SearchGap]) -> None:
        count = search_gaps_dismiss(
            user=request.user, gap_ids=list(queryset.values_list("pk", flat=True))
        )
        self.message_user(request, f"Dismissed {count} search gaps.", messages.SUCCESS)
