"""Every write to webhooks: subscriptions, the deliveries an event makes, and each attempt."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from kbsite.errors import InvalidInput, StateConflict
from kbsite.models import WEBHOOK_EVENTS, WebhookDelivery, WebhookSubscription
from kbsite.roles import Role, user_has_role
from kbsite.services import notification_send
from kbsite.webhooks.signing import SIGNATURE_HEADER, secret_generate, signature_header
from kbsite.webhooks.targets import TargetRefused, TargetUnresolvable, target_check
from kbsite.webhooks.transport import http_post

logger = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS_PER_OWNER = 25
USER_AGENT = "kbsite-webhooks/1"

# --- who may hear of what ---------------------------------------------------------------------
# A payload that names an incident must reach only people who may see that incident (a
# restricted one does not exist for anyone else). kbsite cannot know that rule, so the app that
# owns incidents registers it: `webhook_visibility_register("incident_id", check)` in its
# AppConfig.ready(). Without a registered check, such events go to admins only.
RESTRICTABLE_KEYS = ("incident_id", "postmortem_id")
VisibilityCheck = Callable[[Any, int], bool]
_visibility_checks: dict[str, VisibilityCheck] = {}


def webhook_visibility_register(key: str, check: VisibilityCheck) -> None:
    """Register `check(user, object_id) -> bool` for payloads carrying `key`."""
    _visibility_checks[key] = check


def owner_may_receive(*, owner: Any, data: dict[str, Any]) -> bool:
    if not owner.is_active:
        return False
    if user_has_role(owner, Role.ADMIN):
        return True
    for key in RESTRICTABLE_KEYS:
        if data.get(key) is None:
            continue
        check = _visibility_checks.get(key)
        if check is None or not check(owner, int(data[key])):
            return False
    return True


# --- subscriptions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedWebhook:
    subscription: WebhookSubscription
    secret: str  # shown once, at creation


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen: list[str] = []
    for event in events:
        name = str(event).strip().lower()
        if name not in WEBHOOK_EVENTS:
            raise InvalidInput(
                f"Unknown event {str(event)[:60]!r}: choose from {', '.join(WEBHOOK_EVENTS)}.",
                field="events",
            )
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise InvalidInput("Choose at least one event.", field="events")
    return chosen


def webhook_subscription_create(
    *, owner: Any, name: str, target_url: str, events: Iterable[str]
) -> IssuedWebhook:
    """Subscribe `target_url` to `events` for `owner`, with a new secret that only this call sees.

    Refuses (InvalidInput, naming the field) an empty or long name, an unknown event or none, and
    a URL the SSRF guard refuses; creates nothing then.
    """
    name = name.strip()
    if not name:
        raise InvalidInput("Give the webhook a name.", field="name")
    if len(name) > 100:
        raise InvalidInput("The name is longer than 100 characters.", field="name")
    chosen = _clean_events(events)
    target = target_check(target_url)
    secret = secret_generate()
    with transaction.atomic():
        # Lock the owner's row so that parallel requests cannot both pass the limit.
        get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
        if WebhookSubscription.objects.filter(owner=owner).count() >= MAX_SUBSCRIPTIONS_PER_OWNER:
            raise InvalidInput(
                f"You already have {MAX_SUBSCRIPTIONS_PER_OWNER} webhooks: delete one first."
            )
        subscription = WebhookSubscription.objects.create(
            owner=owner, name=name, target_url=target.url, events=chosen, secret=secret
        )
    return IssuedWebhook(subscription=subscription, secret=secret)


def webhook_subscription_pause(
    *, subscription: WebhookSubscription, reason: str = "Paused by its owner."
) -> WebhookSubscription:
    """Stop deliveries; pending ones are not sent. Pausing a paused webhook is a conflict."""
    changed = WebhookSubscription.objects.filter(pk=subscription.pk, is_active=True).update(
        is_active=False, paused_at=timezone.now(), pause_reason=reason[:300]
    )
    if not changed:
        raise StateConflict("This webhook is already paused.")
    subscription.refresh_from_db()
    return subscription


def webhook_subscription_resume(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """Deliver again, from the next event on, with the failure count back at zero.

    The target is checked again first: a URL that is now refused stays paused.
    """
    if subscription.is_active:
        raise StateConflict("This webhook is already active.")
    target_check(subscription.target_url)
    WebhookSubscription.objects.filter(pk=subscription.pk, is_active=False).update(
        is_active=True, paused_at=None, pause_reason="", failure_count=0
    )
    subscription.refresh_from_db()
    return subscription


def webhook_subscription_delete(*, subscription: WebhookSubscription) -> None:
    """Delete the subscription and its delivery log; queued deliveries then find nothing."""
    WebhookSubscription.objects.filter(pk=subscription.pk).delete()


# --- events to deliveries ---------------------------------------------------------------------

# The page for people of the object an event is about, by the key its payload names it with.
WEB_URL_NAMES: dict[str, tuple[str, str]] = {
    "incident.": ("incident_id", "postmortems:incident_detail"),
    "postmortem.": ("postmortem_id", "postmortems:postmortem_detail"),
    "article.": ("article_id", "knowledge:article_redirect"),
    "article_use.": ("incident_id", "postmortems:incident_detail"),
    "action_item.": ("postmortem_id", "postmortems:postmortem_detail"),
}


def _web_url(event: str, data: dict[str, Any]) -> str | None:
    for prefix, (key, url_name) in WEB_URL_NAMES.items():
        if event.startswith(prefix) and isinstance(data.get(key), int):
            try:
                return settings.SITE_URL + reverse(url_name, kwargs={"pk": data[key]})
            except NoReverseMatch:
                return None
    return None


def _is_plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def webhook_payload(*, event: str, data: dict[str, Any], occurred_at: datetime) -> dict[str, Any]:
    """`{"event", "occurred_at", "data"}`: the ids the event carries, and the page's address.

    Values are kept when they are plain (strings, numbers, booleans, null) or lists of plain
    values (the periods a KPI recompute covered); objects are left out.
    """
    plain = {
        key: list(value) if isinstance(value, list | tuple) else value
        for key, value in data.items()
        if _is_plain(value)
        or (isinstance(value, list | tuple) and all(_is_plain(item) for item in value))
    }
    web_url = _web_url(event, plain)
    if web_url:
        plain["web_url"] = web_url
    return {
        "event": event,
        "occurred_at": occurred_at.isoformat().replace("+00:00", "Z"),
        "data": plain,
    }


def webhook_deliveries_create(
    *, event: str, data: dict[str, Any], occurred_at: datetime | None = None
) -> list[WebhookDelivery]:
    """A pending delivery for each active subscription to `event` whose owner may see it; each
    delivery's task is enqueued once this commits."""
    from kbsite.webhooks.tasks import deliver_webhook

    moment = occurred_at or timezone.now()
    subscriptions = [
        subscription
        for subscription in WebhookSubscription.objects.filter(is_active=True).select_related(
            "owner"
        )
        if subscription.wants(event)
    ]
    if not subscriptions:
        return []
    payload = webhook_payload(event=event, data=data, occurred_at=moment)
    recipients = [
        subscription
        for subscription in subscriptions
        if owner_may_receive(owner=subscription.owner, data=payload["data"])
    ]
    with transaction.atomic():
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(subscription=subscription, event=event, payload=payload)
                for subscription in recipients
            ]
        )
        ids = [delivery.pk for delivery in deliveries]

        def enqueue() -> None:
            for pk in ids:
                deliver_webhook.delay(delivery_id=pk)

        transaction.on_commit(enqueue)
    return deliveries


# --- one attempt ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptOutcome:
    """What an attempt left behind; `retry_in` is set when the task should try again."""

    status: str
    retry_in: int | None = None


def retry_delay(*, attempts: int) -> int:
    """Exponential backoff: the base delay, doubled after each failed attempt, at most an hour."""
    return int(min(settings.WEBHOOK_RETRY_BACKOFF_SECONDS * 2 ** max(0, attempts - 1), 3600))


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Count an attempt on a pending delivery; None when there is nothing left to do."""
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
    if not claimed.update(attempts=F("attempts") + 1, last_attempt_at=timezone.now()):
        return None
    return WebhookDelivery.objects.select_related("subscription__owner").get(pk=delivery_id)


def _record(delivery: WebhookDelivery, **fields: Any) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)


def webhook_delivery_attempt(*, delivery_id: int, may_retry: bool = True) -> AttemptOutcome:
    """Send one pending delivery once, and log what happened.

    Safe to run twice: only a pending delivery is attempted. Network errors and 5xx answers are
    retried (`retry_in`) until WEBHOOK_MAX_ATTEMPTS; anything else is final. A delivery that ends
    failed counts against its subscription, which is paused, and its owner told, after
    WEBHOOK_PAUSE_AFTER_FAILURES in a row; a success resets the count.
    """
    delivery = _claim(delivery_id)
    if delivery is None:
        return AttemptOutcome(status="skipped")
    subscription = delivery.subscription
    if not subscription.is_active:
        _record(
            delivery,
            status=WebhookDelivery.Status.FAILED,
            error="Not sent: the webhook was paused.",
        )
        return AttemptOutcome(status=WebhookDelivery.Status.FAILED)

    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Kbsite-Event": delivery.event,
        "X-Kbsite-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: signature_header(
            secret=subscription.secret, timestamp=timestamp, body=body
        ),
    }
    try:
        target = target_check(subscription.target_url)
    except TargetUnresolvable as refusal:
        return _conclude(
            delivery,
            status_code=None,
            duration_ms=0,
            error=refusal.message,
            retryable=True,
            may_retry=may_retry,
        )
    except TargetRefused as refusal:
        return _conclude(
            delivery,
            status_code=None,
            duration_ms=0,
            error=refusal.message,
            retryable=False,
            may_retry=may_retry,
        )
    result = http_post(
        target=target, body=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS
    )
    code = result.status_code
    if code is not None and 200 <= code < 300:
        _record(
            delivery,
            status=WebhookDelivery.Status.SUCCEEDED,
            response_status_code=code,
            duration_ms=result.duration_ms,
            error="",
        )
        WebhookSubscription.objects.filter(pk=subscription.pk).update(failure_count=0)
        return AttemptOutcome(status=WebhookDelivery.Status.SUCCEEDED)
    error = result.error or f"The receiver answered {code}."
    return _conclude(
        delivery,
        status_code=code,
        duration_ms=result.duration_ms,
        error=error,
        retryable=code is None or code >= 500,
        may_retry=may_retry,
    )


def _conclude(
    delivery: WebhookDelivery,
    *,
    status_code: int | None,
    duration_ms: int,
    error: str,
    retryable: bool,
    may_retry: bool,
) -> AttemptOutcome:
    attempts = delivery.attempts  # already counts this attempt
    if retryable and may_retry and attempts < settings.WEBHOOK_MAX_ATTEMPTS:
        delay = retry_delay(attempts=attempts)
        _record(
            delivery,
            response_status_code=status_code,
            duration_ms=duration_ms,
            error=f"{error.rstrip('.')}. Retrying in {delay} s."[:500],
        )
        return AttemptOutcome(status=WebhookDelivery.Status.PENDING, retry_in=delay)
    _record(
        delivery,
        status=WebhookDelivery.Status.FAILED,
        response_status_code=status_code,
        duration_ms=duration_ms,
        error=error[:500],
    )
    _count_failure(delivery.subscription)
    return AttemptOutcome(status=WebhookDelivery.Status.FAILED)


def _count_failure(subscription: WebhookSubscription) -> None:
    threshold = settings.WEBHOOK_PAUSE_AFTER_FAILURES
    with transaction.atomic():
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            failure_count=F("failure_count") + 1
        )
        reason = f"Paused after {threshold} failed deliveries in a row."
        paused = WebhookSubscription.objects.filter(
            pk=subscription.pk, is_active=True, failure_count__gte=threshold
        ).update(is_active=False, paused_at=timezone.now(), pause_reason=reason)
        if paused:
            notification_send(
                user=subscription.owner,
                text=(
                    f"Your webhook “{subscription.name}” was paused after {threshold} failed "
                    "deliveries in a row. Check the delivery log, fix the receiver, then resume it."
                ),
                url=reverse("account:webhook_detail", kwargs={"pk": subscription.pk}),
                email_subject=f"kbsite: webhook “{subscription.name}” paused",
            )


def webhook_deliveries_prune(*, older_than_days: int | None = None) -> int:
    """Delete delivery-log rows older than the retention; returns how many went."""
    days = older_than_days or settings.WEBHOOK_DELIVERY_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = WebhookDelivery.objects.filter(created_at__lt=cutoff).delete()
    return deleted
