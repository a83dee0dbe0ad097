"""Read-only catalog endpoints: teams, services, tags. Operators change the catalog in the admin."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from kbsite.models import Service, Tag, Team

# Slugs are letters, digits, hyphens and underscores: any other address is a 404 at the router
# and never reaches a query (PostgreSQL refuses NUL characters in text with an error).
SLUG_PATTERN = r"[-\w]+"


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "slug", "description"]


class ServiceSerializer(serializers.ModelSerializer):
    team: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Service
        fields = ["id", "name", "slug", "team", "description"]


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "slug"]


class TeamFilter(django_filters.FilterSet):
    slug = django_filters.CharFilter(help_text="Only the team with this slug.")

    class Meta:
        model = Team
        fields = ["slug"]


class ServiceFilter(django_filters.FilterSet):
    team__slug = django_filters.CharFilter(
        field_name="team__slug", help_text="Only the services of the team with this slug."
    )

    class Meta:
        model = Service
        fields = ["team__slug"]


@extend_schema_view(
    list=extend_schema(summary="List teams"),
    retrieve=extend_schema(summary="Read a team"),
)
class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    filterset_class = TeamFilter


@extend_schema_view(
    list=extend_schema(summary="List services, with their owning team"),
    retrieve=extend_schema(summary="Read a service"),
)
class ServiceViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Service.objects.select_related("team")
    serializer_class = ServiceSerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    filterset_class = ServiceFilter


@extend_schema_view(
    list=extend_schema(summary="List tags"),
    retrieve=extend_schema(summary="Read a tag"),
)
class TagViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
