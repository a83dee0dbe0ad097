"""`/api/v1/webhooks/`: a person's own webhook subscriptions and their delivery logs."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kbsite.api.openapi import error_responses
from kbsite.models import WEBHOOK_EVENTS, WebhookDelivery, WebhookSubscription
from kbsite.webhooks import selectors, services

EVENT_CHOICES = [(key, text) for key, text in WEBHOOK_EVENTS.items()]


class WebhookSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_CHOICES))

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "name",
            "target_url",
            "events",
            "is_active",
            "paused_at",
            "pause_reason",
            "failure_count",
            "created_at",
        ]
        read_only_fields = fields


class IssuedWebhookSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret: shown in this answer only, never again.",
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    target_url = serializers.CharField(max_length=500, help_text="http or https, public address.")
    events = serializers.ListField(
        child=serializers.CharField(max_length=50), min_length=1, max_length=len(WEBHOOK_EVENTS)
    )


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "status",
            "attempts",
            "response_status_code",
            "duration_ms",
            "error",
            "created_at",
            "last_attempt_at",
            "payload",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="List your webhook subscriptions"),
    retrieve=extend_schema(summary="Read one of your webhook subscriptions"),
    destroy=extend_schema(summary="Delete a webhook subscription and its delivery log"),
)
class WebhookViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your own webhooks; anyone else's do not exist here (404)."""

    serializer_class = WebhookSerializer

    def get_queryset(self) -> QuerySet[WebhookSubscription]:
        return selectors.webhook_subscriptions_for_user(user=self.request.user)

    @extend_schema(
        summary="Subscribe a URL to events (the signing secret is in this answer only)",
        request=WebhookCreateSerializer,
        examples=[
            OpenApiExample(
                "Post published postmortems to a chat bridge",
                value={
                    "name": "chat",
                    "target_url": "https://hooks.example.com/kbsite",
                    "events": ["postmortem.published"],
                },
                request_only=True,
            )
        ],
        responses={201: IssuedWebhookSerializer, **error_responses(400)},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = WebhookCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        issued = services.webhook_subscription_create(owner=request.user, **incoming.validated_data)
        body = IssuedWebhookSerializer(issued.subscription).data
        body["secret"] = issued.secret
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    def perform_destroy(self, instance: WebhookSubscription) -> None:
        services.webhook_subscription_delete(subscription=instance)

    @extend_schema(
        summary="Pause a webhook subscription",
        request=None,
        responses={200: WebhookSerializer, **error_responses(404, 409)},
    )
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        """Stop sending events; 409 when already paused."""
        subscription = services.webhook_subscription_pause(subscription=self.get_object())
        return Response(WebhookSerializer(subscription).data)

    @extend_schema(
        summary="Resume a paused webhook subscription",
        request=None,
        responses={200: WebhookSerializer, **error_responses(400, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        """Send events again, failure count reset; 409 when active, 400 if the target is refused."""
        subscription = services.webhook_subscription_resume(subscription=self.get_object())
        return Response(WebhookSerializer(subscription).data)

    @extend_schema(
        summary="A webhook subscription's delivery log, newest first",
        responses={200: DeliverySerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """The delivery log, newest first."""
        subscription = self.get_object()
        queryset = selectors.webhook_deliveries_for_subscription(subscription=subscription)
        page = self.paginate_queryset(queryset)
        serializer = DeliverySerializer(page if page is not None else queryset, many=True)
        if page is not None:
            return self.get_paginated_response(serializer.data)
        return Response(serializer.data)
