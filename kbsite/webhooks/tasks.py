"""Celery tasks of webhooks: thin wrappers that take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from kbsite.webhooks.services import webhook_deliveries_prune, webhook_delivery_attempt


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def deliver_webhook(self, *, delivery_id: int) -> str:
    """Attempt one delivery; retried with backoff while the service asks for it.

    Safe to run twice: the service only attempts a delivery that is still pending. Run eagerly
    (the embedded mode, no worker) there is nothing to wait with, so one attempt is final.
    """
    outcome = webhook_delivery_attempt(delivery_id=delivery_id, may_retry=not self.request.is_eager)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in, kwargs={"delivery_id": delivery_id})
    return outcome.status


@shared_task(acks_late=True, ignore_result=True)
def prune_webhook_deliveries() -> int:
    """Drop delivery-log rows past WEBHOOK_DELIVERY_RETENTION_DAYS; safe to run any time."""
    return webhook_deliveries_prune()
