"""/api/v1/articles/: thin views over the knowledge services and selectors.

Each view fetches through a selector (404 when absent or not visible), validates the shape with
an input serializer, calls one service, and answers the whole article with its `ETag`. Order of
refusals: 404, then 428 (no version), then 400 (bad input), then what the service decides
(403, 409, 412).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import django_filters
from django.db.models import prefetch_related_objects
from django.http import Http404
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from kbsite.api.openapi import IF_MATCH, IF_NONE_MATCH, error_responses, page_of
from kbsite.api.pagination import CursorPagination
from kbsite.api.parsers import JSONParser
from kbsite.api.versioning import expected_version, is_not_modified, not_modified, with_etag
from knowledge import selectors, services
from knowledge.api import examples
from knowledge.api import serializers as api
from knowledge.models import CONTENT_FIELDS, Article, ArticleState, KnowledgeType
from knowledge.permissions import can_review
from knowledge.search import MAX_OFFSET, SearchFilters

# --- filters -----------------------------------------------------------------------------------


class _LowercaseChoiceFormField(django_filters.fields.ChoiceField):
    def clean(self, value: Any) -> Any:
        return super().clean(value.strip().lower() if isinstance(value, str) else value)


class LowercaseChoiceFilter(django_filters.ChoiceFilter):
    field_class = _LowercaseChoiceFormField


class ArticleFilter(django_filters.FilterSet):
    """Validates the list's filters; the selectors apply them (search needs them too)."""

    knowledge_type = LowercaseChoiceFilter(
        choices=KnowledgeType.choices, help_text="Any case: `technical` or `TECHNICAL`."
    )
    state = LowercaseChoiceFilter(
        choices=ArticleState.choices,
        help_text="Any case. Without it: every state you may see except archived.",
    )
    service = django_filters.CharFilter(field_name="services__slug", help_text="A service slug.")
    tag = django_filters.CharFilter(field_name="tags__slug", help_text="A tag slug.")
    team = django_filters.CharFilter(field_name="team__slug", help_text="A team slug.")

    class Meta:
        model = Article
        fields = ["knowledge_type", "state", "service", "tag", "team"]


def search_filters_of(request: Request) -> SearchFilters:
    filterset = ArticleFilter(data=request.query_params, queryset=Article.objects.none())
    if not filterset.is_valid():
        raise exceptions.ValidationError(filterset.errors)
    cleaned = filterset.form.cleaned_data
    slugs = {
        name: (cleaned.get(name) or "").strip().lower() or None
        for name in ("service", "tag", "team")
    }
    return SearchFilters(
        knowledge_type=cleaned.get("knowledge_type") or None,
        state=cleaned.get("state") or None,
        **slugs,
    )


class ArticleFilterBackend(DjangoFilterBackend):
    """Documents ArticleFilter in the schema; the list applies it through the selectors."""

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        return queryset


# --- pagination --------------------------------------------------------------------------------


class ArticleCursorPagination(CursorPagination):
    """Newest changes first; with `?q=` the view pages by offset instead (ranked order)."""

    ordering = ("-updated_at", "-id")  # type: ignore[assignment]  # DRF takes a tuple

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["message"] = {
            "type": "string",
            "description": "With `q` only: notes on the search, such as why it found nothing.",
        }
        return paginated


def _search_page_response(
    request: Request,
    *,
    page_size: int,
    offset: int,
    has_more: bool,
    results: list[Any],
    message: str,
) -> Response:
    url = request.build_absolute_uri()
    next_url = previous_url = None
    if has_more and offset + page_size <= MAX_OFFSET:
        next_url = replace_query_param(url, "offset", offset + page_size)
    if offset > 0:
        before = max(0, offset - page_size)
        previous_url = (
            replace_query_param(url, "offset", before)
            if before
            else remove_query_param(url, "offset")
        )
    return Response(
        {"next": next_url, "previous": previous_url, "results": results, "message": message}
    )


def _offset_of(request: Request) -> int:
    raw = request.query_params.get("offset", "0").strip() or "0"
    if not raw.isdigit() or int(raw) > MAX_OFFSET:
        raise exceptions.ValidationError(
            {"offset": [f"Send a whole number from 0 to {MAX_OFFSET}."]}
        )
    return int(raw)


# --- schema pieces -----------------------------------------------------------------------------

SEARCH_PARAMETERS = [
    OpenApiParameter(
        "q",
        OpenApiTypes.STR,
        description='Ranked search in plain words (best first; `"phrases"` and `-word` work). '
        "With it, pages go by `offset` instead of `cursor`.",
    ),
    OpenApiParameter(
        "offset",
        OpenApiTypes.INT,
        description=f"With `q` only: how many results to skip (0 to {MAX_OFFSET}).",
    ),
]

WRITE_ERRORS = error_responses(400, 401, 403, 404, 409, 412, 413, 415, 428)


def _action_schema(
    summary: str, request: type[serializers.Serializer], *, example: Any = None
) -> Any:
    return extend_schema(
        summary=summary,
        request=request,
        examples=[example] if example else None,
        parameters=[IF_MATCH],
        responses={200: api.ArticleSerializer, **WRITE_ERRORS},
    )


# --- views -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List or search articles",
        parameters=SEARCH_PARAMETERS,
        responses={
            200: api.ArticleListItemSerializer(many=True),
            **error_responses(400, 401, 404),
        },
    ),
    create=extend_schema(
        summary="Create a draft article",
        request=api.ArticleCreateSerializer,
        examples=[examples.ARTICLE_CREATE],
        responses={201: api.ArticleSerializer, **error_responses(400, 401, 413, 415)},
    ),
    retrieve=extend_schema(
        summary="Read an article",
        parameters=[IF_NONE_MATCH],
        responses={
            200: api.ArticleSerializer,
            304: OpenApiResponse(description="Not modified: your `ETag` is current."),
            **error_responses(401, 404),
        },
    ),
    update=extend_schema(
        summary="Replace an article's content",
        request=api.ArticleUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: api.ArticleSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some of an article's content",
        request=api.ArticleUpdateSerializer,
        examples=[examples.ARTICLE_CHANGE],
        parameters=[IF_MATCH],
        responses={200: api.ArticleSerializer, **WRITE_ERRORS},
    ),
)
class ArticleViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    serializer_class = api.ArticleSerializer
    pagination_class = ArticleCursorPagination
    filter_backends = [ArticleFilterBackend]
    filterset_class = ArticleFilter
    lookup_value_regex = "[0-9]{1,18}"
    queryset = Article.objects.none()  # every read goes through the selectors
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    # --- helpers ---

    def get_article(self) -> Article:
        return selectors.article_get_for_user(pk=int(self.kwargs["pk"]), user=self.request.user)

    def answer(self, article: Article, *, status_code: int = 200) -> Response:
        """The whole article as it is now, with its ETag."""
        try:
            current = selectors.article_get_for_user(pk=article.pk, user=self.request.user)
        except Http404:  # the change took it out of this person's sight: answer what they did
            current = article
            prefetch_related_objects([current], "services", "tags")
        body = api.ArticleSerializer(current, context=self.get_serializer_context()).data
        return with_etag(Response(body, status=status_code), version=current.version)

    def validated(self, serializer_class: type[serializers.Serializer], **kwargs: Any) -> Any:
        serializer = serializer_class(data=self.request.data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    # --- collection ---

    def list(self, request: Request) -> Response:
        filters = search_filters_of(request)
        query = request.query_params.get("q", "").strip()
        if query:
            return self._search(request, query=query, filters=filters)
        queryset = selectors.article_list_for_user(user=request.user, filters=filters)
        page = self.paginate_queryset(queryset)
        data = api.ArticleListItemSerializer(
            page, many=True, context=self.get_serializer_context()
        ).data
        return self.get_paginated_response(data)

    def _search(self, request: Request, *, query: str, filters: SearchFilters) -> Response:
        paginator = ArticleCursorPagination()
        page_size = paginator.get_page_size(request) or paginator.page_size
        offset = _offset_of(request)
        result = selectors.article_search(
            query=query,
            user=request.user,
            filters=filters,
            limit=page_size,
            offset=offset,
            record_gap=offset == 0,
        )
        articles = [hit.article for hit in result.hits]
        context = {
            **self.get_serializer_context(),
            "hits": {hit.article.pk: hit for hit in result.hits},
        }
        data = api.ArticleListItemSerializer(articles, many=True, context=context).data
        return _search_page_response(
            request,
            page_size=page_size,
            offset=offset,
            has_more=result.has_more,
            results=list(data),
            message=result.message,
        )

    def create(self, request: Request) -> Response:
        values = self.validated(api.ArticleCreateSerializer)
        article = services.article_create(
            author=request.user,
            content=_content(values),
            change_note=values.get("change_note", ""),
        )
        response = self.answer(article, status_code=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(
            reverse("article-detail", kwargs={"pk": article.pk})
        )
        return response

    # --- one article ---

    def retrieve(self, request: Request, pk: str) -> Response:
        article = self.get_article()
        if is_not_modified(request, version=article.version):
            return not_modified(version=article.version)
        body = api.ArticleSerializer(article, context=self.get_serializer_context()).data
        return with_etag(Response(body), version=article.version)

    def update(self, request: Request, pk: str) -> Response:
        return self._save(request, partial=False)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self._save(request, partial=True)

    def _save(self, request: Request, *, partial: bool) -> Response:
        article = self.get_article()
        version = expected_version(request)
        values = self.validated(api.ArticleUpdateSerializer, partial=partial)
        base = services.article_content_of(article) if partial else None
        article = services.article_update(
            article=article,
            editor=request.user,
            content=_content(values, base=base),
            expected_version=version,
            change_note=values.get("change_note", ""),
        )
        return self.answer(article)

    # --- state changes ---

    def _transition(
        self, serializer_class: type[serializers.Serializer], service: Any, **extra: Any
    ) -> Response:
        article = self.get_article()
        version = expected_version(self.request)
        values = self.validated(serializer_class)
        if "comment" in values:
            extra["comment"] = values["comment"]
        article = service(
            article=article, user=self.request.user, expected_version=version, **extra
        )
        return self.answer(article)

    @_action_schema("Submit a draft for review", api.VersionedActionSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        return self._transition(api.VersionedActionSerializer, services.article_submit)

    @_action_schema("Publish an article in review", api.CommentedActionSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str) -> Response:
        return self._transition(api.CommentedActionSerializer, services.article_publish)

    @_action_schema(
        "Send an article in review back to its author",
        api.RequestChangesSerializer,
        example=examples.REQUEST_CHANGES,
    )
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request: Request, pk: str) -> Response:
        return self._transition(api.RequestChangesSerializer, services.article_request_changes)

    @_action_schema("Archive an article", api.CommentedActionSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str) -> Response:
        return self._transition(api.CommentedActionSerializer, services.article_archive)

    @_action_schema("Restore an archived article to a draft", api.VersionedActionSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        return self._transition(api.VersionedActionSerializer, services.article_restore)

    @_action_schema("Confirm a published article is still accurate", api.VersionedActionSerializer)
    @action(detail=True, methods=["post"], url_path="mark-reviewed")
    def mark_reviewed(self, request: Request, pk: str) -> Response:
        return self._transition(api.VersionedActionSerializer, services.article_mark_reviewed)

    # --- history and feedback ---

    @extend_schema(
        summary="An article's revisions, newest first",
        operation_id="v1_articles_revisions_list",
        responses={200: page_of(api.RevisionSerializer), **error_responses(401, 404)},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def revisions(self, request: Request, pk: str) -> Response:
        article = self.get_article()
        paginator = RevisionPagination()
        page = paginator.paginate_queryset(
            selectors.article_revisions(article=article), request, view=self
        )
        data = api.RevisionSerializer(page, many=True).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        methods=["GET"],
        summary="Feedback on an article, newest first",
        operation_id="v1_articles_feedback_list",
        responses={200: page_of(api.FeedbackSerializer), **error_responses(401, 404)},
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        summary="Mark an article helpful or not, or flag it outdated (with a comment)",
        request=api.FeedbackWriteSerializer,
        examples=[examples.FEEDBACK],
        responses={
            201: api.FeedbackSerializer,
            **error_responses(400, 401, 404, 409, 413, 415),
        },
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def feedback(self, request: Request, pk: str) -> Response:
        article = self.get_article()
        if request.method == "POST":
            values = self.validated(api.FeedbackWriteSerializer)
            feedback = services.feedback_give(
                article=article, user=request.user, kind=values["kind"], comment=values["comment"]
            )
            return Response(api.FeedbackSerializer(feedback).data, status=status.HTTP_201_CREATED)
        paginator = FeedbackPagination()
        queryset = article.feedback.select_related("user")
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(api.FeedbackSerializer(page, many=True).data)


class RevisionPagination(CursorPagination):
    ordering = "-number"


class FeedbackPagination(CursorPagination):
    ordering = ("-created_at", "-id")  # type: ignore[assignment]  # DRF takes a tuple


class SearchGapListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Knowledge gaps: searches that found nothing, most frequent first",
        description="For editors and reviewers: failed searches are a signal of missing knowledge. "
        "One page of the most frequent gaps, up to `page_size` (`next` is always null).",
        operation_id="v1_knowledge_gaps_list",
        parameters=[OpenApiParameter("page_size", OpenApiTypes.INT, description="Up to 100.")],
        responses={200: page_of(api.SearchGapSerializer), **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        if not can_review(request.user):
            raise exceptions.PermissionDenied("Only editors and reviewers see knowledge gaps.")
        paginator = CursorPagination()
        size = paginator.get_page_size(request) or paginator.page_size
        data = api.SearchGapSerializer(selectors.search_gaps(limit=size), many=True).data
        return Response({"next": None, "previous": None, "results": data})


def _content(values: dict[str, Any], *, base: services.ArticleContent | None = None) -> Any:
    """The service's content value from validated input: absent fields keep `base`'s value
    (PATCH) or are empty (create, PUT)."""
    changes = {
        name: values[name]
        for name in ("title", "knowledge_type", *CONTENT_FIELDS, "team", "services")
        if name in values
    }
    if "tags" in values:
        changes["tag_names"] = tuple(values["tags"])
    if "services" in changes:
        changes["services"] = tuple(changes["services"])
    if base is None:
        return services.ArticleContent(**changes)
    return replace(base, **changes)
