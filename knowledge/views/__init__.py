"""The knowledge pages. Each view fetches through a selector, validates with a form, calls one
service, and renders or redirects (POST, then redirect, then GET, with a message)."""

from knowledge.views.actions import (
    article_attachment_upload,
    article_feedback,
    article_flags_resolve,
    article_transition,
    article_video_add,
    attachment_download,
)
from knowledge.views.articles import (
    article_create,
    article_detail,
    article_edit,
    article_redirect,
    markdown_preview,
)
from knowledge.views.history import article_diff, article_history, article_revert
from knowledge.views.listing import index
from knowledge.views.queues import (
    notifications,
    notifications_mark_read,
    review_queue,
    search_gap_dismiss,
    search_gaps,
)

__all__ = [
    "article_attachment_upload",
    "article_create",
    "article_detail",
    "article_diff",
    "article_edit",
    "article_feedback",
    "article_flags_resolve",
    "article_history",
    "article_redirect",
    "article_revert",
    "article_transition",
    "article_video_add",
    "attachment_download",
    "index",
    "markdown_preview",
    "notifications",
    "notifications_mark_read",
    "review_queue",
    "search_gap_dismiss",
    "search_gaps",
]
