"""Reads of webhooks, always scoped to their owner."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from kbsite.models import WebhookDelivery, WebhookSubscription


def webhook_subscriptions_for_user(*, user: Any) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(owner_id=user.pk).order_by("-created_at", "-id")


def webhook_subscription_get_for_user(*, pk: int, user: Any) -> WebhookSubscription:
    """The owner's own subscription; Http404 for anyone else's, as if it did not exist."""
    subscription = webhook_subscriptions_for_user(user=user).filter(pk=pk).first()
    if subscription is None:
        raise Http404("No such webhook.")
    return subscription


def webhook_deliveries_for_subscription(
    *, subscription: WebhookSubscription
) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(subscription_id=subscription.pk).order_by(
        "-created_at", "-id"
    )
