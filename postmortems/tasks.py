"""Postmortem background jobs: thin wrappers around one service each."""

from __future__ import annotations

from celery import shared_task

from postmortems.services.action_items import action_items_notify_overdue


@shared_task(acks_late=True, ignore_result=True)
def notify_overdue_action_items() -> int:
    """Announce action items past their due date. Safe to run twice: each item is claimed once
    per due date before anyone is told."""
    return action_items_notify_overdue()
