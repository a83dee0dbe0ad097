"""`/api/v1/tokens/`: a person's own API tokens. The key is in the creating answer only."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kbsite.api.openapi import error_responses
from kbsite.errors import InvalidInput, StateConflict
from kbsite.models import ApiToken
from kbsite.services import CatalogError, api_token_issue, api_token_revoke


class TokenSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "scope",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "status",
        ]
        read_only_fields = fields

    def get_status(self, token: ApiToken) -> str:
        if token.revoked_at is not None:
            return "revoked"
        if token.expires_at is not None and token.expires_at <= timezone.now():
            return "expired"
        return "active"


class IssuedTokenSerializer(TokenSerializer):
    key = serializers.CharField(
        read_only=True, help_text="The secret key: shown in this answer only, never again."
    )

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "key"]
        read_only_fields = fields


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(choices=ApiToken.Scope.choices, default=ApiToken.Scope.READ)
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Optional; ISO 8601, in the future."
    )

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Give the token a name.")
        return value.strip()

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("scope"), str):
            data = {**data, "scope": data["scope"].strip().lower()}
        return super().to_internal_value(data)

    def validate_expires_at(self, value: Any) -> Any:
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("The expiry must be in the future.")
        return value


@extend_schema_view(
    list=extend_schema(summary="List your API tokens"),
    retrieve=extend_schema(summary="Read one of your API tokens"),
)
class TokenViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Your own tokens; anyone else's do not exist here (404)."""

    serializer_class = TokenSerializer

    def get_queryset(self) -> QuerySet[ApiToken]:
        return ApiToken.objects.filter(user_id=self.request.user.pk)  # type: ignore[misc]

    @extend_schema(
        summary="Create an API token (its key is in this answer only)",
        request=TokenCreateSerializer,
        examples=[
            OpenApiExample(
                "A read-only token for a dashboard",
                value={"name": "status dashboard", "scope": "read"},
                request_only=True,
            )
        ],
        responses={201: IssuedTokenSerializer, **error_responses(400)},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = TokenCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            issued = api_token_issue(user=request.user, **incoming.validated_data)  # type: ignore[arg-type]
        except CatalogError as error:
            raise InvalidInput(str(error)) from None
        body = IssuedTokenSerializer(issued.token).data
        body["key"] = issued.key
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    @extend_schema(
        summary="Revoke one of your API tokens",
        request=None,
        responses={200: TokenSerializer, **error_responses(404, 409)},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Revoke the token at once; revoking a revoked token is a 409 and changes nothing."""
        token = self.get_object()
        if token.revoked_at is not None:
            raise StateConflict("This token is already revoked.", code="already_revoked")
        return Response(TokenSerializer(api_token_revoke(token=token)).data)
