"""/api/v1/incidents/, /api/v1/postmortems/, /api/v1/postmortem-templates/: thin views over the
postmortems services and selectors.

Each view fetches through a selector (404 when absent or not visible: a restricted incident does
not exist for outsiders, nor does anything under it), validates the shape with an input
serializer, calls one service, and answers the whole object with its `ETag`. Order of refusals:
404, then 428 (no version), then 400 (bad input), then what the service decides (403, 409, 412).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import django_filters
from django import forms
from django.db import transaction
from django.db.models import QuerySet, prefetch_related_objects
from django.http import Http404
from django.urls import reverse
from django.utils.dateparse import parse_date, parse_datetime
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from kbsite.api.openapi import IF_MATCH, IF_NONE_MATCH, error_responses, page_of
from kbsite.api.pagination import CursorPagination
from kbsite.api.parsers import JSONParser
from kbsite.api.versioning import expected_version, is_not_modified, not_modified, with_etag
from kbsite.errors import NotAllowed, StaleVersion
from knowledge.api.views import LowercaseChoiceFilter
from knowledge.models import Article
from knowledge.permissions import articles_visible_q
from postmortems import selectors, services
from postmortems.api import examples
from postmortems.api import serializers as api
from postmortems.models import (
    ActionItem,
    ArticleUse,
    Finding,
    Incident,
    IncidentStatus,
    Postmortem,
    PostmortemState,
    PostmortemTemplate,
    SectionComment,
    Severity,
    TimelineEntry,
    Visibility,
)
from postmortems.permissions import can_create_incident, incidents_visible_q
from postmortems.selectors import IncidentFilters
from postmortems.similar import incident_similar_for_user

ID = "[0-9]{1,18}"
WRITE_ERRORS = error_responses(400, 401, 403, 404, 409, 412, 413, 415, 428)
NESTED_WRITE_ERRORS = error_responses(400, 401, 403, 404, 409, 413, 415)
READ_ERRORS = error_responses(401, 404)


def _path_id(name: str, what: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, OpenApiTypes.INT, OpenApiParameter.PATH, description=f"The {what}'s id."
    )


# --- filters -----------------------------------------------------------------------------------


class _MomentFormField(forms.CharField):
    """An ISO 8601 date (the whole day) or date and time."""

    def clean(self, value: Any) -> date | datetime | None:
        text = (super().clean(value) or "").strip()
        if not text:
            return None
        moment: date | datetime | None = None
        # A date first: Python's ISO parser would read "2026-01-31" as its midnight.
        for parse in (parse_date, parse_datetime):
            try:
                moment = parse(text)
            except ValueError:
                moment = None
            if moment is not None:
                break
        if moment is None:
            raise forms.ValidationError(
                "Give an ISO 8601 date or date and time, such as 2026-01-31 or "
                "2026-01-31T09:00:00Z."
            )
        if isinstance(moment, datetime) and moment.tzinfo is not None:
            try:
                # The database compares in UTC: 9999-12-31T23:59-05:00 does not exist there.
                moment.astimezone(UTC)
            except OverflowError:
                raise forms.ValidationError(
                    "That moment is out of range: give one between the years 1 and 9999 in UTC."
                ) from None
        return moment


@extend_schema_field(OpenApiTypes.STR)
class MomentFilter(django_filters.Filter):
    field_class = _MomentFormField


class IncidentFilter(django_filters.FilterSet):
    """Validates the list's filters; the selector applies them."""

    severity = LowercaseChoiceFilter(choices=Severity.choices, help_text="Any case: sev1…sev4.")
    status = LowercaseChoiceFilter(choices=IncidentStatus.choices, help_text="Any case.")
    visibility = LowercaseChoiceFilter(choices=Visibility.choices, help_text="Any case.")
    team = django_filters.CharFilter(help_text="The owning team's slug.")
    service = django_filters.CharFilter(help_text="A service slug.")
    started_after = MomentFilter(
        help_text="Started at or after: an ISO 8601 date or date and time."
    )
    started_before = MomentFilter(
        help_text="Started at or before: an ISO 8601 date and time, or a date (the whole day)."
    )
    postmortem_state = LowercaseChoiceFilter(
        choices=[*PostmortemState.choices, ("none", "No postmortem yet")],
        help_text="The postmortem's state, or `none` for incidents without one.",
    )
    q = django_filters.CharFilter(help_text="Words in the title or summary, or an external id.")

    class Meta:
        model = Incident
        fields = [
            "severity",
            "status",
            "visibility",
            "team",
            "service",
            "started_after",
            "started_before",
            "postmortem_state",
            "q",
        ]


class PostmortemFilter(django_filters.FilterSet):
    state = LowercaseChoiceFilter(choices=PostmortemState.choices, help_text="Any case.")
    team = django_filters.CharFilter(help_text="The incident's owning team's slug.")
    incident = django_filters.NumberFilter(help_text="The incident's id.")

    class Meta:
        model = Postmortem
        fields = ["state", "team", "incident"]


class SchemaOnlyFilterBackend(DjangoFilterBackend):
    """Documents a FilterSet in the schema; the view applies it through the selectors."""

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        return queryset


def _cleaned(filterset_class: type[django_filters.FilterSet], request: Request) -> dict[str, Any]:
    filterset = filterset_class(
        data=request.query_params, queryset=filterset_class._meta.model.objects.none()
    )
    if not filterset.is_valid():
        raise exceptions.ValidationError(filterset.errors)
    return dict(filterset.form.cleaned_data)


def incident_filters_of(request: Request) -> tuple[IncidentFilters, str | None]:
    cleaned = _cleaned(IncidentFilter, request)
    after, before = cleaned.get("started_after"), cleaned.get("started_before")
    if after is not None and before is not None and _start_of(after) > _start_of(before):
        raise exceptions.ValidationError(
            {"started_before": ["started_before is earlier than started_after."]}
        )
    filters = IncidentFilters(
        severity=cleaned.get("severity") or None,
        status=cleaned.get("status") or None,
        team=(cleaned.get("team") or "").strip().lower() or None,
        service=(cleaned.get("service") or "").strip().lower() or None,
        started_from=after,
        started_to=before,
        postmortem_state=cleaned.get("postmortem_state") or None,
        q=cleaned.get("q") or "",
    )
    return filters, cleaned.get("visibility") or None


def _start_of(moment: date | datetime) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


# --- pagination --------------------------------------------------------------------------------


class IncidentPagination(CursorPagination):
    """Newest incidents first, as the selector orders them."""

    ordering = ("-started_at", "-id")  # type: ignore[assignment]  # DRF takes a tuple


class PostmortemPagination(CursorPagination):
    ordering = ("-updated_at", "-id")  # type: ignore[assignment]


class TimelinePagination(CursorPagination):
    page_size = 100
    ordering = ("occurred_at", "position", "id")  # type: ignore[assignment]


class PositionPagination(CursorPagination):
    page_size = 100
    ordering = ("position", "id")  # type: ignore[assignment]


class UsePagination(CursorPagination):
    page_size = 100
    ordering = ("used_at", "id")  # type: ignore[assignment]


class DuePagination(CursorPagination):
    page_size = 100
    ordering = ("due_date", "id")  # type: ignore[assignment]


class CreatedPagination(CursorPagination):
    page_size = 100
    ordering = ("created_at", "id")  # type: ignore[assignment]


class TemplatePagination(CursorPagination):
    ordering = ("slug", "-version")  # type: ignore[assignment]


# --- shared ------------------------------------------------------------------------------------


class _ApiViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    lookup_value_regex = ID
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def validated(
        self, serializer_class: type[serializers.Serializer], **kwargs: Any
    ) -> dict[str, Any]:
        serializer = serializer_class(
            data=self.request.data, context=self.get_serializer_context(), **kwargs
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def page(
        self,
        paginator_class: type[CursorPagination],
        queryset: QuerySet[Any],
        serializer_class: type[serializers.Serializer],
        *,
        prepare: Any = None,
    ) -> Response:
        paginator = paginator_class()
        rows = paginator.paginate_queryset(queryset, self.request, view=self) or []
        if prepare is not None:
            prepare(rows)
        data = serializer_class(rows, many=True, context=self.get_serializer_context()).data
        return paginator.get_paginated_response(data)


def _mark_visible_articles(rows: list[Any], user: Any) -> None:
    """Sets `visible_article` on each row: its article, or None when the user may not see it."""
    ids = {row.article_id for row in rows if row.article_id}
    visible = (
        set(
            Article.objects.filter(articles_visible_q(user), pk__in=ids).values_list(
                "pk", flat=True
            )
        )
        if ids
        else set()
    )
    for row in rows:
        row.visible_article = row.article if row.article_id in visible else None


def _mark_visible_repeats(rows: list[Incident], user: Any) -> None:
    """Sets `repeat_of_visible` on each row: False when it repeats an incident the user may
    not see (which then reads as null)."""
    earlier = {row.repeat_of_id for row in rows if row.repeat_of_id}
    visible = (
        set(
            Incident.objects.filter(incidents_visible_q(user), pk__in=earlier).values_list(
                "pk", flat=True
            )
        )
        if earlier
        else set()
    )
    for row in rows:
        row.repeat_of_visible = row.repeat_of_id is None or row.repeat_of_id in visible  # type: ignore[attr-defined]


def _created(response: Response, request: Request, location: str) -> Response:
    response.status_code = status.HTTP_201_CREATED
    response["Location"] = request.build_absolute_uri(location)
    return response


# --- incidents ---------------------------------------------------------------------------------


def _nested(
    method: str, summary: str, *, request: Any = None, responses: dict[Any, Any], **kwargs: Any
) -> Any:
    return extend_schema(
        methods=[method], summary=summary, request=request, responses=responses, **kwargs
    )


@extend_schema_view(
    list=extend_schema(
        summary="List incidents, newest first",
        parameters=[
            OpenApiParameter(
                "started_after",
                OpenApiTypes.STR,
                description="Started at or after: an ISO 8601 date or date and time "
                "(2026-01-31 or 2026-01-31T09:00:00Z).",
            ),
            OpenApiParameter(
                "started_before",
                OpenApiTypes.STR,
                description="Started at or before: an ISO 8601 date and time, or a date "
                "(the whole day).",
            ),
        ],
        responses={200: api.IncidentSerializer(many=True), **error_responses(400, 401, 404)},
    ),
    create=extend_schema(
        summary="Open an incident (responders)",
        request=api.IncidentCreateSerializer,
        examples=[examples.INCIDENT_CREATE],
        responses={201: api.IncidentSerializer, **error_responses(400, 401, 403, 413, 415)},
    ),
    retrieve=extend_schema(
        summary="Read an incident",
        parameters=[IF_NONE_MATCH],
        responses={
            200: api.IncidentSerializer,
            304: OpenApiResponse(description="Not modified: your `ETag` is current."),
            **READ_ERRORS,
        },
    ),
    partial_update=extend_schema(
        summary="Change an incident: fields, status (open → mitigated → resolved → closed), "
        "repeat_of",
        request=api.IncidentUpdateSerializer,
        examples=[examples.INCIDENT_RESOLVE],
        parameters=[IF_MATCH],
        responses={200: api.IncidentSerializer, **WRITE_ERRORS},
    ),
)
class IncidentViewSet(mixins.ListModelMixin, _ApiViewSet):
    serializer_class = api.IncidentSerializer
    pagination_class = IncidentPagination
    filter_backends = [SchemaOnlyFilterBackend]
    filterset_class = IncidentFilter
    queryset = Incident.objects.none()  # every read goes through the selectors
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_incident(self) -> Incident:
        return selectors.incident_get_for_user(pk=int(self.kwargs["pk"]), user=self.request.user)

    def answer(self, incident: Incident, *, status_code: int = 200) -> Response:
        """The whole incident as it is now, with its ETag."""
        try:
            current = selectors.incident_get_for_user(pk=incident.pk, user=self.request.user)
        except Http404:  # the change took it out of this person's sight
            current = incident
        body = api.IncidentSerializer(current, context=self.get_serializer_context()).data
        return with_etag(Response(body, status=status_code), version=current.version)

    # --- collection ---

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        filters, visibility = incident_filters_of(request)
        incidents = selectors.incident_list_for_user(user=request.user, filters=filters)
        if visibility:
            incidents = incidents.filter(visibility=visibility)
        # Joins are what this query's planning time grows with (at 100k incidents, planning
        # outweighs execution): people come by a prefetch, and the earlier incidents' visibility
        # by one query for the page.
        incidents = incidents.prefetch_related("created_by", "responders").defer(
            "postmortem__sections", "postmortem__sections_html"
        )
        user = request.user
        return self.page(
            IncidentPagination,
            incidents,
            api.IncidentSerializer,
            prepare=lambda rows: _mark_visible_repeats(rows, user),
        )

    def create(self, request: Request) -> Response:
        if not can_create_incident(request.user):
            raise NotAllowed("Only responders can open incidents.")
        values = self.validated(api.IncidentCreateSerializer)
        incident = services.incident_create(user=request.user, **api.incident_changes(values))
        return _created(
            self.answer(incident),
            request,
            reverse("incident-detail", kwargs={"pk": incident.pk}),
        )

    # --- one incident ---

    def retrieve(self, request: Request, pk: str) -> Response:
        incident = self.get_incident()
        if is_not_modified(request, version=incident.version):
            return not_modified(version=incident.version)
        body = api.IncidentSerializer(incident, context=self.get_serializer_context()).data
        return with_etag(Response(body), version=incident.version)

    def partial_update(self, request: Request, pk: str) -> Response:
        incident = self.get_incident()
        version = expected_version(request)
        values = self.validated(api.IncidentUpdateSerializer, partial=True)
        incident = services.incident_update(
            incident=incident,
            user=request.user,
            expected_version=version,
            **api.incident_changes(values),
        )
        return self.answer(incident)

    @extend_schema(
        summary="Earlier incidents that look like this one",
        description="Ranked suggestions of what this incident may repeat, each with the reason: "
        "the repeat rule (same root-cause category and a shared service, started in the 180 "
        "days before) and/or similar words. Rejected pairs and its own `repeat_of` are left "
        "out, and so are restricted incidents the caller may not see.",
        responses={200: api.SimilarIncidentSerializer(many=True), **READ_ERRORS},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def similar(self, request: Request, pk: str) -> Response:
        incident = self.get_incident()
        suggestions = incident_similar_for_user(incident=incident, user=request.user)
        return Response(api.SimilarIncidentSerializer(suggestions, many=True).data)

    @extend_schema(
        summary="Say this incident does not repeat an earlier one",
        description="The pair is never suggested again nor counted as a repeat; `repeat_of` is "
        "cleared when it pointed there.",
        request=api.RejectRepeatSerializer,
        parameters=[IF_MATCH],
        responses={200: api.IncidentSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="reject-repeat")
    def reject_repeat(self, request: Request, pk: str) -> Response:
        incident = self.get_incident()
        version = expected_version(request)
        values = self.validated(api.RejectRepeatSerializer)
        if version != incident.version:
            raise StaleVersion(
                f"Someone saved version {incident.version} of this incident after your version "
                f"{version}; review their changes and try again.",
                current=incident,
            )
        services.incident_reject_repeat(
            incident=incident, user=request.user, earlier=values["incident"]
        )
        return self.answer(incident)

    # --- timeline ---

    @_nested(
        "GET",
        "The incident's timeline, in time order",
        responses={200: page_of(api.TimelineEntrySerializer), **READ_ERRORS},
        operation_id="v1_incidents_timeline_list",
        filters=False,
    )
    @_nested(
        "POST",
        "Add a timeline entry",
        request=api.TimelineEntryWriteSerializer,
        examples=[examples.TIMELINE_ENTRY],
        responses={201: api.TimelineEntrySerializer, **NESTED_WRITE_ERRORS},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def timeline(self, request: Request, pk: str) -> Response:
        incident = self.get_incident()
        if request.method == "POST":
            values = self.validated(api.TimelineEntryWriteSerializer)
            entry = services.timeline_add(incident=incident, user=request.user, **values)
            entry = TimelineEntry.objects.select_related("author").get(pk=entry.pk)
            return Response(api.TimelineEntrySerializer(entry).data, status=201)
        entries = TimelineEntry.objects.filter(incident=incident).select_related("author")
        return self.page(TimelinePagination, entries, api.TimelineEntrySerializer)

    @_nested(
        "PATCH",
        "Change a timeline entry",
        request=api.TimelineEntryWriteSerializer,
        responses={200: api.TimelineEntrySerializer, **NESTED_WRITE_ERRORS},
        parameters=[_path_id("entry_id", "timeline entry")],
    )
    @_nested(
        "DELETE",
        "Remove a timeline entry",
        responses={204: None, **error_responses(401, 403, 404)},
        parameters=[_path_id("entry_id", "timeline entry")],
    )
    @action(
        detail=True,
        methods=["patch", "delete"],
        url_path=rf"timeline/(?P<entry_id>{ID})",
        pagination_class=None,
        filter_backends=[],
    )
    def timeline_entry(self, request: Request, pk: str, entry_id: str) -> Response:
        incident = self.get_incident()
        entry = (
            TimelineEntry.objects.filter(incident=incident, pk=int(entry_id))
            .select_related("author")
            .first()
        )
        if entry is None:
            raise Http404("No such timeline entry.")
        entry.incident = incident
        if request.method == "DELETE":
            services.timeline_delete(entry=entry, user=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        values = self.validated(api.TimelineEntryWriteSerializer, partial=True)
        entry = services.timeline_update(entry=entry, user=request.user, **values)
        entry = TimelineEntry.objects.select_related("author").get(pk=entry.pk)
        return Response(api.TimelineEntrySerializer(entry).data)

    # --- knowledge used during the response ---

    @_nested(
        "GET",
        "Articles used during the incident's response",
        responses={200: page_of(api.ArticleUseSerializer), **READ_ERRORS},
        operation_id="v1_incidents_article_uses_list",
        filters=False,
    )
    @_nested(
        "POST",
        "Record an article used during the response (one record per article: a second "
        "POST updates it)",
        request=api.ArticleUseWriteSerializer,
        examples=[examples.ARTICLE_USE],
        responses={
            201: api.ArticleUseSerializer,
            200: OpenApiResponse(api.ArticleUseSerializer, description="Updated."),
            **NESTED_WRITE_ERRORS,
        },
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="article-uses",
        pagination_class=None,
        filter_backends=[],
    )
    def article_uses(self, request: Request, pk: str) -> Response:
        incident = self.get_incident()
        if request.method == "POST":
            values = self.validated(api.ArticleUseWriteSerializer)
            existed = ArticleUse.objects.filter(
                incident=incident, article=values["article"]
            ).exists()
            use = services.article_use_record(incident=incident, user=request.user, **values)
            use = ArticleUse.objects.select_related("article", "user").get(pk=use.pk)
            _mark_visible_articles([use], request.user)
            return Response(
                api.ArticleUseSerializer(use).data,
                status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
            )
        uses = ArticleUse.objects.filter(incident=incident).select_related("article", "user")
        return self.page(
            UsePagination,
            uses,
            api.ArticleUseSerializer,
            prepare=lambda rows: _mark_visible_articles(rows, request.user),
        )


# --- postmortems -------------------------------------------------------------------------------


def _postmortem_action(
    summary: str, request: type[serializers.Serializer], *, example: Any = None
) -> Any:
    return extend_schema(
        summary=summary,
        request=request,
        examples=[example] if example else None,
        parameters=[IF_MATCH],
        responses={200: api.PostmortemDetailSerializer, **WRITE_ERRORS},
    )


@extend_schema_view(
    list=extend_schema(
        summary="List postmortems, most recently changed first",
        responses={200: api.PostmortemSerializer(many=True), **error_responses(400, 401, 404)},
    ),
    create=extend_schema(
        summary="Start an incident's postmortem",
        description="One per incident: 409 if it already has one. `template` defaults to the "
        "severity's template.",
        request=api.PostmortemCreateSerializer,
        examples=[examples.POSTMORTEM_CREATE],
        responses={
            201: api.PostmortemDetailSerializer,
            **error_responses(400, 401, 403, 409, 413, 415),
        },
    ),
    retrieve=extend_schema(
        summary="Read a postmortem with its findings, action items and publish gate",
        parameters=[IF_NONE_MATCH],
        responses={
            200: api.PostmortemDetailSerializer,
            304: OpenApiResponse(description="Not modified: your `ETag` is current."),
            **READ_ERRORS,
        },
    ),
    partial_update=extend_schema(
        summary="Save sections (only those sent change; concurrent saves of other sections merge)",
        request=api.PostmortemUpdateSerializer,
        examples=[examples.POSTMORTEM_SECTIONS],
        parameters=[IF_MATCH],
        responses={200: api.PostmortemDetailSerializer, **WRITE_ERRORS},
    ),
)
class PostmortemViewSet(mixins.ListModelMixin, _ApiViewSet):
    serializer_class = api.PostmortemDetailSerializer
    pagination_class = PostmortemPagination
    filter_backends = [SchemaOnlyFilterBackend]
    filterset_class = PostmortemFilter
    queryset = Postmortem.objects.none()  # every read goes through the selectors

    def get_postmortem(self) -> Postmortem:
        return selectors.postmortem_get_for_user(pk=int(self.kwargs["pk"]), user=self.request.user)

    def detail_body(self, postmortem: Postmortem) -> Any:
        page = selectors.postmortem_page_data(postmortem=postmortem, user=self.request.user)
        prefetch_related_objects(page.action_items, "created_by")
        context = {**self.get_serializer_context(), "page": page, "warnings": page.warnings}
        return api.PostmortemDetailSerializer(postmortem, context=context).data

    def answer(self, postmortem: Postmortem, *, status_code: int = 200) -> Response:
        current = selectors.postmortem_get_for_user(pk=postmortem.pk, user=self.request.user)
        response = Response(self.detail_body(current), status=status_code)
        return with_etag(response, version=current.version)

    # --- collection ---

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        cleaned = _cleaned(PostmortemFilter, request)
        postmortems = Postmortem.objects.filter(
            incidents_visible_q(request.user, prefix="incident__")
        ).select_related("incident", "template", "created_by")
        if cleaned.get("state"):
            postmortems = postmortems.filter(state=cleaned["state"])
        if cleaned.get("team"):
            postmortems = postmortems.filter(incident__team__slug=cleaned["team"].strip().lower())
        if cleaned.get("incident") is not None:
            postmortems = postmortems.filter(incident_id=cleaned["incident"])
        return self.page(PostmortemPagination, postmortems, api.PostmortemSerializer)

    def create(self, request: Request) -> Response:
        values = self.validated(api.PostmortemCreateSerializer)
        postmortem = services.postmortem_start(
            incident=values["incident"], user=request.user, template=values.get("template")
        )
        return _created(
            self.answer(postmortem),
            request,
            reverse("postmortem-detail", kwargs={"pk": postmortem.pk}),
        )

    # --- one postmortem ---

    def retrieve(self, request: Request, pk: str) -> Response:
        postmortem = self.get_postmortem()
        if is_not_modified(request, version=postmortem.version):
            return not_modified(version=postmortem.version)
        return with_etag(Response(self.detail_body(postmortem)), version=postmortem.version)

    def partial_update(self, request: Request, pk: str) -> Response:
        postmortem = self.get_postmortem()
        version = expected_version(request)
        values = self.validated(api.PostmortemUpdateSerializer)
        postmortem = services.postmortem_save_sections(
            postmortem=postmortem,
            user=request.user,
            sections=values["sections"],
            expected_version=version,
            change_note=values.get("change_note", ""),
        )
        return self.answer(postmortem)

    # --- state changes ---

    def _transition(self, serializer_class: type[serializers.Serializer], service: Any) -> Response:
        postmortem = self.get_postmortem()
        version = expected_version(self.request)
        values = self.validated(serializer_class)
        values.pop("version", None)
        postmortem = service(
            postmortem=postmortem, user=self.request.user, expected_version=version, **values
        )
        return self.answer(postmortem)

    @_postmortem_action("Submit for review (authors)", api.PostmortemActionSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        return self._transition(api.PostmortemActionSerializer, services.postmortem_submit)

    @_postmortem_action(
        "Send back to the authors with what to change (reviewers)",
        api.PostmortemRequestChangesSerializer,
    )
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request: Request, pk: str) -> Response:
        return self._transition(
            api.PostmortemRequestChangesSerializer, services.postmortem_request_changes
        )

    @_postmortem_action(
        "Approve (reviewers who are not its authors; an author is refused with 403)",
        api.PostmortemApproveSerializer,
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._transition(api.PostmortemApproveSerializer, services.postmortem_approve)

    @_postmortem_action(
        "Publish an approved postmortem, and the articles its findings spawned (409 lists "
        "every reason it cannot be published yet)",
        api.PostmortemPublishSerializer,
        example=examples.PUBLISH,
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str) -> Response:
        return self._transition(api.PostmortemPublishSerializer, services.postmortem_publish)

    # --- findings ---

    @_nested(
        "GET",
        "The postmortem's findings, in order",
        responses={200: page_of(api.FindingSerializer), **READ_ERRORS},
        operation_id="v1_postmortems_findings_list",
        filters=False,
    )
    @_nested(
        "POST",
        "Record a finding, with at most one outcome: `article`, `spawn_article` or "
        "`no_article_reason`",
        request=api.FindingWriteSerializer,
        examples=[examples.FINDING_SPAWN],
        responses={201: api.FindingSerializer, **NESTED_WRITE_ERRORS},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def findings(self, request: Request, pk: str) -> Response:
        postmortem = self.get_postmortem()
        if request.method == "POST":
            values = self.validated(api.FindingWriteSerializer)
            finding = services.finding_add(postmortem=postmortem, user=request.user, **values)
            return Response(self._finding_body(finding), status=status.HTTP_201_CREATED)
        findings = Finding.objects.filter(postmortem=postmortem).select_related(
            "article", "created_by"
        )
        return self.page(
            PositionPagination,
            findings,
            api.FindingSerializer,
            prepare=lambda rows: _mark_visible_articles(rows, request.user),
        )

    def _finding_body(self, finding: Finding) -> Any:
        finding = Finding.objects.select_related("article", "created_by").get(pk=finding.pk)
        _mark_visible_articles([finding], self.request.user)
        return api.FindingSerializer(finding).data

    @_nested(
        "PATCH",
        "Change a finding's text, kind or outcome",
        request=api.FindingUpdateSerializer,
        responses={200: api.FindingSerializer, **NESTED_WRITE_ERRORS},
        parameters=[_path_id("finding_id", "finding")],
    )
    @_nested(
        "DELETE",
        "Remove a finding (an article it spawned stays)",
        responses={204: None, **error_responses(401, 403, 404, 409)},
        parameters=[_path_id("finding_id", "finding")],
    )
    @action(
        detail=True,
        methods=["patch", "delete"],
        url_path=rf"findings/(?P<finding_id>{ID})",
        pagination_class=None,
        filter_backends=[],
    )
    def finding(self, request: Request, pk: str, finding_id: str) -> Response:
        postmortem = self.get_postmortem()
        finding = Finding.objects.filter(postmortem=postmortem, pk=int(finding_id)).first()
        if finding is None:
            raise Http404("No such finding.")
        finding.postmortem = postmortem
        if request.method == "DELETE":
            services.finding_delete(finding=finding, user=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        values = self.validated(api.FindingUpdateSerializer, partial=True)
        finding = services.finding_update(finding=finding, user=request.user, **values)
        return Response(self._finding_body(finding))

    # --- action items ---

    @_nested(
        "GET",
        "The postmortem's action items, soonest due first",
        responses={200: page_of(api.ActionItemSerializer), **READ_ERRORS},
        operation_id="v1_postmortems_action_items_list",
        filters=False,
    )
    @_nested(
        "POST",
        "Add an action item",
        request=api.ActionItemWriteSerializer,
        examples=[examples.ACTION_ITEM],
        responses={201: api.ActionItemSerializer, **NESTED_WRITE_ERRORS},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="action-items",
        pagination_class=None,
        filter_backends=[],
    )
    def action_items(self, request: Request, pk: str) -> Response:
        postmortem = self.get_postmortem()
        if request.method == "POST":
            return self._action_item_add(postmortem)
        items = ActionItem.objects.filter(postmortem=postmortem).select_related(
            "owner", "team", "created_by"
        )
        return self.page(DuePagination, items, api.ActionItemSerializer)

    def _action_item_add(self, postmortem: Postmortem) -> Response:
        values = self.validated(api.ActionItemWriteSerializer)
        later = {name: values.pop(name) for name in ("status", "status_reason") if name in values}
        if values.get("due_date") is None:
            values.pop("due_date", None)
        if values.get("team") is None:
            values.pop("team", None)
        # A status other than open is a change of the new item: both happen, or neither.
        with transaction.atomic():
            item = services.action_item_add(postmortem=postmortem, user=self.request.user, **values)
            if later and later.get("status", ActionItem.Status.OPEN) != ActionItem.Status.OPEN:
                item.postmortem = postmortem
                item = services.action_item_update(
                    item=item, user=self.request.user, expected_version=item.version, **later
                )
        return self._item_response(item, status_code=status.HTTP_201_CREATED)

    def _item_response(self, item: ActionItem, *, status_code: int = 200) -> Response:
        item = ActionItem.objects.select_related("owner", "team", "created_by").get(pk=item.pk)
        response = Response(api.ActionItemSerializer(item).data, status=status_code)
        return with_etag(response, version=item.version)

    @_nested(
        "PATCH",
        "Change an action item (wont_do needs a status_reason)",
        request=api.ActionItemUpdateSerializer,
        responses={200: api.ActionItemSerializer, **WRITE_ERRORS},
        parameters=[_path_id("item_id", "action item"), IF_MATCH],
    )
    @action(
        detail=True,
        methods=["patch"],
        url_path=rf"action-items/(?P<item_id>{ID})",
        pagination_class=None,
        filter_backends=[],
    )
    def action_item(self, request: Request, pk: str, item_id: str) -> Response:
        postmortem = self.get_postmortem()
        item = ActionItem.objects.filter(postmortem=postmortem, pk=int(item_id)).first()
        if item is None:
            raise Http404("No such action item.")
        item.postmortem = postmortem
        version = expected_version(request)
        values = self.validated(api.ActionItemUpdateSerializer, partial=True)
        values.pop("version", None)
        item = services.action_item_update(
            item=item, user=request.user, expected_version=version, **values
        )
        return self._item_response(item)

    # --- comments ---

    @_nested(
        "GET",
        "Comments on the postmortem's sections, oldest first",
        responses={200: page_of(api.SectionCommentSerializer), **READ_ERRORS},
        operation_id="v1_postmortems_comments_list",
        filters=False,
    )
    @_nested(
        "POST",
        "Comment on a section (authors and reviewers)",
        request=api.SectionCommentWriteSerializer,
        responses={201: api.SectionCommentSerializer, **NESTED_WRITE_ERRORS},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def comments(self, request: Request, pk: str) -> Response:
        postmortem = self.get_postmortem()
        if request.method == "POST":
            values = self.validated(api.SectionCommentWriteSerializer)
            comment = services.section_comment_add(
                postmortem=postmortem, user=request.user, **values
            )
            comment = SectionComment.objects.select_related("author").get(pk=comment.pk)
            return Response(
                api.SectionCommentSerializer(comment).data, status=status.HTTP_201_CREATED
            )
        comments = SectionComment.objects.filter(postmortem=postmortem).select_related("author")
        return self.page(CreatedPagination, comments, api.SectionCommentSerializer)


# --- templates ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Postmortem templates (current versions) with their sections",
        responses={200: api.PostmortemTemplateSerializer(many=True), **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="A postmortem template's current version",
        responses={200: api.PostmortemTemplateSerializer, **READ_ERRORS},
    ),
)
class PostmortemTemplateViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAuthenticated]
    serializer_class = api.PostmortemTemplateSerializer
    pagination_class = TemplatePagination
    filter_backends: list[Any] = []
    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]{1,100}"
    queryset = PostmortemTemplate.objects.filter(is_current=True).prefetch_related("sections")
