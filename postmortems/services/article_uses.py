"""Knowledge used during an incident's response, and whether it helped."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from kbsite.errors import InvalidInput, NotAllowed
from kbsite.events import emit
from kbsite.roles import Role, user_has_role
from knowledge.models import Article
from knowledge.permissions import can_view as can_view_article
from postmortems.models import ArticleUse, Incident
from postmortems.permissions import can_edit_postmortem
from postmortems.services.common import MAX_NOTE_LENGTH, check_can_view, text_clean

MAX_MINUTES_SAVED = 10_000


def article_use_record(
    *,
    incident: Incident,
    user: Any,
    article: Article,
    helped: bool | None = None,
    minutes_saved: int | None = None,
    note: str = "",
) -> ArticleUse:
    """Record (or update: one record per incident and article) that `article` was used during
    the response. Its authors and any responder who can see the incident may record it.
    Emits "article_use.recorded"."""
    check_can_view(user, incident)
    if not (can_edit_postmortem(user, incident) or user_has_role(user, Role.RESPONDER)):
        raise NotAllowed("Only responders can record the knowledge used during a response.")
    if not isinstance(article, Article) or not can_view_article(user, article):
        raise InvalidInput("That article was not found.", field="article")
    if helped is not None and not isinstance(helped, bool):
        raise InvalidInput("Say whether it helped: yes, no, or leave it open.", field="helped")
    if minutes_saved is not None and (
        isinstance(minutes_saved, bool)
        or not isinstance(minutes_saved, int)
        or not 0 <= minutes_saved <= MAX_MINUTES_SAVED
    ):
        raise InvalidInput(
            f"Give the minutes saved as a whole number from 0 to {MAX_MINUTES_SAVED:,}.",
            field="minutes_saved",
        )
    body = text_clean(note, field="note", limit=MAX_NOTE_LENGTH, label="note")
    with transaction.atomic():
        use, _ = ArticleUse.objects.update_or_create(
            incident=incident,
            article=article,
            defaults={"user": user, "helped": helped, "minutes_saved": minutes_saved, "note": body},
            create_defaults={
                "user": user,
                "helped": helped,
                "minutes_saved": minutes_saved,
                "note": body,
                "used_at": timezone.now(),
            },
        )
        emit(
            "article_use.recorded",
            article_use_id=use.pk,
            incident_id=incident.pk,
            article_id=article.pk,
            helped=helped,
        )
    return use
