"""OpenAPI pieces every app's API shares: the one error shape and its documented status codes."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="snake_case, for programs: `invalid`, `stale_version`…")
    message = serializers.CharField(help_text="What to fix, for people.")
    # Declared fields leave the class body, so this does not shadow Serializer.fields at run time.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field name → messages; empty when the error is not about one field.",
    )
    reasons = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Every reason a state change was refused (409 only).",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    400: "Invalid input: `error.fields` names each offending field.",
    401: "No or bad credentials.",
    403: "Signed in, but your role may not do this.",
    404: "Absent, or not visible to you (on a list: an invalid `cursor`).",
    409: "Not allowed in the object's current state: `error.reasons` lists every reason.",
    412: "Stale `version`/`If-Match`: someone saved first. Reload and apply your change again.",
    413: "The request body is too large.",
    415: "Unsupported media type: send `application/json`.",
    428: "Send the version you edited, as `version` in the body or an `If-Match` header.",
}


def error_responses(*status_codes: int) -> dict[int, OpenApiResponse]:
    """`responses=` entries for the given error status codes, all in the one error shape."""
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in status_codes
    }


IF_MATCH = OpenApiParameter(
    name="If-Match",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    # One version from 1, quoted or bare, weak or strong (kbsite.api.versioning reads these).
    pattern=r'^(W/)?("[1-9][0-9]{0,8}"|[1-9][0-9]{0,8})$',
    description='The version you edited, as an entity tag: `"3"`, `W/"3"` or `3`. '
    "Required unless the body carries `version`.",
)
IF_NONE_MATCH = OpenApiParameter(
    name="If-None-Match",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    description="The `ETag` you hold: 304 Not Modified when it is still current.",
)


def page_of(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """The schema of one page of a list: `{"next", "previous", "results"}`."""
    name = serializer_class.__name__.removesuffix("Serializer")
    return inline_serializer(
        name=f"Paginated{name}List",
        fields={
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )
