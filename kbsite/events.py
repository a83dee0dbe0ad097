"""A small registry of domain events, so that lower apps never import the ones above them.

A service emits an event (`emit("postmortem.published", postmortem_id=7)`); the emission runs its
handlers after the surrounding transaction commits. Apps subscribe in `AppConfig.ready()`.
Handlers should only enqueue a task: they run in the request that caused the event.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

Handler = Callable[..., None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
_state = threading.local()


@contextmanager
def suppressed() -> Iterator[None]:
    """Emit nothing inside this block (in this thread): for bulk loads such as the demo data,
    which recompute what the handlers would have reacted to once, at the end."""
    previous = getattr(_state, "suppressed", False)
    _state.suppressed = True
    try:
        yield
    finally:
        _state.suppressed = previous


def subscribe(event: str, handler: Handler) -> None:
    """Register `handler(**payload)` for `event`; registering the same handler twice is a no-op."""
    if handler not in _handlers[event]:
        _handlers[event].append(handler)


def unsubscribe(event: str, handler: Handler) -> None:
    if handler in _handlers[event]:
        _handlers[event].remove(handler)


def emit(event: str, **payload: Any) -> None:
    """Run the handlers of `event` once the current transaction commits (at once outside one)."""
    if getattr(_state, "suppressed", False):
        return

    def dispatch() -> None:
        for handler in list(_handlers[event]):
            try:
                handler(**payload)
            except Exception:
                # A subscriber's failure must not undo or fail the change that already committed.
                logger.exception("handler %r for event %s failed", handler, event)

    transaction.on_commit(dispatch)
