"""Writes to the knowledge base. Every change goes through one of these functions: it checks the
person's permission and the article's state and version, changes the rows atomically, records
history, and leaves side effects (emails, events) to run after commit."""

from knowledge.services.articles import article_create, article_revert, article_update
from knowledge.services.attachments import (
    INLINE_CONTENT_TYPES,
    KNOWLEDGE_ATTACHMENT_MAX_BYTES,
    attachment_add,
    attachment_is_inline,
    video_link_add,
)
from knowledge.services.common import (
    ArticleContent,
    ArticleError,
    ArticlePermissionError,
    ArticleStaleVersion,
    ArticleStateError,
    article_content_clean,
    article_content_of,
)
from knowledge.services.feedback import feedback_give
from knowledge.services.gaps import search_gaps_dismiss
from knowledge.services.reviews import (
    article_archive,
    article_mark_reviewed,
    article_publish,
    article_request_changes,
    article_restore,
    article_submit,
    articles_notify_overdue,
    flags_resolve,
)

__all__ = [
    "INLINE_CONTENT_TYPES",
    "KNOWLEDGE_ATTACHMENT_MAX_BYTES",
    "ArticleContent",
    "ArticleError",
    "ArticlePermissionError",
    "ArticleStaleVersion",
    "ArticleStateError",
    "article_archive",
    "article_content_clean",
    "article_content_of",
    "article_create",
    "article_mark_reviewed",
    "article_publish",
    "article_request_changes",
    "article_restore",
    "article_revert",
    "article_submit",
    "article_update",
    "articles_notify_overdue",
    "attachment_add",
    "attachment_is_inline",
    "feedback_give",
    "flags_resolve",
    "search_gaps_dismiss",
    "video_link_add",
]
