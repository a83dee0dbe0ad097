"""The "Incidents behind this article" panel on the knowledge article page.

Knowledge defines the slot (knowledge.panels); postmortems fills it, because the link between an
article and an incident lives here. Only incidents the reader may see are listed.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from knowledge.models import Article
from knowledge.panels import register_article_panel
from postmortems.selectors import incidents_for_article

PANEL_LIMIT = 10


def incidents_behind_article(request: HttpRequest, article: Article) -> dict[str, Any] | None:
    """The panel's context, or None (no panel) when no visible incident is behind it."""
    incidents = list(incidents_for_article(article=article, user=request.user)[: PANEL_LIMIT + 1])
    if not incidents:
        return None
    return {
        "incidents": incidents[:PANEL_LIMIT],
        "has_more": len(incidents) > PANEL_LIMIT,
        "helped_count": sum(
            1 for incident in incidents[:PANEL_LIMIT] if getattr(incident, "helped", False)
        ),
    }


def register() -> None:
    register_article_panel(
        name="incidents",
        template_name="postmortems/panels/article_incidents.html",
        context=incidents_behind_article,
    )
