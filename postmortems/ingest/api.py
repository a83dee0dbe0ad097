"""`POST /api/v1/ingest/<source>/`: alerting tools open, mitigate and resolve incidents.

One of the few routes without a signed-in person: the integration's secret authenticates it,
so DRF's authentication is off here (no session, hence no CSRF) and the service checks the
secret. Answers use the API's one error shape; 401s carry `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from kbsite.api.errors import domain_error_response
from kbsite.api.openapi import ErrorSerializer
from kbsite.errors import DomainError
from kbsite.ratelimit import Verdict, client_ip, rate_limit_hit
from postmortems.ingest import examples
from postmortems.ingest.receive import Receipt, delivery_receive
from postmortems.ingest.receive import Request as Delivery
from postmortems.ingest.sources.pagerduty import SIGNATURE_HEADER
from postmortems.models import AlertSource

TOKEN_HEADER = "X-Kbsite-Token"  # noqa: S105 - a header name
ACTIONS = ["opened", "unchanged", "acknowledged", "mitigated", "resolved", "ignored", "not_found"]


class IngestRateThrottle(BaseThrottle):
    """INGEST_RATE_LIMIT deliveries per INGEST_RATE_WINDOW_SECONDS from one client address,
    counted before the secret is checked: guessing secrets gets slow, and an alert storm from
    one tool is capped (Alertmanager and Grafana retry after a 429)."""

    def __init__(self) -> None:
        self.verdict: Verdict | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        self.verdict = rate_limit_hit(
            scope="ingest",
            identity=client_ip(request._request),
            limit=settings.INGEST_RATE_LIMIT,
            window=settings.INGEST_RATE_WINDOW_SECONDS,
        )
        return self.verdict.allowed

    def wait(self) -> float | None:
        return float(self.verdict.retry_after) if self.verdict else None


@extend_schema_field({"type": "string", "enum": ACTIONS})
class ActionField(serializers.CharField):
    """An enum written inline: `action` is a common name, and a shared component would clash."""


class IngestedAlertSerializer(serializers.Serializer):
    external_id = serializers.CharField(
        help_text="`<source>:<the tool's id>`, stored as the incident's `external_id`."
    )
    action = ActionField(help_text="What the alert changed.")
    incident = serializers.IntegerField(allow_null=True, help_text="The incident's id.")
    web_url = serializers.URLField(allow_null=True, help_text="The incident's page, for people.")
    message = serializers.CharField()


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.BooleanField()
    duplicate = serializers.BooleanField(
        help_text="True when this event id was already received: nothing changed."
    )
    message = serializers.CharField()
    alerts = IngestedAlertSerializer(many=True)


def _result(receipt: Receipt) -> dict[str, Any]:
    return {
        "accepted": True,
        "duplicate": receipt.duplicate,
        "message": receipt.message,
        "alerts": [
            {
                "external_id": outcome.key,
                "action": outcome.action,
                "incident": outcome.incident.pk if outcome.incident else None,
                "web_url": (
                    settings.SITE_URL + outcome.incident.get_absolute_url()
                    if outcome.incident
                    else None
                ),
                "message": outcome.message,
            }
            for outcome in receipt.outcomes
        ],
    }


def _secret_of(request: Request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get(TOKEN_HEADER, "").strip()


# Status code → (when, an example's code, its message): the refusals of this endpoint.
REFUSALS = {
    400: (
        "Malformed JSON, or not this tool's payload: `error.fields` points into the payload.",
        "unexpected_payload",
        "alerts[0].fingerprint is missing: Alertmanager payloads carry it.",
    ),
    401: (
        "No secret, an unknown secret, or a bad PagerDuty signature.",
        "authentication_failed",
        "No Prometheus Alertmanager integration has this secret: copy it again from the "
        "integration's page.",
    ),
    403: (
        "The integration is disabled.",
        "integration_disabled",
        "The integration “Prod Alertmanager” is disabled: an admin can enable it.",
    ),
    404: ("No such alert source.", "not_found", "There is no alert source 'nagios'."),
    409: (
        "A PagerDuty event older than the replay tolerance, or an integration whose creator "
        "is no longer an admin.",
        "stale_event",
        "The event occurred at 2025-03-04 09:30:12 UTC, more than 300 seconds ago.",
    ),
    413: (
        "The body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE.",
        "too_large",
        "The body is larger than the limit of 2097152 bytes: send fewer alerts per delivery.",
    ),
    415: (
        "The body is not application/json.",
        "unsupported_media_type",
        "Send the body as application/json (this request said 'text/plain').",
    ),
    429: (
        "Too many deliveries from this address: retry after `Retry-After` seconds.",
        "throttled",
        "Request was throttled. Expected available in 42 seconds.",
    ),
}


def _refusal(status_code: int, description: str, code: str, message: str) -> OpenApiResponse:
    example = {"error": {"code": code, "message": message, "fields": {}}}
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[
            OpenApiExample(code, value=example, response_only=True, status_codes=[status_code])
        ],
    )


SCHEMA = extend_schema(
    operation_id="v1_ingest_create",
    summary="Receive alerts from an alerting tool",
    description=(
        "Point Prometheus Alertmanager, Grafana, PagerDuty (v3 webhooks) or Opsgenie at "
        "`/api/v1/ingest/<source>/` with the integration's secret in `Authorization: Bearer "
        "<secret>` (or `X-Kbsite-Token`); admins create integrations under "
        "/postmortems/integrations/. A firing alert opens an incident for the integration's "
        "team (201); the same alert again changes nothing (200). A resolved Alertmanager or "
        "Grafana alert marks its incident mitigated; PagerDuty `incident.resolved` and "
        "Opsgenie `Close` resolve it. PagerDuty deliveries are checked against "
        "`X-PagerDuty-Signature` when the integration has a signing secret; an event older "
        "than INGEST_REPLAY_TOLERANCE_SECONDS is refused (409), and one already received is a "
        "no-op (200, `duplicate: true`)."
    ),
    auth=[],
    parameters=[
        OpenApiParameter(
            "source",
            OpenApiTypes.STR,
            OpenApiParameter.PATH,
            enum=AlertSource.values,
            description="The alerting tool.",
        ),
        OpenApiParameter(
            "Authorization",
            OpenApiTypes.STR,
            OpenApiParameter.HEADER,
            description="`Bearer <secret>`: the integration's secret.",
        ),
        OpenApiParameter(
            TOKEN_HEADER,
            OpenApiTypes.STR,
            OpenApiParameter.HEADER,
            description="The integration's secret, for tools that cannot set Authorization.",
        ),
        OpenApiParameter(
            SIGNATURE_HEADER,
            OpenApiTypes.STR,
            OpenApiParameter.HEADER,
            description="PagerDuty only: `v1=<hex HMAC-SHA256 of the body>`, comma-separated.",
        ),
    ],
    request={"application/json": OpenApiTypes.OBJECT},
    examples=examples.REQUEST_EXAMPLES,
    responses={
        201: OpenApiResponse(IngestResultSerializer, description="An incident was opened."),
        200: OpenApiResponse(
            IngestResultSerializer,
            description="Accepted; incidents changed, or nothing to change (a retry).",
        ),
        **{
            status_code: _refusal(status_code, description, code, message)
            for status_code, (description, code, message) in REFUSALS.items()
        },
    },
)


class AlertIngestView(APIView):
    authentication_classes: list[Any] = []  # the integration's secret, checked by the service
    permission_classes = [AllowAny]
    throttle_classes = [IngestRateThrottle]
    renderer_classes = [JSONRenderer]

    @SCHEMA
    def post(self, request: Request, source: str) -> Response:
        try:
            body, too_large = request.body, False
        except RequestDataTooBig:
            body, too_large = b"", True
        delivery = Delivery(
            source=source,
            secret=_secret_of(request),
            secret_in_query="token" in request.query_params,
            content_type=request.content_type or "",
            body=body,
            body_too_large=too_large,
            signature=request.headers.get(SIGNATURE_HEADER, ""),
            remote_addr=client_ip(request._request),
        )
        try:
            receipt = delivery_receive(request=delivery)
        except DomainError as refusal:
            response = domain_error_response(refusal)
            if refusal.status_code == 401:
                response["WWW-Authenticate"] = 'Bearer realm="kbsite alert ingestion"'
            return response
        return Response(_result(receipt), status=receipt.status_code)
