"""Postmortems routes under /api/v1/ (included by kbsite.urls)."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from rest_framework.routers import SimpleRouter

from postmortems.api.views import IncidentViewSet, PostmortemTemplateViewSet, PostmortemViewSet
from postmortems.ingest.api import AlertIngestView

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("postmortems", PostmortemViewSet, basename="postmortem")
router.register("postmortem-templates", PostmortemTemplateViewSet, basename="postmortem-template")

urlpatterns = [
    *router.urls,
    # Public: alerting tools authenticate with their integration's secret, not as a person.
    path(
        "ingest/<str:source>/",
        login_not_required(AlertIngestView.as_view()),
        name="alert-ingest",
    ),
]
