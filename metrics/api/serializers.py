"""KPIs over the API: the list of definitions, and one figure with its drill-down."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from metrics.kpis import KPIS


@extend_schema_field(OpenApiTypes.NUMBER)
class NumberField(serializers.Field):
    """A count as an integer, anything else as a float (hours saved are fractional)."""

    def to_representation(self, value: Any) -> int | float:
        number = float(value)
        return int(number) if number.is_integer() else number


class KpiQuerySerializer(serializers.Serializer):
    """Only the shape; metrics.periods and metrics.kpis decide what a valid value is."""

    kpi = serializers.CharField(
        required=False,
        max_length=50,
        help_text=f"One of {', '.join(f'`{key}`' for key in KPIS)}. Without it, the list of KPIs.",
    )
    period = serializers.CharField(
        required=False, max_length=7, help_text="A calendar month in UTC: `YYYY-MM`."
    )
    scope = serializers.CharField(
        required=False,
        max_length=120,
        help_text="`all` (default), `team:<slug>`, `service:<slug>` or `severity:sev1`…`sev4`.",
    )


class KpiDefinitionSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    unit = serializers.ChoiceField(
        choices=["fraction", "hours"],
        help_text="`fraction`: a share from 0 to 1; `hours`: hours saved.",
    )
    method = serializers.CharField(help_text="How the figure is computed, in plain words.")


class KpiListSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = KpiDefinitionSerializer(many=True)


class DrillDownIncidentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    web_url = serializers.URLField(help_text="The incident's page, for people.")
    in_numerator = serializers.BooleanField(help_text="Whether it counts in the numerator.")


class KpiFigureSerializer(serializers.Serializer):
    kpi = serializers.CharField()
    period = serializers.CharField(help_text="`YYYY-MM`")
    scope = serializers.CharField()
    value = serializers.FloatField(
        allow_null=True,
        help_text="Unrounded: a fraction 0–1, or hours for `time_saved`; null when no data.",
    )
    numerator = NumberField(help_text="A count, or hours for `time_saved`.")
    denominator = serializers.IntegerField(help_text="Incidents the figure rests on.")
    computed_at = serializers.DateTimeField()
    incidents = DrillDownIncidentSerializer(
        many=True, help_text="The denominator's incidents that you may see."
    )
    hidden = serializers.IntegerField(
        help_text="Incidents counted in the figure that you may not see (never named)."
    )
    baseline = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="`repeat_rate` only: the pooled repeat rate of the 6 months before.",
    )
    reduction = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="`repeat_rate` only: 1 − rate / baseline; null when the baseline is 0 or "
        "has no data.",
    )
    extra = serializers.DictField(
        help_text="What the figure's card shows beside it: for `repeat_rate` the baseline's "
        "counts and the recurrence of failure modes with and without a published article; for "
        "`time_saved` the incidents without a baseline and responders' own minutes-saved "
        "estimates (never part of the figure)."
    )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        if instance["kpi"] != "repeat_rate":
            # Only the repeat rate has a baseline: other figures leave the keys out, not null.
            data.pop("baseline", None)
            data.pop("reduction", None)
        return data
