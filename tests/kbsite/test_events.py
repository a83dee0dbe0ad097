from __future__ import annotations

import pytest
from django.db import transaction

from kbsite import events

pytestmark = pytest.mark.django_db(transaction=True)


def test_handlers_run_only_after_commit():
    seen: list[dict[str, object]] = []

    def handler(**payload: object) -> None:
        seen.append(payload)

    events.subscribe("thing.happened", handler)
    try:
        with transaction.atomic():
            events.emit("thing.happened", thing_id=7)
            assert seen == []
        assert seen == [{"thing_id": 7}]
        with pytest.raises(RuntimeError), transaction.atomic():
            events.emit("thing.happened", thing_id=8)
            raise RuntimeError("rolled back")
        assert seen == [{"thing_id": 7}]
    finally:
        events.unsubscribe("thing.happened", handler)


def test_a_failing_handler_does_not_stop_the_others():
    seen: list[int] = []

    def broken(**payload: object) -> None:
        raise ValueError("boom")

    def working(*, number: int) -> None:
        seen.append(number)

    events.subscribe("thing.failed", broken)
    events.subscribe("thing.failed", working)
    try:
        events.emit("thing.failed", number=3)
    finally:
        events.unsubscribe("thing.failed", broken)
        events.unsubscribe("thing.failed", working)
    assert seen == [3]


def test_nothing_is_emitted_while_suppressed():
    seen: list[int] = []

    def handler(*, number: int) -> None:
        seen.append(number)

    events.subscribe("thing.quiet", handler)
    try:
        with events.suppressed():
            events.emit("thing.quiet", number=1)
        events.emit("thing.quiet", number=2)
    finally:
        events.unsubscribe("thing.quiet", handler)
    assert seen == [2]
