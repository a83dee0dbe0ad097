from django.urls import include, path, register_converter

from postmortems import views
from postmortems.views.importer import postmortem_import

app_name = "postmortems"


class TransitionConverter:
    """The postmortem actions, kebab-case as in the API: anything else is a 404."""

    regex = "submit|request-changes|approve|publish"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TransitionConverter, "pm_transition")

urlpatterns = [
    path("", views.index, name="index"),
    path("incidents/new/", views.incident_create, name="incident_create"),
    path("import/", postmortem_import, name="import"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident_detail"),
    path("incidents/<int:pk>/edit/", views.incident_edit, name="incident_edit"),
    path("incidents/<int:pk>/status/", views.incident_status, name="incident_status"),
    path("incidents/<int:pk>/postmortem/", views.postmortem_start, name="postmortem_start"),
    path(
        "incidents/<int:pk>/similar/",
        views.incident_similar_panel,
        name="incident_similar_panel",
    ),
    path(
        "incidents/<int:pk>/suggested-articles/",
        views.incident_suggestions_panel,
        name="incident_suggestions_panel",
    ),
    path(
        "incidents/<int:pk>/repeat/confirm/",
        views.incident_confirm_repeat,
        name="incident_confirm_repeat",
    ),
    path(
        "incidents/<int:pk>/repeat/reject/",
        views.incident_reject_repeat,
        name="incident_reject_repeat",
    ),
    path("incidents/<int:pk>/timeline/", views.timeline_add, name="timeline_add"),
    path("incidents/<int:pk>/article-uses/", views.article_use_add, name="article_use_add"),
    path("timeline/<int:pk>/", views.timeline_edit, name="timeline_edit"),
    path("integrations/", include("postmortems.ingest.urls")),
    path("action-items/", views.action_items, name="action_items"),
    path("action-items/<int:pk>/", views.action_item_edit, name="action_item_edit"),
    path("findings/<int:pk>/", views.finding_edit, name="finding_edit"),
    path("preview/", views.markdown_preview, name="markdown_preview"),
    path("articles/search/", views.article_search_inline, name="article_search_inline"),
    path("<int:pk>/", views.postmortem_detail, name="postmortem_detail"),
    path("<int:pk>/edit/", views.postmortem_edit, name="postmortem_edit"),
    path("<int:pk>/autosave/", views.postmortem_autosave, name="postmortem_autosave"),
    path("<int:pk>/lint/", views.postmortem_lint, name="postmortem_lint"),
    path("<int:pk>/export.md", views.postmortem_export, name="postmortem_export"),
    path("<int:pk>/findings/", views.finding_add, name="finding_add"),
    path("<int:pk>/action-items/", views.action_item_add, name="action_item_add"),
    path("<int:pk>/comments/", views.section_comment_add, name="section_comment_add"),
    path(
        "<int:pk>/<pm_transition:action>/",
        views.postmortem_transition,
        name="postmortem_transition",
    ),
]
