from django.urls import path, register_converter

from knowledge import views
from knowledge.views.export import knowledge_export

app_name = "knowledge"


class TransitionConverter:
    """The article actions, kebab-case as in the API: anything else is a 404."""

    regex = "submit|publish|request-changes|archive|restore|mark-reviewed"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TransitionConverter, "transition")

urlpatterns = [
    path("", views.index, name="index"),
    # "42-certificate-renewal/": no slug can collide with the pages under "42/".
    path("<int:pk>-<str:slug>/", views.article_detail, name="article_detail"),
    path("new/", views.article_create, name="article_create"),
    path("export/", knowledge_export, name="export"),
    path("preview/", views.markdown_preview, name="markdown_preview"),
    path("review/", views.review_queue, name="review_queue"),
    path("gaps/", views.search_gaps, name="search_gaps"),
    path("gaps/dismiss/", views.search_gap_dismiss, name="search_gap_dismiss"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_mark_read, name="notifications_mark_read"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
    path("<int:pk>/", views.article_redirect, name="article_redirect"),
    path("<int:pk>/edit/", views.article_edit, name="article_edit"),
    path("<int:pk>/history/", views.article_history, name="article_history"),
    path("<int:pk>/diff/", views.article_diff, name="article_diff"),
    path("<int:pk>/revisions/<int:number>/restore/", views.article_revert, name="article_revert"),
    path("<int:pk>/feedback/", views.article_feedback, name="article_feedback"),
    path("<int:pk>/flags/resolve/", views.article_flags_resolve, name="article_flags_resolve"),
    path(
        "<int:pk>/attachments/", views.article_attachment_upload, name="article_attachment_upload"
    ),
    path("<int:pk>/videos/", views.article_video_add, name="article_video_add"),
    path("<int:pk>/<transition:action>/", views.article_transition, name="article_transition"),
]
