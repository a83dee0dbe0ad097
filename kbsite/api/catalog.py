"""Read-only catalog endpoints: teams, services, tags. Operators change the catalog in the admin."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from kbsite.models import Service, Tag, Team


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


class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    lookup_field = "slug"
    filterset_fields = ["slug"]


class ServiceViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Service.objects.select_related("team")
    serializer_class = ServiceSerializer
    lookup_field = "slug"
    filterset_fields = {"team__slug": ["exact"]}


class TagViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    lookup_field = "slug"
