"""Connects webhooks to the domain events (kbsite.events); called from KbsiteConfig.ready()."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from kbsite import events
from kbsite.models import WEBHOOK_EVENTS

# Celery's autodiscovery finds only `<app>.tasks`: importing the module here, from
# KbsiteConfig.ready(), registers the webhook tasks in every process, workers included.
from kbsite.webhooks import tasks as _tasks  # noqa: F401

logger = logging.getLogger(__name__)

_handlers: dict[str, Callable[..., None]] = {}


def _handler_for(event: str) -> Callable[..., None]:
    def on_event(**payload: Any) -> None:
        # Runs after the change committed; it only records deliveries and enqueues their tasks.
        from kbsite.webhooks.services import webhook_deliveries_create

        webhook_deliveries_create(event=event, data=payload, occurred_at=timezone.now())

    on_event.__name__ = f"webhooks_on_{event.replace('.', '_')}"
    return on_event


def connect() -> None:
    """Subscribe to every webhook event; calling it again changes nothing."""
    for event in WEBHOOK_EVENTS:
        handler = _handlers.setdefault(event, _handler_for(event))
        events.subscribe(event, handler)


def disconnect() -> None:
    for event, handler in _handlers.items():
        events.unsubscribe(event, handler)
