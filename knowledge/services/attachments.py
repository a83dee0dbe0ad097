"""Files and video links beside an article. A file's kind comes from its bytes, never its name."""

from __future__ import annotations

import os
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import transaction

from knowledge.models import Article, ArticleAttachment, ArticleVideoLink
from knowledge.permissions import can_edit
from knowledge.services.common import ArticleError, ArticlePermissionError, text_clean

KNOWLEDGE_ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024

# Content types shown in the page; anything else (SVG, which can carry script) is a download.
INLINE_CONTENT_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "image/svg+xml": ".svg",
}


def sniff_content_type(head: bytes) -> str | None:
    """The content type that the file's first bytes prove, or None for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype svg")) and b"<svg" in text:
        return "image/svg+xml"
    return None


def _original_name(name: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    cleaned = "".join(char for char in base if char.isprintable())
    return cleaned[-255:] or "attachment"


def attachment_add(
    *, article: Article, user: Any, uploaded_file: UploadedFile
) -> ArticleAttachment:
    """Attach an image (PNG, JPEG, GIF, WebP), a PDF or an SVG of at most 5 MiB.

    The stored name is random; the person's file name is kept only for display and download.
    """
    if not can_edit(user, article):
        raise ArticlePermissionError("Only people who can edit this article can attach files.")
    size = uploaded_file.size or 0
    if size == 0:
        raise ArticleError("The file is empty.", field="file")
    if size > KNOWLEDGE_ATTACHMENT_MAX_BYTES:
        raise ArticleError(
            f"The file is {size / 1024 / 1024:.1f} MiB; attachments may be at most 5 MiB.",
            field="file",
        )
    uploaded_file.seek(0)
    head = uploaded_file.read(1024)
    uploaded_file.seek(0)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise ArticleError(
            "Attach a PNG, JPEG, GIF, WebP or SVG image or a PDF; this file is none of those.",
            field="file",
        )
    stored_name = f"{uuid.uuid4().hex}{_EXTENSIONS[content_type]}"
    attachment = ArticleAttachment(
        article=article,
        stored_name=stored_name,
        original_name=_original_name(uploaded_file.name or ""),
        content_type=content_type,
        size=size,
        uploaded_by=user,
    )
    with transaction.atomic():
        attachment.file.save(stored_name, uploaded_file, save=False)
        attachment.save()
    return attachment


def video_link_add(*, article: Article, user: Any, url: str, title: str) -> ArticleVideoLink:
    """Link a recording or walkthrough; only https links, at most 500 characters."""
    if not can_edit(user, article):
        raise ArticlePermissionError("Only people who can edit this article can add videos.")
    address = (url or "").strip()
    if not address.lower().startswith("https://") or len(address) > 500:
        raise ArticleError("Give an https:// link of at most 500 characters.", field="url")
    try:
        URLValidator(schemes=["https"])(address)
    except ValidationError as error:
        raise ArticleError("That is not a valid https:// link.", field="url") from error
    name = text_clean(title, field="title", limit=200, required=True, what="a title for the video")
    return ArticleVideoLink.objects.create(article=article, url=address, title=name)


def attachment_is_inline(attachment: ArticleAttachment) -> bool:
    """Whether the file may be shown in the page; everything else is served as a download."""
    return attachment.content_type in INLINE_CONTENT_TYPES
