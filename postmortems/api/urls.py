"""Postmortems routes under /api/v1/ (included by kbsite.urls)."""

from rest_framework.routers import SimpleRouter

from postmortems.api.views import IncidentViewSet, PostmortemTemplateViewSet, PostmortemViewSet

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")
router.register("postmortems", PostmortemViewSet, basename="postmortem")
router.register("postmortem-templates", PostmortemTemplateViewSet, basename="postmortem-template")

urlpatterns = router.urls
