"""/api/v1/kpis/: the KPI definitions, or one figure with the incidents behind it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kbsite.api.openapi import error_responses
from metrics.api import serializers as api
from metrics.kpis import KPIS, kpi_definition
from metrics.periods import parse_month, parse_scope
from metrics.selectors import kpi_drill_down, kpi_snapshot_get, scope_check

KPI_ANSWER = PolymorphicProxySerializer(
    component_name="KpiAnswer",
    serializers=[api.KpiListSerializer, api.KpiFigureSerializer],
    resource_type_field_name=None,
)


class KpiView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="KPI definitions, or one KPI figure with its drill-down",
        description=(
            "Without `kpi`: every KPI with its unit and its method in plain words. With `kpi`, "
            "`period` (YYYY-MM) and `scope`: the figure, unrounded, and the incidents behind it "
            "that you may see; `hidden` counts those you may not (restricted incidents count in "
            "every figure). No data is `value: null` with numerator and denominator 0. A period "
            "with no stored figure is computed on request and stored."
        ),
        operation_id="v1_kpis_retrieve",
        parameters=[api.KpiQuerySerializer],
        responses={
            200: OpenApiResponse(response=KPI_ANSWER),
            **error_responses(400, 401),
        },
    )
    def get(self, request: Request) -> Response:
        query = api.KpiQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise exceptions.ValidationError(query.errors)
        values: dict[str, Any] = query.validated_data
        if not values.get("kpi"):
            results = [
                {
                    "key": definition.key,
                    "title": definition.title,
                    "unit": definition.unit,
                    "method": definition.method,
                }
                for definition in KPIS.values()
            ]
            data = {"next": None, "previous": None, "results": results}
            return Response(api.KpiListSerializer(data).data)
        definition = kpi_definition(values["kpi"].strip().lower())
        period = parse_month(values.get("period", ""))
        scope = scope_check(scope=parse_scope(values.get("scope")))
        snapshot = kpi_snapshot_get(kpi=definition.key, period=period, scope=scope)
        drill_down = kpi_drill_down(snapshot=snapshot, user=request.user)
        figure: dict[str, Any] = {
            "kpi": definition.key,
            "period": f"{period.start:%Y-%m}",
            "scope": scope.key,
            "value": snapshot.value,
            "numerator": snapshot.numerator,
            "denominator": snapshot.denominator,
            "computed_at": snapshot.computed_at,
            "incidents": drill_down.incidents,
            "hidden": drill_down.hidden,
            "extra": snapshot.extra or {},
        }
        if definition.key == "repeat_rate":
            figure["baseline"] = figure["extra"].get("baseline")
            figure["reduction"] = figure["extra"].get("reduction")
        return Response(api.KpiFigureSerializer(figure).data)
