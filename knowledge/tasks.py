"""Knowledge background jobs: thin wrappers around one service each."""

from __future__ import annotations

from celery import shared_task

from knowledge.services import articles_notify_overdue


@shared_task(acks_late=True, ignore_result=True)
def notify_overdue_reviews() -> int:
    """Remind owners of articles past their review date. Safe to run twice: each article is
    claimed once per due date before anyone is told."""
    return articles_notify_overdue()
