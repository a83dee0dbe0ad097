"""Panels other apps add to the article page: knowledge defines the slot, not its content.

An app registers a panel in its `AppConfig.ready()`:

    register_article_panel(
        name="incidents",
        template_name="postmortems/panels/article_incidents.html",
        context=incidents_behind_article,  # (request, article) -> dict, or None to show nothing
    )

Panels render in the order they were registered. Registering a name again replaces the panel
in place, so that a reloaded module does not show it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from knowledge.models import Article

PanelContext = Callable[[HttpRequest, Article], dict[str, Any] | None]


@dataclass(frozen=True)
class ArticlePanel:
    name: str
    template_name: str
    context: PanelContext


@dataclass(frozen=True)
class RenderedPanel:
    name: str
    html: SafeString


_panels: dict[str, ArticlePanel] = {}


def register_article_panel(*, name: str, template_name: str, context: PanelContext) -> None:
    if not name:
        raise ValueError("A panel needs a name.")
    _panels[name] = ArticlePanel(name=name, template_name=template_name, context=context)


def unregister_article_panel(*, name: str) -> None:
    _panels.pop(name, None)


def registered_article_panels() -> list[ArticlePanel]:
    return list(_panels.values())


def article_panels_render(*, request: HttpRequest, article: Article) -> list[RenderedPanel]:
    """Each registered panel's HTML for this article; a panel whose context is None is left out."""
    rendered: list[RenderedPanel] = []
    for panel in registered_article_panels():
        context = panel.context(request, article)
        if context is None:
            continue
        html = render_to_string(
            panel.template_name, {"article": article, **context}, request=request
        )
        rendered.append(RenderedPanel(name=panel.name, html=SafeString(html)))
    return rendered
