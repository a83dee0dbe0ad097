"""One delivery to /api/v1/ingest/<source>/, from the secret to the incidents, and its log.

Checks run cheapest and least revealing first: the source (404), the secret (401), the
integration enabled (403), the size (413), the media type (415), PagerDuty's signature (401),
the JSON and its shape (400), the event's age (409). A refused delivery changes nothing but
its log row; an accepted one is applied and logged in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kbsite.errors import DomainError, InvalidInput
from postmortems.ingest.apply import AlertOutcome, acting_user, notice_apply
from postmortems.ingest.notices import (
    Delivery,
    IntegrationDisabled,
    NotAuthenticated,
    PayloadTooLarge,
    StaleEvent,
    UnknownSource,
    UnsupportedMediaType,
)
from postmortems.ingest.selectors import integration_for_secret
from postmortems.ingest.sources import PARSERS, Parser
from postmortems.ingest.sources.common import refuse_nul_characters
from postmortems.ingest.sources.pagerduty import SIGNATURE_HEADER, signature_valid
from postmortems.models import AlertIntegration, AlertSource, IngestedPayload
from postmortems.services.common import CLOCK_SKEW

# Enough of a payload to see what the tool sent; a whole Alertmanager group can be far larger.
BODY_EXCERPT_LIMIT = 16 * 1024
MAX_REASON_LENGTH = 1000
SECRET_HEADERS = "`Authorization: Bearer <secret>` or `X-Kbsite-Token: <secret>`"  # noqa: S105 - how to send one


@dataclass(frozen=True)
class Request:
    """What the endpoint read from the HTTP request; the body is read before any check so that
    Django's size limit applies, but looked at only once the secret is known."""

    source: str
    secret: str
    content_type: str
    body: bytes
    body_too_large: bool = False
    signature: str = ""
    secret_in_query: bool = False
    remote_addr: str = ""


@dataclass(frozen=True)
class Receipt:
    integration: AlertIntegration
    outcomes: list[AlertOutcome] = field(default_factory=list)
    duplicate: bool = False
    message: str = ""

    @property
    def status_code(self) -> int:
        return 201 if any(outcome.action == "opened" for outcome in self.outcomes) else 200


def _excerpt(body: bytes) -> str:
    # PostgreSQL text cannot hold NUL characters; the excerpt is for reading, not replaying.
    return body[:BODY_EXCERPT_LIMIT].decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def _prune(*, integration_id: int | None, now: datetime) -> None:
    """Keep the newest INGEST_LOG_KEEP rows of one log (the unowned one when None). Accepted
    events still inside the replay window stay whatever their number: they make a replay a
    no-op."""
    rows = IngestedPayload.objects.filter(
        Q(integration_id=integration_id) if integration_id else Q(integration__isnull=True)
    )
    keep = settings.INGEST_LOG_KEEP
    cutoff = list(rows.order_by("-id").values_list("id", flat=True)[keep : keep + 1])
    if not cutoff:
        return
    window = now - timedelta(seconds=settings.INGEST_REPLAY_TOLERANCE_SECONDS) - CLOCK_SKEW
    rows.filter(id__lte=cutoff[0]).exclude(
        Q(accepted=True, received_at__gte=window) & ~Q(event_id="")
    ).delete()


def payload_log(
    *,
    request: Request,
    integration: AlertIntegration | None,
    accepted: bool,
    status_code: int,
    reason: str,
    outcomes: list[AlertOutcome] | None = None,
    event_id: str = "",
    now: datetime | None = None,
) -> IngestedPayload:
    """Write one row of the payload log and trim the log. Without an integration the body is
    not kept: anyone can send one."""
    moment = now or timezone.now()
    first = next((outcome for outcome in outcomes or [] if outcome.key), None)
    entry = IngestedPayload.objects.create(
        integration=integration,
        source=request.source[:20],
        received_at=moment,
        accepted=accepted,
        status_code=status_code,
        reason=reason[:MAX_REASON_LENGTH],
        external_id=first.key[:200] if first else "",
        event_id=event_id[:200],
        incident=first.incident if first else None,
        body_excerpt=_excerpt(request.body) if integration and not request.body_too_large else "",
        remote_addr=request.remote_addr[:45],
    )
    if integration is not None:
        AlertIntegration.objects.filter(pk=integration.pk).update(last_received_at=moment)
    _prune(integration_id=integration.pk if integration else None, now=moment)
    return entry


def _authenticate(request: Request) -> AlertIntegration:
    if request.secret_in_query and not request.secret:
        raise NotAuthenticated(
            f"Send the secret in a header ({SECRET_HEADERS}), not in the address: addresses "
            "are written to logs.",
            code="not_authenticated",
        )
    integration = integration_for_secret(source=request.source, secret=request.secret)
    if integration is not None:
        return integration
    if not request.secret:
        raise NotAuthenticated(
            f"Send the integration's secret as {SECRET_HEADERS}.", code="not_authenticated"
        )
    label = AlertSource(request.source).label
    raise NotAuthenticated(
        f"No {label} integration has this secret: copy it again from the integration's page "
        "(rotating the secret replaces the old one), and check that the address ends in "
        f"/ingest/{request.source}/."
    )


def _check_signature(integration: AlertIntegration, request: Request) -> None:
    if integration.source != AlertSource.PAGERDUTY or not integration.signing_secret:
        return
    if not request.signature:
        raise NotAuthenticated(
            f"Send the {SIGNATURE_HEADER} header: this integration checks PagerDuty's signature.",
            code="bad_signature",
        )
    if not signature_valid(
        signing_secret=integration.signing_secret, header=request.signature, body=request.body
    ):
        raise NotAuthenticated(
            f"{SIGNATURE_HEADER} does not match the body: save the signing secret PagerDuty "
            "shows for this webhook subscription on the integration's page.",
            code="bad_signature",
        )


def _parse(parser: Parser, request: Request) -> Delivery:
    media_type = request.content_type.split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType(
            f"Send the body as application/json (this request said {media_type or 'nothing'!r})."
        )
    try:
        payload = json.loads(request.body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput("The body is not UTF-8 text.", code="parse_error") from None
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"The body is not valid JSON ({error.msg} at line {error.lineno}, column "
            f"{error.colno}).",
            code="parse_error",
        ) from None
    except RecursionError:
        raise InvalidInput("The body is nested too deeply.", code="parse_error") from None
    refuse_nul_characters(payload)
    return parser(payload)


def _check_age(delivery: Delivery, *, now: datetime) -> None:
    if delivery.occurred_at is None:
        return
    tolerance = timedelta(seconds=settings.INGEST_REPLAY_TOLERANCE_SECONDS)
    when = f"{delivery.occurred_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    if delivery.occurred_at < now - tolerance:
        raise StaleEvent(
            f"The event occurred at {when}, more than {int(tolerance.total_seconds())} seconds "
            "ago: old events are refused as possible replays. Check the sender's clock, or "
            "send a new event."
        )
    if delivery.occurred_at > now + CLOCK_SKEW:
        raise InvalidInput(
            f"The event occurred at {when}, in the future: check the sender's clock.",
            field="event.occurred_at",
        )


def _apply(integration: AlertIntegration, parser: Parser, request: Request) -> Receipt:
    if not integration.is_enabled:
        raise IntegrationDisabled(
            f"The integration “{integration.name}” is disabled: an admin can enable it on its "
            "page under /postmortems/integrations/."
        )
    if request.body_too_large:
        raise PayloadTooLarge(
            f"The body is larger than the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes: "
            "send fewer alerts per delivery."
        )
    _check_signature(integration, request)
    delivery = _parse(parser, request)
    now = timezone.now()
    _check_age(delivery, now=now)
    with transaction.atomic():
        locked = (
            AlertIntegration.objects.select_for_update(of=("self",))
            .select_related("team", "created_by")
            .get(pk=integration.pk)
        )
        if (
            delivery.event_id
            and IngestedPayload.objects.filter(
                integration=locked, accepted=True, event_id=delivery.event_id
            ).exists()
        ):
            message = f"Event {delivery.event_id} was already received: nothing changed."
            payload_log(
                request=request,
                integration=locked,
                accepted=True,
                status_code=200,
                reason=message,
                now=now,
            )
            return Receipt(integration=locked, duplicate=True, message=message)
        user = acting_user(locked)
        outcomes = [
            notice_apply(integration=locked, notice=notice, user=user, now=now)
            for notice in delivery.notices
        ]
        receipt = Receipt(
            integration=locked,
            outcomes=outcomes,
            message=" ".join(outcome.message for outcome in outcomes),
        )
        payload_log(
            request=request,
            integration=locked,
            accepted=True,
            status_code=receipt.status_code,
            reason=receipt.message,
            outcomes=outcomes,
            event_id=delivery.event_id,
            now=now,
        )
    return receipt


def delivery_receive(*, request: Request) -> Receipt:
    """Authenticate, check and apply one delivery; log it whatever the outcome.

    Raises the refusal (a DomainError carrying its status code and a message saying what to
    fix) after logging it. Refusals before an integration is known are logged without the body.
    """
    parser = PARSERS.get(request.source)
    if parser is None:
        raise UnknownSource(
            f"There is no alert source {request.source[:50]!r}: use one of "
            f"{', '.join(sorted(PARSERS))}."
        )
    try:
        integration = _authenticate(request)
    except NotAuthenticated as refusal:
        payload_log(
            request=request,
            integration=None,
            accepted=False,
            status_code=refusal.status_code,
            reason=refusal.message,
        )
        raise
    try:
        return _apply(integration, parser, request)
    except DomainError as refusal:
        payload_log(
            request=request,
            integration=integration,
            accepted=False,
            status_code=refusal.status_code,
            reason=refusal.message,
        )
        raise
